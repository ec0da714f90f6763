/**
 * The history's layout (format 5: blocks in a database of their own, filters of the ids' bytes, postings as runs):
 * every filter answers what a scan of all records answers, over blocks of several writes; histories of format 4
 * (filters of the ids' text, postings row by row), 3 (and blocks in the index database) and 2 (an id key per
 * record) read and written on; blocks no manifest names removed at open; a newer format refused.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { Store } from '../../../src/store/store.js';
import { SessionHistory, type HistoryOptions } from '../../../src/telemetry/history/history.js';
import type { HistoryQuery } from '../../../src/telemetry/history/query.js';
import type { SessionRecord } from '../../../src/telemetry/record.js';
import { blockKey, decodeRuns, encodeRuns, filterKey, seqOfKey } from '../../../src/telemetry/history/keys.js';
import { Block } from '../../../src/telemetry/history/block.js';
import { buildFilter } from '../../../src/telemetry/history/id-index.js';
import { parsePrefix, prefixContains } from '../../../src/packet/addr.js';
import { isSvrError } from '../../../src/errors.js';
import { T0, makeRecord } from './records.js';
import { BLOCK_V1_HEX, v1Records } from './block-v1.js';

const index = (store: Store) => store.db.sublevel<string, Uint8Array>('history', { keyEncoding: 'utf8', valueEncoding: 'view' });
const blocksDb = (dir: string) => new Level<string, Uint8Array>(join(dir, 'blocks'), { keyEncoding: 'utf8', valueEncoding: 'view' });

async function keysOf(db: { keys(): AsyncIterable<string> }): Promise<string[]> {
  const out: string[] = [];
  for await (const k of db.keys()) out.push(k);
  return out;
}

/** The keys of the blocks' database of the closed history in `dir`. */
async function blockKeys(dir: string): Promise<string[]> {
  const db = blocksDb(dir);
  try {
    return await keysOf(db);
  } finally {
    await db.close();
  }
}

/** Every page of a query (pages of 7), following cursors. */
async function all(h: SessionHistory, q: HistoryQuery): Promise<SessionRecord[]> {
  const out: SessionRecord[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await h.query({ limit: 7, ...q, ...(cursor !== undefined ? { cursor } : {}) });
    out.push(...page.records);
    cursor = page.cursor;
    if (cursor === undefined) return out;
  }
  throw new Error('too many pages');
}

/** What a query answers, from a scan of the records put (the latest of each session), by end time. */
function scan(put: readonly SessionRecord[], q: HistoryQuery): SessionRecord[] {
  const latest = new Map<string, SessionRecord>();
  for (const r of put) latest.set(r.sessionId, r);
  const inPrefix = (p: string | undefined, a: string): boolean => {
    if (p === undefined) return true;
    const prefix = parsePrefix(p)!;
    const addr = parsePrefix(a)!;
    return prefixContains(prefix, addr.bytes, 0, addr.family);
  };
  const out = [...latest.values()].filter((r) => r.endMs >= (q.from ?? 0) && r.endMs < (q.to ?? Infinity) &&
    (q.tenant === undefined || r.tenant === q.tenant) && (q.service === undefined || r.service === q.service) &&
    (q.application === undefined || r.application === q.application) &&
    (q.router === undefined || r.ingressRouter === q.router || r.egressRouter === q.router) &&
    (q.path === undefined || r.paths.includes(q.path)) && (q.closeReason === undefined || r.closeReason === q.closeReason) &&
    (q.kind === undefined || r.kind === q.kind) && (q.port === undefined || r.forward.dstPort === q.port) &&
    (q.sourcePort === undefined || r.forward.srcPort === q.sourcePort) &&
    inPrefix(q.source, r.forward.src) && inPrefix(q.destination, r.forward.dst));
  out.sort((a, b) => a.endMs - b.endMs);
  return q.order === 'oldest' ? out : out.reverse();
}

const brief = (rs: readonly SessionRecord[]): string[] => rs.map((r) => `${r.sessionId.slice(-4)} ${r.kind} ${r.endMs - T0}`);

