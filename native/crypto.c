/*
 * crypto.c: batch packet crypto for svrouter. All decisions (which key, which cipher, which packets,
 * what a failed check means) live in TypeScript (src/crypto/native-crypto.ts); this file only runs
 * OpenSSL over a batch in one JS->C call, with contexts keyed once per handle.
 *
 * OpenSSL is Node's own: the headers come from Node's include/node/openssl (node-gyp puts them first on
 * the include path) and the symbols are resolved at load time against the ones the node binary exports.
 * There is no separate libcrypto link, so the addon always runs the OpenSSL version Node runs
 * (cryptoOpensslVersion() reports it).
 *
 * Batch layout (as everywhere in svrouter): one Uint8Array `data`, Uint32Array `offsets` and `lengths`,
 * a `count`. Region i is data[offsets[i], offsets[i] + lengths[i]). Every function checks all regions
 * before it touches any byte, so a range error leaves the batch unchanged.
 *
 * Functions (handles are externals; a handle of the wrong type or a destroyed one throws)
 *   cipherCreate(kind, key) -> handle
 *       kind "aes-128-cbc" (16-byte key), "aes-256-cbc" (32), "aes-256-gcm" (32). One encrypt and one
 *       decrypt EVP context, keyed here; per packet only the IV changes.
 *   encryptBatch(h, data, offsets, lengths, count[, ivs]) -> undefined
 *       In place. CBC: region := IV(16) || AES-CBC(plaintext || PKCS#7 pad), pad 1..16, so the region
 *       grows by 16 + pad (17..32) bytes. GCM: region := nonce(12) || ciphertext || tag(16), +28 bytes,
 *       no AAD. The plaintext is moved right by the IV (memmove) and encrypted in place. All IVs of a
 *       batch come from a per-handle pool (see below; no allocation per packet).
 *       lengths[i] is updated. The tailroom (the exact growth) must be inside `data`, and must not
 *       overlap another region. `ivs` (count * IV length bytes) replaces the random IVs: tests only.
 *       CBC on a CPU with AES-NI, 2+ packets: the same bytes from aes-cbc-lanes.c, which runs the CBC
 *       chains of 8 packets interleaved (one chain runs at AESENC's latency, 8 at its throughput); with VAES and
 *       more than 8 packets 16 chains, four per 512-bit instruction (aes-cbc-vaes.c).
 *       Random IVs come from a per-handle pool refilled by one RAND_bytes call of max(4 KiB, batch)
 *       bytes: at most one call per batch, and about one per 256 packets at batch 1 (a RAND_bytes
 *       call costs ~1.5 µs in OpenSSL 3.0, more than encrypting a small packet). IVs are public, so
 *       holding the next ones in memory reveals nothing an eavesdropper will not see anyway.
 *   decryptBatch(h, data, offsets, lengths, count, status) -> packets ok
 *       In place, the inverse; plaintext moves to offsets[i]. status[i]: 0 ok (lengths[i] updated),
 *       1 too short or not IV + whole blocks (region untouched), 2 bad padding, 3 GCM tag mismatch
 *       (2 and 3: region zeroed, as it held unauthenticated plaintext; lengths[i] unchanged).
 *       Never throws for a bad packet. CBC on a CPU with VAES and AVX-512: aes-cbc-vaes.c's pass, four blocks per
 *       instruction, the plaintext written moved down in the same pass (no memmove); the same bytes.
 *   hmacCreate(alg, key) -> handle        alg "sha256" | "sha1"; key >= 1 byte. The hash states after the
 *       key's inner and outer pads, keyed once (hmac-pads.c); per packet they are copied, not re-keyed.
 *   hmacSignBatch(h, data, offsets, lengths, count, tagLength, slot) -> undefined
 *       Writes the first tagLength bytes of HMAC(region || slot as 4 big-endian bytes when slot >= 0)
 *       right after the region and adds tagLength to lengths[i] (same bytes as src/crypto/hmac.ts).
 *       slot is -1 (none) or 0..2^32-1.
 *   hmacVerifyBatch(h, data, offsets, lengths, count, tagLength, slot, status) -> packets ok
 *       The trailer is the region's last tagLength bytes. With slot >= 0 the slots slot, slot-1 and
 *       slot+1 (mod 2^32) are accepted (as verifyTrailer). Constant-time compare. status[i] 0: ok and
 *       the trailer stripped (lengths[i] -= tagLength); 1: too short or no match, region untouched.
 *   hmacSignMany / hmacVerifyMany: the same for regions of many keys in one call (native/hmac-many.c).
 *   hmacKeyId(h) -> id >= 1   the key's id for the many-key calls (given once; returned when h is destroyed).
 *   cryptoDestroy(h)   frees the contexts now (OpenSSL cleanses key material); twice is a no-op.
 *                      The handle's memory is freed by its finalizer.
 *   cryptoOpensslVersion() -> "3.0.19": the OpenSSL the addon's calls really reach.
 *   cryptoAesVaes() -> whether CBC decryption runs aes-cbc-vaes.c's pass here (VAES, AVX-512 F, AES-NI).
 *   cryptoTestIvs(seed)   tests only: ciphers created while seed != 0 take their IVs from a seeded stream of their
 *                      own instead of RAND_bytes (one branch per call that takes IVs, none per packet).
 *
 * Errors are thrown with a `code`: SVR_CRYPTO_KIND (unknown kind or alg), SVR_CRYPTO_KEY (bad key
 * length), SVR_CRYPTO_RANGE (RangeError: a region, count, array or argument out of range),
 * SVR_CRYPTO_HANDLE (not a handle of this type, or destroyed), SVR_CRYPTO_OPENSSL (an OpenSSL call
 * failed; cannot happen with valid input, the batch is then in an unspecified state).
 */
#include "svr_native.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "aes-cbc-lanes.h"
#include "hmac-lanes.h"
#include "hmac-pads.h"
#include "hmac-shani.h"

#define MAGIC_CIPHER 0x53564331u /* "SVC1" */
#define MAGIC_HMAC 0x53564d31u   /* "SVM1" */

#define KIND_CBC 1
#define KIND_GCM 2

