/*
 * frame-copy.c: the copy of a received frame into the data path's batch slab (src/dataplane/batch.ts fill), one
 * call per frame instead of a subarray view and a TypedArray set per packet. The TUN reader's buffers are
 * SharedArrayBuffers, which V8 copies out with relaxed atomic word copies; this is a plain memcpy.
 * JS: framesCopy(dst, src, desc, count), desc 3 u32 per packet: source offset, destination offset, length.
 * Every range is checked against its buffer before anything is copied (a RangeError, nothing written).
 */
#include <string.h>
#include "svr_native.h"

#define COPY_WORDS 3

static napi_value frames_copy(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *dstv, *srcv, *descv;
  size_t dlen, slen, wlen;
  uint32_t n;
  if (argc < 4 || svr_arg_typed(env, argv[0], napi_uint8_array, "dst", &dstv, &dlen) != 0 ||
      svr_arg_typed(env, argv[1], napi_uint8_array, "src", &srcv, &slen) != 0 ||
      svr_arg_typed(env, argv[2], napi_uint32_array, "desc", &descv, &wlen) != 0 ||
      svr_arg_u32(env, argv[3], "count", &n) != 0) {
    if (argc < 4) napi_throw_type_error(env, NULL, "framesCopy(dst, src, desc, count)");
    return NULL;
  }
  const uint32_t *desc = descv;
  if ((size_t)n * COPY_WORDS > wlen) {
    napi_throw_range_error(env, NULL, "framesCopy: count is beyond desc");
    return NULL;
  }
  for (uint32_t i = 0; i < n; i++) {
    const uint32_t *e = desc + (size_t)i * COPY_WORDS;
    if ((size_t)e[0] + e[2] > slen || (size_t)e[1] + e[2] > dlen) {
      napi_throw_range_error(env, NULL, "framesCopy: a packet is outside src or dst");
      return NULL;
    }
  }
  uint8_t *dst = dstv;
  const uint8_t *src = srcv;
  for (uint32_t i = 0; i < n; i++) {
    const uint32_t *e = desc + (size_t)i * COPY_WORDS;
    memcpy(dst + e[1], src + e[0], e[2]);
  }
  return NULL;
}

napi_status svr_frame_copy_init(napi_env env, napi_value exports) {
  napi_status s = svr_export_fn(env, exports, "framesCopy", frames_copy, NULL);
  if (s != napi_ok) return s;
  return svr_export_u32(env, exports, "COPY_WORDS", COPY_WORDS);
}
