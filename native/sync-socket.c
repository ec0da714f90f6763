/*
 * sync-socket.c: the UDP socket of a router pair's sync link (src/ha/sync-socket.ts). Node's dgram gives every
 * received datagram a new Buffer: on the standby, one of up to 32 KB per state batch, external memory that V8 counts
 * toward its next collection (ha21's profile of the standby: GC 34 %). Here the datagrams are read with recvmmsg(2)
 * into slots of one ring the caller allocated once, and handed to JS as (slot, length) in one call per read.
 *   syncOpen(family 4|6, address, port, partnerAddress, partnerPort, ring: Uint8Array, slotBytes, lens: Int32Array,
 *     onRead(count)) -> handle: a non-blocking socket bound to address:port, watched by the event loop's uv_poll. On
 *     each wake-up: recvmmsg into slots 0..count-1 of `ring` (slotBytes each, at most ring.length / slotBytes and
 *     lens.length), lens[i] the length of datagram i, LEN_NOT_PARTNER (-1) when it came from another address or port
 *     than the partner's, LEN_TRUNCATED (-2) when it was longer than a slot; then onRead(count). The slots are
 *     reused by the next read: onRead uses them before it returns. At most READS_PER_WAKE reads a wake-up.
 *   syncSend(handle, data: Uint8Array) -> 0 or the errno of sendto(2) to the partner (EAGAIN: the buffer is full)
 *   syncClose(handle): stops reading and closes the socket (also when the handle is collected or the env ends)
 */
#include "svr_native.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <uv.h>

#define LEN_NOT_PARTNER -1
#define LEN_TRUNCATED -2
/* slots a read fills at most (a window of the pair's 32,000-byte datagrams is 5; of 1,400-byte ones 128) */
#define MAX_SLOTS 128
/* reads per wake-up before the event loop runs its timers (heartbeats) again */
#define READS_PER_WAKE 8
/* SO_RCVBUF/SO_SNDBUF asked for: a window's burst (sync-link.ts SOCKET_BUFFER; the kernel caps it at [rw]mem_max) */
#define SOCKET_BUFFER (4 << 20)

typedef struct sync_sock sync_sock;

/* The uv_poll watcher; freed by its close callback. */
typedef struct {
  uv_poll_t h;
  sync_sock *s; /* NULL once closing */
  napi_async_cleanup_hook_handle hook;
} sync_poll;

struct sync_sock {
  int fd;
  napi_env env;
  napi_ref ring_ref, lens_ref, cb_ref;
  napi_async_context actx;
  uint8_t *ring;
  int32_t *lens;
  uint32_t slot, slots;
  struct sockaddr_storage partner;
  socklen_t partner_len;
  sync_poll *poll;
};

static const char *const BAD = "the first argument must be a handle from syncOpen";

static int parse_addr(uint32_t family, const char *addr, uint32_t port, struct sockaddr_storage *sa, socklen_t *len) {
  memset(sa, 0, sizeof *sa);
  if (family == 4) {
    struct sockaddr_in *a = (struct sockaddr_in *)sa;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    *len = sizeof *a;
    return inet_pton(AF_INET, addr, &a->sin_addr) == 1 ? 0 : -1;
  }
  struct sockaddr_in6 *a = (struct sockaddr_in6 *)sa;
  a->sin6_family = AF_INET6;
  a->sin6_port = htons((uint16_t)port);
  *len = sizeof *a;
  return inet_pton(AF_INET6, addr, &a->sin6_addr) == 1 ? 0 : -1;
}

static int from_partner(const sync_sock *s, const struct sockaddr_storage *from) {
  if (from->ss_family != s->partner.ss_family) return 0;
  if (from->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)from, *p = (const struct sockaddr_in *)&s->partner;
    return a->sin_port == p->sin_port && a->sin_addr.s_addr == p->sin_addr.s_addr;
  }
  const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)from, *p = (const struct sockaddr_in6 *)&s->partner;
  return a->sin6_port == p->sin6_port && memcmp(&a->sin6_addr, &p->sin6_addr, sizeof a->sin6_addr) == 0;
}

static void poll_closed(uv_handle_t *h) {
  sync_poll *p = (sync_poll *)h;
  napi_remove_async_cleanup_hook(p->hook);
  free(p);
}

/* Stops the watcher and closes the socket (the env may be ending: no napi calls). */
static void sock_stop(sync_sock *s) {
  if (s->poll != NULL) {
    s->poll->s = NULL;
    uv_close((uv_handle_t *)&s->poll->h, poll_closed);
    s->poll = NULL;
  }
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
}

