/*
 * hmac-lanes: HMAC-SHA256 (RFC 2104 over FIPS 180-4 SHA-256) of up to 16 messages at once, one message per
 * 32-bit lane of AVX-512 registers, from the keyed states of hmac-pads. A batch of signed packets is hashed
 * 16 at a time instead of one after the other with OpenSSL's SHA-NI code: worth it when the lanes are
 * mostly full (svr_hmac_way_pays). Same tags (test/unit/crypto/batch-hmac.test.ts: RFC 4231, node:crypto).
 */
#ifndef SVR_HMAC_LANES_H
#define SVR_HMAC_LANES_H

#include <stdint.h>

#include "hmac-pads.h"

#define SVR_HMAC_LANES 16

/* 1 when the CPU has AVX-512 F and BW. */
int svr_hmac_lanes_available(void);

/*
 * How a batch's SHA-256 tags are hashed together: not at all (one at a time, OpenSSL's SHA-NI code), in the 16 lanes
 * here, or with the SHA extensions, messages interleaved (hmac-shani.c). A handle's way is fixed when it is made.
 */
enum { SVR_HMAC_WAY_ONE = 0, SVR_HMAC_WAY_LANES = 1, SVR_HMAC_WAY_SHANI = 2 };

/* The way for a new SHA-256 handle on this CPU: SHA-NI, else the lanes, else one at a time; SVR_HMAC_SHANI=0: not
 * SHA-NI; SVR_HMAC_LANES=0: one at a time. */
int svr_hmac_way(void);

/* 1 when hashing these n (<= 16) message lengths together the given way costs less than one at a time. */
int svr_hmac_way_pays(int way, const uint32_t *len, uint32_t n, int64_t slot);

/*
 * md[i] (32 bytes) := HMAC-SHA256 under h[i] of msg[i][0, len[i]), then be32(slot[i]) when slot[i] >= 0, for
 * i < n <= 16, hashed together the given way (LANES or SHANI, the CPU having it).
 */
void svr_hmac_sha256_together(int way, const svr_hmac_pads *const *h, const uint8_t *const *msg, const uint32_t *len,
                              uint32_t n, const int64_t *slot, uint8_t (*md)[32]);

/* The same under one key and one slot (hmacSignBatch/hmacVerifyBatch). */
void svr_hmac_sha256_together_key(int way, const svr_hmac_pads *h, const uint8_t *const *msg, const uint32_t *len,
                                  uint32_t n, int64_t slot, uint8_t (*md)[32]);

#endif
