/*
 * tun.c: TUN queues for svrouter (Linux). All policy lives in TypeScript (src/io/tun/); this file only
 * does the system calls and the hand-off between the reader thread and JS.
 *
 * Flow
 *   tunOpen(name, flags)  open /dev/net/tun (O_NONBLOCK), TUNSETIFF with IFF_TUN|IFF_NO_PI, plus
 *                         IFF_MULTI_QUEUE / IFF_VNET_HDR on request -> { fd, name }. One call = one queue.
 *   tunReaderStart(fd, data, lens, K, B, S, cb[, flags]) -> handle
 *                         JS owns K batch buffers: buffer k is data[k*B*S, (k+1)*B*S) and holds packet i at
 *                         offset i*S; its lengths are lens[k*B + i]. One reader thread per queue:
 *                           wait until buffer k is free -> on a busy queue, sleep until the gather window after
 *                           the last batch (tun-gather.h) -> poll(fd, eventfd) -> read() without blocking
 *                           until EAGAIN or B packets -> one threadsafe call cb(k, count, truncated, stalls).
 *                         Buffer k stays busy until that JS call has returned (the JS handler copies what it
 *                         keeps). When the next buffer is busy the thread waits (back-pressure): packets then
 *                         queue in the kernel, which drops and counts them when its queue is full.
 *                         A read error ends the thread after one call cb(-1, errno, truncated, stalls, message).
 *                         truncated/stalls are running totals (packets longer than S; waits for a free buffer).
 *                         flags & SVR_READER_OFFLOAD (a vnet_hdr queue with TUNSETOFFLOAD): each read goes to a
 *                         scratch buffer and native/offload.c cuts it into plain IP packets <= S (GSO segmented,
 *                         partial checksums completed); a super-packet that does not fit the rest of a batch
 *                         continues in the next one. The thread reads up to 16 packets per io_uring_enter
 *                         (native/tun-uring.c; as many as the last batch found, +1; SVR_TUN_URING=0: read()).
 *                         cb then also gets (superPackets, segments, offloadErrors), running totals, as
 *                         arguments 6..8 (argument 5 is the error message, else undefined).
 *                         flags & SVR_READER_POLL: start in poll mode (below).
 *   tunReaderMode(handle, poll) poll mode: the thread parks and the JS thread reads instead, from a uv_poll
 *                         watcher on its own event loop: readable -> the same reads into the next buffer ->
 *                         the same cb, called directly (napi_make_callback). One wake-up per batch instead of
 *                         two (reader thread, then JS), which is most of a router pass at low rates; the thread
 *                         mode overlaps reads with JS work at high rates. TypeScript decides (tun-device.ts).
 *                         After a quiet spell the JS thread delivers its first read alone (one_read below).
 *                         thread -> poll: park flag + eventfd; the thread, once it waits, sends a PARKED call
 *                         through the threadsafe queue (so after every batch it handed over) and that call
 *                         starts the watcher. poll -> thread: stop the watcher, wake the thread. Both modes
 *                         share the buffer index and the offload segmenter state; only one of them reads.
 *   tunReaderStop(handle) stop flag + eventfd write, join. Idempotent; also runs at env teardown.
 *   tunReaderRef(handle, bool)  whether a running reader keeps the event loop alive (default: yes).
 *   tunReaderGather(handle, us) the thread's gather window from its next pass: us (0..1000) or, when negative,
 *                         SVR_TUN_READ_GATHER_US's again (a queue of path control only waits longer:
 *                         src/control/wan-gather.ts).
 *   tunWriteBatch, tunWriteBatchOffload, tunWriterStart/Push/Direct/Stop: native/tun-write.c.
 *   tunBusyPoll(us)       after a poll-mode batch, keep polling this thread's poll-mode queues until none has
 *                         had a packet for `us` (busy_poll below); 0 = off. tunBusyPollStats() -> its totals.
 *   tunStrerror(errno) -> strerror text (for the errors the writer thread recorded).
 *   tunSetOffload(fd, flags)  TUNSETOFFLOAD (needs IFF_VNET_HDR).
 *   tunClose(fd)          stops readers and writers of fd, close(2). Only fds opened here are closed; twice is a
 *                         no-op.
 *
 * Lifetimes: the reader struct is shared by the JS handle (external) and the threadsafe function; it is
 * freed when both are finalized. A per-reader env cleanup hook, added after the threadsafe function was
 * created, runs before Node tears that function down, so the thread is always joined while everything it
 * touches is alive (matters for worker_threads). Fds still open at env teardown are closed.
 */
#include "tun-internal.h"
#include "offload.h"
#include "tun-gather.h"
#include "tun-pass.h"
#include "tun-uring.h"
#include "wan-rx-ring.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

/* Flags of tunOpen; the same values are in src/io/tun/native.ts. */
#define SVR_TUN_MULTI_QUEUE 1u
#define SVR_TUN_VNET_HDR 2u
/* Flags of tunReaderStart; the same values are in src/io/tun/native.ts. */
#define SVR_READER_OFFLOAD 1u
#define SVR_READER_POLL 2u
/* A threadsafe call that carries (PARKED_TAG | generation): the thread stopped reading for poll mode. */
#define PARKED_TAG ((uintptr_t)1 << 40)

#define MAX_BUFFERS 64
/* Reads per io_uring_enter (each into its own 64 KB scratch: 1 MiB per offload queue). */
#define SVR_URING_READS 16
#define MIN_SNAP 64
#define MAX_SNAP (1u << 20)
/* The reader thread's gather window and its bulk window (tun-gather.h; SVR_TUN_READ_GATHER_US, _BULK_US). */
#define READ_GATHER_US 300u
#define READ_GATHER_BULK_US 1000u

struct reader {
  reader *next;
  tun_env *te;
  napi_env env;
  int fd, efd;
  uint32_t nbuf, batch, snap;
  uint8_t *data;
  uint32_t *lens;
  napi_ref data_ref, lens_ref;
  napi_threadsafe_function tsfn;
  pthread_t thread;

  pthread_mutex_t mu; /* guards stop, park* and busy[] */
  pthread_cond_t cv;
  int stop;
  int park;             /* poll mode asked: the thread stops reading and waits */
  int park_announce;    /* the thread tells JS (PARKED_TAG | park_gen) once it waits */
  uint32_t park_gen;
  uint8_t busy[MAX_BUFFERS];
  uint32_t next_k;      /* next batch buffer: the thread's while it reads, the JS thread's while it polls */
  uint32_t count[MAX_BUFFERS]; /* written by the thread before the call that hands buffer k over */
  int err;                     /* errno that ended the thread */
  atomic_uint truncated;       /* packets longer than S, dropped and counted */
  atomic_uint stalls;          /* times the thread waited because JS held every buffer */

  /* offload mode (SVR_READER_OFFLOAD): reads go to scratch, then native/offload.c segments into the batch */
  int offload;
  uint8_t *scratch;
  svr_seg seg;                      /* reader thread only: the packet being segmented, maybe across batches */
  _Atomic uint64_t super_packets;   /* GSO packets read */
  _Atomic uint64_t segments;        /* segments made from them */
  _Atomic uint64_t offload_errors;  /* malformed vnet headers / GSO packets, dropped */
  /* offload mode, the thread: up to SVR_URING_READS reads per io_uring_enter (tun-uring.c; ur.fd < 0: read()) into
   * uscratch; reads [uq_next, uq_count) are done and not cut yet (either mode cuts them first, in order) */
  svr_uring ur;
  uint8_t *uscratch;
  int32_t ures[SVR_URING_READS];  /* queued read q: ures[q] bytes in uscratch buffer uq_idx[q] */
  uint8_t uq_idx[SVR_URING_READS];
  uint32_t uq_next, uq_count;
  uint32_t ur_want;               /* reads in the next batch: doubles while all find a packet, else found + 1 */
  svr_gather gather;              /* the thread: a bounded wait for a fuller batch on a busy queue (tun-gather.h) */
  uint64_t gather_default_ns;     /* its window from SVR_TUN_READ_GATHER_US */
  _Atomic uint64_t gather_want_ns; /* tunReaderGather: the window the thread takes at its next pass */