#define CBC_IV 16
#define GCM_NONCE 12
#define GCM_TAG 16
#define IV_POOL 4096
/* Largest region handled: keeps every int length passed to OpenSSL far from INT_MAX. */
#define MAX_REGION (1u << 30)

typedef struct handle_head {
  uint32_t magic;
  int destroyed;
  void (*release)(struct handle_head *); /* frees the OpenSSL contexts */
} handle_head;

typedef struct {
  handle_head head;
  int kind;
  uint32_t iv_len;
  EVP_CIPHER_CTX *enc, *dec;
  uint8_t enc_chain[CBC_IV]; /* CBC: enc's chaining value, the last ciphertext block it wrote (zeros at create) */
  svr_aes_lanes_key lanes; /* CBC with AES-NI: batches of 2+ packets are encrypted 8 at a time */
  int lanes_ok;
  int vaes_ok; /* CBC with VAES (aes-cbc-vaes.c): decrypted 4 blocks per instruction, moved down in the same pass;
                * batches encrypted 16 chains at a time */
  uint8_t *ivs; /* random IV pool: ivs[ivs_pos, ivs_cap) not used yet */
  size_t ivs_cap, ivs_pos;
  int iv_seeded;    /* tests only (cryptoTestIvs): IVs from iv_state's splitmix64 stream, not RAND_bytes */
  uint64_t iv_state;
} cipher_handle;

/* cryptoTestIvs: 0, or the seed of every cipher created from now on (tests only; the JS thread sets it) */
static uint64_t test_iv_seed;

/* The IV a CBC handle's encrypting context starts from: its enc_chain (GCM sets its nonce per packet). */
static const uint8_t zero_block[CBC_IV];

typedef struct {
  handle_head head;
  svr_hmac_pads pads;
  uint32_t mac_size;
  int way; /* SHA-256 tags of a batch together: SVR_HMAC_WAY_* (hmac-lanes.h), fixed at create */
  uint32_t id; /* hmacKeyId's, 0: none yet */
} hmac_handle;

/*
 * HMAC keys by id (hmacKeyId): the many-key calls (hmac-many.c) take a Uint32Array of ids instead of an Array of
 * handles, whose napi_get_element + napi_typeof + napi_get_value_external per region were ~5 % of a 1,000-spoke
 * hub's main thread (perf, docs/performance.md "Hub scale", hub13). Chunks never move once published, so a lookup
 * takes no lock; ids are given and returned under key_mu (every thread's keys share the table). A key's id is
 * returned when it is destroyed or finalized: a stale id then finds NULL (or, reused, another live key of the same
 * process: callers keep the key alive while they use its id, as TagBatch does).
 */
#define KEY_CHUNK 4096u
#define KEY_CHUNKS 256u
static hmac_handle **key_chunk[KEY_CHUNKS];
static pthread_mutex_t key_mu = PTHREAD_MUTEX_INITIALIZER;
static uint32_t key_next = 1;
static uint32_t *key_free;
static uint32_t key_free_n, key_free_cap;

static hmac_handle **key_entry(uint32_t id) {
  hmac_handle **c = id / KEY_CHUNK < KEY_CHUNKS ? __atomic_load_n(&key_chunk[id / KEY_CHUNK], __ATOMIC_ACQUIRE) : NULL;
  return c == NULL ? NULL : &c[id % KEY_CHUNK];
}

/* h's id, given now if it has none; 0 when the table is full or out of memory. */
static uint32_t key_register(hmac_handle *h) {
  if (h->id != 0) return h->id;
  pthread_mutex_lock(&key_mu);
  uint32_t id = key_free_n > 0 ? key_free[--key_free_n] : key_next;
  hmac_handle **e = key_entry(id);
  if (e == NULL && id / KEY_CHUNK < KEY_CHUNKS) {
    hmac_handle **c = calloc(KEY_CHUNK, sizeof *c);
    if (c != NULL) __atomic_store_n(&key_chunk[id / KEY_CHUNK], c, __ATOMIC_RELEASE);
    e = key_entry(id);
  }
  if (e != NULL) {
    __atomic_store_n(e, h, __ATOMIC_RELEASE);
    h->id = id;
    if (id == key_next) key_next++;
  } else if (id != key_next) key_free_n++; /* not used: back on the free list */
  pthread_mutex_unlock(&key_mu);
  return h->id;
}

static void key_unregister(hmac_handle *h) {
  if (h->id == 0) return;
  pthread_mutex_lock(&key_mu);
  __atomic_store_n(key_entry(h->id), NULL, __ATOMIC_RELEASE);
  if (key_free_n == key_free_cap) {
    uint32_t cap = key_free_cap == 0 ? 256 : key_free_cap * 2;
    uint32_t *f = realloc(key_free, cap * sizeof *f);
    if (f != NULL) {
      key_free = f;
      key_free_cap = cap;
    }
  }
  if (key_free_n < key_free_cap) key_free[key_free_n++] = h->id; /* else the id is never given again */
  pthread_mutex_unlock(&key_mu);
  h->id = 0;
}

/* ---- errors ---- */

static void throw_coded(napi_env env, const char *code, const char *msg) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, code, msg);
}

static void throw_range(napi_env env, const char *msg) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_range_error(env, "SVR_CRYPTO_RANGE", msg);
}

static void throw_openssl(napi_env env, const char *what) {
  char err[200] = "no OpenSSL error queued";
  unsigned long e = ERR_get_error();
  if (e != 0) ERR_error_string_n(e, err, sizeof err);
  ERR_clear_error();
  char buf[320];
  snprintf(buf, sizeof buf, "svr_native crypto: %s failed: %s", what, err);
  throw_coded(env, "SVR_CRYPTO_OPENSSL", buf);
}

/* ---- handles ---- */

static void free_cipher_contexts(handle_head *head) {
  cipher_handle *c = (cipher_handle *)head;
  EVP_CIPHER_CTX_free(c->enc); /* cleanses the key schedule */
  EVP_CIPHER_CTX_free(c->dec);
  c->enc = c->dec = NULL;
  svr_aes_lanes_wipe(&c->lanes);
  c->lanes_ok = c->vaes_ok = 0;
  free(c->ivs);
  c->ivs = NULL;
  c->ivs_cap = c->ivs_pos = 0;
}

