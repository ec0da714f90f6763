/*
 * svr_native: shared declarations of the svrouter N-API addon.
 *
 * Each component (tun.c, later crypto/sendmmsg) has one svr_<name>_init(env, exports) that adds
 * its functions to the exports object; main.c calls them all. Components keep per-env state in
 * the callback data of their functions (no globals), so the addon also works in worker_threads.
 */
#ifndef SVR_NATIVE_H
#define SVR_NATIVE_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

/* Return NULL from a napi_callback when a napi call failed (an exception is then pending or thrown). */
#define SVR_CHECK(env, call)                                   \
  do {                                                         \
    if ((call) != napi_ok) {                                   \
      svr_throw_last_status(env, #call);                       \
      return NULL;                                             \
    }                                                          \
  } while (0)

/* An Error whose message is strerror(err), with properties errno (positive) and syscall; NULL on failure. */
napi_value svr_errno_error(napi_env env, int err, const char *syscall);
/* Throws svr_errno_error(env, err, syscall). */
void svr_throw_errno(napi_env env, int err, const char *syscall);
/* Throws the last napi error (if no exception is pending yet). */
void svr_throw_last_status(napi_env env, const char *what);
/* Defines exports[name] = function(fn) with `data` passed to every call. */
napi_status svr_export_fn(napi_env env, napi_value exports, const char *name, napi_callback fn, void *data);
napi_status svr_export_u32(napi_env env, napi_value exports, const char *name, uint32_t value);

/* Argument helpers: on failure they throw a TypeError naming the argument and return -1. */
int svr_arg_i32(napi_env env, napi_value v, const char *what, int32_t *out);
int svr_arg_u32(napi_env env, napi_value v, const char *what, uint32_t *out);
/* A typed array of the given type; *len is its element count. */
int svr_arg_typed(napi_env env, napi_value v, napi_typedarray_type type, const char *what, void **data, size_t *len);
/* An ArrayBuffer: its bytes and byte length. */
int svr_arg_arraybuffer(napi_env env, napi_value v, const char *what, void **data, size_t *len);
/* Deletes *r when set and clears it. */
void svr_unref(napi_env env, napi_ref *r);
/* The native table a call's first argument holds (fills argc/argv); NULL after throwing `code`/`msg` when it holds none. */
void *svr_arg_handle(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv, const char *code, const char *msg);
/* A create call's one argument: a table capacity, a power of two from 16 to 2^24; -1 after throwing (named `fn`). */
int svr_arg_capacity(napi_env env, napi_callback_info info, const char *fn, uint32_t *cap);

/* native/checksum.c: acc plus p[0, n) read as native 32-bit words (an odd last byte zero-padded after it), unfolded:
 * the Internet checksum's sum in native byte order once folded to 16 bits (RFC 1071 §2(B)). AVX2 where present. */
uint64_t svr_sum32(uint64_t acc, const uint8_t *p, size_t n);
/* native/checksum.c: the ones-complement sum of p[0, n) as big-endian 16-bit words, folded; 0 only for all-zero bytes. */
uint16_t svr_ones_sum_be(const uint8_t *p, size_t n);

/* native/crypto.c, for native/fwd.c: the handle behind a cipherCreate (hmac 0) / hmacCreate (1) value (NULL after a
 * throw); whether it is not destroyed; CBC or not; the HMAC's digest size; CBC seals of n regions data[off[i],
 * + len[i]) in place, 8 chains at a time (IVs from the handle's pool; 32 bytes of tailroom each; len[i] updated; -1 on
 * failure); the tags (slot -1: no time slot) of n regions, 16 at a time when that pays, appended (len[i] += tag_len). */
void *svr_crypto_handle(napi_env env, napi_value v, int hmac);
/* The live HMAC key of hmacKeyId's id, or NULL (no such id, or destroyed). */
const void *svr_crypto_hmac_by_id(uint32_t id);
int svr_crypto_live(const void *handle);
int svr_crypto_cbc(const void *handle);
uint32_t svr_crypto_tag_max(const void *handle);
int svr_crypto_seal_many(void *handle, uint8_t *data, uint32_t *off, uint32_t *len, uint32_t n);
void svr_crypto_sign_many(const void *handle, uint8_t *data, uint32_t *off, uint32_t *len, uint32_t n, uint32_t tag_len,
                          int64_t slot);
/* native/crypto.c, for native/hmac-many.c: the svr_hmac_pads of an HMAC handle; *way: how its tags may be hashed
 * together (SVR_HMAC_WAY_*, hmac-lanes.h). */
const void *svr_crypto_pads(const void *handle, int *way);
/* native/hmac-many.c: hmacSignMany and hmacVerifyMany (registered by svr_crypto_init). */
napi_status svr_hmac_many_init(napi_env env, napi_value exports);
/* native/steady-send.c: steadySendFinish for one IPv4/IPv6 TCP or UDP packet (see its desc words). */
void svr_steady_finish_one(uint8_t *d, uint32_t l3, uint32_t l4, int v6, uint32_t proto, uint32_t end, uint32_t signed_end,
                           int grew, const uint8_t *src, const uint8_t *dst, uint32_t ports);
/* native/steady-send.c: rewrite.ts verifyL4Checksum of an unfragmented packet. */
int svr_steady_verify_l4(const uint8_t *d, uint32_t l3, uint32_t l4, int v6, uint32_t proto, uint32_t end);
napi_status svr_fwd_init(napi_env env, napi_value exports);
/* native/crypto.c, for native/fwd-in.c: hmacVerifyBatch's verdicts (status[i] 0: the tag matched, len[i] -= tag_len)
 * and decryptBatch's (status[i] 0: len[i] is the plaintext's, at off[i]; -1 on an OpenSSL failure) over regions the
 * caller checked. native/steady-send.c: the L4 checksum for bytes [end, full_end) taken off the tail
 * (packet-ops.ts adjustChecksumForTail, removing); and rewrite.ts setAddresses + setPorts of an IPv4 TCP/UDP
 * packet (the IPv4 header checksum is left to the caller). */
uint32_t svr_crypto_verify_many(void *handle, uint8_t *data, uint32_t *off, uint32_t *len, uint32_t n, uint32_t tag_len,
                                int64_t slot, uint8_t *status);
int64_t svr_crypto_open_many(void *handle, uint8_t *data, uint32_t *off, uint32_t *len, uint32_t n, uint8_t *status);
void svr_steady_untail(uint8_t *d, uint32_t l4, uint32_t proto, uint32_t end, uint32_t full_end);
void svr_steady_rewrite4(uint8_t *d, uint32_t proto, const uint8_t *src, const uint8_t *dst, uint32_t ports);
void svr_steady_ip_length4(uint8_t *d, uint32_t proto, uint32_t end);

#ifndef SVR_NO_TUN
napi_status svr_tun_init(napi_env env, napi_value exports);
#endif

#endif
