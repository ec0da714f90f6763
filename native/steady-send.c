/*
 * steady-send.c: the last byte work of svr-out for a frame's signed packets, in one call after their tags
 * (docs/performance.md "A native finish for the send side"). Every decision stays in svr-out (TypeScript);
 * for each packet it queued this writes, in the order svr-out did one packet at a time:
 *   1. the waypoint addresses (RFC 1624 eq. 3 updates of the L4 pseudo-header checksum) and ports;
 *   2. the L4 checksum for the trailer (replay block + tag) now behind the payload: an incremental update
 *      when the packet did not grow otherwise, else recomputed in full (metadata or a sealed payload);
 *   3. the IP length (and the UDP length), the IPv4 header checksum recomputed.
 * Same bytes as rewrite.ts/packet-ops.ts (golden test: test/unit/router/steady-send.test.ts), down to
 * which of 0x0000/0xffff a checksum takes: each update folds as the JS one does.
 * Before that, svr-out checks the plaintext L4 checksums of the payloads it will seal with steadyVerifyL4, one
 * call per frame (rewrite.ts verifyL4Checksum's verdicts).
 * native/fwd.c and fwd-in.c (the native steady paths) call the same steps per packet (svr_steady_*: svr_native.h);
 * fwd-in.c also takes a trailer off (the removing form of step 2).
 * JS: steadySendFinish(data, desc, count, localWords, remoteWords), desc STEADY_WORDS u32 per packet:
 *   l3, l4, end before the trailer, end after it, family (4|6) | protocol << 8 | grew << 16 | fragment << 24,
 *   path, source port << 16 | destination port; localWords/remoteWords: 4 big-endian words per path.
 */
#include <string.h>
#include "svr_native.h"

#define STEADY_WORDS 7
#define PROTO_ICMP 1
#define PROTO_TCP 6
#define PROTO_UDP 17
#define PROTO_ICMPV6 58

static uint32_t rd16(const uint8_t *d, uint32_t o) { return ((uint32_t)d[o] << 8) | d[o + 1]; }

static void wr16(uint8_t *d, uint32_t o, uint32_t v) {
  d[o] = (uint8_t)(v >> 8);
  d[o + 1] = (uint8_t)v;
}

static uint32_t fold(uint32_t acc) {
  acc = (acc & 0xffff) + (acc >> 16);
  acc = (acc & 0xffff) + (acc >> 16);
  return acc & 0xffff;
}

/* checksum.ts updateWord */
static uint32_t update_word(uint32_t cs, uint32_t old_word, uint32_t new_word) {
  return ~fold((~cs & 0xffff) + (~old_word & 0xffff) + new_word) & 0xffff;
}

/* checksum.ts updateBytes over len (even) bytes: old at a, new at b */
static uint32_t update_bytes(uint32_t cs, const uint8_t *a, const uint8_t *b, uint32_t len) {
  uint32_t acc = ~cs & 0xffff;
  for (uint32_t i = 0; i < len; i += 2) {
    acc += ~(((uint32_t)a[i] << 8) | a[i + 1]) & 0xffff;
    acc += ((uint32_t)b[i] << 8) | b[i + 1];
  }
  return ~fold(acc) & 0xffff;
}

static uint32_t cs_offset(uint32_t proto, uint32_t l4) {
  switch (proto) {
    case PROTO_TCP: return l4 + 16;
    case PROTO_UDP: return l4 + 6;
    case PROTO_ICMP: case PROTO_ICMPV6: return l4 + 2;
    default: return UINT32_MAX;
  }
}

static void words_to_bytes(const uint32_t *w, uint32_t n, uint8_t *out) {
  for (uint32_t i = 0; i < n; i++) {
    out[4 * i] = (uint8_t)(w[i] >> 24);
    out[4 * i + 1] = (uint8_t)(w[i] >> 16);
    out[4 * i + 2] = (uint8_t)(w[i] >> 8);
    out[4 * i + 3] = (uint8_t)w[i];
  }
}