/* env teardown (a worker exiting) while the socket was open */
static void poll_async_cleanup(napi_async_cleanup_hook_handle hook, void *arg) {
  sync_poll *p = arg;
  if (p->s != NULL) sock_stop(p->s);
}

static void release_refs(napi_env env, sync_sock *s) {
  svr_unref(env, &s->ring_ref);
  svr_unref(env, &s->lens_ref);
  svr_unref(env, &s->cb_ref);
  if (s->actx != NULL) napi_async_destroy(env, s->actx);
  s->actx = NULL;
}

static void finalize(napi_env env, void *data, void *hint) {
  sync_sock *s = data;
  sock_stop(s);
  release_refs(env, s);
  free(s);
}

/* onRead(count) from the libuv callback: a handle scope, and a callback scope so that nextTicks and microtasks run
 * afterwards (as after a dgram 'message'). */
static void deliver(sync_sock *s, uint32_t count) {
  napi_env env = s->env;
  napi_handle_scope hs;
  napi_value cb, recv, arg, exc;
  if (napi_open_handle_scope(env, &hs) != napi_ok) return;
  if (napi_get_reference_value(env, s->cb_ref, &cb) == napi_ok && cb != NULL && napi_get_global(env, &recv) == napi_ok &&
      napi_create_uint32(env, count, &arg) == napi_ok &&
      napi_make_callback(env, s->actx, recv, cb, 1, &arg, NULL) == napi_pending_exception &&
      napi_get_and_clear_last_exception(env, &exc) == napi_ok)
    napi_fatal_exception(env, exc);
  napi_close_handle_scope(env, hs);
}

static void on_readable(uv_poll_t *h, int status, int events) {
  sync_sock *s = ((sync_poll *)h)->s;
  struct mmsghdr msgs[MAX_SLOTS];
  struct iovec iov[MAX_SLOTS];
  struct sockaddr_storage from[MAX_SLOTS];
  for (int round = 0; round < READS_PER_WAKE && s != NULL && s->fd >= 0; round++) {
    uint32_t n = s->slots;
    memset(msgs, 0, n * sizeof msgs[0]);
    for (uint32_t i = 0; i < n; i++) {
      iov[i].iov_base = s->ring + (size_t)i * s->slot;
      iov[i].iov_len = s->slot;
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
    }
    int r = recvmmsg(s->fd, msgs, n, MSG_DONTWAIT, NULL);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return; /* EAGAIN: drained (an error of an unconnected UDP socket is not the partner's datagram) */
    for (int i = 0; i < r; i++)
      s->lens[i] = !from_partner(s, &from[i]) ? LEN_NOT_PARTNER
                   : (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) ? LEN_TRUNCATED
                                                             : (int32_t)msgs[i].msg_len;
    deliver(s, (uint32_t)r);
    s = ((sync_poll *)h)->s; /* onRead may have closed it */
    if ((uint32_t)r < n) return;
  }
}

