/*
 * tun-uring.h: a minimal io_uring (raw system calls, no liburing) for the TUN writer and reader threads: n
 * writes (or reads) handed to the kernel in one io_uring_enter instead of n system calls. Not part of the addon's interface.
 */
#ifndef SVR_TUN_URING_H
#define SVR_TUN_URING_H

#include <linux/io_uring.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Most writes per io_uring_enter. */
#define SVR_URING_BATCH 32

typedef struct svr_uring {
  int fd; /* -1: not set up */
  void *rings;
  size_t rings_len;
  struct io_uring_sqe *sqes;
  size_t sqes_len;
  unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
  struct io_uring_cqe *cqes;
} svr_uring;

/* Sets up a ring for SVR_URING_BATCH writes. Returns 0, or an errno (ENOSYS, EPERM where io_uring is off). */
int svr_uring_init(svr_uring *u);
void svr_uring_close(svr_uring *u);

/*
 * Writes iov[k][0..niov[k]) to fd for k < n (n <= SVR_URING_BATCH), linked so that they run in this order and a
 * failed one cancels the rest (res -ECANCELED, not written). Waits for all. res[k]: bytes written or -errno
 * (-EIO when the wait for its completion failed). Returns the number submitted (the first ones, normally n), or
 * -errno when io_uring_enter took none.
 */
int svr_uring_writev(svr_uring *u, int fd, struct iovec *const *iov, const uint32_t *niov, uint32_t n, int32_t *res);

/* n reads of up to `stride` bytes into base + k * stride, not linked (a link would post the reads after the first
 * through task work, often one more io_uring_enter): the kernel issues them one after the other, so the ones that
 * got a packet (res >= 0; the others -EAGAIN) hold the queue's packets in the order of k. */
int svr_uring_read(svr_uring *u, int fd, uint8_t *base, uint32_t stride, uint32_t n, int32_t *res);

#endif
