/*
 * packet-socket.c: one Ethernet frame out of a named device through an AF_PACKET socket (packet(7)), for
 * the control side's announcements (gratuitous ARP, unsolicited NA: a router pair's node taking the shared
 * addresses, docs/high-availability.md). JS: packetSend(ifname, frame) -> undefined; throws an errno
 * error (ENODEV for an unknown device, EPERM without CAP_NET_RAW). One socket per call: a handful of
 * frames per role change, never per packet.
 */
#include <errno.h>
#include <net/if.h>
#include <linux/if_packet.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "svr_native.h"

static napi_value packet_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char ifname[IF_NAMESIZE];
  size_t namelen = 0;
  void *frame;
  size_t len;
  if (argc < 2) {
    napi_throw_type_error(env, NULL, "packetSend(ifname, frame)");
    return NULL;
  }
  if (napi_get_value_string_utf8(env, argv[0], ifname, sizeof ifname, &namelen) != napi_ok || namelen == 0 || namelen >= IF_NAMESIZE - 1) {
    napi_throw_type_error(env, NULL, "ifname must be a device name of 1-15 characters");
    return NULL;
  }
  if (svr_arg_typed(env, argv[1], napi_uint8_array, "frame", &frame, &len) != 0) return NULL;
  if (len < 14) {
    napi_throw_range_error(env, NULL, "packetSend: a frame has at least an Ethernet header (14 bytes)");
    return NULL;
  }
  unsigned index = if_nametoindex(ifname);
  if (index == 0) {
    svr_throw_errno(env, errno, "if_nametoindex");
    return NULL;
  }
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0); /* protocol 0: send only, receives nothing */
  if (fd < 0) {
    svr_throw_errno(env, errno, "socket");
    return NULL;
  }
  struct sockaddr_ll to;
  memset(&to, 0, sizeof to);
  to.sll_family = AF_PACKET;
  to.sll_ifindex = (int)index;
  to.sll_halen = 6;
  memcpy(to.sll_addr, frame, 6);
  ssize_t n = sendto(fd, frame, len, 0, (const struct sockaddr *)&to, sizeof to);
  int err = errno;
  close(fd);
  if (n < 0) {
    svr_throw_errno(env, err, "sendto");
    return NULL;
  }
  return NULL;
}

napi_status svr_packet_socket_init(napi_env env, napi_value exports) {
  return svr_export_fn(env, exports, "packetSend", packet_send, NULL);
}
