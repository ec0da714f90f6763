/*
 * tun-pass.c: the steady pass of a poll-mode TUN queue (issue 19 item 5; docs/tun-io.md "A steady pass without JS").
 * TypeScript arms it per queue (tunReaderPass, src/dataplane/steady-pass.ts) with what Dataplane.receive would use for
 * the batch: native/fwd.c's table on a LAN queue (svr-out), native/fwd-in.c's on a WAN queue (svr-in), the egress
 * writers by interface index, the counters and their indices, the clock.
 * Flow, per batch the JS thread read in poll mode (tun.c poll_read_deliver), or the reader thread read and handed over
 * (tun.c reader_call_js, on the JS thread, before JS):
 *   svr-in: the marks still hold (svr_ni_current: the words prepare() saw have not moved), else all of it to JS;
 *   in chunks of SVR_NF_BATCH: svr_nf_forward_batch / svr_ni_receive_batch (the marked steady flows finished in
 *   place, as nfForward / niReceive do; svr-in may drop a payload that does not decrypt) -> the native packets written
 *   to their egress (svr_tun_writer_push: the writer ring, or a direct write when small, as TunPort.transmit does) ->
 *   the counters Dataplane.receive/receiveIn/transmitNative would add -> what is left moved to the batch's first
 *   slots, in order.
 * tun.c calls JS only with that rest, and only when there is one (or JS asked to hear of the next batch: T_WAKE).
 * Same thread as the JS pass, between JS calls: nothing races the session table, the replay windows or the tx key's
 * counter words.
 *   tunReaderPass(reader, table|null, ifIndex, writers[], counters: Float64Array, idx: Uint32Array,
 *                 tally: Float64Array(T_N), clockOffsetMs, slotMs)   (null: off)
 *   table: an nfCreate (svr-out) or niCreate (svr-in) handle
 *   idx: P_IDX words (below), then per egress interface x its tx packets / bytes counter at P_IDX + 2x, P_IDX + 2x + 1
 *   (a counter index beyond counters is not counted: Dataplane.countInterface's bound).
 */
#include "tun-pass.h"
#include "fwd-pass.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#define PASS_MAX_IF 64
/* idx words: the Dataplane's counter indices (P_NATIVE: native-forwarded or native-received) */
enum { P_RX_BATCHES, P_RX, P_NATIVE, P_TX, P_NO_PORT, P_IF_RX_PKTS, P_IF_RX_BYTES, P_BAD_PAYLOAD, P_IDX };
_Static_assert(SVR_NF_BATCH == SVR_NI_BATCH, "one chunk size for both directions");
#define RES_HEAD 3 /* res words before the lists: native, rest (and svr-in's dropped) */
/* tally words (JS reads them; T_WAKE is JS's: 1 = call JS with the next batch even when nothing is left) */
enum { T_PACKETS, T_BATCHES, T_WAKE, T_N };

struct svr_tun_pass {
  napi_env env;
  svr_ft *t;
  int in; /* svr-in (fwd-in.c's table) */
  uint32_t ifx, nout;
  writer *out[PASS_MAX_IF];
  double *ctr;
  size_t nctr;
  const uint32_t *idx;
  size_t nidx;
  double *tally;
  double clock_off, slot_ms;
  /* tunPassProbe (tests only): a fixed clock, and the egress packets copied to cap instead of written */
  int probe;
  double probe_now;
  uint8_t *cap;
  size_t cap_size, cap_at;
  uint32_t *cap_len, *cap_if, cap_n, cap_max;
  napi_ref refs[PASS_MAX_IF + 4];
  uint32_t nrefs;
  uint32_t off[SVR_NF_BATCH];
  uint32_t res[RES_HEAD + SVR_FT_LISTS * SVR_NF_BATCH];
};

void svr_tun_pass_free(svr_tun_pass *p) {
  if (p == NULL) return;
  for (uint32_t i = 0; i < p->nrefs; i++) napi_delete_reference(p->env, p->refs[i]);
  free(p);
}

static void count(svr_tun_pass *p, uint32_t word, double v) {
  if (word >= p->nidx) return;
  uint32_t i = p->idx[word];
  if (i < p->nctr) p->ctr[i] += v;
}

