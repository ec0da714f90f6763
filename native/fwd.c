/*
 * fwd.c: the native steady path of svr-out (issue 19 item 5, first slice; docs/performance.md "A native steady
 * path"). TypeScript decides everything: svr-out marks a flow here once a packet of it went out steady (the
 * session's path, tx key, payload key and timeout, its waypoint rewrite), for a short lease; the dataplane
 * clears every mark on any control change (keys, paths, tables, chains, a session removed). Per batch,
 * before the JS stages (src/dataplane/native-forward.ts), for each packet of a marked flow:
 *   parse IPv4 (no options, no fragment, TTL > 1, header checksum) + TCP/UDP, TCP without SYN/FIN/RST;
 *   TTL - 1; payload framing: none, plain marker 0x00, or AES-CBC sealed + key id (docs/crypto.md), the
 *   plaintext L4 checksum verified first; replay block with the path key's next counter (the TxKey's own
 *   counter words: JS and this file advance the same memory, one thread); the HMAC tag; the waypoint
 *   addresses/ports, L4 checksum and IP length (steady-send.c); the session's packets, bytes, last-seen and
 *   expiry columns. Any other packet, or one that does not fit (room, path MTU, a bad checksum, a payload that
 *   starts with the metadata cookie), goes to JS unchanged; a flow that falls back loses its mark, so its later
 *   packets in the batch follow it to JS (order within a flow is kept). Same bytes as svr-out, checked byte for
 *   byte against it (test/unit/dataplane/native-forward-bytes.test.ts).
 * Everything runs on the dataplane's JS thread, in the same call order as JS would: no locks, no atomics.
 * JS:
 *   nfCreate(capacityPow2) -> handle; nfClear(h); nfMark(h, desc, until); nfColumns(h, pktsFwd, bytesFwd,
 *   pktsRev, bytesRev, lastSeen, expires, flags); nfPaths(h, pathUp: Uint8Array, by path index: a packet of a marked flow
 *   whose path is down goes to JS); nfKey(h, slot, hmac, tagLength, keyId, sender, counter: Uint32Array(3)
 *   [hi, lo, signed here]); nfCipher(h, slot, cipher); nfForward(h, data, offsets, lengths, count, room, ifIndex, now,
 *   res, slot) -> native
 *   count (ifIndex: the interface they came in on; slot: the time slot
 *   of time-based tags, crypto/hmac.ts timeSlot of the batch's wall clock); res: [native, rest, natOff x B, natLen x B, natIf x B, restOff x B, restLen x B] (B = NF_BATCH).
 */
#include <stdlib.h>
#include <string.h>
#include "svr_native.h"

#define NF_BATCH 256
#define NF_DESC 19
#define NF_SLOTS 1024
#define NF_COLS 7
#define COOKIE_LEN 8
#define REPLAY 10
#define SEAL_NONE 0
#define SEAL_PLAIN 1
#define SEAL_CBC 2
#define TCP_STATE 0x07 /* FIN | SYN | RST */

static const uint8_t COOKIE[COOKIE_LEN] = {0x4c, 0x48, 0xdb, 0xc6, 0xdd, 0xf6, 0x67, 0x0c};
/* metadata base header length (svr-metadata.ts BASE_HEADER_LENGTH): shorter payloads never carry the cookie */
#define BASE_HEADER 12

typedef struct {
  uint32_t used;
  uint32_t src, dst, ports; /* as read from the packet (memcpy), and the interface and protocol */
  uint16_t ifx;
  uint8_t proto, forward;
  uint32_t row;
  uint8_t wp_src[4], wp_dst[4];
  uint32_t wp_ports; /* local << 16 | peer */
  uint32_t out_ifx, mtu, key, seal, cipher, kid, timeout, timed, flags;
  double until;
} nf_entry;

typedef struct {
  void *h;
  napi_ref ref, ctr_ref;
  uint32_t *ctr; /* [hi, lo, packets signed here] of the TxKey */
  uint32_t tag_len, key_id, sender;
} nf_key;

typedef struct {
  void *h;
  napi_ref ref;
} nf_cipher;

/* A packet admitted: where it is and what it becomes. */
typedef struct {
  uint32_t o, len, payload, end, signed_end, framed, proto;
  nf_entry *e;
} nf_pkt;

