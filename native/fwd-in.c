/*
 * fwd-in.c: the native steady path of svr-in (issue 19 item 5, second slice; docs/performance.md "A native steady
 * path for svr-in"). TypeScript decides everything: svr-in marks a flow here once a packet of it was delivered steady
 * (its WAN 5-tuple and interface, the rx key and replay window that packet used, the payload key, the LAN rewrite,
 * the egress interface, the session row, flags and timeout), for a short lease; every control change clears all marks
 * (src/dataplane/native-receive.ts). Per batch from a WAN interface, before the JS stages, for each packet of a
 * marked flow, in the order the JS stages take the same steps:
 *   1. admit (nothing written): IPv4 without options or fragment, TTL > 1, header checksum (decode); TCP without
 *      SYN/FIN/RST or UDP (length agrees); no metadata cookie (wan-verify); the replay block's key id and sender
 *      are the mark's; the session's flags are the mark's; a framed payload's key id is 0 (plain) or the mark's
 *      cipher, and its L4 checksum verifies (svr-in verifies before bytes are removed); TCP carried as UDP (the
 *      UDP transform, docs/wan.md): the TCP segment after the UDP header whole and without SYN/FIN/RST (packet-ops.ts
 *      removeUdpHeader), the UDP checksum verifies, a framed payload starts after the inner TCP header;
 *   2. the tags, one call per key (16 lanes; sign.ts verifyPacket, time-based: the slot and its neighbours);
 *   3. in packet order: the replay window (replay-window.ts, RFC 6479) checked, then moved (the JS pool's own
 *      arrays, and its worker marks); the session's packets, bytes, last-seen, expiry, HA sync mark and the path's rx
 *      count (session-lookup accountPacket, wan-verify pathRx);
 *   4. the AES-CBC payloads, one call per cipher (payload.ts openPayload); one that does not decrypt is dropped here
 *      and counted by the caller ('drop-bad-payload', as svr-in does after the session counted it);
 *   5. TTL - 1, the trailer off, the LAN 5-tuple, IP length and checksums: incremental when nothing else shrank
 *      (wan-verify adjustChecksumForTail, svr-in writeServerSide), the L4 checksum in full after a framed payload
 *      or the UDP header taken out (svr-in's finish: steady-send.c); the IPv4 header moves 8 bytes up onto the TCP
 *      segment, as removeUdpHeader moves it (20 bytes moved, not the segment), so such a packet starts 8 bytes on.
 * Anything unusual (bad tag, replay, metadata, another key, a bad checksum) goes to JS unchanged and its flow loses
 * its mark, so its later packets follow it (order within a flow holds) and JS decides and counts. Same bytes,
 * windows and counters as the JS path (test/unit/router/native-receive.test.ts). One thread: the dataplane's. The
 * table (marks, key and cipher slots, the arrays JS hands over) is flow-table.c's, shared with fwd.c.
 * JS:
 *   niCreate(capacityPow2) -> handle; niClear(h); niMark(h, desc, until); niColumns(h, pktsFwd, bytesFwd, pktsRev,
 *   bytesRev, lastSeen, expires, flags, syncRows, syncDirty, syncTop, pathRx); niWindows(h, bits, topHi, topLo, fresh, marks); niKey(h, slot, hmac);
 *   niCipher(h, slot, cipher); niReceive(h, data, offsets, lengths, count, ifIndex, now, res, slot) -> native count;
 *   res: [native, rest, dropped, natOff x B, natLen x B, natIf x B, restOff x B, restLen x B] (B = NI_BATCH);
 *   niWatch(h, seen, w0..w5): the words the marks' validity follows, for native/tun-pass.c (svr_ni_current).
 */
#include <string.h>
#include "fwd-pass.h"

#define NI_BATCH SVR_NI_BATCH
#define NI_DESC 24
#define UDP_HDR 8
#define REPLAY 10
#define COOKIE_LEN 8
#define BASE_HEADER 12 /* svr-metadata.ts hasCookie: shorter payloads never carry metadata */
#define TCP_STATE 0x07 /* FIN | SYN | RST */
#define WINDOW_WORDS 64
#define WINDOW_SIZE ((WINDOW_WORDS - 1) * 32)
#define MARK_WORDS 6 /* replay-marks.ts: state, path, key, sender, top hi, top lo */
#define HAS_TOP 2
#define V_REST 0
#define V_NATIVE 1
#define V_DROP 2
#define NI_WATCH 6 /* niWatch's words (native-receive.ts WATCH) */

