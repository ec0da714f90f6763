/*
 * udp-load: the UDP endpoints of `npm run bench` in C, so that the client and the echo are not what limits
 * or colours a measurement (the Node client and echo took ~0.6 of our 2 cores at 21k sessions/s, and a Node
 * endpoint adds its own wake-up to every round trip). Compiled by bench/udp-load.ts into the run directory
 * (cc -O2); the Node tools are the fallback.
 *
 *   udp-load echo ADDR FROM TO
 *       echo every datagram on ADDR:FROM..TO back to its sender (recvmmsg/sendmmsg per socket); prints "ready".
 *   udp-load client SERVER FROM TO SOURCES PER_SOURCE WINDOW SECONDS
 *       SOURCES is a comma-separated list of local addresses; PER_SOURCE sockets are bound on each (S in all).
 *       Session i = one datagram from socket i mod S to SERVER port FROM + (i / S) mod D, used once; it counts
 *       as ok when the echo answers (within 1 s, else failed and replaced). WINDOW sessions are in flight.
 *       After SECONDS, waits 1 s for late answers and prints one JSON object (bench/sessions-client.ts's
 *       SessionsResult).
 *   udp-load ping HOST PORT COUNT WARMUP SIZE TIMEOUT_MS [hold]
 *       sequential round trips of SIZE bytes (sequence number first) on one connected socket, timed with
 *       CLOCK_MONOTONIC; WARMUP first, not counted; prints bench/uping.ts's PingResult as JSON (nearest-rank
 *       percentiles, as bench/stats.ts). With hold: `warm` on stderr after the warm-up, then waits for a line
 *       on stdin (bench/measure.ts starts the routers' CPU window there).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static _Noreturn void die(const char *what) {
  fprintf(stderr, "udp-load: %s: %s\n", what, strerror(errno));
  exit(1);
}

static int udp_socket(const char *addr, int port) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  int buf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
    fprintf(stderr, "udp-load: bad address %s\n", addr);
    exit(2);
  }
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
  return fd;
}

/* Points BATCH messages at BATCH buffers of `each` bytes and their source addresses, for recvmmsg. */
static void prepare(struct mmsghdr *msgs, struct iovec *iov, struct sockaddr_in *names, char *bufs, size_t each) {
  for (int i = 0; i < BATCH; i++) {
    iov[i] = (struct iovec){bufs + (size_t)i * each, each};
    msgs[i].msg_hdr = (struct msghdr){.msg_name = &names[i], .msg_namelen = sizeof names[i], .msg_iov = &iov[i], .msg_iovlen = 1};
  }
}

static _Noreturn void echo(const char *addr, int from, int to) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  for (int p = from; p <= to; p++) {
    int fd = udp_socket(addr, p);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
  }
  printf("ready\n");
  fflush(stdout);
  static char bufs[BATCH][2048];
  struct sockaddr_in names[BATCH];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  struct epoll_event evs[64];
  for (;;) {
    int n = epoll_wait(ep, evs, 64, -1);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int e = 0; e < n; e++) {
      int fd = evs[e].data.fd;
      for (;;) {
        prepare(msgs, iov, names, &bufs[0][0], sizeof bufs[0]);
        int got = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
        if (got <= 0) break;
        for (int i = 0; i < got; i++) iov[i].iov_len = msgs[i].msg_len;
        sendmmsg(fd, msgs, (unsigned)got, MSG_DONTWAIT); /* a full send buffer drops, as a busy server would */
        if (got < BATCH) break;
      }
    }
  }
}

