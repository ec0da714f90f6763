/*
 * tun-write.c: writes to TUN queues for svrouter (Linux): the synchronous batch writes and the writer thread
 * per queue with its ring, fed by tunWriterPush (which writes small calls itself while the ring is empty).
 * native/tun.c opens and reads the queues; tun-internal.h is what both share.
 *
 * Flow
 *   tunWriteBatch(fd, data, offsets, lengths, count) -> written
 *                         one JS->C call, a write(2) per packet; EAGAIN/ENOBUFS are drops (not written,
 *                         not thrown). Other errors throw with a `written` property.
 *   tunWriteBatchOffload(fd, data, offsets, lengths, count, stats[, what]) -> written
 *                         for a vnet_hdr queue: consecutive TCP segments of one flow (what: SVR_COALESCE_TCP, the
 *                         default) and/or UDP datagrams of one 5-tuple (SVR_COALESCE_UDP) are merged into GSO
 *                         super-packets (native/offload.c), one writev(2) per super-packet or packet (with a
 *                         vnet header). `written` and the error properties count input packets; stats (a
 *                         Uint32Array of 2) gets [super-packets written, packets merged into them] for this call.
 *   tunWriterStart(fd, counters, slots, bytes, flags[, waitUs, directMax, rawGate]) -> handle
 *                         one writer thread per queue, fed through a preallocated single-producer/single-consumer
 *                         ring (slots packet descriptors, a byte ring of `bytes`; malloc'ed here, once):
 *                           JS thread (tunWriterPush): check bounds -> memcpy each packet into the byte ring ->
 *                             publish the new tail (one release store per call) -> write the eventfd only if the
 *                             writer said it is going to sleep (not per packet, not per call while it is busy).
 *                             A packet that does not fit (ring full) is dropped with the rest of the call and
 *                             counted (counters[W_RING_DROPS]); the JS thread never waits for the writer.
 *                           writer thread: while head != tail: plan up to 32 writes (flags SVR_WRITER_COALESCE /
 *                             SVR_WRITER_COALESCE_UDP: a run of TCP segments / UDP datagrams merged by
 *                             native/offload.c, over the published packets, else one packet each), hand them
 *                             to the kernel in one io_uring_enter (native/tun-uring.c, linked: in order; one
 *                             writev each when there is one, after EAGAIN, or without io_uring / with
 *                             SVR_TUN_URING=0), count them, release their ring space (head, rpos);
 *                             with SVR_WRITER_RAW (WAN queues) single IPv4 packets go first through a raw IP
 *                             socket, up to 64 per sendmmsg (native/wan-raw.c; direct writes too), those to a
 *                             next hop on an Ethernet link as frames (native/link-send.c);
 *                             when empty: announce sleeping, re-check tail, poll(eventfd).
 *                             EAGAIN: poll(fd POLLOUT, eventfd) then retry (no spinning, no drop); ENOBUFS: drop;
 *                             other errors (EIO link down, EINVAL not IP, EBADFD device gone): the packets of that
 *                             write are dropped, counted, the errno is kept in counters[W_LAST_ERRNO] and the
 *                             writer goes on with the next packet.
 *                         counters: a BigUint64Array(W_NCOUNTERS) on a SharedArrayBuffer; each entry has one writer
 *                         (the writer thread, or the JS thread for W_RING_DROPS/W_WAKEUPS) that stores it with
 *                         __atomic_store_n; JS reads them with Atomics.load.
 *   tunWriterPush(handle, data, offsets, lengths, count[, directMax]) -> packets taken (the others: ring full,
 *                         counted). A call of at most directMax packets (this call's 6th argument, else
 *                         tunWriterStart's 7th, default 0) that finds the ring empty is written right here, on the
 *                         JS thread (no wake-up of the writer thread; counted in W_DIRECT_*; two writes or more in
 *                         one io_uring_enter of the JS thread's own ring); what meets EAGAIN is queued as usual.
 *   tunWriterDirect(handle, directMax)  changes that threshold (0: always the ring).
 *   tunWriterStop(handle) stop flag + eventfd, join. The thread first writes what is queued (flush; bounded:
 *                         the fd is non-blocking and the ring is finite); only what still waits behind EAGAIN
 *                         when the stop arrives is discarded and counted in W_DROPS. Idempotent; also runs at env
 *                         teardown (worker exit, process exit) and from tunClose.
 *
 * Lifetimes: the writer struct belongs to its JS handle (external) and is freed by its finalizer after the thread was
 * joined; its ring is native memory, the only JS memory it touches is the counters array, held by a reference
 * until the finalizer, and its own env cleanup hook joins the thread before the env goes away.
 */
#include "tun-internal.h"
#include "offload.h"
#include "tun-gather.h"
#include "tun-uring.h"
#include "wan-raw.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <time.h>

/* Flags of tunWriterStart (what svr_coalesce_plan merges); the same values are in src/io/tun/native.ts. */
#define SVR_WRITER_COALESCE SVR_COALESCE_TCP
#define SVR_WRITER_COALESCE_UDP SVR_COALESCE_UDP
/* single IPv4 packets through a raw IP socket instead of the TUN fd (native/wan-raw.c; WAN queues) */
#define SVR_WRITER_RAW 4u
/* Ring limits of tunWriterStart. */
#define MIN_WRITER_SLOTS 16u
#define MAX_WRITER_SLOTS (1u << 20)
#define MIN_WRITER_BYTES 65536u
#define MAX_WRITER_BYTES (1u << 30)
/* The writer thread's gather window (tun-gather.h; SVR_TUN_WRITE_GATHER_US) and the most packets it lets gather. */
#define WRITE_GATHER_US 300u
#define WRITE_GATHER_MAX 256u

