/**
 * A TypeScript reference of the TUN offload rules (docs/tun-io.md, "Offload"), written from the spec and not
 * from native/offload.c: test/unit/io/offload.test.ts compares the C code with it byte for byte. Plain and
 * slow on purpose: big-endian 16-bit words, one at a time.
 *
 * Also packet builders for crafted IPv4/IPv6 TCP/UDP packets with correct checksums.
 */
import { endianness } from 'node:os';

export const VNET_LEN = 10;
export const NEEDS_CSUM = 1;
export const GSO_NONE = 0;
export const GSO_TCPV4 = 1;
export const GSO_UDP = 3;
export const GSO_TCPV6 = 4;
export const GSO_UDP_L4 = 5;
export const GSO_ECN = 0x80;

export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;
export const URG = 0x20;
export const ECE = 0x40;
export const CWR = 0x80;

const LE = endianness() === 'LE';

const r16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
const r32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
function w16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}
function w32(b: Uint8Array, o: number, v: number): void {
  w16(b, o, (v >>> 16) & 0xffff);
  w16(b, o + 2, v & 0xffff);
}

/** Ones-complement sum of big-endian 16-bit words (an odd last byte is padded with zero), unfolded. */
export function sum16(b: Uint8Array, off: number, len: number, acc = 0): number {
  for (let i = 0; i + 1 < len; i += 2) acc += r16(b, off + i);
  if (len & 1) acc += b[off + len - 1]! << 8;
  return acc;
}
export function fold16(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000);
  return acc;
}

function pseudo(ip: Uint8Array, proto: number, l4len: number): number {
  const v4 = ip[0]! >> 4 === 4;
  const acc = v4 ? sum16(ip, 12, 8) : sum16(ip, 8, 32);
  return acc + proto + (l4len >>> 16) + (l4len & 0xffff);
}

function ipv4Checksum(ip: Uint8Array): void {
  const ihl = (ip[0]! & 15) * 4;
  w16(ip, 10, 0);
  w16(ip, 10, ~fold16(sum16(ip, 0, ihl)) & 0xffff);
}

/** Full L4 checksum of ip[l4, end) (TCP: field at +16, UDP: +6, 0 sent as 0xffff). */
function l4Checksum(ip: Uint8Array, l4: number, proto: number): void {
  const at = l4 + (proto === 6 ? 16 : 6);
  w16(ip, at, 0);
  let c = ~fold16(pseudo(ip, proto, ip.length - l4) + sum16(ip, l4, ip.length - l4)) & 0xffff;
  if (c === 0 && proto === 17) c = 0xffff;
  w16(ip, at, c);
}

/** True when the IPv4 header checksum (if any) and the TCP/UDP checksum of `ip` are right. */
export function checksumsValid(ip: Uint8Array): boolean {
  const v4 = ip[0]! >> 4 === 4;
  if (v4 && fold16(sum16(ip, 0, (ip[0]! & 15) * 4)) !== 0xffff) return false;
  const l4 = v4 ? (ip[0]! & 15) * 4 : 40;
  const proto = v4 ? ip[9]! : ip[6]!;
  return fold16(pseudo(ip, proto, ip.length - l4) + sum16(ip, l4, ip.length - l4)) === 0xffff;
}