  /* JS thread only */
  int stopped;
  int tsfn_alive;
  int refs; /* JS handle + threadsafe function */
  int want_poll;           /* the mode JS asked for last (tunReaderMode) */
  int polling;             /* the uv_poll watcher is started: this thread reads */
  int loop_ref;            /* tunReaderRef */
  struct reader_poll *poll;
  napi_ref cb_ref;         /* the callback, for poll mode */
  uint64_t poll_last_ns;   /* poll mode (one_read below): when the last read pass began, */
  uint64_t poll_idle_ns;   /* the event loop's idle time then (uv_metrics_idle_time), */
  int poll_drained;        /* and whether the queue was seen empty since (a read or a busy poll) */
  napi_async_context actx;
  svr_tun_pass *pass;      /* tunReaderPass: poll mode's steady pass (tun-pass.c), or NULL */
  /* thread mode with a pass armed (verdicts): the thread checks each batch's L4 checksums while the bytes are in its
   * core's cache (svr_tun_pass_verdicts), l4ok[k * batch + i]; vk[k]: buffer k's are there (written before hand_over) */
  atomic_int verdicts;
  uint8_t vk[MAX_BUFFERS];
  uint8_t l4ok[MAX_BUFFERS * MAX_BATCH];
  struct reader_poll *ring_poll; /* poll mode: the watcher of ring->wait_fd */

  /* tunReaderRxRing (wan-rx-ring.c): set once, under mu, by the JS thread; read by whichever thread reads */
  svr_rx_ring *_Atomic ring;
  _Atomic uint64_t ring_taken; /* packets taken from it, for the callback */
};

/* The uv_poll watcher of a reader in poll mode; freed by its close callback (after the reader may be gone). */
typedef struct reader_poll {
  uv_poll_t h;
  reader *r; /* NULL once closing */
  napi_async_cleanup_hook_handle hook;
} reader_poll;

/* ---- fd bookkeeping ---- */

static int te_add_fd(tun_env *te, int fd) {
  if (te->nfds == te->cap) {
    size_t cap = te->cap ? te->cap * 2 : 8;
    int *fds = realloc(te->fds, cap * sizeof *fds);
    if (fds == NULL) return -1;
    te->fds = fds;
    te->cap = cap;
  }
  te->fds[te->nfds++] = fd;
  return 0;
}

static int te_remove_fd(tun_env *te, int fd) {
  for (size_t i = 0; i < te->nfds; i++) {
    if (te->fds[i] == fd) {
      te->fds[i] = te->fds[--te->nfds];
      return 1;
    }
  }
  return 0;
}

/* ---- reader thread ---- */


/* Marks buffer k busy with n packets and hands it to JS. Non-zero: napi_closing (the env is going away; the
 * threadsafe function must not be used again). */
static int hand_over(reader *r, uint32_t k, uint32_t n) {
  pthread_mutex_lock(&r->mu);
  r->count[k] = n;
  r->busy[k] = 1;
  pthread_mutex_unlock(&r->mu);
  return napi_call_threadsafe_function(r->tsfn, (void *)(uintptr_t)(k + 1), napi_tsfn_nonblocking) != napi_ok;
}

/* Offload mode: cuts one read (len bytes at buf) into the batch from slot n on; returns the new count. */
static uint32_t take_read(reader *r, uint8_t *buf, size_t len, uint8_t *base, uint32_t *lens, uint32_t n) {
  if (len > SVR_OFFLOAD_SCRATCH) { /* cannot happen with a 64 KB GSO limit; counted like a cut packet */
    atomic_fetch_add(&r->truncated, 1);
    return n;
  }
  int rc = svr_seg_prepare(&r->seg, buf, (uint32_t)len, r->snap);
  if (rc == SVR_SEG_TOO_BIG) {
    atomic_fetch_add(&r->truncated, 1);
    return n;
  }
  if (rc != SVR_SEG_OK) {
    atomic_fetch_add(&r->offload_errors, 1);
    return n;
  }
  if (buf[1] != SVR_VNET_GSO_NONE) {
    atomic_fetch_add(&r->super_packets, 1);
    atomic_fetch_add(&r->segments, r->seg.nseg);
  }
  return svr_seg_emit(&r->seg, base, r->snap, lens, n, r->batch);
}

/* The ring's packets into slots n.. < max (wan-rx-ring.c); returns the new count. */
static uint32_t take_ring(reader *r, uint8_t *base, uint32_t *lens, uint32_t n, uint32_t max) {
  uint32_t cut = 0, m = svr_rx_ring_take(r->ring, base, r->snap, lens, n, max, &cut);
  if (cut > 0) atomic_fetch_add(&r->truncated, cut);
  if (m > n) atomic_store_explicit(&r->ring_taken, r->ring->taken, memory_order_relaxed);
  return m;
}

/* The thread, with io_uring: up to `want` reads in one io_uring_enter (fewer when the last batch found fewer
 * packets: reads that meet EAGAIN are work too), queued in uq in order. Returns the reads queued; 0 with errno set
 * when none got a packet (EAGAIN: nothing there); -1 when io_uring failed (then it is off for this reader and the
 * caller reads as before). */
static int read_batch(reader *r, uint32_t want) {
  uint32_t m = want < r->ur_want ? want : r->ur_want;
  int32_t res[SVR_URING_READS];
  int sub = svr_uring_read(&r->ur, r->fd, r->uscratch, SVR_OFFLOAD_SCRATCH, m, res);
  if (sub <= 0) {
    svr_uring_close(&r->ur);
    return -1;
  }
  uint32_t ok = 0;
  int err = EAGAIN;
  for (uint32_t k = 0; k < (uint32_t)sub; k++) {
    if (res[k] >= 0) {
      r->uq_idx[ok] = (uint8_t)k;
      r->ures[ok++] = res[k];
    } else if (res[k] != -EAGAIN && err == EAGAIN) {
      err = -res[k]; /* with packets queued, the next read meets it again */
    }
  }
  r->ur_want = ok == (uint32_t)sub ? (m * 2 < SVR_URING_READS ? m * 2 : SVR_URING_READS) : (ok + 1 > 2 ? ok + 1 : 2);
  r->uq_next = 0;
  r->uq_count = ok;
  if (ok == 0) errno = err;
  return (int)ok;
}

/*
 * Offload mode: fills batch buffer k with plain IP packets. First the rest of a super-packet that did not fit
 * the previous batch and the reads queued by read_batch, then reads (into scratch, segmented by native/offload.c)
 * until EAGAIN or the batch is full. With pfd (the thread), blocks in poll() while the batch is still empty and
 * sets *intr when the eventfd fired (stop or park), and reads through io_uring when it is set up; without (poll
 * mode), never blocks (once: stops after the first read that gave packets). Returns the packet count; sets *err
 * on a read error.
 */
