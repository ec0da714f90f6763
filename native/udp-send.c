/*
 * udp-send.c: the IPFIX exporter's UDP socket (src/telemetry/ipfix/udp-send.ts): a flush's messages in one
 * sendmmsg(2) instead of one libuv send per message (a system call, a request object and a callback each; dgram
 * sends were 8 % of the records thread, docs/performance.md "Visibility: what a session record costs").
 *   udpOpen(family 4|6, address, port) -> handle: a non-blocking socket connected to the collector (closed by
 *     udpClose or when the handle is collected)
 *   udpSendMany(handle, messages: Uint8Array[], count, status: Int32Array(count + 1)) -> messages tried: in order,
 *     status[i] 0 (sent) or the errno of message i (it is not sent; the next ones are tried; -1: refused by an error
 *     sendmmsg consumed without returning it, an ICMP unreachable for an earlier message); fewer than count when
 *     the socket's buffer is full (EAGAIN: the rest are left for the caller to retry); status[count] the error the
 *     socket reported meanwhile (an ICMP unreachable for an earlier message: SO_ERROR), 0 none
 *   udpPendingError(handle) -> that error (SO_ERROR, which clears it), 0 none
 *   udpClose(handle)
 */
#include "svr_native.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <poll.h>
#include <unistd.h>

/* status of a message refused by an error the kernel consumed (udp-send.ts UDP_ERROR_CONSUMED) */
#define SVR_UDP_ERROR_CONSUMED -1
/* messages per sendmmsg call (a flush of a burst at MTU 1500 is some 8-40) */
#define BATCH 64

typedef struct {
  int fd;
} udp_sock;

static const char *const BAD = "the first argument must be a handle from udpOpen";

static void finalize(napi_env env, void *data, void *hint) {
  udp_sock *s = data;
  if (s->fd >= 0) close(s->fd);
  free(s);
}

static napi_value udp_open(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint32_t family = 0, port = 0;
  char addr[64];
  size_t alen = 0;
  if (argc < 3 || svr_arg_u32(env, argv[0], "family", &family) != 0 || svr_arg_u32(env, argv[2], "port", &port) != 0) return NULL;
  if (napi_get_value_string_utf8(env, argv[1], addr, sizeof addr, &alen) != napi_ok || (family != 4 && family != 6) || port == 0 || port > 65535) {
    napi_throw_type_error(env, NULL, "udpOpen(family 4|6, address, port 1..65535)");
    return NULL;
  }
  struct sockaddr_storage sa;
  socklen_t salen;
  memset(&sa, 0, sizeof sa);
  if (family == 4) {
    struct sockaddr_in *a = (struct sockaddr_in *)&sa;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    salen = sizeof *a;
    if (inet_pton(AF_INET, addr, &a->sin_addr) != 1) salen = 0;
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&sa;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    salen = sizeof *a;
    if (inet_pton(AF_INET6, addr, &a->sin6_addr) != 1) salen = 0;
  }
  if (salen == 0) {
    napi_throw_type_error(env, NULL, "udpOpen: the address is not an IP address of that family");
    return NULL;
  }
  int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    svr_throw_errno(env, errno, "socket");
    return NULL;
  }
  if (connect(fd, (struct sockaddr *)&sa, salen) != 0) {
    int e = errno;
    close(fd);
    svr_throw_errno(env, e, "connect");
    return NULL;
  }
  udp_sock *s = malloc(sizeof *s);
  napi_value ext;
  if (s == NULL) {
    close(fd);
    svr_throw_errno(env, ENOMEM, "malloc");
    return NULL;
  }
  s->fd = fd;
  if (napi_create_external(env, s, finalize, NULL, &ext) != napi_ok) {
    finalize(env, s, NULL);
    svr_throw_last_status(env, "napi_create_external");
    return NULL;
  }
  return ext;
}

static int pending_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 ? err : errno;
}

