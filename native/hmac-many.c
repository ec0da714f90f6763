/*
 * hmac-many.c: the HMAC tags of one frame's regions under many keys in one JS->C call (docs/performance.md "Hub
 * scale", hub8). A hub's control packets are one or two per path and tick, each path with its own key, so the
 * per-key calls of hmacSignBatch/hmacVerifyBatch were one call per packet; here a frame's or a tick's regions go
 * in one call, SHA-256 ones up to 16 together across keys (hmac-lanes.h: SHA-NI interleaved or lanes) when that pays. Same tags and
 * verdicts as the per-key calls (test/unit/crypto/batch-hmac.test.ts).
 *   hmacSignMany(keys, data, offsets, lengths, count, tagLengths, slots) -> undefined
 *   hmacVerifyMany(keys, data, offsets, lengths, count, tagLengths, slots, status) -> regions ok
 * keys: an Array of hmacCreate handles, or a Uint32Array of their hmacKeyId ids (region i under keys[i]; ids cost
 * no N-API call per region); tagLengths: Uint8Array, slots: Float64Array
 * (-1: none; time-based: slot, slot-1 and slot+1 accepted on verify), status as hmacVerifyBatch (0 ok, trailer
 * stripped; 1 too short or no match). Every argument and region is checked before any byte is touched.
 */
#include "svr_native.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hmac-lanes.h"
#include "hmac-pads.h"

/* Regions per call: a data-path batch's (MAX_BATCH); the arguments live on the caller's stack (data-path workers
 * call from their own threads). */
#define MANY_MAX 256u
#define MAX_REGION (1u << 30)

typedef struct {
  uint8_t *data;
  uint32_t *off, *len;
  uint8_t *tag_len;
  double *slot;
  uint32_t count;
  const svr_hmac_pads *pads[MANY_MAX];
  uint8_t way[MANY_MAX]; /* SVR_HMAC_WAY_* of region i's key */
} many_args;

static void throw_range(napi_env env, const char *msg) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_range_error(env, "SVR_CRYPTO_RANGE", msg);
}

static int64_t slot_of(const many_args *a, uint32_t i) { return (int64_t)a->slot[i]; }

/* argv: keys, data, offsets, lengths, count, tagLengths, slots. `grow`: whether each region needs its tag's tailroom. */
static int parse(napi_env env, napi_value *argv, many_args *a, int grow) {
  void *d, *o, *l, *t, *s;
  size_t dn, on, ln, tn, sn;
  uint32_t hn;
  if (svr_arg_typed(env, argv[1], napi_uint8_array, "data", &d, &dn) != 0 ||
      svr_arg_typed(env, argv[2], napi_uint32_array, "offsets", &o, &on) != 0 ||
      svr_arg_typed(env, argv[3], napi_uint32_array, "lengths", &l, &ln) != 0 ||
      svr_arg_u32(env, argv[4], "count", &a->count) != 0 ||
      svr_arg_typed(env, argv[5], napi_uint8_array, "tagLengths", &t, &tn) != 0 ||
      svr_arg_typed(env, argv[6], napi_float64_array, "slots", &s, &sn) != 0)
    return -1;
  bool by_id = false;
  void *idv = NULL;
  size_t idn = 0;
  if (napi_is_typedarray(env, argv[0], &by_id) != napi_ok) return -1;
  if (by_id) {
    if (svr_arg_typed(env, argv[0], napi_uint32_array, "keys", &idv, &idn) != 0) return -1;
    hn = idn > UINT32_MAX ? UINT32_MAX : (uint32_t)idn;
  } else if (napi_get_array_length(env, argv[0], &hn) != napi_ok) {
    napi_throw_type_error(env, NULL, "keys must be an Array of HMAC handles or a Uint32Array of their hmacKeyId ids");
    return -1;
  }
  uint32_t n = a->count;
  if (n > MANY_MAX || n > on || n > ln || n > tn || n > sn || n > hn) {
    throw_range(env, "count exceeds 256 or one of keys, offsets, lengths, tagLengths, slots");
    return -1;
  }
  a->data = d;
  a->off = o;
  a->len = l;
  a->tag_len = t;
  a->slot = s;
  for (uint32_t i = 0; i < n; i++) {
    const void *h;
    if (by_id) {
      h = svr_crypto_hmac_by_id(((const uint32_t *)idv)[i]);
      if (h == NULL) {
        char msg[120];
        snprintf(msg, sizeof msg, "region %u: key id %u is no live HMAC key (hmacKeyId; destroyed?)", i, ((const uint32_t *)idv)[i]);
        bool pending = false;
        napi_is_exception_pending(env, &pending);
        if (!pending) napi_throw_error(env, "SVR_CRYPTO_HANDLE", msg);
        return -1;
      }
    } else {
      napi_value hv;
      if (napi_get_element(env, argv[0], i, &hv) != napi_ok) {
        svr_throw_last_status(env, "napi_get_element");
        return -1;
      }
      h = svr_crypto_handle(env, hv, 1);
      if (h == NULL) return -1;
    }
    int way;
    a->pads[i] = svr_crypto_pads(h, &way);
    a->way[i] = (uint8_t)way;
    double sl = a->slot[i];
    uint64_t need = (uint64_t)a->off[i] + a->len[i] + (grow ? a->tag_len[i] : 0);
    if (a->tag_len[i] < 1 || a->tag_len[i] > svr_crypto_tag_max(h) || a->len[i] > MAX_REGION || need > dn ||
        !(sl >= -1.0 && sl <= 4294967295.0) || (double)(int64_t)sl != sl) {
      char msg[200];
      snprintf(msg, sizeof msg, "region %u (offset %u, length %u, tag %u, slot %.0f) out of range (data %zu bytes)", i,
               a->off[i], a->len[i], a->tag_len[i], sl, dn);
      throw_range(env, msg);
      return -1;
    }
  }
  return 0;
}