static uint32_t fill_offload(reader *r, uint32_t k, struct pollfd *pfd, int *err, int *intr, int once) {
  uint8_t *base = r->data + (size_t)k * r->batch * r->snap;
  uint32_t *lens = r->lens + (size_t)k * r->batch;
  uint32_t n = 0;
  if (svr_seg_pending(&r->seg)) n = svr_seg_emit(&r->seg, base, r->snap, lens, 0, r->batch);
  while (n < r->batch && !(once && n > 0)) {
    if (r->uq_next < r->uq_count) {
      uint32_t q = r->uq_next++;
      n = take_read(r, r->uscratch + (size_t)r->uq_idx[q] * SVR_OFFLOAD_SCRATCH, (size_t)r->ures[q], base, lens, n);
      continue;
    }
    if (r->ring != NULL) { /* the ring's packets: no system call (wan-rx-ring.c) */
      uint32_t m = take_ring(r, base, lens, n, once ? n + 1 : r->batch);
      if (m > n) {
        n = m;
        continue;
      }
    }
    if (n == 0 && pfd != NULL) {
      if (poll(pfd, 3, -1) < 0) {
        if (errno == EINTR) continue;
        *err = errno;
        break;
      }
      if (pfd[1].revents) {
        *intr = 1;
        break;
      }
    }
    ssize_t len;
    int queued = pfd != NULL && r->ur.fd >= 0 && r->batch - n >= 2 ? read_batch(r, r->batch - n) : -1;
    if (queued > 0) continue;
    len = queued == 0 ? -1 : read(r->fd, r->scratch, SVR_OFFLOAD_SCRATCH);
    if (len < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) *err = errno;
      else if (n == 0 && pfd != NULL && (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL))) *err = EIO;
      if (n == 0 && !*err && pfd != NULL) continue; /* spurious wake-up: poll again */
      break;
    }
    n = take_read(r, r->scratch, (size_t)len, base, lens, n);
  }
  return n;
}

/* Plain mode: reads into batch buffer k without blocking until EAGAIN or the batch is full (once: or the
 * first packet). */
static uint32_t fill_plain(reader *r, uint32_t k, int *err, int once) {
  uint8_t *base = r->data + (size_t)k * r->batch * r->snap;
  uint32_t *lens = r->lens + (size_t)k * r->batch;
  uint32_t n = 0;
  while (n < r->batch && !(once && n > 0)) {
    ssize_t len = read(r->fd, base + (size_t)n * r->snap, r->snap);
    if (len < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) *err = errno;
      break;
    }
    /* The kernel returns the full length when it had to cut the packet to fit: drop and count it. */
    if ((size_t)len > r->snap) {
      atomic_fetch_add(&r->truncated, 1);
      continue;
    }
    lens[n++] = (uint32_t)len;
  }
  return n;
}

/* Waits while poll mode is asked (announcing it once per request, after every batch handed over before:
 * the threadsafe queue is FIFO), then until buffer k is free. Called and returns with mu held. */
static int park_or_wait(reader *r, int *closing) {
  while (r->park && !r->stop) {
    if (r->park_announce) {
      uintptr_t tag = PARKED_TAG | r->park_gen;
      r->park_announce = 0;
      pthread_mutex_unlock(&r->mu);
      int rc = napi_call_threadsafe_function(r->tsfn, (void *)tag, napi_tsfn_nonblocking);
      pthread_mutex_lock(&r->mu);
      if (rc != napi_ok) {
        *closing = 1;
        return 1;
      }
      continue;
    }
    pthread_cond_wait(&r->cv, &r->mu);
  }
  uint32_t k = r->next_k;
  if (r->busy[k] && !r->stop) atomic_fetch_add(&r->stalls, 1);
  while (r->busy[k] && !r->stop && !r->park) pthread_cond_wait(&r->cv, &r->mu);
  return r->stop;
}

static void *reader_main(void *arg) {
  reader *r = arg;
  pthread_setname_np(pthread_self(), "svr-tun-read"); /* what top -H, ps -L and the benchmark's per-thread CPU show */
  svr_gather_thread(&r->gather);
  /* pfd[2]: the ring's, once tunReaderRxRing set it (a negative fd is ignored) */
  struct pollfd pfd[3] = {{.fd = r->fd, .events = POLLIN}, {.fd = r->efd, .events = POLLIN}, {.fd = -1, .events = POLLIN}};
  int err = 0, closing = 0;

  for (;;) {
    pthread_mutex_lock(&r->mu);
    int stop = park_or_wait(r, &closing);
    int park = r->park;
    uint32_t k = r->next_k;
    if (r->ring != NULL) pfd[2].fd = r->ring->wait_fd;
    pthread_mutex_unlock(&r->mu);
    if (stop) break;
    if (park) continue;
    r->gather.window_ns = atomic_load_explicit(&r->gather_want_ns, memory_order_relaxed);
    svr_gather_wait(&r->gather); /* a busy queue: let the batch fill for up to the window */

    uint32_t n;
    int intr = 0;
    if (r->offload) {
      n = fill_offload(r, k, pfd, &err, &intr, 0);
    } else {
      if (poll(pfd, 2, -1) < 0) {
        if (errno == EINTR) continue;
        err = errno;
        break;
      }
      intr = pfd[1].revents != 0;
      n = intr ? 0 : fill_plain(r, k, &err, 0);
      if (n == 0 && err == 0 && (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL))) err = EIO;
    }
    if (intr) { /* tunReaderStop or tunReaderMode: the loop head looks at the flags */
      drain_efd(r->efd);
      continue;
    }
    if (n > 0) {
      svr_gather_pass(&r->gather, n);
      r->vk[k] = atomic_load_explicit(&r->verdicts, memory_order_relaxed) != 0;
      if (r->vk[k])
        svr_tun_pass_verdicts(r->data + (size_t)k * r->batch * r->snap, r->lens + (size_t)k * r->batch, n, r->snap,
                              r->l4ok + (size_t)k * r->batch);
      if (hand_over(r, k, n) != 0) {
        closing = 1;
        break;
      }
      r->next_k = (k + 1) % r->nbuf;
    }
    if (err) break;
  }

  if (err && !closing) {
    r->err = err;
    if (napi_call_threadsafe_function(r->tsfn, NULL, napi_tsfn_nonblocking) != napi_ok) closing = 1;
  }
  if (!closing) napi_release_threadsafe_function(r->tsfn, napi_tsfn_release);
  return NULL;
}

/* ---- JS side of the reader ---- */

static void reader_unref(reader *r) {
  if (--r->refs > 0) return;
  svr_uring_close(&r->ur);
  if (r->ring != NULL) svr_rx_ring_close(r->ring);
  free(r->ring);
  free(r->uscratch);
  free(r->scratch);
  pthread_mutex_destroy(&r->mu);
  pthread_cond_destroy(&r->cv);
  free(r);
}

static void reader_cleanup_hook(void *arg);

/* ---- poll mode: the JS thread reads from its own event loop (no thread hop per batch) ---- */

static void poll_closed(uv_handle_t *h) {
  reader_poll *p = (reader_poll *)h;
  napi_remove_async_cleanup_hook(p->hook);
  free(p);
}

static void poll_close(reader_poll *p) {
  if (p->r == NULL) return;
  p->r = NULL;
  uv_poll_stop(&p->h);
  uv_close((uv_handle_t *)&p->h, poll_closed);
}

/* env teardown (a worker exiting) while the watcher was still open */
static void poll_async_cleanup(napi_async_cleanup_hook_handle hook, void *arg) { poll_close(arg); }

static napi_status reader_args(napi_env env, reader *r, int32_t k, napi_value *argv, size_t *argc);

/* Calls the JS callback from a libuv callback (no JS on the stack): a handle scope, and a callback scope so
 * that nextTicks and microtasks run afterwards, as after a threadsafe call. */
static void poll_deliver(reader *r, int32_t k) {
  napi_env env = r->env;
  napi_handle_scope hs;
  napi_value argv[9], cb, recv, exc;
  size_t argc;
  if (napi_open_handle_scope(env, &hs) != napi_ok) return;
  /* napi_make_callback needs an object as `this` */
  if (napi_get_reference_value(env, r->cb_ref, &cb) == napi_ok && cb != NULL && napi_get_global(env, &recv) == napi_ok &&
      reader_args(env, r, k, argv, &argc) == napi_ok &&
      napi_make_callback(env, r->actx, recv, cb, argc, argv, NULL) == napi_pending_exception &&
      napi_get_and_clear_last_exception(env, &exc) == napi_ok)
    napi_fatal_exception(env, exc);
  napi_close_handle_scope(env, hs);
}

