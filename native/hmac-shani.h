/*
 * hmac-shani: HMAC-SHA256 (RFC 2104 over FIPS 180-4 SHA-256) of a batch of messages with the CPU's SHA
 * instructions, several messages interleaved, from the keyed states of hmac-pads. One SHA-256 message is a
 * chain of SHA256RNDS2 instructions, each waiting for the one before (OpenSSL's code, one message at a time, runs
 * at that latency); the blocks of independent messages fill the gaps. Same tags (test/unit/crypto/hmac-shani.test.ts).
 */
#ifndef SVR_HMAC_SHANI_H
#define SVR_HMAC_SHANI_H

#include <stdint.h>

#include "hmac-pads.h"

/* Messages per call (callers go in groups of 16, as for the lanes of hmac-lanes.c). */
#define SVR_HMAC_SHANI_MAX 16

/* 1 when the CPU has the SHA extensions (CPUID.7.0:EBX bit 29) and SSE4.1. */
int svr_hmac_shani_available(void);

/*
 * md[i] (32 bytes) := HMAC-SHA256 under h[i] of msg[i][0, len[i]), then be32(slot[i]) when slot[i] >= 0, for
 * i < n <= 16. Call only when svr_hmac_shani_available().
 */
void svr_hmac_sha256_shani_keys(const svr_hmac_pads *const *h, const uint8_t *const *msg, const uint32_t *len, uint32_t n,
                                const int64_t *slot, uint8_t (*md)[32]);

#endif
