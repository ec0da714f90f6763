/**
 * The standby's replica (ha/replica.ts): records applied from framed state batches, by kind and key, in typed
 * arrays: upserts replace, deletes remove (the index stays right through thousands of random operations
 * against a Map), a purge drops the records of a kind whose value starts with its key, short (IPv4 row) and
 * long (IPv6 row) values in their cells, longer values kept whole, a key over 16 bytes refused and counted; a
 * replica grows keeping every record, hands freed slots out again, and starts from nothing after `clear`; values
 * of every length up to a cell's are copied whole; growing makes a page of slots when its first is handed out and
 * never copies the slots made before; its pages are outside V8's count of external memory.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SHORT_CELL, SyncReplica, VALUE_SLOT } from '../../../src/ha/replica.js';
import { OP_DELETE, OP_PURGE, OP_UPSERT, frameRecords, type SyncRecord } from '../../../src/ha/sync-wire.js';
import { MAX_ROW_BYTES } from '../../../src/dataplane/session-rows.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const up = (kind: number, key: number[], value: number[]): SyncRecord => ({ kind, op: OP_UPSERT, key: Uint8Array.from(key), value: Uint8Array.from(value) });
const del = (kind: number, key: number[]): SyncRecord => ({ kind, op: OP_DELETE, key: Uint8Array.from(key), value: new Uint8Array(0) });

test('upserts replace, deletes remove, per kind; a purge drops the values that start with its key', () => {
  const r = new SyncReplica();
  r.apply(frameRecords([up(1, [1], [0, 10]), up(1, [2], [1, 20]), up(1, [3], [0, 30]), up(2, [1], [0, 99]), up(1, [1], [0, 11])]));
  assert.is(r.size, 4);
  assert.equal([r.count(1), r.count(2)], [3, 1]);
  assert.is(hex(r.get(1, Uint8Array.of(1))!), '000b', 'the later upsert replaced the first');
  assert.is(hex(r.get(2, Uint8Array.of(1))!), '0063', 'the same key of another kind is another record');
  r.apply(frameRecords([del(1, [2]), del(1, [9])]));
  assert.is(r.get(1, Uint8Array.of(2)), undefined);
  assert.is(r.count(1), 2, 'an unknown key deleted: nothing');
  r.apply(frameRecords([{ kind: 1, op: OP_PURGE, key: Uint8Array.of(0), value: new Uint8Array(0) }]));
  assert.equal([r.count(1), r.count(2)], [0, 1], 'kind 1 values starting with 0 purged, kind 2 kept');
  assert.ok(1 + MAX_ROW_BYTES <= VALUE_SLOT, 'a session record (worker and row) fits a slot');
  const long = Array.from({ length: VALUE_SLOT + 40 }, (_, i) => i & 0xff);
  r.apply(frameRecords([up(3, [7, 7], long), up(3, Array.from({ length: 17 }, () => 1), [1])]));
  assert.equal([...r.get(3, Uint8Array.of(7, 7))!], long, 'a value longer than a slot kept whole');
  assert.is(r.refused, 1, 'a 17-byte key refused');
  const seen: string[] = [];
  r.forEach(3, (k, v) => seen.push(`${hex(k)}:${v.length}`));
  assert.equal(seen, [`0707:${VALUE_SLOT + 40}`]);
  r.clear();
  assert.equal([r.size, r.count(2)], [0, 0]);
});

test('a value up to SHORT_CELL bytes (an IPv4 session row) and a longer one (IPv6) each keep their bytes, also when an upsert changes its length', () => {
  const r = new SyncReplica();
  const bytes = (n: number, seed: number): number[] => Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);
  const sizes = [1, 129, SHORT_CELL, SHORT_CELL + 1, 201, VALUE_SLOT];
  r.apply(frameRecords(sizes.map((n, k) => up(1, [k], bytes(n, k)))));
  sizes.forEach((n, k) => assert.equal([...r.get(1, Uint8Array.of(k))!], bytes(n, k), `${n} bytes`));
  r.apply(frameRecords([up(1, [1], bytes(201, 9)), up(1, [4], bytes(129, 8))])); // short to long, long to short
  assert.equal([...r.get(1, Uint8Array.of(1))!], bytes(201, 9));
  assert.equal([...r.get(1, Uint8Array.of(4))!], bytes(129, 8));
  assert.equal([...r.get(1, Uint8Array.of(5))!], bytes(VALUE_SLOT, 5), 'its neighbours untouched');
});

test('thousands of random upserts and deletes over 16-byte keys: the replica agrees with a Map', () => {
  const r = new SyncReplica();
  const model = new Map<string, string>();
  let seed = 7;
  const rand = (n: number): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 8) % n; };
  for (let round = 0; round < 40; round++) {
    const batch: SyncRecord[] = [];
    for (let i = 0; i < 200; i++) {
      const id = rand(3000);
      const key = Array.from({ length: 16 }, (_, b) => (b < 12 ? 0 : (id >>> ((15 - b) * 8)) & 0xff));
      if (rand(3) === 0) {
        batch.push(del(1, key));
        model.delete(hex(Uint8Array.from(key)));
      } else {
        const value = [rand(256), rand(256), round];
        batch.push(up(1, key, value));
        model.set(hex(Uint8Array.from(key)), hex(Uint8Array.from(value)));
      }
    }
    r.apply(frameRecords(batch));
  }
  assert.is(r.size, model.size);
  for (const [k, v] of model) assert.is(hex(r.get(1, Buffer.from(k, 'hex'))!), v);
  let n = 0;
  r.forEach(1, (k, v) => { n++; assert.is(model.get(hex(k)), hex(v)); });
  assert.is(n, model.size);
});

test('grown, after deletes and after clear: every record kept, freed slots reused, values of every length whole', () => {
  const r = new SyncReplica(); // 4,096 slots a page: 9,000 records on three pages
  const key = (id: number): number[] => Array.from({ length: 16 }, (_, b) => (b < 12 ? 0xaa : (id >>> ((15 - b) * 8)) & 0xff));
  const value = (id: number): number[] => Array.from({ length: 1 + (id % SHORT_CELL) }, (_, i) => (id * 31 + i) & 0xff);
  const model = new Map<number, number[]>();
  const put = (ids: number[]): void => {
    r.apply(frameRecords(ids.map((id) => up(1, key(id), value(id)))));
    for (const id of ids) model.set(id, value(id));
  };
  const check = (what: string): void => {
    assert.is(r.size, model.size, what);
    for (const [id, v] of model) assert.equal([...r.get(1, Uint8Array.from(key(id)))!], v, `${what}: record ${id}`);
    let n = 0;
    r.forEach(1, (k, v) => { n++; assert.equal([...v], model.get((k[12]! << 24 | k[13]! << 16 | k[14]! << 8 | k[15]!) >>> 0), what); });
    assert.is(n, model.size, `${what}: forEach visits each record once`);
  };
  for (let b = 0; b < 45; b++) put(Array.from({ length: 200 }, (_, i) => b * 200 + i));
  check('grown to three pages');
  const gone = Array.from({ length: 1000 }, (_, i) => i * 3);
  r.apply(frameRecords(gone.map((id) => del(1, key(id)))));
  for (const id of gone) model.delete(id);
  put(Array.from({ length: 1000 }, (_, i) => 10_000 + i)); // into the freed slots
  check('freed slots used again');
  r.clear();
  model.clear();
  assert.is(r.get(1, Uint8Array.from(key(1))), undefined, 'nothing after clear');
  put([5, 6, 7]);
  r.forEach(1, () => {});
  check('after clear');
});

test('growing to 50,000 records makes one page of slots per 4,096 and copies none of them', () => {
  const made: number[] = []; // the words of every Uint32Array made while the replica grows
  const Real = globalThis.Uint32Array;
  const rows = Array.from({ length: 250 }, (_, b) => frameRecords(Array.from({ length: 200 }, (_, i) => {
    const id = b * 200 + i;
    return up(1, Array.from({ length: 16 }, (_, k) => (k < 12 ? 0x11 : (id >>> ((15 - k) * 8)) & 0xff)), [id & 0xff, 1, 2]);
  })));
  const r = new SyncReplica();
  globalThis.Uint32Array = new Proxy(Real, {
    construct: (target, args: [number | ArrayBufferLike]) => {
      const a = new target(...(args as [ArrayBufferLike]));
      made.push(a.length);
      return a;
    },
  });
  try {
    for (const batch of rows) r.apply(batch);
  } finally {
    globalThis.Uint32Array = Real;
  }
  assert.is(r.size, 50_000);
  const pages = Math.ceil(50_000 / 4096);
  assert.is(made.length, pages, 'a page of slots per 4,096 records, nothing else');
  assert.ok(made.every((n) => n === made[0]), `pages of one size: ${made.join(', ')}`);
  assert.is(hex(r.get(1, Uint8Array.from([...Array(12).fill(0x11), 0, 0, 0xc3, 0x4f]))!), '4f0102', 'record 49,999 found');
});

test("a replica filling up adds nothing to V8's external memory (its pages would start mark-compacts on a standby)", () => {
  const rows = Array.from({ length: 500 }, (_, b) => frameRecords(Array.from({ length: 200 }, (_, i) => {
    const id = b * 200 + i;
    return up(1, Array.from({ length: 16 }, (_, k) => (k < 12 ? 0x22 : (id >>> ((15 - k) * 8)) & 0xff)), Array.from({ length: 129 }, (_, k) => (id + k) & 0xff));
  })));
  const r = new SyncReplica();
  const before = process.memoryUsage().external;
  for (const batch of rows) r.apply(batch);
  const grown = process.memoryUsage().external - before;
  assert.is(r.size, 100_000);
  // 100,000 IPv4 session rows take about 17 MB of pages and index here; as ArrayBuffers all of it counted
  assert.ok(grown < 2 << 20, `external memory grew ${(grown / 1048576).toFixed(1)} MB`);
});

test.run();
