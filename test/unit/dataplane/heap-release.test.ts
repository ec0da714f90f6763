/**
 * heap-release.ts: when a drained session table asks V8 for its heap back. DrainWatch decides on the sweeps'
 * reports; releaseHeap (native/heap-release.cc) starts an incremental memory-reducing collection that shrinks
 * the young generation once the event loop has run its steps (bench/memory.ts measures it at a 1 M limit).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getHeapSpaceStatistics } from 'node:v8';
import { DrainWatch, RELEASE_MIN_INTERVAL_MS, RELEASE_MIN_PEAK, releaseHeap } from '../../../src/dataplane/heap-release.js';

test('a drain to half the peak releases once the sweep settled, then the peak starts again from there', () => {
  const w = new DrainWatch();
  const t = RELEASE_MIN_INTERVAL_MS;
  assert.is(w.drained(100_000, t, true), false, 'filling');
  assert.is(w.drained(60_000, t, true), false, 'above half the peak');
  assert.is(w.drained(50_000, t, false), false, 'at half, but the sweep left rows due (or indexes to move)');
  assert.is(w.drained(50_000, t, true), true, 'at half and settled');
  assert.is(w.drained(25_000, 2 * t, true), true, 'half of the new peak (50,000), an interval later');
  assert.is(w.drained(0, 3 * t, true), true, 'empty: half of 25,000');
  assert.is(w.drained(0, 4 * t, true), false, 'nothing drained since');
});

test('a small table and a table oscillating around half its peak do not collect again and again', () => {
  const small = new DrainWatch();
  assert.is(small.drained(RELEASE_MIN_PEAK - 1, 0, true), false);
  assert.is(small.drained(0, RELEASE_MIN_INTERVAL_MS, true), false, 'a peak below RELEASE_MIN_PEAK');
  const w = new DrainWatch();
  w.drained(100_000, 0, true);
  assert.is(w.drained(40_000, RELEASE_MIN_INTERVAL_MS, true), true);
  w.drained(100_000, RELEASE_MIN_INTERVAL_MS + 1000, true);
  assert.is(w.drained(40_000, RELEASE_MIN_INTERVAL_MS + 2000, true), false, 'within the interval');
  assert.is(w.drained(40_000, 2 * RELEASE_MIN_INTERVAL_MS, true), true, 'an interval after the last release');
});

// without the addon (not built): counted as skipped in the runner's summary
(releaseHeap !== null ? test : test.skip)('releaseHeap shrinks a grown young generation once the event loop runs', async () => {
  const young = (): number => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_size;
  // survivors in every scavenge grow the young generation (V8 doubles it while most of it survives)
  let keep: object[] = [];
  for (let round = 0; round < 40 && young() < 8 << 20; round++) {
    keep = [];
    for (let i = 0; i < 200_000; i++) keep.push({ i });
  }
  keep = [];
  const grown = young();
  assert.ok(grown >= 8 << 20, `young generation grew to ${grown >> 20} MB`);
  releaseHeap!();
  for (let i = 0; i < 40 && young() >= grown; i++) await new Promise((done) => setTimeout(done, 50));
  assert.ok(young() < grown, `young generation ${young() >> 20} MB after the release, ${grown >> 20} MB before`);
});

test.run();