static void stop_polling(reader *r) {
  if (!r->polling) return;
  r->polling = 0;
  uv_poll_stop(&r->poll->h);
  if (r->ring_poll != NULL) uv_poll_stop(&r->ring_poll->h);
}

static void busy_poll(tun_env *te);
static int poll_read_deliver(reader *r, int status);

static void reader_poll_cb(uv_poll_t *h, int status, int events) {
  reader *r = ((reader_poll *)h)->r;
  if (r == NULL || r->stopped || !r->polling) return;
  tun_env *te = r->te;
  if (poll_read_deliver(r, status) > 0 && te->busy_us > 0 && !te->busy) busy_poll(te);
}

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Busy polling (tunBusyPoll): after a poll-mode batch, keep polling every poll-mode queue of this thread
 * until none has had a packet for busy_us, then go back to the event loop. A packet that arrives meanwhile is
 * read without a wake-up; on a VM, waking an idle vCPU costs 30-60 us per hop (docs/tun-io.md, measured).
 * sched_yield between polls lets any other runnable thread of this CPU go first. Never while a queue of
 * this thread reads on its thread (its batches come through the event loop), and at most BUSY_MAX_NS at a
 * time, so that timers and messages run. */
#define BUSY_MAX_FDS 16
#define BUSY_MAX_NS 1000000u
static void busy_poll(tun_env *te) {
  te->busy = 1;
  int counted = 0;
  const uint64_t window = (uint64_t)te->busy_us * 1000u;
  const uint64_t start = mono_ns();
  uint64_t last = start, idle_from = start;
  for (;;) {
    struct pollfd pfd[BUSY_MAX_FDS];
    reader *rs[BUSY_MAX_FDS];
    int n = 0, threaded = 0;
    for (reader *r = te->readers; r != NULL; r = r->next) {
      if (r->stopped) continue;
      if (!r->polling) threaded = 1;
      else if (n < BUSY_MAX_FDS) {
        pfd[n] = (struct pollfd){.fd = r->fd, .events = POLLIN};
        rs[n++] = r;
        if (r->ring != NULL && n < BUSY_MAX_FDS) {
          pfd[n] = (struct pollfd){.fd = r->ring->wait_fd, .events = POLLIN};
          rs[n++] = r;
        }
      }
    }
    if (n == 0 || threaded) break;
    if (mono_ns() - start >= BUSY_MAX_NS) { /* also when every poll finds a packet */
      te->busy_capped++;
      break;
    }
    if (!counted) {
      counted = 1;
      te->busy_runs++;
    }
    int ready = poll(pfd, (nfds_t)n, 0);
    if (ready == 0)
      for (int q = 0; q < n; q++) rs[q]->poll_drained = 1; /* all empty: the next packet may be read alone */
    int i = ready > 0 ? 0 : n;
    while (i < n && pfd[i].revents == 0) i++;
    uint64_t now = mono_ns();
    if (i < n && (pfd[i].revents & POLLIN)) {
      te->busy_idle_ns += now - idle_from;
      te->busy_packets += (uint64_t)poll_read_deliver(rs[i], 0); /* may stop readers: list them again */
      last = idle_from = mono_ns();
      continue;
    }
    if (i < n || now - last >= window) break; /* i < n: an error or hang-up, which the uv_poll watcher reports */
    sched_yield();
  }
  te->busy_idle_ns += mono_ns() - idle_from;
  te->busy = 0;
}

/* One read after a quiet spell (SVR_TUN_ONE_READ=0 turns it off): a queue not read for ONE_READ_GAP_NS and seen
 * empty since its last read most likely holds one packet, so poll mode delivers what the first read gave without
 * the read that would only return EAGAIN (a system call, ~1.3 us of CPU on the benchmark VM, before the packet's
 * write). Seen empty: the last pass read to EAGAIN, a busy poll found nothing, or the event loop slept since
 * (its idle time grew: it blocks only when no watcher is ready, and this one is level-triggered). Otherwise the
 * queue may still hold a burst whose first packet went alone: read it to EAGAIN, however long the pass took (the
 * 50 us gap alone made every pass of a burst a single read while passes took longer: a backlog read one packet per
 * loop turn, which test/unit/plugins/external-function-netns saw as packets missing on the function's way back). */
#define ONE_READ_GAP_NS 50000u
static int one_read_on = -1;

static int one_read(reader *r) {
  if (one_read_on < 0) {
    const char *v = getenv("SVR_TUN_ONE_READ");
    one_read_on = v == NULL || strcmp(v, "0") != 0;
  }
  uint64_t now = mono_ns(), last = r->poll_last_ns;
  uint64_t idle = uv_metrics_idle_time(r->poll->h.loop), idle_last = r->poll_idle_ns;
  int empty = r->poll_drained || idle != idle_last;
  r->poll_last_ns = now;
  r->poll_idle_ns = idle;
  return one_read_on && empty && now - last >= ONE_READ_GAP_NS;
}

/* Packets already taken from the fd and not delivered: the rest of a super-packet cut at a full batch, reads the
 * thread queued through io_uring before it parked. The watcher only fires for the fd, so poll mode drains them. */
static int holds_read(const reader *r) {
  return r->offload && (svr_seg_pending(&r->seg) || r->uq_next < r->uq_count);
}

/* Reads one batch on the JS thread and delivers it, then the batches of what it still holds (holds_read);
 * returns the packet count. */
static int poll_read_deliver(reader *r, int status) {
  uint32_t total = 0, n;
  do {
    if (r->stopped || !r->polling) break;
    uint32_t k = r->next_k; /* the thread is parked: every buffer is free */
    int err = 0, once = one_read(r);
    n = r->offload ? fill_offload(r, k, NULL, &err, NULL, once) : fill_plain(r, k, &err, once);
    r->poll_drained = !(once && n > 0) && n < r->batch; /* ended on EAGAIN (or an error) */
    if (n == 0 && err == 0 && status < 0) err = EIO;
    if (n > 0) {
      int call = 1;
      uint32_t left = r->pass == NULL ? n
                                      : svr_tun_pass_run(r->pass, r->data + (size_t)k * r->batch * r->snap,
                                                         r->lens + (size_t)k * r->batch, NULL, n, r->batch, r->snap, &call);
      total += n;
      if (call) {
        r->count[k] = left;
        r->next_k = (k + 1) % r->nbuf;
        poll_deliver(r, (int32_t)k);
      }
    }
    if (err && !r->stopped && r->polling) { /* like the thread: a read error ends reading */
      stop_polling(r);
      r->err = err;
      poll_deliver(r, -1);
    }
  } while (n > 0 && holds_read(r));
  return (int)total;
}

/* A watcher of fd for reader r (the TUN's, the ring's); NULL with *err set. */
static reader_poll *new_watcher(reader *r, int fd, int *err) {
  uv_loop_t *loop;
  reader_poll *p = calloc(1, sizeof *p);
  *err = ENOMEM;
  if (p == NULL) return NULL;
  *err = EINVAL;
  if (napi_get_uv_event_loop(r->env, (struct uv_loop_s **)&loop) != napi_ok) {
    free(p);
    return NULL;
  }
  int rc = uv_poll_init(loop, &p->h, fd);
  if (rc != 0) {
    free(p);
    *err = -rc;
    return NULL;
  }
  if (napi_add_async_cleanup_hook(r->env, poll_async_cleanup, p, &p->hook) != napi_ok) {
    uv_close((uv_handle_t *)&p->h, (uv_close_cb)free);
    return NULL;
  }
  p->r = r;
  if (!r->loop_ref) uv_unref((uv_handle_t *)&p->h);
  return p;
}

