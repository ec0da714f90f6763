/**
 * IPv6 fragmentation of a packet this router is the source of (RFC 8200 §4.5): an SVR packet on an IPv6 path
 * (its addresses are the waypoints') whose host fragmented it first, and a datagram this router reassembled
 * leaving on a LAN (docs/wan.md "Fragmentation"). Only a packet without extension headers is split (its
 * unfragmentable part is the 40-byte header); every fragment gets a Fragment header (the packet's Next
 * Header, offset in 8-byte units, M, a 32-bit id), and every fragment but the last a multiple of 8 bytes.
 */
import { writeU16, writeU32 } from './checksum.js';

const HEADER = 40;
/** Bytes of the Fragment header. */
export const IPV6_FRAGMENT_HEADER = 8;
const EXTENSION_HEADERS = [0, 43, 44, 60];

/** Payload bytes every fragment but the last carries for `mtu`. */
export function ipv6FragmentPayload(mtu: number): number {
  return (mtu - HEADER - IPV6_FRAGMENT_HEADER) & ~7;
}

/** How many fragments a `len`-byte IPv6 packet needs for `mtu`; 0 when it cannot be split (extension headers, mtu < 1280). */
export function ipv6FragmentCount(d: Uint8Array, l3: number, len: number, mtu: number): number {
  if (EXTENSION_HEADERS.includes(d[l3 + 6]!) || mtu < 1280) return 0;
  if (len <= mtu) return 1;
  return Math.ceil((len - HEADER) / ipv6FragmentPayload(mtu));
}

/**
 * Writes fragment `index` of the packet at src[l3, l3 + len) to dst at `at` with id `id`; returns its length.
 * Fragment 0 may be written in place 8 bytes in front of the packet (dst === src, at === l3 - 8: the header
 * moves left, the payload stays) once every other one is written.
 */
export function writeIpv6Fragment(src: Uint8Array, l3: number, len: number, mtu: number, index: number, id: number, dst: Uint8Array, at: number): number {
  const per = ipv6FragmentPayload(mtu);
  const from = index * per;
  const n = Math.min(per, len - HEADER - from);
  const last = from + n === len - HEADER;
  const next = src[l3 + 6]!;
  if (dst === src && at === l3 - IPV6_FRAGMENT_HEADER && index === 0) {
    dst.copyWithin(at, l3, l3 + HEADER);
  } else {
    dst.set(src.subarray(l3, l3 + HEADER), at);
    dst.set(src.subarray(l3 + HEADER + from, l3 + HEADER + from + n), at + HEADER + IPV6_FRAGMENT_HEADER);
  }
  writeU16(dst, at + 4, IPV6_FRAGMENT_HEADER + n);
  dst[at + 6] = 44;
  const f = at + HEADER;
  dst[f] = next;
  dst[f + 1] = 0;
  writeU16(dst, f + 2, from | (last ? 0 : 1));
  writeU32(dst, f + 4, id);
  return HEADER + IPV6_FRAGMENT_HEADER + n;
}
