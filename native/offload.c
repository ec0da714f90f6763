/*
 * offload.c: TSO/USO segmentation of what a vnet_hdr TUN hands us, and GRO-style coalescing of what we write
 * back, so the data path only ever sees ordinary IP packets (<= MTU, complete checksums). Pure C on buffers:
 * native/tun.c calls it from the reader thread and from tunWriteBatchOffload; two test-only functions expose it
 * to JS (test/unit/io/offload.test.ts checks it byte for byte against a TypeScript reference).
 *
 * Receive (svr_seg_prepare + svr_seg_emit), per packet read:
 *   gso_type NONE      copied as is; a partial checksum (NEEDS_CSUM: the field holds the pseudo-header sum) is
 *                      completed: ~fold(sum from csum_start to the end). A UDP result of 0 is sent as 0xffff
 *                      (RFC 768); for TCP the value is kept as computed (0 and 0xffff are both "zero").
 *   TCPV4 / TCPV6      cut into segments of gso_size payload bytes. Every segment gets a copy of the IP + TCP
 *                      headers (options included), its own IP length, TCP sequence number (+ gso_size per
 *                      segment) and a full TCP checksum (pseudo-header included). FIN and PSH stay on the last
 *                      segment only, CWR on the first only (what Linux's tcp_gso_segment does). The IPv4
 *                      identification increments by one per segment, from the super-packet's value, whether DF
 *                      is set or not: that is Linux's inet_gso_segment without SKB_GSO_TCP_FIXEDID; RFC 6864
 *                      makes the field meaningless for DF (atomic) datagrams and requires distinct values
 *                      otherwise, so incrementing is right in both cases.
 *   UDP_L4 (USO)       the same with UDP headers: UDP length per segment, full UDP checksum (0 -> 0xffff).
 *   anything else      (UFO, unknown types, inconsistent lengths): dropped and counted by the caller.
 *
 * Transmit (svr_coalesce_plan), per write. TCP (what & SVR_COALESCE_TCP): consecutive segments of a batch are
 * merged when all of these hold (the conditions of Linux's tcp_gro_receive / inet_gro_receive, so the kernel can
 * resegment exactly):
 *   - TCP over IPv4 without options (IHL 5, not a fragment) or over IPv6 without extension headers; the IP
 *     length matches the packet; ACK set; no SYN, RST or URG; payload > 0; the IPv4 header and TCP checksums
 *     verify (as Linux GRO validates before merging: a corrupted segment is written alone and dropped by the
 *     receiver, never given a fresh checksum);
 *   - same addresses, ports, TTL/hop limit, TOS / traffic class + flow label, DF; without DF the IPv4 ids
 *     increment by one;
 *   - same ACK number, window, data offset and byte-identical TCP options (stricter than "same options
 *     length": timestamps must match too, as in Linux GRO, because one header stands for all segments);
 *   - flags equal apart from FIN/PSH (allowed only on the last merged segment) and CWR (first only);
 *   - in sequence (seq == previous seq + previous payload), every payload equal to the first one's except the
 *     last, which may be shorter; at most 65535 bytes of IP packet and SVR_COALESCE_MAX_SEGS segments.
 * A run of >= 2 is written as one super-packet: vnet header {NEEDS_CSUM, TCPV4/TCPV6 (+ECN when the first
 * segment has CWR), hdr_len, gso_size = first payload, csum_start = L4 offset, csum_offset = 16}, the first
 * segment's headers with the total IP length, the FIN/PSH of the last segment, the IPv4 header checksum
 * recomputed and the TCP checksum field set to the folded pseudo-header sum (not inverted), then the payloads.
 * UDP (what & SVR_COALESCE_UDP; the WAN queues, where SVR packets of one TCP stream are equal-length datagrams of
 * one waypoint 5-tuple): consecutive datagrams are merged when
 *   - UDP over IPv4 without options, not a fragment, or over IPv6 without extension headers; the IP and UDP
 *     lengths match the packet; payload > 0; the IPv4 header checksum and the UDP checksum verify (IPv4 checksum
 *     0, "none", is not merged: the kernel would give every segment one);
 *   - same addresses, ports, TTL/hop limit, TOS / traffic class + flow label, DF; without DF the IPv4 ids
 *     increment by one (Linux's inet_gso_segment gives segment k the id + k);
 *   - every payload equal to the first one's except the last, which may be shorter (UDP GSO's gso_size rule,
 *     Linux's __udp_gso_segment); at most 65535 bytes of IP packet and SVR_COALESCE_UDP_MAX_SEGS datagrams.
 * A run of >= 2 is written as one super-packet: vnet header {NEEDS_CSUM, UDP_L4, hdr_len = L4 offset + 8,
 * gso_size = first payload, csum_start = L4 offset, csum_offset = 6}, the first datagram's IP header with the
 * total length (IPv4 header checksum recomputed), its UDP header with the total UDP length and the folded
 * pseudo-header sum over it in the checksum field, then the payloads. The kernel cuts it back into the original
 * datagrams (lengths, ids, full checksums) where the next device cannot carry it whole (docs/tun-io.md).
 * Everything else is written as is behind an all-zero vnet header.
 */
