/**
 * Turns a first packet a plugin refused (`refuse('unreachable')`) into the ICMP destination unreachable that
 * answers it, in place, back out of the interface it came in on: IPv4 type 3 code 13 "communication
 * administratively prohibited" (RFC 1812 §5.2.7.1) quoting the IP header and the first 8 bytes of its payload
 * (RFC 792); IPv6 type 1 code 1 "communication with destination administratively prohibited" quoting as
 * much of the packet as keeps the answer within 1280 bytes (RFC 4443 §3.1, §2.4 c). The answer comes from
 * the packet's destination address, as a firewall's reject does. Only session first packets get here (TCP,
 * UDP, ICMP echo), never an ICMP error (RFC 1812 §4.3.2.7).
 */
import { PROTO_ICMP, PROTO_ICMPV6, type PacketInfo } from '../packet/ip.js';
import { writeU16 } from '../packet/checksum.js';
import { fillIpv4HeaderChecksum, fillL4Checksum } from '../packet/rewrite.js';
import type { Batch } from './batch.js';

const IPV6_MIN_MTU = 1280;

/** false (nothing changed) when the slot has no room in front for the new headers. */
export function makeIcmpUnreachable(b: Batch, s: number, pi: PacketInfo): boolean {
  const d = b.data;
  const l3 = pi.l3;
  const v6 = pi.family === 6;
  const head = v6 ? 48 : 28;
  if (l3 - head < b.slotStart(s)) return false;
  const at = l3 - head;
  const quote = v6 ? Math.min(pi.end - l3, IPV6_MIN_MTU - head) : Math.min(pi.end - l3, (d[l3]! & 0x0f) * 4 + 8);
  d.fill(0, at, l3);
  if (v6) {
    d[at] = 0x60;
    writeU16(d, at + 4, 8 + quote);
    d[at + 6] = PROTO_ICMPV6;
    d[at + 7] = 64;
    d.copyWithin(at + 8, l3 + 24, l3 + 40); // source: the packet's destination
    d.copyWithin(at + 24, l3 + 8, l3 + 24); // destination: its source
    d[at + 40] = 1; // destination unreachable
    d[at + 41] = 1; // administratively prohibited
  } else {
    d[at] = 0x45;
    writeU16(d, at + 2, 28 + quote);
    d[at + 8] = 64;
    d[at + 9] = PROTO_ICMP;
    d.copyWithin(at + 12, l3 + 16, l3 + 20);
    d.copyWithin(at + 16, l3 + 12, l3 + 16);
    d[at + 20] = 3; // destination unreachable
    d[at + 21] = 13; // communication administratively prohibited
  }
  finishIcmpError(d, pi, at, v6, quote);
  b.off[s] = at;
  b.len[s] = pi.end - at;
  return true;
}

/**
 * An ICMP error just written at d[at] (its IP header, 8 bytes of ICMP, then `quoteLen` bytes quoted): pi
 * describes it from now on, and its checksums are filled.
 */
export function finishIcmpError(d: Uint8Array, pi: PacketInfo, at: number, v6: boolean, quoteLen: number): void {
  pi.l3 = at;
  pi.l4 = at + (v6 ? 40 : 20);
  pi.payload = pi.l4 + 8;
  pi.end = pi.payload + quoteLen;
  pi.protocol = v6 ? PROTO_ICMPV6 : PROTO_ICMP;
  pi.srcOff = at + (v6 ? 8 : 12);
  pi.dstOff = pi.srcOff + (v6 ? 16 : 4);
  pi.fragment = 0;
  if (!v6) fillIpv4HeaderChecksum(d, at);
  fillL4Checksum(d, pi);
}