/* Writer counters (indices into the BigUint64Array); the same layout is in src/io/tun/native.ts. */
enum {
  W_TX_PACKETS,   /* packets written (writer thread) */
  W_DROPS,        /* packets dropped by the writer: ENOBUFS, write errors, discarded at stop (writer thread) */
  W_SUPER,        /* super-packets written (writer thread) */
  W_COALESCED,    /* packets merged into them (writer thread) */
  W_ERRORS,       /* writes that failed with an error other than EAGAIN/ENOBUFS (writer thread) */
  W_LAST_ERRNO,   /* errno of the last of them (writer thread) */
  W_WRITES,       /* write()/writev() calls that succeeded (writer thread) */
  W_WAITS,        /* times the writer waited for POLLOUT after EAGAIN (writer thread) */
  W_RING_DROPS,   /* packets tunWriterPush dropped because the ring was full (JS thread) */
  W_WAKEUPS,      /* eventfd writes by tunWriterPush (JS thread) */
  W_FULL_WAITS,   /* times tunWriterPush waited for ring space (JS thread) */
  /* direct writes: tunWriterPush wrote a small call itself because the ring was empty (JS thread) */
  W_DIRECT_TX,         /* packets written */
  W_DIRECT_DROPS,      /* packets dropped: ENOBUFS or a write error */
  W_DIRECT_WRITES,     /* write()/writev() calls that succeeded */
  W_DIRECT_ERRORS,     /* writes that failed with an error other than EAGAIN/ENOBUFS */
  W_DIRECT_LAST_ERRNO, /* errno of the last of them */
  W_DIRECT_SUPER,      /* super-packets written */
  W_DIRECT_COALESCED,  /* packets merged into them */
  W_RAW_TX,            /* packets sent through the raw socket (writer thread; included in W_TX_PACKETS) */
  W_DIRECT_RAW_TX,     /* the same, direct writes (JS thread; included in W_DIRECT_TX) */
  W_RING_TX,           /* of the raw sends, frames from the packet socket's TX ring (writer thread; link-send.c) */
  W_DIRECT_RING_TX,    /* the same, direct writes (JS thread) */
  W_NCOUNTERS = 22
};

/* What a writer counts: the writer thread (W_TX_PACKETS..) or tunWriterPush's direct writes (W_DIRECT_*). */
typedef struct wstats {
  uint64_t tx, drops, super, coalesced, errors, writes, waits, raw;
} wstats;


/* One planned write of the writer thread: a run merged behind a vnet header, or a packet alone. */
typedef struct wplan {
  uint8_t hdr[SVR_COALESCE_HDR_MAX];
  svr_span spans[SVR_COALESCE_MAX_SEGS + 1];
  struct iovec iov[SVR_COALESCE_MAX_SEGS + 1];
} wplan;

struct writer {
  writer *next;
  tun_env *te;
  napi_env env;
  int fd, efd;
  uint32_t coalesce; /* SVR_COALESCE_* flags, 0: every packet written alone */
  uint32_t nslots; /* a power of two */
  uint32_t nbytes;
  uint8_t *ring;   /* nbytes */
  uint32_t *off;   /* per slot: offset of the packet in ring */
  uint32_t *len;   /* per slot: its length */
  uint64_t *end;   /* per slot: the byte position (monotonic, wrap waste included) just after it */
  uint64_t *ctr;   /* W_NCOUNTERS, in a SharedArrayBuffer (ctr_ref keeps it alive) */
  napi_ref ctr_ref;
  pthread_t thread;

  _Atomic uint64_t tail;  /* packets published (JS thread stores, release) */
  _Atomic uint64_t head;  /* packets written or dropped (writer thread stores, release) */
  _Atomic uint64_t rpos;  /* bytes released by the writer thread (monotonic) */
  atomic_int sleeping;    /* the writer thread is about to wait on efd: the next push writes efd */
  atomic_int stop;
  atomic_int pwaiting;    /* tunWriterPush waits for ring space on space_efd: the writer writes it */
  int space_efd;
  uint32_t wait_us;       /* how long tunWriterPush may wait for space per call (0: drop at once) */
  uint32_t direct_max;    /* calls of at most this many packets are written by tunWriterPush when the ring is empty */
  svr_uring ur;           /* batched writes (tun-uring.c); ur.fd < 0: one writev per write */
  wplan *plans;           /* SVR_URING_BATCH planned writes (with ur) */
  uint32_t ur_plain;      /* writes left to do one writev each after a failed one (a down link fails them all) */
  svr_gather gather;      /* a bounded wait for more packets on a busy queue before the next pass (tun-gather.h) */
  int raw;                /* SVR_WRITER_RAW: the raw IP socket (wan-raw.c), else -1 */
  const int32_t *gate;    /* tunWriterStart's rawGate (a SharedArrayBuffer word, gate_ref keeps it): non-zero: no raw sends */
  napi_ref gate_ref;
  svr_raw_batch *rb;      /* the writer thread's sendmmsg messages */

  /* JS thread only */
  uint64_t wpos;          /* bytes used by the producer (monotonic) */
  uint64_t ring_drops, wakeups, full_waits;
  wstats direct;          /* W_DIRECT_* */
  svr_uring dur;          /* direct writes batched (set up at the first batch; dur.fd < 0: one writev each) */
  svr_raw_batch *drb;     /* direct raw sends' messages */
  wplan *dplans;          /* SVR_URING_BATCH planned direct writes (with dur) */
  int dur_tried;
  int stopped;
};

static inline void ctr_set(uint64_t *ctr, int i, uint64_t v) { __atomic_store_n(&ctr[i], v, __ATOMIC_RELAXED); }

/* The checks shared by the write functions (argv: data, offsets, lengths, count); returns 0 or throws and
 * returns -1. */
static int batch_args(napi_env env, napi_value *argv, const uint8_t **buf, const uint32_t **off,
                      const uint32_t **lens, uint32_t *count) {
  size_t data_len, noff, nlen;
  void *data, *offsets, *lengths;
  if (svr_arg_typed(env, argv[0], napi_uint8_array, "data", &data, &data_len) ||
      svr_arg_typed(env, argv[1], napi_uint32_array, "offsets", &offsets, &noff) ||
      svr_arg_typed(env, argv[2], napi_uint32_array, "lengths", &lengths, &nlen) ||
      svr_arg_u32(env, argv[3], "count", count))
    return -1;
  *buf = data;
  *off = offsets;
  *lens = lengths;
  if (*count > noff || *count > nlen) {
    napi_throw_range_error(env, NULL, "count exceeds offsets or lengths");
    return -1;
  }
  for (uint32_t i = 0; i < *count; i++) {
    if ((*off)[i] > data_len || (*lens)[i] > data_len - (*off)[i]) {
      napi_throw_range_error(env, NULL, "a packet lies outside data");
      return -1;
    }
  }
  return 0;
}

static int write_args(napi_env env, napi_value *argv, int32_t *fd, const uint8_t **buf, const uint32_t **off,
                      const uint32_t **lens, uint32_t *count) {
  if (svr_arg_i32(env, argv[0], "fd", fd)) return -1;
  return batch_args(env, argv + 1, buf, off, lens, count);
}

static void throw_write_error(napi_env env, int err, uint32_t written, uint32_t index) {
  napi_value error = svr_errno_error(env, err, "write"), n;
  if (error == NULL) return;
  if (napi_create_uint32(env, written, &n) == napi_ok) napi_set_named_property(env, error, "written", n);
  if (napi_create_uint32(env, index, &n) == napi_ok) napi_set_named_property(env, error, "index", n);
  napi_throw(env, error);
}