static void free_hmac_context(handle_head *head) {
  hmac_handle *h = (hmac_handle *)head;
  key_unregister(h);
  svr_hmac_pads_wipe(&h->pads);
}

static void destroy_handle(handle_head *head) {
  if (head->destroyed) return;
  head->destroyed = 1;
  head->release(head);
}

static void finalize_handle(napi_env env, void *data, void *hint) {
  handle_head *head = data;
  destroy_handle(head);
  head->magic = 0;
  free(head);
}

/* The handle behind v when it is an external of ours with this magic (0: either), else throws. */
static handle_head *get_handle(napi_env env, napi_value v, uint32_t magic, int allow_destroyed) {
  napi_valuetype t;
  void *p = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &p) != napi_ok ||
      p == NULL) {
    throw_coded(env, "SVR_CRYPTO_HANDLE", "not a crypto handle (expected the value returned by cipherCreate/hmacCreate)");
    return NULL;
  }
  handle_head *head = p;
  if (!(head->magic == MAGIC_CIPHER || head->magic == MAGIC_HMAC) || (magic != 0 && head->magic != magic)) {
    throw_coded(env, "SVR_CRYPTO_HANDLE",
                magic == MAGIC_HMAC ? "not an HMAC handle (expected the value returned by hmacCreate)"
                                    : "not a cipher handle (expected the value returned by cipherCreate)");
    return NULL;
  }
  if (head->destroyed && !allow_destroyed) {
    throw_coded(env, "SVR_CRYPTO_HANDLE", "the crypto handle was destroyed");
    return NULL;
  }
  return head;
}

static napi_value wrap_handle(napi_env env, handle_head *head) {
  napi_value ext;
  if (napi_create_external(env, head, finalize_handle, NULL, &ext) != napi_ok) {
    destroy_handle(head);
    free(head);
    svr_throw_last_status(env, "napi_create_external");
    return NULL;
  }
  return ext;
}

/* ---- arguments ---- */

static int arg_string(napi_env env, napi_value v, const char *what, char *buf, size_t cap) {
  size_t n = 0;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string ||
      napi_get_value_string_utf8(env, v, buf, cap, &n) != napi_ok) {
    char msg[120];
    snprintf(msg, sizeof msg, "%s must be a string", what);
    napi_throw_type_error(env, NULL, msg);
    return -1;
  }
  return 0;
}

typedef struct {
  uint8_t *data;
  size_t data_len;
  uint32_t *off, *len;
  uint32_t count;
} batch;

/* argv[0..3] = data, offsets, lengths, count. Checks count against both arrays. */
static int arg_batch(napi_env env, napi_value *argv, batch *b) {
  void *d, *o, *l;
  size_t dn, on, ln;
  if (svr_arg_typed(env, argv[0], napi_uint8_array, "data", &d, &dn) != 0) return -1;
  if (svr_arg_typed(env, argv[1], napi_uint32_array, "offsets", &o, &on) != 0) return -1;
  if (svr_arg_typed(env, argv[2], napi_uint32_array, "lengths", &l, &ln) != 0) return -1;
  if (svr_arg_u32(env, argv[3], "count", &b->count) != 0) return -1;
  if (b->count > on || b->count > ln) {
    char msg[160];
    snprintf(msg, sizeof msg, "count %u exceeds offsets (%zu) or lengths (%zu)", b->count, on, ln);
    throw_range(env, msg);
    return -1;
  }
  b->data = d;
  b->data_len = dn;
  b->off = o;
  b->len = l;
  return 0;
}

/* Every region i, grown by grow(i) bytes, lies inside data. grow_kind: 0 none, else see region_growth. */
static int check_regions(napi_env env, const batch *b, int kind, uint32_t extra, const char *what) {
  for (uint32_t i = 0; i < b->count; i++) {
    uint64_t len = b->len[i];
    uint64_t grow = extra;
    if (kind == KIND_CBC) grow = CBC_IV + (16 - (len & 15));
    else if (kind == KIND_GCM) grow = GCM_NONCE + GCM_TAG;
    if (len > MAX_REGION || (uint64_t)b->off[i] + len + grow > b->data_len) {
      char msg[240];
      snprintf(msg, sizeof msg,
               "%s: region %u (offset %u, length %u) plus %u bytes of growth does not fit in data (%zu bytes)",
               what, i, b->off[i], b->len[i], (unsigned)grow, b->data_len);
      throw_range(env, msg);
      return -1;
    }
  }
  return 0;
}

static int arg_status(napi_env env, napi_value v, uint32_t count, uint8_t **status) {
  void *s;
  size_t sn;
  if (svr_arg_typed(env, v, napi_uint8_array, "status", &s, &sn) != 0) return -1;
  if (sn < count) {
    char msg[120];
    snprintf(msg, sizeof msg, "status has %zu entries, count is %u", sn, count);
    throw_range(env, msg);
    return -1;
  }
  *status = s;
  return 0;
}

/* slot: -1 (none) or an integer 0..2^32-1. */
static int arg_slot(napi_env env, napi_value v, int64_t *slot) {
  double d;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number || napi_get_value_double(env, v, &d) != napi_ok) {
    napi_throw_type_error(env, NULL, "slot must be a number");
    return -1;
  }
  if (!(d >= -1.0 && d <= 4294967295.0) || (double)(int64_t)d != d) {
    throw_range(env, "slot must be -1 (none) or an integer 0..2^32-1");
    return -1;
  }
  *slot = (int64_t)d;
  return 0;
}

/* ---- ciphers ---- */

