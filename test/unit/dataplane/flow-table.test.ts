/**
 * The flow table (flow-table.ts) against a Map: random sets, replacements, adds (kept when present), deletes and lookups through its
 * growth and halving, a cluster longer than a distance byte holds (DIST_FAR), and the keys a lookup and a
 * delete read: only their own (the following entries' homes come from their distance bytes, not their rows).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FlowTable, flowHash, type FlowKeys } from '../../../src/dataplane/flow-table.js';
import { rowMemory } from '../../../src/dataplane/row-memory.js';
import { prng } from '../../support/prng.js';

const KW = 4;

/** A table whose values name rows of `rows` (value % rows: key words at row * KW), counting the key reads. */
function table(rows: number, initial = 16): { t: FlowTable; keyWords: Uint32Array; reads: { n: number } } {
  const keyWords = new Uint32Array(rows * KW);
  const reads = { n: 0 };
  const keys: FlowKeys = {
    keyOffset: 0,
    keyArray: (value: number): Uint32Array => {
      reads.n++;
      keys.keyOffset = (value % rows) * KW;
      return keyWords;
    },
  };
  return { t: new FlowTable(KW, keys, initial), keyWords, reads };
}

function load(t: FlowTable, keyWords: Uint32Array, row: number): void {
  for (let i = 0; i < KW; i++) t.key[i] = keyWords[row * KW + i]!;
}

test('random sets, adds, deletes and lookups agree with a Map through growth and halving', () => {
  const rnd = prng(19);
  const rows = 6000;
  const { t, keyWords } = table(rows);
  const model = new Map<number, number>(); // row -> value stored for the row's key
  const check = (row: number): void => {
    load(t, keyWords, row);
    assert.is(t.get(), model.get(row) ?? -1, `row ${row}`);
  };
  for (let r = 0; r < rows; r++) for (let i = 0; i < KW; i++) keyWords[r * KW + i] = Math.floor(rnd() * 2 ** 32);
  for (let round = 0; round < 4; round++) {
    const target = round % 2 === 0 ? rows * 0.7 : 40; // fill (the table doubles), then drain (it halves)
    for (let step = 0; step < 30_000; step++) {
      const r = Math.floor(rnd() * rows);
      load(t, keyWords, r);
      const grow = model.size < target ? 0.7 : 0.3;
      const op = rnd();
      if (op < grow) {
        const v = Math.floor(rnd() * 1024) * rows + r;
        if (rnd() < 0.5) { // replaced when present
          t.set(v, 0);
          model.set(r, v);
        } else { // kept when present (also while it waits in the old slots of a resize)
          assert.is(t.add(v, 0), model.get(r) ?? -1, `add ${r}`);
          if (!model.has(r)) model.set(r, v);
        }
      } else if (op < 0.95) {
        assert.is(t.delete(), model.get(r) ?? -1, `delete ${r}`);
        model.delete(r);
      } else t.migrate(Math.floor(rnd() * 64));
      if (step % 997 === 0) for (let k = 0; k < rows; k += 7) check(k);
    }
    assert.is(t.size, model.size, `round ${round}: one entry per key`);
  }
  for (let r = 0; r < rows; r++) check(r);
});

test('a cluster past the distance bytes\' reach: entries beyond the distance bytes are found, shifted back and moved by a halving', () => {
  const { t, keyWords } = table(1024);
  // 400 keys with one home slot in every size up to 1,024 slots (the table grows to 1,024: 3/4 of 512 is 384)
  const k = new Uint32Array(KW);
  let n = 0;
  for (let x = 1; n < 400; x++) {
    k[0] = x;
    k[1] = 0x5e55;
    if ((flowHash(k, 0, KW) & 1023) !== 77) continue;
    keyWords.set(k, n * KW);
    load(t, keyWords, n);
    t.set(n, 0);
    n++;
  }
  while (t.migrate(1 << 20)) { /* the growth's rest */ }
  assert.is(t.capacity, 1024);
  const check = (what: string): void => {
    for (let r = 0; r < n; r++) {
      load(t, keyWords, r);
      assert.is(t.get(), r % 3 === 2 ? r : -1, `${what}: row ${r}`);
    }
  };
  for (let r = 0; r < n; r++) { // two of three from the front: every later entry shifts back
    if (r % 3 === 2) continue;
    load(t, keyWords, r);
    assert.is(t.delete(), r);
  }
  check('after the deletes');
  while (t.migrate(1 << 20)) { /* the halving's rest */ }
  assert.is(t.capacity, 512, 'halved: 133 entries, below 3/16 of 1,024');
  check('after the halving');
});

