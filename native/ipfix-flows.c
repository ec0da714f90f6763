/*
 * A plain session's IPFIX flows (RFC 7011 §3.4.3 data records) written straight from its open-session slot into
 * the open message: the same bytes as telemetry/ipfix/message.ts encodeFlow writes from the session's end record,
 * with no record object, no address text and no session id text (telemetry/ipfix/plain-flows.ts calls it).
 *
 *   slot (telemetry/open-sessions.ts layout: SLOT_WORDS words a slot) + shape (the session's names, pre-encoded:
 *   plain-flows.ts) -> per direction: template (families), set header when the template changes (§3.3.2), the
 *   fields in the template's order (templates.ts), strings as §7 short form (their bytes from the shape)
 *
 * A plain session: no interim record before (its deltas are its totals), no migration, no TCP retransmissions.
 */
#include <math.h>
#include <string.h>

#include "svr_native.h"

/* open-sessions.ts: a slot's words, and where its fields are */
#define SLOT_WORDS 52
#define W0 7
#define NAT_PORTS 8
#define PORTS 9
#define WP_PORTS 10
#define ADDR 16
#define F_START 16
#define F_COUNTS 18
/* fact-ring.ts OPENED flags */
#define OPENED_SNAT 1
#define OPENED_DNAT 2
#define ROLE_INGRESS 1
#define ROLE_LOCAL_MIN 3
/* message.ts */
#define HEADER_BYTES 16
#define SET_HEADER_BYTES 4
#define TEMPLATE_ID_BASE 256
/* plain-flows.ts shape layout */
#define SH_FLAGS 0
#define SH_END_REASON 1
#define SH_IN_INDEX 4
#define SH_OUT_INDEX 8
#define SH_LOCAL 12
#define SH_LOCAL_LEN 28
#define SH_REMOTE 29
#define SH_REMOTE_LEN 45
#define SH_OFFSETS 48 /* u16 LE: in name, out name, service, tail, end */
#define SH_WAYPOINT 1
#define SH_LOCAL_V6 4
#define SH_REMOTE_V6 8
/* io (Float64Array), a list entry (Float64Array: ENTRY doubles) */
enum { IO_AT, IO_MAX, IO_SET_START, IO_SET_ID, IO_NEXT, IO_DIR, IO_COUNT, IO_FLOWS, IO_ENDED, IO_LENGTH };
enum { E_SLOT, E_SHAPE, E_END_MS, ENTRY };
enum { DONE = 0, FULL = 1, OVERSIZE = 2 };

static const char HEX[] = "0123456789abcdef";

static inline uint8_t *put16(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
  return p + 2;
}

static inline uint8_t *put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
  return p + 4;
}

/* message.ts u64: negative, NaN and infinite as 0; the high word floor(n / 2^32) and the low word as JS's >>> 0. */
static inline uint8_t *put64(uint8_t *p, double n) {
  if (!(n > 0) || !isfinite(n)) return memset(p, 0, 8), p + 8;
  p = put32(p, (uint32_t)fmod(floor(n / 4294967296.0), 4294967296.0));
  return put32(p, (uint32_t)fmod(trunc(n), 4294967296.0));
}

/* An address of `size` bytes from its words (big-endian bytes, as wordsToBytes), or from `bytes` of the shape
 * (zeros when its length is not the field's: message.ts address). */
static inline uint8_t *put_words(uint8_t *p, const uint32_t *w, int size) {
  for (int i = 0; i < size / 4; i++) p = put32(p, w[i]);
  return p;
}

static inline uint8_t *put_shape_addr(uint8_t *p, const uint8_t *bytes, uint8_t len, int size) {
  if (len == size) memcpy(p, bytes, (size_t)size);
  else memset(p, 0, (size_t)size);
  return p + size;
}

static inline uint16_t off_at(const uint8_t *shape, int k) {
  return (uint16_t)(shape[SH_OFFSETS + 2 * k] | (shape[SH_OFFSETS + 2 * k + 1] << 8));
}

/* A side of a post tuple: from the slot's words, or one of the shape's waypoint addresses. */
typedef struct {
  const uint32_t *words; /* NULL: the shape's */
  const uint8_t *bytes;
  uint8_t len;
} side;