/* Per call: the packets admitted, and the regions of the crypto passes. */
typedef struct {
  nf_pkt p[NF_BATCH];
  uint32_t roff[NF_BATCH], rlen[NF_BATCH], ridx[NF_BATCH];
  uint8_t done[NF_BATCH];
} nf_work;

typedef struct {
  napi_env env;
  nf_entry *e;
  nf_work *work;
  uint32_t mask, count;
  nf_key keys[NF_SLOTS];
  nf_cipher ciphers[NF_SLOTS];
  napi_ref col_ref[NF_COLS];
  void *col[NF_COLS];
  size_t col_len[NF_COLS];
  napi_ref up_ref; /* the data path's pathUp (a worker's lives in a SharedArrayBuffer control writes without a call) */
  const uint8_t *up;
  size_t up_len;
} nf_table;

static uint32_t rd16(const uint8_t *d, uint32_t o) { return ((uint32_t)d[o] << 8) | d[o + 1]; }

static void wr32(uint8_t *d, uint32_t o, uint32_t v) {
  d[o] = (uint8_t)(v >> 24);
  d[o + 1] = (uint8_t)(v >> 16);
  d[o + 2] = (uint8_t)(v >> 8);
  d[o + 3] = (uint8_t)v;
}

static uint32_t hash(uint32_t src, uint32_t dst, uint32_t ports, uint32_t ifx, uint32_t proto) {
  uint32_t h = src * 0x9e3779b1u ^ dst;
  h = (h ^ (h >> 15)) * 0x85ebca77u ^ ports;
  h = (h ^ (h >> 13)) * 0xc2b2ae3du ^ (ifx << 8 | proto);
  return h ^ (h >> 16);
}

static nf_entry *find(nf_table *t, uint32_t src, uint32_t dst, uint32_t ports, uint32_t ifx, uint32_t proto, int insert) {
  for (uint32_t i = hash(src, dst, ports, ifx, proto) & t->mask, n = 0; n <= t->mask; i = (i + 1) & t->mask, n++) {
    nf_entry *e = &t->e[i];
    if (!e->used) return insert ? e : NULL;
    if (e->src == src && e->dst == dst && e->ports == ports && e->ifx == ifx && e->proto == proto) return e;
  }
  return NULL;
}

static void table_finalize(napi_env env, void *data, void *hint) {
  nf_table *t = data;
  for (int i = 0; i < NF_SLOTS; i++) {
    svr_unref(env, &t->keys[i].ref);
    svr_unref(env, &t->keys[i].ctr_ref);
    svr_unref(env, &t->ciphers[i].ref);
  }
  for (int i = 0; i < NF_COLS; i++) svr_unref(env, &t->col_ref[i]);
  svr_unref(env, &t->up_ref);
  free(t->work);
  free(t->e);
  free(t);
}

static nf_table *get_table(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  return svr_arg_handle(env, info, argc, argv, "SVR_ERR_NATIVE_FWD_HANDLE", "not a native forward table (nfCreate)");
}

static napi_value nf_create(napi_env env, napi_callback_info info) {
  napi_value ext;
  uint32_t cap;
  if (svr_arg_capacity(env, info, "nfCreate", &cap) != 0) return NULL;
  nf_table *t = calloc(1, sizeof *t);
  if (t != NULL) t->e = calloc(cap, sizeof *t->e);
  if (t != NULL) t->work = malloc(sizeof *t->work);
  if (t == NULL || t->e == NULL || t->work == NULL) {
    if (t != NULL) {
      free(t->e);
      free(t->work);
      free(t);
    }
    svr_throw_errno(env, 12 /* ENOMEM */, "calloc");
    return NULL;
  }
  t->env = env;
  t->mask = cap - 1;
  if (napi_create_external(env, t, table_finalize, NULL, &ext) != napi_ok) {
    free(t->work);
    free(t->e);
    free(t);
    svr_throw_last_status(env, "napi_create_external");
    return NULL;
  }
  return ext;
}

static napi_value nf_clear(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  nf_table *t = get_table(env, info, &argc, argv);
  if (t == NULL) return NULL;
  if (t->count > 0) memset(t->e, 0, (size_t)(t->mask + 1) * sizeof *t->e);
  t->count = 0;
  return NULL;
}

/* desc: ifx, proto, src, dst, ports (the packet's words as JS reads them little-endian from the bytes: see
 * native-forward.ts), row, forward, wpSrc, wpDst (big-endian words), wpPorts, outIf, mtu, key slot, seal,
 * cipher slot, key id byte, timeout ms, time-based HMAC (1: the tag covers the call's time slot too) */
