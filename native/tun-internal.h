/*
 * tun-internal.h: what native/tun.c (open, readers, close) and native/tun-write.c (writes, writer threads)
 * share: the per-env state and two small helpers. Not part of the addon's interface.
 */
#ifndef SVR_TUN_INTERNAL_H
#define SVR_TUN_INTERNAL_H

#include "svr_native.h"

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

/* Most packets one call hands over (batch size, writeBatch count for direct writes). */
#define MAX_BATCH 1024

typedef struct reader reader;
typedef struct writer writer;

typedef struct tun_env {
  int *fds; /* fds opened by tunOpen and not closed yet */
  size_t nfds, cap;
  reader *readers; /* started and not stopped */
  writer *writers; /* started and not stopped */
  /* busy polling (tun.c busy_poll), JS thread only */
  uint32_t busy_us; /* the window: 0 = off */
  int busy;         /* inside busy_poll (no nesting) */
  uint64_t busy_runs, busy_packets, busy_idle_ns, busy_capped;
} tun_env;

/* Empties the eventfd (non-blocking); EAGAIN means it was already empty. */
static inline void drain_efd(int efd) {
  uint64_t v;
  while (read(efd, &v, sizeof v) < 0 && errno == EINTR) {
  }
}

/* Adds tunWriteBatch, tunWriteBatchOffload, tunWriterStart/Push/Direct/Stop and TUN_WRITER_COALESCE. */
napi_status svr_tun_write_init(napi_env env, napi_value exports, tun_env *te);
/* Stops (flush, join) the writer threads of fd, or all of them when fd < 0. */
void svr_tun_writers_stop(tun_env *te, int fd);
/* A writer handle's writer (NULL after throwing); what tunWriterPush does, without N-API (w not stopped); the
 * writer's direct-write threshold, UINT32_MAX once it is stopped. For native/tun-pass.c. */
writer *svr_tun_writer_of(napi_env env, napi_value v);
uint32_t svr_tun_writer_push(writer *w, const uint8_t *buf, const uint32_t *off, const uint32_t *lens, uint32_t count,
                             uint32_t direct_max);
uint32_t svr_tun_writer_direct_max(const writer *w);

#endif
