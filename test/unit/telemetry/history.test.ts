/** Session history in LevelDB: filters, paging, one session's story, interim replacement, retention, bad queries. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../../src/store/store.js';
import { SessionHistory, retentionOptions, type HistoryOptions } from '../../../src/telemetry/history/history.js';
import type { HistoryQuery } from '../../../src/telemetry/history/query.js';
import type { SessionRecord } from '../../../src/telemetry/record.js';
import { isSvrError } from '../../../src/errors.js';
import { Block, BlockWriter } from '../../../src/telemetry/history/block.js';
import { BLOCK_V1_HEX, v1Records } from './block-v1.js';
import { buildFilter, filterOf, mayHold } from '../../../src/telemetry/history/id-index.js';
import { T0, makeRecord } from './records.js';

async function withHistory(opts: HistoryOptions, fn: (h: SessionHistory, store: Store, dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tm-history-'));
  const store = await Store.open(dir);
  const h = await SessionHistory.open(store, { retentionMs: 3_600_000, ...opts });
  try {
    await fn(h, store, dir);
  } finally {
    await h.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every page of a query, following cursors. */
async function all(h: SessionHistory, q: HistoryQuery): Promise<SessionRecord[]> {
  const out: SessionRecord[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await h.query({ ...q, ...(cursor !== undefined ? { cursor } : {}) });
    out.push(...page.records);
    cursor = page.cursor;
    if (cursor === undefined) return out;
  }
  throw new Error('too many pages');
}

const ids = (rs: SessionRecord[]): number[] => rs.map((r) => parseInt(r.sessionId.slice(-12), 16));
const range = (n: number, keep: (i: number) => boolean = () => true): number[] => Array.from({ length: n }, (_, i) => i).filter(keep);

test('every filter finds exactly its records, newest first, in one batch or many', async () => {
  await withHistory({}, async (h) => {
    for (let i = 0; i < 120; i++) {
      h.put(makeRecord(i));
      if (i % 25 === 0) await h.flush(); // several batches
    }
    await h.flush();
    const newestFirst = (keep: (i: number) => boolean) => range(120, keep).reverse();
    assert.equal(ids(await all(h, {})), newestFirst(() => true));
    assert.equal(ids(await all(h, { tenant: 'red' })), newestFirst((i) => i % 3 === 1));
    assert.equal(ids(await all(h, { service: 'ssh' })), newestFirst((i) => i % 4 === 2));
    assert.equal(ids(await all(h, { application: 'quic' })), newestFirst((i) => i % 2 === 1));
    assert.equal(ids(await all(h, { router: 'r3' })), newestFirst((i) => i % 5 === 0));
    assert.equal(ids(await all(h, { router: 'r1' })), newestFirst(() => true), 'ingress router');
    assert.equal(ids(await all(h, { path: 'r2/wan2' })), newestFirst((i) => i % 6 === 0));
    assert.equal(ids(await all(h, { closeReason: 'denied' })), newestFirst((i) => i % 4 === 2));
    assert.equal(ids(await all(h, { port: 9000 })), newestFirst((i) => i % 4 === 3));
    assert.equal(ids(await all(h, { sourcePort: 40007 })), [7]);
    assert.equal(ids(await all(h, { source: '198.18.2.0/24' })), newestFirst((i) => i % 2 === 1), 'prefix');
    assert.equal(ids(await all(h, { source: '198.18.1.12' })), newestFirst((i) => i % 2 === 0 && i % 7 === 2), 'exact address');
    assert.equal(ids(await all(h, { destination: '198.18.0.0/15' })), newestFirst(() => true));
    assert.equal(ids(await all(h, { destination: '198.18.3.21' })), []);
    assert.equal(ids(await all(h, { from: T0 + 10_000, to: T0 + 20_000 })), range(20, (i) => i >= 10).reverse(), 'end time in [from, to)');
    assert.equal(ids(await all(h, { tenant: 'blue', service: 'web', from: T0 + 50_000, order: 'oldest' })), range(120, (i) => i >= 50 && i % 12 === 0), 'filters combine; oldest first');
    assert.equal(ids(await all(h, { tenant: 'blue', port: 80, source: '198.18.1.0/24' })), newestFirst((i) => i % 12 === 0));
  });
});

