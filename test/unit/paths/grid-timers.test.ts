/** GridTimers (paths/grid-timers.ts) on virtual time: rounding up to the grid, one batch per grid point, clears. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GridTimers } from '../../../src/paths/grid-timers.js';
import { VirtualTime } from './virtual-time.js';

function rig(): { vt: VirtualTime; g: GridTimers; fired: [string, number][]; batches: number[] } {
  const vt = new VirtualTime();
  const fired: [string, number][] = [];
  const batches: number[] = [];
  const g = new GridTimers(vt, 10, (fn) => {
    const before = fired.length;
    fn();
    batches.push(fired.length - before);
  });
  return { vt, g, fired, batches };
}

test('due times round up to the grid, never early; callbacks of one grid point run in one batch, in the order set', () => {
  const { vt, g, fired, batches } = rig();
  for (const [name, ms] of [['a', 3], ['b', 10], ['c', 1], ['d', 11], ['e', 0]] as const) g.setTimeout(() => fired.push([name, vt.now()]), ms);
  vt.runFor(100);
  assert.equal(fired, [['e', 0], ['a', 10], ['b', 10], ['c', 10], ['d', 20]]);
  assert.equal(batches, [1, 3, 1], 'one batch per grid point');
  assert.is(vt.pending, 0);
});

test('a cleared timer does not run, also when cleared by a callback of the same grid point; one set from a callback runs a grain later', () => {
  const { vt, g, fired } = rig();
  let second: unknown = null;
  g.setTimeout(() => {
    fired.push(['first', vt.now()]);
    g.clearTimeout(second);
    g.setTimeout(() => fired.push(['again', vt.now()]), 0);
  }, 5);
  second = g.setTimeout(() => fired.push(['second', vt.now()]), 6);
  const gone = g.setTimeout(() => fired.push(['gone', vt.now()]), 30);
  g.clearTimeout(gone);
  vt.runFor(100);
  assert.equal(fired, [['first', 10], ['again', 20]]);
});

test('stop() drops every timer and leaves none behind', () => {
  const { vt, g, fired } = rig();
  g.setTimeout(() => fired.push(['x', vt.now()]), 50);
  g.stop();
  assert.is(vt.pending, 0);
  vt.runFor(100);
  assert.equal(fired, []);
});

test.run();