export interface VnetHdr {
  flags: number;
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

export function vnetBytes(h: VnetHdr): Uint8Array {
  const b = Buffer.alloc(VNET_LEN);
  b[0] = h.flags;
  b[1] = h.gsoType;
  const put = LE ? b.writeUInt16LE.bind(b) : b.writeUInt16BE.bind(b);
  put(h.hdrLen, 2);
  put(h.gsoSize, 4);
  put(h.csumStart, 6);
  put(h.csumOffset, 8);
  return new Uint8Array(b);
}

export function parseVnet(b: Uint8Array): VnetHdr {
  const buf = Buffer.from(b.buffer, b.byteOffset, VNET_LEN);
  const get = (o: number): number => (LE ? buf.readUInt16LE(o) : buf.readUInt16BE(o));
  return { flags: b[0]!, gsoType: b[1]!, hdrLen: get(2), gsoSize: get(4), csumStart: get(6), csumOffset: get(8) };
}

function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

// ---- builders ----

export interface TcpSpec {
  family: 4 | 6;
  src?: number;
  dst?: number;
  sport?: number;
  dport?: number;
  seq: number;
  ack?: number;
  flags?: number;
  window?: number;
  /** TCP options, a multiple of 4 bytes */
  options?: Uint8Array;
  /** IPv4 options, a multiple of 4 bytes */
  ipOptions?: Uint8Array;
  payload: Uint8Array;
  id?: number;
  df?: boolean;
  ttl?: number;
  tos?: number;
  flowLabel?: number;
}

/** Addresses: 198.18.x.y for IPv4; for IPv6 the (test-only, never configured) 64:ff9b::198.18.x.y form. */
function addr(family: 4 | 6, v: number): Uint8Array {
  const a4 = Uint8Array.of(198, 18, (v >> 8) & 0xff, v & 0xff);
  if (family === 4) return a4;
  const a = new Uint8Array(16);
  a.set([0x00, 0x64, 0xff, 0x9b], 0);
  a.set(a4, 12);
  return a;
}

function ipHeader(family: 4 | 6, proto: number, l4len: number, s: Omit<TcpSpec, 'seq' | 'payload' | 'family'>): Uint8Array {
  if (family === 4) {
    const opt = s.ipOptions ?? new Uint8Array(0);
    const ihl = 20 + opt.length;
    const h = new Uint8Array(ihl);
    h[0] = 0x40 | (ihl / 4);
    h[1] = s.tos ?? 0;
    w16(h, 2, ihl + l4len);
    w16(h, 4, s.id ?? 0x1234);
    w16(h, 6, s.df === false ? 0 : 0x4000);
    h[8] = s.ttl ?? 64;
    h[9] = proto;
    h.set(addr(4, s.src ?? 0x0102), 12);
    h.set(addr(4, s.dst ?? 0x0304), 16);
    h.set(opt, 20);
    ipv4Checksum(h);
    return h;
  }
  const h = new Uint8Array(40);
  const fl = s.flowLabel ?? 0x12345;
  const tc = s.tos ?? 0;
  w32(h, 0, ((6 << 28) | (tc << 20) | fl) >>> 0);
  w16(h, 4, l4len);
  h[6] = proto;
  h[7] = s.ttl ?? 64;
  h.set(addr(6, s.src ?? 0x0102), 8);
  h.set(addr(6, s.dst ?? 0x0304), 24);
  return h;
}

/** A complete TCP/IP packet with valid checksums. */
export function tcpPacket(s: TcpSpec): Uint8Array {
  const opt = s.options ?? new Uint8Array(0);
  const th = new Uint8Array(20 + opt.length);
  w16(th, 0, s.sport ?? 40000);
  w16(th, 2, s.dport ?? 5201);
  w32(th, 4, s.seq >>> 0);
  w32(th, 8, (s.ack ?? 0x01020304) >>> 0);
  th[12] = (th.length / 4) << 4;
  th[13] = s.flags ?? ACK;
  w16(th, 14, s.window ?? 502);
  th.set(opt, 20);
  const ip = concat([ipHeader(s.family, 6, th.length + s.payload.length, s), th, s.payload]);
  l4Checksum(ip, ip.length - th.length - s.payload.length, 6);
  return ip;
}

export function udpPacket(s: Omit<TcpSpec, 'seq'>): Uint8Array {
  const uh = new Uint8Array(8);
  w16(uh, 0, s.sport ?? 40000);
  w16(uh, 2, s.dport ?? 4433);
  w16(uh, 4, 8 + s.payload.length);
  const ip = concat([ipHeader(s.family, 17, 8 + s.payload.length, s), uh, s.payload]);
  l4Checksum(ip, ip.length - 8 - s.payload.length, 17);
  return ip;
}

/** TCP option bytes: NOP NOP timestamp (12 bytes). */
export function tsOption(tsval: number, tsecr = 7): Uint8Array {
  const o = new Uint8Array(12);
  o[0] = 1;
  o[1] = 1;
  o[2] = 8;
  o[3] = 10;
  w32(o, 4, tsval);
  w32(o, 8, tsecr);
  return o;
}

/**
 * What the kernel hands over for a GSO packet: vnet header + the super-packet, whose L4 checksum field holds
 * the folded pseudo-header sum (CHECKSUM_PARTIAL).
 */
export function gsoRead(pkt: Uint8Array, gsoSize: number, ecn = false): Uint8Array {
  const p = new Uint8Array(pkt);
  const v4 = p[0]! >> 4 === 4;
  const l4 = v4 ? (p[0]! & 15) * 4 : 40;
  const proto = v4 ? p[9]! : p[6]!;
  const hl = l4 + (proto === 6 ? (p[l4 + 12]! >> 4) * 4 : 8);
  const csOff = proto === 6 ? 16 : 6;
  w16(p, l4 + csOff, fold16(pseudo(p, proto, p.length - l4)));
  const gsoType = (proto === 17 ? GSO_UDP_L4 : v4 ? GSO_TCPV4 : GSO_TCPV6) | (ecn ? GSO_ECN : 0);
  return concat([vnetBytes({ flags: NEEDS_CSUM, gsoType, hdrLen: hl, gsoSize, csumStart: l4, csumOffset: csOff }), p]);
}

/** A non-GSO read with a partial checksum (the field holds the pseudo-header sum). */
export function partialRead(pkt: Uint8Array): Uint8Array {
  const p = new Uint8Array(pkt);
  const v4 = p[0]! >> 4 === 4;
  const l4 = v4 ? (p[0]! & 15) * 4 : 40;
  const proto = v4 ? p[9]! : p[6]!;
  const csOff = proto === 6 ? 16 : 6;
  w16(p, l4 + csOff, fold16(pseudo(p, proto, p.length - l4)));
  return concat([vnetBytes({ flags: NEEDS_CSUM, gsoType: GSO_NONE, hdrLen: 0, gsoSize: 0, csumStart: l4, csumOffset: csOff }), p]);
}

// ---- reference segmentation ----

/** Segments (or completes) one TUN read per the spec; 'bad' / 'too-big' for what must be dropped. */
export function refSegment(read: Uint8Array, snap: number): Uint8Array[] | 'bad' | 'too-big' {
  const h = parseVnet(read);
  const pkt = new Uint8Array(read.subarray(VNET_LEN));
  const gso = h.gsoType & ~GSO_ECN;
  if (gso === GSO_NONE) {
    if (pkt.length > snap) return 'too-big';
    if (h.flags & NEEDS_CSUM) {
      const at = h.csumStart + h.csumOffset;
      if (at + 2 > pkt.length) return 'bad';
      let c = ~fold16(sum16(pkt, h.csumStart, pkt.length - h.csumStart)) & 0xffff;
      if (c === 0 && h.csumOffset === 6) c = 0xffff;
      w16(pkt, at, c);
    }
    return [pkt];
  }
  const proto = gso === GSO_UDP_L4 ? 17 : gso === GSO_TCPV4 || gso === GSO_TCPV6 ? 6 : -1;
  if (proto < 0 || h.gsoSize === 0) return 'bad';
  const v4 = pkt[0]! >> 4 === 4;
  if ((v4 && gso === GSO_TCPV6) || (!v4 && gso === GSO_TCPV4)) return 'bad';
  const l4 = v4 ? (pkt[0]! & 15) * 4 : h.flags & NEEDS_CSUM ? h.csumStart : 40;
  const ipLen = v4 ? r16(pkt, 2) : 40 + r16(pkt, 4);
  const hl = l4 + (proto === 6 ? (pkt[l4 + 12]! >> 4) * 4 : 8);
  const payload = ipLen - hl;
  if (hl + Math.min(payload, h.gsoSize) > snap) return 'too-big';
  const n = payload === 0 ? 1 : Math.ceil(payload / h.gsoSize);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    const from = hl + i * h.gsoSize;
    const size = Math.min(h.gsoSize, ipLen - from);
    const seg = concat([pkt.subarray(0, hl), pkt.subarray(from, from + size)]);
    if (v4) {
      w16(seg, 2, seg.length);
      w16(seg, 4, (r16(pkt, 4) + i) & 0xffff); // Linux inet_gso_segment: +1 per segment, DF or not
      ipv4Checksum(seg);
    } else {
      w16(seg, 4, seg.length - 40);
    }
    if (proto === 6) {
      w32(seg, l4 + 4, (r32(pkt, l4 + 4) + i * h.gsoSize) >>> 0);
      let fl = pkt[l4 + 13]!;
      if (i < n - 1) fl &= ~(FIN | PSH);
      if (i > 0) fl &= ~CWR;
      seg[l4 + 13] = fl;
    } else {
      w16(seg, l4 + 4, seg.length - l4);
    }
    l4Checksum(seg, l4, proto);
    out.push(seg);
  }
  return out;
}

