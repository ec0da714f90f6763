/**
 * The session table's HA sync marks and their collection (dataplane/session-rows.ts collectChanges): rows
 * go to the partner when created, when their state changes or their expiry moved far, removed rows as
 * tombstones, unchanged rows never again; a full collection sends everything; a budget leaves the rest marked.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SF_ESTABLISHED, SYNC_EXPIRY_MS, SessionTable } from '../../../src/dataplane/session-table.js';
import { collectChanges, importRows, unpackRows, type SessionChanges } from '../../../src/dataplane/session-rows.js';
import { accountPacket } from '../../../src/dataplane/session-ops.js';

/** a row with session id words [n, n, n, n] that expires 30 s after `now` */
function session(t: SessionTable, n: number, now: number): number {
  const r = t.alloc(now);
  t.uuid.fill(n, r * 4, r * 4 + 4);
  t.indexUuid(r);
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

test.run();