static int client(const char *server, int from, int to, char *sources, int per, int window, double seconds) {
  int nsrc = 0;
  char *srcs[256];
  for (char *t = strtok(sources, ","); t != NULL && nsrc < 256; t = strtok(NULL, ",")) srcs[nsrc++] = t;
  const uint32_t S = (uint32_t)(nsrc * per), D = (uint32_t)(to - from + 1);
  const uint64_t space = (uint64_t)S * D;
  int *socks = malloc(S * sizeof *socks);
  float *sent = calloc(space, sizeof *sent);          /* per tuple: when it was sent (s since t0), 0 = not pending */
  uint64_t *ring = malloc((size_t)window * 2 * sizeof *ring); /* tuples in send order, for the 1 s timeout */
  size_t rcap = (size_t)window * 2, rhead = 0, rtail = 0;
  if (socks == NULL || sent == NULL || ring == NULL) die("malloc");
  int ep = epoll_create1(EPOLL_CLOEXEC);
  for (uint32_t s = 0; s < S; s++) {
    socks[s] = udp_socket(srcs[s % (uint32_t)nsrc], 0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = s};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, socks[s], &ev) < 0) die("epoll_ctl");
  }
  struct sockaddr_in dst = {.sin_family = AF_INET};
  if (inet_pton(AF_INET, server, &dst.sin_addr) != 1) die("server address");
  const char payload[] = "svb-session";
  uint64_t next = 0, ok = 0, failed = 0;
  int running = 1;
  double t0 = now_s(), now = 0;

#define ISSUE()                                                                   \
  do {                                                                            \
    if (running && next < space) {                                                \
      uint64_t i_ = next++;                                                       \
      uint32_t s_ = (uint32_t)(i_ % S), k_ = (uint32_t)((i_ / S) % D);            \
      sent[(uint64_t)s_ * D + k_] = (float)(now + 1e-6);                          \
      ring[rtail++ % rcap] = (uint64_t)s_ * D + k_;                               \
      dst.sin_port = htons((uint16_t)(from + (int)k_));                           \
      sendto(socks[s_], payload, sizeof payload - 1, 0, (struct sockaddr *)&dst, sizeof dst); \
    }                                                                             \
  } while (0)

  for (int w = 0; w < window; w++) ISSUE();
  static char buf[BATCH][64];
  struct sockaddr_in names[BATCH];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  struct epoll_event evs[256];
  double stop_at = seconds, end_at = seconds + 1.0, elapsed = seconds;
  for (;;) {
    now = now_s() - t0;
    if (running && (now >= stop_at || next >= space)) {
      running = 0;
      elapsed = now;
      end_at = now + 1.0;
    }
    if (!running && now >= end_at) break;
    /* answers older than 1 s are failures, replaced by new sessions */
    while (rhead != rtail) {
      uint64_t t = ring[rhead % rcap];
      if (sent[t] != 0 && running && now - sent[t] <= 1.0) break;
      if (sent[t] != 0 && running) {
        sent[t] = 0;
        failed++;
        rhead++;
        ISSUE();
        continue;
      }
      if (sent[t] != 0) break; /* draining: still pending */
      rhead++;
    }
    int n = epoll_wait(ep, evs, 256, 10);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int e = 0; e < n; e++) {
      uint32_t s = evs[e].data.u32;
      for (;;) {
        prepare(msgs, iov, names, &buf[0][0], sizeof buf[0]);
        int got = recvmmsg(socks[s], msgs, BATCH, MSG_DONTWAIT, NULL);
        if (got <= 0) break;
        for (int i = 0; i < got; i++) {
          int port = ntohs(names[i].sin_port);
          if (port < from || port > to) continue;
          uint64_t t = (uint64_t)s * D + (uint64_t)(port - from);
          if (sent[t] == 0) continue;
          sent[t] = 0;
          ok++;
          ISSUE();
        }
        if (got < BATCH) break;
      }
    }
  }
  uint64_t pending = 0;
  for (size_t r = rhead; r != rtail; r++) pending += sent[ring[r % rcap]] != 0;
  failed += pending;
  printf("{\"protocol\":\"udp\",\"seconds\":%.3f,\"attempted\":%llu,\"ok\":%llu,\"failed\":%llu,\"exhausted\":%s,\"okPerSecond\":%.1f,\"client\":\"c\"}\n",
         elapsed, (unsigned long long)next, (unsigned long long)ok, (unsigned long long)failed, next >= space ? "true" : "false",
         (double)ok / elapsed);
  return 0;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double rank(const double *v, int n, double p) {
  if (n == 0) return 0;
  int r = (int)((p / 100.0) * n + 0.999999999) - 1;
  return v[r < 0 ? 0 : r >= n ? n - 1 : r];
}

