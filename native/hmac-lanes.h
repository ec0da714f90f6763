/*
 * hmac-lanes: HMAC-SHA256 (RFC 2104 over FIPS 180-4 SHA-256) of up to 16 messages at once, one message per
 * 32-bit lane of AVX-512 registers, from the keyed states of hmac-pads. A batch of signed packets is hashed
 * 16 at a time instead of one after the other with OpenSSL's SHA-NI code: worth it when the lanes are
 * mostly full (svr_hmac_lanes_pays). Same tags (test/unit/crypto/batch-hmac.test.ts: RFC 4231, node:crypto).
 */
#ifndef SVR_HMAC_LANES_H
#define SVR_HMAC_LANES_H

#include <stdint.h>

#include "hmac-pads.h"

#define SVR_HMAC_LANES 16

/* 1 when the CPU has AVX-512 F and BW. */
int svr_hmac_lanes_available(void);

/* 1 when hashing these n (<= 16) message lengths together costs less than one at a time (measured costs). */
int svr_hmac_lanes_pays(const uint32_t *len, uint32_t n, int64_t slot);

/*
 * md[i] (32 bytes) := HMAC-SHA256 of msg[i][0, len[i]), then be32(slot) when slot >= 0, under the SHA-256
 * pads h, for i < n <= 16. Call only when svr_hmac_lanes_available().
 */
void svr_hmac_sha256_lanes(const svr_hmac_pads *h, const uint8_t *const *msg, const uint32_t *len, uint32_t n,
                           int64_t slot, uint8_t (*md)[32]);

/* The same with a key and a slot per message: md[i] := HMAC-SHA256 under h[i] of msg[i], then be32(slot[i]) when
 * slot[i] >= 0 (hmac-many.c: one frame's tags of many paths' keys together). */
void svr_hmac_sha256_lanes_keys(const svr_hmac_pads *const *h, const uint8_t *const *msg, const uint32_t *len, uint32_t n,
                                const int64_t *slot, uint8_t (*md)[32]);

#endif