// ---- reference coalescing ----

interface Seg {
  p: Uint8Array;
  v4: boolean;
  l4: number;
  hl: number;
  pay: number;
  seq: number;
  flags: number;
}

function candidate(p: Uint8Array): Seg | null {
  if (p.length < 40) return null;
  const ver = p[0]! >> 4;
  let l4: number;
  if (ver === 4) {
    if ((p[0]! & 15) !== 5 || r16(p, 2) !== p.length || (r16(p, 6) & 0x3fff) !== 0 || p[9] !== 6) return null;
    l4 = 20;
  } else if (ver === 6) {
    if (p.length < 60 || 40 + r16(p, 4) !== p.length || p[6] !== 6) return null;
    l4 = 40;
  } else {
    return null;
  }
  const hl = l4 + (p[l4 + 12]! >> 4) * 4;
  if (hl < l4 + 20 || hl >= p.length) return null;
  const flags = p[l4 + 13]!;
  if (flags & (SYN | RST | URG) || !(flags & ACK)) return null;
  if (!checksumsValid(p)) return null;
  return { p, v4: ver === 4, l4, hl, pay: p.length - hl, seq: r32(p, l4 + 4), flags };
}

const same = (a: Uint8Array, b: Uint8Array, from: number, to: number): boolean => Buffer.from(a.subarray(from, to)).equals(b.subarray(from, to));