test('paging: cursors walk every match once, in order, pages of at most `limit`', async () => {
  await withHistory({}, async (h) => {
    for (let i = 0; i < 60; i++) h.put(makeRecord(i));
    await h.flush();
    for (const q of [{ limit: 7 }, { limit: 7, order: 'oldest' as const }, { limit: 4, tenant: 'green' }, { limit: 3, tenant: 'green', order: 'oldest' as const }]) {
      const seen: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await h.query({ ...q, ...(cursor !== undefined ? { cursor } : {}) });
        assert.ok(page.records.length <= q.limit);
        seen.push(...ids(page.records));
        cursor = page.cursor;
      } while (cursor !== undefined);
      const keep = q.tenant === 'green' ? (i: number) => i % 3 === 2 : () => true;
      const expected = range(60, keep);
      assert.equal(seen, q.order === 'oldest' ? expected : expected.reverse(), JSON.stringify(q));
    }
  });
});

test('get(id): one session\'s full story; an interim record is replaced by the session\'s next record', async () => {
  await withHistory({}, async (h) => {
    const id = makeRecord(6).sessionId;
    h.put(makeRecord(6, { kind: 'interim', endMs: T0 + 60_000, closeReason: undefined, pathChanges: [] }));
    await h.flush();
    assert.is((await h.get(id))?.kind, 'interim');
    assert.equal(ids(await all(h, {})), [6], 'a live session is listed by its interim record');
    h.put(makeRecord(6, { kind: 'interim', endMs: T0 + 120_000, closeReason: undefined }));
    await h.flush();
    h.put(makeRecord(6, { endMs: T0 + 130_000 }));
    await h.flush();
    const story = await h.get(id);
    assert.is(story?.kind, 'end');
    assert.is(story?.closeReason, 'denied');
    assert.equal(story?.pathChanges, [{ atMs: T0 + 129_500, from: 'r2/wan1', to: 'r2/wan2', reason: 'path-down' }]);
    assert.equal((await all(h, {})).map((r) => [r.kind, r.endMs]), [['end', T0 + 130_000]], 'one record per session');
    assert.equal(ids(await all(h, { path: 'r2/wan2' })), [6], 'stale postings of replaced records are skipped');
    assert.is(await h.get('no-such-session'), undefined);
  });
});

test('bad queries are refused with the parameter named', async () => {
  await withHistory({}, async (h) => {
    h.put(makeRecord(1));
    await h.flush();
    const page = await h.query({ limit: 1, tenant: 'red' });
    const cases: [HistoryQuery, string][] = [
      [{ limit: 0 }, 'limit'], [{ limit: 1001 }, 'limit'], [{ port: 70_000 }, 'port'], [{ sourcePort: -1 }, 'sourcePort'],
      [{ source: '198.18.1' }, 'source'], [{ destination: '10.0.0.0/33' }, 'destination'], [{ from: 5, to: 1 }, 'from'],
      [{ closeReason: 'bored' as never }, 'closeReason'], [{ cursor: '%%%' }, 'cursor'],
      [{ tenant: 'blue', cursor: page.cursor ?? 'x' }, 'cursor'],
    ];
    for (const [q, parameter] of cases) {
      let err: unknown;
      try {
        await h.query(q);
      } catch (e) {
        err = e;
      }
      assert.ok(isSvrError(err, 'SVR_ERR_HISTORY_QUERY'), `${JSON.stringify(q)}: ${String(err)}`);
      assert.equal((err as { data: unknown }).data, { parameter }, JSON.stringify(q));
      assert.match((err as Error).message, parameter);
    }
  });
});

test('retention by age removes whole old batches, a bounded number per step', async () => {
  let now = T0 + 1_000_000;
  await withHistory({ maxAgeMs: 500_000, retentionBatchesPerStep: 2, now: () => now }, async (h) => {
    for (let b = 0; b < 5; b++) {
      for (let i = 0; i < 10; i++) h.put(makeRecord(b * 10 + i, { endMs: T0 + b * 200_000 + i }));
      await h.flush();
    }
    // batch b ends at T0 + b * 200 s: at T0 + 1000 s with 500 s kept, batches 0-2 are too old
    assert.is(await h.retire(), 2, 'two per step');
    assert.is(await h.retire(), 1);
    assert.is(await h.retire(), 0);
    assert.equal(ids(await all(h, { order: 'oldest' })), range(50, (i) => i >= 30));
    assert.equal(ids(await all(h, { tenant: 'blue', order: 'oldest' })), range(50, (i) => i >= 30 && i % 3 === 0), 'postings go with their batch');
    const c = h.counters();
    assert.equal([c.retiredByAge, c.retiredBySize, c.retiredRecords], [3, 0, 30]);
    now += 10_000_000;
    assert.is(await h.retire(), 2);
  });
});