static napi_value cipher_create(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char kind[32];
  void *key;
  size_t key_len;
  if (arg_string(env, argv[0], "kind", kind, sizeof kind) != 0) return NULL;
  if (svr_arg_typed(env, argv[1], napi_uint8_array, "key", &key, &key_len) != 0) return NULL;

  const EVP_CIPHER *cipher;
  int k;
  size_t need;
  if (strcmp(kind, "aes-128-cbc") == 0) cipher = EVP_aes_128_cbc(), k = KIND_CBC, need = 16;
  else if (strcmp(kind, "aes-256-cbc") == 0) cipher = EVP_aes_256_cbc(), k = KIND_CBC, need = 32;
  else if (strcmp(kind, "aes-256-gcm") == 0) cipher = EVP_aes_256_gcm(), k = KIND_GCM, need = 32;
  else {
    char msg[120];
    snprintf(msg, sizeof msg, "unknown cipher kind \"%s\" (aes-128-cbc, aes-256-cbc or aes-256-gcm)", kind);
    throw_coded(env, "SVR_CRYPTO_KIND", msg);
    return NULL;
  }
  if (key_len != need) {
    char msg[120]; /* the key's length only, never its bytes */
    snprintf(msg, sizeof msg, "%s needs a %zu-byte key, got %zu bytes", kind, need, key_len);
    throw_coded(env, "SVR_CRYPTO_KEY", msg);
    return NULL;
  }

  cipher_handle *c = calloc(1, sizeof *c);
  if (c == NULL) {
    throw_coded(env, "SVR_CRYPTO_OPENSSL", "out of memory");
    return NULL;
  }
  c->head.magic = MAGIC_CIPHER;
  c->head.release = free_cipher_contexts;
  c->kind = k;
  c->iv_len = k == KIND_CBC ? CBC_IV : GCM_NONCE;
  c->enc = EVP_CIPHER_CTX_new();
  c->dec = EVP_CIPHER_CTX_new();
  if (c->enc == NULL || c->dec == NULL || EVP_CipherInit_ex(c->enc, cipher, NULL, key, zero_block, 1) != 1 ||
      EVP_CipherInit_ex(c->dec, cipher, NULL, key, NULL, 0) != 1 || EVP_CIPHER_CTX_set_padding(c->enc, 0) != 1 ||
      EVP_CIPHER_CTX_set_padding(c->dec, 0) != 1 || (int)c->iv_len != EVP_CIPHER_CTX_get_iv_length(c->enc)) {
    free_cipher_contexts(&c->head);
    free(c);
    throw_openssl(env, "cipherCreate");
    return NULL;
  }
  c->lanes_ok = k == KIND_CBC && svr_aes_lanes_expand(&c->lanes, key, (uint32_t)key_len) == 0;
  c->vaes_ok = c->lanes_ok && svr_aes_vaes_available();
  c->iv_seeded = test_iv_seed != 0;
  c->iv_state = test_iv_seed;
  return wrap_handle(env, &c->head);
}

/* In place: p[0, len) -> IV || CBC(p || pad). The tailroom was checked. The context runs on from the last packet:
 * its chaining value is c->enc_chain, so P1 ^ IV ^ chain enters it and C1 = E(P1 ^ IV) as with the IV set (NIST SP
 * 800-38A §6.2), without an EVP_CipherInit_ex per packet (its parameter lookups by name were 2.2 % of a pinging
 * router's main thread, rtt9). */
static int cbc_encrypt(cipher_handle *c, uint8_t *p, uint32_t len, const uint8_t *iv, uint32_t *out_len) {
  uint32_t pad = 16 - (len & 15), n = len + pad;
  int outl = 0;
  memmove(p + CBC_IV, p, len);
  memcpy(p, iv, CBC_IV);
  memset(p + CBC_IV + len, (int)pad, pad);
  for (int i = 0; i < CBC_IV; i++) p[CBC_IV + i] ^= iv[i] ^ c->enc_chain[i];
  if (EVP_EncryptUpdate(c->enc, p + CBC_IV, &outl, p + CBC_IV, (int)n) != 1 || (uint32_t)outl != n) {
    memset(c->enc_chain, 0, CBC_IV); /* the chain is known again (the failed packet is not sent) */
    EVP_CipherInit_ex(c->enc, NULL, NULL, NULL, zero_block, -1);
    return -1;
  }
  memcpy(c->enc_chain, p + CBC_IV + n - 16, CBC_IV);
  *out_len = CBC_IV + n;
  return 0;
}

/* In place: p[0, len) -> nonce || GCM(p) || tag. */
static int gcm_encrypt(EVP_CIPHER_CTX *ctx, uint8_t *p, uint32_t len, const uint8_t *nonce, uint32_t *out_len) {
  int outl = 0;
  memmove(p + GCM_NONCE, p, len);
  memcpy(p, nonce, GCM_NONCE);
  if (EVP_CipherInit_ex(ctx, NULL, NULL, NULL, p, -1) != 1) return -1;
  if (len > 0 && (EVP_EncryptUpdate(ctx, p + GCM_NONCE, &outl, p + GCM_NONCE, (int)len) != 1 || (uint32_t)outl != len))
    return -1;
  if (EVP_EncryptFinal_ex(ctx, p + GCM_NONCE + len, &outl) != 1 || outl != 0) return -1;
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, GCM_TAG, p + GCM_NONCE + len) != 1) return -1;
  *out_len = GCM_NONCE + len + GCM_TAG;
  return 0;
}

/* cbc_encrypt for every region of b, the AES rounds of 8 regions interleaved (aes-cbc-lanes.c), 16 with VAES when
 * more than 8 are left, moved up by the IV in the same pass (1,389-byte AES-256 packets, ns of CPU each, tcp16: 8-wide 290 at 16 and 64 a batch, 300 at 8;
 * VAES 181, 181, 345). */
static void cbc_encrypt_lanes(cipher_handle *c, batch *b, const uint8_t *ivs) {
  enum { CHUNK = 64 };
  uint8_t *data[CHUNK];
  const uint8_t *iv[CHUNK];
  uint32_t blocks[CHUNK];
  for (uint32_t at = 0; at < b->count; at += CHUNK) {
    uint32_t n = b->count - at < CHUNK ? b->count - at : CHUNK;
    int wide = c->vaes_ok && n > 8; /* 8 or fewer: the idle lanes would cost more */
    for (uint32_t j = 0; j < n; j++) {
      uint32_t i = at + j, len = b->len[i], pad = 16 - (len & 15);
      uint8_t *p = b->data + b->off[i];
      if (wide) { /* padded where it is; svr_aes_vaes_cbc_seal moves it up by the IV as it goes */
        memset(p + len, (int)pad, pad);
        data[j] = p;
        iv[j] = ivs + (size_t)i * CBC_IV;
      } else {
        memmove(p + CBC_IV, p, len);
        memcpy(p, ivs + (size_t)i * CBC_IV, CBC_IV);
        memset(p + CBC_IV + len, (int)pad, pad);
        data[j] = p + CBC_IV;
        iv[j] = p;
      }
      blocks[j] = (len + pad) / 16;
      b->len[i] = CBC_IV + len + pad;
    }
    if (wide) svr_aes_vaes_cbc_seal(&c->lanes, data, iv, blocks, n);
    else svr_aes_lanes_cbc_encrypt(&c->lanes, data, iv, blocks, n);
  }
}