/* the arrays JS hands over: niColumns' (the session columns and HA sync arrays, flow-table.h, and the paths' rx
 * counts), niWindows' (the replay pool's) and niWatch's (seen, then the NI_WATCH words it was copied from) */
enum { C_PATH_RX = SVR_FT_SHARED, W_BITS, W_TOP_HI, W_TOP_LO, W_FRESH, W_MARKS, W_SEEN, W_END = W_SEEN + 1 + NI_WATCH };
_Static_assert(W_END <= SVR_FT_ARRAYS, "fwd-in.c's arrays fit the table's");

static const uint8_t COOKIE[COOKIE_LEN] = {0x4c, 0x48, 0xdb, 0xc6, 0xdd, 0xf6, 0x67, 0x0c};

typedef struct {
  svr_ft_head head; /* flow: the WAN address and port words (big-endian), interface << 8 | protocol */
  uint32_t row, flags, forward, path, timeout;
  uint32_t key, kid, sender, window, tag_len, timed;
  uint32_t framed, cipher, pkid; /* SF_PAYLOAD; cipher slot and its key id byte (0: plain only) */
  uint8_t lan_src[4], lan_dst[4];
  uint32_t lan_ports, out_ifx;
  uint32_t transform; /* TCP carried as UDP: the flow is UDP on the WAN, its TCP segment after the UDP header */
} ni_entry;

typedef struct {
  ni_entry *e;
  uint32_t o, len, payload, at, end, framed, proto;
  uint32_t body; /* where a framed payload starts: payload, or after the inner TCP header (transform) */
  uint8_t verdict;
} ni_pkt;

typedef struct {
  ni_pkt p[NI_BATCH];
  uint32_t adm[NI_BATCH]; /* input packet -> admitted index, or NI_BATCH */
  uint32_t roff[NI_BATCH], rlen[NI_BATCH], ridx[NI_BATCH];
  uint8_t st[NI_BATCH], ok[NI_BATCH], done[NI_BATCH];
} ni_work;

static const svr_ft_kind NI = {"ni", "SVR_ERR_NATIVE_FWD_IN_HANDLE", "not a native receive table (niCreate)",
                               sizeof(ni_entry), sizeof(ni_work), NI_BATCH};

static uint32_t rd16(const uint8_t *d, uint32_t o) { return ((uint32_t)d[o] << 8) | d[o + 1]; }

static uint32_t rd32(const uint8_t *d, uint32_t o) {
  return ((uint32_t)d[o] << 24) | ((uint32_t)d[o + 1] << 16) | ((uint32_t)d[o + 2] << 8) | d[o + 3];
}

static void be_bytes(uint32_t v, uint8_t *out) {
  out[0] = (uint8_t)(v >> 24);
  out[1] = (uint8_t)(v >> 16);
  out[2] = (uint8_t)(v >> 8);
  out[3] = (uint8_t)v;
}

/* desc (u32): ifIndex, protocol, src, dst, ports (the packet's big-endian words), row,
 * flags, forward, path, timeout ms, key slot, key id, sender, window, tag length, time-based, framed, cipher slot,
 * payload key id, LAN source, LAN destination (big-endian words), LAN source port << 16 | destination port, egress
 * interface, transform (1: TCP carried as UDP; only for a UDP flow) (native-receive.ts) */
