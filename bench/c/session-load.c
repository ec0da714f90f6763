/*
 * session-load: paced new sessions for the sustained and full-table cases of `npm run bench`
 * (bench/sustained.ts, bench/full-table.ts), in C so that the load generator is not what limits the rate.
 * Compiled by bench/session-load.ts into the run directory (cc -O2).
 *
 *   session-load udp SERVER FROM TO SOURCES PER_SOURCE WINDOW SECONDS RATE COUNT FIRST
 *       Session i (i = FIRST, FIRST + 1, ...) = one datagram from socket i mod S (PER_SOURCE sockets on each of the comma-separated
 *       SOURCES) to SERVER port FROM + (i / S) mod D, answered by an echo (udp-load echo). RATE new sessions
 *       per second (0: as fast as WINDOW sessions in flight allow); COUNT > 0 stops after COUNT sessions.
 *       A tuple comes round again after S x D sessions (the caller makes that longer than the routers'
 *       idle timeout). No answer within 1 s = failed.
 *   session-load tcp SERVER PORT SOURCES WINDOW SECONDS RATE
 *       Session = connect from one of SOURCES (kernel-chosen port), read the server's byte, close with
 *       SO_LINGER 0 (an RST: no TIME_WAIT, the ports come round at once). No byte within 2 s = failed.
 *   session-load tcp-server ADDR PORT
 *       Accepts, writes one byte, closes (FIN). Prints "ready".
 *
 * Clients print one JSON line per second, {"second":k,"sent":..,"ok":..,"failed":..} (that second's counts),
 * then a summary line (bench/sessions-client.ts's SessionsResult plus "rate" and "behind": the sessions the
 * pacing could not send on time because WINDOW were in flight).
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
/* Sessions in the timeout ring: one unanswered session at its head holds every later one for its timeout,
 * so the ring holds a few seconds of the highest rate, not just the window. */
#define RING ((size_t)1 << 21)

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static _Noreturn void die(const char *what) {
  fprintf(stderr, "session-load: %s: %s\n", what, strerror(errno));
  exit(1);
}

static struct sockaddr_in addr_of(const char *a, int port) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, a, &sa.sin_addr) != 1) {
    fprintf(stderr, "session-load: bad address %s\n", a);
    exit(2);
  }
  return sa;
}

static int split(char *list, char **out, int max) {
  int n = 0;
  for (char *t = strtok(list, ","); t != NULL && n < max; t = strtok(NULL, ",")) out[n++] = t;
  return n;
}

/* Per-second counts and the summary; shared by both clients. */
struct tally {
  double t0, seconds, rate;
  uint64_t slot; /* pacing slots used: sent, or skipped (behind) because WINDOW sessions were in flight */
  uint64_t sent, ok, failed, behind, last_sent, last_ok, last_failed;
  int second;
};

static void tick(struct tally *t, double now) {
  while (now >= (double)(t->second + 1)) {
    t->second++;
    printf("{\"second\":%d,\"sent\":%llu,\"ok\":%llu,\"failed\":%llu}\n", t->second, (unsigned long long)(t->sent - t->last_sent),
           (unsigned long long)(t->ok - t->last_ok), (unsigned long long)(t->failed - t->last_failed));
    fflush(stdout);
    t->last_sent = t->sent, t->last_ok = t->ok, t->last_failed = t->failed;
  }
}

static void summary(const struct tally *t, const char *proto, double elapsed, int exhausted) {
  printf("{\"protocol\":\"%s\",\"seconds\":%.3f,\"attempted\":%llu,\"ok\":%llu,\"failed\":%llu,\"exhausted\":%s,\"okPerSecond\":%.1f,"
         "\"client\":\"c\",\"rate\":%.0f,\"behind\":%llu}\n",
         proto, elapsed, (unsigned long long)t->sent, (unsigned long long)t->ok, (unsigned long long)t->failed, exhausted ? "true" : "false",
         (double)t->ok / elapsed, t->rate, (unsigned long long)t->behind);
}

/* How many sessions the pacing wants sent by `now` (RATE 0: no limit but the window). */
static uint64_t due(const struct tally *t, double now) {
  return t->rate > 0 ? (uint64_t)(now * t->rate) + 1 : UINT64_MAX;
}