/* The pool holds at least `cap` bytes; -1 (*what says why) when out of memory. */
static int pool_grow(cipher_handle *c, size_t cap, const char **what) {
  if (c->ivs_cap >= cap) return 0;
  uint8_t *grown = realloc(c->ivs, cap);
  if (grown == NULL) {
    *what = "out of memory (IV pool)";
    return -1;
  }
  c->ivs = grown;
  c->ivs_cap = cap;
  return 0;
}

/* Tests only: `need` bytes of the handle's own splitmix64 stream, so two handles created with the same seed give the
 * same IVs in the same order however their callers split them into calls (the JS and the native path of svr-out). */
static const uint8_t *test_ivs(cipher_handle *c, size_t need, const char **what) {
  if (pool_grow(c, need, what) != 0) return NULL;
  c->ivs_pos = c->ivs_cap; /* a later switch back to RAND_bytes refills first */
  for (size_t i = 0; i < need; i += 8) {
    uint64_t z = (c->iv_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    for (size_t j = 0; j < 8 && i + j < need; j++) c->ivs[i + j] = (uint8_t)(z >> (8 * j));
  }
  return c->ivs;
}

/* `need` fresh random bytes from the handle's pool; at most one RAND_bytes call. NULL when out of memory or RAND_bytes
 * failed (*what says which). */
static const uint8_t *pool_take(cipher_handle *c, size_t need, const char **what) {
  if (c->iv_seeded) return test_ivs(c, need, what);
  if (c->ivs_cap - c->ivs_pos < need) {
    if (pool_grow(c, need > IV_POOL ? need : IV_POOL, what) != 0) return NULL;
    c->ivs_pos = c->ivs_cap; /* nothing usable until the refill succeeds */
    if (RAND_bytes(c->ivs, (int)c->ivs_cap) != 1) {
      *what = "RAND_bytes";
      return NULL;
    }
    c->ivs_pos = 0;
  }
  const uint8_t *p = c->ivs + c->ivs_pos;
  c->ivs_pos += need;
  return p;
}

/* pool_take for a JS call: throws. */
static const uint8_t *take_ivs(napi_env env, cipher_handle *c, size_t need) {
  if (need > MAX_REGION) {
    throw_range(env, "encryptBatch: too many packets in one batch for the IV pool (more than 1 GiB of IVs)");
    return NULL;
  }
  const char *what = NULL;
  const uint8_t *p = pool_take(c, need, &what);
  if (p == NULL && strcmp(what, "RAND_bytes") == 0) throw_openssl(env, what);
  else if (p == NULL) throw_coded(env, "SVR_CRYPTO_OPENSSL", what);
  return p;
}

static napi_value encrypt_batch(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) {
    napi_throw_type_error(env, NULL, "encryptBatch(handle, data, offsets, lengths, count[, ivs])");
    return NULL;
  }
  cipher_handle *c = (cipher_handle *)get_handle(env, argv[0], MAGIC_CIPHER, 0);
  if (c == NULL) return NULL;
  batch b;
  if (arg_batch(env, argv + 1, &b) != 0) return NULL;
  if (check_regions(env, &b, c->kind, 0, "encryptBatch") != 0) return NULL;
  if (b.count == 0) return NULL;

  size_t iv_bytes = (size_t)b.count * c->iv_len;
  const uint8_t *ivs;
  napi_valuetype t = napi_undefined;
  if (argc >= 6) napi_typeof(env, argv[5], &t);
  if (t != napi_undefined) {
    void *given;
    size_t given_len;
    if (svr_arg_typed(env, argv[5], napi_uint8_array, "ivs", &given, &given_len) != 0) return NULL;
    if (given_len < iv_bytes) {
      char msg[120];
      snprintf(msg, sizeof msg, "ivs has %zu bytes, %u packets need %zu", given_len, b.count, iv_bytes);
      throw_range(env, msg);
      return NULL;
    }
    ivs = given;
  } else {
    ivs = take_ivs(env, c, iv_bytes);
    if (ivs == NULL) return NULL;
  }

  if (c->lanes_ok && b.count >= 2) {
    cbc_encrypt_lanes(c, &b, ivs);
    return NULL;
  }
  for (uint32_t i = 0; i < b.count; i++) {
    uint8_t *p = b.data + b.off[i];
    const uint8_t *iv = ivs + (size_t)i * c->iv_len;
    uint32_t out_len;
    int r = c->kind == KIND_CBC ? cbc_encrypt(c, p, b.len[i], iv, &out_len)
                                : gcm_encrypt(c->enc, p, b.len[i], iv, &out_len);
    if (r != 0) {
      throw_openssl(env, "encryptBatch");
      return NULL;
    }
    b.len[i] = out_len;
  }
  return NULL;
}

/* PKCS#7 check of the last block, without branches on the padding bytes. Returns pad (1..16) or 0. */
static uint32_t cbc_padding(const uint8_t *last_block) {
  uint32_t pad = last_block[15];
  uint32_t diff = 0;
  for (uint32_t j = 0; j < 16; j++) {
    uint32_t in_pad = 0u - (uint32_t)(j < pad); /* all ones for the last `pad` bytes */
    diff |= in_pad & (uint32_t)(last_block[15 - j] ^ pad);
  }
  uint32_t ok = (uint32_t)(diff == 0) & (uint32_t)(pad - 1 < 16);
  return pad & (0u - ok);
}

/* Returns the status of one packet; -1 on an OpenSSL failure. The context runs on from the last packet, which
 * it may: the IV block is decrypted first and its output dropped, so the next block's plaintext is D(C1) ^ IV, as
 * with the IV set (NIST SP 800-38A §6.2), without an EVP_CipherInit_ex per packet (its parameter lookups by name
 * were ~3 % of a receiving router's samples, 16 bytes more AES ~1 %). */