static napi_value ni_mark(napi_env env, napi_callback_info info) {
  const uint32_t *d;
  double until;
  svr_ft *t = svr_ft_mark_args(env, info, &NI, NI_DESC, &d, &until);
  if (t == NULL) return NULL;
  if (d[10] >= SVR_FT_SLOTS || d[17] >= SVR_FT_SLOTS) {
    napi_throw_range_error(env, NULL, "niMark: a slot is out of range");
    return NULL;
  }
  svr_ft_flow f = {{d[2], d[3], d[4], (d[0] & 0xffff) << 8 | (d[1] & 0xff)}};
  ni_entry *e = svr_ft_insert(t, &f);
  if (e == NULL) return NULL;
  *e = (ni_entry){.head = {.flow = f, .used = 1, .until = until}, .row = d[5], .flags = d[6], .forward = d[7] != 0,
                  .path = d[8], .timeout = d[9], .key = d[10], .kid = d[11] & 0xff, .sender = d[12] & 0xff,
                  .window = d[13], .tag_len = d[14], .timed = d[15] != 0, .framed = d[16] != 0, .cipher = d[17],
                  .pkid = d[18] & 0xff, .lan_ports = d[21], .out_ifx = d[22], .transform = d[23] != 0 && d[1] == 17};
  be_bytes(d[19], e->lan_src);
  be_bytes(d[20], e->lan_dst);
  return NULL;
}

/* replay-window.ts check, split: whether (hi, lo) would be accepted by window w (0), and recording it (commit). */
static uint64_t words_ahead(uint32_t th, uint32_t tl, uint32_t hi, uint32_t lo) {
  uint64_t from = tl >> 5;
  if (hi == th) return (lo >> 5) - from;
  return hi - th > 1 ? WINDOW_WORDS : (uint64_t)(lo >> 5) + 0x8000000u - from;
}

static int window_new(const svr_ft *t, uint32_t w, uint32_t hi, uint32_t lo) {
  const uint32_t *bits = (const uint32_t *)t->arr[W_BITS] + (size_t)w * WINDOW_WORDS;
  uint32_t th = ((const uint32_t *)t->arr[W_TOP_HI])[w], tl = ((const uint32_t *)t->arr[W_TOP_LO])[w];
  uint32_t word = bits[(lo >> 5) & (WINDOW_WORDS - 1)], bit = 1u << (lo & 31);
  if (hi > th || (hi == th && lo > tl)) return words_ahead(th, tl, hi, lo) > 0 || (word & bit) == 0; /* moved past: cleared */
  uint64_t behind = hi == th ? (uint64_t)(tl - lo) : th - hi > 1 ? WINDOW_SIZE : (uint64_t)tl + 0x100000000ull - lo;
  return behind < WINDOW_SIZE && (word & bit) == 0;
}

static void window_record(svr_ft *t, uint32_t w, uint32_t hi, uint32_t lo) {
  uint32_t *bits = (uint32_t *)t->arr[W_BITS] + (size_t)w * WINDOW_WORDS;
  uint32_t *top_hi = t->arr[W_TOP_HI], *top_lo = t->arr[W_TOP_LO];
  uint32_t th = top_hi[w], tl = top_lo[w];
  if (hi > th || (hi == th && lo > tl)) { /* RFC 6479 §2: slide forward, clearing the words the top moves past */
    uint64_t ahead = words_ahead(th, tl, hi, lo), from = tl >> 5;
    if (ahead >= WINDOW_WORDS) memset(bits, 0, WINDOW_WORDS * sizeof *bits);
    else
      for (uint64_t i = 1; i <= ahead; i++) bits[(from + i) & (WINDOW_WORDS - 1)] = 0;
    top_hi[w] = hi;
    top_lo[w] = lo;
    if (((size_t)w + 1) * MARK_WORDS <= t->len[W_MARKS]) { /* replay-marks.ts top: the worker host's floor */
      uint32_t *m = (uint32_t *)t->arr[W_MARKS] + (size_t)w * MARK_WORDS;
      m[4] = hi;
      m[5] = lo;
      m[0] = HAS_TOP;
    }
  }
  bits[(lo >> 5) & (WINDOW_WORDS - 1)] |= 1u << (lo & 31);
}

static int window_ok(const svr_ft *t, uint32_t w) {
  return ((size_t)w + 1) * WINDOW_WORDS <= t->len[W_BITS] && w < t->len[W_TOP_HI] && w < t->len[W_TOP_LO] &&
         w < t->len[W_FRESH] && ((const uint8_t *)t->arr[W_FRESH])[w] == 0;
}

