/*
 * fwd.c: the native steady path of svr-out (issue 19 item 5, first slice; docs/performance.md "A native steady
 * path"). TypeScript decides everything: svr-out marks a flow here once a packet of it went out steady (the
 * session's path, tx key, payload key and timeout, its waypoint rewrite), for a short lease; the dataplane
 * clears every mark on any control change (keys, paths, tables, chains, a session removed). Per batch,
 * before the JS stages (src/dataplane/native-forward.ts), for each packet of a marked flow:
 *   parse IPv4 (no options, no fragment, TTL > 1, header checksum) + TCP/UDP, TCP without SYN/FIN/RST;
 *   TTL - 1; TCP under the UDP transform (docs/wan.md): the UDP header inserted before the TCP header, whose bytes
 *   then open the signed region (packet-ops.ts insertUdpHeader); payload framing: none, plain marker 0x00, or AES-CBC
 *   sealed + key id (docs/crypto.md), the plaintext L4 checksum verified first; replay block with the path key's next counter (the TxKey's own
 *   counter words: JS and this file advance the same memory, one thread); the HMAC tag; the waypoint
 *   addresses/ports, L4 checksum and IP length (steady-send.c); the session's packets, bytes, last-seen and
 *   expiry columns, and its HA sync mark (a pair's active node, flow-table.h). Any other packet, or one that does not fit (room, path MTU, a bad checksum, a payload that
 *   starts with the metadata cookie), goes to JS unchanged; a flow that falls back loses its mark, so its later
 *   packets in the batch follow it to JS (order within a flow is kept). Same bytes as svr-out, checked byte for
 *   byte against it (test/unit/dataplane/native-forward-bytes.test.ts).
 * Everything runs on the dataplane's JS thread, in the same call order as JS would: no locks, no atomics. The table
 * (marks, key and cipher slots, the arrays JS hands over) is flow-table.c's, shared with fwd-in.c.
 * JS:
 *   nfCreate(capacityPow2) -> handle; nfClear(h); nfMark(h, desc, until); nfColumns(h, pktsFwd, bytesFwd, pktsRev,
 *   bytesRev, lastSeen, expires, flags, syncRows, syncDirty, syncTop); nfPaths(h, pathUp: Uint8Array by path index: a packet of a marked flow whose
 *   path is down goes to JS); nfKey(h, slot, hmac, tagLength, keyId, sender, counter: Uint32Array(3) [hi, lo, signed
 *   here]); nfCipher(h, slot, cipher); nfForward(h, data, offsets, lengths, count, room, ifIndex, now, res, slot) ->
 *   native count (ifIndex: the interface they came in on; slot: the time slot of time-based tags, crypto/hmac.ts
 *   timeSlot of the batch's wall clock); res: [native, rest, natOff x B, natLen x B, natIf x B, restOff x B,
 *   restLen x B] (B = NF_BATCH).
 */
#include <string.h>
#include "fwd-pass.h"

#define NF_BATCH SVR_NF_BATCH
#define NF_DESC 20
#define COOKIE_LEN 8
#define REPLAY 10
#define UDP_HDR 8
#define SEAL_NONE 0
#define SEAL_PLAIN 1
#define SEAL_CBC 2
#define TCP_STATE 0x07 /* FIN | SYN | RST */

static const uint8_t COOKIE[COOKIE_LEN] = {0x4c, 0x48, 0xdb, 0xc6, 0xdd, 0xf6, 0x67, 0x0c};
/* metadata base header length (svr-metadata.ts BASE_HEADER_LENGTH): shorter payloads never carry the cookie */
#define BASE_HEADER 12

/* the arrays JS hands over: nfColumns' (the session columns and HA sync arrays, flow-table.h) and nfPaths' */
#define A_PATH_UP SVR_FT_SHARED

typedef struct {
  svr_ft_head head; /* flow: src, dst, ports (big-endian words), ifIndex << 8 | protocol */
  uint32_t row, forward;
  uint8_t wp_src[4], wp_dst[4];
  uint32_t wp_ports; /* local << 16 | peer */
  uint32_t out_ifx, mtu, key, seal, cipher, kid, timeout, timed, flags, transform;
} nf_entry;

/* A packet admitted: where it is and what it becomes. */
typedef struct {
  uint32_t o, len, payload, end, signed_end, framed, proto;
  uint32_t sign, host_len; /* where the tag's region starts; the packet's length as it came in (accounting) */
  nf_entry *e;
} nf_pkt;

/* Per call: the packets admitted, and the regions of the crypto passes. */
typedef struct {
  nf_pkt p[NF_BATCH];
  uint32_t roff[NF_BATCH], rlen[NF_BATCH], ridx[NF_BATCH];
  uint8_t done[NF_BATCH];
} nf_work;

