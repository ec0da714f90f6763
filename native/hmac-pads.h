/*
 * hmac-pads: HMAC-SHA256 and HMAC-SHA1 (RFC 2104) from hash states keyed once. The inner and outer states
 * after the key's 64-byte ipad/opad block are kept; a packet's tag copies them (no allocation, no provider
 * dispatch) and hashes only the packet and the outer block. OpenSSL's EVP_MAC re-initialises its digest
 * contexts through the provider on every packet; with these states a 1420-byte tag costs what SHA-256 of
 * the packet costs. Same tags as EVP_MAC (test/unit/crypto/batch-hmac.test.ts compares with node:crypto).
 */
#ifndef SVR_HMAC_PADS_H
#define SVR_HMAC_PADS_H

#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init & co.: the plain hash states, still in OpenSSL 3 */
#include <openssl/sha.h>
#include <stdint.h>

typedef struct {
  int sha1; /* 0: SHA-256 (32-byte tags), 1: SHA-1 (20) */
  union {
    SHA256_CTX s256;
    SHA_CTX s1;
  } inner, outer;
} svr_hmac_pads;

/* Keys the states (a key longer than a block is hashed first, RFC 2104 §2). 0, or -1 on an OpenSSL failure. */
int svr_hmac_pads_init(svr_hmac_pads *h, int sha1, const uint8_t *key, size_t key_len);

/* The state after the inner pad and p[0, n): the part of a tag every time slot shares. */
typedef union {
  SHA256_CTX s256;
  SHA_CTX s1;
} svr_hmac_running;
void svr_hmac_pads_begin(const svr_hmac_pads *h, svr_hmac_running *run, const uint8_t *p, size_t n);

/* out (32 or 20 bytes) := HMAC over what `run` absorbed, then be32(slot) when slot >= 0. `run` is not changed. */
void svr_hmac_pads_end(const svr_hmac_pads *h, const svr_hmac_running *run, int64_t slot, uint8_t *out);

/* 1 when tag[0, tag_len) is the tag over what `run` absorbed with `slot`, or (slot >= 0) with slot-1 or slot+1 (mod
 * 2^32): the time-based check (constant-time compares). `exact_checked`: the slot itself was checked already (no match). */
int svr_hmac_pads_check(const svr_hmac_pads *h, const svr_hmac_running *run, int64_t slot, const uint8_t *tag,
                        uint32_t tag_len, int exact_checked);

/*
 * The last SHA-256 blocks of an inner hash over msg[0, len) then be32(slot) when slot >= 0 (after the key block): the
 * message's bytes past its whole blocks, the slot, 0x80 and the length in bits (FIPS 180-4 §5.1.1), into tail; the
 * count of those blocks (1 or 2). *full := the whole 64-byte blocks hashed from msg itself.
 */
uint32_t svr_hmac_sha256_tail(const uint8_t *msg, uint32_t len, int64_t slot, uint8_t tail[128], uint32_t *full);

/* SHA-256's 64 round constants K0..K63 (FIPS 180-4 §4.2.2), for the hand-written rounds of hmac-lanes.c and hmac-shani.c. */
extern const uint32_t svr_sha256_k[64];

/* Zeroes the keyed states. */
void svr_hmac_pads_wipe(svr_hmac_pads *h);

#endif