/* Starts the watchers (created on first use). Returns 0, or an errno. */
static int start_polling(reader *r) {
  int e = 0;
  if (r->polling) return 0;
  if (r->poll == NULL && (r->poll = new_watcher(r, r->fd, &e)) == NULL) return e;
  if (r->ring != NULL && r->ring_poll == NULL && (r->ring_poll = new_watcher(r, r->ring->wait_fd, &e)) == NULL) return e;
  int rc = uv_poll_start(&r->poll->h, UV_READABLE, reader_poll_cb);
  if (rc == 0 && r->ring_poll != NULL) rc = uv_poll_start(&r->ring_poll->h, UV_READABLE, reader_poll_cb);
  if (rc != 0) {
    uv_poll_stop(&r->poll->h);
    return -rc;
  }
  r->polling = 1;
  return 0;
}

static void reader_stop(reader *r, int from_hook) {
  if (r->stopped) return;
  r->stopped = 1;
  r->polling = 0;
  if (r->poll != NULL) poll_close(r->poll);
  if (r->ring_poll != NULL) poll_close(r->ring_poll);
  r->poll = r->ring_poll = NULL;
  if (r->cb_ref) napi_delete_reference(r->env, r->cb_ref);
  r->cb_ref = NULL;
  if (r->actx) napi_async_destroy(r->env, r->actx);
  r->actx = NULL;
  svr_tun_pass_free(r->pass);
  r->pass = NULL;
  pthread_mutex_lock(&r->mu);
  r->stop = 1;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
  uint64_t one = 1;
  if (write(r->efd, &one, sizeof one) < 0) { /* cannot fail on an eventfd below its maximum */
  }
  pthread_join(r->thread, NULL);
  close(r->efd);
  r->efd = -1;
  for (reader **p = &r->te->readers; *p; p = &(*p)->next) {
    if (*p == r) {
      *p = r->next;
      break;
    }
  }
  if (!from_hook) napi_remove_env_cleanup_hook(r->env, reader_cleanup_hook, r);
}

static void reader_cleanup_hook(void *arg) { reader_stop(arg, 1); }

/* Arguments 6..9 of the callback in offload mode: superPackets, segments, offloadErrors, rxRing (running totals). */
static napi_status offload_args(napi_env env, reader *r, napi_value *argv) {
  napi_status s;
  if (!r->offload) return napi_ok;
  if ((s = napi_create_double(env, (double)atomic_load(&r->super_packets), &argv[0])) != napi_ok ||
      (s = napi_create_double(env, (double)atomic_load(&r->segments), &argv[1])) != napi_ok ||
      (s = napi_create_double(env, (double)atomic_load(&r->offload_errors), &argv[2])) != napi_ok ||
      (s = napi_create_double(env, (double)atomic_load(&r->ring_taken), &argv[3])) != napi_ok)
    return s;
  return napi_ok;
}

/* The callback's arguments: (k, count, truncated, stalls[, undefined, offload totals]) for batch k, or
 * (-1, errno, truncated, stalls, message[, offload totals]) after a read error (k = -1). */
static napi_status reader_args(napi_env env, reader *r, int32_t k, napi_value *argv, size_t *argc) {
  napi_status s;
  if ((s = napi_create_int32(env, k, &argv[0])) != napi_ok ||
      (s = napi_create_uint32(env, k >= 0 ? r->count[k] : (uint32_t)r->err, &argv[1])) != napi_ok ||
      (s = napi_create_uint32(env, atomic_load(&r->truncated), &argv[2])) != napi_ok ||
      (s = napi_create_uint32(env, atomic_load(&r->stalls), &argv[3])) != napi_ok)
    return s;
  s = k >= 0 ? napi_get_undefined(env, &argv[4]) : napi_create_string_utf8(env, strerror(r->err), NAPI_AUTO_LENGTH, &argv[4]);
  if (s != napi_ok || (s = offload_args(env, r, argv + 5)) != napi_ok) return s;
  *argc = r->offload ? 9 : k >= 0 ? 4 : 5;
  return napi_ok;
}

/* Thread mode's batches take the steady pass too (SVR_TUN_PASS_THREAD=0: only poll mode's): on the JS thread, in
 * the threadsafe call, before JS, so the reads and cuts stay on the reader thread and JS sees only the rest. */
static int thread_pass_on = -1;
static int thread_pass(void) {
  if (thread_pass_on < 0) {
    const char *v = getenv("SVR_TUN_PASS_THREAD");
    thread_pass_on = v == NULL || strcmp(v, "0") != 0;
  }
  return thread_pass_on;
}

/* Runs on the JS thread once per hand-off; env is NULL when the function is being torn down. */
static void reader_call_js(napi_env env, napi_value cb, void *context, void *data) {
  reader *r = context;
  uintptr_t v = (uintptr_t)data;
  napi_value argv[9], undef;
  size_t argc;
  if (v & PARKED_TAG) { /* the thread waits and every batch it read was delivered: poll from here on */
    pthread_mutex_lock(&r->mu);
    int current = r->park && r->park_gen == (uint32_t)(v & ~PARKED_TAG);
    pthread_mutex_unlock(&r->mu);
    if (env != NULL && !r->stopped && r->want_poll && current) {
      int e = start_polling(r);
      if (e == 0 && holds_read(r)) poll_read_deliver(r, 0);
      if (e != 0) { /* cannot poll: keep reading on the thread */
        r->want_poll = 0;
        pthread_mutex_lock(&r->mu);
        r->park = 0;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
      }
    }
    return;
  }
  if (v == 0) { /* the thread ended on a read error */
    if (env == NULL || r->stopped) return;
    if (napi_get_undefined(env, &undef) == napi_ok && reader_args(env, r, -1, argv, &argc) == napi_ok)
      napi_call_function(env, undef, cb, argc, argv, NULL);
    return;
  }
  uint32_t k = (uint32_t)(v - 1);
  int call = 1;
  if (env != NULL && !r->stopped && r->pass != NULL && thread_pass()) /* the steady pass, as poll mode runs it */
    r->count[k] = svr_tun_pass_run(r->pass, r->data + (size_t)k * r->batch * r->snap, r->lens + (size_t)k * r->batch,
                                   r->vk[k] ? r->l4ok + (size_t)k * r->batch : NULL, r->count[k], r->batch, r->snap, &call);
  if (call && env != NULL && !r->stopped && napi_get_undefined(env, &undef) == napi_ok &&
      reader_args(env, r, (int32_t)k, argv, &argc) == napi_ok)
    napi_call_function(env, undef, cb, argc, argv, NULL); /* cb catches the handler's exceptions */
  pthread_mutex_lock(&r->mu);
  r->busy[k] = 0;
  pthread_cond_signal(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

static void reader_tsfn_finalize(napi_env env, void *data, void *hint) {
  reader *r = data;
  r->tsfn_alive = 0;
  if (r->data_ref) napi_delete_reference(env, r->data_ref);
  if (r->lens_ref) napi_delete_reference(env, r->lens_ref);
  r->data_ref = r->lens_ref = NULL;
  reader_unref(r);
}

static void reader_handle_finalize(napi_env env, void *data, void *hint) {
  reader *r = data;
  reader_stop(r, 0);
  reader_unref(r);
}

static reader *get_reader(napi_env env, napi_value v) {
  napi_valuetype t;
  void *p = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &p) != napi_ok ||
      p == NULL) {
    napi_throw_type_error(env, NULL, "handle must be a TUN reader handle");
    return NULL;
  }
  return p;
}