static const svr_ft_kind NF = {"nf", "SVR_ERR_NATIVE_FWD_HANDLE", "not a native forward table (nfCreate)", sizeof(nf_entry),
                               sizeof(nf_work), NF_BATCH};

static uint32_t rd16(const uint8_t *d, uint32_t o) { return ((uint32_t)d[o] << 8) | d[o + 1]; }

static uint32_t rd32(const uint8_t *d, uint32_t o) { return rd16(d, o) << 16 | rd16(d, o + 2); }

static void wr32(uint8_t *d, uint32_t o, uint32_t v) {
  d[o] = (uint8_t)(v >> 24);
  d[o + 1] = (uint8_t)(v >> 16);
  d[o + 2] = (uint8_t)(v >> 8);
  d[o + 3] = (uint8_t)v;
}

/* desc: ifx, proto, src, dst, ports (the packet's big-endian words), row, forward, wpSrc, wpDst (big-endian words), wpPorts, outIf, mtu, key slot, seal,
 * cipher slot, key id byte, timeout ms, time-based HMAC (1: the tag covers the call's time slot too), flags, transform (1: TCP
 * carried as UDP) */
static napi_value nf_mark(napi_env env, napi_callback_info info) {
  const uint32_t *d;
  double until;
  svr_ft *t = svr_ft_mark_args(env, info, &NF, NF_DESC, &d, &until);
  if (t == NULL) return NULL;
  if (d[12] >= SVR_FT_SLOTS || d[14] >= SVR_FT_SLOTS || d[13] > SEAL_CBC) {
    napi_throw_range_error(env, NULL, "nfMark: a slot is out of range");
    return NULL;
  }
  svr_ft_flow f = {{d[2], d[3], d[4], (d[0] & 0xffff) << 8 | (d[1] & 0xff)}};
  nf_entry *e = svr_ft_insert(t, &f);
  if (e == NULL) return NULL;
  *e = (nf_entry){.head = {.flow = f, .used = 1, .until = until}, .row = d[5], .forward = d[6] != 0, .wp_ports = d[9],
                  .out_ifx = d[10], .mtu = d[11], .key = d[12], .seal = d[13], .cipher = d[14], .kid = d[15],
                  .timeout = d[16], .timed = d[17] != 0, .flags = d[18], .transform = d[19] != 0 && d[1] == 6};
  wr32(e->wp_src, 0, d[7]);
  wr32(e->wp_dst, 0, d[8]);
  return NULL;
}

/* nfKey(h, slot, hmac, tagLength, keyId, sender, counter) */
static napi_value nf_key_set(napi_env env, napi_callback_info info) {
  size_t argc = 7, n;
  napi_value argv[7];
  svr_ft *t = svr_ft_arg(env, info, &argc, argv, &NF);
  uint32_t tag_len, key_id, sender;
  void *ctr, *h;
  if (t == NULL) return NULL;
  if (argc < 7 || svr_arg_u32(env, argv[3], "tagLength", &tag_len) != 0 || svr_arg_u32(env, argv[4], "keyId", &key_id) != 0 ||
      svr_arg_u32(env, argv[5], "sender", &sender) != 0 ||
      svr_arg_typed(env, argv[6], napi_uint32_array, "counter", &ctr, &n) != 0 || (h = svr_crypto_handle(env, argv[2], 1)) == NULL)
    return NULL;
  if (n < 3 || tag_len < 1 || tag_len > svr_crypto_tag_max(h)) {
    napi_throw_range_error(env, NULL, "nfKey: counter or tagLength out of range");
    return NULL;
  }
  svr_ft_key *k = svr_ft_set_handle(env, t, argv[1], argv[2], 1, "nfKey: slot out of range");
  if (k == NULL) return NULL;
  SVR_CHECK(env, napi_create_reference(env, argv[6], 1, &k->ctr_ref));
  k->ctr = ctr;
  k->tag_len = tag_len;
  k->key_id = key_id & 0xff;
  k->sender = sender & 0xff;
  return NULL;
}

/* Phase 1, one packet d[0, len) with `room` bytes from d: checks everything first (any no: 0, to JS unchanged, and the
 * flow loses its mark), then TTL - 1 and the plain marker. Fills *p. l4ok: the reader thread verified the L4 checksum
 * (the same svr_steady_verify_l4 over the same bytes), so this thread does not read the payload for it. */