/* tunWriteBatch(fd, data, offsets, lengths, count) -> written */
static napi_value tun_write_batch(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], result;
  int32_t fd;
  uint32_t count;
  const uint8_t *buf;
  const uint32_t *off, *lens;

  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) {
    napi_throw_type_error(env, NULL, "tunWriteBatch needs (fd, data, offsets, lengths, count)");
    return NULL;
  }
  if (write_args(env, argv, &fd, &buf, &off, &lens, &count)) return NULL;
  uint32_t written = 0;
  for (uint32_t i = 0; i < count; i++) {
    ssize_t w;
    do w = write(fd, buf + off[i], lens[i]);
    while (w < 0 && errno == EINTR);
    if (w >= 0) {
      written++;
    } else if (errno != EAGAIN && errno != ENOBUFS) {
      throw_write_error(env, errno, written, i);
      return NULL;
    }
  }
  SVR_CHECK(env, napi_create_uint32(env, written, &result));
  return result;
}

/* tunWriteBatchOffload(fd, data, offsets, lengths, count, stats: Uint32Array(2)[, what]) -> written (input packets) */
static napi_value tun_write_batch_offload(napi_env env, napi_callback_info info) {
  size_t argc = 7, nstats;
  napi_value argv[7], result;
  int32_t fd;
  uint32_t count, what = SVR_COALESCE_TCP;
  const uint8_t *buf;
  const uint32_t *off, *lens;
  void *stats_p;

  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) {
    napi_throw_type_error(env, NULL, "tunWriteBatchOffload needs (fd, data, offsets, lengths, count, stats)");
    return NULL;
  }
  if (write_args(env, argv, &fd, &buf, &off, &lens, &count) ||
      svr_arg_typed(env, argv[5], napi_uint32_array, "stats", &stats_p, &nstats) ||
      (argc >= 7 && svr_arg_u32(env, argv[6], "what", &what)))
    return NULL;
  if (what & ~(SVR_COALESCE_TCP | SVR_COALESCE_UDP)) {
    napi_throw_range_error(env, NULL, "unknown tunWriteBatchOffload coalescing flags");
    return NULL;
  }
  if (nstats < 2) {
    napi_throw_range_error(env, NULL, "stats must have 2 entries");
    return NULL;
  }
  uint32_t *stats = stats_p;
  stats[0] = stats[1] = 0;
  uint8_t hdr[SVR_COALESCE_HDR_MAX];
  svr_span spans[SVR_COALESCE_MAX_SEGS + 1];
  struct iovec iov[SVR_COALESCE_MAX_SEGS + 1];
  uint32_t written = 0;
  for (uint32_t i = 0; i < count;) {
    uint32_t ns = 0;
    uint32_t covered = svr_coalesce_plan(buf, off, lens, i, count, what, hdr, spans, &ns);
    for (uint32_t k = 0; k < ns; k++) {
      iov[k].iov_base = (void *)spans[k].base;
      iov[k].iov_len = spans[k].len;
    }
    ssize_t w;
    do w = writev(fd, iov, (int)ns);
    while (w < 0 && errno == EINTR);
    if (w >= 0) {
      written += covered;
      if (covered > 1) {
        stats[0]++;
        stats[1] += covered;
      }
    } else if (errno != EAGAIN && errno != ENOBUFS) {
      throw_write_error(env, errno, written, i);
      return NULL;
    }
    i += covered;
  }
  SVR_CHECK(env, napi_create_uint32(env, written, &result));
  return result;
}

/* ---- writer thread ---- */

/* Stores what a writer counted: the writer thread's counters, or (direct) tunWriterPush's W_DIRECT_*. Each set
 * has one writing thread. */
static void wstats_publish(writer *w, const wstats *st, int direct) {
  ctr_set(w->ctr, direct ? W_DIRECT_TX : W_TX_PACKETS, st->tx);
  ctr_set(w->ctr, direct ? W_DIRECT_DROPS : W_DROPS, st->drops);
  ctr_set(w->ctr, direct ? W_DIRECT_SUPER : W_SUPER, st->super);
  ctr_set(w->ctr, direct ? W_DIRECT_COALESCED : W_COALESCED, st->coalesced);
  ctr_set(w->ctr, direct ? W_DIRECT_ERRORS : W_ERRORS, st->errors);
  ctr_set(w->ctr, direct ? W_DIRECT_WRITES : W_WRITES, st->writes);
  ctr_set(w->ctr, direct ? W_DIRECT_RAW_TX : W_RAW_TX, st->raw);
  const svr_raw_batch *b = direct ? w->drb : w->rb;
  if (b != NULL) ctr_set(w->ctr, direct ? W_DIRECT_RING_TX : W_RING_TX, b->link.ring_tx);
  if (!direct) ctr_set(w->ctr, W_WAITS, st->waits);
}

/* After EAGAIN: waits until fd is writable or the eventfd fires. Returns 0 to retry the write, 1 when stop was
 * requested, -1 with *err set when the fd reports an error (POLLERR/POLLHUP/POLLNVAL) or poll fails. */
static int wait_writable(writer *w, int fd, int *err) {
  struct pollfd pfd[2] = {{.fd = fd, .events = POLLOUT}, {.fd = w->efd, .events = POLLIN}};
  for (;;) {
    if (poll(pfd, 2, -1) < 0) {
      if (errno == EINTR) continue;
      *err = errno;
      return -1;
    }
    if (pfd[1].revents) {
      drain_efd(w->efd);
      if (atomic_load(&w->stop)) return 1;
    }
    if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
      *err = EIO;
      return -1;
    }
    if (pfd[0].revents & POLLOUT) return 0;
  }
}

/* Plans the write that starts at packet i of [i, stop) in data/off/len: with coalesce (SVR_COALESCE_* flags), a run
 * merged by native/offload.c behind a vnet header (hdr), else packet i alone. Fills iov[0..*ns); returns the
 * packets covered. */
static uint32_t plan_write(uint32_t coalesce, const uint8_t *data, const uint32_t *off, const uint32_t *len, uint32_t i,
                           uint32_t stop, uint8_t *hdr, svr_span *spans, struct iovec *iov, uint32_t *ns) {
  if (!coalesce) {
    iov[0].iov_base = (void *)(data + off[i]);
    iov[0].iov_len = len[i];
    *ns = 1;
    return 1;
  }
  uint32_t covered = svr_coalesce_plan(data, off, len, i, stop, coalesce, hdr, spans, ns);
  for (uint32_t k = 0; k < *ns; k++) {
    iov[k].iov_base = (void *)spans[k].base;
    iov[k].iov_len = spans[k].len;
  }
  return covered;
}

/* One successful write of `covered` packets. */
static void count_written(wstats *st, uint32_t covered) {
  st->tx += covered;
  st->writes++;
  if (covered > 1) {
    st->super++;
    st->coalesced += covered;
  }
}