#include "offload.h"

#include "svr_native.h"

#include <stdlib.h>
#include <string.h>

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_CWR 0x80

#define KIND_COPY 0
#define KIND_TCP 1
#define KIND_UDP 2

/* ---- byte order and checksums ---- */

static inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void put16(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static inline void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}
/* virtio_net_hdr fields are in host byte order. */
static inline uint16_t geth16(const uint8_t *p) {
  uint16_t v;
  memcpy(&v, p, 2);
  return v;
}
static inline void puth16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

/*
 * The Internet checksum is byte-order independent (RFC 1071): sum the memory as native 16-bit words (here 32 at
 * a time into 64 bits; 64 bytes or more with native/checksum.c's svr_sum32, AVX2 where present), fold, and store
 * the result natively. Numbers (protocol, length) are added as the native reading of their network-order bytes (net16).
 */
static inline uint16_t net16(uint32_t v) {
  uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
  uint16_t r;
  memcpy(&r, b, 2);
  return r;
}

static uint64_t sum_bytes(uint64_t acc, const uint8_t *p, size_t len) {
  if (len >= 64) return svr_sum32(acc, p, len); /* a payload: AVX2 where present */
  while (len >= 4) { /* headers, pseudo-headers: inlined */
    uint32_t w;
    memcpy(&w, p, 4);
    acc += w;
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t w;
    memcpy(&w, p, 2);
    acc += w;
    p += 2;
    len -= 2;
  }
  if (len) {
    uint16_t w = 0;
    memcpy(&w, p, 1); /* the odd last byte is the high byte of a zero-padded word, in memory order */
    acc += w;
  }
  return acc;
}

static inline uint16_t fold(uint64_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return (uint16_t)acc;
}

/* Pseudo-header sum of the IP header at ip (addresses from the fixed header) for an L4 segment of l4len bytes. */
static uint64_t pseudo_sum(const uint8_t *ip, int family, uint8_t proto, uint32_t l4len) {
  uint64_t acc = family == 4 ? sum_bytes(0, ip + 12, 8) : sum_bytes(0, ip + 8, 32);
  return acc + net16(proto) + net16(l4len >> 16) + net16(l4len & 0xffff);
}

void svr_fill_ipv4_checksum(uint8_t *ip) {
  uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4;
  ip[10] = ip[11] = 0;
  uint16_t c = (uint16_t)~fold(sum_bytes(0, ip, ihl));
  memcpy(ip + 10, &c, 2);
}