/* rewrite.ts setAddresses + setPorts (TCP and UDP: the protocols svr-out hands here) */
static void rewrite(uint8_t *d, uint32_t l3, uint32_t l4, int v6, uint32_t proto, uint32_t frag, const uint8_t *src,
                    const uint8_t *dst, uint32_t ports) {
  uint32_t alen = v6 ? 16 : 4, so = l3 + (v6 ? 8 : 12), dof = l3 + (v6 ? 24 : 16);
  uint32_t cso = cs_offset(proto, l4);
  int pseudo = proto == PROTO_TCP || proto == PROTO_UDP || proto == PROTO_ICMPV6;
  if (frag == 0 && pseudo && !(proto == PROTO_UDP && !v6 && rd16(d, cso) == 0)) {
    uint32_t cs = update_bytes(rd16(d, cso), d + so, src, alen);
    cs = update_bytes(cs, d + dof, dst, alen);
    if (proto == PROTO_UDP && cs == 0) cs = 0xffff;
    wr16(d, cso, cs);
  }
  memcpy(d + so, src, alen); /* the IPv4 header checksum is recomputed in full below */
  memcpy(d + dof, dst, alen);
  if (frag == 2 || (proto != PROTO_TCP && proto != PROTO_UDP)) return;
  uint32_t cs = rd16(d, cso);
  if (!(proto == PROTO_UDP && !v6 && cs == 0)) {
    cs = update_word(cs, rd16(d, l4), ports >> 16);
    cs = update_word(cs, rd16(d, l4 + 2), ports & 0xffff);
    if (proto == PROTO_UDP && cs == 0) cs = 0xffff;
    wr16(d, cso, cs);
  }
  wr16(d, l4, ports >> 16);
  wr16(d, l4 + 2, ports & 0xffff);
}

/* packet-ops.ts adjustChecksumForTail(d, pi, end, signed - end, adding): the bytes [end, signed_end) added (or, not
 * adding, taken off a packet that ended at signed_end) */
static void tail_checksum(uint8_t *d, uint32_t l4, int v6, uint32_t proto, uint32_t end, uint32_t signed_end, int adding) {
  uint32_t cso = cs_offset(proto, l4);
  if (cso == UINT32_MAX || proto == PROTO_ICMP) return;
  uint32_t cs = rd16(d, cso);
  if (proto == PROTO_UDP && !v6 && cs == 0) return;
  uint32_t t = svr_ones_sum_be(d + end, signed_end - end);
  if (((end - l4) & 1) == 1) t = ((t & 0xff) << 8) | (t >> 8);
  uint32_t old_len = adding ? end - l4 : signed_end - l4, new_len = adding ? signed_end - l4 : end - l4;
  cs = ~fold((~cs & 0xffff) + (adding ? t : ~t & 0xffff)) & 0xffff;
  cs = update_word(cs, old_len & 0xffff, new_len & 0xffff);
  if (proto == PROTO_UDP) cs = update_word(cs, old_len & 0xffff, new_len & 0xffff);
  if (proto == PROTO_UDP && cs == 0) cs = 0xffff;
  wr16(d, cso, cs);
}

/* rewrite.ts computeL4Checksum over [l4, end) (cso: the field's offset) */
static uint32_t compute_l4(const uint8_t *d, uint32_t l3, uint32_t l4, int v6, uint32_t proto, uint32_t end, uint32_t cso) {
  uint32_t len = end - l4;
  uint32_t acc = 0;
  if (proto != PROTO_ICMP) {
    uint32_t alen = v6 ? 16 : 4;
    acc += svr_ones_sum_be(d + l3 + (v6 ? 8 : 12), alen) + svr_ones_sum_be(d + l3 + (v6 ? 24 : 16), alen);
    acc += proto + (len >> 16) + (len & 0xffff);
  }
  acc += svr_ones_sum_be(d + l4, len);
  acc += 0xffff - rd16(d, cso);
  return ~fold(acc) & 0xffff;
}

/* rewrite.ts fillL4Checksum over [l4, end) */
static void full_checksum(uint8_t *d, uint32_t l3, uint32_t l4, int v6, uint32_t proto, uint32_t end) {
  uint32_t cso = cs_offset(proto, l4);
  if (cso == UINT32_MAX) return;
  uint32_t cs = compute_l4(d, l3, l4, v6, proto, end, cso);
  if (proto == PROTO_UDP && cs == 0) cs = 0xffff;
  wr16(d, cso, cs);
}

