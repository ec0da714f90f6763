/**
 * The session table's HA sync marks and their collection (dataplane/session-rows.ts collectChanges): rows
 * go to the partner when created, when their state changes or their expiry moved far, removed rows as
 * tombstones, unchanged rows never again; a full collection sends everything; a budget leaves the rest marked.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SF_ESTABLISHED, SYNC_EXPIRY_MS, SessionTable } from '../../../src/dataplane/session-table.js';
import { PACKED_HEAD, packRows } from '../../../src/dataplane/session-rows.js';
import { collectBuffers, collectChanges, importRows, unpackRows, type SessionChanges } from '../../../src/dataplane/session-rows.js';
import { accountPacket } from '../../../src/dataplane/session-ops.js';

/** a row with session id words [n, n, n, n] that expires 30 s after `now` */
function session(t: SessionTable, n: number, now: number): number {
  const r = t.alloc(now);
  t.uuid.fill(n, r * 4, r * 4 + 4);
  t.indexUuid(r);
  t.family[r] = 4; // a row has a family: one without is refused on import
  t.expires[r] = now + 30_000;
  return r;
}
const ids = (c: SessionChanges): number[] => unpackRows(c.rows).map((r) => r.id[15]!);
const hex = (removed: Uint8Array): string[] => Array.from({ length: removed.length / 16 }, (_, k) => Buffer.from(removed.subarray(k * 16, k * 16 + 16)).toString('hex'));

test('the first collection is full; then only created, changed and removed rows; unchanged ones never again', () => {
  const t = new SessionTable(8);
  const a = session(t, 1, 1000);
  session(t, 2, 1000);
  assert.not.ok(t.syncing, 'no marks before control first collects');
  const first = collectChanges(t, 2000, false);
  assert.equal(ids(first), [1, 2], 'every row');
  assert.is(first.removed.length, 0);
  assert.is(collectChanges(t, 2100, false).rowCount, 0, 'nothing changed: nothing sent');

  session(t, 3, 3000);
  t.flags[a] = t.flags[a]! | SF_ESTABLISHED;
  t.checkSync(a, 3500);
  t.expires[a] = 3500 + 30_000; // a packet moved its expiry a little: not worth a record by itself
  t.checkSync(a, 3500);
  const second = collectChanges(t, 4000, false);
  assert.equal(ids(second), [3, 1], 'the new row and the changed one, oldest change first');
  assert.is(second.oldestMs, 1000, 'the oldest change waited 1 s');
  assert.equal(second.left, 0);

  t.expires[a] = 3500 + 30_000 + SYNC_EXPIRY_MS - 1;
  t.checkSync(a, 5000);
  assert.is(collectChanges(t, 5000, false).rowCount, 0, 'expiry moved less than SYNC_EXPIRY_MS');
  t.expires[a] = 3500 + 30_000 + SYNC_EXPIRY_MS;
  t.checkSync(a, 5000);
  assert.equal(ids(collectChanges(t, 5000, false)), [1], 'expiry moved SYNC_EXPIRY_MS: sent again');
});

test('removed rows go as tombstones (only those the partner has); a reused row is a new one', () => {
  const t = new SessionTable(4);
  const a = session(t, 1, 0);
  collectChanges(t, 0, true);
  const b = session(t, 2, 10);
  t.remove(b); // never sent: no tombstone
  t.remove(a);
  const c = session(t, 3, 20); // takes a's or b's row
  const got = collectChanges(t, 30, false);
  assert.equal(ids(got), [3]);
  assert.equal(hex(got.removed), ['00000001000000010000000100000001'], "a's id only");
  t.remove(c);
  assert.equal(hex(collectChanges(t, 40, false).removed), ['00000003000000030000000300000003']);
  const none = collectChanges(t, 50, false);
  assert.equal([none.rowCount, none.rows.length, none.removed.length, none.oldestMs, none.left], [0, 0, 0, 0, 0], 'each tombstone once');
});

test('collections into buffers answer views of them, no new buffer each (the in-thread host); without, copies (a worker transfers them)', () => {
  const t = new SessionTable(8);
  const into = collectBuffers();
  const a = session(t, 1, 0);
  const first = collectChanges(t, 0, true, undefined, 0, 0, into);
  session(t, 2, 10);
  t.remove(a);
  const second = collectChanges(t, 20, false, undefined, 0, 0, into);
  assert.equal(ids(second), [2]);
  assert.equal(hex(second.removed), ['00000001000000010000000100000001']);
  assert.ok(second.rows.buffer === first.rows.buffer && second.rows.buffer === into.rows.buffer, 'the rows of both in one buffer');
  assert.ok(second.removed.buffer === into.removed.buffer, 'the tombstones in its buffer');
  session(t, 3, 30);
  const copied = collectChanges(t, 40, false);
  assert.equal(ids(copied), [3]);
  assert.ok(copied.rows.buffer !== into.rows.buffer && copied.rows.byteLength === copied.rows.buffer.byteLength, 'a copy of its own, transferable');
});