/* Full L4 checksum of ip[l4, tot) with the pseudo-header, written at ip + l4 + csoff. */
static void fill_l4_checksum(uint8_t *ip, int family, uint8_t proto, uint32_t l4, uint32_t tot, uint32_t csoff) {
  uint8_t *f = ip + l4 + csoff;
  f[0] = f[1] = 0;
  uint16_t c = (uint16_t)~fold(pseudo_sum(ip, family, proto, tot - l4) + sum_bytes(0, ip + l4, tot - l4));
  if (c == 0 && proto == 17) c = 0xffff;
  memcpy(f, &c, 2);
}

/* ---- receive: segmentation ---- */

int svr_seg_prepare(svr_seg *s, uint8_t *buf, uint32_t len, uint32_t snap) {
  memset(s, 0, sizeof *s);
  if (len < SVR_VNET_HDR_LEN) return SVR_SEG_BAD;
  uint8_t flags = buf[0], gso = buf[1] & (uint8_t)~SVR_VNET_GSO_ECN;
  uint16_t gso_size = geth16(buf + 4), csum_start = geth16(buf + 6), csum_offset = geth16(buf + 8);
  uint8_t *p = buf + SVR_VNET_HDR_LEN;
  uint32_t plen = len - SVR_VNET_HDR_LEN;
  s->pkt = p;
  s->len = plen;

  if (gso == SVR_VNET_GSO_NONE) {
    if (plen > snap) return SVR_SEG_TOO_BIG;
    if (flags & SVR_VNET_F_NEEDS_CSUM) {
      if ((uint32_t)csum_start + csum_offset + 2 > plen) return SVR_SEG_BAD;
      /* the field holds the pseudo-header sum: fold the whole L4 part over it */
      uint16_t c = (uint16_t)~fold(sum_bytes(0, p + csum_start, plen - csum_start));
      if (c == 0 && csum_offset == 6) c = 0xffff; /* UDP */
      memcpy(p + csum_start + csum_offset, &c, 2);
    }
    s->kind = KIND_COPY;
    s->nseg = 1;
    return SVR_SEG_OK;
  }

  uint8_t proto;
  if (gso == SVR_VNET_GSO_TCPV4 || gso == SVR_VNET_GSO_TCPV6) proto = 6;
  else if (gso == SVR_VNET_GSO_UDP_L4) proto = 17;
  else return SVR_SEG_BAD; /* UFO is never enabled */
  if (gso_size == 0 || plen < 20) return SVR_SEG_BAD;

  uint32_t iplen, l4;
  int family = p[0] >> 4;
  if (family == 4) {
    uint32_t ihl = (uint32_t)(p[0] & 0x0f) * 4;
    iplen = get16(p + 2);
    if (gso == SVR_VNET_GSO_TCPV6 || ihl < 20 || iplen < ihl || iplen > plen || p[9] != proto) return SVR_SEG_BAD;
    if (get16(p + 6) & 0x3fff) return SVR_SEG_BAD; /* a fragment */
    if ((flags & SVR_VNET_F_NEEDS_CSUM) && csum_start != ihl) return SVR_SEG_BAD;
    l4 = ihl;
  } else if (family == 6) {
    if (gso == SVR_VNET_GSO_TCPV4 || plen < 40) return SVR_SEG_BAD;
    iplen = 40 + (uint32_t)get16(p + 4);
    if (iplen > plen) return SVR_SEG_BAD;
    if (flags & SVR_VNET_F_NEEDS_CSUM) l4 = csum_start; /* after any extension headers */
    else if (p[6] == proto) l4 = 40;
    else return SVR_SEG_BAD;
    if (l4 < 40) return SVR_SEG_BAD;
  } else {
    return SVR_SEG_BAD;
  }
  if ((flags & SVR_VNET_F_NEEDS_CSUM) && csum_offset != (proto == 6 ? 16 : 6)) return SVR_SEG_BAD;

  uint32_t hl;
  if (proto == 6) {
    if (l4 + 20 > iplen) return SVR_SEG_BAD;
    uint32_t thl = (uint32_t)(p[l4 + 12] >> 4) * 4;
    if (thl < 20 || l4 + thl > iplen) return SVR_SEG_BAD;
    hl = l4 + thl;
    s->seq = get32(p + l4 + 4);
    s->tcp_flags = p[l4 + 13];
    s->kind = KIND_TCP;
  } else {
    if (l4 + 8 > iplen) return SVR_SEG_BAD;
    hl = l4 + 8;
    s->kind = KIND_UDP;
  }
  uint32_t payload = iplen - hl;
  uint32_t first = payload < gso_size ? payload : gso_size;
  if (hl + first > snap) return SVR_SEG_TOO_BIG;
  s->len = iplen;
  s->hl = hl;
  s->l4 = l4;
  s->mss = gso_size;
  s->family = (uint8_t)family;
  s->ip_id = family == 4 ? get16(p + 4) : 0;
  s->nseg = payload == 0 ? 1 : (payload + gso_size - 1) / gso_size;
  return SVR_SEG_OK;
}

