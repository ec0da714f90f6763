/*
 * udp-send.c: the IPFIX exporter's UDP socket (src/telemetry/ipfix/udp-send.ts): a flush's messages in one
 * sendmmsg(2) instead of one libuv send per message (a system call, a request object and a callback each; dgram
 * sends were 8 % of the records thread, docs/performance.md "Visibility: what a session record costs").
 *   udpOpen(family 4|6, address, port) -> handle: a non-blocking socket connected to the collector (closed by
 *     udpClose or when the handle is collected)
 *   udpSendMany(handle, messages: Uint8Array[], count, status: Int32Array(count + 1), segment = 0) -> messages tried: in
 *     order, status[i] 0 (sent) or the errno of message i (it is not sent; the next ones are tried; -1: refused by an
 *     error sendmmsg consumed without returning it, an ICMP unreachable for an earlier message); fewer than count when
 *     the socket's buffer is full (EAGAIN: the rest are left for the caller to retry); status[count] the error the
 *     socket reported meanwhile (an ICMP unreachable for an earlier message: SO_ERROR), 0 none.
 *     segment > 0 (status of count + 3): UDP GSO (UDP_SEGMENT, Linux 4.18): a run of messages of exactly `segment`
 *     bytes and the one after it (shorter or not) go as one sendmmsg entry, one datagram each cut from it after the
 *     socket (a burst at MTU 1500 is one pass through the socket, IP and UDP layers, not 30); a run's messages share
 *     its status. status[count + 1]: the messages sent so; status[count + 2]: the errno with which the socket refused
 *     GSO in this call (EIO: no checksum offload on the way out, or IPsec; EINVAL: a segment over the route's MTU;
 *     ENOPROTOOPT: an older kernel), 0 none: that run and every later send of the socket go one entry per message.
 *   udpPendingError(handle) -> that error (SO_ERROR, which clears it), 0 none
 *   udpPathMtu(handle) -> the connected route's path MTU (IP_MTU / IPV6_MTU, ip(7), ipv6(7)), or -errno
 *   UDP_GSO_MAX_BYTES: a GSO entry's bytes at most (the exporter pads runs only when two messages fit one)
 *   udpClose(handle)
 */
#include "svr_native.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <poll.h>
#include <unistd.h>

/* status of a message refused by an error the kernel consumed (udp-send.ts UDP_ERROR_CONSUMED) */
#define SVR_UDP_ERROR_CONSUMED -1
/* sendmmsg entries per call (a flush of a burst at MTU 1500 is some 8-40 messages, 1 or 2 entries with GSO) */
#define BATCH 64
/* messages per call to sendmmsg at most (an entry's iovecs) */
#define MAX_IOV 256
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
/* datagrams per GSO entry at most (the kernel's UDP_MAX_SEGMENTS, 64 before Linux 6.11) */
#define GSO_MAX_SEGMENTS 64
/* a GSO entry's bytes at most: an IPv4 packet's 16-bit total length less the IPv4 and UDP headers */
#define GSO_MAX_BYTES (65535 - 20 - 8)

/* a GSO entry's control message (UDP_SEGMENT), aligned as a cmsghdr */
typedef union {
  char buf[CMSG_SPACE(sizeof(uint16_t))];
  struct cmsghdr align;
} gso_ctl;

