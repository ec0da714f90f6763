/**
 * IPv4 / IPv6 + TCP / UDP / ICMP / ICMPv6 header parsing into a reusable `PacketInfo` (no allocation).
 *
 * Flow: 1. IP version nibble -> IPv4 (RFC 791) or IPv6 (RFC 8200, extension headers walked);
 *       2. every length is checked against the bytes present (a disagreement is a `ParseError`, never a throw);
 *       3. the L4 header (RFC 9293 TCP, RFC 768 UDP, RFC 792/4443 ICMP) gives ports, flags and the payload offset.
 * Non-first fragments have no L4 header: `fragment` is set and ports stay 0.
 */
import { readU16 } from './checksum.js';

export const PROTO_ICMP = 1;
export const PROTO_TCP = 6;
export const PROTO_UDP = 17;
export const PROTO_ICMPV6 = 58;

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

/** Why a packet could not be parsed; 0 = fine. Values index `PARSE_ERROR_NAMES`. */
export const enum ParseError {
  None = 0,
  TooShort = 1,
  BadVersion = 2,
  BadHeaderLength = 3,
  BadTotalLength = 4,
  TruncatedL4 = 5,
  BadL4Length = 6,
  BadExtensionHeader = 7,
}

export const PARSE_ERROR_NAMES = [
  'none', 'too-short', 'bad-version', 'bad-header-length', 'bad-total-length', 'truncated-l4', 'bad-l4-length', 'bad-extension-header',
] as const;

/** Parsed header offsets of one packet. Offsets are absolute positions in the buffer. */
export class PacketInfo {
  /** 4 or 6 (meaningful only after a successful parse) */
  family: 4 | 6 = 4;
  /** Offset of the IP header. */
  l3 = 0;
  /** Offset of the L4 header (valid unless `fragment` is a non-first fragment). */
  l4 = 0;
  /** Offset of the L4 payload. */
  payload = 0;
  /** End of the IP packet (l3 + IP total length); trailing bytes in the buffer are ignored. */
  end = 0;
  protocol = 0;
  srcOff = 0;
  dstOff = 0;
  srcPort = 0;
  dstPort = 0;
  tcpFlags = 0;
  /** ICMP type/code (and echo identifier in srcPort/dstPort for echo request/reply). */
  icmpType = 0;
  icmpCode = 0;
  /** 0 none, 1 first fragment, 2 later fragment (no L4 header). */
  fragment = 0;
  /** IPv4 TTL / IPv6 hop limit. */
  ttl = 0;

  get addrLen(): number {
    return this.family === 6 ? 16 : 4;
  }
  get payloadLength(): number {
    return this.end - this.payload;
  }
}

/** True when ICMP type is an echo request/reply (v4 8/0, v6 128/129): identifier used as "port". */
function isEcho(protocol: number, type: number): boolean {
  return protocol === PROTO_ICMP ? type === 8 || type === 0 : type === 128 || type === 129;
}

/** Parses the IP packet in buf[off, off+len) into `pi`. Returns ParseError.None when every length fits. */
export function parsePacket(buf: Uint8Array, off: number, len: number, pi: PacketInfo): ParseError {
  pi.srcPort = 0;
  pi.dstPort = 0;
  pi.tcpFlags = 0;
  pi.icmpType = 0;
  pi.icmpCode = 0;
  pi.fragment = 0;
  pi.l3 = off;
  if (len < 1) return ParseError.TooShort;
  const version = buf[off]! >>> 4;
  let l4: number;
  let end: number;
  let proto: number;
  if (version === 4) {
    if (len < 20) return ParseError.TooShort;
    const ihl = (buf[off]! & 0x0f) * 4;
    if (ihl < 20 || ihl > len) return ParseError.BadHeaderLength;
    const total = readU16(buf, off + 2);
    if (total < ihl || total > len) return ParseError.BadTotalLength;
    const frag = readU16(buf, off + 6);
    if ((frag & 0x1fff) !== 0) pi.fragment = 2; // RFC 791: offset != 0 -> no L4 header here
    else if ((frag & 0x2000) !== 0) pi.fragment = 1;
    pi.family = 4;
    pi.ttl = buf[off + 8]!;
    proto = buf[off + 9]!;
    pi.srcOff = off + 12;
    pi.dstOff = off + 16;
    l4 = off + ihl;
    end = off + total;
  } else if (version === 6) {
    if (len < 40) return ParseError.TooShort;
    const plen = readU16(buf, off + 4);
    if (40 + plen > len) return ParseError.BadTotalLength;
    pi.family = 6;
    pi.ttl = buf[off + 7]!;
    pi.srcOff = off + 8;
    pi.dstOff = off + 24;
    end = off + 40 + plen;
    proto = buf[off + 6]!;
    l4 = off + 40;
    // RFC 8200 §4: hop-by-hop (0), routing (43), fragment (44), destination options (60)
    for (let hops = 0; proto === 0 || proto === 43 || proto === 44 || proto === 60; hops++) {
      if (hops > 8 || l4 + 8 > end) return ParseError.BadExtensionHeader;
      const next = buf[l4]!;
      if (proto === 44) {
        const fo = readU16(buf, l4 + 2);
        pi.fragment = (fo & 0xfff8) !== 0 ? 2 : (fo & 1) !== 0 ? 1 : 0;
        l4 += 8;
      } else {
        l4 += (buf[l4 + 1]! + 1) * 8;
      }
      proto = next;
    }
    if (l4 > end) return ParseError.BadExtensionHeader;
  } else {
    return ParseError.BadVersion;
  }
  pi.protocol = proto;
  pi.l4 = l4;
  pi.end = end;
  pi.payload = l4;
  if (pi.fragment === 2) return ParseError.None;
  const avail = end - l4;
  if (proto === PROTO_TCP) {
    if (avail < 20) return ParseError.TruncatedL4;
    const doff = (buf[l4 + 12]! >>> 4) * 4;
    if (doff < 20 || doff > avail) return ParseError.BadL4Length;
    pi.srcPort = readU16(buf, l4);
    pi.dstPort = readU16(buf, l4 + 2);
    pi.tcpFlags = buf[l4 + 13]!;
    pi.payload = l4 + doff;
  } else if (proto === PROTO_UDP) {
    if (avail < 8) return ParseError.TruncatedL4;
    const ulen = readU16(buf, l4 + 4);
    // RFC 768: length covers header + data; it may not exceed the IP payload (fragments aside)
    if (ulen < 8 || (pi.fragment === 0 && ulen !== avail)) return ParseError.BadL4Length;
    pi.srcPort = readU16(buf, l4);
    pi.dstPort = readU16(buf, l4 + 2);
    pi.payload = l4 + 8;
  } else if (proto === PROTO_ICMP || proto === PROTO_ICMPV6) {
    if (avail < 8) return ParseError.TruncatedL4;
    pi.icmpType = buf[l4]!;
    pi.icmpCode = buf[l4 + 1]!;
    if (isEcho(proto, pi.icmpType)) {
      // echo identifier plays the role of both ports, so both directions share one flow
      pi.srcPort = readU16(buf, l4 + 4);
      pi.dstPort = pi.srcPort;
    }
    pi.payload = l4 + 8;
  }
  return ParseError.None;
}

/** True for protocols whose sessions we key by ports (TCP, UDP) or echo identifier (ICMP echo). */
export function hasPorts(protocol: number): boolean {
  return protocol === PROTO_TCP || protocol === PROTO_UDP;
}
