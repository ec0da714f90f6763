/**
 * The session table's flow keys (flow-table.ts slots hold only a row's value; the key words stay in the
 * row): keys of many rows inserted, looked up, moved and removed in random order, checked against a Map of
 * what each key should find, through growth of the flow table and backward-shift deletions.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SessionTable, type SideKey } from '../../../src/dataplane/session-table.js';
import { prng } from '../../support/prng.js';

const src = new Uint32Array(4);
const dst = new Uint32Array(4);

/** The key of flow number n (distinct for distinct n): 198.18.x.y:port -> 198.19.0.1:443, UDP. */
function key(n: number, family: 4 | 6 = 4): SideKey {
  src[0] = (0xc6120000 | (n >>> 6)) >>> 0;
  src[3] = family === 6 ? n : 0;
  dst[0] = 0xc6130001;
  return { family, src, srcOff: 0, dst, dstOff: 0, srcPort: 1024 + (n & 63), dstPort: 443, protocol: 17, ifIndex: 1 };
}

function find(t: SessionTable, n: number, family: 4 | 6 = 4): number {
  return t.ownerOf(key(n, family));
}

test('keys held by rows: 20,000 random inserts, moves and removals agree with a Map', () => {
  const t = new SessionTable(16);
  const rnd = prng(7);
  const want = new Map<number, number>(); // flow number -> row
  const sides = new Map<number, [number, number]>(); // row -> [in flow, out flow]
  let next = 0;
  for (let step = 0; step < 20_000; step++) {
    const op = rnd() * 10;
    if (op < 6 || sides.size === 0) {
      const r = t.alloc(1000);
      const a = next++;
      const b = next++;
      const fam: 4 | 6 = a % 7 === 0 ? 6 : 4;
      assert.ok(t.insertKey(r, 'in', key(a, fam)));
      assert.ok(t.insertKey(r, 'out', key(b, fam)));
      want.set(a * 2 + (fam === 6 ? 1 : 0), r).set(b * 2 + (fam === 6 ? 1 : 0), r);
      sides.set(r, [a * 2 + (fam === 6 ? 1 : 0), b * 2 + (fam === 6 ? 1 : 0)]);
    } else {
      const rows = [...sides.keys()];
      const r = rows[Math.floor(rnd() * rows.length)]!;
      const [a, b] = sides.get(r)!;
      if (op < 8) { // the out side moves to another key (a migration)
        const c = next++;
        const fam: 4 | 6 = (b & 1) === 1 ? 6 : 4;
        assert.ok(t.insertKey(r, 'out', key(c, fam)), 'a key the side had is replaced');
        want.delete(b);
        want.set(c * 2 + (fam === 6 ? 1 : 0), r);
        sides.set(r, [a, c * 2 + (fam === 6 ? 1 : 0)]);
      } else {
        t.remove(r);
        want.delete(a);
        want.delete(b);
        sides.delete(r);
      }
    }
  }
  assert.is(t.v4.size + t.v6.size, want.size, 'one flow entry per key, none left behind');
  for (let n = 0; n < next; n++) {
    for (const fam of [4, 6] as const) {
      const f = find(t, n, fam);
      assert.is(f, want.get(n * 2 + (fam === 6 ? 1 : 0)) ?? -1, `flow ${n} IPv${fam}`);
    }
  }
  assert.ok(t.v4.capacity > 1024, 'the IPv4 flow table grew');
  // most rows removed: the table halves (entries move a few per delete), lookups right all along
  const grown = t.v4.capacity;
  const rows = [...sides.keys()];
  for (let i = 0; i < rows.length - 50; i++) {
    const r = rows[i]!;
    for (const f of sides.get(r)!) want.delete(f);
    sides.delete(r);
    t.remove(r);
    if (i % 97 === 0) for (const [f, row] of want) assert.is(find(t, f >>> 1, (f & 1) === 1 ? 6 : 4), row, `flow ${f >>> 1} while shrinking`);
  }
  assert.ok(t.v4.capacity < grown, `the IPv4 flow table halved (${grown} -> ${t.v4.capacity})`);
  for (let i = 0; i < 6000; i++) { // many inserts while it may still be halving: it grows again, nothing lost
    const r = t.alloc(1000);
    const a = next++;
    const b = next++;
    assert.ok(t.insertKey(r, 'in', key(a)));
    assert.ok(t.insertKey(r, 'out', key(b)));
    want.set(a * 2, r).set(b * 2, r);
  }
  while (t.v4.migrate(1 << 20)) { /* the rest */ }
  assert.is(t.v4.size + t.v6.size, want.size);
  for (const [f, row] of want) assert.is(find(t, f >>> 1, (f & 1) === 1 ? 6 : 4), row);
});

