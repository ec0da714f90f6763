/**
 * The session row's columns few sessions use (session-table.ts): IPv6 original addresses, NAT, plugin tags,
 * metadata-only signing times, transit links and native marks cost nothing until the first session uses
 * them, read as "none" before, and a reused row starts without them.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MARK_IN, MARK_OUT, SessionTable } from '../../../src/dataplane/session-table.js';

const T0 = 1_700_000_000_000;

test('an IPv4 session: one word per address; no IPv6, NAT, tag, signing or transit column is made', () => {
  const t = new SessionTable(64);
  const empty = t.bytes;
  const r = t.alloc(T0);
  t.setOrigin(r, 4, Uint8Array.of(198, 18, 1, 10, 198, 18, 3, 20), 0, 4);
  assert.is(t.srcWords(r)[t.wordsAt], 0xc612010a);
  assert.is(t.dstWords(r)[t.wordsAt], 0xc6120314);
  assert.is(t.wordsAt, r, 'one word a row');
  assert.equal([t.tagOf(r), t.relayOf(r), t.signedAtOf(r)], [0, -1, -Infinity], 'none of them yet');
  t.setSignedAt(r, -Infinity);
  t.setRelay(r, -1);
  assert.is(t.bytes, empty, 'reading or clearing them makes no column');
});

test('each column is made by its first write (4 or 8 bytes a row, 32 for IPv6 addresses) and a reused row starts without its values', () => {
  const t = new SessionTable(64);
  const a = t.alloc(T0);
  const b = t.alloc(T0);
  const before = t.bytes;
  t.setTag(a, 42);
  assert.is(t.bytes - before, 64 * 4, 'tags: 4 bytes a row');
  t.setRelay(a, b);
  t.setRelay(b, a);
  t.setSignedAt(a, T0 + 5);
  const v6 = new Uint8Array(32);
  v6[0] = 0x20;
  v6[31] = 0x20;
  const rows = t.bytes;
  t.setOrigin(b, 6, v6, 0, 16);
  assert.is(t.bytes - rows, 64 * 32, 'IPv6 addresses: 2 x 16 bytes a row');
  assert.equal([t.tagOf(a), t.relayOf(a), t.relayOf(b), t.signedAtOf(a)], [42, b, a, T0 + 5]);
  assert.equal([...t.srcWords(b).subarray(t.wordsAt, t.wordsAt + 4)], [0x20000000, 0, 0, 0]);
  assert.equal([...t.dstWords(b).subarray(t.wordsAt, t.wordsAt + 4)], [0, 0, 0, 0x20]);
  t.setSignedAt(a, -Infinity);
  assert.is(t.signedAtOf(a), -Infinity, 'its next packet is signed');
  t.remove(a);
  const again = t.alloc(T0 + 10);
  assert.is(again, a, 'the row is reused');
  assert.equal([t.tagOf(again), t.relayOf(again), t.signedAtOf(again)], [0, -1, -Infinity], 'a fresh row');
});

test('the columns grow with the table', () => {
  const t = new SessionTable(16);
  const first = t.alloc(T0);
  t.setTag(first, 7);
  t.setRelay(first, 1);
  let last = first;
  for (let i = 0; i < 100; i++) last = t.alloc(T0);
  t.setTag(last, 9);
  t.setRelay(last, first);
  assert.equal([t.tagOf(first), t.tagOf(last), t.relayOf(first), t.relayOf(last)], [7, 9, 1, first]);
});

test('native marks: a column per side made by its first mark (8 bytes a row), within the time and generation given, a reused row unmarked', () => {
  const t = new SessionTable(64);
  const a = t.alloc(T0);
  const before = t.bytes;
  assert.not.ok(t.markedWithin(MARK_OUT, a, 1, T0, 125), 'never marked');
  assert.is(t.bytes, before, 'reading makes no column');
  t.setMarked(MARK_OUT, a, 3, T0);
  assert.is(t.bytes - before, 64 * 8, "svr-out's column: 8 bytes a row");
  assert.ok(t.markedWithin(MARK_OUT, a, 3, T0 + 124, 125));
  assert.not.ok(t.markedWithin(MARK_OUT, a, 3, T0 + 125, 125), 'half a lease later');
  assert.not.ok(t.markedWithin(MARK_OUT, a, 4, T0 + 1, 125), 'another generation');
  assert.not.ok(t.markedWithin(MARK_OUT, a, 3, T0 - 1, 125), 'a time before the mark (the clock modulo 2^32 wrapped)');
  assert.not.ok(t.markedWithin(MARK_IN, a, 3, T0, 125), "svr-in's side is its own");
  t.setMarked(MARK_IN, a, 3, T0);
  assert.is(t.bytes - before, 64 * 16, "svr-in's column too");
  t.remove(a);
  const again = t.alloc(T0 + 10);
  assert.is(again, a, 'the row is reused');
  assert.not.ok(t.markedWithin(MARK_OUT, again, 3, T0 + 10, 125) || t.markedWithin(MARK_IN, again, 3, T0 + 10, 125), 'a fresh row is unmarked');
});

test.run();