/** Records over 5 minutes; sessions 0, 10, 20 ... first as interim records, replaced by their end 35 s later. */
function records(n: number, from = 0): SessionRecord[] {
  const out: SessionRecord[] = [];
  for (let i = from; i < from + n; i++) {
    out.push(i % 10 === 0 ? makeRecord(i, { kind: 'interim', closeReason: undefined }) : makeRecord(i));
    const j = i - 35;
    if (j >= from && j % 10 === 0) out.push(makeRecord(j, { endMs: T0 + i * 1000 + 500 }));
  }
  return out;
}

const QUERIES: HistoryQuery[] = [
  {}, { order: 'oldest' }, { tenant: 'blue' }, { tenant: 'red', order: 'oldest' }, { tenant: 'nobody' }, { service: 'dns' }, { service: 'bulk' },
  { application: 'http' }, { application: 'quic', order: 'oldest' }, { router: 'r1' }, { router: 'r2' }, { router: 'r3' },
  { path: 'r2/wan1' }, { path: 'r2/wan2' }, { closeReason: 'idle' }, { closeReason: 'path-lost' }, { kind: 'interim' }, { kind: 'end' },
  { port: 53 }, { port: 9000, order: 'oldest' }, { sourcePort: 40033 }, { source: '198.18.2.13' }, { source: '198.18.1.0/24' },
  { source: '198.18.0.0/16' }, { destination: '198.18.3.20' }, { destination: '198.18.3.21' }, { destination: '198.18.3.0/24' },
  { from: T0 + 61_000, to: T0 + 125_000 }, { tenant: 'green', from: T0 + 100_000 }, { service: 'web', port: 80, tenant: 'blue' },
  { path: 'r2/wan2', closeReason: 'idle', order: 'oldest' }, { router: 'r3', source: '198.18.1.0/24', to: T0 + 200_000 },
];

