/**
 * The sustained case's paced search (bench/rate-search.ts) against a path that passes every rate up to a
 * capacity: it ends within 5 % below the capacity from a seed far below it (the last run's held rate, on a
 * faster build) or above it, in a bounded number of trials, and says when nothing passed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { searchRate } from '../../../bench/rate-search.js';

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

test.run();