/* After packets [.., i) of the slots were written or dropped: releases their ring space and publishes. */
static void release_slots(writer *w, uint32_t i, uint64_t head, const wstats *st) {
  atomic_store_explicit(&w->rpos, w->end[i - 1], memory_order_release);
  atomic_store(&w->head, head); /* seq_cst: Dekker with wait_space (pwaiting) */
  if (atomic_load(&w->pwaiting) && atomic_exchange(&w->pwaiting, 0)) {
    uint64_t one = 1;
    if (write(w->space_efd, &one, sizeof one) < 0) { /* cannot fail on an eventfd below its maximum */
    }
  }
  wstats_publish(w, st, 0);
}

/* A write of `covered` packets failed with e (not EAGAIN): dropped and counted. */
static void count_failed(writer *w, wstats *st, int e, uint32_t covered) {
  if (e != ENOBUFS) {
    st->errors++;
    ctr_set(w->ctr, W_LAST_ERRNO, (uint64_t)e);
  }
  st->drops += covered;
}

/*
 * Plans up to SVR_URING_BATCH writes of packets [i, stop) of data/off/len into `plans` and hands them to the kernel
 * in one io_uring_enter of u, linked (in order; a failure cancels the rest). Returns the writes submitted, with the
 * packets each covers (covered[k]) and its result (res[k]); 0 when there is a single write (the caller writes it)
 * or io_uring failed (then u is closed: one writev each from now on).
 */
static int uring_writes(svr_uring *u, wplan *plans, int fd, uint32_t coalesce, int raw, const uint8_t *data,
                        const uint32_t *off, const uint32_t *len, uint32_t i, uint32_t stop, uint32_t *covered,
                        int32_t *res) {
  struct iovec *iovs[SVR_URING_BATCH];
  uint32_t niov[SVR_URING_BATCH], m = 0;
  for (uint32_t j = i; m < SVR_URING_BATCH && j < stop; m++) {
    wplan *p = &plans[m];
    covered[m] = plan_write(coalesce, data, off, len, j, stop, p->hdr, p->spans, p->iov, &niov[m]);
    /* with raw sends, the batch ends before the next packet they take (the first write is the one they did not) */
    if (raw && m > 0 && covered[m] == 1 && svr_raw_eligible(data + off[j], len[j])) break;
    iovs[m] = p->iov;
    j += covered[m];
  }
  if (m < 2) return 0;
  int sub = svr_uring_writev(u, fd, iovs, niov, m, res);
  if (sub <= 0) {
    svr_uring_close(u);
    return 0;
  }
  return sub;
}

/* Raw sends for this batch: a raw socket, and the gate open (the egress shaper closes it on an interface it shapes:
 * its queues sit on the TUN's ingress, which raw sends pass by; src/node/egress-shaper.ts). */
static int raw_on(const writer *w) { return w->raw >= 0 && (w->gate == NULL || __atomic_load_n(w->gate, __ATOMIC_RELAXED) == 0); }

/*
 * With io_uring (w->ur): up to SVR_URING_BATCH writes from slot i on in one io_uring_enter (uring_writes). Returns
 * the packets done (written or dropped), 0 when the caller should write the next one itself (a single write,
 * EAGAIN, or io_uring failed: then it is turned off for this writer).
 */
static uint32_t write_slots_uring(writer *w, int raw, uint32_t i, uint32_t stop_at, wstats *st) {
  uint32_t covered[SVR_URING_BATCH];
  int32_t res[SVR_URING_BATCH];
  int sub = uring_writes(&w->ur, w->plans, w->fd, w->coalesce, raw, w->ring, w->off, w->len, i, stop_at, covered, res);
  uint32_t done = 0;
  for (uint32_t k = 0; k < (uint32_t)sub; k++) {
    if (res[k] == -ECANCELED || res[k] == -EAGAIN) break; /* not written: the caller goes on from here */
    done += covered[k];
    if (res[k] >= 0) {
      count_written(st, covered[k]);
      continue;
    }
    /* A failure cancels the rest of the batch: while writes keep failing (EIO on a down link), a batch per
     * packet would cost more than writev, so the next ones go one writev each. */
    count_failed(w, st, -res[k], covered[k]);
    w->ur_plain = 2 * SVR_URING_BATCH;
    break;
  }
  return done;
}

/* With a raw socket: the packets from i on (at most SVR_RAW_BATCH) that go out through it, eligible ones that
 * would be written alone (a run the coalesce plan merges stays one TUN write). */
static uint32_t raw_run(uint32_t coalesce, const uint8_t *data, const uint32_t *off, const uint32_t *len, uint32_t i,
                        uint32_t stop) {
  uint8_t hdr[SVR_COALESCE_HDR_MAX];
  svr_span spans[SVR_COALESCE_MAX_SEGS + 1];
  uint32_t j = i, ns;
  while (j < stop && j - i < SVR_RAW_BATCH && svr_raw_eligible(data + off[j], len[j]) &&
         (!coalesce || svr_coalesce_plan(data, off, len, j, stop, coalesce, hdr, spans, &ns) == 1))
    j++;
  return j - i;
}

/* Raw sends of packets [i, stop) while they qualify (raw_run); counted as written in st. Returns the packets sent;
 * *err as svr_raw_send (0 also when the next packet does not qualify): on any error but EAGAIN the next packet
 * takes the TUN write, where the kernel answers for it as before (an ICMP error, fragments). */
static uint32_t raw_sends(int fd, svr_raw_batch *b, uint32_t coalesce, const uint8_t *data, const uint32_t *off,
                          const uint32_t *len, uint32_t i, uint32_t stop, int in_place, wstats *st, int *err) {
  uint32_t n = raw_run(coalesce, data, off, len, i, stop);
  *err = 0;
  if (n == 0) return 0;
  uint32_t sent = svr_raw_send(fd, b, data, off, len, i, n, in_place, err);
  st->tx += sent;
  st->raw += sent;
  return sent;
}

/* Writes the packets of slots [i, i + n) (contiguous in the slot arrays), a batch of writes per io_uring_enter
 * when it is set up, else one writev at a time, releasing ring space after each. *head is the absolute packet
 * count done. Returns 1 when stop came during an EAGAIN wait. */
