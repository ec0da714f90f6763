/* svr_native entry point: every component adds its functions to one exports object. */
#include "svr_native.h"

/* native/crypto.c (declared here so svr_native.h stays untouched by this component). */
napi_status svr_crypto_init(napi_env env, napi_value exports);
/* native/checksum.c: the Internet checksum over a byte range. */
napi_status svr_checksum_init(napi_env env, napi_value exports);
/* native/steady-send.c: svr-out's address, port, checksum and length finish of a frame's signed packets. */
napi_status svr_steady_send_init(napi_env env, napi_value exports);
/* native/frame-copy.c: a received frame copied into the batch slab in one call. */
napi_status svr_frame_copy_init(napi_env env, napi_value exports);
/* native/offload.c: test-only entry points of the TUN offload code (segmentation, coalescing). */
napi_status svr_offload_init(napi_env env, napi_value exports);
/* native/row-memory.c: reserved (mmap) and given-back (madvise) memory for the session table's rows. */
napi_status svr_row_memory_init(napi_env env, napi_value exports);
napi_status svr_heap_release_init(napi_env env, napi_value exports);
/* native/fwd-in.c: svr-in's native steady path (marked flows finished before the JS stages). */
napi_status svr_fwd_in_init(napi_env env, napi_value exports);
/* native/udp-send.c: the IPFIX exporter's UDP socket, a flush's messages in one sendmmsg. */
napi_status svr_udp_send_init(napi_env env, napi_value exports);
/* native/ipfix-flows.c: a plain session's IPFIX flows from its open-session slot into the open message. */
napi_status svr_ipfix_flows_init(napi_env env, napi_value exports);
#ifndef SVR_NO_TUN
/* native/packet-socket.c: one Ethernet frame out of a device (AF_PACKET), for address announcements. */
napi_status svr_packet_socket_init(napi_env env, napi_value exports);
/* native/sync-socket.c: a router pair's sync link socket, datagrams read with recvmmsg into reused slots. */
napi_status svr_sync_socket_init(napi_env env, napi_value exports);
#endif

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
#ifndef SVR_NO_TUN
  if (svr_tun_init(env, exports) != napi_ok) {
    svr_throw_last_status(env, "svr_tun_init");
    return NULL;
  }
  if (svr_packet_socket_init(env, exports) != napi_ok) {
    svr_throw_last_status(env, "svr_packet_socket_init");
    return NULL;
  }
  if (svr_sync_socket_init(env, exports) != napi_ok) {
    svr_throw_last_status(env, "svr_sync_socket_init");
    return NULL;
  }
#endif
  if (svr_offload_init(env, exports) != napi_ok) {
    svr_throw_last_status(env, "svr_offload_init");
    return NULL;
  }
  if (svr_checksum_init(env, exports) != napi_ok) {
    svr_throw_last_status(env, "svr_checksum_init");
    return NULL;
  }
  if (svr_steady_send_init(env, exports) != napi_ok) {
    svr_throw_last_status(env, "svr_steady_send_init");
    return NULL;
  }
  if (svr_frame_copy_init(env, exports) != napi_ok) {
    svr_throw_last_status(env, "svr_frame_copy_init");
    return NULL;
  }
  if (svr_crypto_init(env, exports) != napi_ok) {
    svr_throw_last_status(env, "svr_crypto_init");
    return NULL;
  }
  if (svr_fwd_init(env, exports) != napi_ok) {
    svr_throw_last_status(env, "svr_fwd_init");
    return NULL;
  }
  if (svr_row_memory_init(env, exports) != napi_ok) {
    svr_throw_last_status(env, "svr_row_memory_init");
    return NULL;
  }
  if (svr_heap_release_init(env, exports) != napi_ok) {
    svr_throw_last_status(env, "svr_heap_release_init");
    return NULL;
  }
  if (svr_fwd_in_init(env, exports) != napi_ok) {
    svr_throw_last_status(env, "svr_fwd_in_init");
    return NULL;
  }
  if (svr_udp_send_init(env, exports) != napi_ok) {
    svr_throw_last_status(env, "svr_udp_send_init");
    return NULL;
  }
  if (svr_ipfix_flows_init(env, exports) != napi_ok) {
    svr_throw_last_status(env, "svr_ipfix_flows_init");
    return NULL;
  }
  return exports;
}
