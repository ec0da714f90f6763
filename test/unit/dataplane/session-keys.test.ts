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

test.run();
