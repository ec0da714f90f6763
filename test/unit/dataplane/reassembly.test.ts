import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { Batch, PF_REASSEMBLED, SLOT_PACKET } from '../../../src/dataplane/batch.js';
import { Fragment, MAX_DATAGRAM, PAGE, REASSEMBLY_ENTRIES, REASSEMBLY_TIMEOUT_MS, Reassembly } from '../../../src/dataplane/reassembly.js';
import { buildUdp } from '../../../src/packet/build.js';
import { finish, readU16, sumBytes } from '../../../src/packet/checksum.js';
import { PacketInfo, ParseError, parsePacket } from '../../../src/packet/ip.js';
import { writeIpv4Fragment } from '../../../src/packet/ipv4-fragment.js';
import { writeIpv6Fragment } from '../../../src/packet/ipv6-fragment.js';
import { fillIpv4HeaderChecksum } from '../../../src/packet/rewrite.js';

const SRC = Uint8Array.of(198, 18, 12, 1);
const DST = Uint8Array.of(198, 18, 12, 2);

/** A UDP packet of `total` bytes without DF (payload bytes i * 7 & 0xff) with IP id `id`. */
function udp(total: number, id = 1): Uint8Array {
  const payload = Uint8Array.from({ length: total - 28 }, (_, i) => (i * 7) & 0xff);
  const p = buildUdp({ src: SRC, dst: DST, srcPort: 16384, dstPort: 16385, payload, id });
  p[6] = 0;
  fillIpv4HeaderChecksum(p, 0);
  return p;
}

/** Its fragments for `mtu`, as the sending router writes them (id kept). */
function fragments(p: Uint8Array, mtu: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  for (let j = 0; ; j++) {
    const n = writeIpv4Fragment(p, 0, p.length, mtu, j, readU16(p, 4), buf, 0);
    out.push(buf.slice(0, n));
    if ((readU16(buf, 6) & 0x2000) === 0) return out;
  }
}

/** Feeds fragments one per batch slot; returns the results and the batch. */
function feed(r: Reassembly, frags: Uint8Array[], now = 0, ifIndex = 1): { results: Fragment[]; b: Batch; last: number } {
  const b = new Batch();
  const results: Fragment[] = [];
  frags.forEach((f, k) => {
    b.fill(ifIndex, f, Uint32Array.of(0), Uint32Array.of(f.length), 0, 1);
    const pi = b.info[k]!;
    assert.is(parsePacket(b.data, b.off[k]!, b.len[k]!, pi), ParseError.None);
    results.push(r.add(b, k, pi, now));
  });
  return { results, b, last: frags.length - 1 };
}

const packetIn = (b: Batch, s: number): Uint8Array => b.data.slice(b.off[s]!, b.off[s]! + b.len[s]!);

test('in order and out of order: the packet comes back byte for byte (flags/offset 0, header checksum valid) in the last fragment\'s slot', () => {
  const p = udp(1800);
  for (const order of [[0, 1], [1, 0]]) {
    const r = new Reassembly();
    const frags = fragments(p, 1280);
    const { results, b, last } = feed(r, order.map((i) => frags[i]!));
    assert.equal(results, [Fragment.Held, Fragment.Complete]);
    const got = packetIn(b, last);
    assert.is(got.length, 1800);
    assert.is(finish(sumBytes(got, 0, 20, 0)), 0);
    assert.ok(Buffer.from(got).equals(p), `order ${order.join(',')}`);
    const pi = new PacketInfo();
    assert.is(parsePacket(got, 0, got.length, pi), ParseError.None);
    assert.is(pi.fragment, 0);
    assert.equal([...r.dropped], [0, 0, 0, 0, 0]);
  }
});

