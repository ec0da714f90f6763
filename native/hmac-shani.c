/*
 * hmac-shani.c: see hmac-shani.h. Each message is a stream of 64-byte blocks: its whole blocks, its tail (1-2 blocks:
 * the rest, the slot, the padding of FIPS 180-4 §5.1.1), then the outer block (the inner digest under the opad state).
 * The streams are sorted longest first; each step compresses one block of each of the first WAYS streams with work
 * left, interleaved (compress_n), so the longest stream, which bounds the batch, never waits.
 * SHA-256 rounds with the SHA extensions (Intel SHA Extensions, 2013; FIPS 180-4 §6.2.2): the state is kept as two
 * registers, ABEF and CDGH (dwords 3..0); SHA256RNDS2 does two rounds from W+K in dwords 0-1 and returns the new ABEF,
 * the old ABEF being the new CDGH. SHA256MSG1/MSG2 compute the schedule (§6.2.2 step 1) four words at a time.
 */
#include "hmac-shani.h"

#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

#define SHANI_TARGET __attribute__((target("sha,sse4.1,ssse3")))
#define INLINE __attribute__((always_inline)) inline
/* Streams compressed together. */
#define WAYS 4

int svr_hmac_shani_available(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSE4_1)) return 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  return (b & bit_SHA) != 0;
}

typedef struct {
  __m128i abef, cdgh;     /* the running state */
  const uint8_t *msg;     /* the message's whole blocks */
  uint32_t full, blocks;  /* whole blocks; all inner blocks (whole and tail) */
  uint32_t at;            /* blocks done; blocks + 1 when the outer block is done */
  const svr_hmac_pads *h;
  uint8_t *md;
  uint8_t tail[128];      /* the inner hash's last blocks, then the outer block */
} stream;

/* The state words h[0..7] (a..h) of an OpenSSL SHA-256 context as ABEF and CDGH. */
SHANI_TARGET static void state_in(stream *s, const SHA256_CTX *c) {
  const __m128i dcba = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)c->h), 0x1b);
  const __m128i hgfe = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(c->h + 4)), 0x1b);
  s->abef = _mm_unpackhi_epi64(hgfe, dcba);
  s->cdgh = _mm_unpacklo_epi64(hgfe, dcba);
}

/* The digest of the state, big-endian a..h (§6.2.2 step 4's H(N)): DCBA and HGFE with every byte reversed. */
SHANI_TARGET static void state_out(const stream *s, uint8_t out[32]) {
  const __m128i rev = _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  _mm_storeu_si128((__m128i *)out, _mm_shuffle_epi8(_mm_unpackhi_epi64(s->cdgh, s->abef), rev));
  _mm_storeu_si128((__m128i *)(out + 16), _mm_shuffle_epi8(_mm_unpacklo_epi64(s->cdgh, s->abef), rev));
}

static const uint8_t *block_of(const stream *s) {
  if (s->at < s->full) return s->msg + 64u * s->at;
  return s->tail + 64u * (s->at < s->blocks ? s->at - s->full : 0u);
}

/*
 * One compression (§6.2.2) of the next block of each of the n streams, their rounds interleaved: n independent
 * SHA256RNDS2 chains. m[k][j] holds W[4g+j'..] for the group g with g & 3 == j; from g = 4 on, W[t] = σ1(W[t-2]) +
 * W[t-7] + σ0(W[t-15]) + W[t-16] is MSG1 (the σ0 term), the W[t-7] words (ALIGNR of the two groups before) and MSG2
 * (the σ1 terms). Every loop has a constant count and is unrolled, so the states and words stay in registers.
 */
#define UNROLL _Pragma("GCC unroll 16")
SHANI_TARGET static INLINE void rounds4(__m128i *abef, __m128i *cdgh, __m128i w, int g) {
  const __m128i wk = _mm_add_epi32(w, _mm_loadu_si128((const __m128i *)(svr_sha256_k + 4 * g)));
  *cdgh = _mm_sha256rnds2_epu32(*cdgh, *abef, wk); /* now ABEF; the old ABEF is CDGH */
  *abef = _mm_sha256rnds2_epu32(*abef, *cdgh, _mm_shuffle_epi32(wk, 0x0e));
}

