import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isSvrError } from '../../../src/errors.js';
import { parseAddress } from '../../../src/packet/addr.js';
import { buildUdp } from '../../../src/packet/build.js';
import { parseCapture, type CaptureRecord } from '../../../src/io/pcap.js';
import { ByteWriter, concat, epb, ethernet, idb, isb, shb, sll2, spb } from './fixtures.js';

const ip = buildUdp({ src: parseAddress('203.0.113.10')!.bytes, dst: parseAddress('198.51.100.20')!.bytes, srcPort: 16386, dstPort: 16387, payload: Uint8Array.of(9, 9, 9) });
const ip6 = buildUdp({ src: parseAddress('2001:db8::1')!.bytes, dst: parseAddress('2001:db8::2')!.bytes, srcPort: 1, dstPort: 2 });

function all(bytes: Uint8Array): CaptureRecord[] {
  return [...parseCapture(bytes, 'cap.pcapng')];
}

function hex(b: Uint8Array | null): string {
  return b === null ? 'null' : Buffer.from(b).toString('hex');
}

for (const le of [true, false]) {
  const order = le ? 'little-endian' : 'big-endian';

  test(`pcapng ${order}: SHB, two interfaces, EPB, SPB, skipped ISB`, () => {
    const file = concat(
      shb(le),
      idb(le, 1, 9), // Ethernet, nanosecond timestamps
      idb(le, 276), // SLL2, default microseconds
      epb(le, 0, 1_700_000_000_123_456_789n, ethernet(0x0800, ip)),
      isb(le, 0),
      epb(le, 1, 1_700_000_000_500_000n, sll2(0x86dd, ip6)),
      epb(le, 0, 1_700_000_001_000_000_000n, ethernet(0x0806, new Uint8Array(28))),
      spb(le, ethernet(0x0800, ip)),
    );
    const recs = all(file);
    assert.equal(recs.map((r) => r.frame), [1, 2, 3, 4]);
    assert.is(hex(recs[0]!.ip), hex(ip));
    assert.ok(Math.abs(recs[0]!.timeMs - 1_700_000_000_123.456789) < 1e-3, String(recs[0]!.timeMs));
    assert.is(recs[0]!.linkType, 1);
    assert.is(hex(recs[1]!.ip), hex(ip6));
    assert.is(recs[1]!.timeMs, 1_700_000_000_500);
    assert.is(recs[1]!.linkType, 276);
    assert.is(recs[2]!.ip, null);
    assert.is(recs[2]!.note, 'non-IP ethertype 0x0806 (ARP)');
    assert.is(hex(recs[3]!.ip), hex(ip), 'simple packet block on interface 0');
    assert.ok(Number.isNaN(recs[3]!.timeMs), 'SPB has no timestamp');
  });

  test(`pcapng ${order}: truncated last block is reported`, () => {
    const file = concat(shb(le), idb(le, 101), epb(le, 0, 0n, ip), epb(le, 0, 0n, ip));
    const recs = all(file.subarray(0, file.length - 8));
    assert.is(recs.length, 2);
    assert.is(hex(recs[0]!.ip), hex(ip));
    assert.ok(recs[1]!.truncated);
    assert.match(recs[1]!.note!, /^truncated capture: packet block at offset \d+ needs \d+ bytes/);
  });

  test(`pcapng ${order}: if_tsresol as a power of two`, () => {
    const recs = all(concat(shb(le), idb(le, 101, 0x80 | 10), epb(le, 0, 1024n * 5n + 512n, ip)));
    assert.is(recs[0]!.timeMs, 5500);
  });
}

test('pcapng: a second section may switch byte order', () => {
  const recs = all(concat(shb(true), idb(true, 101), epb(true, 0, 1_000_000n, ip), shb(false), idb(false, 101), epb(false, 0, 2_000_000n, ip6)));
  assert.equal(recs.map((r) => [r.frame, r.timeMs, hex(r.ip)]), [[1, 1000, hex(ip)], [2, 2000, hex(ip6)]]);
});

test('pcapng: broken files throw SVR_ERR_PCAP_FORMAT with the offset', () => {
  const good = concat(shb(true), idb(true, 101), epb(true, 0, 0n, ip));
  const badTrailer = good.slice();
  badTrailer[badTrailer.length - 4] ^= 0x04; // trailing length of the EPB
  const badBom = good.slice();
  badBom[8] = 0x99;
  const noIface = concat(shb(true), epb(true, 0, 0n, ip));
  const oddLength = concat(shb(true), new ByteWriter(true).u32(1).u32(13).u32(0).bytes());
  const cases: Array<[Uint8Array, RegExp]> = [
    [badTrailer, /^cap\.pcapng: offset \d+: block trailer length \d+ differs from header length \d+$/],
    [badBom, /^cap\.pcapng: offset 8: section header has byte-order magic/],
    [noIface, /^cap\.pcapng: offset 36: packet refers to interface 0, only 0 described$/],
    [oddLength, /^cap\.pcapng: offset 32: block length 13 is not a multiple of 4/],
  ];
  for (const [bytes, re] of cases) {
    try {
      all(bytes);
      assert.unreachable(`no error for ${re}`);
    } catch (e) {
      assert.ok(isSvrError(e, 'SVR_ERR_PCAP_FORMAT'), String(e));
      assert.match((e as Error).message, re);
    }
  }
});

test.run();