static napi_value sync_open(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t family = 0, port = 0, pport = 0, slot = 0;
  char addr[64], paddr[64];
  size_t alen = 0, ringlen = 0, lenslen = 0;
  uint8_t *ring = NULL;
  int32_t *lens = NULL;
  napi_valuetype cbt;
  if (argc < 9 || svr_arg_u32(env, argv[0], "family", &family) != 0 || svr_arg_u32(env, argv[2], "port", &port) != 0 ||
      svr_arg_u32(env, argv[4], "partnerPort", &pport) != 0 || svr_arg_u32(env, argv[6], "slotBytes", &slot) != 0 ||
      svr_arg_typed(env, argv[5], napi_uint8_array, "ring", (void **)&ring, &ringlen) != 0 ||
      svr_arg_typed(env, argv[7], napi_int32_array, "lens", (void **)&lens, &lenslen) != 0)
    return NULL;
  struct sockaddr_storage local;
  socklen_t local_len = 0;
  sync_sock *s = calloc(1, sizeof *s);
  if (s == NULL) {
    svr_throw_errno(env, ENOMEM, "calloc");
    return NULL;
  }
  s->fd = -1;
  if (napi_get_value_string_utf8(env, argv[1], addr, sizeof addr, &alen) != napi_ok ||
      napi_get_value_string_utf8(env, argv[3], paddr, sizeof paddr, &alen) != napi_ok || (family != 4 && family != 6) ||
      port > 65535 || pport == 0 || pport > 65535 || slot == 0 || ringlen / slot == 0 || napi_typeof(env, argv[8], &cbt) != napi_ok ||
      cbt != napi_function || parse_addr(family, addr, port, &local, &local_len) != 0 ||
      parse_addr(family, paddr, pport, &s->partner, &s->partner_len) != 0) {
    free(s);
    napi_throw_type_error(env, NULL, "syncOpen(family 4|6, address, port, partnerAddress, partnerPort 1..65535, ring: Uint8Array, slotBytes, lens: Int32Array, onRead)");
    return NULL;
  }
  s->env = env;
  s->ring = ring;
  s->lens = lens;
  s->slot = slot;
  s->slots = (uint32_t)(ringlen / slot);
  if (s->slots > lenslen) s->slots = (uint32_t)lenslen;
  if (s->slots > MAX_SLOTS) s->slots = MAX_SLOTS;
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int size = SOCKET_BUFFER, e = 0;
  const char *call = "socket";
  if (fd >= 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    call = "bind";
    if (bind(fd, (struct sockaddr *)&local, local_len) != 0) e = errno;
  } else {
    e = errno;
  }
  if (e != 0) {
    if (fd >= 0) close(fd);
    free(s);
    svr_throw_errno(env, e, call);
    return NULL;
  }
  s->fd = fd;
  napi_value name, resource, ext;
  uv_loop_t *loop = NULL;
  sync_poll *p = calloc(1, sizeof *p);
  if (p == NULL || napi_get_uv_event_loop(env, (struct uv_loop_s **)&loop) != napi_ok || uv_poll_init(loop, &p->h, fd) != 0) {
    free(p);
    close(fd);
    free(s);
    svr_throw_errno(env, ENOMEM, "uv_poll_init");
    return NULL;
  }
  p->s = s;
  s->poll = p;
  if (napi_add_async_cleanup_hook(env, poll_async_cleanup, p, &p->hook) != napi_ok) {
    s->poll = NULL;
    uv_close((uv_handle_t *)&p->h, (uv_close_cb)free);
    close(fd);
    free(s);
    svr_throw_last_status(env, "napi_add_async_cleanup_hook");
    return NULL;
  }
  if (napi_create_reference(env, argv[5], 1, &s->ring_ref) != napi_ok || napi_create_reference(env, argv[7], 1, &s->lens_ref) != napi_ok ||
      napi_create_reference(env, argv[8], 1, &s->cb_ref) != napi_ok ||
      napi_create_string_utf8(env, "svr.syncSocket", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_object(env, &resource) != napi_ok || napi_async_init(env, resource, name, &s->actx) != napi_ok ||
      napi_create_external(env, s, finalize, NULL, &ext) != napi_ok) {
    svr_throw_last_status(env, "syncOpen");
    finalize(env, s, NULL);
    return NULL;
  }
  int rc = uv_poll_start(&p->h, UV_READABLE, on_readable);
  if (rc != 0) {
    sock_stop(s); /* the external's finalizer frees it */
    svr_throw_errno(env, -rc, "uv_poll_start");
    return NULL;
  }
  return ext;
}

static napi_value sync_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  sync_sock *s = svr_arg_handle(env, info, &argc, argv, NULL, BAD);
  uint8_t *data = NULL;
  size_t len = 0;
  if (s == NULL || argc < 2 || svr_arg_typed(env, argv[1], napi_uint8_array, "data", (void **)&data, &len) != 0) return NULL;
  int e = EBADF;
  if (s->fd >= 0) {
    ssize_t r;
    do r = sendto(s->fd, data, len, MSG_DONTWAIT, (struct sockaddr *)&s->partner, s->partner_len);
    while (r < 0 && errno == EINTR);
    e = r < 0 ? errno : 0;
  }
  napi_value out;
  SVR_CHECK(env, napi_create_int32(env, e, &out));
  return out;
}

static napi_value sync_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  sync_sock *s = svr_arg_handle(env, info, &argc, argv, NULL, BAD);
  if (s == NULL) return NULL;
  sock_stop(s);
  release_refs(env, s);
  return NULL;
}

napi_status svr_sync_socket_init(napi_env env, napi_value exports) {
  napi_status st;
  if ((st = svr_export_fn(env, exports, "syncOpen", sync_open, NULL)) != napi_ok) return st;
  if ((st = svr_export_fn(env, exports, "syncSend", sync_send, NULL)) != napi_ok) return st;
  return svr_export_fn(env, exports, "syncClose", sync_close, NULL);
}