static int write_slots(writer *w, uint32_t i, uint32_t n, uint64_t *head, wstats *st) {
  uint8_t hdr[SVR_COALESCE_HDR_MAX];
  svr_span spans[SVR_COALESCE_MAX_SEGS + 1];
  struct iovec iov[SVR_COALESCE_MAX_SEGS + 1];
  uint32_t stop_at = i + n;
  int tun_next = 0; /* the raw send of packet i failed: it takes the TUN write */
  const int raw = raw_on(w);
  while (i < stop_at) {
    if (raw && !tun_next) {
      int err;
      uint32_t sent = raw_sends(w->raw, w->rb, w->coalesce, w->ring, w->off, w->len, i, stop_at, 1, st, &err);
      if (sent > 0) {
        i += sent;
        *head += sent;
        release_slots(w, i, *head, st);
      }
      if (err == EAGAIN) {
        st->waits++;
        int werr = 0, wr = wait_writable(w, w->rb->busy_fd, &werr);
        if (wr == 1) return 1;
        if (wr < 0) tun_next = 1;
        continue;
      }
      if (err != 0) tun_next = 1;
      else if (sent > 0) continue;
    }
    uint32_t done = w->ur.fd >= 0 && w->ur_plain == 0 ? write_slots_uring(w, raw, i, stop_at, st) : 0;
    tun_next = 0;
    if (w->ur_plain > 0) w->ur_plain--;
    if (done > 0) {
      i += done;
      *head += done;
      release_slots(w, i, *head, st);
      continue;
    }
    uint32_t ns;
    uint32_t covered = plan_write(w->coalesce, w->ring, w->off, w->len, i, stop_at, hdr, spans, iov, &ns);
    for (;;) {
      ssize_t r = writev(w->fd, iov, (int)ns);
      if (r >= 0) {
        count_written(st, covered);
        break;
      }
      int e = errno;
      if (e == EINTR) continue;
      if (e == EAGAIN) {
        st->waits++;
        int werr = 0, wr = wait_writable(w, w->fd, &werr);
        if (wr == 0) continue;
        if (wr == 1) return 1; /* the caller discards what is left */
        e = werr;
      }
      count_failed(w, st, e, covered);
      break;
    }
    i += covered;
    *head += covered;
    release_slots(w, i, *head, st);
  }
  return 0;
}

static void *writer_main(void *arg) {
  writer *w = arg;
  pthread_setname_np(pthread_self(), "svr-tun-write"); /* as the reader threads (tun.c) */
  svr_gather_thread(&w->gather);
  wstats st = {0};
  uint64_t head = 0, pass_from = 0; /* pass_from: head when the current pass began */
  for (;;) {
    uint64_t tail = atomic_load_explicit(&w->tail, memory_order_acquire);
    if (head == tail) {
      if (atomic_load(&w->stop)) break; /* flushed */
      if (head != pass_from) { /* a pass ended: on a busy queue, let more gather before sleeping (not announced) */
        svr_gather_pass(&w->gather, (uint32_t)(head - pass_from < UINT32_MAX ? head - pass_from : UINT32_MAX));
        pass_from = head;
        if (svr_gather_wait(&w->gather)) continue;
      }
      /* Dekker with tunWriterPush: it stores tail then reads sleeping; we store sleeping then read tail (both
       * seq_cst), so either it sees sleeping and writes efd, or we see its tail. */
      atomic_store(&w->sleeping, 1);
      if (atomic_load(&w->tail) == head && !atomic_load(&w->stop)) {
        struct pollfd pfd = {.fd = w->efd, .events = POLLIN};
        if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
          /* cannot happen with one valid fd; record it rather than spin */
          ctr_set(w->ctr, W_LAST_ERRNO, (uint64_t)errno);
          break;
        }
        drain_efd(w->efd);
      }
      atomic_store(&w->sleeping, 0);
      continue;
    }
    uint32_t i = (uint32_t)(head & (w->nslots - 1));
    uint64_t avail = tail - head;
    uint32_t n = avail < (uint64_t)(w->nslots - i) ? (uint32_t)avail : w->nslots - i;
    if (write_slots(w, i, n, &head, &st)) {
      /* stop while the fd said EAGAIN: discard what is queued (JS pushes nothing after stop) */
      tail = atomic_load_explicit(&w->tail, memory_order_acquire);
      st.drops += tail - head;
      head = tail;
      atomic_store(&w->head, head);
      wstats_publish(w, &st, 0);
      break;
    }
  }
  return NULL;
}

/* ---- JS side of the writer ---- */

static void writer_cleanup_hook(void *arg);

static void writer_stop(writer *w, int from_hook) {
  if (w->stopped) return;
  w->stopped = 1;
  atomic_store(&w->stop, 1);
  uint64_t one = 1;
  if (write(w->efd, &one, sizeof one) < 0) { /* cannot fail on an eventfd below its maximum */
  }
  pthread_join(w->thread, NULL);
  close(w->efd);
  w->efd = -1;
  close(w->space_efd);
  w->space_efd = -1;
  /* The ring is not needed any more (tunWriterPush refuses a stopped writer): give it back now, not at GC. */
  svr_uring_close(&w->ur);
  free(w->plans);
  w->plans = NULL;
  free(w->ring);
  free(w->off);
  free(w->len);
  free(w->end);
  w->ring = NULL;
  w->off = w->len = NULL;
  w->end = NULL;
  for (writer **p = &w->te->writers; *p; p = &(*p)->next) {
    if (*p == w) {
      *p = w->next;
      break;
    }
  }
  if (!from_hook) {
    napi_remove_env_cleanup_hook(w->env, writer_cleanup_hook, w);
    napi_delete_reference(w->env, w->ctr_ref);
    w->ctr_ref = NULL;
    if (w->gate_ref) napi_delete_reference(w->env, w->gate_ref);
    w->gate_ref = NULL;
  }
}

static void writer_cleanup_hook(void *arg) { writer_stop(arg, 1); }

static void writer_free(writer *w) {
  if (w->raw >= 0) close(w->raw);
  if (w->rb != NULL) svr_link_close(&w->rb->link);
  if (w->drb != NULL) svr_link_close(&w->drb->link);
  free(w->rb);
  free(w->drb);
  svr_uring_close(&w->ur);
  svr_uring_close(&w->dur);
  free(w->plans);
  free(w->dplans);
  free(w->ring);
  free(w->off);
  free(w->len);
  free(w->end);
  free(w);
}

static void writer_handle_finalize(napi_env env, void *data, void *hint) {
  writer *w = data;
  writer_stop(w, 0);
  if (w->ctr_ref) napi_delete_reference(env, w->ctr_ref);
  if (w->gate_ref) napi_delete_reference(env, w->gate_ref);
  writer_free(w);
}

static writer *get_writer(napi_env env, napi_value v) {
  napi_valuetype t;
  void *p = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &p) != napi_ok ||
      p == NULL) {
    napi_throw_type_error(env, NULL, "handle must be a TUN writer handle");
    return NULL;
  }
  return p;
}

/* tunWriterStart(fd, counters: BigUint64Array(22) on a SharedArrayBuffer, slots, bytes, flags[, waitUs, directMax,
 * rawGate: Int32Array on a SharedArrayBuffer: while its first word is non-zero, no raw sends]) -> handle */