uint32_t svr_seg_emit(svr_seg *s, uint8_t *base, uint32_t snap, uint32_t *lens, uint32_t n, uint32_t max) {
  while (s->next < s->nseg && n < max) {
    uint8_t *d = base + (size_t)n * snap;
    if (s->kind == KIND_COPY) {
      memcpy(d, s->pkt, s->len);
      lens[n++] = s->len;
      s->next = s->nseg;
      continue;
    }
    uint32_t i = s->next;
    uint32_t off = s->hl + i * s->mss;
    uint32_t left = s->len - off;
    uint32_t pay = left < s->mss ? left : s->mss;
    uint32_t tot = s->hl + pay;
    memcpy(d, s->pkt, s->hl);
    memcpy(d + s->hl, s->pkt + off, pay);
    if (s->family == 4) {
      put16(d + 2, tot);
      put16(d + 4, (uint16_t)(s->ip_id + i));
      svr_fill_ipv4_checksum(d);
    } else {
      put16(d + 4, tot - 40);
    }
    uint8_t *t = d + s->l4;
    if (s->kind == KIND_TCP) {
      uint8_t fl = s->tcp_flags;
      if (i + 1 < s->nseg) fl &= (uint8_t)~(TCP_FIN | TCP_PSH);
      if (i > 0) fl &= (uint8_t)~TCP_CWR;
      put32(t + 4, s->seq + i * s->mss);
      t[13] = fl;
      fill_l4_checksum(d, s->family, 6, s->l4, tot, 16);
    } else {
      put16(t + 4, tot - s->l4);
      fill_l4_checksum(d, s->family, 17, s->l4, tot, 6);
    }
    lens[n++] = tot;
    s->next++;
  }
  return n;
}

/* ---- transmit: coalescing ---- */

typedef struct tcpseg {
  const uint8_t *p;
  uint32_t len, l4, hl, pay, seq;
  uint8_t family, flags;
} tcpseg;

/* IPv4 without options or fragmentation, or IPv6 without extension headers, its length matching `len`, carrying
 * `proto`, at least `min_len` bytes (IPv4; 20 more for IPv6): the L4 offset (20 or 40), else 0. */
static uint32_t plain_l4_offset(const uint8_t *p, uint32_t len, uint8_t proto, uint32_t min_len) {
  if (len < min_len) return 0;
  if (p[0] >> 4 == 4) return p[0] == 0x45 && get16(p + 2) == len && !(get16(p + 6) & 0x3fff) && p[9] == proto ? 20 : 0;
  if (p[0] >> 4 == 6) return len >= min_len + 20 && (uint32_t)get16(p + 4) + 40 == len && p[6] == proto ? 40 : 0;
  return 0;
}