static int admit(svr_ft *t, uint8_t *d, uint32_t len, uint32_t room, uint32_t ifx, double now, int l4ok, nf_pkt *p) {
  if (len < 28 || d[0] != 0x45 || rd16(d, 2) != len || (rd16(d, 6) & 0x3fff) != 0 || d[8] <= 1) return 0;
  uint32_t proto = d[9];
  if (proto != 6 && proto != 17) return 0;
  svr_ft_flow f = {{rd32(d, 12), rd32(d, 16), rd32(d, 20), (ifx & 0xffff) << 8 | proto}};
  nf_entry *e = svr_ft_find(t, &f, 0, sizeof(nf_entry));
  if (e == NULL || !(e->head.until > now)) return 0;
  /* the session's flags changed since the mark (a re-signal asked by the peer, a closing): JS decides again */
  if (!svr_ft_row_ok(t, e->row) || svr_ft_flags(t, e->row) != e->flags) goto fallback;
  uint32_t payload;
  if (proto == 6) {
    payload = 20 + (uint32_t)(d[32] >> 4) * 4;
    if (len < 40 || payload < 40 || payload > len || (d[33] & TCP_STATE) != 0) goto fallback;
  } else {
    payload = 28;
    if (rd16(d, 24) != len - 20) goto fallback;
  }
  if (svr_ones_sum_be(d, 20) != 0xffff) goto fallback; /* decode drops it, counted */
  if (e->key >= t->len[A_PATH_UP] || ((const uint8_t *)t->arr[A_PATH_UP])[e->key] == 0) goto fallback; /* the path went down: JS moves the flow */
  svr_ft_key *k = &t->keys[e->key], *c = &t->ciphers[e->cipher];
  if (k->h == NULL || !svr_crypto_live(k->h) || (e->seal == SEAL_CBC && (c->h == NULL || !svr_crypto_live(c->h))))
    goto fallback;
  uint32_t plen = len - payload, framed = e->seal != SEAL_NONE && plen > 0, udp = e->transform ? UDP_HDR : 0;
  uint32_t end = udp + (!framed ? len : e->seal == SEAL_PLAIN ? len + 1 : payload + 16 + (plen / 16 + 1) * 16 + 1);
  uint32_t signed_end = end + REPLAY + k->tag_len;
  if (signed_end > room || signed_end > e->mtu) goto fallback;
  /* the peer reads the bytes after the UDP header first: under the transform the TCP header (svr-out.ts emit) */
  uint32_t first = udp ? 20 : payload;
  if ((!framed || udp) && len - first >= BASE_HEADER && memcmp(d + first, COOKIE, COOKIE_LEN) == 0) goto fallback;
  if ((framed || udp) && !l4ok && !svr_steady_verify_l4(d, 0, 20, 0, proto, len)) goto fallback;
  d[8]--; /* decode: TTL - 1 (the IPv4 header checksum is recomputed by the finish) */
  if (udp) { /* packet-ops.ts insertUdpHeader: UDP between the routers, the TCP segment its payload (docs/wan.md) */
    memmove(d + 20 + UDP_HDR, d + 20, len - 20);
    d[9] = 17;
    d[20] = (uint8_t)(e->wp_ports >> 24), d[21] = (uint8_t)(e->wp_ports >> 16);
    d[22] = (uint8_t)(e->wp_ports >> 8), d[23] = (uint8_t)e->wp_ports;
    d[24] = (uint8_t)((end - 20) >> 8), d[25] = (uint8_t)(end - 20);
    d[26] = d[27] = 0;
  }
  if (framed && e->seal == SEAL_PLAIN) d[len + udp] = 0;
  *p = (nf_pkt){.o = 0, .len = len + udp, .payload = payload + udp, .end = end, .signed_end = signed_end,
                .framed = framed, .proto = udp ? 17 : proto, .sign = udp ? 20 + UDP_HDR : payload + udp,
                .host_len = len, .e = e};
  return 1;
fallback:
  e->head.until = 0; /* the flow's later packets follow this one to JS; svr-out marks it again */
  return 0;
}

/* Phase 2: the AES-CBC payloads, one call per cipher (8 chains at a time). A packet whose seal failed (RAND_bytes:
 * cannot happen in practice) is dropped: done[i] = 2. */