/* tunReaderStart(fd, data: Uint8Array, lens: Uint32Array, buffers, batch, snap, cb[, flags]) -> handle */
static napi_value tun_reader_start(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8], name, handle, resource;
  tun_env *te;
  int32_t fd;
  uint32_t nbuf, batch, snap, rflags = 0;
  void *data, *lens;
  size_t data_len, lens_len;
  napi_valuetype cbt;

  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&te));
  if (argc < 7) {
    napi_throw_type_error(env, NULL, "tunReaderStart needs 7 arguments");
    return NULL;
  }
  if (svr_arg_i32(env, argv[0], "fd", &fd) || svr_arg_typed(env, argv[1], napi_uint8_array, "data", &data, &data_len) ||
      svr_arg_typed(env, argv[2], napi_uint32_array, "lens", &lens, &lens_len) ||
      svr_arg_u32(env, argv[3], "buffers", &nbuf) || svr_arg_u32(env, argv[4], "batch", &batch) ||
      svr_arg_u32(env, argv[5], "snap", &snap))
    return NULL;
  if (napi_typeof(env, argv[6], &cbt) != napi_ok || cbt != napi_function) {
    napi_throw_type_error(env, NULL, "cb must be a function");
    return NULL;
  }
  if (argc >= 8 && svr_arg_u32(env, argv[7], "flags", &rflags)) return NULL;
  if (rflags & ~(SVR_READER_OFFLOAD | SVR_READER_POLL)) {
    napi_throw_range_error(env, NULL, "unknown tunReaderStart flags");
    return NULL;
  }
  if (nbuf < 1 || nbuf > MAX_BUFFERS || batch < 1 || batch > MAX_BATCH || snap < MIN_SNAP || snap > MAX_SNAP) {
    napi_throw_range_error(env, NULL, "buffers must be 1..64, batch 1..1024, snap 64..1048576");
    return NULL;
  }
  if ((uint64_t)nbuf * batch * snap > data_len || (uint64_t)nbuf * batch > lens_len) {
    napi_throw_range_error(env, NULL, "data must hold buffers*batch*snap bytes and lens buffers*batch entries");
    return NULL;
  }

  reader *r = calloc(1, sizeof *r);
  if (r == NULL) {
    svr_throw_errno(env, ENOMEM, "calloc");
    return NULL;
  }
  r->te = te;
  r->env = env;
  r->fd = fd;
  r->nbuf = nbuf;
  r->batch = batch;
  r->snap = snap;
  r->data = data;
  r->lens = lens;
  r->offload = (rflags & SVR_READER_OFFLOAD) != 0;
  r->loop_ref = 1;
  r->want_poll = r->park = (rflags & SVR_READER_POLL) != 0; /* the thread starts parked */
  r->poll_drained = 1; /* empty so far: poll mode's first read may go alone */
  r->ur.fd = -1;
  r->ur_want = 2;
  svr_gather_init(&r->gather, "SVR_TUN_READ_GATHER_US", READ_GATHER_US, batch);
  r->gather.bulk_ns = svr_gather_env_ns("SVR_TUN_READ_GATHER_BULK_US", READ_GATHER_BULK_US);
  r->gather_default_ns = r->gather.window_ns;
  atomic_init(&r->gather_want_ns, r->gather.window_ns);
  if (r->offload && (r->scratch = malloc(SVR_OFFLOAD_SCRATCH)) == NULL) {
    free(r);
    svr_throw_errno(env, ENOMEM, "malloc");
    return NULL;
  }
  /* Batched reads unless SVR_TUN_URING=0; without io_uring (old kernel, seccomp, io_uring_disabled) read() as
   * before. */
  const char *ue = getenv("SVR_TUN_URING");
  if (r->offload && (ue == NULL || strcmp(ue, "0") != 0) && svr_uring_init(&r->ur) == 0 &&
      (r->uscratch = malloc((size_t)SVR_URING_READS * SVR_OFFLOAD_SCRATCH)) == NULL)
    svr_uring_close(&r->ur);
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
  r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (r->efd < 0) {
    int e = errno;
    reader_unref(r); /* refs is 0: frees */
    svr_throw_errno(env, e, "eventfd");
    return NULL;
  }
  if (napi_create_reference(env, argv[1], 1, &r->data_ref) != napi_ok ||
      napi_create_reference(env, argv[2], 1, &r->lens_ref) != napi_ok ||
      napi_create_string_utf8(env, "svr.tunReader", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_reference(env, argv[6], 1, &r->cb_ref) != napi_ok ||
      napi_create_object(env, &resource) != napi_ok || napi_async_init(env, resource, name, &r->actx) != napi_ok ||
      napi_create_threadsafe_function(env, argv[6], NULL, name, 0, 1, r, reader_tsfn_finalize, r, reader_call_js,
                                      &r->tsfn) != napi_ok) {
    svr_throw_last_status(env, "tunReaderStart");
    if (r->data_ref) napi_delete_reference(env, r->data_ref);
    if (r->lens_ref) napi_delete_reference(env, r->lens_ref);
    if (r->cb_ref) napi_delete_reference(env, r->cb_ref);
    if (r->actx) napi_async_destroy(env, r->actx);
    close(r->efd);
    reader_unref(r);
    return NULL;
  }
  r->refs = 1; /* the threadsafe function */
  r->tsfn_alive = 1;

  /* The thread takes no signals: they stay with Node's threads. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int e = pthread_create(&r->thread, NULL, reader_main, r);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (e != 0) {
    r->stopped = 1;
    close(r->efd);
    napi_delete_reference(env, r->cb_ref);
    napi_async_destroy(env, r->actx);
    napi_release_threadsafe_function(r->tsfn, napi_tsfn_release); /* finalizer frees r */
    svr_throw_errno(env, e, "pthread_create");
    return NULL;
  }
  r->next = te->readers;
  te->readers = r;
  napi_add_env_cleanup_hook(env, reader_cleanup_hook, r);
  if (r->want_poll && (e = start_polling(r)) != 0) {
    reader_stop(r, 0);
    svr_throw_errno(env, e, "uv_poll_start");
    return NULL;
  }

  if (napi_create_external(env, r, reader_handle_finalize, NULL, &handle) != napi_ok) {
    svr_throw_last_status(env, "tunReaderStart");
    reader_stop(r, 0);
    return NULL;
  }
  r->refs++;
  return handle;
}

/* tunReaderStop(handle) */
static napi_value tun_reader_stop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  reader *r = argc >= 1 ? get_reader(env, argv[0]) : NULL;
  if (r == NULL) return NULL;
  reader_stop(r, 0);
  return NULL;
}

/* Arguments (handle, boolean) of tunReaderRef and tunReaderMode; NULL with an exception pending. */
static reader *reader_and_flag(napi_env env, napi_callback_info info, bool *flag) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    svr_throw_last_status(env, "napi_get_cb_info");
    return NULL;
  }
  reader *r = argc >= 2 ? get_reader(env, argv[0]) : NULL;
  if (argc < 2) napi_throw_type_error(env, NULL, "needs (handle, boolean)");
  if (r == NULL) return NULL;
  if (napi_get_value_bool(env, argv[1], flag) != napi_ok) {
    napi_throw_type_error(env, NULL, "the second argument must be a boolean");
    return NULL;
  }
  return r;
}

/* tunReaderRef(handle, ref: boolean) */
static napi_value tun_reader_ref(napi_env env, napi_callback_info info) {
  bool ref = true;
  reader *r = reader_and_flag(env, info, &ref);
  if (r == NULL) return NULL;
  if (r->tsfn_alive && !r->stopped) {
    if (ref) SVR_CHECK(env, napi_ref_threadsafe_function(env, r->tsfn));
    else SVR_CHECK(env, napi_unref_threadsafe_function(env, r->tsfn));
    r->loop_ref = ref;
    if (r->poll != NULL) {
      if (ref) uv_ref((uv_handle_t *)&r->poll->h);
      else uv_unref((uv_handle_t *)&r->poll->h);
    }
  }
  return NULL;
}