static int udp_client(const char *server, int from, int to, char *sources, int per, int window, double seconds, double rate, uint64_t count, uint64_t first) {
  char *srcs[256];
  int nsrc = split(sources, srcs, 256);
  const uint32_t S = (uint32_t)(nsrc * per), D = (uint32_t)(to - from + 1);
  const uint64_t space = (uint64_t)S * D;
  int *socks = malloc(S * sizeof *socks);
  float *sent = calloc(space, sizeof *sent); /* per tuple: when it was sent (s since t0), 0 = not pending */
  size_t rcap = RING, rhead = 0, rtail = 0;
  uint64_t *ring = malloc(rcap * sizeof *ring); /* tuples in send order, for the 1 s timeout */
  if (socks == NULL || sent == NULL || ring == NULL) die("malloc");
  int ep = epoll_create1(EPOLL_CLOEXEC);
  for (uint32_t s = 0; s < S; s++) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    int buf = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    struct sockaddr_in sa = addr_of(srcs[s % (uint32_t)nsrc], 0);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
    socks[s] = fd;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = s};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
  }
  struct sockaddr_in dst = addr_of(server, 0);
  const char payload[] = "svb-session";
  struct tally t = {.t0 = now_s(), .rate = rate};
  uint64_t pending = 0, limit = count > 0 ? count : UINT64_MAX;
  double now = 0, end_at = seconds + 1.0, elapsed = seconds;
  int running = 1;
  static char buf[BATCH][64];
  struct sockaddr_in names[BATCH];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  struct epoll_event evs[256];
  for (;;) {
    now = now_s() - t.t0;
    tick(&t, now);
    if (running && (now >= seconds || t.sent >= limit)) {
      running = 0, elapsed = now, end_at = now + 1.0;
    }
    if (!running && (now >= end_at || pending == 0)) break;
    /* answers older than 1 s are failures */
    while (rhead != rtail) {
      uint64_t k = ring[rhead % rcap];
      if (sent[k] != 0 && now - sent[k] <= 1.0) break;
      if (sent[k] != 0) sent[k] = 0, t.failed++, pending--;
      rhead++;
    }
    if (running) {
      uint64_t want = due(&t, now);
      while (t.slot < want && t.sent < limit) {
        if (pending >= (uint64_t)window || rtail - rhead >= rcap) {
          if (rate > 0) t.behind += want - t.slot, t.slot = want;
          break;
        }
        t.slot++;
        uint64_t i = first + t.sent++;
        uint32_t s = (uint32_t)(i % S), p = (uint32_t)((i / S) % D);
        uint64_t k = (uint64_t)s * D + p;
        if (sent[k] != 0) t.failed++, pending--; /* came round while still pending: counted as failed */
        sent[k] = (float)(now + 1e-6);
        ring[rtail++ % rcap] = k;
        pending++;
        dst.sin_port = htons((uint16_t)(from + (int)p));
        sendto(socks[s], payload, sizeof payload - 1, 0, (struct sockaddr *)&dst, sizeof dst);
      }
    }
    int n = epoll_wait(ep, evs, 256, rate > 0 ? 1 : 10);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int e = 0; e < n; e++) {
      uint32_t s = evs[e].data.u32;
      for (;;) {
        for (int i = 0; i < BATCH; i++) {
          iov[i] = (struct iovec){buf[i], sizeof buf[i]};
          msgs[i].msg_hdr = (struct msghdr){.msg_name = &names[i], .msg_namelen = sizeof names[i], .msg_iov = &iov[i], .msg_iovlen = 1};
        }
        int got = recvmmsg(socks[s], msgs, BATCH, MSG_DONTWAIT, NULL);
        if (got <= 0) break;
        for (int i = 0; i < got; i++) {
          int port = ntohs(names[i].sin_port);
          if (port < from || port > to) continue;
          uint64_t k = (uint64_t)s * D + (uint64_t)(port - from);
          if (sent[k] == 0) continue;
          sent[k] = 0, t.ok++, pending--;
        }
        if (got < BATCH) break;
      }
    }
  }
  t.failed += pending;
  tick(&t, now_s() - t.t0);
  summary(&t, "udp", elapsed, 0);
  return 0;
}

