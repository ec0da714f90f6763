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
 */
#include "tun-uring.h"

#include <errno.h>
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

int svr_uring_init(svr_uring *u) {
  memset(u, 0, sizeof *u);
  u->fd = -1;
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
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

void svr_uring_close(svr_uring *u) {
  if (u->fd < 0) return;
  munmap(u->sqes, u->sqes_len);
  munmap(u->rings, u->rings_len);
  close(u->fd);
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

/* SQE k of a batch of n, linked or not (RWF_NOWAIT: EAGAIN is returned, as from write/read on the O_NONBLOCK fd, never a
 * wait in the kernel). */
static struct io_uring_sqe *sqe(svr_uring *u, uint32_t k, uint32_t n, uint8_t op, int fd, int link) {
  unsigned idx = (*u->sq_tail + k) & *u->sq_mask;
  struct io_uring_sqe *e = &u->sqes[idx];
  memset(e, 0, sizeof *e);
  e->opcode = op;
  e->fd = fd;
  e->rw_flags = RWF_NOWAIT;
  e->flags = link && k + 1 < n ? IOSQE_IO_LINK : 0;
  e->user_data = k;
  u->sq_array[idx] = idx;
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