/* The reader of a call with `want` arguments (argv), the first its handle; NULL after throwing (usage: too few). */
static reader *reader_of_call(napi_env env, napi_callback_info info, size_t want, napi_value *argv, const char *usage) {
  size_t argc = want;
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  reader *r = argc >= want ? get_reader(env, argv[0]) : NULL;
  if (argc < want) napi_throw_type_error(env, NULL, usage);
  return r;
}

/* tunReaderGather(handle, us: number): see the header. */
static napi_value tun_reader_gather(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  reader *r = reader_of_call(env, info, 2, argv, "needs (handle, us)");
  if (r == NULL) return NULL;
  int32_t us;
  if (napi_get_value_int32(env, argv[1], &us) != napi_ok) {
    napi_throw_type_error(env, NULL, "the second argument must be a number (us)");
    return NULL;
  }
  uint64_t ns = us < 0 ? r->gather_default_ns : (uint64_t)(us < (int32_t)SVR_GATHER_MAX_US ? us : (int32_t)SVR_GATHER_MAX_US) * 1000u;
  atomic_store_explicit(&r->gather_want_ns, ns, memory_order_relaxed);
  return NULL;
}

/* tunReaderRxRing(handle, ifindexes: Uint32Array, waypoint: i32 (a.b.c.d as a << 24 | ... | d, signed)) -> undefined:
 * from now on the reader also takes the SVR packets of those devices from a packet ring (wan-rx-ring.c), in either
 * mode; the caller then drops them at the devices' ingress. Offload readers only, once; throws an errno error (EPERM
 * without CAP_NET_RAW). */
static napi_value tun_reader_rx_ring(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  reader *r = reader_of_call(env, info, 3, argv, "needs (handle, ifindexes, waypoint)");
  if (r == NULL) return NULL;
  void *ix;
  size_t nix;
  int32_t wp;
  if (svr_arg_typed(env, argv[1], napi_uint32_array, "ifindexes", &ix, &nix) || svr_arg_i32(env, argv[2], "waypoint", &wp)) return NULL;
  if (!r->offload || r->ring != NULL || r->stopped || nix < 1 || nix > SVR_RX_RING_DEVS) {
    napi_throw_range_error(env, NULL, "tunReaderRxRing: an offload reader without a ring, 1-4 devices");
    return NULL;
  }
  svr_rx_ring *ring = malloc(sizeof *ring);
  int e = ring == NULL ? ENOMEM : svr_rx_ring_open(ring, ix, (int)nix, (uint32_t)wp);
  if (e != 0) {
    free(ring);
    svr_throw_errno(env, e, "tunReaderRxRing");
    return NULL;
  }
  pthread_mutex_lock(&r->mu);
  r->ring = ring;
  pthread_mutex_unlock(&r->mu);
  uint64_t one = 1;
  if (write(r->efd, &one, sizeof one) < 0) { /* the thread polls the ring's fd from its next pass */
  }
  if (r->polling) { /* poll mode: a watcher of the ring too */
    r->polling = 0;
    uv_poll_stop(&r->poll->h);
    if ((e = start_polling(r)) != 0) {
      svr_throw_errno(env, e, "uv_poll_start");
      return NULL;
    }
  }
  return NULL;
}

/* tunGatherGapForTest(windowUs, bulkUs, batch, pktNs, lastN, sinceNs) -> ns a reader thread in that state would
 * sleep before its next pass (tun-gather.h's rule; test/unit/io/tun-gather.test.ts). */
static napi_value tun_gather_gap_for_test(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  double v[6];
  for (size_t i = 0; i < 6; i++) {
    if (i >= argc || napi_get_value_double(env, argv[i], &v[i]) != napi_ok || !(v[i] >= 0)) {
      napi_throw_type_error(env, NULL, "tunGatherGapForTest needs (windowUs, bulkUs, batch, pktNs, lastN, sinceNs), all >= 0");
      return NULL;
    }
  }
  svr_gather g;
  svr_gather_init(&g, "", (uint32_t)v[0], (uint32_t)v[2]);
  g.bulk_ns = (uint64_t)(v[1] < SVR_GATHER_MAX_US ? v[1] : SVR_GATHER_MAX_US) * 1000u;
  g.pkt_ns = (uint64_t)v[3];
  g.last_n = (uint32_t)v[4];
  napi_value out;
  SVR_CHECK(env, napi_create_double(env, (double)svr_gather_gap(&g, (uint64_t)v[5]), &out));
  return out;
}

/* tunReaderMode(handle, poll: boolean): poll mode reads on this thread's event loop; thread mode on the reader
 * thread. thread -> poll waits until the thread has delivered what it read; poll -> thread is immediate. */
static napi_value tun_reader_mode(napi_env env, napi_callback_info info) {
  bool poll = false;
  reader *r = reader_and_flag(env, info, &poll);
  if (r == NULL) return NULL;
  if (r->stopped || (int)poll == r->want_poll) return NULL;
  r->want_poll = poll;
  pthread_mutex_lock(&r->mu);
  if (poll) {
    r->park = 1;
    r->park_announce = 1;
    r->park_gen++;
  } else {
    stop_polling(r);
    r->park = 0;
    pthread_cond_broadcast(&r->cv);
  }
  pthread_mutex_unlock(&r->mu);
  if (poll) {
    uint64_t one = 1;
    if (write(r->efd, &one, sizeof one) < 0) { /* cannot fail on an eventfd below its maximum */
    }
  }
  return NULL;
}

/* tunReaderPass(handle, table|null, ifIndex, writers, counters, idx, tally, clockOffsetMs, slotMs): poll mode's
 * steady pass (tun-pass.c); a null table turns it off. Replaces the one before. */
static napi_value tun_reader_pass(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  int off = 0;
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  reader *r = argc >= 2 ? get_reader(env, argv[0]) : NULL;
  if (argc < 2 && r == NULL) napi_throw_type_error(env, NULL, "tunReaderPass needs (handle, table, ...)");
  if (r == NULL) return NULL;
  if (argc < 9) {
    napi_value u;
    SVR_CHECK(env, napi_get_undefined(env, &u));
    for (size_t i = argc; i < 9; i++) argv[i] = u;
  }
  svr_tun_pass *p = svr_tun_pass_args(env, argv + 1, &off);
  if (p == NULL && !off) return NULL;
  svr_tun_pass_free(r->pass);
  r->pass = r->stopped ? NULL : p;
  if (r->stopped) svr_tun_pass_free(p);
  atomic_store_explicit(&r->verdicts, r->pass != NULL && thread_pass(), memory_order_relaxed);
  return NULL;
}

/* ---- open, offload, write, close ---- */

