/**
 * The C offload code (native/offload.c) on crafted packets, through its test-only entry points, byte for
 * byte against the TypeScript reference in test/support/tun-offload-ref.ts. No root, no devices.
 */
import * as assert from 'uvu/assert';
import { loadNative, TUN_WRITER_COALESCE, TUN_WRITER_COALESCE_UDP, type SvrNative } from '../../../src/io/tun/native.js';
import { PacketInfo, parsePacket } from '../../../src/packet/ip.js';
import { verifyL4Checksum } from '../../../src/packet/rewrite.js';
import { requires } from '../../support/prerequisites.js';
import { prng } from '../../support/prng.js';
import {
  ACK,
  checksumsValid,
  CWR,
  ECE,
  FIN,
  gsoRead,
  GSO_TCPV4,
  GSO_TCPV6,
  GSO_UDP,
  GSO_UDP_L4,
  NEEDS_CSUM,
  parseVnet,
  partialRead,
  PSH,
  refCoalesce,
  refSegment,
  RST,
  SYN,
  tcpPacket,
  tsOption,
  udpPacket,
  URG,
  VNET_LEN,
  vnetBytes,
  type TcpSpec,
} from '../../support/tun-offload-ref.js';

const test = requires(import.meta.url); // the addon (skipped without it, hooks dropped)
let native: SvrNative;
test.before(() => {
  native = loadNative();
});
const SNAP = 2048;

function bytes(n: number, seed: number): Uint8Array {
  const r = prng(seed);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (r() * 256) | 0;
  return b;
}

/** C segmentation of one read: the segments, or -1 / -2. */
function cSegment(read: Uint8Array, snap = SNAP, perBatch = 1024): Uint8Array[] | number {
  const cap = 1100;
  const out = new Uint8Array(cap * snap);
  const lens = new Uint32Array(cap);
  const n = native.offloadSegmentForTest(read, snap, out, lens, perBatch);
  if (n < 0) return n;
  return Array.from({ length: n }, (_, i) => out.slice(i * snap, i * snap + lens[i]!));
}

