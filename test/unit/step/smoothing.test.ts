import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MetricSmoother, TokenBucket, isSignificant, weightedMovingAverage, type PathSample } from '../../../src/step/smoothing.js';

test('weighted moving average: the newest sample weighs most (1, 2, 3)', () => {
  const table: [number[], number][] = [
    [[], 0],
    [[10], 10],
    [[10, 40], 30],
    [[10, 12, 10], 64 / 6],
    [[12, 10, 12], 68 / 6],
    [[0, 0, 60], 30],
  ];
  for (const [samples, want] of table) assert.ok(Math.abs(weightedMovingAverage(samples) - want) < 1e-9, `${samples}`);
});

test('the smoother keeps the last 3 samples per metric and starts over after the path was unusable', () => {
  const s = new MetricSmoother(3);
  const lat = (latencyMs: number): PathSample => ({ usable: true, latencyMs });
  assert.equal(s.add(lat(10)), { usable: true, latencyMs: 10 });
  s.add(lat(10));
  s.add(lat(10));
  assert.equal(s.add(lat(40)), { usable: true, latencyMs: 25 }, '[10,10,40]');
  assert.equal(s.add(lat(40)), { usable: true, latencyMs: 35 }, '[10,40,40]');
  assert.equal(s.add(lat(40)), { usable: true, latencyMs: 40 }, 'the 10s have left the window');
  assert.equal(s.add({ usable: false, latencyMs: 99 }), { usable: false }, 'an unusable path reports no metrics');
  assert.equal(s.add(lat(5)), { usable: true, latencyMs: 5 }, 'no memory of before the outage');
  assert.equal(s.add({ usable: true, lossPct: 1 }), { usable: true, lossPct: 1 }, 'a metric that stops being measured disappears');
});

test('significance: thresholds latency 5 ms, jitter 2 ms, loss 0.1 %, MOS 0.1; up/down always', () => {
  const base: PathSample = { usable: true, latencyMs: 10, jitterMs: 1, lossPct: 0.2, mos: 4.2 };
  const table: [string, PathSample | undefined, PathSample, boolean][] = [
    ['nothing reported yet', undefined, base, true],
    ['same', base, { ...base }, false],
    ['latency +5 (not more than)', base, { ...base, latencyMs: 15 }, false],
    ['latency +5.01', base, { ...base, latencyMs: 15.01 }, true],
    ['latency -6', base, { ...base, latencyMs: 4 }, true],
    ['jitter +2', base, { ...base, jitterMs: 3 }, false],
    ['jitter +2.5', base, { ...base, jitterMs: 3.5 }, true],
    ['loss +0.1', base, { ...base, lossPct: 0.3 }, false],
    ['loss +0.15', base, { ...base, lossPct: 0.35 }, true],
    ['mos -0.05', base, { ...base, mos: 4.15 }, false],
    ['mos -0.3', base, { ...base, mos: 3.9 }, true],
    ['went down', base, { usable: false }, true],
    ['came up', { usable: false }, { usable: true }, true],
    ['latency newly measured', { usable: true }, { usable: true, latencyMs: 1 }, true],
    ['latency no longer measured', { usable: true, latencyMs: 1 }, { usable: true }, true],
  ];
  for (const [what, reported, next, want] of table) assert.is(isSignificant(reported, next), want, what);
  assert.not.ok(isSignificant(base, { ...base, lossPct: 0.9 }, { latencyMs: 5, jitterMs: 2, lossPct: 1, mos: 0.1 }), 'concept-doc loss threshold 1 %');
});

test('a latency flapping 10/12 ms is never significant after the first report', () => {
  const s = new MetricSmoother(3);
  let reported: PathSample | undefined;
  let reports = 0;
  for (let i = 0; i < 100; i++) {
    const smoothed = s.add({ usable: true, latencyMs: i % 2 === 0 ? 10 : 12 });
    if (!isSignificant(reported, smoothed)) continue;
    reported = smoothed;
    reports++;
  }
  assert.is(reports, 1);
  // and a real step is
  const smoothed = s.add({ usable: true, latencyMs: 30 });
  assert.ok(isSignificant(reported, smoothed), JSON.stringify(smoothed));
});

test('token bucket: burst 2, then one token per interval, never more than the burst', () => {
  const b = new TokenBucket(2, 30_000, 0);
  assert.ok(b.take(0));
  assert.ok(b.take(0));
  assert.not.ok(b.take(0));
  assert.is(b.waitMs(0), 30_000);
  assert.is(b.waitMs(20_000), 10_000);
  assert.not.ok(b.take(29_999));
  assert.ok(b.take(30_000));
  assert.not.ok(b.take(30_001));
  assert.ok(b.take(1_000_000));
  assert.ok(b.take(1_000_000));
  assert.not.ok(b.take(1_000_000), 'a long quiet time still gives only the burst');
});

test.run();