/* tunOpen(name, flags) -> { fd, name } */
static napi_value tun_open(napi_env env, napi_callback_info info) {
  size_t argc = 2, len = 0;
  napi_value argv[2], result, v;
  tun_env *te;
  char name[64];
  uint32_t flags;

  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&te));
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "tunOpen needs (name, flags)");
    return NULL;
  }
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "name must be a string");
    return NULL;
  }
  if (svr_arg_u32(env, argv[1], "flags", &flags)) return NULL;
  if (flags & ~(SVR_TUN_MULTI_QUEUE | SVR_TUN_VNET_HDR)) {
    napi_throw_range_error(env, NULL, "unknown tunOpen flags");
    return NULL;
  }
  if (len >= IFNAMSIZ) {
    svr_throw_errno(env, ENAMETOOLONG, "TUNSETIFF");
    return NULL;
  }

  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    svr_throw_errno(env, errno, "open");
    return NULL;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  if (flags & SVR_TUN_MULTI_QUEUE) ifr.ifr_flags |= IFF_MULTI_QUEUE;
  if (flags & SVR_TUN_VNET_HDR) ifr.ifr_flags |= IFF_VNET_HDR;
  memcpy(ifr.ifr_name, name, len); /* len < IFNAMSIZ, rest is zero */
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int e = errno;
    close(fd);
    svr_throw_errno(env, e, "TUNSETIFF");
    return NULL;
  }
  if (te_add_fd(te, fd) != 0) {
    close(fd);
    svr_throw_errno(env, ENOMEM, "realloc");
    return NULL;
  }
  ifr.ifr_name[IFNAMSIZ - 1] = 0;
  SVR_CHECK(env, napi_create_object(env, &result));
  SVR_CHECK(env, napi_create_int32(env, fd, &v));
  SVR_CHECK(env, napi_set_named_property(env, result, "fd", v));
  SVR_CHECK(env, napi_create_string_utf8(env, ifr.ifr_name, NAPI_AUTO_LENGTH, &v));
  SVR_CHECK(env, napi_set_named_property(env, result, "name", v));
  return result;
}

/* tunSetOffload(fd, flags): TUN_F_CSUM, TUN_F_TSO4, ... */
static napi_value tun_set_offload(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  int32_t fd;
  uint32_t flags;
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || svr_arg_i32(env, argv[0], "fd", &fd) || svr_arg_u32(env, argv[1], "flags", &flags)) {
    if (argc < 2) napi_throw_type_error(env, NULL, "tunSetOffload needs (fd, flags)");
    return NULL;
  }
  if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)flags) < 0) svr_throw_errno(env, errno, "TUNSETOFFLOAD");
  return NULL;
}

/* tunStrerror(errno) -> string */
static napi_value tun_strerror(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  int32_t e;
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || svr_arg_i32(env, argv[0], "errno", &e)) {
    if (argc < 1) napi_throw_type_error(env, NULL, "tunStrerror needs (errno)");
    return NULL;
  }
  char buf[256];
  const char *m = strerror_r(e, buf, sizeof buf); /* GNU strerror_r (_GNU_SOURCE): returns the message */
  SVR_CHECK(env, napi_create_string_utf8(env, m, NAPI_AUTO_LENGTH, &result));
  return result;
}

/* tunBusyPoll(us): the busy-poll window of this thread's poll-mode queues (0: off). TypeScript validates. */
static napi_value tun_busy_poll(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint32_t us;
  tun_env *te;
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&te));
  if (argc < 1 || svr_arg_u32(env, argv[0], "microseconds", &us)) {
    if (argc < 1) napi_throw_type_error(env, NULL, "tunBusyPoll needs (microseconds)");
    return NULL;
  }
  te->busy_us = us;
  return NULL;
}

/* tunBusyPollStats() -> { windowUs, runs, packets, idleUs, capped } of this thread (running totals) */
static napi_value tun_busy_poll_stats(napi_env env, napi_callback_info info) {
  tun_env *te;
  napi_value o, v;
  SVR_CHECK(env, napi_get_cb_info(env, info, NULL, NULL, NULL, (void **)&te));
  SVR_CHECK(env, napi_create_object(env, &o));
  const struct { const char *k; double v; } f[] = {
      {"windowUs", te->busy_us}, {"runs", (double)te->busy_runs}, {"packets", (double)te->busy_packets},
      {"idleUs", (double)(te->busy_idle_ns / 1000u)}, {"capped", (double)te->busy_capped}};
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
    SVR_CHECK(env, napi_create_double(env, f[i].v, &v));
    SVR_CHECK(env, napi_set_named_property(env, o, f[i].k, v));
  }
  return o;
}

/* tunClose(fd) -> boolean (false when fd was not open here, e.g. a second close) */
static napi_value tun_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  tun_env *te;
  int32_t fd;
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&te));
  if (argc < 1 || svr_arg_i32(env, argv[0], "fd", &fd)) {
    if (argc < 1) napi_throw_type_error(env, NULL, "tunClose needs (fd)");
    return NULL;
  }
  for (reader *r = te->readers, *next; r; r = next) {
    next = r->next;
    if (r->fd == fd) reader_stop(r, 0);
  }
  svr_tun_writers_stop(te, fd);
  int owned = te_remove_fd(te, fd);
  if (owned) close(fd);
  SVR_CHECK(env, napi_get_boolean(env, owned, &result));
  return result;
}

/* Registered first, so it runs after every per-reader hook: close what is still open. */
static void tun_env_cleanup(void *arg) {
  tun_env *te = arg;
  while (te->readers) reader_stop(te->readers, 0);
  svr_tun_writers_stop(te, -1);
  for (size_t i = 0; i < te->nfds; i++) close(te->fds[i]);
  free(te->fds);
  free(te);
}

napi_status svr_tun_init(napi_env env, napi_value exports) {
  napi_status s;
  tun_env *te = calloc(1, sizeof *te);
  if (te == NULL) return napi_generic_failure;
  if ((s = napi_add_env_cleanup_hook(env, tun_env_cleanup, te)) != napi_ok) {
    free(te);
    return s;
  }
  if ((s = svr_export_fn(env, exports, "tunOpen", tun_open, te)) != napi_ok ||
      (s = svr_export_fn(env, exports, "tunSetOffload", tun_set_offload, te)) != napi_ok ||
      (s = svr_export_fn(env, exports, "tunReaderStart", tun_reader_start, te)) != napi_ok ||
      (s = svr_export_fn(env, exports, "tunReaderStop", tun_reader_stop, te)) != napi_ok ||
      (s = svr_export_fn(env, exports, "tunReaderRef", tun_reader_ref, te)) != napi_ok ||
      (s = svr_export_fn(env, exports, "tunReaderMode", tun_reader_mode, te)) != napi_ok ||
      (s = svr_export_fn(env, exports, "tunReaderGather", tun_reader_gather, te)) != napi_ok ||
      (s = svr_export_fn(env, exports, "tunReaderRxRing", tun_reader_rx_ring, te)) != napi_ok ||
      (s = svr_export_fn(env, exports, "tunGatherGapForTest", tun_gather_gap_for_test, te)) != napi_ok ||
      (s = svr_export_fn(env, exports, "tunReaderPass", tun_reader_pass, te)) != napi_ok ||
      (s = svr_export_fn(env, exports, "tunPassProbe", svr_tun_pass_probe, te)) != napi_ok ||
      (s = svr_export_fn(env, exports, "tunClose", tun_close, te)) != napi_ok ||
      (s = svr_export_fn(env, exports, "tunStrerror", tun_strerror, te)) != napi_ok ||
      (s = svr_export_fn(env, exports, "tunBusyPoll", tun_busy_poll, te)) != napi_ok ||
      (s = svr_export_fn(env, exports, "tunBusyPollStats", tun_busy_poll_stats, te)) != napi_ok ||
      (s = svr_export_u32(env, exports, "TUN_MULTI_QUEUE", SVR_TUN_MULTI_QUEUE)) != napi_ok ||
      (s = svr_export_u32(env, exports, "TUN_VNET_HDR", SVR_TUN_VNET_HDR)) != napi_ok ||
      (s = svr_export_u32(env, exports, "TUN_READER_OFFLOAD", SVR_READER_OFFLOAD)) != napi_ok ||
      (s = svr_export_u32(env, exports, "TUN_READER_POLL", SVR_READER_POLL)) != napi_ok ||
      (s = svr_export_u32(env, exports, "TUN_RX_RING_MAX_LEN", SVR_RX_RING_MAX_LEN)) != napi_ok ||
      (s = svr_tun_write_init(env, exports, te)) != napi_ok)
    return s;
  return napi_ok;
}