test('a full collection (the partner starts empty) sends every row again and forgets tombstones; a budget leaves the rest marked', () => {
  const t = new SessionTable(4);
  for (let n = 1; n <= 5; n++) session(t, n, n * 100);
  collectChanges(t, 1000, false);
  t.remove(0);
  const full = collectChanges(t, 2000, true);
  assert.equal(ids(full).sort(), [2, 3, 4, 5], 'every active row');
  assert.is(full.removed.length, 0, 'the partner has nothing to remove');
  for (let n = 6; n <= 10; n++) session(t, n, 3000 + n);
  const part = collectChanges(t, 4000, false, 2);
  assert.is(part.rowCount, 2, 'the budget');
  assert.is(part.left, 3);
  assert.is(part.leftOldestMs, 4000 - 3008, 'the oldest change still waiting');
  const rest = collectChanges(t, 4100, false, 2);
  assert.is(rest.rowCount + rest.left, 3, 'the rest next time');
});

test('a packet through the data path marks its row once: accountPacket compares, never allocates a record', () => {
  const t = new SessionTable(4);
  const r = session(t, 7, 0);
  const ctx = { sessions: t, tables: { services: [] } } as unknown as Parameters<typeof accountPacket>[0];
  accountPacket(ctx, r, true, 100, 0);
  collectChanges(t, 0, true);
  for (let now = 1; now < 50_000; now += 1000) accountPacket(ctx, r, true, 100, now); // expiry: 180 s after each (no service)
  assert.is(collectChanges(t, 50_000, false).rowCount, 0, 'expiry moved 49 s: nothing');
  for (let now = 50_000; now < 70_000; now += 1000) accountPacket(ctx, r, true, 100, now);
  const got = collectChanges(t, 70_000, false);
  assert.equal(ids(got), [7], 'once it moved SYNC_EXPIRY_MS');
  const other = new SessionTable(4);
  assert.equal(importRows(other, got.rows, 70_000), { installed: 1, present: 0, refused: 0 }, 'the standby installs it');
  assert.is(other.pktsFwd[0], 71, 'with its counters');
});

/** An IPv4 ingress session: both keys, established, counters and times set. */
function ipv4Session(t: SessionTable): number {
  const r = t.alloc(1000);
  t.uuid.set([0x01020304, 0x05060708, 0x090a0b0c, 0x0d0e0f10], r * 4);
  t.indexUuid(r);
  t.flags[r] = t.flags[r]! | SF_ESTABLISHED;
  [t.role[r], t.family[r], t.protocol[r], t.tenant[r], t.service[r], t.path[r], t.inIf[r], t.outIf[r]] = [1, 4, 17, -1, 2, 1, 0, 1];
  [t.origSrc4[r], t.origDst4[r], t.origSrcPort[r], t.origDstPort[r], t.wpLocalPort[r], t.wpPeerPort[r]] = [0xc6120a0a, 0xc6120314, 40000, 7, 16000, 16001];
  [t.pktsFwd[r], t.pktsRev[r], t.bytesFwd[r], t.bytesRev[r], t.lastSeen[r], t.expires[r]] = [3, 2, 300, 200, 1500, 31500];
  const [client, server, ours, theirs] = [0xc6120a0a, 0xc6120314, 0xc612150a, 0xc6121514].map((a) => Uint32Array.of(a));
  assert.ok(t.insertKey(r, 'in', { family: 4, src: client!, srcOff: 0, dst: server!, dstOff: 0, srcPort: 40000, dstPort: 7, protocol: 17, ifIndex: 0 }));
  assert.ok(t.insertKey(r, 'out', { family: 4, src: ours!, srcOff: 0, dst: theirs!, dstOff: 0, srcPort: 16000, dstPort: 16001, protocol: 17, ifIndex: 1 }));
  return r;
}