test('three fragments, two packets interleaved (ids differ): both complete', () => {
  const r = new Reassembly();
  const a = fragments(udp(2000, 10), 700);
  const c = fragments(udp(1500, 11), 700);
  assert.is(a.length, 3);
  const { results, b } = feed(r, [a[2]!, c[0]!, a[0]!, c[2]!, c[1]!, a[1]!]);
  assert.equal(results, [Fragment.Held, Fragment.Held, Fragment.Held, Fragment.Held, Fragment.Complete, Fragment.Complete]);
  assert.ok(Buffer.from(packetIn(b, 4)).equals(udp(1500, 11)));
  assert.ok(Buffer.from(packetIn(b, 5)).equals(udp(2000, 10)));
});

test('bad input: an overlap or a second last fragment drops the packet with what was held; too big, ragged and past-the-end fragments are dropped', () => {
  const p = udp(1800);
  const [f0, f1] = fragments(p, 1280);
  let r = new Reassembly();
  assert.equal(feed(r, [f0!, f0!]).results, [Fragment.Held, Fragment.Overlap]);
  assert.equal([...r.dropped], [2, 0, 0, 0, 0], 'both fragments counted');
  assert.equal(feed(r, [f1!]).results, [Fragment.Held], 'a fresh start for the packet');
  r = new Reassembly();
  assert.equal(feed(r, [f1!, f1!]).results, [Fragment.Held, Fragment.Overlap], 'a second last fragment');
  r = new Reassembly();
  const tooBig = f1!.slice();
  tooBig[6] = 0x1f; // offset 8190 blocks = 65,520 bytes: with its 20-byte header and 540 bytes, past 65,535
  tooBig[7] = 0xfe;
  assert.equal(feed(r, [tooBig]).results, [Fragment.TooBig]);
  assert.ok(MAX_DATAGRAM === 65535);
  const ragged = f0!.slice(0, 1001);
  ragged[2] = 1001 >> 8;
  ragged[3] = 1001 & 0xff;
  assert.equal(feed(r, [ragged]).results, [Fragment.Malformed], 'a non-last fragment of 981 bytes (not a multiple of 8)');
  r = new Reassembly();
  const shortLast = f1!.slice(0, 100);
  shortLast[2] = 0;
  shortLast[3] = 100;
  const beyond = f0!.slice();
  beyond[6] = 0x20;
  beyond[7] = 0x20; // MF, offset 32 blocks: runs past the end the last fragment gave
  assert.equal(feed(r, [shortLast, beyond]).results, [Fragment.Held, Fragment.Malformed]);
  assert.equal([...r.dropped], [0, 0, 2, 0, 0], 'the held last fragment and the one past the end');
});

test(`expiry: a packet not complete after ${REASSEMBLY_TIMEOUT_MS} ms is dropped; when all ${REASSEMBLY_ENTRIES} entries are busy the oldest goes`, () => {
  const r = new Reassembly();
  const [a0, a1] = fragments(udp(1800, 1), 1280);
  feed(r, [a0!], 0);
  assert.equal(feed(r, [a1!], REASSEMBLY_TIMEOUT_MS + 1).results, [Fragment.Held], 'the first fragment expired: the last starts over');
  assert.equal([...r.dropped], [0, 0, 0, 1, 0]);
  const r2 = new Reassembly();
  for (let id = 1; id <= REASSEMBLY_ENTRIES + 1; id++) feed(r2, [fragments(udp(1800, id), 1280)[0]!], id);
  assert.equal([...r2.dropped], [0, 0, 0, 1, 0], 'one entry (the oldest, id 1) made room');
  assert.equal(feed(r2, [fragments(udp(1800, 2), 1280)[1]!], 100).results, [Fragment.Complete], 'id 2 was kept');
  assert.equal(feed(r2, [fragments(udp(1800, 1), 1280)[1]!], 100).results, [Fragment.Held], 'id 1 was not');
});

test('fragments of the same id on another interface are another packet', () => {
  const r = new Reassembly();
  const [f0, f1] = fragments(udp(1800), 1280);
  feed(r, [f0!], 0, 1);
  assert.equal(feed(r, [f1!], 0, 2).results, [Fragment.Held]);
  assert.equal(feed(r, [f1!], 0, 1).results, [Fragment.Complete]);
});

const SRC6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x10]);
const DST6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0x20]);

