import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isSvrError } from '../../../src/errors.js';
import { parseAddress } from '../../../src/packet/addr.js';
import { buildTcp, buildUdp } from '../../../src/packet/build.js';
import { TCP_SYN } from '../../../src/packet/ip.js';
import { parseCapture, PcapWriter, readCapture, type CaptureRecord } from '../../../src/io/pcap.js';
import { ethernet, pcapFile, sll, sll2, ByteWriter } from './fixtures.js';

const v4 = buildUdp({ src: parseAddress('10.1.1.10')!.bytes, dst: parseAddress('10.2.2.20')!.bytes, srcPort: 50000, dstPort: 6000, payload: Uint8Array.of(1, 2, 3) });
const v6 = buildTcp({ src: parseAddress('2001:db8:1::10')!.bytes, dst: parseAddress('2001:db8:2::20')!.bytes, srcPort: 41000, dstPort: 443, seq: 1, flags: TCP_SYN });
const ARP = Uint8Array.of(0, 1, 8, 0, 6, 4, 0, 1, ...new Array<number>(20).fill(0));

function all(bytes: Uint8Array, name = 'fixture.pcap'): CaptureRecord[] {
  return [...parseCapture(bytes, name)];
}

function hex(b: Uint8Array | null): string {
  return b === null ? 'null' : Buffer.from(b).toString('hex');
}

for (const le of [true, false]) {
  const order = le ? 'little-endian' : 'big-endian';

  test(`classic pcap, ${order}, microseconds, raw IP`, () => {
    const recs = all(pcapFile(le, false, 101, [
      { sec: 1_700_000_000, frac: 250_500, data: v4 },
      { sec: 1_700_000_001, frac: 0, data: v6 },
    ]));
    assert.is(recs.length, 2);
    assert.equal(recs.map((r) => r.frame), [1, 2]);
    assert.is(recs[0]!.timeMs, 1_700_000_000_250.5);
    assert.is(recs[1]!.timeMs, 1_700_000_001_000);
    assert.is(hex(recs[0]!.ip), hex(v4));
    assert.is(hex(recs[1]!.ip), hex(v6));
    assert.is(recs[0]!.linkType, 101);
    assert.is(recs[0]!.note, undefined);
    assert.is(recs[0]!.originalLength, v4.length);
  });

  test(`classic pcap, ${order}, nanoseconds`, () => {
    const recs = all(pcapFile(le, true, 101, [{ sec: 10, frac: 123_456_789, data: v4 }]));
    assert.ok(Math.abs(recs[0]!.timeMs - 10_123.456789) < 1e-6, String(recs[0]!.timeMs));
  });

  test(`Ethernet with 0, 1 and 2 VLAN tags, and ARP, ${order}`, () => {
    const recs = all(pcapFile(le, false, 1, [
      { sec: 1, frac: 0, data: ethernet(0x0800, v4) },
      { sec: 1, frac: 1, data: ethernet(0x86dd, v6, [[0x8100, 10]]) },
      { sec: 1, frac: 2, data: ethernet(0x0800, v4, [[0x88a8, 100], [0x8100, 20]]) },
      { sec: 1, frac: 3, data: ethernet(0x0806, ARP) },
      { sec: 1, frac: 4, data: ethernet(0x0800, v4, [[0x8100, 1], [0x8100, 2], [0x8100, 3]]) },
      { sec: 1, frac: 5, data: ethernet(0x86dd, v4) },
    ]));
    assert.is(hex(recs[0]!.ip), hex(v4));
    assert.is(hex(recs[1]!.ip), hex(v6));
    assert.is(hex(recs[2]!.ip), hex(v4));
    assert.is(recs[3]!.ip, null);
    assert.is(recs[3]!.note, 'non-IP ethertype 0x0806 (ARP)');
    assert.is(recs[4]!.ip, null);
    assert.is(recs[4]!.note, 'more than 2 VLAN tags');
    assert.is(recs[5]!.ip, null);
    assert.is(recs[5]!.note, 'link header says IPv6, packet says IPv4');
  });

  test(`Linux cooked SLL (113) and SLL2 (276), ${order}`, () => {
    const a = all(pcapFile(le, false, 113, [{ sec: 2, frac: 0, data: sll(0x0800, v4) }, { sec: 2, frac: 0, data: sll(0x0806, ARP) }]));
    assert.is(hex(a[0]!.ip), hex(v4));
    assert.is(a[1]!.note, 'non-IP ethertype 0x0806 (ARP)');
    const b = all(pcapFile(le, false, 276, [{ sec: 2, frac: 0, data: sll2(0x86dd, v6) }, { sec: 2, frac: 0, data: sll2(0x8100, new ByteWriter(false).u16(5).u16(0x0800).raw(v4).bytes()) }]));
    assert.is(hex(b[0]!.ip), hex(v6));
    assert.is(hex(b[1]!.ip), hex(v4), 'VLAN tag left in an SLL2 frame');
  });

  test(`legacy raw IP link types 12 and 14, loopback 0 and 108, ${order}`, () => {
    for (const lt of [12, 14]) {
      assert.is(hex(all(pcapFile(le, false, lt, [{ sec: 0, frac: 0, data: v6 }]))[0]!.ip), hex(v6), `link type ${lt}`);
    }
    const nullV4 = new ByteWriter(le).u32(2).raw(v4).bytes(); // family in the capturing host's byte order
    const nullV6 = new ByteWriter(le).u32(30).raw(v6).bytes();
    const loop = all(pcapFile(le, false, 0, [{ sec: 0, frac: 0, data: nullV4 }, { sec: 0, frac: 0, data: nullV6 }]));
    assert.is(hex(loop[0]!.ip), hex(v4));
    assert.is(hex(loop[1]!.ip), hex(v6));
    const openbsd = all(pcapFile(le, false, 108, [{ sec: 0, frac: 0, data: new ByteWriter(false).u32(24).raw(v6).bytes() }]));
    assert.is(hex(openbsd[0]!.ip), hex(v6));
  });

  test(`truncated last record is reported, ${order}`, () => {
    const file = pcapFile(le, false, 101, [{ sec: 1, frac: 0, data: v4 }, { sec: 2, frac: 0, data: v6 }]);
    const cut = all(file.subarray(0, file.length - 10));
    assert.is(cut.length, 2);
    assert.is(hex(cut[0]!.ip), hex(v4));
    assert.is(cut[1]!.ip, null);
    assert.ok(cut[1]!.truncated);
    const second = 24 + 16 + v4.length;
    assert.is(cut[1]!.note, `truncated capture: record 2 at offset ${second} needs ${v6.length} bytes, file has ${v6.length - 10}`);
    const cutHeader = all(file.subarray(0, second + 5));
    assert.is(cutHeader[1]!.note, `truncated capture: record header at offset ${second} needs 16 bytes, file has 5`);
  });
}