static int cbc_decrypt(const cipher_handle *c, uint8_t *p, uint32_t len, uint32_t *out_len) {
  if (len < CBC_IV + 16 || (len & 15) != 0) return 1;
  uint32_t n = len - CBC_IV;
  int outl = 0;
  const uint8_t *plain = p; /* where the plaintext is: VAES writes it moved down already (aes-cbc-vaes.c) */
  if (c->vaes_ok) svr_aes_vaes_cbc_open(&c->lanes, p, n / 16);
  else if (EVP_DecryptUpdate(c->dec, p, &outl, p, (int)len) != 1 || (uint32_t)outl != len) return -1;
  else plain = p + CBC_IV;
  uint32_t pad = cbc_padding(plain + n - 16);
  if (pad == 0) {
    memset(p, 0, len);
    return 2;
  }
  if (plain != p) memmove(p, plain, n - pad);
  *out_len = n - pad;
  return 0;
}

static int gcm_decrypt(EVP_CIPHER_CTX *ctx, uint8_t *p, uint32_t len, uint32_t *out_len) {
  if (len < GCM_NONCE + GCM_TAG) return 1;
  uint32_t n = len - GCM_NONCE - GCM_TAG;
  int outl = 0;
  if (EVP_CipherInit_ex(ctx, NULL, NULL, NULL, p, -1) != 1) return -1;
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, GCM_TAG, p + len - GCM_TAG) != 1) return -1;
  if (n > 0 && (EVP_DecryptUpdate(ctx, p + GCM_NONCE, &outl, p + GCM_NONCE, (int)n) != 1 || (uint32_t)outl != n))
    return -1;
  if (EVP_DecryptFinal_ex(ctx, p + GCM_NONCE + n, &outl) != 1) {
    ERR_clear_error();
    memset(p, 0, len);
    return 3;
  }
  memmove(p, p + GCM_NONCE, n);
  *out_len = n;
  return 0;
}

/* decryptBatch's pass over b (regions checked): status[i] per region; the packets ok, -1 on an OpenSSL failure. */
static int64_t open_regions(cipher_handle *c, batch *b, uint8_t *status) {
  int64_t ok = 0;
  for (uint32_t i = 0; i < b->count; i++) {
    uint8_t *p = b->data + b->off[i];
    uint32_t out_len = b->len[i];
    int r = c->kind == KIND_CBC ? cbc_decrypt(c, p, b->len[i], &out_len) : gcm_decrypt(c->dec, p, b->len[i], &out_len);
    if (r < 0) return -1;
    status[i] = (uint8_t)r;
    if (r == 0) {
      b->len[i] = out_len;
      ok++;
    }
  }
  return ok;
}

static napi_value decrypt_batch(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) {
    napi_throw_type_error(env, NULL, "decryptBatch(handle, data, offsets, lengths, count, status)");
    return NULL;
  }
  cipher_handle *c = (cipher_handle *)get_handle(env, argv[0], MAGIC_CIPHER, 0);
  if (c == NULL) return NULL;
  batch b;
  uint8_t *status;
  if (arg_batch(env, argv + 1, &b) != 0 || arg_status(env, argv[5], b.count, &status) != 0) return NULL;
  if (check_regions(env, &b, 0, 0, "decryptBatch") != 0) return NULL;
  int64_t ok = open_regions(c, &b, status);
  if (ok < 0) {
    throw_openssl(env, "decryptBatch");
    return NULL;
  }
  napi_value result;
  SVR_CHECK(env, napi_create_uint32(env, (uint32_t)ok, &result));
  return result;
}

/* ---- HMAC ---- */

static napi_value hmac_create(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char alg[16];
  void *key;
  size_t key_len;
  if (arg_string(env, argv[0], "alg", alg, sizeof alg) != 0) return NULL;
  if (svr_arg_typed(env, argv[1], napi_uint8_array, "key", &key, &key_len) != 0) return NULL;
  int sha1;
  if (strcmp(alg, "sha256") == 0) sha1 = 0;
  else if (strcmp(alg, "sha1") == 0) sha1 = 1;
  else {
    char msg[100];
    snprintf(msg, sizeof msg, "unknown HMAC algorithm \"%s\" (sha256 or sha1)", alg);
    throw_coded(env, "SVR_CRYPTO_KIND", msg);
    return NULL;
  }
  if (key_len == 0 || key_len > MAX_REGION) {
    throw_coded(env, "SVR_CRYPTO_KEY", "an HMAC key must not be empty");
    return NULL;
  }

  hmac_handle *h = calloc(1, sizeof *h);
  if (h == NULL) {
    throw_coded(env, "SVR_CRYPTO_OPENSSL", "out of memory");
    return NULL;
  }
  h->head.magic = MAGIC_HMAC;
  h->head.release = free_hmac_context;
  if (svr_hmac_pads_init(&h->pads, sha1, key, key_len) != 0) {
    free_hmac_context(&h->head);
    free(h);
    throw_openssl(env, "hmacCreate");
    return NULL;
  }
  h->mac_size = sha1 ? SHA_DIGEST_LENGTH : SHA256_DIGEST_LENGTH;
  h->way = sha1 ? SVR_HMAC_WAY_ONE : svr_hmac_way();
  return wrap_handle(env, &h->head);
}


/* argv: handle, data, offsets, lengths, count, tagLength, slot[, status]. */
static hmac_handle *hmac_args(napi_env env, napi_value *argv, batch *b, uint32_t *tag_len, int64_t *slot) {
  hmac_handle *h = (hmac_handle *)get_handle(env, argv[0], MAGIC_HMAC, 0);
  if (h == NULL) return NULL;
  if (arg_batch(env, argv + 1, b) != 0) return NULL;
  if (svr_arg_u32(env, argv[5], "tagLength", tag_len) != 0) return NULL;
  if (*tag_len < 1 || *tag_len > h->mac_size) {
    char msg[100];
    snprintf(msg, sizeof msg, "tagLength %u is not in 1..%u", *tag_len, h->mac_size);
    throw_range(env, msg);
    return NULL;
  }
  if (arg_slot(env, argv[6], slot) != 0) return NULL;
  return h;
}

