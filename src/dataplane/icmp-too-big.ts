/**
 * The ICMP error that tells a host its packet does not fit the peer path (ssr-reference §1.2 "Fabric
 * fragmentation / MSS": SSR 7.2 relays "too big" to the original sender; docs/wan.md "Path MTU"): IPv4
 * type 3 code 4 "fragmentation needed and DF set" with the next-hop MTU (RFC 1191 §4), IPv6 type 2 "packet
 * too big" with the MTU (RFC 4443 §3.2). It quotes the original IP header and the first 8 bytes of its
 * payload (saved before svr-out rewrote the packet), comes from the packet's destination (the host checks
 * the quote, not the source) and is written over the slot, to leave by the LAN interface the packet came in on.
 */
import { PROTO_ICMP, PROTO_ICMPV6, type PacketInfo } from '../packet/ip.js';
import { writeU16, writeU32 } from '../packet/checksum.js';
import type { Batch } from './batch.js';
import { finishIcmpError } from './icmp-unreachable.js';

/** Bytes of the original packet an ICMP error quotes at most: an IPv4 header with options + 8, IPv6 40 + 8. */
export const TOO_BIG_QUOTE = 68;

/** How much of the packet at d[l3] (IP version `family`, `len` bytes) the error quotes. */
export function quoteLength(d: Uint8Array, l3: number, family: 4 | 6, len: number): number {
  return Math.min(len, family === 6 ? 48 : (d[l3]! & 0x0f) * 4 + 8);
}

/**
 * Writes the error into slot s (from b.off[s]): `quote` holds quoteLen bytes of the original packet; `mtu`
 * is what the host may send. Sets pi to the new packet.
 */
export function writeIcmpTooBig(b: Batch, s: number, pi: PacketInfo, quote: Uint8Array, quoteLen: number, family: 4 | 6, mtu: number): void {
  const d = b.data;
  const at = b.off[s]!;
  const v6 = family === 6;
  const head = v6 ? 48 : 28;
  d.fill(0, at, at + head);
  d.set(quote.subarray(0, quoteLen), at + head);
  if (v6) {
    d[at] = 0x60;
    writeU16(d, at + 4, 8 + quoteLen);
    d[at + 6] = PROTO_ICMPV6;
    d[at + 7] = 64;
    d.set(quote.subarray(24, 40), at + 8); // source: the packet's destination
    d.set(quote.subarray(8, 24), at + 24); // destination: its source
    d[at + 40] = 2; // packet too big
    writeU32(d, at + 44, mtu);
  } else {
    d[at] = 0x45;
    writeU16(d, at + 2, 28 + quoteLen);
    writeU16(d, at + 6, 0x4000);
    d[at + 8] = 64;
    d[at + 9] = PROTO_ICMP;
    d.set(quote.subarray(16, 20), at + 12);
    d.set(quote.subarray(12, 16), at + 16);
    d[at + 20] = 3; // destination unreachable
    d[at + 21] = 4; // fragmentation needed and DF set
    writeU16(d, at + 26, mtu);
  }
  pi.family = family;
  finishIcmpError(d, pi, at, v6, quoteLen);
  b.len[s] = pi.end - at;
}