static napi_value udp_send_many(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  udp_sock *s = svr_arg_handle(env, info, &argc, argv, NULL, BAD);
  if (s == NULL) return NULL;
  uint32_t count = 0, given = 0;
  bool is_array = false;
  int32_t *status = NULL;
  size_t slen = 0;
  if (argc < 4 || napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[1], &given) != napi_ok) {
    napi_throw_type_error(env, NULL, "udpSendMany(handle, messages: Uint8Array[], count, status: Int32Array)");
    return NULL;
  }
  if (svr_arg_u32(env, argv[2], "count", &count) != 0 || svr_arg_typed(env, argv[3], napi_int32_array, "status", (void **)&status, &slen) != 0) return NULL;
  if (count > given || slen < (size_t)count + 1) {
    napi_throw_range_error(env, NULL, "udpSendMany: count is more than the messages, or status is shorter than count + 1");
    return NULL;
  }
  if (s->fd < 0) {
    svr_throw_errno(env, EBADF, "udpSendMany");
    return NULL;
  }
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  uint32_t done = 0;
  while (done < count) {
    uint32_t n = count - done < BATCH ? count - done : BATCH;
    memset(msgs, 0, n * sizeof msgs[0]);
    for (uint32_t i = 0; i < n; i++) {
      napi_value m;
      napi_typedarray_type ty;
      size_t len = 0;
      void *data = NULL;
      if (napi_get_element(env, argv[1], done + i, &m) != napi_ok ||
          napi_get_typedarray_info(env, m, &ty, &len, &data, NULL, NULL) != napi_ok || ty != napi_uint8_array) {
        napi_throw_type_error(env, NULL, "udpSendMany: every message must be a Uint8Array");
        return NULL;
      }
      iov[i].iov_base = data;
      iov[i].iov_len = len;
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int r = sendmmsg(s->fd, msgs, n, MSG_DONTWAIT);
    if (r > 0) {
      for (int i = 0; i < r; i++) status[done + i] = 0;
      done += (uint32_t)r;
      /* Stopped early: the buffer is full (EAGAIN), or message `done` met an error (an ICMP unreachable for an earlier
       * one) that sendmmsg consumed and did not return (it returns an error only when nothing was sent). Writable:
       * the error; that message is not sent (as one send per message would have failed it). */
      struct pollfd p = {.fd = s->fd, .events = POLLOUT};
      if ((uint32_t)r < n && poll(&p, 1, 0) == 1 && (p.revents & POLLOUT)) {
        int e = pending_error(s->fd);
        status[done++] = e != 0 ? e : SVR_UDP_ERROR_CONSUMED;
      }
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      break;
    } else {
      status[done++] = errno; /* this message failed: the next ones are tried */
    }
  }
  status[count] = pending_error(s->fd);
  napi_value out;
  SVR_CHECK(env, napi_create_uint32(env, done, &out));
  return out;
}

/* The one argument of udpPendingError and udpClose: the socket (NULL after throwing). */
static udp_sock *only_handle(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  return svr_arg_handle(env, info, &argc, argv, NULL, BAD);
}

static napi_value udp_pending_error(napi_env env, napi_callback_info info) {
  udp_sock *s = only_handle(env, info);
  napi_value out = NULL;
  if (s != NULL && napi_create_int32(env, s->fd < 0 ? 0 : pending_error(s->fd), &out) != napi_ok) svr_throw_last_status(env, "udpPendingError");
  return out;
}

static napi_value udp_close(napi_env env, napi_callback_info info) {
  udp_sock *s = only_handle(env, info);
  if (s != NULL && s->fd >= 0) close(s->fd);
  if (s != NULL) s->fd = -1;
  return NULL;
}

napi_status svr_udp_send_init(napi_env env, napi_value exports) {
  napi_status st;
  if ((st = svr_export_fn(env, exports, "udpOpen", udp_open, NULL)) != napi_ok) return st;
  if ((st = svr_export_fn(env, exports, "udpSendMany", udp_send_many, NULL)) != napi_ok) return st;
  if ((st = svr_export_fn(env, exports, "udpPendingError", udp_pending_error, NULL)) != napi_ok) return st;
  return svr_export_fn(env, exports, "udpClose", udp_close, NULL);
}