typedef struct {
  int fd;
  int family; /* 4 or 6 */
  bool gso;   /* UDP GSO not refused yet */
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
  s->family = (int)family;
  s->gso = true;
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

/* errnos with which a GSO send is refused where one datagram per entry would go (udp_send_skb, udp_setsockopt) */
static bool gso_refusal(int e) {
  return e == EIO || e == EINVAL || e == ENOPROTOOPT || e == EOPNOTSUPP;
}

/* Fills entries with messages `from` to `end` (data[i - base] message i's bytes): one per message, or (segment > 0) one
 * per run of messages of `segment` bytes and the one after it. first[k] is entry k's first message, first[n] the message
 * after the last entry; returns n. */
static uint32_t fill_entries(struct mmsghdr *msgs, struct iovec *iov, gso_ctl *ctl, uint32_t *first,
                             const struct iovec *data, uint32_t base, uint32_t from, uint32_t end, uint32_t segment) {
  uint32_t n = 0, m = from;
  while (n < BATCH && m < end) {
    uint32_t start = m, bytes = 0;
    first[n] = m;
    do {
      iov[m - base] = data[m - base];
      bytes += (uint32_t)data[m - base].iov_len;
      m++;
    } while (segment > 0 && data[m - 1 - base].iov_len == segment && m < end && m - start < GSO_MAX_SEGMENTS &&
             bytes + data[m - base].iov_len <= GSO_MAX_BYTES);
    struct msghdr *h = &msgs[n].msg_hdr;
    memset(&msgs[n], 0, sizeof msgs[n]);
    h->msg_iov = &iov[start - base];
    h->msg_iovlen = m - start;
    if (m - start > 1) {
      h->msg_control = ctl[n].buf;
      h->msg_controllen = sizeof ctl[n].buf;
      struct cmsghdr *c = CMSG_FIRSTHDR(h);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      uint16_t seg = (uint16_t)segment;
      memcpy(CMSG_DATA(c), &seg, sizeof seg);
    }
    n++;
  }
  first[n] = m;
  return n;
}

static napi_value udp_send_many(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  udp_sock *s = svr_arg_handle(env, info, &argc, argv, NULL, BAD);
  if (s == NULL) return NULL;
  uint32_t count = 0, given = 0, segment = 0;
  bool is_array = false;
  int32_t *status = NULL;
  size_t slen = 0;
  if (argc < 4 || napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[1], &given) != napi_ok) {
    napi_throw_type_error(env, NULL, "udpSendMany(handle, messages: Uint8Array[], count, status: Int32Array, segment?)");
    return NULL;
  }
  if (svr_arg_u32(env, argv[2], "count", &count) != 0 || svr_arg_typed(env, argv[3], napi_int32_array, "status", (void **)&status, &slen) != 0) return NULL;
  if (argc > 4 && svr_arg_u32(env, argv[4], "segment", &segment) != 0) return NULL;
  if (count > given || slen < (size_t)count + (segment > 0 ? 3 : 1) || segment > 65535) {
    napi_throw_range_error(env, NULL, "udpSendMany: count is more than the messages, status is shorter than count + 1 (+ 3 with a segment), or the segment is over 65535");
    return NULL;
  }
  if (s->fd < 0) {
    svr_throw_errno(env, EBADF, "udpSendMany");
    return NULL;
  }
  struct mmsghdr msgs[BATCH];
  struct iovec data[MAX_IOV], iov[MAX_IOV];
  gso_ctl ctl[BATCH];
  uint32_t first[BATCH + 1];
  uint32_t done = 0, in_gso = 0, base = 0, end = 0;
  int refused = 0;
  while (done < count) {
    if (done == end || (end < count && end - done < GSO_MAX_SEGMENTS)) {
      /* the next messages' bytes (a window of MAX_IOV, moved on before a run could be cut by its end) */
      base = done;
      end = count - done < MAX_IOV ? count : done + MAX_IOV;
      for (uint32_t i = base; i < end; i++) {
        napi_value m;
        napi_typedarray_type ty;
        size_t len = 0;
        void *bytes = NULL;
        if (napi_get_element(env, argv[1], i, &m) != napi_ok || napi_get_typedarray_info(env, m, &ty, &len, &bytes, NULL, NULL) != napi_ok ||
            ty != napi_uint8_array) {
          napi_throw_type_error(env, NULL, "udpSendMany: every message must be a Uint8Array");
          return NULL;
        }
        data[i - base].iov_base = bytes;
        data[i - base].iov_len = len;
      }
    }
    uint32_t n = fill_entries(msgs, iov, ctl, first, data, base, done, end, s->gso ? segment : 0);
    int r = sendmmsg(s->fd, msgs, n, MSG_DONTWAIT);
    if (r > 0) {
      for (int k = 0; k < r; k++) {
        uint32_t msgs_in = first[k + 1] - first[k];
        if (msgs_in > 1) in_gso += msgs_in;
      }
      for (uint32_t i = done; i < first[r]; i++) status[i] = 0;
      done = first[r];
      /* Stopped early: the buffer is full (EAGAIN), or entry r met an error that sendmmsg did not return (it returns an
       * error only when nothing was sent): an ICMP unreachable for an earlier message, consumed (writable: that message
       * is not sent, as one send per message would have failed it), or a GSO refusal (a run of several: tried again,
       * alone at the head of the next call, where its error is returned). */
      struct pollfd p = {.fd = s->fd, .events = POLLOUT};
      if ((uint32_t)r < n && first[r + 1] - first[r] == 1 && poll(&p, 1, 0) == 1 && (p.revents & POLLOUT)) {
        int e = pending_error(s->fd);
        status[done++] = e != 0 ? e : SVR_UDP_ERROR_CONSUMED;
      }
    } else if (errno == EINTR) {
      continue;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      break;
    } else if (first[1] - first[0] > 1 && gso_refusal(errno)) {
      refused = errno; /* the same run again, one entry per message; and every later send of this socket */
      s->gso = false;
    } else {
      for (uint32_t i = first[0]; i < first[1]; i++) status[i] = errno; /* the entry failed: the next ones are tried */
      done = first[1];
    }
  }
  status[count] = pending_error(s->fd);
  if (segment > 0) {
    status[count + 1] = (int32_t)in_gso;
    status[count + 2] = refused;
  }
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

static napi_value udp_path_mtu(napi_env env, napi_callback_info info) {
  udp_sock *s = only_handle(env, info);
  if (s == NULL) return NULL;
  int mtu = 0;
  socklen_t len = sizeof mtu;
  int32_t out = -EBADF;
  if (s->fd >= 0) {
    int r = s->family == 4 ? getsockopt(s->fd, IPPROTO_IP, IP_MTU, &mtu, &len) : getsockopt(s->fd, IPPROTO_IPV6, IPV6_MTU, &mtu, &len);
    out = r == 0 ? mtu : -errno;
  }
  napi_value v = NULL;
  if (napi_create_int32(env, out, &v) != napi_ok) svr_throw_last_status(env, "udpPathMtu");
  return v;
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
  if ((st = svr_export_fn(env, exports, "udpPathMtu", udp_path_mtu, NULL)) != napi_ok) return st;
  if ((st = svr_export_u32(env, exports, "UDP_GSO_MAX_BYTES", GSO_MAX_BYTES)) != napi_ok) return st;
  return svr_export_fn(env, exports, "udpClose", udp_close, NULL);
}