/* Writes direction `dir` of the slot at io's `at` when it fits; DONE, FULL or OVERSIZE. */
static int flow(uint8_t *buf, const uint32_t *u, const double *f, const uint8_t *shape, double end_ms, double *io, int dir) {
  uint32_t w0 = u[W0];
  uint32_t role = (w0 >> 8) & 0xff, family = (w0 >> 16) & 0xf, flags = (w0 >> 20) & 0xf;
  const uint32_t *src = u + ADDR, *dst = u + ADDR + 4;
  int nat = (flags & (OPENED_SNAT | OPENED_DNAT)) != 0;
  const uint32_t *nsrc = (flags & OPENED_SNAT) ? u + ADDR + 8 : src, *ndst = (flags & OPENED_DNAT) ? u + ADDR + 12 : dst;
  uint32_t ports = u[PORTS], natp = u[NAT_PORTS], wp = u[WP_PORTS];
  int v6 = family == 6, size = v6 ? 16 : 4;
  /* the 5-tuple: forward, or the reverse of the NAT one (else of the forward) */
  const uint32_t *ts = dir == 0 ? src : nat ? ndst : dst, *td = dir == 0 ? dst : nat ? nsrc : src;
  uint32_t tp = dir == 0 ? ports : nat ? natp : ports;
  uint32_t tsp = dir == 0 ? tp >> 16 : tp & 0xffff, tdp = dir == 0 ? tp & 0xffff : tp >> 16;
  /* post-NAT: forward the NAT 5-tuple, reverse the client's; else the waypoint's (its sides swapped for the reverse) */
  side ps = {0}, pd = {0};
  uint32_t psp = 0, pdp = 0;
  int post_v6 = v6;
  int wpt = (shape[SH_FLAGS] & SH_WAYPOINT) != 0 && role < ROLE_LOCAL_MIN && role != 0;
  if (nat) {
    ps.words = dir == 0 ? nsrc : dst;
    pd.words = dir == 0 ? ndst : src;
    psp = dir == 0 ? natp >> 16 : ports & 0xffff;
    pdp = dir == 0 ? natp & 0xffff : ports >> 16;
  } else if (wpt) {
    int ingress = role == ROLE_INGRESS;
    side local = {NULL, shape + SH_LOCAL, shape[SH_LOCAL_LEN]}, remote = {NULL, shape + SH_REMOTE, shape[SH_REMOTE_LEN]};
    int lv6 = (shape[SH_FLAGS] & SH_LOCAL_V6) != 0, rv6 = (shape[SH_FLAGS] & SH_REMOTE_V6) != 0;
    /* waypoint: ingress local -> remote (ports local << 16 | peer), egress remote -> local */
    side wsrc = ingress ? local : remote, wdst = ingress ? remote : local;
    uint32_t wsp = ingress ? wp >> 16 : wp & 0xffff, wdp = ingress ? wp & 0xffff : wp >> 16;
    ps = dir == 0 ? wsrc : wdst;
    pd = dir == 0 ? wdst : wsrc;
    psp = dir == 0 ? wsp : wdp;
    pdp = dir == 0 ? wdp : wsp;
    post_v6 = dir == 0 ? (ingress ? lv6 : rv6) : (ingress ? rv6 : lv6);
  }
  int post_size = post_v6 ? 16 : 4;
  int id = TEMPLATE_ID_BASE + v6 + 2 * post_v6;
  uint16_t in0 = off_at(shape, 0), out0 = off_at(shape, 1), svc0 = off_at(shape, 2), tail0 = off_at(shape, 3), end0 = off_at(shape, 4);
  uint32_t name_len = dir == 0 ? (uint32_t)(out0 - in0) : (uint32_t)(svc0 - out0);
  uint32_t len = (uint32_t)(2 * size + 5 + 16 + 16 + 3 + 2 * post_size + 4 + 8) + name_len + 1 + 40 + (uint32_t)(tail0 - svc0) + 37 + (uint32_t)(end0 - tail0);
  uint32_t at = (uint32_t)io[IO_AT], max = (uint32_t)io[IO_MAX];
  int set_id = (int)io[IO_SET_ID];
  uint32_t flow_at = at + (set_id == id ? 0 : SET_HEADER_BYTES);
  if (flow_at + len > max) return HEADER_BYTES + SET_HEADER_BYTES + len > max ? OVERSIZE : FULL;
  if (set_id != id) {
    double start = io[IO_SET_START];
    if (start >= 0) put16(buf + (uint32_t)start + 2, at - (uint32_t)start); /* closeSet */
    io[IO_SET_START] = at;
    io[IO_SET_ID] = id;
    put16(buf + at, (uint32_t)id);
  }
  const double *c = f + F_COUNTS; /* packets fwd, rev, bytes fwd, rev */
  double start_ms = f[F_START];
  uint8_t *p = buf + flow_at;
  p = put_words(p, ts, size);
  p = put_words(p, td, size);
  p = put16(p, tsp);
  p = put16(p, tdp);
  *p++ = (uint8_t)(w0 >> 24);
  p = put64(p, c[2 + dir]); /* deltas: the totals (the session's first record) */
  p = put64(p, c[dir]);
  p = put64(p, start_ms);
  p = put64(p, end_ms);
  *p++ = shape[SH_END_REASON];
  *p++ = 64; /* forwardingStatus forwarded */
  *p++ = dir == 0 ? 1 : 2; /* biflowDirection initiator, reverseInitiator */
  p = ps.words != NULL ? put_words(p, ps.words, post_size) : put_shape_addr(p, ps.bytes, ps.len, post_size);
  p = pd.words != NULL ? put_words(p, pd.words, post_size) : put_shape_addr(p, pd.bytes, pd.len, post_size);
  p = put16(p, psp);
  p = put16(p, pdp);
  memcpy(p, shape + (dir == 0 ? SH_IN_INDEX : SH_OUT_INDEX), 4); /* big-endian already */
  memcpy(p + 4, shape + (dir == 0 ? SH_OUT_INDEX : SH_IN_INDEX), 4);
  p += 8;
  memcpy(p, shape + (dir == 0 ? in0 : out0), name_len);
  p += name_len;
  *p++ = 1; /* recordType end */
  p = put64(p, start_ms);
  p = put64(p, end_ms);
  p = put64(p, c[2 + dir]);
  p = put64(p, c[dir]);
  p = put64(p, 0); /* tcpRetransmissionCount */
  memcpy(p, shape + svc0, (size_t)(tail0 - svc0));
  p += tail0 - svc0;
  /* sessionId: the 8-4-4-4-12 lowercase text of the id's words (random-pool.ts uuidString) */
  *p++ = 36;
  for (int k = 0, q = 0; k < 16; k++) {
    if (k == 4 || k == 6 || k == 8 || k == 10) p[q++] = '-';
    uint8_t b = (uint8_t)(u[k >> 2] >> (24 - 8 * (k & 3)));
    p[q++] = (uint8_t)HEX[b >> 4];
    p[q++] = (uint8_t)HEX[b & 15];
  }
  p += 36;
  memcpy(p, shape + tail0, (size_t)(end0 - tail0));
  io[IO_AT] = flow_at + len;
  return DONE;
}