/* rewrite.ts verifyL4Checksum over [l4, end) */
static int verify_l4(const uint8_t *d, uint32_t l3, uint32_t l4, int v6, uint32_t proto, uint32_t frag, uint32_t end) {
  uint32_t cso = cs_offset(proto, l4);
  if (cso == UINT32_MAX || frag != 0) return 1;
  uint32_t cs = rd16(d, cso);
  if (proto == PROTO_UDP && !v6 && cs == 0) return 1;
  uint32_t want = compute_l4(d, l3, l4, v6, proto, end, cso);
  return cs == want || (proto == PROTO_UDP && want == 0 && cs == 0xffff);
}

/* rewrite.ts setIpLength + fillIpv4HeaderChecksum */
static void ip_length(uint8_t *d, uint32_t l3, uint32_t l4, int v6, uint32_t proto, uint32_t frag, uint32_t end) {
  if (!v6) {
    wr16(d, l3 + 2, end - l3);
    uint32_t ihl = (d[l3] & 0x0f) * 4u;
    d[l3 + 10] = 0;
    d[l3 + 11] = 0;
    wr16(d, l3 + 10, ~fold(svr_ones_sum_be(d + l3, ihl)) & 0xffff);
  } else {
    wr16(d, l3 + 4, end - l3 - 40);
  }
  if (proto == PROTO_UDP && frag == 0) wr16(d, l4 + 4, end - l4);
}

/* steadyVerifyL4(data, desc, count, status): status[i] = 1 when packet i's L4 checksum verifies over [l4, end)
 * (desc words 0, 1, 2 and 4 as for the finish), else 0; returns how many verify. svr-out checks the payloads it
 * queues for sealing with it, one call per frame instead of one checksumSum per packet. */
static napi_value steady_verify_l4(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *data, *descv, *statusv;
  size_t len, dlen, slen;
  uint32_t n;
  if (argc < 4 || svr_arg_typed(env, argv[0], napi_uint8_array, "data", &data, &len) != 0 ||
      svr_arg_typed(env, argv[1], napi_uint32_array, "desc", &descv, &dlen) != 0 ||
      svr_arg_u32(env, argv[2], "count", &n) != 0 ||
      svr_arg_typed(env, argv[3], napi_uint8_array, "status", &statusv, &slen) != 0) {
    if (argc < 4) napi_throw_type_error(env, NULL, "steadyVerifyL4(data, desc, count, status)");
    return NULL;
  }
  if ((size_t)n * STEADY_WORDS > dlen || n > slen) {
    napi_throw_range_error(env, NULL, "steadyVerifyL4: count is beyond desc or status");
    return NULL;
  }
  const uint32_t *desc = descv;
  uint8_t *status = statusv;
  uint32_t ok = 0;
  for (uint32_t i = 0; i < n; i++) {
    const uint32_t *e = desc + (size_t)i * STEADY_WORDS;
    uint32_t l3 = e[0], l4 = e[1], end = e[2], bits = e[4];
    int v6 = (bits & 0xff) == 6;
    if (end > len || l3 + (v6 ? 40u : 20u) > l4 || l4 + 8u > end) {
      napi_throw_range_error(env, NULL, "steadyVerifyL4: a packet is outside data");
      return NULL;
    }
    status[i] = (uint8_t)verify_l4(data, l3, l4, v6, (bits >> 8) & 0xff, bits >> 24, end);
    ok += status[i];
  }
  napi_value r;
  SVR_CHECK(env, napi_create_uint32(env, ok, &r));
  return r;
}