static napi_value nf_mark(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  nf_table *t = get_table(env, info, &argc, argv);
  void *dv;
  size_t dl;
  double until;
  if (t == NULL || argc < 3 || svr_arg_typed(env, argv[1], napi_uint32_array, "desc", &dv, &dl) != 0) return NULL;
  if (dl < NF_DESC || napi_get_value_double(env, argv[2], &until) != napi_ok) {
    napi_throw_range_error(env, NULL, "nfMark(h, desc, until)");
    return NULL;
  }
  const uint32_t *d = dv;
  if (d[12] >= NF_SLOTS || d[14] >= NF_SLOTS || d[13] > SEAL_CBC) {
    napi_throw_range_error(env, NULL, "nfMark: a slot is out of range");
    return NULL;
  }
  if (t->count >= (t->mask + 1) / 2) { /* half full: start over (marks come back on their flows' next packets) */
    memset(t->e, 0, (size_t)(t->mask + 1) * sizeof *t->e);
    t->count = 0;
  }
  nf_entry *e = find(t, d[2], d[3], d[4], d[0] & 0xffff, d[1] & 0xff, 1);
  if (e == NULL) return NULL;
  if (!e->used) t->count++;
  e->used = 1;
  e->ifx = (uint16_t)d[0];
  e->proto = (uint8_t)d[1];
  e->src = d[2];
  e->dst = d[3];
  e->ports = d[4];
  e->row = d[5];
  e->forward = (uint8_t)d[6];
  wr32(e->wp_src, 0, d[7]);
  wr32(e->wp_dst, 0, d[8]);
  e->wp_ports = d[9];
  e->out_ifx = d[10];
  e->mtu = d[11];
  e->key = d[12];
  e->seal = d[13];
  e->cipher = d[14];
  e->kid = d[15];
  e->timeout = d[16];
  e->timed = d[17] != 0;
  e->flags = d[18];
  e->until = until;
  return NULL;
}

static napi_value nf_columns(napi_env env, napi_callback_info info) {
  static const napi_typedarray_type types[NF_COLS] = {napi_uint32_array, napi_float64_array, napi_uint32_array,
                                                      napi_float64_array, napi_uint32_array, napi_uint32_array, napi_uint16_array};
  size_t argc = 1 + NF_COLS;
  napi_value argv[1 + NF_COLS];
  nf_table *t = get_table(env, info, &argc, argv);
  if (t == NULL) return NULL;
  if (argc < 1 + NF_COLS) {
    napi_throw_type_error(env, NULL, "nfColumns(h, pktsFwd, bytesFwd, pktsRev, bytesRev, lastSeen, expires, flags)");
    return NULL;
  }
  for (int i = 0; i < NF_COLS; i++) {
    void *p;
    size_t n;
    if (svr_arg_typed(env, argv[1 + i], types[i], "column", &p, &n) != 0) return NULL;
    svr_unref(env, &t->col_ref[i]);
    SVR_CHECK(env, napi_create_reference(env, argv[1 + i], 1, &t->col_ref[i]));
    t->col[i] = p;
    t->col_len[i] = n;
  }
  return NULL;
}

static napi_value nf_paths(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  nf_table *t = get_table(env, info, &argc, argv);
  void *p;
  size_t n;
  if (t == NULL || argc < 2 || svr_arg_typed(env, argv[1], napi_uint8_array, "pathUp", &p, &n) != 0) return NULL;
  svr_unref(env, &t->up_ref);
  SVR_CHECK(env, napi_create_reference(env, argv[1], 1, &t->up_ref));
  t->up = p;
  t->up_len = n;
  return NULL;
}