/* A TCP segment that may take part in a super-packet (see the header comment). */
static int tcp_candidate(const uint8_t *p, uint32_t len, tcpseg *t) {
  t->l4 = plain_l4_offset(p, len, 6, 40);
  if (t->l4 == 0) return 0;
  t->family = t->l4 == 20 ? 4 : 6;
  const uint8_t *th = p + t->l4;
  uint32_t thl = (uint32_t)(th[12] >> 4) * 4;
  if (thl < 20 || t->l4 + thl >= len) return 0; /* no payload */
  uint8_t fl = th[13];
  if ((fl & (TCP_SYN | TCP_RST | TCP_URG)) || !(fl & TCP_ACK)) return 0;
  t->p = p;
  t->len = len;
  t->hl = t->l4 + thl;
  t->pay = len - t->hl;
  t->seq = get32(th + 4);
  t->flags = fl;
  return 1;
}

/* The checksums of a candidate (IPv4 header, L4 with the pseudo-header) verify. Checked only for packets that
 * would otherwise join a run (the first one when a second follows it), so a packet written alone costs no sum. */
static int checksums_ok(const uint8_t *p, uint32_t len, int family, uint32_t l4, uint8_t proto) {
  if (family == 4 && fold(sum_bytes(0, p, 20)) != 0xffff) return 0;
  return fold(pseudo_sum(p, family, proto, len - l4) + sum_bytes(0, p + l4, len - l4)) == 0xffff;
}

/* Whether q may follow prev in the run that started with f (total: IP bytes of the run so far). */
static int can_follow(const tcpseg *f, const tcpseg *prev, const tcpseg *q, uint32_t total) {
  if (q->family != f->family || q->hl != f->hl) return 0;
  if (prev->flags & (TCP_FIN | TCP_PSH)) return 0;
  if (prev->pay != f->pay || q->pay > f->pay || total + q->pay > 65535) return 0;
  if (q->seq != prev->seq + prev->pay) return 0;
  const uint8_t *a = f->p, *b = q->p;
  if (f->family == 4) {
    if (memcmp(a + 12, b + 12, 8) || a[1] != b[1] || a[8] != b[8]) return 0;
    uint16_t df = get16(a + 6) & 0x4000;
    if (df != (get16(b + 6) & 0x4000)) return 0;
    if (!df && get16(b + 4) != (uint16_t)(get16(prev->p + 4) + 1)) return 0;
  } else {
    if (memcmp(a, b, 4) || a[7] != b[7] || memcmp(a + 8, b + 8, 32)) return 0;
  }
  const uint8_t *ta = a + f->l4, *tb = b + q->l4;
  if (memcmp(ta, tb, 4) || memcmp(ta + 8, tb + 8, 5) || memcmp(ta + 14, tb + 14, 2)) return 0; /* ports, ack+doff, window */
  if (memcmp(ta + 20, tb + 20, f->hl - f->l4 - 20)) return 0;                                   /* options */
  if ((q->flags & (uint8_t)~(TCP_FIN | TCP_PSH)) != (f->flags & (uint8_t)~(TCP_FIN | TCP_PSH | TCP_CWR))) return 0;
  return 1;
}

typedef struct udpseg {
  const uint8_t *p;
  uint32_t len, l4, pay;
  uint8_t family;
} udpseg;

/* A UDP datagram that may take part in a super-packet (see the header comment). */
static int udp_candidate(const uint8_t *p, uint32_t len, udpseg *u) {
  u->l4 = plain_l4_offset(p, len, 17, 29);
  if (u->l4 == 0) return 0;
  if (u->l4 == 20 && get16(p + 26) == 0) return 0; /* IPv4 without a UDP checksum */
  u->family = u->l4 == 20 ? 4 : 6;
  const uint8_t *uh = p + u->l4;
  if (get16(uh + 4) != len - u->l4) return 0;
  u->p = p;
  u->len = len;
  u->pay = len - u->l4 - 8;
  return 1;
}