function cCoalesce(pkts: readonly Uint8Array[], what = TUN_WRITER_COALESCE): { bytes: Uint8Array; covers: number }[] {
  const data = new Uint8Array(pkts.reduce((a, p) => a + p.length + 3, 0));
  const offsets = new Uint32Array(pkts.length);
  const lengths = new Uint32Array(pkts.length);
  let at = 0;
  pkts.forEach((p, i) => {
    at += 3; // odd offsets: the C code must not assume alignment
    data.set(p, at);
    offsets[i] = at;
    lengths[i] = p.length;
    at += p.length;
  });
  const out = new Uint8Array(at + pkts.length * (VNET_LEN + 2) + 1024);
  const info = new Uint32Array(2 * pkts.length + 2);
  const n = native.offloadCoalesceForTest(data, offsets, lengths, pkts.length, out, info, what);
  const writes: { bytes: Uint8Array; covers: number }[] = [];
  for (let w = 0, o = 0; w < n; w++) {
    writes.push({ bytes: out.slice(o, o + info[2 * w]!), covers: info[2 * w + 1]! });
    o += info[2 * w]!;
  }
  return writes;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function assertSameSegments(c: Uint8Array[] | number, ref: Uint8Array[] | string, what: string): Uint8Array[] {
  assert.ok(Array.isArray(c), `${what}: C refused it (${String(c)})`);
  assert.ok(Array.isArray(ref), `${what}: the reference refused it (${String(ref)})`);
  const cs = c as Uint8Array[];
  const rs = ref as Uint8Array[];
  assert.is(cs.length, rs.length, `${what}: segment count`);
  cs.forEach((s, i) => assert.is(hex(s), hex(rs[i]!), `${what}: segment ${i} byte for byte`));
  return cs;
}

/** Each segment parses, has valid checksums by the project's own verifier, and fits the MTU. */
function assertPlainPackets(segs: Uint8Array[], mtu: number, what: string): void {
  const pi = new PacketInfo();
  segs.forEach((s, i) => {
    assert.is(parsePacket(s, 0, s.length, pi), 0, `${what}: segment ${i} parses`);
    assert.is(pi.end, s.length, `${what}: segment ${i} IP length`);
    assert.ok(verifyL4Checksum(s, pi), `${what}: segment ${i} L4 checksum`);
    assert.ok(checksumsValid(s), `${what}: segment ${i} checksums`);
    assert.ok(s.length <= mtu, `${what}: segment ${i} is ${s.length} > ${mtu}`);
  });
}

const tcpFlagsOf = (s: Uint8Array): number => s[s[0]! >> 4 === 4 ? (s[0]! & 15) * 4 + 13 : 53]!;

test('segments an IPv4 TCP super-packet: seq, ids (wrapping), FIN/PSH on the last only, full checksums', () => {
  const payload = bytes(60_000, 1);
  const sp = tcpPacket({ family: 4, seq: 0xfffff000, flags: ACK | PSH | FIN, id: 0xfffe, payload });
  const read = gsoRead(sp, 1448);
  const segs = assertSameSegments(cSegment(read), refSegment(read, SNAP), 'v4');
  assert.is(segs.length, Math.ceil(60_000 / 1448));
  assertPlainPackets(segs, 1500, 'v4');
  segs.forEach((s, i) => {
    assert.is(tcpFlagsOf(s), i === segs.length - 1 ? ACK | PSH | FIN : ACK, `flags of ${i}`);
    assert.is((s[4]! << 8) | s[5]!, (0xfffe + i) & 0xffff, `IPv4 id of ${i}`);
  });
  assert.is(hex(Buffer.concat(segs.map((s) => s.subarray(40)))), hex(payload), 'payload intact, in order');
});

test('segments with IPv4 options, TCP timestamps, odd sizes and CWR (first segment only)', () => {
  const ipOptions = Uint8Array.of(0x94, 0x04, 0x00, 0x00); // router alert
  const sp = tcpPacket({ family: 4, seq: 1, flags: ACK | CWR | ECE | PSH, ipOptions, options: tsOption(99), df: false, payload: bytes(10_001, 2) });
  const read = gsoRead(sp, 1000, true);
  const segs = assertSameSegments(cSegment(read), refSegment(read, SNAP), 'v4 options');
  assert.is(segs.length, 11);
  assert.is(segs[10]!.length, 24 + 32 + 1, 'a 1-byte last segment');
  segs.forEach((s, i) => assert.is(tcpFlagsOf(s), (i === 0 ? CWR : 0) | ECE | ACK | (i === 10 ? PSH : 0), `flags of ${i}`));
  assertPlainPackets(segs, 1100, 'v4 options');
});

test('segments IPv6 TCP (options), exact multiples, and a payload shorter than gso_size', () => {
  for (const [len, mss] of [
    [30_001, 1220],
    [1220 * 20, 1220],
    [700, 1220],
  ] as const) {
    const sp = tcpPacket({ family: 6, seq: 77, flags: ACK | PSH, options: tsOption(5), payload: bytes(len, len) });
    const read = gsoRead(sp, mss);
    const segs = assertSameSegments(cSegment(read), refSegment(read, SNAP), `v6 ${len}/${mss}`);
    assert.is(segs.length, Math.ceil(len / mss));
    assertPlainPackets(segs, 1500, `v6 ${len}/${mss}`);
    segs.forEach((s, i) => assert.is(tcpFlagsOf(s), i === segs.length - 1 ? ACK | PSH : ACK));
  }
});

test('segments UDP (USO) over IPv4 and IPv6', () => {
  for (const family of [4, 6] as const) {
    const sp = udpPacket({ family, payload: bytes(5000, family) });
    const read = gsoRead(sp, 1200);
    const segs = assertSameSegments(cSegment(read), refSegment(read, SNAP), `udp v${family}`);
    assert.is(segs.length, 5);
    assertPlainPackets(segs, 1500, `udp v${family}`);
  }
});

test('completes partial checksums of packets that are not GSO; leaves complete ones alone', () => {
  const cases = [
    tcpPacket({ family: 4, seq: 9, payload: bytes(999, 3) }),
    tcpPacket({ family: 6, seq: 9, options: tsOption(1), payload: bytes(1001, 4) }),
    udpPacket({ family: 4, payload: bytes(333, 5) }),
    udpPacket({ family: 6, payload: bytes(0, 6) }),
  ];
  for (const [i, pkt] of cases.entries()) {
    const read = partialRead(pkt);
    const segs = assertSameSegments(cSegment(read), refSegment(read, SNAP), `partial ${i}`);
    assert.is(hex(segs[0]!), hex(pkt), `partial ${i}: the complete packet`);
    const plain = new Uint8Array(Buffer.concat([vnetBytes({ flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 }), pkt]));
    assert.is(hex((cSegment(plain) as Uint8Array[])[0]!), hex(pkt), `plain ${i}: copied as is`);
  }
});

test('a super-packet resumes across batches exactly as if it had fitted one', () => {
  const read = gsoRead(tcpPacket({ family: 4, seq: 5, flags: ACK | FIN, payload: bytes(20_000, 7) }), 1448);
  const whole = cSegment(read, SNAP, 1024) as Uint8Array[];
  for (const per of [1, 2, 7]) {
    const parts = cSegment(read, SNAP, per) as Uint8Array[];
    assert.equal(parts.map(hex), whole.map(hex), `perBatch ${per}`);
  }
});

test('malformed or oversized reads are refused (-1 bad, -2 too big)', () => {
  const v4 = tcpPacket({ family: 4, seq: 1, payload: bytes(3000, 8) });
  const v6 = tcpPacket({ family: 6, seq: 1, payload: bytes(3000, 8) });
  const withHdr = (pkt: Uint8Array, h: Partial<Parameters<typeof vnetBytes>[0]>): Uint8Array =>
    new Uint8Array(Buffer.concat([vnetBytes({ flags: NEEDS_CSUM, gsoType: GSO_TCPV4, hdrLen: 40, gsoSize: 1000, csumStart: 20, csumOffset: 16, ...h }), pkt]));
  assert.is(cSegment(withHdr(v4, { gsoSize: 0 })), -1, 'gso_size 0');
  assert.is(cSegment(withHdr(v6, { gsoType: GSO_TCPV4, csumStart: 40 })), -1, 'TCPV4 on an IPv6 packet');
  assert.is(cSegment(withHdr(v4, { gsoType: GSO_TCPV6 })), -1, 'TCPV6 on an IPv4 packet');
  assert.is(cSegment(withHdr(v4, { gsoType: GSO_UDP })), -1, 'UFO is never enabled');
  assert.is(cSegment(withHdr(v4, { csumStart: 24 })), -1, 'csum_start off the TCP header');
  assert.is(cSegment(withHdr(v4.subarray(0, 100), {})), -1, 'IP length beyond the read');
  assert.is(cSegment(withHdr(v4, { gsoSize: 1500 }), 1400), -2, 'a segment larger than the slot');
  assert.is(cSegment(new Uint8Array(Buffer.concat([new Uint8Array(VNET_LEN), v4])), 2048), -2, 'a plain packet larger than the slot');
  assert.is(cSegment(withHdr(v4, { flags: NEEDS_CSUM, gsoType: 0, csumStart: 3039, csumOffset: 16 })), -2, 'partial checksum: too big first');
  assert.is(cSegment(withHdr(v4.subarray(0, 500), { gsoType: 0, csumStart: 490, csumOffset: 16 })), -1, 'csum field beyond the packet');
});

test('fuzz: random IPv4/IPv6 TCP/UDP super-packets match the reference', () => {
  const r = prng(42);
  for (let k = 0; k < 150; k++) {
    const family = r() < 0.5 ? 4 : 6;
    const udp = r() < 0.2;
    const mss = 100 + ((r() * 1400) | 0);
    const len = 1 + ((r() * 60_000) | 0);
    const spec: TcpSpec = {
      family,
      seq: (r() * 2 ** 32) >>> 0,
      id: (r() * 65536) | 0,
      flags: ACK | (r() < 0.5 ? PSH : 0) | (r() < 0.2 ? FIN : 0) | (r() < 0.2 ? CWR : 0),
      options: r() < 0.5 ? tsOption((r() * 2 ** 32) >>> 0) : undefined,
      ipOptions: family === 4 && r() < 0.2 ? Uint8Array.of(1, 1, 1, 0) : undefined,
      df: r() < 0.7,
      payload: bytes(len, k + 100),
    };
    const read = gsoRead(udp ? udpPacket(spec) : tcpPacket(spec), mss, (spec.flags! & CWR) !== 0);
    const segs = assertSameSegments(cSegment(read, SNAP, 1 + ((r() * 64) | 0)), refSegment(read, SNAP), `fuzz ${k}`);
    assertPlainPackets(segs, 80 + mss, `fuzz ${k}`);
  }
});

// ---- coalescing ----

interface Flow {
  family: 4 | 6;
  mss: number;
  options?: Uint8Array;
  sport?: number;
}

/** n consecutive full segments of a flow from seq, the last `lastLen` long, with incrementing ids. */
function segments(f: Flow, n: number, o: { seq?: number; id?: number; lastFlags?: number; lastLen?: number; df?: boolean } = {}): Uint8Array[] {
  const out: Uint8Array[] = [];
  let seq = o.seq ?? 1000;
  for (let i = 0; i < n; i++) {
    const len = i === n - 1 && o.lastLen !== undefined ? o.lastLen : f.mss;
    out.push(
      tcpPacket({
        family: f.family,
        sport: f.sport,
        seq,
        id: ((o.id ?? 100) + i) & 0xffff,
        df: o.df,
        options: f.options,
        flags: i === n - 1 ? (o.lastFlags ?? ACK) : ACK,
        payload: bytes(len, seq),
      }),
    );
    seq = (seq + len) >>> 0;
  }
  return out;
}

function assertSameWrites(pkts: Uint8Array[], what: string): { bytes: Uint8Array; covers: number }[] {
  const c = cCoalesce(pkts);
  const ref = refCoalesce(pkts);
  assert.equal(
    c.map((w) => w.covers),
    ref.map((w) => w.covers),
    `${what}: runs`,
  );
  c.forEach((w, i) => assert.is(hex(w.bytes), hex(ref[i]!.bytes), `${what}: write ${i} byte for byte`));
  return c;
}

test('coalesces a bulk IPv4 run into one super-packet that segments back to the originals', () => {
  const flow: Flow = { family: 4, mss: 1448, options: tsOption(1234) };
  const pkts = segments(flow, 30, { lastFlags: ACK | PSH, lastLen: 700 });
  const w = assertSameWrites(pkts, 'bulk v4');
  assert.is(w.length, 1);
  assert.is(w[0]!.covers, 30);
  const h = parseVnet(w[0]!.bytes);
  assert.equal(h, { flags: NEEDS_CSUM, gsoType: GSO_TCPV4, hdrLen: 52, gsoSize: 1448, csumStart: 20, csumOffset: 16 });
  // the kernel resegments it as our reader does: the result must be the packets we started from
  const back = cSegment(w[0]!.bytes) as Uint8Array[];
  assert.equal(back.map(hex), pkts.map(hex), 'round trip');
});

test('coalesces IPv6 runs; the 64 KB limit splits a long run', () => {
  const flow: Flow = { family: 6, mss: 1428, options: tsOption(9) };
  const pkts = segments(flow, 50);
  const w = assertSameWrites(pkts, 'v6 long');
  const per = Math.floor((65535 - 72) / 1428);
  assert.equal(
    w.map((x) => x.covers),
    [per, 50 - per],
  );
  assert.is(parseVnet(w[0]!.bytes).gsoType, GSO_TCPV6);
  const back = w.flatMap((x) => cSegment(x.bytes) as Uint8Array[]);
  assert.equal(back.map(hex), pkts.map(hex), 'round trip');
});

test('what must not be merged is written alone or ends a run', () => {
  const v4: Flow = { family: 4, mss: 1000, options: tsOption(1) };
  const base = segments(v4, 4);
  const mod = (p: Uint8Array, f: (b: Uint8Array) => void): Uint8Array => {
    const b = new Uint8Array(p);
    f(b);
    return b;
  };
  const refill = (p: Uint8Array, s: Partial<TcpSpec>): Uint8Array => {
    const l4 = 20;
    const seq = ((p[l4 + 4]! << 24) | (p[l4 + 5]! << 16) | (p[l4 + 6]! << 8) | p[l4 + 7]!) >>> 0;
    return tcpPacket({ family: 4, seq, id: (p[4]! << 8) | p[5]!, options: tsOption(1), flags: p[l4 + 13]!, payload: p.slice(52), ...s });
  };
  const cases: [string, Uint8Array[], number[]][] = [
    ['a sequence gap', [base[0]!, base[1]!, base[3]!], [2, 1]],
    ['two flows interleaved', [base[0]!, ...segments({ ...v4, sport: 1 }, 1), base[1]!], [1, 1, 1]],
    ['two flows one after the other', [...segments(v4, 2), ...segments({ ...v4, sport: 2 }, 2)], [2, 2]],
    ['FIN in the middle ends the run', [base[0]!, refill(base[1]!, { flags: ACK | FIN }), base[2]!, base[3]!], [2, 2]],
    ['PSH in the middle ends the run', [base[0]!, refill(base[1]!, { flags: ACK | PSH }), base[2]!], [2, 1]],
    ['CWR starts a new run', [base[0]!, refill(base[1]!, { flags: ACK | CWR }), base[2]!], [1, 2]],
    ['ECE differs', [base[0]!, refill(base[1]!, { flags: ACK | ECE })], [1, 1]],
    ['SYN, RST, URG and a pure ACK are never merged', [
      refill(base[0]!, { flags: ACK | SYN }), refill(base[1]!, { flags: ACK | RST }), refill(base[2]!, { flags: ACK | URG }),
      tcpPacket({ family: 4, seq: 1, payload: new Uint8Array(0) }), tcpPacket({ family: 4, seq: 1, payload: new Uint8Array(0) }),
    ], [1, 1, 1, 1, 1]],
    ['no ACK', [refill(base[0]!, { flags: 0 }), refill(base[1]!, { flags: 0 })], [1, 1]],
    ['a different TTL', [base[0]!, refill(base[1]!, { ttl: 63 })], [1, 1]],
    ['a different TOS', [base[0]!, refill(base[1]!, { tos: 1 })], [1, 1]],
    ['DF differs', [base[0]!, refill(base[1]!, { df: false })], [1, 1]],
    ['no DF: ids must increment', [...segments(v4, 2, { df: false }), refill(segments(v4, 3, { df: false })[2]!, { df: false, id: 7 })], [2, 1]],
    ['DF: any ids', [base[0]!, refill(base[1]!, { id: 7 }), refill(base[2]!, { id: 7 })], [3]],
    ['timestamps differ', [base[0]!, refill(base[1]!, { options: tsOption(2) })], [1, 1]],
    ['options length differs', [base[0]!, refill(base[1]!, { options: Uint8Array.of(1, 1, 1, 1) })], [1, 1]],
    ['a different ack number', [base[0]!, refill(base[1]!, { ack: 5 })], [1, 1]],
    ['a different window', [base[0]!, refill(base[1]!, { window: 9 })], [1, 1]],
    ['a short segment ends the run', [...segments(v4, 2, { lastLen: 10 }), ...segments(v4, 2, { seq: 1000 + 1010 })], [2, 2]],
    ['a longer segment after the first', [segments(v4, 1)[0]!, ...segments({ ...v4, mss: 1200 }, 1, { seq: 2000 })], [1, 1]],
    ['a bad TCP checksum is written alone', [base[0]!, mod(base[1]!, (b) => (b[60] = b[60]! ^ 1)), base[2]!, base[3]!], [1, 1, 2]],
    ['a bad IPv4 header checksum is written alone', [base[0]!, mod(base[1]!, (b) => (b[10] = b[10]! ^ 1)), base[2]!, base[3]!], [1, 1, 2]],
    ['IPv4 options are never merged', [
      tcpPacket({ family: 4, seq: 1, ipOptions: Uint8Array.of(1, 1, 1, 0), payload: bytes(100, 1) }),
      tcpPacket({ family: 4, seq: 101, ipOptions: Uint8Array.of(1, 1, 1, 0), payload: bytes(100, 2) }),
    ], [1, 1]],
    ['UDP is written as is', [udpPacket({ family: 4, payload: bytes(100, 1) }), udpPacket({ family: 4, payload: bytes(100, 1) })], [1, 1]],
    ['IPv4 then IPv6', [segments(v4, 1)[0]!, ...segments({ family: 6, mss: 1000 }, 2, { seq: 2000 })], [1, 2]],
  ];
  for (const [what, pkts, runs] of cases) {
    const w = assertSameWrites(pkts, what);
    assert.equal(
      w.map((x) => x.covers),
      runs,
      what,
    );
    for (const x of w) if (x.covers === 1) assert.is(hex(x.bytes.subarray(0, VNET_LEN)), '00'.repeat(VNET_LEN), `${what}: empty vnet header`);
  }
});

test('FIN/PSH of the last segment and CWR of the first survive on the super-packet', () => {
  const v4: Flow = { family: 4, mss: 500 };
  const pkts = segments(v4, 3, { lastFlags: ACK | PSH | FIN });
  pkts[0] = tcpPacket({ family: 4, seq: 1000, id: 100, flags: ACK | CWR, payload: bytes(500, 1000) });
  const w = assertSameWrites(pkts, 'flags');
  assert.is(w.length, 1);
  assert.is(parseVnet(w[0]!.bytes).gsoType, GSO_TCPV4 | 0x80, 'ECN bit for a CWR run');
  assert.is(w[0]!.bytes[VNET_LEN + 33], ACK | CWR | PSH | FIN);
  const back = cSegment(w[0]!.bytes) as Uint8Array[];
  assert.equal(back.map(hex), pkts.map(hex), 'round trip');
});

test('fuzz: random batches of several flows match the reference and round-trip', () => {
  const r = prng(7);
  for (let k = 0; k < 60; k++) {
    const flows: Flow[] = [0, 1, 2].map((s) => ({ family: r() < 0.5 ? 4 : 6, mss: 200 + ((r() * 1200) | 0), sport: 100 + s, options: r() < 0.5 ? tsOption(s) : undefined }));
    const pkts: Uint8Array[] = [];
    for (let b = 0; b < 8; b++) {
      const f = flows[(r() * 3) | 0]!;
      const n = 1 + ((r() * 12) | 0);
      pkts.push(...segments(f, n, { seq: (r() * 2 ** 32) >>> 0, lastLen: r() < 0.5 ? 1 + ((r() * f.mss) | 0) : undefined, lastFlags: r() < 0.3 ? ACK | PSH : ACK }));
    }
    const w = assertSameWrites(pkts, `fuzz ${k}`);
    assert.is(
      w.reduce((a, x) => a + x.covers, 0),
      pkts.length,
    );
    const back = w.flatMap((x) => (x.covers > 1 ? (cSegment(x.bytes) as Uint8Array[]) : [x.bytes.slice(VNET_LEN)]));
    assert.equal(back.map(hex), pkts.map(hex), `fuzz ${k}: round trip`);
  }
});

// ---- UDP coalescing (coalesceUdp: the WAN's SVR packets) ----

const BOTH = TUN_WRITER_COALESCE | TUN_WRITER_COALESCE_UDP;

/** n datagrams of one 5-tuple with payloads of `size` bytes (the last `lastLen`), ids incrementing from `id`. */
function datagrams(family: 4 | 6, n: number, size: number, o: { id?: number; df?: boolean; lastLen?: number; dport?: number; seed?: number } = {}): Uint8Array[] {
  return Array.from({ length: n }, (_, i) =>
    udpPacket({
      family,
      id: ((o.id ?? 500) + i) & 0xffff,
      df: o.df,
      dport: o.dport,
      payload: bytes(i === n - 1 && o.lastLen !== undefined ? o.lastLen : size, (o.seed ?? 1) * 1000 + i),
    }),
  );
}

function assertSameUdpWrites(pkts: Uint8Array[], what: string): { bytes: Uint8Array; covers: number }[] {
  const c = cCoalesce(pkts, BOTH);
  const ref = refCoalesce(pkts, { udp: true });
  assert.equal(
    c.map((w) => w.covers),
    ref.map((w) => w.covers),
    `${what}: runs`,
  );
  c.forEach((w, i) => assert.is(hex(w.bytes), hex(ref[i]!.bytes), `${what}: write ${i} byte for byte`));
  return c;
}

/** What the kernel (and our reader) makes of the writes: the packets, in order. */
const segmentBack = (w: { bytes: Uint8Array; covers: number }[]): Uint8Array[] =>
  w.flatMap((x) => (x.covers > 1 ? (cSegment(x.bytes) as Uint8Array[]) : [x.bytes.slice(VNET_LEN)]));

test('UDP: golden bytes of a super-packet of three IPv4 datagrams (vnet header, lengths, checksums)', () => {
  const pkts = [0, 1, 2].map((i) => udpPacket({ family: 4, id: 0x0100 + i, sport: 1280, dport: 1281, payload: new Uint8Array(8).fill(0x11 * (i + 1)) }));
  const w = cCoalesce(pkts, BOTH);
  assert.is(w.length, 1);
  assert.is(w[0]!.covers, 3);
  const vnet = '01' + '05' + '1c00' + '0800' + '1400' + '0600'; // NEEDS_CSUM, UDP_L4, hdr_len 28, gso_size 8, csum 20+6 (little endian)
  // IPv4: total 52, id 0x0100, DF, TTL 64, UDP, header checksum, 198.18.1.2 -> 198.18.3.4
  const ip = '45000034' + '01004000' + '4011' + 'a98e' + 'c6120102' + 'c6120304';
  // UDP 1280 -> 1281, length 32, checksum field = folded pseudo-header sum (not inverted): c612+0102+c612+0304+0011+0020
  const udp = '05000501' + '0020' + '905c';
  const payloads = '11'.repeat(8) + '22'.repeat(8) + '33'.repeat(8);
  assert.is(hex(w[0]!.bytes), vnet + ip + udp + payloads);
  assert.is(hex(w[0]!.bytes), hex(refCoalesce(pkts, { udp: true })[0]!.bytes), 'the reference agrees');
  assert.equal(segmentBack(w).map(hex), pkts.map(hex), 'segments back to the originals');
});

test('UDP: runs of SVR-sized datagrams over IPv4 and IPv6 become super-packets that segment back exactly', () => {
  for (const family of [4, 6] as const) {
    const pkts = datagrams(family, 30, 1420, { lastLen: 333 });
    const w = assertSameUdpWrites(pkts, `v${family}`);
    assert.equal(w.map((x) => x.covers), [30]);
    const h = parseVnet(w[0]!.bytes);
    const l4 = family === 4 ? 20 : 40;
    assert.equal(h, { flags: NEEDS_CSUM, gsoType: GSO_UDP_L4, hdrLen: l4 + 8, gsoSize: 1420, csumStart: l4, csumOffset: 6 });
    const back = segmentBack(w);
    assert.equal(back.map(hex), pkts.map(hex), `v${family}: round trip`);
    assertPlainPackets(back, 1500, `v${family}`);
  }
});

test('UDP: the 64 KB and 64-datagram limits split long runs', () => {
  const big = datagrams(4, 100, 1400);
  const per = Math.floor((65535 - 28) / 1400);
  assert.equal(assertSameUdpWrites(big, '64 KB').map((x) => x.covers), [per, per, 100 - 2 * per]);
  const small = datagrams(6, 150, 100);
  assert.equal(assertSameUdpWrites(small, '64 datagrams').map((x) => x.covers), [64, 64, 22]);
  assert.equal(segmentBack(cCoalesce(small, BOTH)).map(hex), small.map(hex), 'round trip');
});

test('UDP: a mixed batch keeps TCP runs, merges each 5-tuple run, and writes the rest alone, in order', () => {
  const tcp = segments({ family: 4, mss: 1000 }, 3);
  const a = datagrams(4, 4, 1200, { dport: 1 });
  const b = datagrams(4, 3, 1200, { dport: 2 });
  const pkts = [...tcp, ...a.slice(0, 2), b[0]!, ...a.slice(2), ...b.slice(1), datagrams(4, 1, 50)[0]!, ...segments({ family: 6, mss: 900 }, 2)];
  const w = assertSameUdpWrites(pkts, 'mixed');
  assert.equal(w.map((x) => x.covers), [3, 2, 1, 2, 2, 1, 2]);
  assert.equal(w.map((x) => parseVnet(x.bytes).gsoType), [GSO_TCPV4, GSO_UDP_L4, 0, GSO_UDP_L4, GSO_UDP_L4, 0, GSO_TCPV6]);
  assert.equal(segmentBack(w).map(hex), pkts.map(hex), 'round trip in order');
  // without the UDP flag (LAN queues) the datagrams are written as they are
  assert.equal(cCoalesce(pkts).map((x) => x.covers), [3, 1, 1, 1, 1, 1, 1, 1, 1, 2]);
});

test('UDP: what must not be merged is written alone or ends a run', () => {
  const base = datagrams(4, 4, 1000);
  const with4 = (p: Uint8Array, s: Partial<TcpSpec>): Uint8Array =>
    udpPacket({ family: 4, id: (p[4]! << 8) | p[5]!, df: (p[6]! & 0x40) !== 0, payload: p.slice(28), ...s });
  const mod = (p: Uint8Array, f: (b: Uint8Array) => void): Uint8Array => {
    const b = new Uint8Array(p);
    f(b);
    return b;
  };
  const v6 = datagrams(6, 3, 1000);
  const cases: [string, Uint8Array[], number[]][] = [
    ['a longer datagram after the first', [base[0]!, with4(base[1]!, { payload: bytes(1001, 9) })], [1, 1]],
    ['a shorter datagram ends the run', [base[0]!, with4(base[1]!, { payload: bytes(999, 9) }), base[2]!, base[3]!], [2, 2]],
    ['another destination address', [base[0]!, with4(base[1]!, { dst: 0x0999 })], [1, 1]],
    ['another source address', [base[0]!, with4(base[1]!, { src: 0x0999 })], [1, 1]],
    ['another destination port', [base[0]!, with4(base[1]!, { dport: 1 })], [1, 1]],
    ['another source port', [base[0]!, with4(base[1]!, { sport: 1 })], [1, 1]],
    ['a different TTL', [base[0]!, with4(base[1]!, { ttl: 63 })], [1, 1]],
    ['a different TOS', [base[0]!, with4(base[1]!, { tos: 2 })], [1, 1]],
    ['DF differs', [base[0]!, with4(base[1]!, { df: false })], [1, 1]],
    ['no DF: ids must increment', [...datagrams(4, 2, 1000, { df: false }), with4(datagrams(4, 3, 1000, { df: false })[2]!, { id: 7 })], [2, 1]],
    ['DF: any ids', [base[0]!, with4(base[1]!, { id: 7 }), with4(base[2]!, { id: 7 })], [3]],
    ['a bad UDP checksum is written alone', [base[0]!, mod(base[1]!, (b) => (b[40] = b[40]! ^ 1)), base[2]!, base[3]!], [1, 1, 2]],
    ['a bad IPv4 header checksum is written alone', [base[0]!, mod(base[1]!, (b) => (b[10] = b[10]! ^ 1)), base[2]!, base[3]!], [1, 1, 2]],
    ['IPv4 UDP checksum 0 (none) is never merged', [mod(base[0]!, (b) => (b[26] = b[27] = 0)), mod(base[1]!, (b) => (b[26] = b[27] = 0))], [1, 1]],
    ['a UDP length that does not match', [base[0]!, mod(base[1]!, (b) => (b[25] = b[25]! - 1)), base[2]!], [1, 1, 1]],
    ['a fragment', [base[0]!, mod(with4(base[1]!, {}), (b) => (b[6] = b[6]! | 0x20)), base[2]!], [1, 1, 1]],
    ['IPv4 options are never merged', [
      udpPacket({ family: 4, ipOptions: Uint8Array.of(1, 1, 1, 0), payload: bytes(100, 1) }),
      udpPacket({ family: 4, ipOptions: Uint8Array.of(1, 1, 1, 0), payload: bytes(100, 2) }),
    ], [1, 1]],
    ['an empty payload', [udpPacket({ family: 4, payload: new Uint8Array(0) }), udpPacket({ family: 4, payload: new Uint8Array(0) })], [1, 1]],
    ['IPv6: another flow label', [v6[0]!, udpPacket({ family: 6, flowLabel: 7, payload: v6[1]!.slice(48) })], [1, 1]],
    ['IPv6: another hop limit', [v6[0]!, udpPacket({ family: 6, ttl: 1, payload: v6[1]!.slice(48) })], [1, 1]],
    ['IPv6: an extension header', [v6[0]!, mod(v6[1]!, (b) => (b[6] = 0)), v6[2]!], [1, 1, 1]],
    ['IPv4 then IPv6', [base[0]!, v6[0]!, v6[1]!], [1, 2]],
  ];
  for (const [what, pkts, runs] of cases) {
    const w = assertSameUdpWrites(pkts, what);
    assert.equal(
      w.map((x) => x.covers),
      runs,
      what,
    );
    for (const x of w) if (x.covers === 1) assert.is(hex(x.bytes.subarray(0, VNET_LEN)), '00'.repeat(VNET_LEN), `${what}: empty vnet header`);
  }
});

test('UDP fuzz: random batches of several 5-tuples and lengths match the reference and round-trip', () => {
  const r = prng(11);
  for (let k = 0; k < 60; k++) {
    const pkts: Uint8Array[] = [];
    // ids go up by one over the whole batch: the kernel numbers segments first id + k, so a merged run (with DF
    // any ids are allowed, RFC 6864) segments back byte for byte
    let id = (r() * 65536) | 0;
    for (let b = 0; b < 10; b++) {
      const family = r() < 0.5 ? 4 : 6;
      const size = 1 + ((r() * 1450) | 0);
      const n = 1 + ((r() * 20) | 0);
      pkts.push(...datagrams(family, n, size, { dport: (r() * 3) | 0, df: r() < 0.8, id, seed: k * 100 + b, lastLen: r() < 0.4 ? 1 + ((r() * size) | 0) : undefined }));
      id += n;
    }
    const w = assertSameUdpWrites(pkts, `fuzz ${k}`);
    assert.is(
      w.reduce((a, x) => a + x.covers, 0),
      pkts.length,
    );
    assert.equal(segmentBack(w).map(hex), pkts.map(hex), `fuzz ${k}: round trip`);
  }
});

test.run();
