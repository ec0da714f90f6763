/**
 * The HA case's CPU account (bench/ha-episode.ts): from the session test's start until the sync settled, above the
 * idle rates, for one node and the pair alike. Clocks are plain counters the test and the settle advance.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { accountEpisode, idleRates, MACHINE, WALL } from '../../../bench/ha-episode.js';

// [wall, r1 main, r1 all, r2, standby, machine, bench]
const clocks = (standby: number): number[] => [100, 10, 20, 30, standby, 500, 5];
const advance = (c: number[], by: readonly number[]): void => { by.forEach((x, i) => { c[i] = c[i]! + x; }); };

test('the idle rate is per wall second for every clock but the wall', () => {
  const r = idleRates([10, 1, 2, 3, 4, 5, 6], [12, 1.2, 2.4, 3, 5, 9, 6.2]);
  assert.equal(r.map((x) => Number(x.toFixed(6))), [1, 0.1, 0.2, 0, 0.5, 2, 0.1]);
});

test('the pair: the standby\'s applying after the test counts, the idle rate is taken off for the whole episode', async () => {
  const c = clocks(40);
  const idle = [1, 0.01, 0.02, 0.01, 0.01, 0.5, 0.01];
  const e = await accountEpisode(() => [...c], idle, async () => {
    advance(c, [5, 2, 3, 1, 0.5, 9, 0.2]); // the 5 s test
  }, async () => {
    advance(c, [2, 0.1, 0.2, 0.02, 1.5, 3, 0.02]); // 2 s until the standby holds every session: it applies 1.5 s
  });
  assert.is(e.testSeconds, 5);
  assert.is(e.settleSeconds, 2);
  assert.is(e.delta[WALL], 7);
  // the standby: 0.5 + 1.5 s, less 7 s of its idle 0.01 s/s; over the test alone it was 0.45
  assert.ok(Math.abs(e.delta[4]! - (2 - 0.07)) < 1e-9, `standby ${e.delta[4]}`);
  assert.ok(Math.abs(e.testDelta[4]! - (0.5 - 0.05)) < 1e-9, `standby during the test ${e.testDelta[4]}`);
  assert.ok(Math.abs(e.delta[1]! - (2.1 - 0.07)) < 1e-9);
  assert.ok(Math.abs(e.delta[2]! - (3.2 - 0.14)) < 1e-9);
  // the machine's busy time is everything on it: nothing subtracted
  assert.ok(Math.abs(e.delta[MACHINE]! - 12) < 1e-9);
});

test('one node: no standby clock (NaN stays NaN), the others accounted until its settle', async () => {
  const c = clocks(NaN);
  const idle = idleRates([0, 0, 0, 0, NaN, 0, 0], [3, 0.03, 0.06, 0.03, NaN, 1.5, 0.03]);
  let reads = 0;
  const e = await accountEpisode(() => [...c], idle, async () => { advance(c, [5, 2, 3, 1, 0, 9, 0.2]); }, async () => { reads++; advance(c, [0.5, 0.01, 0.01, 0, 0, 0.4, 0]); });
  assert.is(reads, 1);
  assert.ok(Number.isNaN(e.delta[4]!));
  assert.ok(Math.abs(e.delta[1]! - (2.01 - 0.055)) < 1e-9);
  assert.ok(Math.abs(e.delta[WALL]! - 5.5) < 1e-9);
});

test('the test\'s result is passed through and the settle runs after it', async () => {
  const order: string[] = [];
  const e = await accountEpisode(() => [0, 0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0, 0], async () => { order.push('test'); return 42; }, async () => { order.push('settled'); });
  assert.is(e.result, 42);
  assert.equal(order, ['test', 'settled']);
});

test.run();
