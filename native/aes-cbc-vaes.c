/*
 * aes-cbc-vaes.c: see aes-cbc-lanes.h (svr_aes_vaes_cbc_open). CBC decryption is parallel across the blocks of one
 * region (P_j = D(C_j) ^ C_{j-1}, NIST SP 800-38A §6.2), so a 512-bit VAESDEC takes four consecutive blocks and
 * sixteen are in flight (AESDEC's latency hidden). Each plaintext block is written over the ciphertext block before
 * it, which only that plaintext block needed: the region comes out moved down by its IV without a memmove (the
 * receiving router's steady pass: OpenSSL's CBC decryption plus the memmove were ~14 % of its main thread, tcp16).
 * Encryption is one chain per region, so svr_aes_vaes_cbc_seal runs aes-cbc-lanes.c's interleave 16 chains wide, four
 * per vector (the sending router's lanes were ~14 % of its main thread), each ciphertext block written one block on
 * from its plaintext, which moves the region up by its IV in the same pass (no memmove before, ~2.6 % there).
 */
#include "aes-cbc-lanes.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define VAES_TARGET __attribute__((target("vaes,avx512f")))
#define VAES_LANES 16

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

/* The encryption rounds of four vectors of four chains each (x already xored with the first key). */
#define ENC_ROUNDS(x)                                                                                                  \
  for (int r = 1; r < rounds; r++)                                                                                     \
    for (int g = 0; g < 4; g++) x[g] = _mm512_aesenc_epi128(x[g], key[r]);                                             \
  for (int g = 0; g < 4; g++) x[g] = _mm512_aesenclast_epi128(x[g], key[rounds])

VAES_TARGET void svr_aes_vaes_cbc_seal(const svr_aes_lanes_key *k, uint8_t *const *data, const uint8_t *const *iv,
                                       const uint32_t *blocks, uint32_t count) {
  const int rounds = k->rounds;
  __m512i key[15];
  for (int i = 0; i <= rounds; i++) key[i] = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(k->rk + 16 * i)));
  /* as aes-cbc-lanes.c, 16 chains: an idle lane encrypts its own scratch block; lane l is part l % 4 of vector l / 4.
   * A lane reads block s of its region at ptr and writes its ciphertext at ptr + 16, over block s + 1, which it read
   * ahead (into `ahead`) before that store; block 0 is read ahead when the region starts, then the IV goes over it. */
  uint8_t chains[VAES_LANES * 16], ahead[VAES_LANES * 16];
  svr_aes_lanes_run run;
  svr_aes_lanes_begin(&run);
  memset(chains, 0, sizeof chains);
  memset(ahead, 0, sizeof ahead);
  for (uint32_t steps; (steps = svr_aes_lanes_refill(&run, VAES_LANES, data, blocks, count)) > 0;) {
    uint8_t *ptr[VAES_LANES];
    uint32_t stride[VAES_LANES];
    for (int l = 0; l < VAES_LANES; l++) {
      uint32_t i = run.start[l];
      if (i != UINT32_MAX) {
        memcpy(ahead + 16 * l, data[i], 16);
        memcpy(chains + 16 * l, iv[i], 16);
        memcpy(data[i], iv[i], 16);
      }
      ptr[l] = run.ptr[l], stride[l] = run.stride[l];
    }
    __m512i chain[4], cur[4];
    for (int g = 0; g < 4; g++) {
      chain[g] = _mm512_loadu_si512(chains + 64 * g);
      cur[g] = _mm512_loadu_si512(ahead + 64 * g);
    }
    for (uint32_t s = 0; s < steps; s++) {
      __m512i x[4];
      for (int g = 0; g < 4; g++) {
        uint8_t *const *q = ptr + 4 * g;
        x[g] = _mm512_ternarylogic_epi64(cur[g], chain[g], key[0], 0x96); /* block ^ chain ^ key 0 */
        __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(q[0] + 16))); /* the next blocks */
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(q[1] + 16)), 1);
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(q[2] + 16)), 2);
        cur[g] = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(q[3] + 16)), 3);
      }
      ENC_ROUNDS(x);
      for (int g = 0; g < 4; g++) {
        uint8_t **q = ptr + 4 * g;
        chain[g] = x[g];
        _mm_storeu_si128((__m128i *)(q[0] + 16), _mm512_castsi512_si128(x[g]));
        _mm_storeu_si128((__m128i *)(q[1] + 16), _mm512_extracti32x4_epi32(x[g], 1));
        _mm_storeu_si128((__m128i *)(q[2] + 16), _mm512_extracti32x4_epi32(x[g], 2));
        _mm_storeu_si128((__m128i *)(q[3] + 16), _mm512_extracti32x4_epi32(x[g], 3));
        for (int l = 0; l < 4; l++) q[l] += stride[4 * g + l];
      }
    }
    for (int g = 0; g < 4; g++) {
      _mm512_storeu_si512(chains + 64 * g, chain[g]);
      _mm512_storeu_si512(ahead + 64 * g, cur[g]);
    }
    svr_aes_lanes_done(&run, VAES_LANES, steps);
  }
  for (int i = 0; i <= rounds; i++) key[i] = _mm512_setzero_si512();
}

#else

int svr_aes_vaes_available(void) { return 0; }
void svr_aes_vaes_cbc_open(const svr_aes_lanes_key *k, uint8_t *p, uint32_t blocks) {}
void svr_aes_vaes_cbc_seal(const svr_aes_lanes_key *k, uint8_t *const *data, const uint8_t *const *iv,
                           const uint32_t *blocks, uint32_t count) {}

#endif
