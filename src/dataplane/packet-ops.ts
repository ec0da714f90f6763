/**
 * Packet surgery inside a batch slot, in place: insert or remove bytes at the start of the L4 payload
 * (SVR metadata) by moving the IP + L4 headers into the headroom instead of moving the payload, add or
 * remove a UDP header (ICMP carried as UDP between routers, fact sheet §1.1), and append or strip a
 * trailer (HMAC). Offsets in the PacketInfo and the batch are kept in step.
 * Cost: a header move is a copyWithin of 28–60 bytes (~20 ns).
 */
import { readU16, sumBytes, swap16, updateWord, writeU16 } from '../packet/checksum.js';
import { PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, type PacketInfo } from '../packet/ip.js';
import { l4ChecksumOffset } from '../packet/rewrite.js';
import type { Batch } from './batch.js';

function shift(pi: PacketInfo, delta: number): void {
  pi.l3 += delta;
  pi.l4 += delta;
  pi.srcOff += delta;
  pi.dstOff += delta;
  pi.payload += delta;
}

/** Room left in front of the packet (headroom not yet used). */
export function headroom(b: Batch, slot: number): number {
  return b.off[slot]! - b.slotStart(slot);
}

/** Room left behind the packet inside its slot. */
export function tailroom(b: Batch, slot: number): number {
  return b.slotEnd(slot) - (b.off[slot]! + b.len[slot]!);
}

/** Opens `n` bytes at the payload start by moving the headers left; returns the offset of the gap.
 *  IP/L4 length fields are not updated here (see rewrite.setIpLength). */
export function openAtPayload(b: Batch, slot: number, pi: PacketInfo, n: number): number {
  const d = b.data;
  const start = b.off[slot]!;
  d.copyWithin(start - n, start, pi.payload);
  b.off[slot] = start - n;
  b.len[slot] = b.len[slot]! + n;
  shift(pi, -n);
  return pi.payload; // the payload itself did not move: pi.end is unchanged
}

/** Removes `n` bytes at the payload start by moving the headers right. */
export function closeAtPayload(b: Batch, slot: number, pi: PacketInfo, n: number): void {
  const d = b.data;
  const start = b.off[slot]!;
  d.copyWithin(start + n, start, pi.payload);
  b.off[slot] = start + n;
  b.len[slot] = b.len[slot]! - n;
  shift(pi, n);
}

/** Inserts an 8-byte UDP header after the IP header (ICMP, or TCP under UDP transform -> UDP between
 *  routers). The IP length and checksums are the caller's job. */
export function insertUdpHeader(b: Batch, slot: number, pi: PacketInfo, srcPort: number, dstPort: number): void {
  const d = b.data;
  const start = b.off[slot]!;
  d.copyWithin(start - 8, start, pi.l4);
  b.off[slot] = start - 8;
  b.len[slot] = b.len[slot]! + 8;
  pi.l3 -= 8;
  pi.srcOff -= 8;
  pi.dstOff -= 8;
  pi.l4 -= 8;
  pi.payload = pi.l4 + 8;
  writeU16(d, pi.l4, srcPort);
  writeU16(d, pi.l4 + 2, dstPort);
  writeU16(d, pi.l4 + 4, pi.end - pi.l4);
  writeU16(d, pi.l4 + 6, 0);
  pi.protocol = PROTO_UDP;
  pi.srcPort = srcPort;
  pi.dstPort = dstPort;
  setIpProtocol(d, pi, PROTO_UDP);
}

/**
 * Removes the UDP header of a transformed packet, leaving the ICMP message or the TCP segment (UDP transform)
 * as the L4 segment; false (nothing changed) when an inner TCP header is cut off or its data offset does not fit.
 */
export function removeUdpHeader(b: Batch, slot: number, pi: PacketInfo, protocol: number): boolean {
  const d = b.data;
  const inner = pi.l4 + 8;
  const doff = protocol === PROTO_TCP && pi.end - inner >= 20 ? (d[inner + 12]! >> 4) * 4 : 0;
  if (protocol === PROTO_TCP && (doff < 20 || inner + doff > pi.end)) return false;
  const start = b.off[slot]!;
  d.copyWithin(start + 8, start, pi.l4);
  b.off[slot] = start + 8;
  b.len[slot] = b.len[slot]! - 8;
  pi.l3 += 8;
  pi.srcOff += 8;
  pi.dstOff += 8;
  pi.l4 += 8;
  pi.protocol = protocol;
  setIpProtocol(d, pi, protocol);
  if (protocol === PROTO_TCP) {
    pi.payload = pi.l4 + doff;
    pi.srcPort = readU16(d, pi.l4);
    pi.dstPort = readU16(d, pi.l4 + 2);
    pi.tcpFlags = d[pi.l4 + 13]!;
    return true;
  }
  pi.payload = pi.l4 + 8;
  pi.icmpType = d[pi.l4]!;
  pi.icmpCode = d[pi.l4 + 1]!;
  return true;
}

/** Writes the protocol / next-header field (IPv6 only without extension headers). */
function setIpProtocol(d: Uint8Array, pi: PacketInfo, protocol: number): void {
  if (pi.family === 4) d[pi.l3 + 9] = protocol;
  else d[pi.l3 + 6] = protocol;
}

/**
 * Adjusts the L4 checksum for `len` bytes at `at` appended to (adding) or removed from (not adding) the end
 * of the segment, and for the length change in the pseudo-header and UDP header (RFC 1624 style), so a
 * corrupted payload stays detectable end to end. Call before changing the length fields.
 */
export function adjustChecksumForTail(d: Uint8Array, pi: PacketInfo, at: number, len: number, adding: boolean): void {
  const csOff = l4ChecksumOffset(pi);
  if (csOff < 0 || pi.protocol === PROTO_ICMP) return; // ICMPv4 carried intact inside the payload
  let cs = readU16(d, csOff);
  if (pi.protocol === PROTO_UDP && pi.family === 4 && cs === 0) return;
  let t = sumBytes(d, at, len, 0);
  t = (t & 0xffff) + (t >>> 16);
  t = (t & 0xffff) + (t >>> 16);
  if (((at - pi.l4) & 1) === 1) t = swap16(t & 0xffff);
  const oldLen = pi.end - pi.l4;
  const newLen = adding ? oldLen + len : oldLen - len;
  let acc = (~cs & 0xffff) + (adding ? t : ~t & 0xffff);
  acc = (acc & 0xffff) + (acc >>> 16);
  acc = (acc & 0xffff) + (acc >>> 16);
  cs = ~acc & 0xffff;
  cs = updateWord(cs, oldLen & 0xffff, newLen & 0xffff); // pseudo-header length
  if (pi.protocol === PROTO_UDP) cs = updateWord(cs, oldLen & 0xffff, newLen & 0xffff); // UDP length field
  if (pi.protocol === PROTO_UDP && cs === 0) cs = 0xffff;
  writeU16(d, csOff, cs);
}

/** True for the protocols a session can carry (ICMP only as echo, by identifier). */
export function sessionProtocol(pi: PacketInfo): boolean {
  if (pi.protocol === PROTO_TCP || pi.protocol === PROTO_UDP) return true;
  if (pi.protocol === PROTO_ICMP) return pi.icmpType === 8 || pi.icmpType === 0;
  if (pi.protocol === PROTO_ICMPV6) return pi.icmpType === 128 || pi.icmpType === 129;
  return false;
}