/* Whether q may follow prev in the UDP run that started with f (total: IP bytes of the run so far). */
static int udp_can_follow(const udpseg *f, const udpseg *prev, const udpseg *q, uint32_t total) {
  if (q->family != f->family) return 0;
  if (prev->pay != f->pay || q->pay > f->pay || total + q->pay > 65535) return 0;
  const uint8_t *a = f->p, *b = q->p;
  if (f->family == 4) {
    if (memcmp(a + 12, b + 12, 8) || a[1] != b[1] || a[8] != b[8]) return 0;
    uint16_t df = get16(a + 6) & 0x4000;
    if (df != (get16(b + 6) & 0x4000)) return 0;
    if (!df && get16(b + 4) != (uint16_t)(get16(prev->p + 4) + 1)) return 0;
  } else {
    if (memcmp(a, b, 4) || a[7] != b[7] || memcmp(a + 8, b + 8, 32)) return 0;
  }
  return memcmp(a + f->l4, b + q->l4, 4) == 0; /* ports */
}

/* A run of UDP datagrams from packet i (see the header comment); returns the packets covered, 1 when none merged. */
static uint32_t plan_udp(const uint8_t *data, const uint32_t *off, const uint32_t *len, uint32_t i, uint32_t count,
                         uint8_t *hdr, svr_span *spans, uint32_t *nspans) {
  udpseg f, prev, q;
  if (!udp_candidate(data + off[i], len[i], &f)) return 1;
  uint32_t n = 1, total = f.len, hl = f.l4 + 8;
  prev = f;
  spans[1].base = f.p + hl;
  spans[1].len = f.pay;
  while (i + n < count && n < SVR_COALESCE_UDP_MAX_SEGS && udp_candidate(data + off[i + n], len[i + n], &q) &&
         udp_can_follow(&f, &prev, &q, total) && checksums_ok(q.p, q.len, q.family, q.l4, 17) &&
         (n > 1 || checksums_ok(f.p, f.len, f.family, f.l4, 17))) {
    spans[n + 1].base = q.p + hl;
    spans[n + 1].len = q.pay;
    total += q.pay;
    prev = q;
    n++;
  }
  if (n < 2) return 1;
  uint8_t *ip = hdr + SVR_VNET_HDR_LEN;
  hdr[0] = SVR_VNET_F_NEEDS_CSUM;
  hdr[1] = SVR_VNET_GSO_UDP_L4;
  puth16(hdr + 2, (uint16_t)hl);
  puth16(hdr + 4, (uint16_t)f.pay);
  puth16(hdr + 6, (uint16_t)f.l4);
  puth16(hdr + 8, 6);
  memcpy(ip, f.p, hl);
  if (f.family == 4) {
    put16(ip + 2, total);
    svr_fill_ipv4_checksum(ip);
  } else {
    put16(ip + 4, total - 40);
  }
  uint8_t *uh = ip + f.l4;
  put16(uh + 4, total - f.l4);
  uint16_t ps = fold(pseudo_sum(ip, f.family, 17, total - f.l4));
  memcpy(uh + 6, &ps, 2);
  spans[0].base = hdr;
  spans[0].len = SVR_VNET_HDR_LEN + hl;
  *nspans = n + 1;
  return n;
}

