/**
 * The first packet's batch pairs (bench/paired-batches.ts, used by bench/routing.ts --first-packet-json): each
 * batch timed alone on both sides in alternating order, warm-up runs left out, and a burst of another thread's
 * CPU in a few batches (what moved a whole run's sum 0.3-2.7× at load 15) leaves the median at the sides' ratio.
 * A fake clock: no timing here.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WARMUP, pairedBatches, type Feed } from '../../../bench/paired-batches.js';

/** A clock advanced by the feeds: side a costs 100 a batch, b 101; `bursts` adds 5,000 to every 7th batch fed. */
function fakeSides(bursts: boolean, warmupCost = 0) {
  let now = 0;
  let fed = 0;
  let runs = 0;
  const order: string[] = [];
  const side = (name: string, cost: number) => (): Feed => {
    const run = name === 'a' ? runs++ : runs - 1;
    return (k) => {
      order.push(`${name}${k}`);
      now += cost + (run < WARMUP ? warmupCost : 0) + (bursts && ++fed % 7 === 0 ? 5000 : 0);
    };
  };
  return { a: side('a', 100), b: side('b', 101), clock: () => now, order };
}

test('the median of the batch pairs is the sides\' ratio, bursts in a few batches left out', () => {
  const f = fakeSides(true);
  const p = pairedBatches(f.a, f.b, 5, 10, f.clock, () => {});
  assert.is(p.ratios.length, 50, 'warm-up runs not counted');
  assert.ok(Math.abs(p.medianRatio - 1.01) < 1e-9, `median ${p.medianRatio}`);
  assert.ok(p.ratios.some((r) => r > 10 || r < 0.1), 'a burst did land in some pairs');
});

test('which side goes first alternates by batch and by run', () => {
  const f = fakeSides(false);
  pairedBatches(f.a, f.b, 1, 2, f.clock, () => {});
  assert.equal(f.order, ['a0', 'b0', 'b1', 'a1', 'b0', 'a0', 'a1', 'b1', 'a0', 'b0', 'b1', 'a1']);
});

test('warm-up runs count in neither the ratios nor the median batch of each', () => {
  const f = fakeSides(false, 1000);
  const p = pairedBatches(f.a, f.b, 3, 4, f.clock, () => {});
  assert.is(p.aMedian, 100);
  assert.is(p.bMedian, 101);
  assert.ok(p.ratios.every((r) => Math.abs(r - 1.01) < 1e-9));
});

test.run();