/* tunPassProbe: packets [k, j) of the native lists copied out in order (what the writers would have been given). */
static void capture(svr_tun_pass *p, const uint8_t *data, const uint32_t *off, const uint32_t *len, uint32_t k, uint32_t j,
                    uint32_t ifx) {
  for (uint32_t q = k; q < j && p->cap_n < p->cap_max && p->cap_at + len[q] <= p->cap_size; q++) {
    memcpy(p->cap + p->cap_at, data + off[q], len[q]);
    p->cap_at += len[q];
    p->cap_len[p->cap_n] = len[q];
    p->cap_if[p->cap_n++] = ifx;
  }
}

/* Dataplane.transmitNative: one push per run of the same egress, counted. */
static void transmit(svr_tun_pass *p, uint8_t *data, uint32_t nat) {
  const uint32_t *off = p->res + RES_HEAD, *len = off + SVR_NF_BATCH, *oif = len + SVR_NF_BATCH;
  count(p, P_RX, nat);
  count(p, P_NATIVE, nat);
  for (uint32_t k = 0; k < nat;) {
    uint32_t ifx = oif[k], j = k;
    double bytes = 0;
    while (j < nat && oif[j] == ifx) bytes += len[j++];
    writer *w = ifx < p->nout ? p->out[ifx] : NULL;
    if (w == NULL && !p->probe) {
      count(p, P_NO_PORT, j - k);
    } else {
      if (p->probe)
        capture(p, data, off, len, k, j, ifx);
      else if (svr_tun_writer_direct_max(w) != UINT32_MAX) /* stopped: TunPort counts a closed port's packets as drops */
        svr_tun_writer_push(w, data, off + k, len + k, j - k, svr_tun_writer_direct_max(w));
      count(p, P_TX, j - k);
      count(p, P_IDX + 2 * ifx, j - k);
      count(p, P_IDX + 2 * ifx + 1, bytes);
    }
    k = j;
  }
}

void svr_tun_pass_verdicts(const uint8_t *data, const uint32_t *lens, uint32_t n, uint32_t snap, uint8_t *ok) {
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *d = data + (size_t)i * snap;
    uint32_t len = lens[i], proto = len >= 28 ? d[9] : 0;
    ok[i] = d[0] == 0x45 && ((proto == 6 && len >= 40) || proto == 17) && svr_steady_verify_l4(d, 0, 20, 0, proto, len);
  }
}