static napi_value tun_writer_start(napi_env env, napi_callback_info info) {
  size_t argc = 8, nctr, ngate = 0;
  napi_value argv[8], handle;
  napi_valuetype gate_type = napi_undefined;
  void *gate = NULL;
  tun_env *te;
  int32_t fd;
  uint32_t slots, bytes, wflags, wait_us = 0, direct_max = 0;
  void *ctr;

  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, (void **)&te));
  if (argc < 5) {
    napi_throw_type_error(env, NULL, "tunWriterStart needs (fd, counters, slots, bytes, flags)");
    return NULL;
  }
  if (svr_arg_i32(env, argv[0], "fd", &fd) || svr_arg_typed(env, argv[1], napi_biguint64_array, "counters", &ctr, &nctr) ||
      svr_arg_u32(env, argv[2], "slots", &slots) || svr_arg_u32(env, argv[3], "bytes", &bytes) ||
      svr_arg_u32(env, argv[4], "flags", &wflags) || (argc >= 6 && svr_arg_u32(env, argv[5], "waitUs", &wait_us)) ||
      (argc >= 7 && svr_arg_u32(env, argv[6], "directMax", &direct_max)) ||
      (argc >= 8 && napi_typeof(env, argv[7], &gate_type) != napi_ok) ||
      (gate_type != napi_undefined && svr_arg_typed(env, argv[7], napi_int32_array, "rawGate", &gate, &ngate)))
    return NULL;
  if (gate_type != napi_undefined && ngate < 1) {
    napi_throw_range_error(env, NULL, "rawGate must have at least 1 entry");
    return NULL;
  }
  if (direct_max > MAX_BATCH) {
    napi_throw_range_error(env, NULL, "directMax must be at most 1024");
    return NULL;
  }
  if (wait_us > 1000000) {
    napi_throw_range_error(env, NULL, "waitUs must be at most 1000000");
    return NULL;
  }
  if (nctr < W_NCOUNTERS) {
    napi_throw_range_error(env, NULL, "counters must have 20 entries");
    return NULL;
  }
  if (wflags & ~(SVR_WRITER_COALESCE | SVR_WRITER_COALESCE_UDP | SVR_WRITER_RAW)) {
    napi_throw_range_error(env, NULL, "unknown tunWriterStart flags");
    return NULL;
  }
  if (slots < MIN_WRITER_SLOTS || slots > MAX_WRITER_SLOTS || (slots & (slots - 1)) != 0 || bytes < MIN_WRITER_BYTES ||
      bytes > MAX_WRITER_BYTES) {
    napi_throw_range_error(env, NULL, "slots must be a power of two in 16..1048576, bytes 65536..1073741824");
    return NULL;
  }

  writer *w = calloc(1, sizeof *w);
  if (w == NULL) {
    svr_throw_errno(env, ENOMEM, "calloc");
    return NULL;
  }
  w->ur.fd = -1;
  w->dur.fd = -1;
  w->raw = -1;
  w->gate = gate;
  w->te = te;
  w->env = env;
  w->fd = fd;
  w->efd = -1;
  w->space_efd = -1;
  w->wait_us = wait_us;
  w->direct_max = direct_max;
  svr_gather_init(&w->gather, "SVR_TUN_WRITE_GATHER_US", WRITE_GATHER_US, 2 * WRITE_GATHER_MAX);
  w->coalesce = wflags & (SVR_WRITER_COALESCE | SVR_WRITER_COALESCE_UDP);
  w->nslots = slots;
  w->nbytes = bytes;
  w->ctr = ctr;
  w->ring = malloc(bytes);
  w->off = malloc((size_t)slots * sizeof *w->off);
  w->len = malloc((size_t)slots * sizeof *w->len);
  w->end = malloc((size_t)slots * sizeof *w->end);
  if (w->ring == NULL || w->off == NULL || w->len == NULL || w->end == NULL) {
    writer_free(w);
    svr_throw_errno(env, ENOMEM, "malloc");
    return NULL;
  }
  for (int i = 0; i < W_NCOUNTERS; i++) ctr_set(w->ctr, i, 0);
  /* Raw sends when asked for and possible (CAP_NET_RAW); else every packet through the TUN fd, as without it. */
  if (wflags & SVR_WRITER_RAW) {
    w->rb = malloc(sizeof *w->rb);
    w->drb = malloc(sizeof *w->drb);
    if (w->rb != NULL) svr_link_open(&w->rb->link);
    if (w->drb != NULL) svr_link_open(&w->drb->link);
    if (w->rb != NULL && w->drb != NULL) w->raw = svr_raw_open();
  }
  /* Batched writes unless SVR_TUN_URING=0; without io_uring (old kernel, seccomp, io_uring_disabled) one writev
   * per write as before. */
  const char *ue = getenv("SVR_TUN_URING");
  if ((ue == NULL || strcmp(ue, "0") != 0) && svr_uring_init(&w->ur) == 0) {
    w->plans = malloc(SVR_URING_BATCH * sizeof *w->plans);
    if (w->plans == NULL) svr_uring_close(&w->ur);
  }
  w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  w->space_efd = w->efd < 0 ? -1 : eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (w->efd < 0 || w->space_efd < 0) {
    int e = errno;
    if (w->efd >= 0) close(w->efd);
    writer_free(w);
    svr_throw_errno(env, e, "eventfd");
    return NULL;
  }
  if (napi_create_reference(env, argv[1], 1, &w->ctr_ref) != napi_ok ||
      (gate != NULL && napi_create_reference(env, argv[7], 1, &w->gate_ref) != napi_ok)) {
    svr_throw_last_status(env, "tunWriterStart");
    if (w->ctr_ref) napi_delete_reference(env, w->ctr_ref);
    close(w->efd);
    close(w->space_efd);
    writer_free(w);
    return NULL;
  }

  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int e = pthread_create(&w->thread, NULL, writer_main, w);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (e != 0) {
    napi_delete_reference(env, w->ctr_ref);
    if (w->gate_ref) napi_delete_reference(env, w->gate_ref);
    close(w->efd);
    close(w->space_efd);
    writer_free(w);
    svr_throw_errno(env, e, "pthread_create");
    return NULL;
  }
  w->next = te->writers;
  te->writers = w;
  napi_add_env_cleanup_hook(env, writer_cleanup_hook, w);
  if (napi_create_external(env, w, writer_handle_finalize, NULL, &handle) != napi_ok) {
    svr_throw_last_status(env, "tunWriterStart");
    writer_stop(w, 0); /* also deletes ctr_ref */
    writer_free(w);
    return NULL;
  }
  return handle;
}