/*
 * The regions [from, to) (to - from <= 16) hashed together, those whose key has the way of the first such region's
 * (keys made with other SVR_HMAC_* settings go one at a time) and whose message (msg_len[i]: the region less its tag
 * on verify) is there: their tags into md, k for region region[k]; the count, or 0 when that does not pay (then every
 * region goes one at a time).
 */
static uint32_t lanes_of(const many_args *a, uint32_t from, uint32_t to, const uint32_t *msg_len, uint32_t *region,
                         uint8_t (*md)[32]) {
  const svr_hmac_pads *keys[SVR_HMAC_LANES];
  const uint8_t *msg[SVR_HMAC_LANES];
  uint32_t len[SVR_HMAC_LANES], n = 0;
  int64_t slots[SVR_HMAC_LANES], any_slot = -1;
  int way = SVR_HMAC_WAY_ONE;
  for (uint32_t i = from; i < to; i++) {
    if (way == SVR_HMAC_WAY_ONE) way = a->way[i];
    if (a->way[i] == SVR_HMAC_WAY_ONE || a->way[i] != way || msg_len[i - from] == UINT32_MAX) continue;
    region[n] = i;
    keys[n] = a->pads[i];
    msg[n] = a->data + a->off[i];
    len[n] = msg_len[i - from];
    slots[n] = slot_of(a, i);
    if (slots[n] >= 0) any_slot = 0;
    n++;
  }
  if (!svr_hmac_way_pays(way, len, n, any_slot)) return 0;
  svr_hmac_sha256_together(way, keys, msg, len, n, slots, md);
  return n;
}

static napi_value hmac_sign_many(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  many_args a;
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7) {
    napi_throw_type_error(env, NULL, "hmacSignMany(keys, data, offsets, lengths, count, tagLengths, slots)");
    return NULL;
  }
  if (parse(env, argv, &a, 1) != 0) return NULL;
  uint8_t md[SVR_HMAC_LANES][32], one[32];
  uint32_t region[SVR_HMAC_LANES], msg_len[SVR_HMAC_LANES];
  svr_hmac_running run;
  for (uint32_t g = 0; g < a.count; g += SVR_HMAC_LANES) {
    uint32_t to = a.count - g < SVR_HMAC_LANES ? a.count : g + SVR_HMAC_LANES, done = 0;
    for (uint32_t i = g; i < to; i++) msg_len[i - g] = a.len[i];
    uint32_t n = lanes_of(&a, g, to, msg_len, region, md);
    for (uint32_t i = g; i < to; i++) {
      uint8_t *p = a.data + a.off[i];
      const uint8_t *tag;
      if (done < n && region[done] == i) {
        tag = md[done++];
      } else {
        svr_hmac_pads_begin(a.pads[i], &run, p, a.len[i]);
        svr_hmac_pads_end(a.pads[i], &run, slot_of(&a, i), one);
        tag = one;
      }
      memcpy(p + a.len[i], tag, a.tag_len[i]);
      a.len[i] += a.tag_len[i];
    }
  }
  return NULL;
}

static napi_value hmac_verify_many(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  many_args a;
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 8) {
    napi_throw_type_error(env, NULL, "hmacVerifyMany(keys, data, offsets, lengths, count, tagLengths, slots, status)");
    return NULL;
  }
  void *st;
  size_t stn;
  if (parse(env, argv, &a, 0) != 0 || svr_arg_typed(env, argv[7], napi_uint8_array, "status", &st, &stn) != 0) return NULL;
  if (stn < a.count) {
    throw_range(env, "status has fewer entries than count");
    return NULL;
  }
  uint8_t *status = st;
  uint8_t md[SVR_HMAC_LANES][32];
  uint32_t region[SVR_HMAC_LANES], msg_len[SVR_HMAC_LANES], ok = 0;
  svr_hmac_running run;
  for (uint32_t g = 0; g < a.count; g += SVR_HMAC_LANES) {
    uint32_t to = a.count - g < SVR_HMAC_LANES ? a.count : g + SVR_HMAC_LANES, done = 0;
    for (uint32_t i = g; i < to; i++) msg_len[i - g] = a.len[i] < a.tag_len[i] ? UINT32_MAX : a.len[i] - a.tag_len[i];
    uint32_t n = lanes_of(&a, g, to, msg_len, region, md);
    for (uint32_t i = g; i < to; i++) {
      status[i] = 1;
      uint32_t m_len = msg_len[i - g], t = a.tag_len[i];
      if (m_len == UINT32_MAX) continue;
      const uint8_t *p = a.data + a.off[i];
      int64_t slot = slot_of(&a, i);
      int m = -1; /* not checked in lanes */
      if (done < n && region[done] == i) m = CRYPTO_memcmp(md[done++], p + m_len, t) == 0;
      if (m != 1) {
        svr_hmac_pads_begin(a.pads[i], &run, p, m_len); /* hashed once for the neighbouring slots */
        m = svr_hmac_pads_check(a.pads[i], &run, slot, p + m_len, t, m == 0);
      }
      if (m == 1) {
        status[i] = 0;
        a.len[i] = m_len;
        ok++;
      }
    }
  }
  napi_value result;
  SVR_CHECK(env, napi_create_uint32(env, ok, &result));
  return result;
}

napi_status svr_hmac_many_init(napi_env env, napi_value exports) {
  napi_status s = svr_export_fn(env, exports, "hmacSignMany", hmac_sign_many, NULL);
  return s != napi_ok ? s : svr_export_fn(env, exports, "hmacVerifyMany", hmac_verify_many, NULL);
}
