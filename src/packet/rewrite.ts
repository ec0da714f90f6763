/**
 * In-place header rewrites with correct checksums.
 * Address and port changes use incremental updates (RFC 1624); length changes (metadata inserted or
 * removed, HMAC trailer) recompute the L4 checksum in full, which costs ~0.7 µs per 1400 bytes.
 */
import { finish, readU16, sumBytes, updateBytes, updateWord, writeU16 } from './checksum.js';
import { PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, type PacketInfo } from './ip.js';

/** Offset of the L4 checksum field, or -1 when the protocol has none we maintain. */
export function l4ChecksumOffset(pi: PacketInfo): number {
  switch (pi.protocol) {
    case PROTO_TCP: return pi.l4 + 16;
    case PROTO_UDP: return pi.l4 + 6;
    case PROTO_ICMP: case PROTO_ICMPV6: return pi.l4 + 2;
    default: return -1;
  }
}

/** True when the L4 checksum covers the IP pseudo-header (TCP, UDP, ICMPv6). */
function usesPseudoHeader(protocol: number): boolean {
  return protocol === PROTO_TCP || protocol === PROTO_UDP || protocol === PROTO_ICMPV6;
}

/** Recomputes the IPv4 header checksum (no-op for IPv6). */
export function fillIpv4HeaderChecksum(buf: Uint8Array, l3: number): void {
  if (buf[l3]! >>> 4 !== 4) return;
  const ihl = (buf[l3]! & 0x0f) * 4;
  buf[l3 + 10] = 0;
  buf[l3 + 11] = 0;
  writeU16(buf, l3 + 10, finish(sumBytes(buf, l3, ihl, 0)));
}

/** Computes the L4 checksum of the segment [pi.l4, pi.end) with its pseudo-header, ignoring the current field value. */
export function computeL4Checksum(buf: Uint8Array, pi: PacketInfo): number {
  const csOff = l4ChecksumOffset(pi);
  const len = pi.end - pi.l4;
  let acc = 0;
  if (usesPseudoHeader(pi.protocol)) {
    const alen = pi.family === 6 ? 16 : 4;
    acc = sumBytes(buf, pi.srcOff, alen, acc);
    acc = sumBytes(buf, pi.dstOff, alen, acc);
    acc += pi.protocol + (len >>> 16) + (len & 0xffff);
  }
  acc = sumBytes(buf, pi.l4, len, acc);
  if (csOff >= 0) acc += 0xffff - readU16(buf, csOff); // remove the field's own contribution (ones-complement: -x = ~x)
  return finish(acc);
}

/** Writes a freshly computed L4 checksum (UDP included: we always send UDP checksums). */
export function fillL4Checksum(buf: Uint8Array, pi: PacketInfo): void {
  const csOff = l4ChecksumOffset(pi);
  if (csOff < 0 || pi.fragment !== 0) return;
  let cs = computeL4Checksum(buf, pi);
  if (pi.protocol === PROTO_UDP && cs === 0) cs = 0xffff; // RFC 768: 0 means "none"
  writeU16(buf, csOff, cs);
}

/** True when the L4 checksum of the packet is correct (UDP over IPv4 with checksum 0 counts as correct). */
export function verifyL4Checksum(buf: Uint8Array, pi: PacketInfo): boolean {
  const csOff = l4ChecksumOffset(pi);
  if (csOff < 0 || pi.fragment !== 0) return true;
  const cs = readU16(buf, csOff);
  if (pi.protocol === PROTO_UDP && pi.family === 4 && cs === 0) return true;
  const want = computeL4Checksum(buf, pi);
  return cs === want || (pi.protocol === PROTO_UDP && want === 0 && cs === 0xffff);
}

/** Sets the IP total length (v4) / payload length (v6) for a packet ending at `end`; updates pi.end. */
export function setIpLength(buf: Uint8Array, pi: PacketInfo, end: number): void {
  pi.end = end;
  if (pi.family === 4) {
    writeU16(buf, pi.l3 + 2, end - pi.l3);
    fillIpv4HeaderChecksum(buf, pi.l3);
  } else {
    writeU16(buf, pi.l3 + 4, end - pi.l3 - 40);
  }
  if (pi.protocol === PROTO_UDP && pi.fragment === 0) writeU16(buf, pi.l4 + 4, end - pi.l4);
}

/**
 * Replaces the source and destination addresses with `alen` bytes from src[srcOff] and dst[dstOff]
 * (same family). Incremental update of the IPv4 header checksum and of the L4 pseudo-header checksum.
 * The new addresses must not alias the packet's own address fields (use `swapAddressesAndPorts` for that).
 */