test('a lookup and a delete read only their own key: the entries after it find their homes without their rows', () => {
  const rnd = prng(5);
  const rows = 20_000;
  const { t, keyWords, reads } = table(rows, 32_768);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < KW; i++) keyWords[r * KW + i] = Math.floor(rnd() * 2 ** 32);
    load(t, keyWords, r);
    t.set(r, 0);
  }
  assert.is(t.capacity, 32_768, 'no resize: 61 % full');
  // a key not in the table (a new session's first lookup): a slot whose hash bits match but which sits at
  // another distance from its home than this one from the key's is not the key, and its row is not read
  reads.n = 0;
  for (let n = 0; n < 20_000; n++) {
    for (let i = 0; i < KW; i++) t.key[i] = Math.floor(rnd() * 2 ** 32);
    assert.is(t.get(), -1);
  }
  assert.ok(reads.n / 20_000 < 0.1, `rows read per lookup that misses: ${(reads.n / 20_000).toFixed(3)}`);
  let deletes = 0;
  let matches = 0;
  reads.n = 0;
  for (let r = 0; r < rows; r += 2) {
    load(t, keyWords, r);
    const before = reads.n;
    assert.is(t.get(), r);
    matches += reads.n - before; // the lookup's compares: the key itself and the 3-bit tag's false matches
    assert.is(t.delete(), r);
    deletes++;
  }
  const perDelete = (reads.n - 2 * matches) / deletes;
  assert.ok(perDelete < 0.05, `rows read per delete beyond its own compares: ${perDelete.toFixed(2)}`);
});

test('a doubling reads no row of an entry placed since the last resize, a second one those the first moved', () => {
  const rnd = prng(21);
  const rows = 40_000;
  const { t, keyWords, reads } = table(rows, 16_384);
  const fill = (from: number, to: number): void => {
    for (let r = from; r < to; r++) {
      for (let i = 0; i < KW; i++) keyWords[r * KW + i] = Math.floor(rnd() * 2 ** 32);
      load(t, keyWords, r);
      t.set(r, 0);
    }
  };
  /** rows read while the resize that the next insert starts moves its entries (the insert's own probe aside) */
  const doubling = (row: number): number => {
    fill(row, row + 1);
    assert.ok(t.resizing);
    reads.n = 0;
    while (t.migrate(1 << 20)) { /* the rest */ }
    return reads.n;
  };
  fill(0, 12_288); // 3/4 of 16 Ki
  const far = 12_288 * 0.01; // entries 31 or more slots from home read their row (0.4 % at 3/4 full)
  const first = doubling(12_288);
  assert.ok(first <= far, `entries placed by inserts: their hint has the bit: ${first} rows read`);
  fill(12_289, 24_576); // 3/4 of 32 Ki: half of the entries were moved by the first doubling
  const second = doubling(24_576);
  assert.ok(second <= far * 2, `the first doubling's entries keep a bit for the second: ${second} rows read`);
  fill(24_577, 39_000); // a third doubling: the first 12,288 used up their 2 bits and read their rows
  while (t.migrate(1 << 20)) { /* finish growing */ }
  for (let r = 0; r < 39_000; r += 13) {
    load(t, keyWords, r);
    assert.is(t.get(), r, `row ${r} after three doublings`);
  }
});

test('kept misses: a second look and an insert after a miss agree with a Map while other keys come and go', () => {
  const rnd = prng(23);
  const rows = 3000;
  const { t, keyWords } = table(rows);
  const model = new Map<number, number>();
  for (let r = 0; r < rows; r++) for (let i = 0; i < KW; i++) keyWords[r * KW + i] = Math.floor(rnd() * 2 ** 32);
  const looked = new Int32Array(8).fill(-1); // memo entry -> the row last looked up under it
  for (let step = 0; step < 200_000; step++) {
    const op = rnd();
    const m = Math.floor(rnd() * 8);
    // mostly a key looked up under m before (a packet's second look, or its insert), else any
    const r = looked[m]! >= 0 && rnd() < 0.7 ? looked[m]! : Math.floor(rnd() * rows);
    load(t, keyWords, r);
    if (op < 0.35) {
      assert.is(t.get(m), model.get(r) ?? -1, `look ${r} under ${m}`);
      looked[m] = r;
    } else if (op < 0.45) {
      assert.is(t.get(m + 8), model.get(r) ?? -1, `look ${r} under ${m + 8} (another entry, or a memo of another key)`);
    } else if (op < 0.75 && model.size < rows * 0.7) {
      const v = Math.floor(rnd() * 1024) * rows + r;
      if (rnd() < 0.5) {
        assert.is(t.add(v, 0), model.get(r) ?? -1, `add ${r}`);
        if (!model.has(r)) model.set(r, v);
      } else {
        t.set(v, 0);
        model.set(r, v);
      }
    } else if (op < 0.98) {
      assert.is(t.delete(), model.get(r) ?? -1, `delete ${r}`);
      model.delete(r);
    } else t.migrate(Math.floor(rnd() * 64));
  }
  assert.is(t.size, model.size);
  for (let r = 0; r < rows; r++) {
    load(t, keyWords, r);
    assert.is(t.get(), model.get(r) ?? -1, `row ${r} at the end`);
  }
});

