/*
 * aes-cbc-vaes.c: see aes-cbc-lanes.h (svr_aes_vaes_cbc_open). CBC decryption is parallel across the blocks of one
 * region (P_j = D(C_j) ^ C_{j-1}, NIST SP 800-38A §6.2), so a 512-bit VAESDEC takes four consecutive blocks and
 * sixteen are in flight (AESDEC's latency hidden). Each plaintext block is written over the ciphertext block before
 * it, which only that plaintext block needed: the region comes out moved down by its IV without a memmove (the
 * receiving router's steady pass: OpenSSL's CBC decryption plus the memmove were ~14 % of its main thread, tcp16).
 */
#include "aes-cbc-lanes.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define VAES_TARGET __attribute__((target("vaes,avx512f")))

int svr_aes_vaes_available(void) {
  return __builtin_cpu_supports("vaes") && __builtin_cpu_supports("avx512f") && svr_aes_lanes_available();
}

/* The AES rounds of four 4-block vectors (x already xored with the first key). */
#define ROUNDS(x, n)                                                                                                   \
  for (int r = 1; r < rounds; r++)                                                                                     \
    for (int g = 0; g < (n); g++) x[g] = _mm512_aesdec_epi128(x[g], key[r]);                                           \
  for (int g = 0; g < (n); g++) x[g] = _mm512_aesdeclast_epi128(x[g], key[rounds])

VAES_TARGET void svr_aes_vaes_cbc_open(const svr_aes_lanes_key *k, uint8_t *p, uint32_t blocks) {
  const int rounds = k->rounds;
  __m512i key[15];
  for (int i = 0; i <= rounds; i++) key[i] = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(k->dk + 16 * i)));
  uint32_t j = 0; /* plaintext block j goes to p + 16j, from C at p + 16(j + 1) and the block before it at p + 16j */
  for (; j + 16 <= blocks; j += 16) {
    __m512i x[4], prev[4];
    for (int g = 0; g < 4; g++) { /* every load before the first store: the stores cover the blocks just read */
      x[g] = _mm512_xor_si512(_mm512_loadu_si512(p + 16 * (j + 1 + 4 * g)), key[0]);
      prev[g] = _mm512_loadu_si512(p + 16 * (j + 4 * g));
    }
    ROUNDS(x, 4);
    for (int g = 0; g < 4; g++) _mm512_storeu_si512(p + 16 * (j + 4 * g), _mm512_xor_si512(x[g], prev[g]));
  }
  for (; j < blocks; j += 4) { /* the last 1-15 blocks, four at a time, the last vector masked */
    uint32_t m = blocks - j < 4 ? blocks - j : 4;
    __mmask8 mask = (__mmask8)((1u << (2 * m)) - 1);
    __m512i x[1] = {_mm512_xor_si512(_mm512_maskz_loadu_epi64(mask, p + 16 * (j + 1)), key[0])};
    __m512i prev = _mm512_maskz_loadu_epi64(mask, p + 16 * j);
    ROUNDS(x, 1);
    _mm512_mask_storeu_epi64(p + 16 * j, mask, _mm512_xor_si512(x[0], prev));
  }
  for (int i = 0; i <= rounds; i++) key[i] = _mm512_setzero_si512();
}

#else

int svr_aes_vaes_available(void) { return 0; }
void svr_aes_vaes_cbc_open(const svr_aes_lanes_key *k, uint8_t *p, uint32_t blocks) {}

#endif