test('session ids: rows found by id through growth, shrinking and removal', () => {
  const t = new SessionTable(16);
  const id = new Uint8Array(16);
  const idOf = (n: number): Uint8Array => {
    new DataView(id.buffer).setUint32(0, 0x5e55_0000 + n);
    new DataView(id.buffer).setUint32(12, n * 2654435761);
    return id;
  };
  const rows: number[] = [];
  for (let n = 0; n < 30_000; n++) {
    const r = t.alloc(0);
    const v = new DataView(idOf(n).buffer);
    for (let w = 0; w < 4; w++) t.uuid[r * 4 + w] = v.getUint32(w * 4);
    t.indexUuid(r);
    rows.push(r);
  }
  for (let n = 0; n < 30_000; n += 7) assert.is(t.rowByUuid(idOf(n), 0), rows[n]!);
  for (let n = 0; n < 29_000; n++) t.remove(rows[n]!);
  assert.ok(t.byUuid.capacity < 65_536, `the id index shrank (${t.byUuid.capacity})`);
  for (let n = 0; n < 30_000; n += 13) assert.is(t.rowByUuid(idOf(n), 0), n < 29_000 ? -1 : rows[n]!, `id ${n}`);
});

test('a key owned by another row is refused and left to it', () => {
  const t = new SessionTable(16);
  const a = t.alloc(0);
  const b = t.alloc(0);
  assert.ok(t.insertKey(a, 'in', key(1)));
  assert.not.ok(t.insertKey(b, 'in', key(1)));
  assert.is(find(t, 1), a);
  t.remove(b);
  assert.is(find(t, 1), a);
  t.remove(a);
  assert.is(find(t, 1), -1);
});

test('placeFreeKey: a new row\'s out key placed only where no row holds it (its own in key included), against a Map', () => {
  const t = new SessionTable(16);
  const rnd = prng(11);
  const want = new Map<number, number>(); // flow number * 2 + (IPv6 ? 1 : 0) -> row
  const live: number[] = [];
  const at = (n: number, fam: 4 | 6): number => n * 2 + (fam === 6 ? 1 : 0);
  for (let step = 0; step < 20_000; step++) {
    if (rnd() < 0.3 && live.length > 0) {
      const i = Math.floor(rnd() * live.length);
      const r = live[i]!;
      live.splice(i, 1);
      for (const [f, row] of want) if (row === r) want.delete(f);
      t.remove(r);
      continue;
    }
    const fam: 4 | 6 = rnd() < 0.15 ? 6 : 4;
    const r = t.alloc(1000);
    const a = Math.floor(rnd() * 3000); // a small key space: many keys are held already
    if (!want.has(at(a, fam))) {
      assert.ok(t.insertKey(r, 'in', key(a, fam)));
      want.set(at(a, fam), r);
    }
    for (let tries = 0; tries < 64; tries++) { // as WanKeys tries port pairs
      const b = rnd() < 0.1 ? a : Math.floor(rnd() * 3000);
      const held = want.has(at(b, fam));
      assert.is(t.placeFreeKey(r, 'out', key(b, fam)), !held, `flow ${b} IPv${fam} ${held ? 'held' : 'free'}`);
      if (!held) {
        want.set(at(b, fam), r);
        break;
      }
    }
    live.push(r);
  }
  assert.is(t.v4.size + t.v6.size, want.size, 'one flow entry per key, none left behind');
  for (let n = 0; n < 3000; n++) {
    for (const fam of [4, 6] as const) assert.is(find(t, n, fam), want.get(at(n, fam)) ?? -1, `flow ${n} IPv${fam}`);
  }
  for (const r of live) t.remove(r);
  assert.is(t.v4.size + t.v6.size, 0, 'a removal takes the placed keys too');
});

test.run();
