/*
 * tun-uring.c: n TUN writes, or reads, in one system call (io_uring, raw syscalls). On this PVM guest a system
 * call's entry and exit cost more than a TUN write's own work: one writev per 1,440 B packet into a TUN that
 * forwards it took 3.1-3.6 µs of CPU, 32 linked writes per io_uring_enter 0.9-1.4 µs each (docs/tun-io.md,
 * "Batched system calls").
 *
 * Flow: fill n SQEs (IORING_OP_WRITEV or READ; IOSQE_IO_LINK on all but the last: they run in order, a failure
 * cancels the rest; RWF_NOWAIT: EAGAIN is returned as from writev/read, never waited for in the kernel) -> publish
 * the SQ tail -> io_uring_enter(n, 0): the kernel issues them inline -> read the CQEs; if some are not posted
 * yet, io_uring_enter(0, rest, GETEVENTS) waits for them.
 * Multishot reads (the reader thread, 6.7+): a DEFER_TASKRUN ring with a provided-buffer ring -> one SQE armed
 * (again after -ENOBUFS) -> each pass: io_uring_enter(armed?0:1, wait?1:0, GETEVENTS) runs the deferred reads ->
 * a CQE per packet names its buffer -> the caller cuts it and puts the buffer back (svr_uring_mshot_put).
 */
#include "tun-uring.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/fs.h>
#include <sys/syscall.h>
#include <unistd.h>

static int sys_setup(unsigned entries, struct io_uring_params *p) {
  return (int)syscall(__NR_io_uring_setup, entries, p);
}

static int sys_enter(int fd, unsigned submit, unsigned min_complete, unsigned flags) {
  return (int)syscall(__NR_io_uring_enter, fd, submit, min_complete, flags, NULL, 0);
}

static int sys_register(int fd, unsigned op, void *arg, unsigned n) {
  return (int)syscall(__NR_io_uring_register, fd, op, arg, n);
}