/* Whether to hash these n regions (lengths len) together (hmac-lanes.h: SHA-NI interleaved or lanes): they pay. */
static int use_lanes(const hmac_handle *h, const uint32_t *len, uint32_t n, int64_t slot) {
  return svr_hmac_way_pays(h->way, len, n, slot);
}

/*
 * The next up to 16 regions from `from` with room for a tag, checked against `slot` in lanes when that pays:
 * region[k] and match[k] (1: the tag matched) for k < the returned count (0: none checked, all one at a time).
 */
static uint32_t check_lanes(const hmac_handle *h, const batch *b, uint32_t from, uint32_t tag_len, int64_t slot,
                            uint32_t *region, uint8_t *match) {
  const uint8_t *msg[SVR_HMAC_LANES];
  uint32_t len[SVR_HMAC_LANES], n = 0;
  for (uint32_t i = from; i < b->count && n < SVR_HMAC_LANES; i++) {
    if (b->len[i] < tag_len) continue;
    region[n] = i;
    msg[n] = b->data + b->off[i];
    len[n++] = b->len[i] - tag_len;
  }
  if (!use_lanes(h, len, n, slot)) return 0;
  uint8_t tags[SVR_HMAC_LANES][32];
  svr_hmac_sha256_together_key(h->way, &h->pads, msg, len, n, slot, tags);
  for (uint32_t k = 0; k < n; k++) match[k] = CRYPTO_memcmp(tags[k], msg[k] + len[k], tag_len) == 0;
  return n;
}

/* Appends the tag of every region of b (checked) and adds tag_len to its length: 16 at a time in lanes when that pays. */
static void sign_regions(const hmac_handle *h, batch *bp, uint32_t tag_len, int64_t slot) {
  batch b = *bp;
  uint8_t md[EVP_MAX_MD_SIZE];
  svr_hmac_running run;
  for (uint32_t i = 0; i < b.count;) {
    uint32_t n = b.count - i < SVR_HMAC_LANES ? b.count - i : SVR_HMAC_LANES;
    if (use_lanes(h, b.len + i, n, slot)) {
      /* the next 16 (or fewer) at once; their tags go into tailroom no region uses (check_regions) */
      const uint8_t *msg[SVR_HMAC_LANES];
      uint8_t tags[SVR_HMAC_LANES][32];
      for (uint32_t k = 0; k < n; k++) msg[k] = b.data + b.off[i + k];
      svr_hmac_sha256_together_key(h->way, &h->pads, msg, b.len + i, n, slot, tags);
      for (uint32_t k = 0; k < n; k++, i++) {
        memcpy(b.data + b.off[i] + b.len[i], tags[k], tag_len);
        b.len[i] += tag_len;
      }
      continue;
    }
    uint8_t *p = b.data + b.off[i];
    svr_hmac_pads_begin(&h->pads, &run, p, b.len[i]);
    svr_hmac_pads_end(&h->pads, &run, slot, md);
    memcpy(p + b.len[i], md, tag_len);
    b.len[i] += tag_len;
    i++;
  }
}

static napi_value hmac_sign_batch(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7) {
    napi_throw_type_error(env, NULL, "hmacSignBatch(handle, data, offsets, lengths, count, tagLength, slot)");
    return NULL;
  }
  batch b;
  uint32_t tag_len;
  int64_t slot;
  hmac_handle *h = hmac_args(env, argv, &b, &tag_len, &slot);
  if (h == NULL) return NULL;
  if (check_regions(env, &b, 0, tag_len, "hmacSignBatch") != 0) return NULL;
  sign_regions(h, &b, tag_len, slot);
  return NULL;
}

/* hmacVerifyBatch's pass over b (regions checked): status[i] 0 (tag stripped from len[i]) or 1; the packets ok. */
static uint32_t verify_regions(hmac_handle *h, batch *b, uint32_t tag_len, int64_t slot, uint8_t *status) {
  uint32_t ok = 0;
  svr_hmac_running run;
  /* lanes: the next up to 16 regions long enough for a tag are checked against `slot` together first */
  uint32_t lane_at = 0, lanes = 0, lane_region[SVR_HMAC_LANES];
  uint8_t lane_match[SVR_HMAC_LANES];
  for (uint32_t i = 0; i < b->count; i++) {
    uint32_t len = b->len[i];
    status[i] = 1;
    if (len < tag_len) continue;
    const uint8_t *p = b->data + b->off[i];
    uint32_t n = len - tag_len;
    if (lane_at == lanes) {
      lane_at = 0;
      lanes = check_lanes(h, b, i, tag_len, slot, lane_region, lane_match);
    }
    int m = -1; /* not checked in lanes */
    if (lane_at < lanes && lane_region[lane_at] == i) m = lane_match[lane_at++];
    if (m == 1) {
      status[i] = 0;
      b->len[i] = n;
      ok++;
      continue;
    }
    svr_hmac_pads_begin(&h->pads, &run, p, n); /* the packet is hashed once for all three slots */
    m = svr_hmac_pads_check(&h->pads, &run, slot, p + n, tag_len, m == 0);
    if (m == 1) {
      status[i] = 0;
      b->len[i] = n;
      ok++;
    }
  }
  return ok;
}

static napi_value hmac_verify_batch(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 8) {
    napi_throw_type_error(env, NULL,
                          "hmacVerifyBatch(handle, data, offsets, lengths, count, tagLength, slot, status)");
    return NULL;
  }
  batch b;
  uint32_t tag_len;
  int64_t slot;
  uint8_t *status;
  hmac_handle *h = hmac_args(env, argv, &b, &tag_len, &slot);
  if (h == NULL || arg_status(env, argv[7], b.count, &status) != 0) return NULL;
  if (check_regions(env, &b, 0, 0, "hmacVerifyBatch") != 0) return NULL;
  napi_value result;
  SVR_CHECK(env, napi_create_uint32(env, verify_regions(h, &b, tag_len, slot, status), &result));
  return result;
}

/* ---- misc ---- */

static napi_value crypto_destroy(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) {
    napi_throw_type_error(env, NULL, "cryptoDestroy(handle)");
    return NULL;
  }
  handle_head *head = get_handle(env, argv[0], 0, 1);
  if (head != NULL) destroy_handle(head);
  return NULL;
}