uint32_t svr_tun_pass_run(svr_tun_pass *p, uint8_t *data, uint32_t *lens, const uint8_t *l4ok, uint32_t n, uint32_t batch,
                          uint32_t snap, int *call) {
  if (p->in && !svr_ni_current(p->t)) { /* JS prepares the marks again (native-receive.ts prepare) */
    *call = 1;
    return n;
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  double wall = (double)ts.tv_sec * 1000.0 + (double)(ts.tv_nsec / 1000000); /* Date.now() */
  svr_ft_batch b = {.data = data, .dlen = (size_t)batch * snap, .len = lens, .room = snap, .ifx = p->ifx,
                    .now = p->probe ? p->probe_now : (double)uv_hrtime() / 1e6 + p->clock_off, .res = p->res};
  double slot = p->slot_ms > 0 ? (double)(uint64_t)(wall / p->slot_ms) : -1;
  b.slot = slot >= 0 && slot <= 4294967295.0 ? (int64_t)slot : -1;
  for (int i = 0; i < SVR_FT_LISTS; i++) b.list[i] = p->res + RES_HEAD + (size_t)i * SVR_NF_BATCH;
  uint32_t left = 0, took = 0;
  for (uint32_t i = 0; i < n; i += SVR_NF_BATCH) {
    uint32_t m = n - i < SVR_NF_BATCH ? n - i : SVR_NF_BATCH;
    for (uint32_t j = 0; j < m; j++) p->off[j] = (i + j) * snap;
    b.off = p->off;
    b.len = lens + i;
    b.l4ok = l4ok != NULL ? l4ok + i : NULL;
    b.count = m;
    p->res[2] = 0;
    uint32_t nat = p->in ? svr_ni_receive_batch(p->t, &b) : svr_nf_forward_batch(p->t, &b);
    uint32_t dropped = p->res[2], taken = m - p->res[1];
    const uint32_t *rest_off = b.list[3], *rest_len = b.list[4];
    if (taken > 0) {
      double bytes = 0; /* the rx bytes of what the pass took: as they came in (lens is not written by the pass) */
      for (uint32_t j = 0; j < m; j++) bytes += lens[i + j];
      for (uint32_t j = 0; j < p->res[1]; j++) bytes -= rest_len[j];
      count(p, P_IF_RX_PKTS, taken);
      count(p, P_IF_RX_BYTES, bytes);
      count(p, P_RX, dropped); /* receiveIn: a payload that does not decrypt, counted as svr-in counts it */
      count(p, P_BAD_PAYLOAD, dropped);
      transmit(p, data, nat);
      took += taken;
    }
    for (uint32_t j = 0; j < p->res[1]; j++, left++) { /* the rest, in order, to the first free slots */
      uint32_t s = rest_off[j] / snap;
      if (s != left) memmove(data + (size_t)left * snap, data + rest_off[j], rest_len[j]);
      lens[left] = rest_len[j];
    }
  }
  p->tally[T_PACKETS] += took;
  *call = left > 0 || p->tally[T_WAKE] != 0;
  if (!*call) { /* the batch Dataplane.receive would have counted */
    p->tally[T_BATCHES] += 1;
    count(p, P_RX_BATCHES, 1);
  }
  return left;
}

static int typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len) {
  napi_typedarray_type ty;
  napi_value ab;
  size_t off;
  return napi_get_typedarray_info(env, v, &ty, len, data, &ab, &off) != napi_ok || ty != want;
}

svr_tun_pass *svr_tun_pass_args(napi_env env, napi_value *a, int *off) {
  napi_valuetype ty;
  *off = 0;
  if (napi_typeof(env, a[0], &ty) != napi_ok) return NULL;
  if (ty == napi_null || ty == napi_undefined) {
    *off = 1;
    return NULL;
  }
  svr_ft *t = svr_nf_table(env, a[0]), *in = t == NULL ? svr_ni_table(env, a[0]) : NULL;
  if (t == NULL && in == NULL) {
    napi_throw_type_error(env, "SVR_ERR_IO_TUN_PASS", "tunReaderPass: the table is not an nfCreate or niCreate handle");
    return NULL;
  }
  svr_tun_pass *p = calloc(1, sizeof *p);
  uint32_t nw = 0;
  bool isarr = false;
  void *ctr, *idx, *tally;
  size_t tlen;
  if (p == NULL) {
    svr_throw_errno(env, 12 /* ENOMEM */, "calloc");
    return NULL;
  }
  p->env = env;
  p->t = t != NULL ? t : in;
  p->in = in != NULL;
  if (svr_arg_u32(env, a[1], "ifIndex", &p->ifx) || napi_is_array(env, a[2], &isarr) != napi_ok || !isarr ||
      napi_get_array_length(env, a[2], &nw) != napi_ok || nw > PASS_MAX_IF ||
      typed(env, a[3], napi_float64_array, &ctr, &p->nctr) || typed(env, a[4], napi_uint32_array, &idx, &p->nidx) ||
      typed(env, a[5], napi_float64_array, &tally, &tlen) || tlen < T_N ||
      napi_get_value_double(env, a[6], &p->clock_off) != napi_ok || napi_get_value_double(env, a[7], &p->slot_ms) != napi_ok) {
    free(p);
    napi_throw_type_error(env, "SVR_ERR_IO_TUN_PASS",
                          "tunReaderPass(reader, table, ifIndex, writers[<=64], counters: Float64Array, idx: Uint32Array, "
                          "tally: Float64Array(3), clockOffsetMs, slotMs)");
    return NULL;
  }
  p->ctr = ctr;
  p->idx = idx;
  p->tally = tally;
  p->nout = nw;
  napi_value keep[4] = {a[0], a[3], a[4], a[5]};
  for (int i = 0; i < 4; i++)
    if (napi_create_reference(env, keep[i], 1, &p->refs[p->nrefs]) == napi_ok) p->nrefs++;
  for (uint32_t i = 0; i < nw; i++) {
    napi_value v;
    if (napi_get_element(env, a[2], i, &v) != napi_ok || napi_typeof(env, v, &ty) != napi_ok) continue;
    if (ty == napi_null || ty == napi_undefined) continue;
    if ((p->out[i] = svr_tun_writer_of(env, v)) == NULL) {
      svr_tun_pass_free(p);
      return NULL;
    }
    if (napi_create_reference(env, v, 1, &p->refs[p->nrefs]) == napi_ok) p->nrefs++;
  }
  return p;
}