/* Step 1 for one packet d[0, len): everything checked, nothing written. 0: not admitted (an admitted flow's mark is
 * dropped: its later packets follow this one to JS). l4ok: the reader thread verified the L4 checksum (fwd.c admit). */
static int admit(svr_ft *t, const uint8_t *d, uint32_t len, uint32_t ifx, double now, int l4ok, ni_pkt *p) {
  if (len < 28 || (d[9] != 6 && d[9] != 17)) return 0;
  uint32_t proto = d[9];
  svr_ft_flow f = {{rd32(d, 12), rd32(d, 16), rd32(d, 20), (ifx & 0xffff) << 8 | proto}};
  ni_entry *e = svr_ft_find(t, &f, 0, sizeof(ni_entry));
  if (e == NULL || !(e->head.until > now)) return 0;
  if (d[0] != 0x45 || rd16(d, 2) != len || (rd16(d, 6) & 0x3fff) != 0 || d[8] <= 1) goto fallback;
  uint32_t payload = 28;
  if (proto == 6 && (len < 40 || (payload = 20 + (uint32_t)(d[32] >> 4) * 4) < 40 || payload > len || (d[33] & TCP_STATE) != 0))
    goto fallback;
  if (proto == 17 && rd16(d, 24) != len - 20) goto fallback;
  if (svr_ones_sum_be(d, 20) != 0xffff) goto fallback; /* decode drops it, counted */
  if (len - payload >= BASE_HEADER && memcmp(d + payload, COOKIE, COOKIE_LEN) == 0) goto fallback;
  if (len - payload < REPLAY + e->tag_len) goto fallback;
  uint32_t at = len - REPLAY - e->tag_len;
  if (d[at] != e->kid || d[at + 1] != e->sender) goto fallback;
  uint32_t body = payload;
  if (e->transform) { /* removeUdpHeader: the inner TCP header whole (else 'drop-bad-transformed'); SYN/FIN/RST: JS's */
    body = at < 48 ? 0 : 28 + (uint32_t)(d[40] >> 4) * 4;
    if (body < 48 || body > at || (d[41] & TCP_STATE) != 0) goto fallback;
  }
  if (!svr_ft_row_ok(t, e->row) || e->path >= t->len[C_PATH_RX] || svr_ft_flags(t, e->row) != e->flags || !window_ok(t, e->window))
    goto fallback;
  void *k = t->keys[e->key].h, *c = t->ciphers[e->cipher].h;
  if (k == NULL || !svr_crypto_live(k)) goto fallback;
  uint32_t framed = e->framed && at > body;
  if (framed && d[at - 1] != 0 && (d[at - 1] != e->pkid || e->pkid == 0 || c == NULL || !svr_crypto_live(c))) goto fallback;
  if ((framed || e->transform) && !l4ok && !svr_steady_verify_l4(d, 0, 20, 0, proto, len)) goto fallback;
  *p = (ni_pkt){.e = e, .len = len, .payload = payload, .at = at, .end = at, .framed = framed, .proto = proto, .body = body};
  return 1;
fallback:
  e->head.until = 0;
  return 0;
}

/* Step 2: ok[i] = 1 when packet i's tag matches, one call per key and slot kind. */
static void verify_all(svr_ft *t, ni_work *w, uint8_t *data, uint32_t n, int64_t slot) {
  memset(w->done, 0, n);
  for (uint32_t i = 0; i < n; i++) {
    if (w->done[i]) continue;
    void *h = t->keys[w->p[i].e->key].h;
    uint32_t m = 0, timed = w->p[i].e->timed, tag_len = w->p[i].e->tag_len;
    for (uint32_t j = i; j < n; j++) {
      ni_pkt *p = &w->p[j];
      if (w->done[j] || t->keys[p->e->key].h != h || p->e->timed != timed || p->e->tag_len != tag_len) continue;
      w->roff[m] = p->o + p->payload;
      w->rlen[m] = p->len - p->payload;
      w->ridx[m++] = j;
      w->done[j] = 1;
    }
    svr_crypto_verify_many(h, data, w->roff, w->rlen, m, tag_len, timed ? slot : -1, w->st);
    for (uint32_t q = 0; q < m; q++) w->ok[w->ridx[q]] = w->st[q] == 0;
  }
}

