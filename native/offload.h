/*
 * offload.h: segmentation (TSO/USO in) and coalescing (GRO out) at the TUN edge, in plain C without system
 * calls, so native/tun.c (reader thread, writeBatch) and the test-only entry points share one implementation.
 * See native/offload.c for the rules and docs/tun-io.md ("Offload") for the contract.
 */
#ifndef SVR_OFFLOAD_H
#define SVR_OFFLOAD_H

#include <stddef.h>
#include <stdint.h>

/* The legacy 10-byte struct virtio_net_hdr in front of every packet of an IFF_VNET_HDR TUN (host byte order:
 * TUNSETVNETLE/BE are never set). */
#define SVR_VNET_HDR_LEN 10
#define SVR_VNET_F_NEEDS_CSUM 1
#define SVR_VNET_F_DATA_VALID 2
#define SVR_VNET_GSO_NONE 0
#define SVR_VNET_GSO_TCPV4 1
#define SVR_VNET_GSO_UDP 3
#define SVR_VNET_GSO_TCPV6 4
#define SVR_VNET_GSO_UDP_L4 5
#define SVR_VNET_GSO_ECN 0x80

/* The biggest packet a TUN read can return with a vnet header (IPv6: 40 + 65535, plus the header), rounded up. */
#define SVR_OFFLOAD_SCRATCH 65664u

/* Result of svr_seg_prepare. */
#define SVR_SEG_OK 0
#define SVR_SEG_TOO_BIG 1 /* a segment (or the packet) does not fit a slot: dropped, counted as truncated */
#define SVR_SEG_BAD 2     /* malformed vnet header / headers: dropped, counted as an offload error */

/* One packet read from the TUN, being cut into slot-sized segments (state kept across batches). */
typedef struct svr_seg {
  uint8_t *pkt;     /* the IP packet (after the vnet header) */
  uint32_t len;     /* its length */
  uint32_t hl;      /* GSO: IP + L4 header bytes copied into every segment */
  uint32_t l4;      /* GSO: offset of the TCP/UDP header */
  uint32_t mss;     /* GSO: payload bytes per segment (gso_size) */
  uint32_t nseg;    /* segments in total (1 for a packet that is not GSO) */
  uint32_t next;    /* next segment to emit; next == nseg: nothing pending */
  uint8_t kind;     /* 0: copy as is, 1: TCP GSO, 2: UDP GSO (USO) */
  uint8_t family;   /* 4 or 6 */
  uint16_t ip_id;   /* IPv4 identification of the super-packet */
  uint32_t seq;     /* TCP sequence number of the super-packet */
  uint8_t tcp_flags;
} svr_seg;

/*
 * Takes one TUN read (vnet header + IP packet, buf[0..len)). Completes a partial checksum in place (NEEDS_CSUM
 * without GSO), or validates a GSO packet for segmentation. On SVR_SEG_OK, s holds nseg >= 1 pending segments.
 * `snap` is the slot size the segments must fit.
 */
int svr_seg_prepare(svr_seg *s, uint8_t *buf, uint32_t len, uint32_t snap);

/* Writes pending segments into slots n, n+1, ... < max of `base` (slot i at base + i*snap, length in lens[i]).
 * Returns the new slot count; segments that did not fit stay pending (s->next < s->nseg). */
uint32_t svr_seg_emit(svr_seg *s, uint8_t *base, uint32_t snap, uint32_t *lens, uint32_t n, uint32_t max);

/* The IPv4 header checksum of the header at ip (its IHL), written into it. */
void svr_fill_ipv4_checksum(uint8_t *ip);

static inline int svr_seg_pending(const svr_seg *s) { return s->next < s->nseg; }

/* One piece of a write (an iovec without sys/uio.h). */
typedef struct svr_span {
  const uint8_t *base;
  uint32_t len;
} svr_span;

/* Bytes svr_coalesce_plan needs in `hdr`: vnet header + IPv4 (20) or IPv6 (40) + TCP with options (60). */
#define SVR_COALESCE_HDR_MAX (SVR_VNET_HDR_LEN + 40 + 60)
/* Segments merged into one super-packet at most (spans = segments + 1). */
#define SVR_COALESCE_MAX_SEGS 128
/* UDP datagrams merged into one UDP_L4 super-packet at most (UDP_MAX_SEGMENTS of Linux before 6.11). */
#define SVR_COALESCE_UDP_MAX_SEGS 64

/* What svr_coalesce_plan merges (its `what` argument); the same values are the writer flags in native.ts. */
#define SVR_COALESCE_TCP 1u /* runs of TCP segments of one flow -> TCPV4/TCPV6 GSO */
#define SVR_COALESCE_UDP 2u /* runs of equal-length UDP datagrams of one 5-tuple -> UDP_L4 GSO (USO) */

/*
 * Plans the write that starts with packet i of a batch (packet k is data[off[k], off[k] + len[k])): either a
 * run of >= 2 TCP segments of one flow (what & SVR_COALESCE_TCP) or of UDP datagrams of one 5-tuple (what &
 * SVR_COALESCE_UDP) merged into one GSO super-packet, or packet i alone behind an empty vnet header. Fills hdr
 * (the vnet header, plus the rewritten IP/L4 header for a super-packet) and spans (spans[0] = hdr, then the
 * packet or the payloads). Returns how many packets the write covers (>= 1).
 */
uint32_t svr_coalesce_plan(const uint8_t *data, const uint32_t *off, const uint32_t *len, uint32_t i, uint32_t count,
                           uint32_t what, uint8_t *hdr, svr_span *spans, uint32_t *nspans);

#endif