static void seal_all(svr_ft *t, nf_work *w, uint8_t *data, uint32_t n) {
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
static void sign_all(svr_ft *t, nf_work *w, uint8_t *data, uint32_t n, int64_t slot) {
  for (uint32_t i = 0; i < n; i++) w->done[i] = w->done[i] == 2 ? 2 : 0;
  for (uint32_t i = 0; i < n; i++) {
    if (w->done[i]) continue;
    svr_ft_key *k = &t->keys[w->p[i].e->key];
    uint32_t m = 0, timed = w->p[i].e->timed;
    for (uint32_t j = i; j < n; j++) {
      nf_pkt *p = &w->p[j];
      if (w->done[j] || t->keys[p->e->key].h != k->h || p->e->timed != timed) continue;
      w->roff[m] = p->o + p->sign;
      w->rlen[m++] = p->end + REPLAY - p->sign;
      w->done[j] = 1;
    }
    svr_crypto_sign_many(k->h, data, w->roff, w->rlen, m, k->tag_len, timed ? slot : -1);
  }
}

/* One batch (nfForward, or native/tun-pass.c's pass): fills b->res and its lists; returns the native count. */
uint32_t svr_nf_forward_batch(svr_ft *t, svr_ft_batch *bp) {
  svr_ft_batch b = *bp;
  uint8_t *data = b.data;
  uint32_t *nat_off = b.list[0], *nat_len = b.list[1], *nat_if = b.list[2], *rest_off = b.list[3], *rest_len = b.list[4];
  nf_work *w = t->work;
  uint32_t n = 0, rest = 0;
  svr_pass_prefetch(data, b.dlen, b.off, b.len, 0, b.count < SVR_PASS_AHEAD ? b.count : SVR_PASS_AHEAD);
  for (uint32_t i = 0; i < b.count; i++) {
    if (i + SVR_PASS_AHEAD < b.count) svr_pass_prefetch(data, b.dlen, b.off, b.len, i + SVR_PASS_AHEAD, i + SVR_PASS_AHEAD + 1);
    uint32_t o = b.off[i], l = b.len[i], r = b.room;
    if ((size_t)o + l > b.dlen) r = 0;
    else if ((size_t)o + r > b.dlen) r = (uint32_t)(b.dlen - o);
    if (t->count > 0 && r >= l && admit(t, data + o, l, r, b.ifx, b.now, b.l4ok != NULL && b.l4ok[i], &w->p[n])) {
      w->p[n++].o = o;
    } else {
      rest_off[rest] = o;
      rest_len[rest++] = l;
    }
  }
  seal_all(t, w, data, n);
  for (uint32_t i = 0; i < n; i++) { /* phase 3, in packet order: sign.ts replayBlock + TxKey.advance */
    nf_pkt *p = &w->p[i];
    svr_ft_key *k = &t->keys[p->e->key];
    uint8_t *d = data + p->o;
    if (w->done[i] == 2) continue;
    d[p->end] = (uint8_t)k->key_id;
    d[p->end + 1] = (uint8_t)k->sender;
    wr32(d, p->end + 2, k->ctr[0]);
    wr32(d, p->end + 6, k->ctr[1]);
    if (++k->ctr[1] == 0) k->ctr[0]++;
    k->ctr[2]++; /* TxKey.sent's native part */
  }
  sign_all(t, w, data, n, b.slot);
  uint32_t nat = 0;
  for (uint32_t i = 0; i < n; i++) { /* phase 5: the rewrite and checksums (steady-send.c), session-ops.ts accountPacket */
    nf_pkt *p = &w->p[i];
    nf_entry *e = p->e;
    if (w->done[i] == 2) continue;
    svr_steady_finish_one(data + p->o, 0, 20, 0, p->proto, p->end, p->signed_end, p->framed || e->transform, e->wp_src, e->wp_dst,
                          e->wp_ports);
    if (svr_ft_row_ok(t, e->row)) svr_ft_account(t, e->row, e->forward, p->host_len, b.now, e->timeout);
    nat_off[nat] = p->o;
    nat_len[nat] = p->signed_end;
    nat_if[nat++] = e->out_ifx;
  }
  b.res[0] = nat;
  b.res[1] = rest;
  return nat;
}

svr_ft *svr_nf_table(napi_env env, napi_value v) { return svr_ft_of(env, v, &NF); }

static napi_value nf_forward(napi_env env, napi_callback_info info) {
  return svr_ft_batch_call(env, info, &NF, 1, 2, svr_nf_forward_batch);
}

static const svr_ft_arrays NF_COLUMNS = {&NF, "nfColumns", "nfColumns(h, " SVR_FT_COLUMN_NAMES ")", 0, SVR_FT_SHARED,
                                         {SVR_FT_COLUMN_TYPES}};
static const svr_ft_arrays NF_PATHS = {&NF, "nfPaths", "nfPaths(h, pathUp)", A_PATH_UP, 1, {napi_uint8_array}};

napi_status svr_fwd_init(napi_env env, napi_value exports) {
  static const svr_ft_arrays *const sets[] = {&NF_COLUMNS, &NF_PATHS};
  static const svr_ft_fn fns[] = {{"nfMark", nf_mark}, {"nfKey", nf_key_set}, {"nfForward", nf_forward}};
  return svr_ft_export(env, exports, &NF, 0, sets, 2, fns, 3);
}