async function checkAll(h: SessionHistory, put: readonly SessionRecord[], what: string): Promise<void> {
  for (const q of QUERIES) assert.equal(brief(await all(h, q)), brief(scan(put, q)), `${what}: ${JSON.stringify(q)}`);
  for (const r of put) assert.is((await h.get(r.sessionId))?.endMs, scan(put, {}).find((s) => s.sessionId === r.sessionId)?.endMs, `${what}: get ${r.sessionId}`);
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tm-history-layout-'));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes `rs` in writes of `perWrite`. */
async function write(h: SessionHistory, rs: readonly SessionRecord[], perWrite: number): Promise<void> {
  for (let i = 0; i < rs.length; i++) {
    h.put(rs[i]!);
    if (i % perWrite === perWrite - 1) await h.flush();
  }
  await h.flush();
}

/** records of T0 (2023) kept: the clock at T0 */
const OPTS: HistoryOptions = { retentionMs: 3_600_000, blockRecords: 7, flushRecords: 40, now: () => T0 + 500_000 };

/** A store in `dir` and a history holding records(n), put 33 at a time. */
async function filled(dir: string, n: number, opts: HistoryOptions = OPTS): Promise<{ store: Store; h: SessionHistory; put: SessionRecord[] }> {
  const store = await Store.open(dir);
  const h = await SessionHistory.open(store, opts);
  const put = records(n);
  await write(h, put, 33);
  return { store, h, put };
}

test('every filter answers what a scan of all records answers: blocks of 7 records, several per write, interim records replaced', async () => {
  await withDir(async (dir) => {
    const { store, h, put } = await filled(dir, 300);
    assert.ok(h.counters().batches > 40, `${h.counters().batches} blocks`);
    await checkAll(h, put, 'format 5');
    const keys = await keysOf(index(store));
    assert.ok(!keys.some((k) => k.startsWith('k/')), 'no block in the index database');
    await h.close();
    await store.close();
  });
});

test('postings as runs of rows: a value on every row of a block is one run of a few bytes, not a byte a row; runs read back as rows', async () => {
  assert.equal(decodeRuns(encodeRuns([0, 511])), Array.from({ length: 512 }, (_, i) => i));
  assert.equal(decodeRuns(encodeRuns([3, 3, 5, 300, 302, 302])), [3, ...Array.from({ length: 296 }, (_, i) => 5 + i), 302]);
  await withDir(async (dir) => {
    const store = await Store.open(dir);
    const h = await SessionHistory.open(store, { ...OPTS, blockRecords: 512, flushRecords: 1024 });
    // 1024 records of one tenant, destination and port within one minute: two blocks
    const put = Array.from({ length: 1024 }, (_, i) => makeRecord(i * 3, { endMs: T0 + i, tenant: 'blue' }));
    await write(h, put, 1024);
    const sizes: number[] = [];
    for await (const [, v] of index(store).iterator({ gte: 'p/tenant\0blue\0', lt: 'p/tenant\0blue\x01' })) sizes.push(v.length);
    assert.equal(sizes, [3, 3], 'the tenant\'s posting of each block: one run (0, 511)');
    assert.is((await all(h, { tenant: 'blue', order: 'oldest' })).length, 1024);
    await h.close();
    await store.close();
  });
});

test('records put out of end-time order within a block: its rows sorted by end time, its postings mapped to them', async () => {
  await withDir(async (dir) => {
    const store = await Store.open(dir);
    const h = await SessionHistory.open(store, OPTS);
    const put = records(140);
    // each block's 7 records put newest first (writes of 35: every block is one group of 7)
    const reversed: SessionRecord[] = [];
    for (let i = 0; i < put.length; i += 7) reversed.push(...put.slice(i, i + 7).reverse());
    await write(h, reversed, 35);
    await checkAll(h, put, 'put out of order');
    await h.close();
    await store.close();
  });
});

/** A posting's rows as format 4 wrote them: varints of the gaps between them. */
function rowGaps(rows: readonly number[]): Uint8Array {
  const out: number[] = [];
  let last = 0;
  for (const r of rows) {
    let n = r - last;
    last = r;
    for (; n >= 0x80; n >>>= 7) out.push((n & 0x7f) | 0x80);
    out.push(n);
  }
  return Uint8Array.from(out);
}

/**
 * Turns the closed history in `dir` into the layout of format 4 (filters of the ids' text, postings row by row), 3 (that,
 * and the blocks in the index database) or 2 (no filters, an id key per record).
 */
async function asFormat(dir: string, store: Store, format: 2 | 3 | 4, put: readonly SessionRecord[]): Promise<void> {
  const blocks = blocksDb(dir);
  const ops: ({ type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string })[] = [];
  for await (const [key, value] of blocks.iterator()) {
    if (format !== 4) ops.push({ type: 'put', key, value });
    const block = new Block(value);
    ops.push({ type: 'put', key: filterKey(seqOfKey(key)), value: buildFilter(Array.from({ length: block.rows }, (_, i) => block.id(i))) });
  }
  await blocks.close();
  if (format !== 4) rmSync(join(dir, 'blocks'), { recursive: true });
  for await (const [key, value] of index(store).iterator({ gte: 'p/', lt: 'p0' })) ops.push({ type: 'put', key, value: rowGaps(decodeRuns(value)) });
  ops.push({ type: 'del', key: 'm/indexFrom' }, { type: 'put', key: 'm/format', value: Uint8Array.of(format) });
  if (format !== 4) ops.push({ type: 'del', key: 'm/blocksFrom' });
  if (format === 2) {
    for (const k of await keysOf(index(store))) if (k.startsWith('f/')) ops.push({ type: 'del', key: k });
    for (const r of put) ops.push({ type: 'put', key: `i/${r.sessionId}`, value: new Uint8Array(8) });
  }
  await index(store).batch(ops);
}

for (const format of [4, 3, 2] as const) {
  test(`a history of format ${format} is read (blocks and index as they were), written on, and retired`, async () => {
    await withDir(async (dir) => {
      const store = await Store.open(dir);
      let h = await SessionHistory.open(store, OPTS);
      const old = records(120);
      await write(h, old, 33);
      const oldBlocks = h.counters().batches;
      await h.close();
      await asFormat(dir, store, format, old);
      if (format !== 2) {
        h = await SessionHistory.open(store, { readOnly: true }); // svr inspect of a stopped node of before
        await checkAll(h, old, `format ${format}, read-only`);
        await h.close();
      }
      h = await SessionHistory.open(store, OPTS);
      assert.equal([h.counters().lostAtOpen, h.counters().written], [0, old.length]);
      const put = [...old, ...records(120, 120)];
      await write(h, put.slice(old.length), 33);
      await checkAll(h, put, `format ${format}, then 5`);
      const keys = await keysOf(index(store));
      assert.is(keys.filter((k) => k.startsWith('k/')).length, format === 4 ? 0 : oldBlocks, 'a format-3 history\'s old blocks stay in the index database');
      assert.ok(!keys.some((k) => k.startsWith('i/')) && keys.includes(filterKey(1)), 'format 2: filters made, id keys gone');
      // retention takes the old blocks from the index database and the new ones from theirs
      h.setRetention({ maxBytes: 1 });
      while ((await h.retire()) > 0);
      assert.equal(await all(h, {}), []);
      assert.ok(!(await keysOf(index(store))).some((k) => k.startsWith('k/') || k.startsWith('b/') || k.startsWith('p/')), 'index empty');
      await h.close();
      assert.equal(await blockKeys(dir), [], 'no block left');
      await store.close();
    });
  });
}

test('a history of format 5 (blocks of version 1) is read as it is, written on as format 6 (blocks of version 2), and retired', async () => {
  await withDir(async (dir) => {
    const store = await Store.open(dir);
    let h = await SessionHistory.open(store, { ...OPTS, blockRecords: 24, flushRecords: 24 });
    const old = v1Records();
    await write(h, old, 24);
    await h.close();
    // the same rows as version 1 wrote them, in a history of format 5
    const blocks = blocksDb(dir);
    assert.equal(await keysOf(blocks), [blockKey(1)]);
    assert.is((await blocks.get(blockKey(1)))![0], 2, 'written as version 2');
    await blocks.put(blockKey(1), Buffer.from(BLOCK_V1_HEX, 'hex'));
    await blocks.close();
    await index(store).put('m/format', Uint8Array.of(5));
    h = await SessionHistory.open(store, { readOnly: true });
    await checkAll(h, old, 'format 5, read-only');
    await h.close();
    h = await SessionHistory.open(store, OPTS);
    assert.is((await index(store).get('m/format'))![0], 6, 'format 6 from now on');
    const put = [...old, ...records(120, 24)];
    await write(h, put.slice(old.length), 33);
    await checkAll(h, put, 'format 5, then 6');
    assert.equal(await h.get(old[11]!.sessionId), old[11], 'a version-1 row whole');
    h.setRetention({ maxBytes: 1 });
    while ((await h.retire()) > 0);
    assert.equal(await all(h, {}), []);
    await h.close();
    assert.equal(await blockKeys(dir), [], 'no block left');
    await store.close();
  });
});

test('blocks no manifest names (a crash between the writes) are removed at open; the history reads on', async () => {
  await withDir(async (dir) => {
    const filledWith = await filled(dir, 100, { ...OPTS, retentionBatchesPerStep: 1 });
    const { store, put } = filledWith;
    let h = filledWith.h;
    const last = h.counters().batches;
    h.setRetention({ maxBytes: h.counters().bytes - 1 });
    assert.is(await h.retire(), 1, 'block 1 retired');
    await h.close();
    const blocks = blocksDb(dir);
    await blocks.put(blockKey(1), new Uint8Array(9)); // retired from the index, not from the blocks
    await blocks.put(blockKey(last + 1), new Uint8Array(9)); // written, its index not
    await blocks.close();
    h = await SessionHistory.open(store, OPTS);
    await h.close();
    const left = await blockKeys(dir);
    assert.ok(!left.includes(blockKey(1)) && !left.includes(blockKey(last + 1)) && left.includes(blockKey(2)) && left.includes(blockKey(last)), left.join(' '));
    h = await SessionHistory.open(store, OPTS);
    assert.equal(brief(await all(h, {})), brief(scan(put.filter((r) => r.endMs >= T0 + 7000), {})), 'block 1 (the 7 records that ended first) gone');
    await h.close();
    await store.close();
  });
});

test('a history of a newer format is refused, named, and left as it is', async () => {
  await withDir(async (dir) => {
    const store = await Store.open(dir);
    const h = await SessionHistory.open(store, OPTS);
    await write(h, records(20), 20);
    await h.close();
    await index(store).put('m/format', Uint8Array.of(9));
    for (const readOnly of [false, true]) {
      let err: unknown;
      try {
        await SessionHistory.open(store, { ...OPTS, readOnly });
      } catch (e) {
        err = e;
      }
      assert.ok(isSvrError(err, 'SVR_ERR_HISTORY_STORE'), String(err));
      assert.match((err as Error).message, /format 9, newer than this node's \(6\)/);
    }
    assert.ok((await keysOf(index(store))).includes(filterKey(1)), 'nothing removed');
    await store.close();
  });
});

test.run();