test('retention settings from the config: days and MiB', () => {
  assert.equal(retentionOptions({ retentionDays: 7, maxSizeMb: 1024 }), { maxAgeMs: 604_800_000, maxBytes: 1_073_741_824 });
});

test('retention by size keeps the history under its limit, oldest first: once over, down to 90 % of it (deletes in bursts)', async () => {
  await withHistory({ maxBytes: 30_000, now: () => T0 + 500_000 }, async (h) => {
    for (let b = 0; b < 20; b++) {
      for (let i = 0; i < 10; i++) h.put(makeRecord(b * 10 + i));
      await h.flush();
    }
    const before = h.counters().bytes;
    assert.ok(before > 60_000, `${before} bytes written (20 blocks of about 4 kB)`);
    while ((await h.retire()) > 0);
    const c = h.counters();
    assert.ok(c.bytes <= 27_000 && c.bytes > 22_000, `${c.bytes} bytes kept (within a block and a quarter of 90 % of the limit)`);
    const kept = ids(await all(h, { order: 'oldest' }));
    assert.equal(kept, range(200, (i) => i >= 200 - kept.length), 'the newest records stay');
    assert.is(c.retiredRecords, 200 - kept.length);
    assert.ok(c.retiredBySize > 0 && c.retiredByAge === 0);
    // under the limit again: nothing goes until the history is over it
    h.put(makeRecord(500));
    await h.flush();
    assert.is(await h.retire(), 0);
    assert.ok(h.counters().bytes > c.bytes && h.counters().bytes < 30_000, `${h.counters().bytes} bytes: grew, within the limit`);
  });
});

test('a page reads at most SCAN_BUDGET records: a rare match comes back over several short pages', async () => {
  await withHistory({}, async (h) => {
    for (let i = 0; i < 25_000; i++) h.put(makeRecord(i, { forward: { ...makeRecord(i).forward, srcPort: i === 3 ? 1 : 2 } }));
    await h.flush();
    const first = await h.query({ sourcePort: 1 });
    assert.equal([first.records.length, first.scanned], [0, 20_000]);
    assert.ok(first.cursor);
    const second = await h.query({ sourcePort: 1, cursor: first.cursor });
    assert.equal(ids(second.records), [3]);
    assert.is(second.cursor, undefined);
  });
});

test('the history survives a reopen of the store; a clean close loses nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tm-history-'));
  try {
    let store = await Store.open(dir);
    let h = await SessionHistory.open(store);
    for (let i = 0; i < 30; i++) h.put(makeRecord(i));
    await h.close();
    await store.close();
    store = await Store.open(dir);
    h = await SessionHistory.open(store);
    assert.equal(ids(await all(h, { order: 'oldest' })), range(30));
    const c = h.counters();
    assert.equal([c.accepted, c.written, c.lostAtOpen, c.lostTotal], [30, 30, 0, 0]);
    await h.close();
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});


test('a block gives back every field of its records: optional ones, ids that are not UUIDs, big counters', () => {
  const full = makeRecord(6, {
    sessionId: 'not-a-uuid', kind: 'interim', role: 'egress', seq: 3,
    waypoint: { src: '198.18.12.1', dst: '198.18.12.2', srcPort: 16000, dstPort: 16001, protocol: 17 },
    nat: { src: '2001:db8::1', dst: '198.18.3.20', srcPort: 1, dstPort: 65535, protocol: 6 },
    ingressInterface: { name: 'lan0', index: 0 }, egressInterface: { name: 'wan0', index: 7 },
    tcpRetransmissions: [3, 0], bytes: [2 ** 40 + 5, 2 ** 52], packets: [0, 1],
    closeReason: undefined, deniedReason: 'access-denied',
  });
  delete full.closeReason;
  const w = new BlockWriter();
  const plain = makeRecord(7);
  // fields that follow from others in most records, here given: a reply 5-tuple of its own, deltas that are not the totals
  const given = makeRecord(8, { reverse: { src: '198.18.3.99', dst: '198.18.1.10', srcPort: 1, dstPort: 2, protocol: 6 }, delta: { packets: [1, 0], bytes: [10, 0] }, seq: 1 });
  assert.equal([w.add(full), w.add(plain), w.add(given)], [0, 1, 2]);
  const block = new Block(w.finish());
  assert.is(block.rows, 3);
  assert.equal(block.row(0), full);
  assert.equal(block.row(1), plain);
  assert.equal(block.row(2), given);
  assert.equal([block.id(1), block.id(0)], [plain.sessionId, 'not-a-uuid']);
  const next = new BlockWriter();
  next.add(plain);
  assert.equal(new Block(next.finish()).row(0), plain, 'a writer starts empty after finish()');
});