/* TCP: one socket per session; per fd the time it was opened (0 = not ours). */
static int tcp_client(const char *server, int port, char *sources, int window, double seconds, double rate) {
  char *srcs[256];
  int nsrc = split(sources, srcs, 256);
  struct sockaddr_in dst = addr_of(server, port), src[256];
  for (int i = 0; i < nsrc; i++) src[i] = addr_of(srcs[i], 0);
  int maxfd = window * 2 + 64;
  double *opened = calloc((size_t)maxfd, sizeof *opened);
  size_t rcap = RING, rhead = 0, rtail = 0;
  uint64_t *ring = malloc(rcap * sizeof *ring); /* fd << 32 | generation, in open order, for the 2 s timeout */
  uint32_t *gen = calloc((size_t)maxfd, sizeof *gen);
  if (opened == NULL || ring == NULL || gen == NULL) die("malloc");
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct tally t = {.t0 = now_s(), .rate = rate};
  uint64_t pending = 0;
  double now = 0, end_at = seconds + 2.0, elapsed = seconds;
  int running = 1;
  struct linger rst = {1, 0};
  int one = 1;
  struct epoll_event evs[256];
#define FINISH(fd_, good_)                                     \
  do {                                                         \
    epoll_ctl(ep, EPOLL_CTL_DEL, fd_, NULL);                   \
    close(fd_);                                                \
    opened[fd_] = 0, gen[fd_]++, pending--;                    \
    if (good_) t.ok++; else t.failed++;                        \
  } while (0)
  for (;;) {
    now = now_s() - t.t0;
    tick(&t, now);
    if (running && now >= seconds) running = 0, elapsed = now, end_at = now + 2.0;
    if (!running && (now >= end_at || pending == 0)) break;
    while (rhead != rtail) {
      uint64_t r = ring[rhead % rcap];
      int fd = (int)(r >> 32);
      if (opened[fd] != 0 && gen[fd] == (uint32_t)r && now - opened[fd] <= 2.0) break;
      if (opened[fd] != 0 && gen[fd] == (uint32_t)r) FINISH(fd, 0);
      rhead++;
    }
    if (running) {
      uint64_t want = due(&t, now);
      while (t.slot < want) {
        if (pending >= (uint64_t)window || rtail - rhead >= rcap) {
          if (rate > 0) t.behind += want - t.slot, t.slot = want;
          break;
        }
        t.slot++;
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) die("socket");
        if (fd >= maxfd) {
          fprintf(stderr, "session-load: fd %d beyond %d\n", fd, maxfd);
          exit(1);
        }
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof rst);
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one); /* the port at connect: 4-tuples, not ports, must be unique */
        uint64_t i = t.sent++;
        if (bind(fd, (struct sockaddr *)&src[i % (uint64_t)nsrc], sizeof src[0]) < 0 ||
            (connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0 && errno != EINPROGRESS)) {
          close(fd); /* no port left on this source, or the like: a failed session */
          t.failed++;
          continue;
        }
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = fd};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
        opened[fd] = now + 1e-6;
        ring[rtail++ % rcap] = (uint64_t)fd << 32 | gen[fd];
        pending++;
      }
    }
    int n = epoll_wait(ep, evs, 256, rate > 0 ? 1 : 10);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int e = 0; e < n; e++) {
      int fd = evs[e].data.fd;
      if (opened[fd] == 0) continue;
      char b;
      ssize_t got = recv(fd, &b, 1, MSG_DONTWAIT);
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
      FINISH(fd, got == 1);
    }
  }
  for (int fd = 0; fd < maxfd; fd++)
    if (opened[fd] != 0) FINISH(fd, 0);
  tick(&t, now_s() - t.t0);
  summary(&t, "tcp", elapsed, 0);
  return 0;
}

static _Noreturn void tcp_server(const char *addr, int port) {
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (ls < 0) die("socket");
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = addr_of(addr, port);
  if (bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
  if (listen(ls, 65535) < 0) die("listen");
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev) < 0) die("epoll_ctl");
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    struct epoll_event got;
    if (epoll_wait(ep, &got, 1, -1) < 0 && errno != EINTR) die("epoll_wait");
    for (;;) {
      int c = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (c < 0) break;
      (void)!write(c, "x", 1);
      close(c);
    }
  }
}

int main(int argc, char **argv) {
  if (argc == 12 && strcmp(argv[1], "udp") == 0)
    return udp_client(argv[2], atoi(argv[3]), atoi(argv[4]), argv[5], atoi(argv[6]), atoi(argv[7]), atof(argv[8]), atof(argv[9]),
                      strtoull(argv[10], NULL, 10), strtoull(argv[11], NULL, 10));
  if (argc == 8 && strcmp(argv[1], "tcp") == 0)
    return tcp_client(argv[2], atoi(argv[3]), argv[4], atoi(argv[5]), atof(argv[6]), atof(argv[7]));
  if (argc == 4 && strcmp(argv[1], "tcp-server") == 0) tcp_server(argv[2], atoi(argv[3]));
  fprintf(stderr, "usage: session-load udp SERVER FROM TO SOURCES PER_SOURCE WINDOW SECONDS RATE COUNT FIRST |\n"
                  "       tcp SERVER PORT SOURCES WINDOW SECONDS RATE | tcp-server ADDR PORT\n");
  return 2;
}