static napi_value nf_key_set(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  nf_table *t = get_table(env, info, &argc, argv);
  uint32_t slot, tag_len, key_id, sender;
  void *ctr;
  size_t n;
  if (t == NULL) return NULL;
  if (argc < 7 || svr_arg_u32(env, argv[1], "slot", &slot) != 0 || svr_arg_u32(env, argv[3], "tagLength", &tag_len) != 0 ||
      svr_arg_u32(env, argv[4], "keyId", &key_id) != 0 || svr_arg_u32(env, argv[5], "sender", &sender) != 0 ||
      svr_arg_typed(env, argv[6], napi_uint32_array, "counter", &ctr, &n) != 0)
    return NULL;
  void *h = svr_crypto_handle(env, argv[2], 1);
  if (h == NULL) return NULL;
  if (slot >= NF_SLOTS || n < 3 || tag_len < 1 || tag_len > svr_crypto_tag_max(h)) {
    napi_throw_range_error(env, NULL, "nfKey: slot, counter or tagLength out of range");
    return NULL;
  }
  nf_key *k = &t->keys[slot];
  svr_unref(env, &k->ref);
  svr_unref(env, &k->ctr_ref);
  SVR_CHECK(env, napi_create_reference(env, argv[2], 1, &k->ref));
  SVR_CHECK(env, napi_create_reference(env, argv[6], 1, &k->ctr_ref));
  k->h = h;
  k->ctr = ctr;
  k->tag_len = tag_len;
  k->key_id = key_id & 0xff;
  k->sender = sender & 0xff;
  return NULL;
}

static napi_value nf_cipher_set(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  nf_table *t = get_table(env, info, &argc, argv);
  uint32_t slot;
  if (t == NULL || argc < 3 || svr_arg_u32(env, argv[1], "slot", &slot) != 0) return NULL;
  void *h = svr_crypto_handle(env, argv[2], 0);
  if (h == NULL) return NULL;
  if (slot >= NF_SLOTS || !svr_crypto_cbc(h)) {
    napi_throw_range_error(env, NULL, "nfCipher: slot out of range, or not an AES-CBC cipher");
    return NULL;
  }
  nf_cipher *c = &t->ciphers[slot];
  svr_unref(env, &c->ref);
  SVR_CHECK(env, napi_create_reference(env, argv[2], 1, &c->ref));
  c->h = h;
  return NULL;
}

/* Phase 1, one packet d[0, len) with `room` bytes from d: checks everything first (any no: 0, to JS unchanged, and the
 * flow loses its mark), then TTL - 1 and the plain marker. Fills *p. */
static int admit(nf_table *t, uint8_t *d, uint32_t len, uint32_t room, uint32_t ifx, double now, nf_pkt *p) {
  if (len < 28 || d[0] != 0x45 || rd16(d, 2) != len || (rd16(d, 6) & 0x3fff) != 0 || d[8] <= 1) return 0;
  uint32_t proto = d[9];
  if (proto != 6 && proto != 17) return 0;
  uint32_t src, dst, ports;
  memcpy(&src, d + 12, 4);
  memcpy(&dst, d + 16, 4);
  memcpy(&ports, d + 20, 4);
  nf_entry *e = find(t, src, dst, ports, ifx, proto, 0);
  if (e == NULL || !(e->until > now)) return 0;
  /* the session's flags changed since the mark (a re-signal asked by the peer, a closing): JS decides again */
  if (e->row >= t->col_len[6] || ((const uint16_t *)t->col[6])[e->row] != e->flags) goto fallback;
  uint32_t payload;
  if (proto == 6) {
    payload = 20 + (uint32_t)(d[32] >> 4) * 4;
    if (len < 40 || payload < 40 || payload > len || (d[33] & TCP_STATE) != 0) goto fallback;
  } else {
    payload = 28;
    if (rd16(d, 24) != len - 20) goto fallback;
  }
  if (svr_ones_sum_be(d, 20) != 0xffff) goto fallback; /* decode drops it, counted */
  if (e->key >= t->up_len || t->up[e->key] == 0) goto fallback; /* the path went down: JS moves the flow */
  nf_key *k = &t->keys[e->key];
  nf_cipher *c = &t->ciphers[e->cipher];
  if (k->h == NULL || !svr_crypto_live(k->h) || (e->seal == SEAL_CBC && (c->h == NULL || !svr_crypto_live(c->h))))
    goto fallback;
  uint32_t plen = len - payload, framed = e->seal != SEAL_NONE && plen > 0;
  uint32_t end = !framed ? len : e->seal == SEAL_PLAIN ? len + 1 : payload + 16 + (plen / 16 + 1) * 16 + 1;
  uint32_t signed_end = end + REPLAY + k->tag_len;
  if (signed_end > room || signed_end > e->mtu) goto fallback;
  if (!framed && plen >= BASE_HEADER && memcmp(d + payload, COOKIE, COOKIE_LEN) == 0) goto fallback;
  if (framed && !svr_steady_verify_l4(d, 0, 20, 0, proto, len)) goto fallback;
  d[8]--; /* decode: TTL - 1 (the IPv4 header checksum is recomputed by the finish) */
  if (framed && e->seal == SEAL_PLAIN) d[len] = 0;
  *p = (nf_pkt){.o = 0, .len = len, .payload = payload, .end = end, .signed_end = signed_end, .framed = framed,
                .proto = proto, .e = e};
  return 1;
fallback:
  e->until = 0; /* the flow's later packets follow this one to JS; svr-out marks it again */
  return 0;
}

