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

/* A provided-buffer ring: buffer b is bufs[b * size, (b + 1) * size); ring NULL when not set up. */
typedef struct svr_pbufs {
  struct io_uring_buf_ring *ring;
  size_t ring_len;
  uint8_t *bufs;
  uint32_t n, size;
  uint16_t tail; /* the tail this side has written (published with a release store) */
} svr_pbufs;

typedef struct svr_uring {
  int fd; /* -1: not set up */
  void *rings;
  size_t rings_len;
  struct io_uring_sqe *sqes;
  size_t sqes_len;
  unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
  struct io_uring_cqe *cqes;
  svr_pbufs pb;     /* multishot reads (svr_uring_mshot_init): the provided buffers */
  int armed;        /* a multishot read is armed (its last CQE had IORING_CQE_F_MORE) */
  int wake_fd;      /* polled (multishot POLL_ADD) so that a write to it ends a waiting pass */
  int wake_armed;
  int woken;        /* the last pass saw wake_fd readable */
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

/*
 * Multishot reads (Linux 6.7+): one IORING_OP_READ_MULTISHOT with IOSQE_BUFFER_SELECT yields a completion per
 * packet into the provided buffers, without the per-read preparation of svr_uring_read and without EAGAIN reads.
 * The ring is set up with IORING_SETUP_DEFER_TASKRUN | SINGLE_ISSUER: the kernel reads the queue only inside this
 * thread's io_uring_enter (so nothing is taken from the fd while the thread is parked and another thread reads
 * it), and only the thread that calls this may use the ring. nbufs (a power of 2) buffers of
 * buf_size bytes at bufs, all handed to the kernel; wake_fd (an eventfd) ends a pass that waits. Returns 0, or an
 * errno (EINVAL, ENOSYS: the kernel refuses; u is then not set up).
 */
int svr_uring_mshot_init(svr_uring *u, uint8_t *bufs, uint32_t nbufs, uint32_t buf_size, int wake_fd);

/* One completed multishot read: res bytes in buffer bid, or res < 0 (an error; bid unset). */
typedef struct svr_mshot_read {
  int32_t res;
  uint16_t bid;
} svr_mshot_read;

/*
 * Arms the multishot read on fd if it is not armed, then lets the kernel read what the fd holds (until EAGAIN or
 * no free buffer: -ENOBUFS ends the multishot, the next pass arms it again); with `wait`, first waits in the same
 * io_uring_enter until there is something (a packet, an error, or wake_fd readable: u->woken; no poll() call).
 * Writes the completions in order to out (room for nbufs + 1) and returns how many, or -errno when
 * io_uring_enter failed.
 */
int svr_uring_mshot_pass(svr_uring *u, int fd, svr_mshot_read *out, int wait);

/* Gives buffer bid back to the kernel (after its bytes were used). */
void svr_uring_mshot_put(svr_uring *u, uint16_t bid);

#endif
