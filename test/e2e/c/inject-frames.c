/*
 * inject-frames: the chaos suite's malformed-frame source (test/e2e/chaos.test.ts). Sends COUNT frames out of
 * one device through an AF_PACKET socket, paced at RATE frames/s, each of one kind picked at random (seeded
 * xorshift32) from KINDS. Every kind is named after the router counter it must raise, so the test compares
 * the router's counters with what this program says it sent.
 *
 *   inject-frames tun DEV COUNT RATE SEED KINDS
 *       DEV is a TUN device (no link header): the frame goes out of DEV, i.e. straight into the reader of the
 *       TUN (the router), without the kernel's IP checks. KINDS (comma-separated):
 *         malformed-too-short          IPv4 or IPv6 shorter than its fixed header (1..39 bytes)
 *         malformed-bad-version        version nibble neither 4 nor 6
 *         malformed-bad-header-length  IPv4 IHL below 5 words, or past the frame
 *         malformed-bad-total-length   IPv4 total length / IPv6 payload length past the frame
 *         malformed-truncated-l4       UDP or TCP header cut off (IP lengths right)
 *         malformed-bad-l4-length      UDP length not the IP payload, or TCP data offset below 5 / past the end
 *         malformed-bad-extension-header  IPv6 hop-by-hop header running past the packet
 *         malformed-bad-ip-checksum    a well-formed IPv4/UDP packet whose header checksum is wrong
 *         drop-fragment                IPv4 fragment at the last offset: its packet would pass 65,535 bytes (checksum right)
 *         drop-ttl-expired             IPv4/UDP with TTL 0 or 1 (checksum right)
 *         drop-unsupported-protocol    IPv4 GRE (protocol 47; a LAN router opens no session for it)
 *   inject-frames eth DEV COUNT RATE SEED KINDS DST_MAC SRC_IP DST_IP
 *       DEV is a veth: an Ethernet frame to DST_MAC, an IPv4 packet SRC_IP -> DST_IP (TTL 64, header checksum
 *       right) that the next kernel forwards; KINDS: malformed-truncated-l4, malformed-bad-l4-length (as above),
 *       svr-garbage (UDP with a random payload of 0..1200 bytes, random ports except 1280: not SVR).
 *
 * Prints one JSON object: {"sent":N,"kinds":{"<kind>":n,...},"retries":R,"seconds":S}. A send the device
 * queue refuses (ENOBUFS/EAGAIN) is retried, so every frame counted in "sent" left through the device.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_KINDS 16
#define FRAME_MAX 1400

static const char *const KIND_NAMES[] = {
  "malformed-too-short", "malformed-bad-version", "malformed-bad-header-length", "malformed-bad-total-length",
  "malformed-truncated-l4", "malformed-bad-l4-length", "malformed-bad-extension-header", "malformed-bad-ip-checksum",
  "drop-fragment", "drop-ttl-expired", "drop-unsupported-protocol", "svr-garbage",
};
#define N_KIND_NAMES (sizeof KIND_NAMES / sizeof KIND_NAMES[0])
enum { K_SHORT, K_VERSION, K_IHL, K_TOTAL, K_TRUNC_L4, K_L4_LEN, K_EXT, K_CSUM, K_FRAG, K_TTL, K_PROTO, K_GARBAGE };

static uint32_t rng;
static uint32_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return rng;
}
static uint32_t below(uint32_t n) { return next_rand() % n; }

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fill_random(uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) p[i] = (uint8_t)next_rand();
}

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

/* RFC 791 header checksum over `len` bytes (the checksum field must be 0 first). */
static uint16_t ip_checksum(const uint8_t *p, size_t len) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += (uint32_t)(p[i] << 8 | p[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

static uint32_t src_ip = 0xc6126301, dst_ip = 0xc6126302; /* 198.18.99.1 -> 198.18.99.2 unless given */

/* A 20-byte IPv4 header, total length `total`, protocol `proto`, TTL `ttl`, checksum right. */
static void ipv4(uint8_t *p, uint16_t total, uint8_t proto, uint8_t ttl) {
  memset(p, 0, 20);
  p[0] = 0x45;
  put16(p + 2, total);
  put16(p + 4, (uint16_t)next_rand());
  p[8] = ttl;
  p[9] = proto;
  put16(p + 12, (uint16_t)(src_ip >> 16));
  put16(p + 14, (uint16_t)src_ip);
  put16(p + 16, (uint16_t)(dst_ip >> 16));
  put16(p + 18, (uint16_t)dst_ip);
  put16(p + 10, ip_checksum(p, 20));
}

/* A well-formed IPv4/UDP packet with `payload` random bytes; returns its length. */
static size_t ipv4_udp(uint8_t *p, size_t payload, uint8_t ttl) {
  size_t len = 28 + payload;
  ipv4(p, (uint16_t)len, 17, ttl);
  uint16_t sport = (uint16_t)(1024 + below(60000)), dport = (uint16_t)(1024 + below(60000));
  if (dport == 1280) dport = 1281;
  put16(p + 20, sport);
  put16(p + 22, dport);
  put16(p + 24, (uint16_t)(8 + payload));
  put16(p + 26, 0);
  fill_random(p + 28, payload);
  return len;
}

/* One frame of `kind` into p; returns its length and sets *proto to its ethertype. */
static size_t build(int kind, uint8_t *p, uint16_t *proto) {
  *proto = ETH_P_IP;
  switch (kind) {
    case K_SHORT:
      if (below(2) == 0) {
        size_t n = 1 + below(19);
        fill_random(p, n);
        p[0] = 0x45;
        return n;
      } else {
        size_t n = 1 + below(39);
        fill_random(p, n);
        p[0] = 0x60;
        *proto = ETH_P_IPV6;
        return n;
      }
    case K_VERSION: {
      static const uint8_t versions[] = {0, 1, 2, 3, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15};
      size_t n = 20 + below(200);
      fill_random(p, n);
      p[0] = (uint8_t)(versions[below(sizeof versions)] << 4 | (p[0] & 0x0f));
      return n;
    }
    case K_IHL: {
      size_t n = 20 + below(20);
      fill_random(p, n);
      /* IHL 0..4 words, or 15 words (60 bytes) on a frame shorter than 60 */
      p[0] = below(2) == 0 ? (uint8_t)(0x40 | below(5)) : 0x4f;
      return n;
    }
    case K_TOTAL:
      if (below(2) == 0) {
        size_t n = ipv4_udp(p, below(100), 64);
        put16(p + 2, (uint16_t)(n + 1 + below(1000)));
        put16(p + 10, 0);
        put16(p + 10, ip_checksum(p, 20));
        return n;
      } else {
        size_t n = 40 + below(100);
        fill_random(p, n);
        p[0] = 0x60;
        put16(p + 4, (uint16_t)(n - 40 + 1 + below(1000)));
        *proto = ETH_P_IPV6;
        return n;
      }
    case K_TRUNC_L4: {
      uint8_t l4 = below(2) == 0 ? 17 : 6;
      size_t have = below(l4 == 17 ? 8 : 20);
      ipv4(p, (uint16_t)(20 + have), l4, 64);
      fill_random(p + 20, have);
      return 20 + have;
    }
    case K_L4_LEN:
      if (below(2) == 0) {
        size_t n = ipv4_udp(p, below(200), 64);
        uint16_t wrong = (uint16_t)below(65536);
        if (wrong == n - 20) wrong++;
        put16(p + 24, wrong);
        return n;
      } else {
        size_t payload = below(100);
        ipv4(p, (uint16_t)(40 + payload), 6, 64);
        fill_random(p + 20, 20 + payload);
        /* data offset below 5 words, or past the segment */
        uint8_t doff = below(2) == 0 ? (uint8_t)below(5) : (uint8_t)(6 + (payload / 4) + below(2));
        if (doff > 15) doff = 15;
        if (doff >= 5 && doff * 4u <= 20 + payload) doff = 4;
        p[32] = (uint8_t)(doff << 4);
        return 40 + payload;
      }
    case K_EXT: {
      /* hop-by-hop options header (next header 0) whose length runs past the payload */
      size_t plen = 8 + below(16);
      memset(p, 0, 40);
      p[0] = 0x60;
      put16(p + 4, (uint16_t)plen);
      p[6] = 0;
      p[7] = 64;
      fill_random(p + 8, 32);
      fill_random(p + 40, plen);
      p[40] = 17;
      p[41] = (uint8_t)(plen / 8 + below(8)); /* (len + 1) * 8 > plen */
      *proto = ETH_P_IPV6;
      return 40 + plen;
    }
    case K_CSUM: {
      size_t n = ipv4_udp(p, below(200), 64);
      p[10] ^= (uint8_t)(1 + below(255));
      return n;
    }
    case K_FRAG: {
      size_t payload = 8 + below(200);
      ipv4(p, (uint16_t)(20 + payload), 17, 64);
      /* the last offset (8191 blocks, 65,528 bytes) with >= 8 bytes: its packet would pass 65,535 bytes, so it is
         dropped at once (fragment-too-big), not held; MF either way */
      put16(p + 6, (uint16_t)(0x1fff | (below(2) ? 0x2000 : 0)));
      put16(p + 10, 0);
      put16(p + 10, ip_checksum(p, 20));
      fill_random(p + 20, payload);
      return 20 + payload;
    }
    case K_TTL:
      return ipv4_udp(p, below(200), (uint8_t)below(2));
    case K_PROTO: {
      size_t payload = 4 + below(200);
      ipv4(p, (uint16_t)(20 + payload), 47, 64);
      fill_random(p + 20, payload);
      return 20 + payload;
    }
    case K_GARBAGE:
      return ipv4_udp(p, below(1201), 64);
    default:
      return 0;
  }
}

static int parse_mac(const char *s, uint8_t mac[6]) {
  unsigned v[6];
  if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) return -1;
  for (int i = 0; i < 6; i++) mac[i] = (uint8_t)v[i];
  return 0;
}

static int parse_ip(const char *s, uint32_t *out) {
  struct in_addr a;
  if (inet_pton(AF_INET, s, &a) != 1) return -1;
  *out = ntohl(a.s_addr);
  return 0;
}

static void usage(void) {
  fprintf(stderr, "usage: inject-frames tun DEV COUNT RATE SEED KINDS\n"
                  "       inject-frames eth DEV COUNT RATE SEED KINDS DST_MAC SRC_IP DST_IP\n");
  exit(2);
}

int main(int argc, char **argv) {
  if (argc < 7) usage();
  int eth = strcmp(argv[1], "eth") == 0;
  if (!eth && strcmp(argv[1], "tun") != 0) usage();
  if (eth && argc != 10) usage();
  const char *dev = argv[2];
  long count = atol(argv[3]);
  double rate = atof(argv[4]);
  rng = (uint32_t)atol(argv[5]) * 2654435761u + 1;
  if (count <= 0 || rate <= 0) usage();

  int kinds[MAX_KINDS], n_kinds = 0;
  char *list = strdup(argv[6]);
  for (char *k = strtok(list, ","); k != NULL; k = strtok(NULL, ",")) {
    size_t i = 0;
    while (i < N_KIND_NAMES && strcmp(KIND_NAMES[i], k) != 0) i++;
    if (i == N_KIND_NAMES || n_kinds == MAX_KINDS) {
      fprintf(stderr, "inject-frames: unknown kind %s\n", k);
      return 2;
    }
    kinds[n_kinds++] = (int)i;
  }
  if (n_kinds == 0) usage();

  struct sockaddr_ll to;
  memset(&to, 0, sizeof to);
  to.sll_family = AF_PACKET;
  to.sll_ifindex = (int)if_nametoindex(dev);
  if (to.sll_ifindex == 0) {
    fprintf(stderr, "inject-frames: no device %s: %s\n", dev, strerror(errno));
    return 1;
  }
  if (eth) {
    to.sll_halen = 6;
    if (parse_mac(argv[7], to.sll_addr) != 0 || parse_ip(argv[8], &src_ip) != 0 || parse_ip(argv[9], &dst_ip) != 0) usage();
  }
  int fd = socket(AF_PACKET, SOCK_DGRAM, 0);
  if (fd < 0) {
    fprintf(stderr, "inject-frames: socket(AF_PACKET): %s\n", strerror(errno));
    return 1;
  }

  long sent_by_kind[N_KIND_NAMES] = {0};
  long retries = 0;
  uint8_t frame[FRAME_MAX];
  double start = now_s();
  for (long i = 0; i < count; i++) {
    if ((i & 63) == 0) {
      double due = start + (double)i / rate;
      double wait = due - now_s();
      if (wait > 0) {
        struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
        nanosleep(&ts, NULL);
      }
    }
    int kind = kinds[below((uint32_t)n_kinds)];
    uint16_t proto;
    size_t len = build(kind, frame, &proto);
    to.sll_protocol = htons(proto);
    for (;;) {
      if (sendto(fd, frame, len, 0, (struct sockaddr *)&to, sizeof to) == (ssize_t)len) break;
      if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
        fprintf(stderr, "inject-frames: sendto %s (kind %s, %zu bytes): %s\n", dev, KIND_NAMES[kind], len, strerror(errno));
        return 1;
      }
      retries++;
      struct timespec ts = {0, 200000};
      nanosleep(&ts, NULL);
    }
    sent_by_kind[kind]++;
  }
  printf("{\"sent\":%ld,\"kinds\":{", count);
  int first = 1;
  for (size_t k = 0; k < N_KIND_NAMES; k++) {
    if (sent_by_kind[k] == 0) continue;
    printf("%s\"%s\":%ld", first ? "" : ",", KIND_NAMES[k], sent_by_kind[k]);
    first = 0;
  }
  printf("},\"retries\":%ld,\"seconds\":%.3f}\n", retries, now_s() - start);
  return 0;
}