static int ping(const char *host, int port, int count, int warmup, int size, int timeout_ms, int hold) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &dst.sin_addr) != 1) die("host address");
  if (connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0) die("connect");
  struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (size < 4) size = 4;
  if (size > 65000) size = 65000;
  unsigned char *buf = calloc(1, (size_t)size), in[65536];
  double *rtt = malloc((size_t)(count > 0 ? count : 1) * sizeof *rtt);
  if (buf == NULL || rtt == NULL) die("malloc");
  memset(buf, 0x61, (size_t)size);
  int received = 0;
  for (int seq = 0; seq < warmup + count; seq++) {
    if (hold && seq == warmup) { /* "warm" on stderr, then a line on stdin: the caller's CPU window starts here */
      fputs("warm\n", stderr);
      fflush(stderr);
      for (int c = getchar(); c != EOF && c != '\n'; c = getchar()) {}
    }
    buf[0] = (unsigned char)(seq >> 24), buf[1] = (unsigned char)(seq >> 16), buf[2] = (unsigned char)(seq >> 8), buf[3] = (unsigned char)seq;
    double t0 = now_s();
    if (send(fd, buf, (size_t)size, 0) < 0) continue; /* counted as lost */
    for (;;) {
      ssize_t n = recv(fd, in, sizeof in, 0);
      if (n < 0) break; /* timeout (or error): lost */
      if (n >= 4 && memcmp(in, buf, 4) == 0) {
        if (seq >= warmup) rtt[received++] = (now_s() - t0) * 1e6;
        break;
      }
    }
  }
  qsort(rtt, (size_t)received, sizeof *rtt, cmp_double);
  double sum = 0;
  for (int i = 0; i < received; i++) sum += rtt[i];
  /* no answer at all: the statistics are null, as JSON.stringify(NaN) in bench/uping.ts */
  double stat[6] = {received ? rtt[0] : 0, rank(rtt, received, 50), rank(rtt, received, 90), rank(rtt, received, 99),
                    received ? rtt[received - 1] : 0, received ? sum / received : 0};
  const char *names[6] = {"minUs", "p50Us", "p90Us", "p99Us", "maxUs", "meanUs"};
  printf("{\"sent\":%d,\"received\":%d,\"lost\":%d", count, received, count - received);
  for (int i = 0; i < 6; i++) {
    if (received) printf(",\"%s\":%.3f", names[i], stat[i]);
    else printf(",\"%s\":null", names[i]);
  }
  printf(",\"pinger\":\"c\"}\n");
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 5 && strcmp(argv[1], "echo") == 0) echo(argv[2], atoi(argv[3]), atoi(argv[4]));
  if (argc == 9 && strcmp(argv[1], "client") == 0)
    return client(argv[2], atoi(argv[3]), atoi(argv[4]), argv[5], atoi(argv[6]), atoi(argv[7]), atof(argv[8]));
  if ((argc == 8 || (argc == 9 && strcmp(argv[8], "hold") == 0)) && strcmp(argv[1], "ping") == 0)
    return ping(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]), atoi(argv[7]), argc == 9);
  fprintf(stderr, "usage: udp-load echo ADDR FROM TO | client SERVER FROM TO SOURCES PER_SOURCE WINDOW SECONDS |\n"
                  "       ping HOST PORT COUNT WARMUP SIZE TIMEOUT_MS [hold]\n");
  return 2;
}
