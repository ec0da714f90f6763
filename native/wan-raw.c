/*
 * wan-raw.c: SVR packets out of a WAN queue through a raw IP socket instead of a TUN write.
 *
 * Flow (docs/tun-io.md "Raw sends on the WAN")
 *   writer (tun-write.c) -> svr_raw_eligible per packet -> svr_raw_send: TTL - 1 (what the kernel's forwarding of the
 *   TUN write would do, RFC 1812 §5.3.1), in place in the writer thread's ring (one iovec a packet; put back on the
 *   packets not sent), on a copy of the header for direct writes (the caller's buffer stays as it was)
 *   -> one sendmmsg(2) for up to 64 packets -> the kernel's
 *   output route and the device, skipping the TUN write's input route, source check and forward (wave 16's
 *   profile: ~30 % of r1's wan writer thread). IP_HDRINCL keeps every byte but the header checksum, which the
 *   kernel recomputes over the same header. An id of 0 it keeps only with DF set (raw_send_hdrinc ->
 *   ip_select_ident with no socket: a DF datagram's id stays 0, RFC 6864 §4.1 atomic datagrams), else it would
 *   draw a fresh one, so those stay with the TUN. The router's own control packets (BFD, link tests, STEP:
 *   Dataplane.originate) are DF with id 0: through here, no input route and forward per packet (hub14).
 *   A packet to a next hop on an Ethernet link goes as a frame instead (link-send.c: no output route either).
 */
#include "wan-raw.h"
#include "offload.h"

#include <errno.h>
#include <linux/if_ether.h>
#include <string.h>
#include <time.h>

int svr_raw_open(void) {
  int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_RAW);
  if (fd < 0) return -1;
  int sz = 4 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) != 0) {
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz); /* without CAP_NET_ADMIN: up to wmem_max */
  }
  return fd;
}

int svr_raw_eligible(const uint8_t *p, uint32_t n) {
  if (n < 20 || (p[0] >> 4) != 4) return 0;
  uint32_t ihl = (uint32_t)(p[0] & 15) * 4;
  if (ihl < 20 || ihl > n) return 0;
  if (((uint32_t)p[2] << 8 | p[3]) != n) return 0;
  if (p[4] == 0 && p[5] == 0 && (p[6] & 0x40) == 0) return 0; /* id 0 without DF: the kernel would replace it */
  /* multicast: a TUN write's input route delivers it locally and forwards it only with a multicast router; a raw
   * send would route it out as the host's own (a LAN queue's end hosts get such packets too) */
  if ((p[16] & 0xf0) == 0xe0) return 0;
  return p[8] > 1;
}

/* Lowers the TTL of the header at h by one and updates its checksum as ip_decrease_ttl does. */
static void lower_ttl(uint8_t *h) {
  h[8]--;
  uint32_t c = ((uint32_t)h[10] << 8 | h[11]) + 0x0100;
  c += c >= 0xffff;
  h[10] = (uint8_t)(c >> 8);
  h[11] = (uint8_t)c;
}

/* Message k for packet p of n bytes: a frame to b->dest[k] (its Ethernet header first) or a raw IP send to p's
 * destination. in_place: the TTL lowered in p itself (its bytes 8-11 saved first), the packet one iovec (sendmmsg
 * copies and checks each: ~3 % of a send, wave 23 sus16); else in a copy of its header, the rest in place. */
static void set_message(svr_raw_batch *b, uint32_t k, uint8_t *p, uint32_t n, int in_place) {
  uint32_t ihl = (uint32_t)(p[0] & 15) * 4;
  uint8_t *h = p;
  if (in_place) {
    memcpy(b->saved[k], p + 8, 4);
  } else {
    h = b->hdr[k];
    memcpy(h, p, ihl);
  }
  lower_ttl(h);
  struct iovec *v = &b->iov[3 * k];
  struct msghdr *m = &b->msg[k].msg_hdr;
  memset(&b->msg[k], 0, sizeof b->msg[k]);
  svr_link_dest *d = b->dest[k];
  if (d != NULL) {
    svr_fill_ipv4_checksum(h); /* the raw socket's kernel recomputes it (ip_send_check); a frame carries its own */
    *v++ = (struct iovec){.iov_base = d->eth, .iov_len = sizeof d->eth};
    b->ll[k] = (struct sockaddr_ll){.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP), .sll_ifindex = d->ifindex};
    m->msg_name = &b->ll[k];
    m->msg_namelen = sizeof b->ll[k];
  } else {
    b->to[k] = (struct sockaddr_in){.sin_family = AF_INET};
    memcpy(&b->to[k].sin_addr, p + 16, 4);
    m->msg_name = &b->to[k];
    m->msg_namelen = sizeof b->to[k];
  }
  if (in_place) {
    v[0] = (struct iovec){.iov_base = p, .iov_len = n};
  } else {
    v[0] = (struct iovec){.iov_base = h, .iov_len = ihl};
    v[1] = (struct iovec){.iov_base = p + ihl, .iov_len = n - ihl};
  }
  m->msg_iov = &b->iov[3 * k];
  m->msg_iovlen = (size_t)(v - m->msg_iov) + (in_place ? 1 : 2);
}

uint32_t svr_raw_send(int fd, svr_raw_batch *b, const uint8_t *data, const uint32_t *off, const uint32_t *len, uint32_t i,
                      uint32_t n, int in_place, int *err) {
  if (n > SVR_RAW_BATCH) n = SVR_RAW_BATCH;
  uint64_t now = 0;
  if (b->link.pfd >= 0) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
  }
  for (uint32_t k = 0; k < n; k++) {
    uint8_t *p = (uint8_t *)data + off[i + k]; /* written only in_place: the writer's own ring */
    b->dest[k] = b->link.pfd >= 0 ? svr_link_pick(&b->link, p, len[i + k], now) : NULL;
    set_message(b, k, p, len[i + k], in_place);
  }
  /* runs of frames and of raw IP sends, each one sendmmsg, in ring order */
  uint32_t sent = 0;
  *err = 0;
  while (sent < n) {
    const int frames = b->dest[sent] != NULL;
    uint32_t end = sent + 1;
    while (end < n && (b->dest[end] != NULL) == frames) end++;
    int sock = frames ? b->link.pfd : fd;
    int r = sendmmsg(sock, b->msg + sent, end - sent, 0);
    if (r > 0) {
      sent += (uint32_t)r;
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else {
      *err = r < 0 ? errno : EIO;
      b->busy_fd = sock;
      if (frames && *err != EAGAIN) b->dest[sent]->ifindex = 0; /* the device down or gone: raw IP sends till the next read */
      break;
    }
  }
  /* what was not sent is sent again or written to the TUN later: its TTL and checksum as they were */
  if (in_place)
    for (uint32_t k = sent; k < n; k++) memcpy((uint8_t *)data + off[i + k] + 8, b->saved[k], 4);
  return sent;
}