export function setAddresses(
  buf: Uint8Array, pi: PacketInfo, src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number,
): void {
  const alen = pi.family === 6 ? 16 : 4;
  const csOff = pi.fragment === 0 && usesPseudoHeader(pi.protocol) ? l4ChecksumOffset(pi) : -1;
  if (csOff >= 0 && !(pi.protocol === PROTO_UDP && pi.family === 4 && readU16(buf, csOff) === 0)) {
    let cs = readU16(buf, csOff);
    cs = updateBytes(cs, buf, pi.srcOff, src, srcOff, alen);
    cs = updateBytes(cs, buf, pi.dstOff, dst, dstOff, alen);
    if (pi.protocol === PROTO_UDP && cs === 0) cs = 0xffff;
    writeU16(buf, csOff, cs);
  }
  if (pi.family === 4) {
    let ip = readU16(buf, pi.l3 + 10);
    ip = updateBytes(ip, buf, pi.srcOff, src, srcOff, 4);
    ip = updateBytes(ip, buf, pi.dstOff, dst, dstOff, 4);
    writeU16(buf, pi.l3 + 10, ip);
  }
  copy(buf, pi.srcOff, src, srcOff, alen);
  copy(buf, pi.dstOff, dst, dstOff, alen);
}

/** Sets TCP/UDP ports (or the ICMP echo identifier when sport === dport) with an incremental checksum update. */
export function setPorts(buf: Uint8Array, pi: PacketInfo, srcPort: number, dstPort: number): void {
  if (pi.fragment === 2) return;
  if (pi.protocol === PROTO_TCP || pi.protocol === PROTO_UDP) {
    const csOff = l4ChecksumOffset(pi);
    let cs = readU16(buf, csOff);
    const noCsum = pi.protocol === PROTO_UDP && pi.family === 4 && cs === 0;
    if (!noCsum) {
      cs = updateWord(cs, readU16(buf, pi.l4), srcPort);
      cs = updateWord(cs, readU16(buf, pi.l4 + 2), dstPort);
      if (pi.protocol === PROTO_UDP && cs === 0) cs = 0xffff;
      writeU16(buf, csOff, cs);
    }
    writeU16(buf, pi.l4, srcPort);
    writeU16(buf, pi.l4 + 2, dstPort);
  } else if ((pi.protocol === PROTO_ICMP || pi.protocol === PROTO_ICMPV6) && pi.srcPort === pi.dstPort) {
    const csOff = pi.l4 + 2;
    writeU16(buf, csOff, updateWord(readU16(buf, csOff), readU16(buf, pi.l4 + 4), srcPort));
    writeU16(buf, pi.l4 + 4, srcPort);
  }
  pi.srcPort = srcPort;
  pi.dstPort = dstPort;
}

/** Decrements the TTL / hop limit with an incremental IPv4 header checksum update. Returns the new TTL. */
export function decrementTtl(buf: Uint8Array, pi: PacketInfo): number {
  if (pi.family === 4) {
    const ttl = buf[pi.l3 + 8]!;
    if (ttl === 0) return 0;
    const oldWord = readU16(buf, pi.l3 + 8);
    buf[pi.l3 + 8] = ttl - 1;
    writeU16(buf, pi.l3 + 10, updateWord(readU16(buf, pi.l3 + 10), oldWord, readU16(buf, pi.l3 + 8)));
    pi.ttl = ttl - 1;
  } else {
    const hl = buf[pi.l3 + 7]!;
    if (hl === 0) return 0;
    buf[pi.l3 + 7] = hl - 1;
    pi.ttl = hl - 1;
  }
  return pi.ttl;
}

function copy(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, len: number): void {
  for (let i = 0; i < len; i++) dst[dstOff + i] = src[srcOff + i]!;
}

/** Swaps source and destination addresses and ports in place (checksums are unchanged by a swap). */
export function swapAddressesAndPorts(buf: Uint8Array, pi: PacketInfo): void {
  const alen = pi.family === 6 ? 16 : 4;
  for (let i = 0; i < alen; i++) {
    const t = buf[pi.srcOff + i]!;
    buf[pi.srcOff + i] = buf[pi.dstOff + i]!;
    buf[pi.dstOff + i] = t;
  }
  if (pi.fragment !== 2 && (pi.protocol === PROTO_TCP || pi.protocol === PROTO_UDP)) {
    const sp = readU16(buf, pi.l4);
    writeU16(buf, pi.l4, readU16(buf, pi.l4 + 2));
    writeU16(buf, pi.l4 + 2, sp);
    pi.srcPort = pi.dstPort;
    pi.dstPort = sp;
  }
}