/* tunPassProbe(table, ifIndex, counters, idx, tally, now, data: Uint8Array, lens: Uint32Array, count, snap,
 *              out: Uint8Array, outLens: Uint32Array, outIf: Uint32Array[, l4ok: Uint8Array]) -> left (tests only:
 * test/unit/router/wan-pass, test/unit/io/tun-pass-verdict): the pass on a caller's batch (slot i at data + i * snap),
 * at a fixed clock (no time slot), its egress packets copied to out (outLens / outIf filled, [count] in tally[T_N])
 * instead of written; what is left moved to slots 0.. as for JS. l4ok: the reader thread's verdicts
 * (svr_tun_pass_verdicts) as the batch's. */
napi_value svr_tun_pass_probe(napi_env env, napi_callback_info info) {
  size_t argc = 14;
  napi_value argv[14], a[8], empty, result;
  void *data, *lens, *out, *olen, *oif, *tally, *l4ok = NULL;
  size_t dlen, nlens, osize, nolen, noif, tlen, nl4 = 0;
  napi_valuetype l4ty = napi_undefined;
  uint32_t n, snap;
  double now;
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  SVR_CHECK(env, napi_create_array(env, &empty));
  if (argc < 13 || napi_get_value_double(env, argv[5], &now) != napi_ok || typed(env, argv[6], napi_uint8_array, &data, &dlen) ||
      typed(env, argv[7], napi_uint32_array, &lens, &nlens) || svr_arg_u32(env, argv[8], "count", &n) ||
      svr_arg_u32(env, argv[9], "snap", &snap) || typed(env, argv[10], napi_uint8_array, &out, &osize) ||
      typed(env, argv[11], napi_uint32_array, &olen, &nolen) || typed(env, argv[12], napi_uint32_array, &oif, &noif) ||
      typed(env, argv[4], napi_float64_array, &tally, &tlen) || tlen <= T_N || snap == 0 || n > nlens ||
      (size_t)n * snap > dlen || (argc > 13 && napi_typeof(env, argv[13], &l4ty) != napi_ok) ||
      (l4ty != napi_undefined && (typed(env, argv[13], napi_uint8_array, &l4ok, &nl4) || nl4 < n))) {
    napi_throw_type_error(env, "SVR_ERR_IO_TUN_PASS", "tunPassProbe(table, ifIndex, counters, idx, tally, now, data, lens, "
                                                      "count, snap, out, outLens, outIf[, l4ok])");
    return NULL;
  }
  napi_value zero;
  SVR_CHECK(env, napi_create_double(env, 0, &zero));
  a[0] = argv[0], a[1] = argv[1], a[2] = empty, a[3] = argv[2], a[4] = argv[3], a[5] = argv[4], a[6] = zero, a[7] = zero;
  int off = 0, call = 0;
  svr_tun_pass *p = svr_tun_pass_args(env, a, &off);
  if (p == NULL) return NULL;
  p->probe = 1;
  p->probe_now = now;
  p->cap = out;
  p->cap_size = osize;
  p->cap_len = olen;
  p->cap_if = oif;
  p->cap_max = (uint32_t)(nolen < noif ? nolen : noif);
  uint32_t left = svr_tun_pass_run(p, data, lens, l4ok, n, n, snap, &call);
  p->tally[T_N] = p->cap_n;
  svr_tun_pass_free(p);
  SVR_CHECK(env, napi_create_uint32(env, left, &result));
  return result;
}