uint32_t svr_coalesce_plan(const uint8_t *data, const uint32_t *off, const uint32_t *len, uint32_t i, uint32_t count,
                           uint32_t what, uint8_t *hdr, svr_span *spans, uint32_t *nspans) {
  tcpseg f, prev, q;
  uint32_t n = 1;
  if ((what & SVR_COALESCE_UDP) && (n = plan_udp(data, off, len, i, count, hdr, spans, nspans)) >= 2) return n;
  if ((what & SVR_COALESCE_TCP) && tcp_candidate(data + off[i], len[i], &f)) {
    uint32_t total = f.len;
    prev = f;
    spans[1].base = f.p + f.hl;
    spans[1].len = f.pay;
    while (i + n < count && n < SVR_COALESCE_MAX_SEGS && tcp_candidate(data + off[i + n], len[i + n], &q) &&
           can_follow(&f, &prev, &q, total) && checksums_ok(q.p, q.len, q.family, q.l4, 6) &&
           (n > 1 || checksums_ok(f.p, f.len, f.family, f.l4, 6))) {
      spans[n + 1].base = q.p + q.hl;
      spans[n + 1].len = q.pay;
      total += q.pay;
      prev = q;
      n++;
    }
    if (n >= 2) {
      uint8_t *ip = hdr + SVR_VNET_HDR_LEN;
      hdr[0] = SVR_VNET_F_NEEDS_CSUM;
      hdr[1] = (uint8_t)((f.family == 4 ? SVR_VNET_GSO_TCPV4 : SVR_VNET_GSO_TCPV6) | (f.flags & TCP_CWR ? SVR_VNET_GSO_ECN : 0));
      puth16(hdr + 2, (uint16_t)f.hl);
      puth16(hdr + 4, (uint16_t)f.pay);
      puth16(hdr + 6, (uint16_t)f.l4);
      puth16(hdr + 8, 16);
      memcpy(ip, f.p, f.hl);
      if (f.family == 4) {
        put16(ip + 2, total);
        svr_fill_ipv4_checksum(ip);
      } else {
        put16(ip + 4, total - 40);
      }
      uint8_t *th = ip + f.l4;
      th[13] = (uint8_t)(f.flags | (prev.flags & (TCP_FIN | TCP_PSH)));
      uint16_t ps = fold(pseudo_sum(ip, f.family, 6, total - f.l4));
      memcpy(th + 16, &ps, 2);
      spans[0].base = hdr;
      spans[0].len = SVR_VNET_HDR_LEN + f.hl;
      *nspans = n + 1;
      return n;
    }
  }
  memset(hdr, 0, SVR_VNET_HDR_LEN);
  spans[0].base = hdr;
  spans[0].len = SVR_VNET_HDR_LEN;
  spans[1].base = data + off[i];
  spans[1].len = len[i];
  *nspans = 2;
  return 1;
}

/* ---- test-only entry points (no system calls) ---- */

/*
 * offloadSegmentForTest(input, snap, out, outLens, perBatch) -> segments, or -1 (bad) / -2 (too big)
 * input = vnet header + packet as read from a TUN (copied first: the input is not modified). Segments go to
 * out slots of snap bytes, perBatch slots per svr_seg_emit call (to exercise resuming across batches).
 */
static napi_value offload_segment_for_test(napi_env env, napi_callback_info info) {
  size_t argc = 5, in_len, out_len, lens_len;
  napi_value argv[5], result;
  void *in, *out, *lens;
  uint32_t snap, per;
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) {
    napi_throw_type_error(env, NULL, "offloadSegmentForTest needs (input, snap, out, outLens, perBatch)");
    return NULL;
  }
  if (svr_arg_typed(env, argv[0], napi_uint8_array, "input", &in, &in_len) || svr_arg_u32(env, argv[1], "snap", &snap) ||
      svr_arg_typed(env, argv[2], napi_uint8_array, "out", &out, &out_len) ||
      svr_arg_typed(env, argv[3], napi_uint32_array, "outLens", &lens, &lens_len) ||
      svr_arg_u32(env, argv[4], "perBatch", &per))
    return NULL;
  if (in_len > SVR_OFFLOAD_SCRATCH || snap == 0 || per == 0) {
    napi_throw_range_error(env, NULL, "input too long, or snap/perBatch 0");
    return NULL;
  }
  uint32_t cap = (uint32_t)(out_len / snap < lens_len ? out_len / snap : lens_len);
  uint8_t *scratch = malloc(in_len ? in_len : 1);
  if (scratch == NULL) {
    svr_throw_errno(env, 12 /* ENOMEM */, "malloc");
    return NULL;
  }
  memcpy(scratch, in, in_len);
  svr_seg s;
  int rc = svr_seg_prepare(&s, scratch, (uint32_t)in_len, snap);
  int32_t n = 0;
  if (rc == SVR_SEG_OK) {
    if (s.nseg > cap) {
      free(scratch);
      napi_throw_range_error(env, NULL, "out/outLens too small for the segments");
      return NULL;
    }
    uint32_t k = 0;
    while (svr_seg_pending(&s)) k = svr_seg_emit(&s, out, snap, lens, k, k + per < cap ? k + per : cap);
    n = (int32_t)k;
  } else {
    n = rc == SVR_SEG_TOO_BIG ? -2 : -1;
  }
  free(scratch);
  SVR_CHECK(env, napi_create_int32(env, n, &result));
  return result;
}

