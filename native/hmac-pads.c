/* hmac-pads.c: see hmac-pads.h. HMAC(K, m) = H((K0 ^ opad) || H((K0 ^ ipad) || m)), RFC 2104 §2. */
#include "hmac-pads.h"

#include <openssl/crypto.h>
#include <string.h>

#define BLOCK 64

/* FIPS 180-4 §4.2.2 */
const uint32_t svr_sha256_k[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

int svr_hmac_pads_init(svr_hmac_pads *h, int sha1, const uint8_t *key, size_t key_len) {
  uint8_t k0[BLOCK], pad[BLOCK];
  memset(k0, 0, sizeof k0);
  h->sha1 = sha1;
  if (key_len > BLOCK) {
    if ((sha1 ? SHA1(key, key_len, k0) : SHA256(key, key_len, k0)) == NULL) return -1;
  } else {
    memcpy(k0, key, key_len);
  }
  int ok = 1;
  for (int round = 0; round < 2; round++) {
    uint8_t x = round == 0 ? 0x36 : 0x5c;
    for (int i = 0; i < BLOCK; i++) pad[i] = k0[i] ^ x;
    if (sha1) {
      SHA_CTX *c = round == 0 ? &h->inner.s1 : &h->outer.s1;
      ok &= SHA1_Init(c) == 1 && SHA1_Update(c, pad, BLOCK) == 1;
    } else {
      SHA256_CTX *c = round == 0 ? &h->inner.s256 : &h->outer.s256;
      ok &= SHA256_Init(c) == 1 && SHA256_Update(c, pad, BLOCK) == 1;
    }
  }
  OPENSSL_cleanse(k0, sizeof k0);
  OPENSSL_cleanse(pad, sizeof pad);
  return ok ? 0 : -1;
}

void svr_hmac_pads_begin(const svr_hmac_pads *h, svr_hmac_running *run, const uint8_t *p, size_t n) {
  if (h->sha1) {
    run->s1 = h->inner.s1;
    if (n > 0) SHA1_Update(&run->s1, p, n);
  } else {
    run->s256 = h->inner.s256;
    if (n > 0) SHA256_Update(&run->s256, p, n);
  }
}

void svr_hmac_pads_end(const svr_hmac_pads *h, const svr_hmac_running *run, int64_t slot, uint8_t *out) {
  uint32_t s = (uint32_t)slot;
  uint8_t be[4] = {(uint8_t)(s >> 24), (uint8_t)(s >> 16), (uint8_t)(s >> 8), (uint8_t)s};
  if (h->sha1) {
    SHA_CTX c = run->s1, o = h->outer.s1;
    if (slot >= 0) SHA1_Update(&c, be, 4);
    SHA1_Final(out, &c);
    SHA1_Update(&o, out, SHA_DIGEST_LENGTH);
    SHA1_Final(out, &o);
  } else {
    SHA256_CTX c = run->s256, o = h->outer.s256;
    if (slot >= 0) SHA256_Update(&c, be, 4);
    SHA256_Final(out, &c);
    SHA256_Update(&o, out, SHA256_DIGEST_LENGTH);
    SHA256_Final(out, &o);
  }
}

static int pads_matches(const svr_hmac_pads *h, const svr_hmac_running *run, int64_t slot, const uint8_t *tag, uint32_t tag_len) {
  uint8_t md[SHA256_DIGEST_LENGTH];
  svr_hmac_pads_end(h, run, slot, md);
  return CRYPTO_memcmp(md, tag, tag_len) == 0;
}

int svr_hmac_pads_check(const svr_hmac_pads *h, const svr_hmac_running *run, int64_t slot, const uint8_t *tag,
                        uint32_t tag_len, int exact_checked) {
  if (!exact_checked && pads_matches(h, run, slot, tag, tag_len)) return 1;
  if (slot < 0) return 0;
  return pads_matches(h, run, (int64_t)(((uint32_t)slot - 1u) & 0xffffffffu), tag, tag_len) ||
         pads_matches(h, run, (int64_t)(((uint32_t)slot + 1u) & 0xffffffffu), tag, tag_len);
}

uint32_t svr_hmac_sha256_tail(const uint8_t *msg, uint32_t len, int64_t slot, uint8_t tail[128], uint32_t *full) {
  uint32_t extra = slot >= 0 ? 4u : 0u, s = (uint32_t)slot;
  uint8_t be[4] = {(uint8_t)(s >> 24), (uint8_t)(s >> 16), (uint8_t)(s >> 8), (uint8_t)s};
  *full = len / BLOCK;
  uint32_t rest = len - *full * BLOCK, used = rest + extra;
  uint32_t blocks = used + 9u <= BLOCK ? 1u : 2u;
  memcpy(tail, msg + *full * BLOCK, rest);
  memcpy(tail + rest, be, extra);
  tail[used] = 0x80;
  memset(tail + used + 1, 0, blocks * BLOCK - used - 1u - 8u);
  uint64_t bits = ((uint64_t)len + extra + BLOCK) * 8u; /* the key block counts too */
  for (int k = 0; k < 8; k++) tail[blocks * BLOCK - 1u - (uint32_t)k] = (uint8_t)(bits >> (8 * k));
  return blocks;
}

void svr_hmac_pads_wipe(svr_hmac_pads *h) {
  OPENSSL_cleanse(h, sizeof *h);
}