/* cryptoTestIvs(seed) -> undefined: tests only. seed 1..2^32-1: every cipher created from now on draws its IVs from its
 * own stream of that seed (the same IVs for two ciphers created alike); 0: from RAND_bytes again (new ciphers). */
static napi_value crypto_test_ivs(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  uint32_t seed;
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || svr_arg_u32(env, argv[0], "seed", &seed) != 0) return NULL;
  test_iv_seed = seed;
  return NULL;
}

/* cryptoHmacLanes() -> whether SHA-256 tags of a batch go 16 at a time here (AVX-512; hmac-lanes.c). */
static napi_value crypto_hmac_lanes(napi_env env, napi_callback_info info) {
  napi_value result;
  SVR_CHECK(env, napi_get_boolean(env, svr_hmac_lanes_available() != 0, &result));
  return result;
}

/* cryptoHmacShani() -> whether SHA-256 tags of a batch are hashed with the SHA extensions, messages interleaved here
 * (hmac-shani.c). */
static napi_value crypto_hmac_shani(napi_env env, napi_callback_info info) {
  napi_value result;
  SVR_CHECK(env, napi_get_boolean(env, svr_hmac_shani_available() != 0, &result));
  return result;
}

static napi_value crypto_aes_vaes(napi_env env, napi_callback_info info) {
  napi_value result;
  SVR_CHECK(env, napi_get_boolean(env, svr_aes_vaes_available() != 0, &result));
  return result;
}

static napi_value crypto_openssl_version(napi_env env, napi_callback_info info) {
  napi_value v;
  SVR_CHECK(env, napi_create_string_utf8(env, OpenSSL_version(OPENSSL_VERSION_STRING), NAPI_AUTO_LENGTH, &v));
  return v;
}

/* ---- for native/fwd.c and native/fwd-in.c (the JS thread, as every call here) ---- */

void *svr_crypto_handle(napi_env env, napi_value v, int hmac) {
  return get_handle(env, v, hmac ? MAGIC_HMAC : MAGIC_CIPHER, 0);
}

const void *svr_crypto_hmac_by_id(uint32_t id) {
  hmac_handle **e = key_entry(id);
  hmac_handle *h = e == NULL ? NULL : __atomic_load_n(e, __ATOMIC_ACQUIRE);
  return h == NULL || h->head.destroyed ? NULL : h;
}

static napi_value hmac_key_id(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  hmac_handle *h = argc < 1 ? NULL : (hmac_handle *)get_handle(env, argv[0], MAGIC_HMAC, 0);
  if (h == NULL) {
    if (argc < 1) throw_coded(env, "SVR_CRYPTO_HANDLE", "hmacKeyId(handle)");
    return NULL;
  }
  if (key_register(h) == 0) {
    throw_coded(env, "SVR_CRYPTO_OPENSSL", "hmacKeyId: out of key ids or memory");
    return NULL;
  }
  napi_value result;
  SVR_CHECK(env, napi_create_uint32(env, h->id, &result));
  return result;
}

int svr_crypto_live(const void *handle) { return !((const handle_head *)handle)->destroyed; }

int svr_crypto_cbc(const void *handle) { return ((const cipher_handle *)handle)->kind == KIND_CBC; }

uint32_t svr_crypto_tag_max(const void *handle) { return ((const hmac_handle *)handle)->mac_size; }

const void *svr_crypto_pads(const void *handle, int *way) {
  const hmac_handle *h = handle;
  *way = h->way;
  return &h->pads;
}

int svr_crypto_seal_many(void *handle, uint8_t *data, uint32_t *off, uint32_t *len, uint32_t n) {
  cipher_handle *c = handle;
  size_t need = (size_t)n * CBC_IV;
  if (c->kind != KIND_CBC || n == 0) return n == 0 ? 0 : -1;
  const char *what;
  const uint8_t *ivs = pool_take(c, need, &what); /* the same pool as encryptBatch: same thread */
  if (ivs == NULL) return -1;
  batch b = {.data = data, .data_len = 0, .off = off, .len = len, .count = n};
  if (c->lanes_ok && n >= 2) {
    cbc_encrypt_lanes(c, &b, ivs);
    return 0;
  }
  for (uint32_t i = 0; i < n; i++)
    if (cbc_encrypt(c, data + off[i], len[i], ivs + (size_t)i * CBC_IV, &len[i]) != 0) return -1;
  return 0;
}

void svr_crypto_sign_many(const void *handle, uint8_t *data, uint32_t *off, uint32_t *len, uint32_t n, uint32_t tag_len,
                          int64_t slot) {
  batch b = {.data = data, .data_len = 0, .off = off, .len = len, .count = n};
  sign_regions(handle, &b, tag_len, slot);
}

uint32_t svr_crypto_verify_many(void *handle, uint8_t *data, uint32_t *off, uint32_t *len, uint32_t n, uint32_t tag_len,
                                int64_t slot, uint8_t *status) {
  batch b = {.data = data, .data_len = 0, .off = off, .len = len, .count = n};
  return verify_regions(handle, &b, tag_len, slot, status);
}

int64_t svr_crypto_open_many(void *handle, uint8_t *data, uint32_t *off, uint32_t *len, uint32_t n, uint8_t *status) {
  batch b = {.data = data, .data_len = 0, .off = off, .len = len, .count = n};
  return open_regions(handle, &b, status);
}

napi_status svr_crypto_init(napi_env env, napi_value exports) {
  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {
      {"cipherCreate", cipher_create},       {"encryptBatch", encrypt_batch},
      {"decryptBatch", decrypt_batch},       {"hmacCreate", hmac_create},
      {"hmacSignBatch", hmac_sign_batch},    {"hmacVerifyBatch", hmac_verify_batch},
      {"cryptoDestroy", crypto_destroy},     {"cryptoOpensslVersion", crypto_openssl_version},
      {"cryptoHmacLanes", crypto_hmac_lanes},  {"cryptoHmacShani", crypto_hmac_shani},  {"cryptoTestIvs", crypto_test_ivs},
      {"hmacKeyId", hmac_key_id},            {"cryptoAesVaes", crypto_aes_vaes},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_status s = svr_export_fn(env, exports, fns[i].name, fns[i].fn, NULL);
    if (s != napi_ok) return s;
  }
  return svr_hmac_many_init(env, exports);
}