/* Phase 2: the AES-CBC payloads, one call per cipher (8 chains at a time). A packet whose seal failed (RAND_bytes:
 * cannot happen in practice) is dropped: done[i] = 2. */
static void seal_all(nf_table *t, nf_work *w, uint8_t *data, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) w->done[i] = !(w->p[i].framed && w->p[i].e->seal == SEAL_CBC);
  for (uint32_t i = 0; i < n; i++) {
    if (w->done[i]) continue;
    void *h = t->ciphers[w->p[i].e->cipher].h;
    uint32_t m = 0;
    for (uint32_t j = i; j < n; j++) {
      nf_pkt *p = &w->p[j];
      if (w->done[j] || t->ciphers[p->e->cipher].h != h) continue;
      w->roff[m] = p->o + p->payload;
      w->rlen[m] = p->len - p->payload;
      w->ridx[m++] = j;
      w->done[j] = 1;
    }
    int ok = svr_crypto_seal_many(h, data, w->roff, w->rlen, m) == 0;
    for (uint32_t q = 0; q < m; q++) {
      nf_pkt *p = &w->p[w->ridx[q]];
      if (!ok || p->payload + w->rlen[q] + 1 != p->end) w->done[w->ridx[q]] = 2;
      else data[p->o + p->end - 1] = (uint8_t)p->e->kid;
    }
  }
}

/* Phase 4: the tags, one call per key (16 at a time when that pays). */
static void sign_all(nf_table *t, nf_work *w, uint8_t *data, uint32_t n, int64_t slot) {
  for (uint32_t i = 0; i < n; i++) w->done[i] = w->done[i] == 2 ? 2 : 0;
  for (uint32_t i = 0; i < n; i++) {
    if (w->done[i]) continue;
    nf_key *k = &t->keys[w->p[i].e->key];
    uint32_t m = 0, timed = w->p[i].e->timed;
    for (uint32_t j = i; j < n; j++) {
      nf_pkt *p = &w->p[j];
      if (w->done[j] || t->keys[p->e->key].h != k->h || p->e->timed != timed) continue;
      w->roff[m] = p->o + p->payload;
      w->rlen[m++] = p->end + REPLAY - p->payload;
      w->done[j] = 1;
    }
    svr_crypto_sign_many(k->h, data, w->roff, w->rlen, m, k->tag_len, timed ? slot : -1);
  }
}