function follows(f: Seg, prev: Seg, q: Seg, total: number): boolean {
  if (q.v4 !== f.v4 || q.hl !== f.hl) return false;
  if (prev.flags & (FIN | PSH)) return false;
  if (prev.pay !== f.pay || q.pay > f.pay || total + q.pay > 65535) return false;
  if (q.seq !== ((prev.seq + prev.pay) >>> 0)) return false;
  const a = f.p;
  const b = q.p;
  if (f.v4) {
    if (!same(a, b, 12, 20) || a[1] !== b[1] || a[8] !== b[8]) return false;
    const df = r16(a, 6) & 0x4000;
    if (df !== (r16(b, 6) & 0x4000)) return false;
    if (!df && r16(b, 4) !== ((r16(prev.p, 4) + 1) & 0xffff)) return false;
  } else if (!same(a, b, 0, 4) || a[7] !== b[7] || !same(a, b, 8, 40)) {
    return false;
  }
  const l4 = f.l4;
  if (!same(a, b, l4, l4 + 4) || !same(a, b, l4 + 8, l4 + 13) || !same(a, b, l4 + 14, l4 + 16) || !same(a, b, l4 + 20, f.hl)) return false;
  return (q.flags & ~(FIN | PSH)) === (f.flags & ~(FIN | PSH | CWR));
}

export interface RefWrite {
  bytes: Uint8Array;
  covers: number;
}

interface Datagram {
  p: Uint8Array;
  v4: boolean;
  l4: number;
  pay: number;
}

/** A UDP datagram that may be merged: no IP options or extension headers, not a fragment, lengths and checksums right. */
function udpCandidate(p: Uint8Array): Datagram | null {
  const ver = p[0]! >> 4;
  let l4: number;
  if (ver === 4) {
    if ((p[0]! & 15) !== 5 || p.length < 29 || r16(p, 2) !== p.length || (r16(p, 6) & 0x3fff) !== 0 || p[9] !== 17) return null;
    if (r16(p, 26) === 0) return null; // "no checksum": the kernel would give each segment one
    l4 = 20;
  } else if (ver === 6) {
    if (p.length < 49 || 40 + r16(p, 4) !== p.length || p[6] !== 17) return null;
    l4 = 40;
  } else {
    return null;
  }
  if (r16(p, l4 + 4) !== p.length - l4 || !checksumsValid(p)) return null;
  return { p, v4: ver === 4, l4, pay: p.length - l4 - 8 };
}

