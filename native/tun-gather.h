/*
 * tun-gather.h: a bounded wait for fuller batches in the TUN reader and writer threads (interrupt moderation).
 *
 * Every pass of a thread costs about the same whatever it carries: the reader's poll/read and hand-over to JS
 * (~20 us of the thread, then ~27 us of JS per batch), the writer's wake-up and io_uring_enter (~20 us). With two
 * data-path workers each worker's batches fell from 23-29 to 7.6-10.4 packets (docs/performance.md, "First
 * packets stay where they land"), so the cost per packet rose. Flow:
 *   pass ends (n packets)  -> svr_gather_pass: the spacing of the packets (EWMA) and when the pass ended
 *   before the next pass   -> svr_gather_wait: when the queue is busy (two packets or more expected in the window)
 *                             and the last pass was not full, sleep until `window` after the last pass ended;
 *                             the next pass then takes what gathered meanwhile. The fd is not polled during the
 *                             sleep, so packets that arrive wake nobody.
 * The window shrinks to the time half a batch takes at the measured rate. A queue that is not busy (a lone
 * packet, a ping, the first packet after a pause) never waits. Windows: SVR_TUN_READ_GATHER_US (reader threads)
 * and SVR_TUN_WRITE_GATHER_US (writer threads), in us, 0 = off, read when the thread's queue starts.
 * Bulk (reader threads): while SVR_GATHER_BULK_PKTS packets or more arrive within the bulk window
 * (SVR_TUN_READ_GATHER_BULK_US, default 1000 us, 0 = off), the thread waits up to that instead. TCP carried as TCP
 * reaches the peer's wan reader one SVR packet per read (no GRO: docs/tun-io.md), so a pass costs a wake-up and a JS
 * batch per ~35-50 packets at 300 us; 1000 us: router CPU per Gbit -6 %, r2 -14 % (docs/performance.md, wave 16).
 */
#ifndef SVR_TUN_GATHER_H
#define SVR_TUN_GATHER_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>

#define SVR_GATHER_MAX_US 1000u
#define SVR_GATHER_IDLE_NS 1000000000u /* spacing assumed after a pause (and the cap of one sample) */
/* The bulk window applies while this many packets or more are expected within it (32,000/s at 1000 us). */
#define SVR_GATHER_BULK_PKTS 32u

typedef struct svr_gather {
  uint64_t window_ns; /* 0: off */
  uint64_t bulk_ns;   /* a longer window at a bulk rate (reader threads; 0: none) */
  uint64_t last_ns;   /* when the last pass ended */
  uint64_t pkt_ns;    /* spacing of the packets the passes took (EWMA, 1/4 per pass) */
  uint32_t half;      /* half a batch */
  uint32_t last_n;    /* packets of the last pass */
} svr_gather;

static inline uint64_t svr_gather_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A window in ns from environment variable `name` (us; default def_us; at most SVR_GATHER_MAX_US; 0 = off). */
static inline uint64_t svr_gather_env_ns(const char *name, uint32_t def_us) {
  const char *v = getenv(name);
  unsigned long us = def_us;
  char *end;
  if (v != NULL && *v != 0) {
    unsigned long x = strtoul(v, &end, 10);
    if (*end == 0) us = x;
  }
  return (uint64_t)(us < SVR_GATHER_MAX_US ? us : SVR_GATHER_MAX_US) * 1000u;
}

/* The window from environment variable `name` (default def_us); batch: packets a pass can take at most. No bulk
 * window (reader threads set bulk_ns from SVR_TUN_READ_GATHER_BULK_US). */
static inline void svr_gather_init(svr_gather *g, const char *name, uint32_t def_us, uint32_t batch) {
  g->window_ns = svr_gather_env_ns(name, def_us);
  g->bulk_ns = 0;
  g->last_ns = 0;
  g->pkt_ns = SVR_GATHER_IDLE_NS;
  g->half = batch / 2 > 0 ? batch / 2 : 1;
  g->last_n = 0;
}

/* On the thread itself: a timer slack of 1/8 of the window (Linux's default is 50 us), so a sleep ends near its
 * time. */
static inline void svr_gather_thread(const svr_gather *g) {
  if (g->window_ns > 0) prctl(PR_SET_TIMERSLACK, (unsigned long)(g->window_ns / 8 > 0 ? g->window_ns / 8 : 1), 0, 0, 0);
}

/* A pass took n > 0 packets. */
static inline void svr_gather_pass(svr_gather *g, uint32_t n) {
  if (g->window_ns == 0 || n == 0) return;
  uint64_t now = svr_gather_now();
  uint64_t per = g->last_ns == 0 ? SVR_GATHER_IDLE_NS : (now - g->last_ns) / n;
  if (per > SVR_GATHER_IDLE_NS) per = SVR_GATHER_IDLE_NS;
  g->pkt_ns = (3 * g->pkt_ns + per) / 4;
  g->last_ns = now;
  g->last_n = n;
}

/* How long to sleep before the next pass, `since` ns after the last one ended (0: not at all). */
static inline uint64_t svr_gather_gap(const svr_gather *g, uint64_t since) {
  if (g->window_ns == 0 || 2 * g->pkt_ns > g->window_ns || g->last_n >= 2 * g->half) return 0;
  uint64_t gap = g->window_ns, fill = g->pkt_ns * g->half;
  if (g->bulk_ns > gap && g->pkt_ns * SVR_GATHER_BULK_PKTS <= g->bulk_ns) gap = g->bulk_ns;
  if (fill < gap) gap = fill;
  return since >= gap ? 0 : gap - since;
}

/* Before the next pass. Returns 1 when it slept. */
static inline int svr_gather_wait(const svr_gather *g) {
  if (g->window_ns == 0) return 0;
  uint64_t left = svr_gather_gap(g, svr_gather_now() - g->last_ns);
  if (left == 0) return 0;
  struct timespec ts = {.tv_sec = (time_t)(left / 1000000000u), .tv_nsec = (long)(left % 1000000000u)};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
  }
  return 1;
}

#endif
