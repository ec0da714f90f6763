/**
 * PathRxTotals (src/workers/path-rx.ts): each path's received packets totalled over the workers by name, across
 * swaps to tables that renumber paths; a path the tables no longer have is forgotten (as the single-thread data
 * path forgets it, dataplane/context.ts), so a path added again under its old name starts at 0.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PathRxTotals, type PathNumbering } from '../../../src/workers/path-rx.js';

const numbering = (...names: string[]): PathNumbering => ({ names, ids: new Map(names.map((n, i) => [n, i])) });
const buffer = (...counts: number[]): SharedArrayBuffer => {
  const b = new SharedArrayBuffer(8 * 8);
  new Float64Array(b).set(counts);
  return b;
};

test('a renumbering swap carries each path\'s total by name, over two workers', () => {
  const t = new PathRxTotals();
  const n1 = numbering('a', 'b');
  t.use(0, buffer(5, 7), n1);
  t.use(1, buffer(1, 2), n1);
  const n2 = numbering('b', 'a');
  t.use(0, buffer(10, 20), n2); // worker 0 swapped: its old counts folded in by name
  assert.equal([t.total(0, n2), t.total(1, n2)], [7 + 2 + 10, 5 + 1 + 20]);
  t.ended(1);
  assert.equal([t.total(0, n2), t.total(1, n2)], [7 + 2 + 10, 5 + 1 + 20], 'an ended worker\'s counts stay');
});

test('a removed path is forgotten: added again under its name, its total starts at 0', () => {
  const t = new PathRxTotals();
  t.use(0, buffer(5, 7), numbering('a', 'b'));
  t.use(0, buffer(3), numbering('b')); // a removed
  const n3 = numbering('b', 'a');
  t.use(0, buffer(0, 0), n3); // a added again
  assert.equal([t.total(0, n3), t.total(1, n3)], [7 + 3, 0]);
});

test.run();