test('non-IP and unsupported link types give a note, not an error', () => {
  const recs = all(pcapFile(true, false, 105, [{ sec: 0, frac: 0, data: v4 }]));
  assert.is(recs[0]!.ip, null);
  assert.is(recs[0]!.note, 'unsupported link type 105');
  const garbage = all(pcapFile(true, false, 101, [{ sec: 0, frac: 0, data: Uint8Array.of(0x21, 0, 0) }]));
  assert.is(garbage[0]!.note, 'not an IP packet (version nibble 2)');
});

test('bad files throw SVR_ERR_PCAP_FORMAT naming the file, the offset and the problem', () => {
  const cases: Array<[Uint8Array, RegExp]> = [
    [new TextEncoder().encode('hello, this is text, not a capture'), /^notes\.txt: offset 0: magic 68656c6c is neither pcap/],
    [Uint8Array.of(1, 2), /^notes\.txt: offset 0: file is 2 bytes long/],
    [pcapFile(true, false, 101, []).subarray(0, 20), /offset 0: pcap file header needs 24 bytes, file has 20/],
    [(() => { const f = pcapFile(true, false, 101, []); f[4] = 3; return f; })(), /offset 4: pcap version 3\.4, expected 2\.4/],
    [new ByteWriter(true).raw(pcapFile(true, false, 101, [])).u32(0).u32(0).u32(0x7fffffff).u32(10).bytes(), /offset 32: record 1 claims 2147483647 captured bytes/],
  ];
  for (const [bytes, re] of cases) {
    try {
      all(bytes, 'notes.txt');
      assert.unreachable(`no error for ${re}`);
    } catch (e) {
      assert.ok(isSvrError(e, 'SVR_ERR_PCAP_FORMAT'), String(e));
      assert.match((e as Error).message, re);
    }
  }
});

test('PcapWriter round trip: raw IP, microsecond times, snaplen cut noted', () => {
  const dir = mkdtempSync(join(tmpdir(), 'svr-pcap-'));
  try {
    const path = join(dir, 'out.pcap');
    const w = new PcapWriter(path);
    w.write(v4, 1_700_000_000_123.456);
    w.write(v6, 1_700_000_000_999.9996); // rounds up into the next second
    w.close();
    assert.is(w.packets, 2);
    const recs = [...readCapture(path)];
    assert.equal(recs.map((r) => [r.frame, hex(r.ip), r.linkType]), [[1, hex(v4), 101], [2, hex(v6), 101]]);
    assert.is(recs[0]!.timeMs, 1_700_000_000_123.456);
    assert.is(recs[1]!.timeMs, 1_700_000_001_000);
    const cutPath = join(dir, 'cut.pcap');
    const small = new PcapWriter(cutPath, { snaplen: 30 });
    small.write(v6, 0);
    small.close();
    const cut = [...readCapture(cutPath)];
    assert.is(cut[0]!.capturedLength, 30);
    assert.is(cut[0]!.originalLength, v6.length);
    assert.is(cut[0]!.note, `captured 30 of ${v6.length} bytes (snaplen)`);
    assert.throws(() => w.write(v4), (e: unknown) => isSvrError(e, 'SVR_ERR_PCAP_IO'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('missing files and directories throw SVR_ERR_PCAP_IO', () => {
  const dir = mkdtempSync(join(tmpdir(), 'svr-pcap-'));
  try {
    assert.throws(() => readCapture(join(dir, 'nope.pcap')), (e: unknown) => isSvrError(e, 'SVR_ERR_PCAP_IO') && /nope\.pcap: no such file/.test((e as Error).message));
    assert.throws(() => readCapture(dir), (e: unknown) => isSvrError(e, 'SVR_ERR_PCAP_IO') && /is a directory/.test((e as Error).message));
    writeFileSync(join(dir, 'x.pcap'), '');
    assert.throws(() => readCapture(join(dir, 'x.pcap')), (e: unknown) => isSvrError(e, 'SVR_ERR_PCAP_FORMAT'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