static napi_value nf_forward(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10], result;
  nf_table *t = get_table(env, info, &argc, argv);
  void *datav, *offv, *lenv, *resv;
  size_t dlen, on, ln, rn;
  uint32_t count, room, ifx;
  double now, slotv;
  if (t == NULL) return NULL;
  if (argc < 10 || svr_arg_typed(env, argv[1], napi_uint8_array, "data", &datav, &dlen) != 0 ||
      svr_arg_typed(env, argv[2], napi_uint32_array, "offsets", &offv, &on) != 0 ||
      svr_arg_typed(env, argv[3], napi_uint32_array, "lengths", &lenv, &ln) != 0 ||
      svr_arg_u32(env, argv[4], "count", &count) != 0 || svr_arg_u32(env, argv[5], "room", &room) != 0 ||
      svr_arg_u32(env, argv[6], "ifIndex", &ifx) != 0 || napi_get_value_double(env, argv[7], &now) != napi_ok ||
      svr_arg_typed(env, argv[8], napi_uint32_array, "res", &resv, &rn) != 0 ||
      napi_get_value_double(env, argv[9], &slotv) != napi_ok)
    return NULL;
  if (count > on || count > ln || count > NF_BATCH || rn < 2 + 5 * NF_BATCH) {
    napi_throw_range_error(env, NULL, "nfForward: count beyond offsets, lengths or NF_BATCH, or res too short");
    return NULL;
  }
  uint8_t *data = datav;
  uint32_t *res = resv, *nat_off = res + 2, *nat_len = nat_off + NF_BATCH, *nat_if = nat_len + NF_BATCH;
  uint32_t *rest_off = nat_if + NF_BATCH, *rest_len = rest_off + NF_BATCH;
  const uint32_t *off = offv, *lens = lenv;
  nf_work *w = t->work;
  uint32_t n = 0, rest = 0;
  for (uint32_t i = 0; i < count; i++) {
    uint32_t o = off[i], l = lens[i], r = room;
    if ((size_t)o + l > dlen) r = 0;
    else if ((size_t)o + r > dlen) r = (uint32_t)(dlen - o);
    if (t->count > 0 && r >= l && admit(t, data + o, l, r, ifx, now, &w->p[n])) {
      w->p[n++].o = o;
    } else {
      rest_off[rest] = o;
      rest_len[rest++] = l;
    }
  }
  seal_all(t, w, data, n);
  for (uint32_t i = 0; i < n; i++) { /* phase 3, in packet order: sign.ts replayBlock + TxKey.advance */
    nf_pkt *p = &w->p[i];
    nf_key *k = &t->keys[p->e->key];
    uint8_t *d = data + p->o;
    if (w->done[i] == 2) continue;
    d[p->end] = (uint8_t)k->key_id;
    d[p->end + 1] = (uint8_t)k->sender;
    wr32(d, p->end + 2, k->ctr[0]);
    wr32(d, p->end + 6, k->ctr[1]);
    if (++k->ctr[1] == 0) k->ctr[0]++;
    k->ctr[2]++; /* TxKey.sent's native part */
  }
  sign_all(t, w, data, n, slotv >= 0 && slotv <= 4294967295.0 ? (int64_t)slotv : -1);
  uint32_t nat = 0;
  for (uint32_t i = 0; i < n; i++) { /* phase 5: the rewrite and checksums (steady-send.c), session-ops.ts accountPacket */
    nf_pkt *p = &w->p[i];
    nf_entry *e = p->e;
    if (w->done[i] == 2) continue;
    svr_steady_finish_one(data + p->o, 0, 20, 0, p->proto, p->end, p->signed_end, p->framed, e->wp_src, e->wp_dst, e->wp_ports);
    uint32_t r = e->row;
    if (r < t->col_len[0] && r < t->col_len[1] && r < t->col_len[2] && r < t->col_len[3] && r < t->col_len[4] &&
        r < t->col_len[5]) {
      ((uint32_t *)t->col[e->forward ? 0 : 2])[r]++;
      ((double *)t->col[e->forward ? 1 : 3])[r] += p->len;
      ((uint32_t *)t->col[4])[r] = (uint32_t)(uint64_t)now;
      ((uint32_t *)t->col[5])[r] = (uint32_t)(uint64_t)(now + e->timeout);
    }
    nat_off[nat] = p->o;
    nat_len[nat] = p->signed_end;
    nat_if[nat++] = e->out_ifx;
  }
  res[0] = nat;
  res[1] = rest;
  SVR_CHECK(env, napi_create_uint32(env, nat, &result));
  return result;
}

napi_status svr_fwd_init(napi_env env, napi_value exports) {
  napi_status s;
  if ((s = svr_export_fn(env, exports, "nfCreate", nf_create, NULL)) != napi_ok) return s;
  if ((s = svr_export_fn(env, exports, "nfClear", nf_clear, NULL)) != napi_ok) return s;
  if ((s = svr_export_fn(env, exports, "nfMark", nf_mark, NULL)) != napi_ok) return s;
  if ((s = svr_export_fn(env, exports, "nfColumns", nf_columns, NULL)) != napi_ok) return s;
  if ((s = svr_export_fn(env, exports, "nfPaths", nf_paths, NULL)) != napi_ok) return s;
  if ((s = svr_export_fn(env, exports, "nfKey", nf_key_set, NULL)) != napi_ok) return s;
  if ((s = svr_export_fn(env, exports, "nfCipher", nf_cipher_set, NULL)) != napi_ok) return s;
  if ((s = svr_export_fn(env, exports, "nfForward", nf_forward, NULL)) != napi_ok) return s;
  return svr_export_u32(env, exports, "NF_BATCH", NF_BATCH);
}