SHANI_TARGET static INLINE void compress_n(stream *const *s, const int n) {
  const __m128i bswap = _mm_set_epi8(12, 13, 14, 15, 8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3);
  __m128i abef[WAYS], cdgh[WAYS], m[WAYS][4];
  UNROLL for (int k = 0; k < n; k++) {
    const uint8_t *p = block_of(s[k]);
    abef[k] = s[k]->abef;
    cdgh[k] = s[k]->cdgh;
    UNROLL for (int j = 0; j < 4; j++) m[k][j] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * j)), bswap);
  }
  UNROLL for (int j = 0; j < 4; j++) {
    UNROLL for (int k = 0; k < n; k++) rounds4(&abef[k], &cdgh[k], m[k][j], j);
  }
  UNROLL for (int g = 4; g < 16; g++) {
    const int j = g & 3;
    UNROLL for (int k = 0; k < n; k++) {
      __m128i x = _mm_sha256msg1_epu32(m[k][j], m[k][(j + 1) & 3]);
      x = _mm_add_epi32(x, _mm_alignr_epi8(m[k][(j + 3) & 3], m[k][(j + 2) & 3], 4));
      m[k][j] = _mm_sha256msg2_epu32(x, m[k][(j + 3) & 3]);
      rounds4(&abef[k], &cdgh[k], m[k][j], g);
    }
  }
  UNROLL for (int k = 0; k < n; k++) {
    s[k]->abef = _mm_add_epi32(s[k]->abef, abef[k]);
    s[k]->cdgh = _mm_add_epi32(s[k]->cdgh, cdgh[k]);
  }
}

SHANI_TARGET static void compress_1(stream *const *s) { compress_n(s, 1); }
SHANI_TARGET static void compress_2(stream *const *s) { compress_n(s, 2); }
SHANI_TARGET static void compress_3(stream *const *s) { compress_n(s, 3); }
SHANI_TARGET static void compress_4(stream *const *s) { compress_n(s, 4); }

/* After a block of s: at the end of the inner hash, the outer block (inner digest, 0x80, 768 bits) under the opad
 * state; at the end of the outer one, the tag. 1 when s is done. */
SHANI_TARGET static int advance(stream *s) {
  s->at++;
  if (s->at == s->blocks) {
    uint8_t *b = s->tail;
    state_out(s, b);
    memset(b + 32, 0, 32);
    b[32] = 0x80;
    b[62] = (uint8_t)(((64 + 32) * 8) >> 8);
    b[63] = (uint8_t)((64 + 32) * 8);
    state_in(s, &s->h->outer.s256);
    return 0;
  }
  if (s->at < s->blocks) return 0;
  state_out(s, s->md);
  return 1;
}

SHANI_TARGET void svr_hmac_sha256_shani_keys(const svr_hmac_pads *const *h, const uint8_t *const *msg, const uint32_t *len,
                                             uint32_t n, const int64_t *slot, uint8_t (*md)[32]) {
  stream st[SVR_HMAC_SHANI_MAX], *live[SVR_HMAC_SHANI_MAX];
  uint32_t nlive = 0;
  for (uint32_t i = 0; i < n; i++) {
    stream *s = &st[i];
    s->msg = msg[i];
    s->blocks = svr_hmac_sha256_tail(msg[i], len[i], slot[i], s->tail, &s->full);
    s->blocks += s->full;
    s->at = 0;
    s->h = h[i];
    s->md = md[i];
    state_in(s, &h[i]->inner.s256);
    uint32_t at = nlive++; /* insertion, longest first */
    for (; at > 0 && live[at - 1]->blocks < s->blocks; at--) live[at] = live[at - 1];
    live[at] = s;
  }
  while (nlive > 0) {
    switch (nlive < WAYS ? nlive : WAYS) {
      case 1: compress_1(live); break;
      case 2: compress_2(live); break;
      case 3: compress_3(live); break;
      default: compress_4(live); break;
    }
    uint32_t kept = 0, k = nlive < WAYS ? nlive : WAYS;
    for (uint32_t i = 0; i < nlive; i++) {
      if (i < k && advance(live[i])) continue;
      live[kept++] = live[i];
    }
    nlive = kept;
  }
}

#else

int svr_hmac_shani_available(void) {
  return 0;
}

void svr_hmac_sha256_shani_keys(const svr_hmac_pads *const *h, const uint8_t *const *msg, const uint32_t *len, uint32_t n,
                                const int64_t *slot, uint8_t (*md)[32]) {
  (void)h; (void)msg; (void)len; (void)n; (void)slot; (void)md;
}

#endif
