/**
 * IPv4 fragmentation of a packet this router sends (RFC 791 §3.2 "Fragmentation and reassembly"; RFC 815
 * for the receiving side, dataplane/reassembly.ts): every fragment but the last carries a multiple of 8
 * payload bytes and MF; the offset field counts 8-byte blocks. Only packets without IP options are split
 * (svrouter's SVR packets carry the host's header, which has none in practice; one with options is not
 * fragmented), so every fragment has the same 20-byte header.
 */
import { readU16, writeU16 } from './checksum.js';
import { fillIpv4HeaderChecksum } from './rewrite.js';

const HEADER = 20;
/** Flags/offset field: More Fragments, Don't Fragment. */
export const IPV4_MF = 0x2000;
export const IPV4_DF = 0x4000;

/** Payload bytes every fragment but the last carries for `mtu`. */
export function fragmentPayload(mtu: number): number {
  return (mtu - HEADER) & ~7;
}

/** How many fragments a `len`-byte IPv4 packet without options needs for `mtu`; 0 when it cannot be split. */
export function ipv4FragmentCount(d: Uint8Array, l3: number, len: number, mtu: number): number {
  if ((d[l3]! & 0x0f) !== 5 || (readU16(d, l3 + 6) & 0x3fff) !== 0 || mtu < 68) return 0;
  if (len <= mtu) return 1;
  return Math.ceil((len - HEADER) / fragmentPayload(mtu));
}

/**
 * Writes fragment `index` of the packet at src[l3, l3 + len) to dst at `at` with IP id `id`; returns its
 * length. Fragment 0 may be written in place (dst === src, at === l3) once every other one is written.
 */
export function writeIpv4Fragment(src: Uint8Array, l3: number, len: number, mtu: number, index: number, id: number, dst: Uint8Array, at: number): number {
  const per = fragmentPayload(mtu);
  const from = index * per;
  const n = Math.min(per, len - HEADER - from);
  const last = from + n === len - HEADER;
  if (dst !== src || at !== l3) {
    dst.set(src.subarray(l3, l3 + HEADER), at);
    dst.set(src.subarray(l3 + HEADER + from, l3 + HEADER + from + n), at + HEADER);
  }
  writeU16(dst, at + 2, HEADER + n);
  writeU16(dst, at + 4, id);
  writeU16(dst, at + 6, (last ? 0 : IPV4_MF) | (from >> 3));
  fillIpv4HeaderChecksum(dst, at);
  return HEADER + n;
}