static napi_value steady_send_finish(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void *data, *descv, *lw, *rw;
  size_t len, dlen, lwn, rwn;
  uint32_t n;
  if (argc < 5 || svr_arg_typed(env, argv[0], napi_uint8_array, "data", &data, &len) != 0 ||
      svr_arg_typed(env, argv[1], napi_uint32_array, "desc", &descv, &dlen) != 0 ||
      svr_arg_u32(env, argv[2], "count", &n) != 0 ||
      svr_arg_typed(env, argv[3], napi_uint32_array, "localWords", &lw, &lwn) != 0 ||
      svr_arg_typed(env, argv[4], napi_uint32_array, "remoteWords", &rw, &rwn) != 0) {
    if (argc < 5) napi_throw_type_error(env, NULL, "steadySendFinish(data, desc, count, localWords, remoteWords)");
    return NULL;
  }
  if ((size_t)n * STEADY_WORDS > dlen) {
    napi_throw_range_error(env, NULL, "steadySendFinish: count is beyond desc");
    return NULL;
  }
  uint8_t *d = data;
  const uint32_t *desc = descv;
  uint8_t src[16], dst[16];
  for (uint32_t i = 0; i < n; i++) {
    const uint32_t *e = desc + (size_t)i * STEADY_WORDS;
    uint32_t l3 = e[0], l4 = e[1], end = e[2], signed_end = e[3], bits = e[4], p = e[5];
    int v6 = (bits & 0xff) == 6;
    uint32_t proto = (bits >> 8) & 0xff, grew = (bits >> 16) & 1, frag = bits >> 24;
    /* what svr-out queued is its own packet: still, never a write outside data */
    if (signed_end > len || end > signed_end || l3 + (v6 ? 40u : 20u) > l4 || l4 + 8u > end ||
        ((size_t)p + 1) * 4 > lwn || ((size_t)p + 1) * 4 > rwn) {
      napi_throw_range_error(env, NULL, "steadySendFinish: a packet is outside data");
      return NULL;
    }
    words_to_bytes((const uint32_t *)lw + p * 4, v6 ? 4 : 1, src);
    words_to_bytes((const uint32_t *)rw + p * 4, v6 ? 4 : 1, dst);
    rewrite(d, l3, l4, v6, proto, frag, src, dst, e[6]);
    if (!grew) tail_checksum(d, l4, v6, proto, end, signed_end, 1);
    ip_length(d, l3, l4, v6, proto, frag, signed_end);
    if (grew && frag == 0) full_checksum(d, l3, l4, v6, proto, signed_end);
  }
  return NULL;
}

void svr_steady_finish_one(uint8_t *d, uint32_t l3, uint32_t l4, int v6, uint32_t proto, uint32_t end, uint32_t signed_end,
                           int grew, const uint8_t *src, const uint8_t *dst, uint32_t ports) {
  rewrite(d, l3, l4, v6, proto, 0, src, dst, ports);
  if (!grew) tail_checksum(d, l4, v6, proto, end, signed_end, 1);
  ip_length(d, l3, l4, v6, proto, 0, signed_end);
  if (grew) full_checksum(d, l3, l4, v6, proto, signed_end);
}

void svr_steady_untail(uint8_t *d, uint32_t l4, uint32_t proto, uint32_t end, uint32_t full_end) {
  tail_checksum(d, l4, 0, proto, end, full_end, 0);
}

void svr_steady_rewrite4(uint8_t *d, uint32_t proto, const uint8_t *src, const uint8_t *dst, uint32_t ports) {
  rewrite(d, 0, 20, 0, proto, 0, src, dst, ports);
}

void svr_steady_ip_length4(uint8_t *d, uint32_t proto, uint32_t end) { ip_length(d, 0, 20, 0, proto, 0, end); }

int svr_steady_verify_l4(const uint8_t *d, uint32_t l3, uint32_t l4, int v6, uint32_t proto, uint32_t end) {
  return verify_l4(d, l3, l4, v6, proto, 0, end);
}

napi_status svr_steady_send_init(napi_env env, napi_value exports) {
  napi_status s = svr_export_fn(env, exports, "steadySendFinish", steady_send_finish, NULL);
  if (s != napi_ok) return s;
  if ((s = svr_export_fn(env, exports, "steadyVerifyL4", steady_verify_l4, NULL)) != napi_ok) return s;
  return svr_export_u32(env, exports, "STEADY_WORDS", STEADY_WORDS);
}
