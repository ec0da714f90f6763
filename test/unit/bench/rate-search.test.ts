/**
 * The sustained case's paced search (bench/rate-search.ts) against a path that passes every rate up to a
 * capacity: it ends within 5 % below the capacity from a seed far below it (the last run's held rate, on a
 * faster build) or above it, in a bounded number of trials, and says when nothing passed; a hold that was not steady
 * is repeated at the rate nextHoldRate gives.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nextHoldRate, searchRate } from '../../../bench/rate-search.js';

function path(capacity: number): { trial: (rate: number) => Promise<boolean>; tried: number[] } {
  const tried: number[] = [];
  return { tried, trial: async (rate) => { tried.push(rate); return rate <= capacity; } };
}

test('from a seed well below the capacity the search climbs to within 5 % of it', async () => {
  for (const [seed, capacity] of [[33_500, 60_000], [9_000, 15_500], [40_000, 41_000], [10_000, 40_000]] as const) {
    const p = path(capacity);
    const { best } = await searchRate(seed, p.trial);
    assert.ok(best !== undefined && best <= capacity && best >= 0.95 * capacity, `seed ${seed}, capacity ${capacity}: ${best} after ${p.tried.join(', ')}`);
    assert.ok(p.tried.length <= 12, `${p.tried.length} trials`);
  }
});

test('from above the capacity it comes down, then closes in; nothing passing says so', async () => {
  const p = path(20_000);
  const { best } = await searchRate(30_000, p.trial);
  assert.ok(best !== undefined && best <= 20_000 && best >= 19_000, `${best} after ${p.tried.join(', ')}`);
  const none = path(100);
  const r = await searchRate(30_000, none.trial);
  assert.is(r.best, undefined);
  assert.is(none.tried.length, 4);
  assert.ok(r.lowest < none.tried[3]!, 'the rate below the last one tried');
});


test('a hold the client could not keep up is held next just under what it sent; lost sessions step 15 % down', () => {
  // the quiet run of 2026-12-07: 17,000/s asked, 978,943 sent in 60 s, one failed -> 15,500/s (the 15 % step gave 14,000)
  assert.is(nextHoldRate(17_000, 978_943 / 60, 1 / 978_943), 15_500);
  assert.is(nextHoldRate(17_000, 978_943 / 60, 0.02), 14_000); // more than 1 % failed: 15 % lower
  assert.is(nextHoldRate(17_000, 16_950, 0), 16_000); // sent nearly all: still at least 500/s lower (and 3 % under)
  assert.is(nextHoldRate(17_000, 9_000, 0), 14_000); // far behind: never below the 15 % step
  assert.is(nextHoldRate(17_000, NaN, 0), 14_000);
  for (let rate = 1_000; rate <= 70_000; rate += 1_500) {
    for (const sent of [0.5, 0.9, 0.96, 0.99, 1].map((k) => k * rate)) {
      const next = nextHoldRate(rate, sent, 0);
      assert.ok(next < rate && next >= Math.min(rate - 500, Math.floor((0.85 * rate) / 500) * 500), `${rate} sent ${sent}: ${next}`);
    }
  }
});

test.run();