/** UDP GSO: the same 5-tuple and IP header fields, ids + 1 without DF, payloads equal to the first but a shorter last. */
function udpFollows(f: Datagram, prev: Datagram, q: Datagram, total: number): boolean {
  if (q.v4 !== f.v4 || prev.pay !== f.pay || q.pay > f.pay || total + q.pay > 65535) return false;
  const a = f.p;
  const b = q.p;
  if (f.v4) {
    if (!same(a, b, 12, 20) || a[1] !== b[1] || a[8] !== b[8]) return false;
    const df = r16(a, 6) & 0x4000;
    if (df !== (r16(b, 6) & 0x4000)) return false;
    if (!df && r16(b, 4) !== ((r16(prev.p, 4) + 1) & 0xffff)) return false;
  } else if (!same(a, b, 0, 4) || a[7] !== b[7] || !same(a, b, 8, 40)) {
    return false;
  }
  return same(a, b, f.l4, f.l4 + 4);
}

/** A run of >= 2 datagrams from pkts[i] as one UDP_L4 super-packet, or null. */
function udpRun(pkts: readonly Uint8Array[], i: number): RefWrite | null {
  const f = udpCandidate(pkts[i]!);
  if (!f) return null;
  const run = [f];
  let total = f.p.length;
  while (i + run.length < pkts.length && run.length < 64) {
    const q = udpCandidate(pkts[i + run.length]!);
    if (!q || !udpFollows(f, run[run.length - 1]!, q, total)) break;
    run.push(q);
    total += q.pay;
  }
  if (run.length < 2) return null;
  const hl = f.l4 + 8;
  const hdr = new Uint8Array(f.p.subarray(0, hl));
  if (f.v4) {
    w16(hdr, 2, total);
    ipv4Checksum(hdr);
  } else {
    w16(hdr, 4, total - 40);
  }
  w16(hdr, f.l4 + 4, total - f.l4);
  w16(hdr, f.l4 + 6, fold16(pseudo(hdr, 17, total - f.l4)));
  const vnet = vnetBytes({ flags: NEEDS_CSUM, gsoType: GSO_UDP_L4, hdrLen: hl, gsoSize: f.pay, csumStart: f.l4, csumOffset: 6 });
  return { bytes: concat([vnet, hdr, ...run.map((d) => d.p.subarray(hl))]), covers: run.length };
}

/**
 * The writes tunWriteBatchOffload makes for a batch: super-packets and single packets, vnet header first. `udp`:
 * runs of UDP datagrams are merged too (coalesceUdp).
 */
export function refCoalesce(pkts: readonly Uint8Array[], o: { udp?: boolean } = {}): RefWrite[] {
  const maxSegs = 128;
  const out: RefWrite[] = [];
  for (let i = 0; i < pkts.length; ) {
    const u = o.udp === true ? udpRun(pkts, i) : null;
    if (u) {
      out.push(u);
      i += u.covers;
      continue;
    }
    const f = candidate(pkts[i]!);
    const run: Seg[] = [];
    if (f) {
      run.push(f);
      let total = f.p.length;
      while (i + run.length < pkts.length && run.length < maxSegs) {
        const q = candidate(pkts[i + run.length]!);
        if (!q || !follows(f, run[run.length - 1]!, q, total)) break;
        run.push(q);
        total += q.pay;
      }
    }
    if (f && run.length >= 2) {
      const last = run[run.length - 1]!;
      const total = f.hl + run.reduce((a, s) => a + s.pay, 0);
      const hdr = new Uint8Array(f.p.subarray(0, f.hl));
      if (f.v4) {
        w16(hdr, 2, total);
        ipv4Checksum(hdr);
      } else {
        w16(hdr, 4, total - 40);
      }
      hdr[f.l4 + 13] = f.flags | (last.flags & (FIN | PSH));
      w16(hdr, f.l4 + 16, fold16(pseudo(hdr, 6, total - f.l4)));
      const vnet = vnetBytes({
        flags: NEEDS_CSUM,
        gsoType: (f.v4 ? GSO_TCPV4 : GSO_TCPV6) | (f.flags & CWR ? GSO_ECN : 0),
        hdrLen: f.hl,
        gsoSize: f.pay,
        csumStart: f.l4,
        csumOffset: 16,
      });
      out.push({ bytes: concat([vnet, hdr, ...run.map((s) => s.p.subarray(s.hl))]), covers: run.length });
      i += run.length;
    } else {
      out.push({ bytes: concat([new Uint8Array(VNET_LEN), pkts[i]!]), covers: 1 });
      i++;
    }
  }
  return out;
}
