/*
 * aes-cbc-lanes: AES-CBC encryption of many independent regions at once (AES-NI, x86-64).
 * CBC encryption of one region is a chain: each block waits for the previous one (~14 dependent AES rounds
 * per 16 bytes with AES-256), so one region runs at the latency of AESENC, ~1.2 GB/s here. Eight regions
 * interleaved run at its throughput instead (the way CBC decryption already does inside one region).
 * Output is byte-identical to OpenSSL's AES-CBC without padding (test/unit/crypto/batch-cipher.test.ts).
 */
#ifndef SVR_AES_CBC_LANES_H
#define SVR_AES_CBC_LANES_H

#include <stdint.h>

/* Expanded key: rounds + 1 round keys of 16 bytes (AES-128: 10 rounds, AES-256: 14) for encryption (rk) and for
 * AESDEC's equivalent inverse cipher (dk: rk reversed, the inner ones through InvMixColumns; FIPS-197 §5.3.5). */
typedef struct {
  uint8_t rk[15 * 16];
  uint8_t dk[15 * 16];
  int rounds;
} svr_aes_lanes_key;

#define SVR_AES_MAX_LANES 16

/* Which region each CBC encryption lane runs (aes-cbc-lanes.c, aes-cbc-vaes.c). An idle lane encrypts its own scratch
 * block, so the inner loop has no branch per lane. */
typedef struct {
  uint8_t *ptr[SVR_AES_MAX_LANES];
  uint32_t left[SVR_AES_MAX_LANES], stride[SVR_AES_MAX_LANES];
  uint32_t start[SVR_AES_MAX_LANES]; /* the region a lane took at the last refill, else UINT32_MAX */
  uint32_t next;
  uint8_t scratch[SVR_AES_MAX_LANES][32];
} svr_aes_lanes_run;

/* Every lane idle, the regions from the first. */
void svr_aes_lanes_begin(svr_aes_lanes_run *r);
/* Gives each idle lane of the first `lanes` the next region with blocks (region i: blocks[i] blocks at data[i]);
 * returns the steps every busy lane can take together, 0 when all are idle and no region is left. */
uint32_t svr_aes_lanes_refill(svr_aes_lanes_run *r, int lanes, uint8_t *const *data, const uint32_t *blocks,
                              uint32_t count);
/* After `steps` steps: the busy lanes' blocks left and pointers moved on. */
void svr_aes_lanes_done(svr_aes_lanes_run *r, int lanes, uint32_t steps);

/* 1 when this CPU has AES-NI (and SSE4.1), so the functions below may run. */
int svr_aes_lanes_available(void);

/* Expands a 16- or 32-byte key. Returns 0, or -1 for another length or without AES-NI. */
int svr_aes_lanes_expand(svr_aes_lanes_key *k, const uint8_t *key, uint32_t key_len);

/*
 * Encrypts region i in place for i < count: blocks[i] 16-byte blocks at data[i], CBC-chained from the
 * 16-byte IV at iv[i] (the IV may sit right in front of the blocks, as in svrouter's framing).
 */
void svr_aes_lanes_cbc_encrypt(const svr_aes_lanes_key *k, uint8_t *const *data, const uint8_t *const *iv,
                               const uint32_t *blocks, uint32_t count);

/* 1 when this CPU has VAES and AVX-512 F, so the svr_aes_vaes_ functions may run (aes-cbc-vaes.c). */
int svr_aes_vaes_available(void);

/*
 * CBC decryption of one region in place, moved down by its IV (NIST SP 800-38A §6.2): p[0, 16) is the IV and
 * p[16, 16 + 16 * blocks) the ciphertext; afterwards p[0, 16 * blocks) holds the plaintext (padding not checked),
 * the bytes after it are left as they were. Four blocks per AESDEC (512-bit VAES), sixteen in flight.
 */
void svr_aes_vaes_cbc_open(const svr_aes_lanes_key *k, uint8_t *p, uint32_t blocks);

/*
 * CBC encryption of region i in place for i < count, 16 chains at a time, four per 512-bit VAESENC (aes-cbc-vaes.c),
 * moved up by the IV in the same pass: data[i][0, 16 * blocks[i]) holds the plaintext with its padding; afterwards
 * data[i][0, 16) is the 16-byte IV at iv[i] (not inside the region) and data[i][16, 16 + 16 * blocks[i]) the
 * ciphertext. The same bytes as the IV, then svr_aes_lanes_cbc_encrypt. Call only when svr_aes_vaes_available().
 */
void svr_aes_vaes_cbc_seal(const svr_aes_lanes_key *k, uint8_t *const *data, const uint8_t *const *iv,
                           const uint32_t *blocks, uint32_t count);

/* Zeroes the key schedule. */
void svr_aes_lanes_wipe(svr_aes_lanes_key *k);

#endif