/* Step 3, in packet order: the flow still marked, the tag, the replay window; then the window and the accounting. */
static void accept_all(svr_ft *t, ni_work *w, const uint8_t *data, uint32_t n, double now) {
  for (uint32_t i = 0; i < n; i++) {
    ni_pkt *p = &w->p[i];
    ni_entry *e = p->e;
    const uint8_t *b = data + p->o + p->at + 2;
    uint32_t hi = rd32(b, 0), lo = rd32(b, 4);
    p->verdict = V_REST;
    if (!(e->head.until > now) || !w->ok[i] || !window_new(t, e->window, hi, lo)) {
      e->head.until = 0;
      continue;
    }
    window_record(t, e->window, hi, lo);
    svr_ft_account(t, e->row, e->forward, p->at, now, e->timeout);
    ((double *)t->arr[C_PATH_RX])[e->path] += 1;
    p->verdict = V_NATIVE;
  }
}

/* Step 4: the AES-CBC payloads [body, at - 1), one call per cipher; p->end where the plaintext ends. */
static void open_all(svr_ft *t, ni_work *w, uint8_t *data, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    ni_pkt *p = &w->p[i];
    int sealed = p->verdict == V_NATIVE && p->framed && data[p->o + p->at - 1] != 0;
    w->done[i] = !sealed;
    if (p->verdict == V_NATIVE && p->framed && !sealed) p->end = p->at - 1; /* the plain marker */
  }
  for (uint32_t i = 0; i < n; i++) {
    if (w->done[i]) continue;
    void *h = t->ciphers[w->p[i].e->cipher].h;
    uint32_t m = 0;
    for (uint32_t j = i; j < n; j++) {
      ni_pkt *p = &w->p[j];
      if (w->done[j] || t->ciphers[p->e->cipher].h != h) continue;
      w->roff[m] = p->o + p->body;
      w->rlen[m] = p->at - 1 - p->body;
      w->ridx[m++] = j;
      w->done[j] = 1;
    }
    int64_t ok = svr_crypto_open_many(h, data, w->roff, w->rlen, m, w->st);
    for (uint32_t q = 0; q < m; q++) {
      ni_pkt *p = &w->p[w->ridx[q]];
      if (ok >= 0 && w->st[q] == 0) p->end = p->body + w->rlen[q];
      else p->verdict = V_DROP;
    }
  }
}

/* Step 5 for an accepted packet: TTL, trailer, LAN 5-tuple, lengths and checksums. Returns how far on the packet
 * now starts (UDP_HDR when its UDP header went). */
static uint32_t finish(uint8_t *d, const ni_pkt *p) {
  const ni_entry *e = p->e;
  d[8]--; /* decode: TTL - 1 (the IPv4 header checksum is recomputed below) */
  if (e->transform) { /* removeUdpHeader, then svr-in's finish: the TCP checksum in full */
    memmove(d + UDP_HDR, d, 20);
    d[UDP_HDR + 9] = 6;
    svr_steady_finish_one(d + UDP_HDR, 0, 20, 0, 6, p->end - UDP_HDR, p->end - UDP_HDR, 1, e->lan_src, e->lan_dst, e->lan_ports);
    return UDP_HDR;
  }
  if (p->framed) {
    svr_steady_finish_one(d, 0, 20, 0, p->proto, p->end, p->end, 1, e->lan_src, e->lan_dst, e->lan_ports);
    return 0;
  }
  svr_steady_untail(d, 20, p->proto, p->at, p->len);
  svr_steady_rewrite4(d, p->proto, e->lan_src, e->lan_dst, e->lan_ports);
  svr_steady_ip_length4(d, p->proto, p->at);
  return 0;
}

/* One batch (niReceive, or native/tun-pass.c's pass): fills b->res (native, rest, dropped) and its lists; returns the
 * native count. */