/* cq_entries 0: the kernel's default (twice the SQ's) */
static int init_ring(svr_uring *u, unsigned flags, unsigned cq_entries) {
  memset(u, 0, sizeof *u);
  u->fd = -1;
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  p.flags = flags | (cq_entries ? IORING_SETUP_CQSIZE : 0);
  p.cq_entries = cq_entries;
  int fd = sys_setup(SVR_URING_BATCH, &p);
  if (fd < 0) return errno;
  if (!(p.features & IORING_FEAT_SINGLE_MMAP)) { /* kernels before 5.4: not worth a second mapping */
    close(fd);
    return ENOSYS;
  }
  size_t sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  u->rings_len = sq_len > cq_len ? sq_len : cq_len;
  u->rings = mmap(NULL, u->rings_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
  if (u->rings == MAP_FAILED) {
    int e = errno;
    close(fd);
    return e;
  }
  u->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
  u->sqes = mmap(NULL, u->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
  if (u->sqes == MAP_FAILED) {
    int e = errno;
    munmap(u->rings, u->rings_len);
    close(fd);
    return e;
  }
  uint8_t *r = u->rings;
  u->sq_tail = (unsigned *)(r + p.sq_off.tail);
  u->sq_mask = (unsigned *)(r + p.sq_off.ring_mask);
  u->sq_array = (unsigned *)(r + p.sq_off.array);
  u->cq_head = (unsigned *)(r + p.cq_off.head);
  u->cq_tail = (unsigned *)(r + p.cq_off.tail);
  u->cq_mask = (unsigned *)(r + p.cq_off.ring_mask);
  u->cqes = (struct io_uring_cqe *)(r + p.cq_off.cqes);
  u->fd = fd;
  return 0;
}

int svr_uring_init(svr_uring *u) { return init_ring(u, 0, 0); }

void svr_uring_close(svr_uring *u) {
  if (u->fd < 0) return;
  munmap(u->sqes, u->sqes_len);
  munmap(u->rings, u->rings_len);
  close(u->fd); /* also drops the buffer ring's registration; the kernel never reads it again */
  if (u->pb.ring != NULL) munmap(u->pb.ring, u->pb.ring_len);
  u->pb.ring = NULL;
  u->fd = -1;
}

/* Moves the posted CQEs into res (by user_data); returns how many. */
static uint32_t reap(svr_uring *u, int32_t *res) {
  unsigned head = *u->cq_head, tail = __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE), got = 0;
  for (; head != tail; head++, got++) {
    const struct io_uring_cqe *c = &u->cqes[head & *u->cq_mask];
    if (c->user_data < SVR_URING_BATCH) res[c->user_data] = c->res;
  }
  __atomic_store_n(u->cq_head, head, __ATOMIC_RELEASE);
  return got;
}

/* Submits the n SQEs filled from the SQ tail on, waits for them; see svr_uring_writev. */
static int run(svr_uring *u, uint32_t n, int32_t *res) {
  unsigned tail = *u->sq_tail;
  __atomic_store_n(u->sq_tail, tail + n, __ATOMIC_RELEASE);
  int sub;
  do sub = sys_enter(u->fd, n, 0, 0);
  while (sub < 0 && errno == EINTR);
  if (sub < 0) {
    int e = errno;
    __atomic_store_n(u->sq_tail, tail, __ATOMIC_RELEASE); /* nothing was taken: take the SQEs back */
    return -e;
  }
  if ((uint32_t)sub < n) __atomic_store_n(u->sq_tail, tail + (unsigned)sub, __ATOMIC_RELEASE);
  for (uint32_t k = 0; k < n; k++) res[k] = -EIO; /* what the wait below cannot learn counts as failed */
  uint32_t got = reap(u, res);
  while (got < (uint32_t)sub) {
    if (sys_enter(u->fd, 0, (unsigned)sub - got, IORING_ENTER_GETEVENTS) < 0 && errno != EINTR) break;
    got += reap(u, res);
  }
  return sub;
}

/* SQE k from the SQ tail on, zeroed, with its tag (the caller publishes the tail). */
static struct io_uring_sqe *next_sqe(svr_uring *u, unsigned k, uint8_t op, int fd, uint64_t tag) {
  unsigned idx = (*u->sq_tail + k) & *u->sq_mask;
  struct io_uring_sqe *e = &u->sqes[idx];
  memset(e, 0, sizeof *e);
  e->opcode = op;
  e->fd = fd;
  e->user_data = tag;
  u->sq_array[idx] = idx;
  return e;
}

/* SQE k of a batch of n, linked or not (RWF_NOWAIT: EAGAIN is returned, as from write/read on the O_NONBLOCK fd, never a
 * wait in the kernel). */
static struct io_uring_sqe *sqe(svr_uring *u, uint32_t k, uint32_t n, uint8_t op, int fd, int link) {
  struct io_uring_sqe *e = next_sqe(u, k, op, fd, k);
  e->rw_flags = RWF_NOWAIT;
  e->flags = link && k + 1 < n ? IOSQE_IO_LINK : 0;
  return e;
}

int svr_uring_writev(svr_uring *u, int fd, struct iovec *const *iov, const uint32_t *niov, uint32_t n, int32_t *res) {
  for (uint32_t k = 0; k < n; k++) {
    struct io_uring_sqe *e = sqe(u, k, n, IORING_OP_WRITEV, fd, 1);
    e->addr = (uint64_t)(uintptr_t)iov[k];
    e->len = niov[k];
  }
  return run(u, n, res);
}

int svr_uring_read(svr_uring *u, int fd, uint8_t *base, uint32_t stride, uint32_t n, int32_t *res) {
  for (uint32_t k = 0; k < n; k++) {
    struct io_uring_sqe *e = sqe(u, k, n, IORING_OP_READ, fd, 0);
    e->addr = (uint64_t)(uintptr_t)(base + (size_t)k * stride);
    e->len = stride;
  }
  return run(u, n, res);
}

/* ---- multishot reads from a provided-buffer ring ---- */

#ifndef IORING_OP_READ_MULTISHOT
#define IORING_OP_READ_MULTISHOT 49 /* Linux 6.7 (older uapi headers lack it) */
#endif
#define MSHOT_GROUP 0
#define MSHOT_TAG 1 /* user_data of the multishot read */
#define WAKE_TAG 2  /* user_data of the multishot poll of wake_fd */

int svr_uring_mshot_init(svr_uring *u, uint8_t *bufs, uint32_t nbufs, uint32_t buf_size, int wake_fd) {
  if (nbufs == 0 || (nbufs & (nbufs - 1)) || nbufs > 32768) return EINVAL;
  /* a completion per buffer and one that ends the read fit the CQ: no overflow, which would end the read */
  int e = init_ring(u, IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, 2 * nbufs); /* EINVAL before 6.1 */
  if (e != 0) return e;
  size_t len = (size_t)nbufs * sizeof(struct io_uring_buf);
  long page = sysconf(_SC_PAGESIZE);
  len = (len + (size_t)page - 1) & ~((size_t)page - 1);
  void *br = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  if (br == MAP_FAILED) {
    e = errno;
    svr_uring_close(u);
    return e;
  }
  struct io_uring_buf_reg reg;
  memset(&reg, 0, sizeof reg);
  reg.ring_addr = (uint64_t)(uintptr_t)br;
  reg.ring_entries = nbufs;
  reg.bgid = MSHOT_GROUP;
  if (sys_register(u->fd, IORING_REGISTER_PBUF_RING, &reg, 1) < 0) { /* EINVAL before 5.19 */
    e = errno;
    munmap(br, len);
    svr_uring_close(u);
    return e;
  }
  u->pb = (svr_pbufs){.ring = br, .ring_len = len, .bufs = bufs, .n = nbufs, .size = buf_size};
  u->wake_fd = wake_fd;
  for (uint32_t b = 0; b < nbufs; b++) svr_uring_mshot_put(u, (uint16_t)b);
  return 0;
}

void svr_uring_mshot_put(svr_uring *u, uint16_t bid) {
  struct io_uring_buf *b = &u->pb.ring->bufs[u->pb.tail & (u->pb.n - 1)];
  b->addr = (uint64_t)(uintptr_t)(u->pb.bufs + (size_t)bid * u->pb.size);
  b->len = u->pb.size;
  b->bid = bid;
  __atomic_store_n(&u->pb.ring->tail, ++u->pb.tail, __ATOMIC_RELEASE);
}


int svr_uring_mshot_pass(svr_uring *u, int fd, svr_mshot_read *out, int wait) {
  unsigned submit = 0;
  if (!u->armed) { /* addr and len 0: each read takes a whole buffer of the group (io_read_mshot_prep) */
    struct io_uring_sqe *e = next_sqe(u, submit++, IORING_OP_READ_MULTISHOT, fd, MSHOT_TAG);
    e->flags = IOSQE_BUFFER_SELECT;
    e->buf_group = MSHOT_GROUP;
  }
  if (!u->wake_armed) {
    struct io_uring_sqe *e = next_sqe(u, submit++, IORING_OP_POLL_ADD, u->wake_fd, WAKE_TAG);
    e->poll32_events = POLLIN;
    e->len = IORING_POLL_ADD_MULTI;
  }
  if (submit) __atomic_store_n(u->sq_tail, *u->sq_tail + submit, __ATOMIC_RELEASE);
  int rc;
  /* runs the deferred task work (the reads), waiting for a completion first if asked. Again after EINTR: an SQE
   * already taken is not submitted twice. */
  do rc = sys_enter(u->fd, submit, wait ? 1 : 0, IORING_ENTER_GETEVENTS);
  while (rc < 0 && errno == EINTR);
  if (rc < 0) return -errno;
  if (submit) u->armed = u->wake_armed = 1;
  u->woken = 0;
  unsigned head = *u->cq_head, tail = __atomic_load_n(u->cq_tail, __ATOMIC_ACQUIRE);
  int got = 0;
  for (; head != tail; head++) {
    const struct io_uring_cqe *c = &u->cqes[head & *u->cq_mask];
    if (c->user_data == WAKE_TAG) {
      u->woken = 1;
      if (!(c->flags & IORING_CQE_F_MORE)) u->wake_armed = 0;
      continue;
    }
    if (c->user_data != MSHOT_TAG) continue;
    if (!(c->flags & IORING_CQE_F_MORE)) u->armed = 0;
    if (got > (int)u->pb.n) continue; /* cannot happen: one completion per buffer, and one that ends it */
    out[got].res = c->res;
    out[got++].bid = (c->flags & IORING_CQE_F_BUFFER) ? (uint16_t)(c->flags >> IORING_CQE_BUFFER_SHIFT) : 0;
  }
  __atomic_store_n(u->cq_head, head, __ATOMIC_RELEASE);
  return got;
}