/*
 * offloadCoalesceForTest(data, offsets, lengths, count, out, outInfo[, what]) -> writes
 * Plans the writes of a batch like tunWriteBatchOffload (what: SVR_COALESCE_* flags, default TCP) and stores each
 * write's bytes back to back in out;
 * outInfo[2w] = bytes of write w, outInfo[2w + 1] = packets it covers.
 */
static napi_value offload_coalesce_for_test(napi_env env, napi_callback_info info) {
  size_t argc = 7, data_len, noff, nlen, out_len, info_len;
  napi_value argv[7], result;
  void *data, *offsets, *lengths, *out, *oinfo;
  uint32_t count, what = SVR_COALESCE_TCP;
  SVR_CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) {
    napi_throw_type_error(env, NULL, "offloadCoalesceForTest needs (data, offsets, lengths, count, out, outInfo)");
    return NULL;
  }
  if (svr_arg_typed(env, argv[0], napi_uint8_array, "data", &data, &data_len) ||
      svr_arg_typed(env, argv[1], napi_uint32_array, "offsets", &offsets, &noff) ||
      svr_arg_typed(env, argv[2], napi_uint32_array, "lengths", &lengths, &nlen) ||
      svr_arg_u32(env, argv[3], "count", &count) || svr_arg_typed(env, argv[4], napi_uint8_array, "out", &out, &out_len) ||
      svr_arg_typed(env, argv[5], napi_uint32_array, "outInfo", &oinfo, &info_len) ||
      (argc >= 7 && svr_arg_u32(env, argv[6], "what", &what)))
    return NULL;
  const uint32_t *off = offsets, *lens = lengths;
  uint32_t *oi = oinfo;
  if (count > noff || count > nlen) {
    napi_throw_range_error(env, NULL, "count exceeds offsets or lengths");
    return NULL;
  }
  for (uint32_t i = 0; i < count; i++) {
    if (off[i] > data_len || lens[i] > data_len - off[i]) {
      napi_throw_range_error(env, NULL, "a packet lies outside data");
      return NULL;
    }
  }
  uint8_t hdr[SVR_COALESCE_HDR_MAX];
  svr_span spans[SVR_COALESCE_MAX_SEGS + 1];
  size_t at = 0;
  uint32_t w = 0;
  for (uint32_t i = 0; i < count;) {
    uint32_t ns = 0;
    uint32_t covered = svr_coalesce_plan(data, off, lens, i, count, what, hdr, spans, &ns);
    size_t bytes = 0;
    for (uint32_t k = 0; k < ns; k++) bytes += spans[k].len;
    if (at + bytes > out_len || 2 * (size_t)w + 2 > info_len) {
      napi_throw_range_error(env, NULL, "out/outInfo too small");
      return NULL;
    }
    for (uint32_t k = 0; k < ns; k++) {
      memcpy((uint8_t *)out + at, spans[k].base, spans[k].len);
      at += spans[k].len;
    }
    oi[2 * w] = (uint32_t)bytes;
    oi[2 * w + 1] = covered;
    w++;
    i += covered;
  }
  SVR_CHECK(env, napi_create_uint32(env, w, &result));
  return result;
}

napi_status svr_offload_init(napi_env env, napi_value exports) {
  napi_status s;
  if ((s = svr_export_fn(env, exports, "offloadSegmentForTest", offload_segment_for_test, NULL)) != napi_ok ||
      (s = svr_export_fn(env, exports, "offloadCoalesceForTest", offload_coalesce_for_test, NULL)) != napi_ok)
    return s;
  return napi_ok;
}