/* JS thread: makes slots < tail visible to the writer thread and wakes it if it sleeps. */
static void publish(writer *w, uint64_t tail) {
  atomic_store(&w->tail, tail); /* seq_cst: see writer_main */
  if (atomic_load(&w->sleeping) && atomic_exchange(&w->sleeping, 0)) {
    uint64_t one = 1;
    if (write(w->efd, &one, sizeof one) < 0) { /* cannot fail on an eventfd below its maximum */
    }
    ctr_set(w->ctr, W_WAKEUPS, ++w->wakeups);
  }
}

/*
 * JS thread, ring full: with wait_us > 0, publishes what this call queued so far, then waits (ppoll on
 * space_efd, which the writer thread writes after a write when pwaiting is set) until the writer released
 * something or the call's deadline (first wait + wait_us) passed. Returns 1 to re-check, 0 to drop the rest.
 */
static int wait_space(writer *w, uint64_t tail, struct timespec *deadline) {
  struct timespec now;
  if (w->wait_us == 0 || w->stopped) return 0;
  if (clock_gettime(CLOCK_MONOTONIC, &now) != 0) return 0;
  if (deadline->tv_sec == 0 && deadline->tv_nsec == 0) {
    int64_t ns = (int64_t)now.tv_nsec + (int64_t)w->wait_us * 1000;
    deadline->tv_sec = now.tv_sec + (time_t)(ns / 1000000000);
    deadline->tv_nsec = (long)(ns % 1000000000);
  }
  int64_t left = ((int64_t)deadline->tv_sec - now.tv_sec) * 1000000000 + (deadline->tv_nsec - now.tv_nsec);
  if (left <= 0) return 0;
  publish(w, tail);
  uint64_t head0 = atomic_load(&w->head);
  atomic_store(&w->pwaiting, 1); /* then re-check head: the writer stores head, then reads pwaiting */
  if (atomic_load(&w->head) == head0) {
    struct timespec ts = {.tv_sec = (time_t)(left / 1000000000), .tv_nsec = (long)(left % 1000000000)};
    struct pollfd pfd = {.fd = w->space_efd, .events = POLLIN};
    w->full_waits++;
    ctr_set(w->ctr, W_FULL_WAITS, w->full_waits);
    if (ppoll(&pfd, 1, &ts, NULL) < 0 && errno != EINTR) {
      atomic_store(&w->pwaiting, 0);
      return 0;
    }
  }
  atomic_store(&w->pwaiting, 0);
  drain_efd(w->space_efd);
  return 1;
}

/* A direct write of `covered` packets failed with e (not EAGAIN): dropped and counted. */
static void count_failed_direct(writer *w, wstats *st, int e, uint32_t covered) {
  if (e != ENOBUFS) {
    st->errors++;
    ctr_set(w->ctr, W_DIRECT_LAST_ERRNO, (uint64_t)e);
  }
  st->drops += covered;
}

/* The JS thread's own io_uring for direct writes (not the writer thread's: a ring has one submitter), set up at
 * the first call that has two writes or more; SVR_TUN_URING=0 or no io_uring: none (one writev each). */
static int direct_uring(writer *w) {
  if (!w->dur_tried) {
    w->dur_tried = 1;
    const char *ue = getenv("SVR_TUN_URING");
    if ((ue == NULL || strcmp(ue, "0") != 0) && svr_uring_init(&w->dur) == 0) {
      w->dplans = malloc(SVR_URING_BATCH * sizeof *w->dplans);
      if (w->dplans == NULL) svr_uring_close(&w->dur);
    }
  }
  return w->dur.fd >= 0;
}

/* Direct writes of packets [i, count), up to SVR_URING_BATCH writes in one io_uring_enter of the JS thread's ring
 * (uring_writes). Returns the packets done (written or dropped); 0 when the caller should write the next one
 * itself (a single write, EAGAIN first, or io_uring failed: then it is off for this writer). */
static uint32_t write_direct_uring(writer *w, int raw, const uint8_t *buf, const uint32_t *off, const uint32_t *lens, uint32_t i,
                                   uint32_t count, wstats *st) {
  uint32_t covered[SVR_URING_BATCH];
  int32_t res[SVR_URING_BATCH];
  int sub = uring_writes(&w->dur, w->dplans, w->fd, w->coalesce, raw, buf, off, lens, i, count, covered, res);
  uint32_t done = 0;
  for (uint32_t k = 0; k < (uint32_t)sub; k++) {
    if (res[k] == -ECANCELED || res[k] == -EAGAIN) break; /* not written: the caller goes on from here */
    done += covered[k];
    if (res[k] < 0) {
      count_failed_direct(w, st, -res[k], covered[k]);
      break;
    }
    count_written(st, covered[k]);
  }
  return done;
}

/*
 * JS thread, ring empty (nothing queued or in flight, so order is kept): writes packets [0, count) of a small
 * call here instead of waking the writer thread. At low rates that saves a thread wake-up per batch (a
 * cross-CPU wake costs tens of µs on these VMs: docs/performance.md). Two writes or more go to the kernel in one
 * io_uring_enter (a hub's control packets of one tick or one received batch: docs/tun-io.md). Stops at EAGAIN and
 * returns the packets done (written or dropped); the caller queues the rest, and the writer thread waits for POLLOUT.
 */
static uint32_t write_direct(writer *w, const uint8_t *buf, const uint32_t *off, const uint32_t *lens, uint32_t count) {
  uint8_t hdr[SVR_COALESCE_HDR_MAX];
  svr_span spans[SVR_COALESCE_MAX_SEGS + 1];
  struct iovec iov[SVR_COALESCE_MAX_SEGS + 1];
  wstats *st = &w->direct;
  uint32_t i = 0;
  int tun_next = 0; /* as in write_slots */
  const int raw = raw_on(w);
  while (i < count) {
    if (raw && !tun_next) {
      int err;
      uint32_t sent = raw_sends(w->raw, w->drb, w->coalesce, buf, off, lens, i, count, 0, st, &err);
      i += sent;
      if (err == EAGAIN) break; /* the rest is queued: the writer thread waits for room */
      if (err != 0) tun_next = 1;
      else if (sent > 0) continue;
    }
    uint32_t done = count - i > 1 && direct_uring(w) ? write_direct_uring(w, raw, buf, off, lens, i, count, st) : 0;
    tun_next = 0;
    if (done > 0) {
      i += done;
      continue;
    }
    uint32_t ns;
    uint32_t covered = plan_write(w->coalesce, buf, off, lens, i, count, hdr, spans, iov, &ns);
    ssize_t r;
    do {
      r = writev(w->fd, iov, (int)ns);
    } while (r < 0 && errno == EINTR);
    if (r < 0 && errno == EAGAIN) break;
    if (r >= 0) count_written(st, covered);
    else count_failed_direct(w, st, errno, covered);
    i += covered;
  }
  wstats_publish(w, st, 1);
  return i;
}

