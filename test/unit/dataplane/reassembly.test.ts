import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { Batch } from '../../../src/dataplane/batch.js';
import { Fragment, MAX_PACKET, REASSEMBLY_ENTRIES, REASSEMBLY_TIMEOUT_MS, Reassembly } from '../../../src/dataplane/reassembly.js';
import { buildUdp } from '../../../src/packet/build.js';
import { finish, readU16, sumBytes } from '../../../src/packet/checksum.js';
import { PacketInfo, ParseError, parsePacket } from '../../../src/packet/ip.js';
import { writeIpv4Fragment } from '../../../src/packet/ipv4-fragment.js';
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
  const buf = new Uint8Array(2048);
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
    assert.equal([...r.dropped], [0, 0, 0, 0]);
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
  assert.equal([...r.dropped], [2, 0, 0, 0], 'both fragments counted');
  assert.equal(feed(r, [f1!]).results, [Fragment.Held], 'a fresh start for the packet');
  r = new Reassembly();
  assert.equal(feed(r, [f1!, f1!]).results, [Fragment.Held, Fragment.Overlap], 'a second last fragment');
  r = new Reassembly();
  const tooBig = f1!.slice();
  tooBig[6] = 0x01; // offset 256 blocks = 2048 bytes
  tooBig[7] = 0x00;
  assert.equal(feed(r, [tooBig]).results, [Fragment.TooBig]);
  assert.ok(MAX_PACKET === 2048);
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
  assert.equal([...r.dropped], [0, 0, 2, 0], 'the held last fragment and the one past the end');
});

test(`expiry: a packet not complete after ${REASSEMBLY_TIMEOUT_MS} ms is dropped; when all ${REASSEMBLY_ENTRIES} entries are busy the oldest goes`, () => {
  const r = new Reassembly();
  const [a0, a1] = fragments(udp(1800, 1), 1280);
  feed(r, [a0!], 0);
  assert.equal(feed(r, [a1!], REASSEMBLY_TIMEOUT_MS + 1).results, [Fragment.Held], 'the first fragment expired: the last starts over');
  assert.equal([...r.dropped], [0, 0, 0, 1]);
  const r2 = new Reassembly();
  for (let id = 1; id <= REASSEMBLY_ENTRIES + 1; id++) feed(r2, [fragments(udp(1800, id), 1280)[0]!], id);
  assert.equal([...r2.dropped], [0, 0, 0, 1], 'one entry (the oldest, id 1) made room');
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

test.run();