/** An IPv6 UDP packet of `total` bytes (payload bytes i * 11 & 0xff). */
function udp6(total: number): Uint8Array {
  const payload = Uint8Array.from({ length: total - 48 }, (_, i) => (i * 11) & 0xff);
  return buildUdp({ src: SRC6, dst: DST6, srcPort: 40000, dstPort: 7, payload });
}

/** Its IPv6 fragments for `mtu` with id `id`, as a host writes them. */
function fragments6(p: Uint8Array, mtu: number, id: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const buf = new Uint8Array(65536);
  for (let j = 0; ; j++) {
    const n = writeIpv6Fragment(p, 0, p.length, mtu, j, id, buf, 0);
    out.push(buf.slice(0, n));
    if ((buf[43]! & 1) === 0) return out;
  }
}

/** The fragment with a destination options header (8 bytes of PadN) in front of its Fragment header. */
function withDestOptions(f: Uint8Array): Uint8Array {
  const g = new Uint8Array(f.length + 8);
  g.set(f.subarray(0, 40));
  g[6] = 60;
  g[40] = 44; // next: the Fragment header
  g[41] = 0;
  g[42] = 1; // PadN, 4 bytes
  g[43] = 4;
  g.set(f.subarray(40), 48);
  g[4] = (f.length - 40 + 8) >> 8;
  g[5] = (f.length - 40 + 8) & 0xff;
  return g;
}

test('3,000-byte IPv4 datagram a host fragmented for 1500: whole again in the batch\'s big area, flagged PF_REASSEMBLED', () => {
  const p = udp(3000, 77);
  const frags = fragments(p, 1500);
  assert.is(frags.length, 3);
  const r = new Reassembly();
  const { results, b, last } = feed(r, [frags[1]!, frags[2]!, frags[0]!]);
  assert.equal(results, [Fragment.Held, Fragment.Held, Fragment.Complete]);
  assert.ok(Buffer.from(packetIn(b, last)).equals(p));
  assert.ok(b.off[last]! > b.slotEnd(last - 1), 'in the big area');
  assert.ok(b.slotEnd(last) - b.off[last]! - b.len[last]! >= 512, 'with tailroom');
  assert.ok((b.flags[last]! & PF_REASSEMBLED) !== 0);
  assert.is(r.freePages, r.poolBytes / PAGE, 'every page back in the pool');
});

test('65,535 bytes is the longest: 45 fragments of a 65,535-byte datagram come back whole; 8 bytes more are too big', () => {
  const p = udp(65535, 9);
  const frags = fragments(p, 1500);
  assert.is(frags.length, 45);
  const r = new Reassembly();
  const { results, b, last } = feed(r, frags.reverse());
  assert.is(results[last], Fragment.Complete);
  assert.ok(Buffer.from(packetIn(b, last)).equals(p));
  const over = frags[0]!.slice(); // the last fragment (reversed): 8 blocks further
  const at = (over[6]! << 8 | over[7]!) + 1;
  over[6] = at >> 8;
  over[7] = at & 0xff;
  fillIpv4HeaderChecksum(over, 0);
  assert.equal(feed(r, [over]).results, [Fragment.TooBig]);
});

test('IPv6 (RFC 8200 §4.5): in and out of order, with a destination options header in front of the Fragment header: the packet comes back without the Fragment header', () => {
  const p = udp6(3000);
  const frags = fragments6(p, 1500, 0x01020304);
  assert.is(frags.length, 3);
  for (const order of [[0, 1, 2], [2, 0, 1]]) {
    const r = new Reassembly();
    const { results, b, last } = feed(r, order.map((i) => frags[i]!));
    assert.equal(results, [Fragment.Held, Fragment.Held, Fragment.Complete]);
    assert.ok(Buffer.from(packetIn(b, last)).equals(p), `order ${order.join(',')}`);
  }
  const r = new Reassembly();
  const { results, b, last } = feed(r, frags.map(withDestOptions));
  assert.equal(results, [Fragment.Held, Fragment.Held, Fragment.Complete]);
  const got = packetIn(b, last);
  assert.is(got.length, 3008);
  assert.is(got[6], 60, 'the destination options header stays');
  assert.is(got[40], 17, 'and now names UDP');
  assert.is(readU16(got, 4), 2968);
  const pi = new PacketInfo();
  assert.is(parsePacket(got, 0, got.length, pi), ParseError.None);
  assert.equal([pi.protocol, pi.dstPort, pi.fragment, pi.end - pi.payload], [17, 7, 0, 2952]);
});