test('a row\'s session id from a fact row\'s 4 words: the bytes of its text, the words as given; whole numbers past 2^28 as LEB128 byte by byte', () => {
  const words = new Uint32Array([7, 0x00000000, 0x00004000, 0x80000000, 0x0000002a]);
  const r = makeRecord(42); // its id: 00000000-0000-4000-8000-00000000002a, the words at 1
  const byText = new BlockWriter();
  byText.add(r);
  const byWords = new BlockWriter();
  byWords.add(r, words, 1);
  assert.equal(byWords.finish(), byText.finish(), 'the same block');
  // the words are what is written (the caller's: a ring row's id), not the text parsed again
  const other = new BlockWriter();
  other.add(r, new Uint32Array([0x01234567, 0x89abcdef, 0x01234567, 0x89abcdef]), 0);
  assert.is(new Block(other.finish()).id(0), '01234567-89ab-cdef-0123-456789abcdef');
  // times and big counters: the zig-zag LEB128 bytes of the per-byte form (7 bits a byte, low first), read back
  const numbers = [0, 1, 2 ** 28 - 1, 2 ** 28, 2 ** 29 - 1, 2 ** 30, 2 ** 35 + 3, T0, T0 + 999, 2 ** 52 - 1, 2 ** 52];
  const w = new BlockWriter();
  for (const n of numbers) w.add(makeRecord(1, { bytes: [n, 0], startMs: n, endMs: n }));
  const block = new Block(w.finish());
  numbers.forEach((n, i) => {
    const back = block.row(i);
    assert.equal([back.bytes[0], back.startMs, back.endMs], [n, n, n], String(n));
  });
  const leb = (z: number): number[] => {
    const out: number[] = [];
    for (; z >= 0x80; z = Math.floor(z / 128)) out.push((z % 128) | 0x80);
    return [...out, z];
  };
  const one = new BlockWriter();
  one.add(makeRecord(1, { packets: [0, 0], bytes: [T0, 2 ** 52] }));
  const bytes = one.finish();
  const at = (needle: number[]): number => bytes.findIndex((_, i) => needle.every((b, k) => bytes[i + k] === b));
  assert.ok(at([0, 0, ...leb(2 * T0), ...leb(2 ** 53)]) > 0, 'the byte counts, zig-zagged, in the per-byte form');
});

test('a block of version 1 (a history of format 5 or before) reads back as it was written; version 2 rows leave out what follows from other fields', () => {
  const records = v1Records();
  const v1 = new Block(Buffer.from(BLOCK_V1_HEX, 'hex'));
  assert.is(v1.rows, records.length);
  records.forEach((r, i) => {
    assert.equal(v1.row(i), r, `row ${i}`);
    assert.is(v1.id(i), r.sessionId);
  });
  const w = new BlockWriter();
  for (const r of records) w.add(r);
  const v2 = w.finish();
  const back = new Block(v2);
  records.forEach((r, i) => assert.equal(back.row(i), r, `row ${i} of version 2`));
  assert.is(v2[0], 2);
  assert.ok(v2.length < BLOCK_V1_HEX.length / 2, `${v2.length} bytes against ${BLOCK_V1_HEX.length / 2}`);
  // rows of the same names (a lab's sessions): the names once, the reply 5-tuple and deltas left out (version 1: 5,017 bytes)
  const same = new BlockWriter();
  for (let i = 0; i < 64; i++) {
    const { forward, reverse } = makeRecord(i);
    same.add(makeRecord(i, {
      tenant: 'blue', service: 'web', application: 'http', egressRouter: 'r2', paths: ['r2/wan1'], pathChanges: [], closeReason: 'idle',
      forward: { ...forward, dstPort: 80 }, reverse: { ...reverse, srcPort: 80 },
    }));
  }
  const rows = same.finish();
  assert.ok(rows.length < 2800, `${rows.length} bytes for 64 rows`);
  const bad = v2.slice();
  bad[0] = 3;
  assert.throws(() => new Block(bad), /version 3 \(this node reads 1 and 2\)/);
  assert.throws(() => new Block(v2.subarray(0, v2.length - 2)), /ends inside a number: the block is damaged/, 'a block cut short: an error, not a read past its end');
});