test('a packed row, byte for byte (a sync record; row version 2: fixed head, IPv4 addresses in one word, both keys)', () => {
  const t = new SessionTable(4);
  collectChanges(t, 0, true);
  ipv4Session(t);
  const c = collectChanges(t, 2000, false, 10, 3);
  assert.is(c.rowCount, 1);
  const golden = [
    '01', '01', '10', '0081', // the sync record's head: kind session, op upsert, key 16 bytes, value 129 (source and row)
    '0102030405060708090a0b0c0d0e0f10', '03', // id, source 3; the row's 128 bytes:
    '02', '4100', '01', '04', '11', 'ffff', '0200', '0100', '0000', '0100', // version, flags, role, family, protocol, tenant, service, path, inIf, outIf
    '409c', '0700', '803e', '813e', '0000', '0000', '0000', // ports 40000 -> 7, waypoint 16000/16001, app, NAT ports
    '00000000', '00000000', '03000000', '02000000', // chain, tag, packets
    '0000000000c07240', '0000000000006940', // bytes 300, 200
    '0000000000408f40', '0000000000407f40', '0000000000cfdc40', // age 1000, idle 500, 29,500 ms left
    '0c', '04', // in key IPv4 swapped, out key IPv4
    '0a0a12c6', '140312c6', // original addresses
    '140312c6', '0a0a12c6', '409c0700', '00001100', // in key
    '0a1512c6', '141512c6', '813e803e', '01001100', // out key
  ].join('');
  assert.is(Buffer.from(c.rows).toString('hex'), golden);
});

test('collecting rows probes no flow table: each side key\'s swapped bit is the row\'s; the standby keeps it', () => {
  const t = new SessionTable(4);
  collectChanges(t, 0, true);
  ipv4Session(t);
  let probes = 0;
  const get = t.v4.get.bind(t.v4);
  t.v4.get = () => { probes++; return get(); };
  const c = collectChanges(t, 2000, false);
  t.v4.get = get;
  assert.is(c.rowCount, 1);
  assert.is(probes, 0, 'the swapped bits come from the row');
  const other = new SessionTable(4);
  assert.equal(importRows(other, c.rows, 2000), { installed: 1, present: 0, refused: 0 });
  const [again] = unpackRows(collectChanges(other, 2000, true).rows);
  assert.equal([again!.row[86], again!.row[87]], [0x0c, 0x04], 'in key swapped, out key not: as the active had them');
});

test('malformed rows are refused one by one and counted; the others installed', () => {
  const t = new SessionTable(4);
  collectChanges(t, 0, true);
  ipv4Session(t);
  const [row] = unpackRows(collectChanges(t, 2000, false).rows);
  const variant = (n: number, edit: (b: Uint8Array) => Uint8Array): { id: Uint8Array; source: number; row: Uint8Array } => {
    const id = row!.id.slice();
    id[15] = n;
    return { id, source: 0, row: edit(row!.row.slice()) };
  };
  const rows = packRows([
    variant(1, (b) => { b[0] = 1; return b; }), // version 1
    variant(2, (b) => { b[86] = 5; return b; }), // a key family that is not one
    variant(3, (b) => b.subarray(0, b.length - 4)), // a key cut short
    variant(4, (b) => { new DataView(b.buffer).setFloat64(78, -1, true); return b; }), // expired
    variant(6, (b) => { b[4] = 5; return b; }), // an address family that is not one
    variant(5, (b) => b), // whole
  ]);
  const other = new SessionTable(4);
  assert.equal(importRows(other, rows, 5000), { installed: 1, present: 0, refused: 5 });
  assert.is(other.active, 1);
  assert.equal(importRows(other, rows.subarray(0, PACKED_HEAD + 3), 5000), { installed: 0, present: 0, refused: 1 }, 'a buffer cut in a row: refused');
});

test('an IPv6 row goes over whole: its addresses live in the IPv6 columns, made with the first IPv6 row', () => {
  const t = new SessionTable(4);
  collectChanges(t, 0, true);
  const v4 = ipv4Session(t);
  assert.is(t.origSrc6.length, 0, 'no IPv6 columns before an IPv6 row');
  const r = t.alloc(1000);
  t.uuid.fill(9, r * 4, r * 4 + 4);
  t.indexUuid(r);
  t.expires[r] = 31_000;
  const src = Uint32Array.of(0x20010db8, 1, 0, 0x10);
  const dst = Uint32Array.of(0x20010db8, 3, 0, 0x20);
  t.setOriginWords(r, 6, src, 0, dst, 0);
  assert.equal([...t.srcWords(r).subarray(t.wordsAt, t.wordsAt + 4)], [...src]);
  assert.equal([t.srcWords(v4)[t.wordsAt], t.dstWords(v4)[t.wordsAt]], [0xc6120a0a, 0xc6120314], 'the IPv4 row keeps its words');
  const other = new SessionTable(4);
  assert.equal(importRows(other, collectChanges(t, 2000, false).rows, 2000), { installed: 2, present: 0, refused: 0 });
  const r6 = other.rowByUuid(new Uint8Array(16).fill(0).map((_, i) => (i % 4 === 3 ? 9 : 0)), 0);
  assert.is(other.family[r6], 6);
  assert.equal([...other.dstWords(r6).subarray(other.wordsAt, other.wordsAt + 4)], [...dst]);
  assert.equal([...other.srcWords(r6).subarray(other.wordsAt, other.wordsAt + 4)], [...src]);
});

test.run();