test('a kept miss spares the second probe: no row read by the second look and the insert in a long cluster', () => {
  const { t, keyWords, reads } = table(64, 1024);
  // 41 keys with one home and one tag: a probe for a missing one reads every row of the cluster
  const k = new Uint32Array(KW);
  let n = 0;
  let tag = -1;
  for (let x = 1; n < 41; x++) {
    k[0] = x;
    k[1] = 0xbee;
    const h = flowHash(k, 0, KW);
    const hashBits = 1 + (((h >>> 24) * 7) >>> 8); // the 3 bits a slot keeps (flow-table.ts tagOf)
    if ((h & 1023) !== 5 || (tag >= 0 && hashBits !== tag)) continue;
    tag = hashBits;
    keyWords.set(k, n * KW);
    n++;
  }
  for (let r = 0; r < 40; r++) {
    load(t, keyWords, r);
    t.set(r, 0);
  }
  load(t, keyWords, 40);
  reads.n = 0;
  assert.is(t.get(3), -1);
  const probe = reads.n;
  assert.ok(probe >= 20, `the first look reads the cluster's rows: ${probe}`);
  load(t, keyWords, 40);
  assert.is(t.get(3), -1, 'the second look under the same memo');
  assert.is(t.add(40, 0), -1, 'the insert after it');
  assert.is(reads.n, probe, 'no row read after the first look');
  load(t, keyWords, 40);
  assert.is(t.get(), 40, 'placed where a probe finds it');
  load(t, keyWords, 39); // a delete in the cluster: a kept miss there no longer holds
  t.delete();
  load(t, keyWords, 39);
  assert.is(t.get(7), -1);
  load(t, keyWords, 0);
  t.delete();
  load(t, keyWords, 39);
  const before = reads.n;
  assert.is(t.add(39, 0), -1);
  assert.ok(reads.n > before, 'probed again after a delete');
  load(t, keyWords, 39);
  assert.is(t.get(), 39);
});

test('a table halved and doubled again finds every key: the hash bits a halving learns keep their order', () => {
  // a halving adds the old home's top bit as the lowest known bit above the new home; a later doubling takes
  // the new home's top bit from there (hint & 1): with the known bits out of order ~0.5 % of the keys were lost
  const rnd = prng(23);
  const rows = 20_000;
  const { t, keyWords } = table(rows);
  for (let i = 0; i < keyWords.length; i++) keyWords[i] = Math.floor(rnd() * 2 ** 32);
  const live = new Set<number>();
  const settle = (): void => {
    while (t.migrate(1 << 20));
  };
  const missing = (): number => {
    let n = 0;
    for (const r of live) {
      load(t, keyWords, r);
      if (t.get() !== r) n++;
    }
    return n;
  };
  for (let cycle = 0; cycle < 3; cycle++) {
    for (let r = 0; r < rows; r++) {
      if (live.has(r)) continue;
      load(t, keyWords, r);
      t.set(r, 0);
      live.add(r);
    }
    settle();
    assert.is(missing(), 0, `filled to ${rows}, cycle ${cycle}`);
    for (const r of [...live]) {
      if (live.size <= 200) break;
      load(t, keyWords, r);
      assert.is(t.delete(), r);
      live.delete(r);
    }
    settle();
    assert.is(missing(), 0, `drained to 200, cycle ${cycle}`);
  }
});