test('a history of format 1 (a key per record) is removed at open, its records counted as lost', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tm-history-'));
  const sub = (store: Store) => store.db.sublevel<string, Uint8Array>('history', { keyEncoding: 'utf8', valueEncoding: 'view' });
  const oldPosting = 'p/tenant\x00blue\x000000000100000001';
  try {
    let store = await Store.open(dir);
    const json = (v: unknown): Uint8Array => Buffer.from(JSON.stringify(v));
    await sub(store).batch([
      { type: 'put', key: 'r/018bcfe56800/a', value: json(makeRecord(1)) },
      { type: 'put', key: 'r/018bcfe56c00/b', value: json(makeRecord(2)) },
      { type: 'put', key: 'i/a/018bcfe56800', value: new Uint8Array(0) },
      { type: 'put', key: oldPosting, value: new Uint8Array(7) },
    ]);
    await store.close();
    store = await Store.open(dir);
    const h = await SessionHistory.open(store);
    assert.equal([h.counters().lostAtOpen, h.counters().lostTotal], [2, 2]);
    assert.equal((await h.query({})).records, []);
    h.put(makeRecord(3));
    await h.flush();
    assert.equal(ids((await h.query({})).records), [3]);
    const keys: string[] = [];
    for await (const k of sub(store).keys()) keys.push(k);
    assert.ok(!keys.some((k) => k.startsWith('r/') || k === oldPosting || k === 'i/a/018bcfe56800'), keys.join(' '));
    await h.close();
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('one session found among 200 blocks with no key per record: its latest record, after a reopen too; a filter has no false negatives and few false positives', async () => {
  const uuids = Array.from({ length: 5000 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
  // format 5: a block's filter of its rows' id bytes (a UUID's 16 bytes, another id's text); before it, of the ids' text
  const writer = new BlockWriter();
  for (const id of [...uuids.slice(0, 511), 'not-a-uuid']) writer.add({ ...makeRecord(1), sessionId: id });
  const hashes = new Uint32Array(1024);
  writer.idHashes(hashes);
  const ids = [...uuids.slice(0, 511), 'not-a-uuid'];
  for (const [filter, textHashed] of [[filterOf(hashes, 512), false], [buildFilter(ids), true]] as const) {
    assert.ok(ids.every((id) => mayHold(filter, id, textHashed)), `every id of the block (${textHashed ? 'text' : 'bytes'})`);
    const wrong = uuids.slice(512).filter((id) => mayHold(filter, id, textHashed)).length;
    assert.ok(wrong < 4488 * 0.03, `${wrong} of 4488 other ids pass (about 1 % expected; ${textHashed ? 'text' : 'bytes'})`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'tm-history-'));
  try {
    let store = await Store.open(dir);
    let h = await SessionHistory.open(store, { retentionMs: 3_600_000 });
    for (let i = 0; i < 2000; i++) {
      h.put(makeRecord(i));
      if (i % 10 === 9) await h.flush();
    }
    h.put({ ...makeRecord(7), kind: 'end', seq: 1, closeReason: 'admin' }); // a later record of session 7
    await h.flush();
    const keys: string[] = [];
    for await (const k of store.db.sublevel<string, Uint8Array>('history', { keyEncoding: 'utf8', valueEncoding: 'view' }).keys()) keys.push(k);
    assert.is(h.counters().batches, 201, 'blocks');
    assert.ok(!keys.some((k) => k.startsWith('i/') || k.startsWith('k/')), 'no key per record; the blocks in their own database');
    const t0 = performance.now();
    for (const i of [0, 7, 1234, 1999]) assert.is((await h.get(makeRecord(i).sessionId))?.sessionId, makeRecord(i).sessionId, `session ${i}`);
    const ms = performance.now() - t0;
    assert.is((await h.get(makeRecord(7).sessionId))?.closeReason, 'admin', 'the latest record of the session');
    assert.is(await h.get('00000000-0000-4000-8000-999999999999'), undefined);
    assert.ok(ms < 500, `4 lookups in ${ms.toFixed(1)} ms`);
    await h.close();
    await store.close();
    store = await Store.open(dir);
    h = await SessionHistory.open(store, { readOnly: true });
    assert.is((await h.get(makeRecord(1234).sessionId))?.sessionId, makeRecord(1234).sessionId, 'filters loaded at open (svr inspect)');
    await h.close();
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