/*
 * ipfixPlainFlows(message: Uint8Array, slots: Uint32Array, shapes: Uint8Array, list: Float64Array, io: Float64Array):
 * status. The list's sessions (slot, shape's offset in shapes, end ms) from io's next one and direction on, into the
 * message (io: its end, limit, open set's start and template; the list's length): DONE (all written), FULL (the flow
 * of io's session and direction does not fit: the message is to be finished), OVERSIZE (it fits no message). io's
 * flows and ended: what this call wrote (flows, sessions whose last flow it wrote). The reverse flow only when the
 * reverse direction carried a packet. Every slot is of an IPv4 or IPv6 session (open-sessions.ts `plain`).
 */
static napi_value ipfix_plain_flows(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint8_t *buf = NULL, *shapes = NULL;
  uint32_t *slots = NULL;
  double *list = NULL, *io = NULL;
  size_t blen = 0, slen = 0, shlen = 0, llen = 0, iolen = 0;
  if (argc < 5 || svr_arg_typed(env, argv[0], napi_uint8_array, "message", (void **)&buf, &blen) != 0 ||
      svr_arg_typed(env, argv[1], napi_uint32_array, "slots", (void **)&slots, &slen) != 0 ||
      svr_arg_typed(env, argv[2], napi_uint8_array, "shapes", (void **)&shapes, &shlen) != 0 ||
      svr_arg_typed(env, argv[3], napi_float64_array, "list", (void **)&list, &llen) != 0 ||
      svr_arg_typed(env, argv[4], napi_float64_array, "io", (void **)&io, &iolen) != 0)
    return NULL;
  if (iolen < IO_LENGTH || io[IO_MAX] > (double)blen || io[IO_COUNT] * ENTRY > (double)llen) {
    napi_throw_range_error(env, NULL, "ipfixPlainFlows: io, message or list out of range");
    return NULL;
  }
  int status = DONE, flows = 0, ended = 0;
  uint32_t count = (uint32_t)io[IO_COUNT];
  for (uint32_t i = (uint32_t)io[IO_NEXT]; i < count; i++) {
    const double *e = list + (size_t)i * ENTRY;
    size_t slot = (size_t)e[E_SLOT], at = (size_t)e[E_SHAPE];
    const uint8_t *shape = shapes + at;
    if ((slot + 1) * SLOT_WORDS > slen || at + SH_OFFSETS + 10 > shlen || at + off_at(shape, 4) > shlen) {
      napi_throw_range_error(env, NULL, "ipfixPlainFlows: a slot or shape out of range");
      return NULL;
    }
    const uint32_t *u = slots + slot * SLOT_WORDS;
    const double *f = (const double *)u;
    int n = f[F_COUNTS + 1] == 0 ? 1 : 2;
    for (int dir = (int)io[IO_DIR]; dir < n; dir++) {
      /* the flow's bytes may run past max (the buffer's room for one flow, message.ts bufferBytes): checked first */
      status = flow(buf, u, f, shape, e[E_END_MS], io, dir);
      if (status != DONE) break;
      io[IO_DIR] = dir + 1;
      flows++;
    }
    if (status != DONE) break;
    ended++;
    io[IO_NEXT] = i + 1;
    io[IO_DIR] = 0;
  }
  io[IO_FLOWS] = flows;
  io[IO_ENDED] = ended;
  napi_value out;
  SVR_CHECK(env, napi_create_int32(env, status, &out));
  return out;
}

napi_status svr_ipfix_flows_init(napi_env env, napi_value exports) {
  return svr_export_fn(env, exports, "ipfixPlainFlows", ipfix_plain_flows, NULL);
}
