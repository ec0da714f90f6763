/**
 * Packet builders for hosts, tests and control packets (not the per-packet data path: these allocate).
 * Addresses are raw bytes (4 for IPv4, 16 for IPv6).
 */
import { writeU16, writeU32 } from './checksum.js';
import { PacketInfo, PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, parsePacket } from './ip.js';
import { fillIpv4HeaderChecksum, fillL4Checksum } from './rewrite.js';

export interface AddressPair {
  src: Uint8Array;
  dst: Uint8Array;
  ttl?: number;
  /** IPv4 identification; default 0 */
  id?: number;
}

export interface UdpSpec extends AddressPair {
  srcPort: number;
  dstPort: number;
  payload?: Uint8Array;
}

export interface TcpSpec extends AddressPair {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack?: number;
  flags: number;
  window?: number;
  payload?: Uint8Array;
  /** Raw TCP options (padded to 4 bytes by the caller). */
  options?: Uint8Array;
}

export interface IcmpEchoSpec extends AddressPair {
  /** true: echo request, false: echo reply */
  request: boolean;
  id: number;
  seq: number;
  payload?: Uint8Array;
}

const EMPTY = new Uint8Array(0);

function ipHeaderLength(src: Uint8Array): number {
  return src.length === 16 ? 40 : 20;
}

/** Writes an IP header for `l4Length` bytes of `protocol` at buf[0]; returns the header length. */
function writeIpHeader(buf: Uint8Array, a: AddressPair, protocol: number, l4Length: number): number {
  if (a.src.length !== a.dst.length || (a.src.length !== 4 && a.src.length !== 16)) {
    throw new RangeError('addresses must both be 4 (IPv4) or 16 (IPv6) bytes');
  }
  const ttl = a.ttl ?? 64;
  if (a.src.length === 4) {
    buf[0] = 0x45;
    buf[1] = 0;
    writeU16(buf, 2, 20 + l4Length);
    writeU16(buf, 4, a.id ?? 0);
    writeU16(buf, 6, 0x4000); // DF
    buf[8] = ttl;
    buf[9] = protocol;
    buf.set(a.src, 12);
    buf.set(a.dst, 16);
    fillIpv4HeaderChecksum(buf, 0);
    return 20;
  }
  writeU32(buf, 0, 0x60000000);
  writeU16(buf, 4, l4Length);
  buf[6] = protocol;
  buf[7] = ttl;
  buf.set(a.src, 8);
  buf.set(a.dst, 24);
  return 40;
}

function finishChecksums(buf: Uint8Array): Uint8Array {
  const pi = new PacketInfo();
  parsePacket(buf, 0, buf.length, pi);
  fillL4Checksum(buf, pi);
  return buf;
}

export function buildUdp(s: UdpSpec): Uint8Array {
  const payload = s.payload ?? EMPTY;
  const h = ipHeaderLength(s.src);
  const buf = new Uint8Array(h + 8 + payload.length);
  writeIpHeader(buf, s, PROTO_UDP, 8 + payload.length);
  writeU16(buf, h, s.srcPort);
  writeU16(buf, h + 2, s.dstPort);
  writeU16(buf, h + 4, 8 + payload.length);
  buf.set(payload, h + 8);
  return finishChecksums(buf);
}

export function buildTcp(s: TcpSpec): Uint8Array {
  const payload = s.payload ?? EMPTY;
  const options = s.options ?? EMPTY;
  const h = ipHeaderLength(s.src);
  const thl = 20 + options.length;
  const buf = new Uint8Array(h + thl + payload.length);
  writeIpHeader(buf, s, PROTO_TCP, thl + payload.length);
  writeU16(buf, h, s.srcPort);
  writeU16(buf, h + 2, s.dstPort);
  writeU32(buf, h + 4, s.seq >>> 0);
  writeU32(buf, h + 8, (s.ack ?? 0) >>> 0);
  buf[h + 12] = (thl / 4) << 4;
  buf[h + 13] = s.flags;
  writeU16(buf, h + 14, s.window ?? 65535);
  buf.set(options, h + 20);
  buf.set(payload, h + thl);
  return finishChecksums(buf);
}

export function buildIcmpEcho(s: IcmpEchoSpec): Uint8Array {
  const payload = s.payload ?? EMPTY;
  const v6 = s.src.length === 16;
  const h = ipHeaderLength(s.src);
  const buf = new Uint8Array(h + 8 + payload.length);
  writeIpHeader(buf, s, v6 ? PROTO_ICMPV6 : PROTO_ICMP, 8 + payload.length);
  buf[h] = v6 ? (s.request ? 128 : 129) : s.request ? 8 : 0;
  writeU16(buf, h + 4, s.id);
  writeU16(buf, h + 6, s.seq);
  buf.set(payload, h + 8);
  return finishChecksums(buf);
}