uint32_t svr_ni_receive_batch(svr_ft *t, svr_ft_batch *bp) {
  svr_ft_batch b = *bp;
  uint8_t *data = b.data;
  const uint32_t *off = b.off, *lens = b.len;
  uint32_t *nat_off = b.list[0], *nat_len = b.list[1], *nat_if = b.list[2], *rest_off = b.list[3], *rest_len = b.list[4];
  ni_work *w = t->work;
  uint32_t n = 0;
  svr_pass_prefetch(data, b.dlen, off, lens, 0, b.count < SVR_PASS_AHEAD ? b.count : SVR_PASS_AHEAD);
  for (uint32_t i = 0; i < b.count; i++) {
    if (i + SVR_PASS_AHEAD < b.count) svr_pass_prefetch(data, b.dlen, off, lens, i + SVR_PASS_AHEAD, i + SVR_PASS_AHEAD + 1);
    w->adm[i] = NI_BATCH;
    if (t->count > 0 && (size_t)off[i] + lens[i] <= b.dlen && admit(t, data + off[i], lens[i], b.ifx, b.now, b.l4ok != NULL && b.l4ok[i], &w->p[n])) {
      w->p[n].o = off[i];
      w->adm[i] = n++;
    }
  }
  verify_all(t, w, data, n, b.slot);
  accept_all(t, w, data, n, b.now);
  open_all(t, w, data, n);
  uint32_t nat = 0, rest = 0, dropped = 0;
  for (uint32_t i = 0; i < b.count; i++) { /* the packets in their order: finished, dropped, or to JS unchanged */
    ni_pkt *p = w->adm[i] < NI_BATCH ? &w->p[w->adm[i]] : NULL;
    if (p != NULL && p->verdict == V_NATIVE) {
      uint32_t moved = finish(data + p->o, p);
      nat_off[nat] = p->o + moved;
      nat_len[nat] = p->end - moved;
      nat_if[nat++] = p->e->out_ifx;
    } else if (p != NULL && p->verdict == V_DROP) {
      p->e->head.until = 0;
      dropped++;
    } else {
      rest_off[rest] = off[i];
      rest_len[rest++] = lens[i];
    }
  }
  b.res[0] = nat;
  b.res[1] = rest;
  b.res[2] = dropped;
  return nat;
}

int svr_ni_current(const svr_ft *t) {
  const uint32_t *seen = t->arr[W_SEEN];
  if (t->len[W_SEEN] < NI_WATCH) return 0;
  for (int k = 0; k < NI_WATCH; k++)
    if (t->len[W_SEEN + 1 + k] == 0 || ((const uint32_t *)t->arr[W_SEEN + 1 + k])[0] != seen[k]) return 0;
  return 1;
}

svr_ft *svr_ni_table(napi_env env, napi_value v) { return svr_ft_of(env, v, &NI); }

static napi_value ni_receive(napi_env env, napi_callback_info info) {
  return svr_ft_batch_call(env, info, &NI, 0, 3, svr_ni_receive_batch);
}

static const svr_ft_arrays NI_COLUMNS = {&NI, "niColumns", "niColumns(h, " SVR_FT_COLUMN_NAMES ", pathRx)", 0,
                                         SVR_FT_SHARED + 1, {SVR_FT_COLUMN_TYPES, napi_float64_array}};
static const svr_ft_arrays NI_WINDOWS = {&NI, "niWindows", "niWindows(h, bits, topHi, topLo, fresh, marks)", W_BITS, 5,
                                         {napi_uint32_array, napi_uint32_array, napi_uint32_array, napi_uint8_array,
                                          napi_uint32_array}};
static const svr_ft_arrays NI_WATCH_SET = {&NI, "niWatch", "niWatch(h, seen, ...6 words: Uint32Array)", W_SEEN,
                                           1 + NI_WATCH,
                                           {napi_uint32_array, napi_uint32_array, napi_uint32_array, napi_uint32_array,
                                            napi_uint32_array, napi_uint32_array, napi_uint32_array}};

napi_status svr_fwd_in_init(napi_env env, napi_value exports) {
  static const svr_ft_arrays *const sets[] = {&NI_COLUMNS, &NI_WINDOWS, &NI_WATCH_SET};
  static const svr_ft_fn fns[] = {{"niMark", ni_mark}, {"niReceive", ni_receive}};
  return svr_ft_export(env, exports, &NI, 1, sets, 3, fns, 2);
}