test('one buffer a size for the slots and their distance bytes: filled past 64 Ki slots, drained, refilled', () => {
  // the slots and their distance bytes share one buffer in groups of 4 (one cache line a probe, not two arrays):
  // every resize reserves one buffer of 5 bytes a slot, and keys stay found while a reserved buffer moves
  // through doublings, halvings (its pages given back) and a refill with other keys, looked up mid-move
  const rnd = prng(29);
  const rows = 120_000;
  const { t, keyWords } = table(rows);
  const fillKeys = (r: number): void => {
    for (let i = 0; i < KW; i++) keyWords[r * KW + i] = Math.floor(rnd() * 2 ** 32);
  };
  const reserves: number[] = [];
  const reserve = rowMemory?.reserve;
  if (rowMemory !== null) {
    rowMemory.reserve = (bytes: number): ArrayBuffer => {
      reserves.push(bytes);
      return reserve!(bytes);
    };
  }
  try {
    const live = new Set<number>();
    const gone = new Set<number>();
    const check = (what: string): void => {
      let lost = 0, stale = 0;
      for (const r of live) {
        load(t, keyWords, r);
        if (t.get() !== r) lost++;
      }
      for (const r of gone) {
        load(t, keyWords, r);
        if (t.get() !== -1) stale++;
      }
      assert.is(lost, 0, `${what}: live keys not found`);
      assert.is(stale, 0, `${what}: deleted keys found`);
    };
    for (let cycle = 0; cycle < 2; cycle++) {
      for (let r = 0; r < rows; r++) {
        if (live.has(r)) continue;
        fillKeys(r); // a refill brings other keys for the same rows
        gone.delete(r);
        load(t, keyWords, r);
        assert.is(t.get(r), -1);
        assert.is(t.add(r, 0), -1);
        live.add(r);
        if (r % 10_000 === 0) check(`filling, cycle ${cycle}, row ${r}${t.resizing ? ', moving' : ''}`);
      }
      check(`filled to ${rows}, cycle ${cycle}`);
      for (let r = 0; r < rows - 100; r++) {
        load(t, keyWords, r);
        assert.is(t.delete(), r);
        live.delete(r);
        if (r % 5_000 === 0) gone.add(r); // a sample of the deleted keys, looked up as they stay gone
        if (r % 10_000 === 0) check(`draining, cycle ${cycle}, row ${r}${t.resizing ? ', moving' : ''}`);
      }
      while (t.migrate(1 << 20));
      check(`drained to 100, cycle ${cycle}`);
      assert.is(t.bytes, 5 * t.capacity);
    }
    if (rowMemory !== null) {
      const reservedSizes = reserves.filter((b) => b >= 5 * (1 << 16));
      assert.ok(reservedSizes.length >= 4, `resizes of reserved sizes: ${reservedSizes.length}`);
      for (const b of reserves) assert.ok(b % 5 === 0 && Number.isInteger(Math.log2(b / 5)), `a resize reserved ${b} B, not 5 B a slot in one buffer`);
    }
  } finally {
    if (rowMemory !== null) rowMemory.reserve = reserve!;
  }
});

test('a batch hashed and touched first, then probed (getHashed): the answers get gives, keys sharing 4 homes, while the table doubles', () => {
  const rnd = prng(29);
  const rows = 1024;
  const { t, keyWords } = table(rows, 1024);
  const k = new Uint32Array(KW);
  for (let r = 0, x = 1; r < rows; x++) { // rows 0-255: homes 0-3 of the 1,024 slots; the others anywhere
    for (let i = 0; i < KW; i++) k[i] = Math.floor(rnd() * 2 ** 32);
    if (r >= 256 || (flowHash(k, 0, KW) & 1023) < 4) keyWords.set(k, KW * r++);
  }
  const hashes = new Uint32Array(256);
  const batch = (present: (r: number) => boolean, what: string): void => {
    for (let r = 0; r < 256; r++) {
      load(t, keyWords, r);
      hashes[r] = t.keyHash();
      assert.is(hashes[r], flowHash(keyWords, r * KW, KW));
    }
    for (let r = 0; r < 256; r++) t.touch(hashes[r]!);
    for (let r = 0; r < 256; r++) {
      load(t, keyWords, r);
      assert.is(t.getHashed(hashes[r]!, r), present(r) ? r : -1, `${what}: row ${r}`);
    }
  };
  for (let r = 0; r < 256; r += 2) {
    load(t, keyWords, r);
    t.set(r, 0);
  }
  batch((r) => r % 2 === 0, 'half in');
  for (let r = 1; r < 256; r += 2) { // each missing key's kept miss takes its insert
    load(t, keyWords, r);
    assert.is(t.getHashed(flowHash(keyWords, r * KW, KW), r), -1);
    assert.is(t.add(r, 0), -1);
  }
  batch(() => true, 'all in');
  for (let r = 256; r < 800; r++) {
    load(t, keyWords, r);
    t.set(r, 0);
  }
  assert.ok(t.resizing, 'doubling');
  batch(() => true, 'while doubling');
  for (let r = 0; r < 256; r += 3) {
    load(t, keyWords, r);
    t.delete();
  }
  batch((r) => r % 3 !== 0, 'a third deleted');
});

test.run();