/* The packets `w` takes of a batch (written here when it is at most direct_max and the ring is empty, queued, or
 * dropped by a direct write and counted); the others: ring full, counted in W_RING_DROPS. w is not stopped. Also
 * native/tun-pass.c's way out (tun-internal.h). */
uint32_t svr_tun_writer_push(writer *w, const uint8_t *buf, const uint32_t *off, const uint32_t *lens, uint32_t count,
                             uint32_t direct_max) {
  uint64_t tail = atomic_load_explicit(&w->tail, memory_order_relaxed); /* only this thread stores it */
  uint64_t head = atomic_load_explicit(&w->head, memory_order_acquire);
  uint32_t queued = 0, i = 0, direct = 0;
  if (count > 0 && count <= direct_max && head == tail) direct = i = write_direct(w, buf, off, lens, count);
  uint64_t rpos = atomic_load_explicit(&w->rpos, memory_order_acquire);
  uint64_t wpos = w->wpos;
  int refreshed = 0;
  struct timespec deadline = {0, 0};
  while (i < count) {
    uint32_t len = lens[i];
    /* Bigger than half the ring: it might never fit at the current position even in an empty ring (the wrap
     * waste plus len can exceed the ring). Up to half, an empty ring always takes it. Drop this one alone. */
    if (len > w->nbytes / 2) {
      w->ring_drops++;
      i++;
      continue;
    }
    uint32_t pos = (uint32_t)(wpos % w->nbytes);
    uint32_t waste = len > w->nbytes - pos ? w->nbytes - pos : 0;
    if (tail - head >= w->nslots || wpos + waste + len - rpos > w->nbytes) {
      if (refreshed && !wait_space(w, tail, &deadline)) break; /* full: the rest of this call is dropped */
      refreshed = 1;
      head = atomic_load_explicit(&w->head, memory_order_acquire);
      rpos = atomic_load_explicit(&w->rpos, memory_order_acquire);
      continue;
    }
    wpos += waste;
    pos = waste ? 0 : pos;
    if (i + 1 < count && pos + len + lens[i + 1] <= w->nbytes) /* the next packet's ring lines, owned before it is copied */
      for (uint32_t o = 0; o < lens[i + 1]; o += 64) __builtin_prefetch(w->ring + pos + len + o, 1);
    memcpy(w->ring + pos, buf + off[i], len);
    uint32_t slot = (uint32_t)(tail & (w->nslots - 1));
    w->off[slot] = pos;
    w->len[slot] = len;
    wpos += len;
    w->end[slot] = wpos;
    tail++;
    queued++;
    i++;
  }
  w->wpos = wpos;
  if (i < count) w->ring_drops += count - i;
  ctr_set(w->ctr, W_RING_DROPS, w->ring_drops);
  if (queued > 0) publish(w, tail);
  return direct + queued;
}

uint32_t svr_tun_writer_direct_max(const writer *w) { return w->stopped ? UINT32_MAX : w->direct_max; }

writer *svr_tun_writer_of(napi_env env, napi_value v) { return get_writer(env, v); }

/* tunWriterPush(handle, data, offsets, lengths, count[, directMax]) -> packets taken (svr_tun_writer_push). directMax:
 * this call's threshold for a direct write instead of tunWriterStart's / tunWriterDirect's (a router's own control
 * packets: tun-device.ts). */
static napi_value tun_writer_push(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6], result;
  uint32_t count;
  const uint8_t *buf;
  const uint32_t *off, *lens;

  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) {
    napi_throw_type_error(env, NULL, "tunWriterPush needs (handle, data, offsets, lengths, count)");
    return NULL;
  }
  writer *w = get_writer(env, argv[0]);
  if (w == NULL || batch_args(env, argv + 1, &buf, &off, &lens, &count)) return NULL;
  uint32_t direct_max = w->direct_max;
  if (argc >= 6 && svr_arg_u32(env, argv[5], "directMax", &direct_max)) return NULL;
  if (w->stopped) {
    svr_throw_errno(env, EBADF, "write");
    return NULL;
  }
  SVR_CHECK(env, napi_create_uint32(env, svr_tun_writer_push(w, buf, off, lens, count, direct_max), &result));
  return result;
}

/* tunWriterDirect(handle, directMax): changes tunWriterStart's directMax (0: every packet goes through the ring). */
static napi_value tun_writer_direct(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  uint32_t max;
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  writer *w = argc >= 2 ? get_writer(env, argv[0]) : NULL;
  if (w == NULL || svr_arg_u32(env, argv[1], "directMax", &max)) return NULL;
  if (max > MAX_BATCH) {
    napi_throw_range_error(env, NULL, "directMax must be at most 1024");
    return NULL;
  }
  w->direct_max = max;
  return NULL;
}

/* tunWriterStop(handle): flushes what is queued, joins the thread. Idempotent. */
static napi_value tun_writer_stop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  writer *w = argc >= 1 ? get_writer(env, argv[0]) : NULL;
  if (w == NULL) return NULL;
  writer_stop(w, 0);
  return NULL;
}

void svr_tun_writers_stop(tun_env *te, int fd) {
  for (writer *w = te->writers, *next; w; w = next) {
    next = w->next;
    if (fd < 0 || w->fd == fd) writer_stop(w, 0);
  }
}

napi_status svr_tun_write_init(napi_env env, napi_value exports, tun_env *te) {
  napi_status s;
  if ((s = svr_export_fn(env, exports, "tunWriteBatch", tun_write_batch, te)) != napi_ok ||
      (s = svr_export_fn(env, exports, "tunWriteBatchOffload", tun_write_batch_offload, te)) != napi_ok ||
      (s = svr_export_fn(env, exports, "tunWriterStart", tun_writer_start, te)) != napi_ok ||
      (s = svr_export_fn(env, exports, "tunWriterPush", tun_writer_push, te)) != napi_ok ||
      (s = svr_export_fn(env, exports, "tunWriterStop", tun_writer_stop, te)) != napi_ok ||
      (s = svr_export_fn(env, exports, "tunWriterDirect", tun_writer_direct, te)) != napi_ok ||
      (s = svr_export_u32(env, exports, "TUN_WRITER_COALESCE", SVR_WRITER_COALESCE)) != napi_ok ||
      (s = svr_export_u32(env, exports, "TUN_WRITER_COALESCE_UDP", SVR_WRITER_COALESCE_UDP)) != napi_ok ||
      (s = svr_export_u32(env, exports, "TUN_WRITER_RAW", SVR_WRITER_RAW)) != napi_ok)
    return s;
  return napi_ok;
}
