/*
 * checksum.c: the Internet checksum (RFC 1071) over a byte range, for the checksums the data path must
 * compute over a whole payload (payload encryption changes every byte). JS: checksumSum(u8, off, len) ->
 * the 16-bit ones-complement sum of the range read as big-endian 16-bit words (an odd last byte is the
 * high byte of a zero-padded word), not complemented, so callers fold it with their other parts.
 * Sums 32-bit little-endian words into 64 bits and swaps once at the end (RFC 1071 §2(B): the sum is
 * byte-order independent). svr_sum32 is that sum before the fold, shared with native/offload.c; with AVX2 it takes 64
 * bytes a step: 1400 B in cache 51 -> 20 ns on one thread (the scalar loop at -O3 uses SSE2), 100 B 6 ns either way;
 * in the routers the sums went from 1.16x to 0.82x the HMAC's samples: many are a packet's first read on its core.
 * Measured before AVX2: ~60 ns per 1400 B plus the N-API call, against ~0.9 µs in JS.
 */
#include <string.h>
#include "svr_native.h"

#if defined(__x86_64__)
#include <immintrin.h>

/* 64 then 32 bytes a step: each 64-bit lane adds the two 32-bit words of its 8 bytes (the low one masked, the high
 * one shifted down), so a lane grows by < 2^33 a step and cannot wrap below 2^31 steps. */
__attribute__((target("avx2"))) static uint64_t sum32_avx2(uint64_t acc, const uint8_t *p, size_t *n) {
  const __m256i lo = _mm256_set1_epi64x(0xffffffff);
  __m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 64 <= *n; i += 64) {
    __m256i x = _mm256_loadu_si256((const __m256i *)(p + i)), y = _mm256_loadu_si256((const __m256i *)(p + i + 32));
    a0 = _mm256_add_epi64(a0, _mm256_add_epi64(_mm256_and_si256(x, lo), _mm256_srli_epi64(x, 32)));
    a1 = _mm256_add_epi64(a1, _mm256_add_epi64(_mm256_and_si256(y, lo), _mm256_srli_epi64(y, 32)));
  }
  if (i + 32 <= *n) {
    __m256i x = _mm256_loadu_si256((const __m256i *)(p + i));
    a0 = _mm256_add_epi64(a0, _mm256_add_epi64(_mm256_and_si256(x, lo), _mm256_srli_epi64(x, 32)));
    i += 32;
  }
  uint64_t t[4];
  _mm256_storeu_si256((__m256i *)t, _mm256_add_epi64(a0, a1));
  *n -= i;
  return acc + t[0] + t[1] + t[2] + t[3];
}
#endif

uint64_t svr_sum32(uint64_t acc, const uint8_t *p, size_t n) {
#if defined(__x86_64__)
  if (n >= 64 && __builtin_cpu_supports("avx2")) {
    size_t left = n;
    acc = sum32_avx2(acc, p, &left);
    p += n - left;
    n = left;
  }
#endif
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    uint32_t w;
    memcpy(&w, p + i, 4);
    acc += w;
  }
  if (i + 2 <= n) {
    uint16_t w;
    memcpy(&w, p + i, 2);
    acc += w;
    i += 2;
  }
  if (i < n) {
    uint16_t w = 0;
    memcpy(&w, p + i, 1); /* the odd last byte is the first byte of a zero-padded word, in memory order */
    acc += w;
  }
  return acc;
}

uint16_t svr_ones_sum_be(const uint8_t *p, size_t n) {
  uint64_t s = svr_sum32(0, p, n);
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