test('IPv6 bad input: an overlap drops the packet (RFC 5722); ids and addresses keep packets apart; a Fragment header behind a routing-less chain is found, behind UDP it is not a fragment', () => {
  const p = udp6(3000);
  const [f0, f1, f2] = fragments6(p, 1500, 5);
  let r = new Reassembly();
  const overlapping = f1!.slice();
  overlapping[42] = (1448 - 8) >> 8; // offset 1440: overlaps the first fragment's last 8 bytes
  overlapping[43] = ((1448 - 8) & 0xf8) | 1;
  assert.equal(feed(r, [f0!, overlapping]).results, [Fragment.Held, Fragment.Overlap]);
  assert.equal([...r.dropped], [2, 0, 0, 0, 0]);
  r = new Reassembly();
  const other = fragments6(p, 1500, 6);
  assert.equal(feed(r, [f0!, other[1]!, other[2]!, f1!, other[0]!, f2!]).results,
    [Fragment.Held, Fragment.Held, Fragment.Held, Fragment.Held, Fragment.Complete, Fragment.Complete]);
  const ragged = f0!.slice(0, 1001);
  ragged[4] = (1001 - 40) >> 8;
  ragged[5] = (1001 - 40) & 0xff;
  assert.equal(feed(new Reassembly(), [ragged]).results, [Fragment.Malformed], 'a non-last fragment of 953 bytes');
});

test('the pool: a packet that finds no page left is dropped and counted (fragment-no-memory), pages come back; configure resizes', () => {
  const r = new Reassembly(64 * 1024); // 32 pages: one 65,535-byte datagram at a time
  const big = fragments(udp(65535, 1), 1500);
  const small = fragments(udp(3000, 2), 1500);
  feed(r, big.slice(0, 42)); // 62,160 bytes: 31 pages
  assert.is(r.freePages, 1);
  assert.equal(feed(r, [small[0]!, small[1]!]).results, [Fragment.Held, Fragment.NoMemory], '1,480 + 1,480 bytes need 2 pages');
  assert.equal([...r.dropped], [0, 0, 0, 0, 2]);
  assert.equal(feed(r, big.slice(42)).results, [Fragment.Held, Fragment.Held, Fragment.Complete], 'the packet that had its pages goes on');
  assert.is(r.freePages, 32);
  r.configure(2 * 1024 * 1024);
  assert.is(r.freePages, 1024);
  assert.is(r.poolBytes, 2 * 1024 * 1024);
});

test('a batch whose big area is full: the completing fragment\'s packet is dropped (fragment-no-memory)', () => {
  const r = new Reassembly(8 << 20);
  const b = new Batch();
  let complete = 0, noRoom = 0;
  for (let id = 1; id <= 3; id++) {
    for (const f of fragments(udp(65535, id), 1500)) {
      const k = b.count;
      b.fill(1, f, Uint32Array.of(0), Uint32Array.of(f.length), 0, 1);
      const pi = b.info[k]!;
      parsePacket(b.data, b.off[k]!, b.len[k]!, pi);
      const got = r.add(b, k, pi, 0);
      if (got === Fragment.Complete) complete++;
      if (got === Fragment.NoMemory) noRoom++;
    }
  }
  assert.equal([complete, noRoom], [2, 1], 'two 65,535-byte packets fit a batch\'s big area');
  assert.is(r.dropped[Fragment.NoMemory], 45);
  assert.ok(SLOT_PACKET === 2048);
});

test.run();
