/** Quality of a link-test round, the E-model MOS, and the 3-round weighted moving average. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { QualityHistory, meanOpinionScore, roundQuality, type LinkTestRound } from '../../../src/paths/quality.js';

const near = (actual: number, expected: number, tolerance: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} not within ${tolerance} of ${expected}`);

test('a round: latency = mean RTT / 2, jitter = mean |consecutive RTT difference| / 2, loss = lost / sent', () => {
  const r = roundQuality([20, 22, undefined, 18, 20], 1000);
  assert.equal([r.sent, r.received, r.atMs], [5, 4, 1000]);
  assert.is(r.latencyMs, 10);
  near(r.jitterMs, (2 + 4 + 2) / 3 / 2, 1e-9, 'jitter over answered neighbours (22 -> 18 across the loss)');
  assert.is(r.lossPercent, 20);
  assert.is(r.mos, meanOpinionScore(10, r.jitterMs, 20));
});

test('steady RTTs have no jitter; one sample has no jitter; no answer keeps the previous latency at 100 % loss', () => {
  assert.is(roundQuality([30, 30, 30], 0).jitterMs, 0);
  assert.is(roundQuality([30], 0).jitterMs, 0);
  const none = roundQuality([undefined, undefined], 0, { latencyMs: 12, jitterMs: 3, lossPercent: 0, mos: 4.4 });
  assert.equal([none.latencyMs, none.jitterMs, none.lossPercent, none.received], [12, 3, 100, 0]);
  assert.equal([roundQuality([undefined], 0).latencyMs, roundQuality([], 0).lossPercent], [0, 0]);
});

test('MOS (simplified G.107 E-model): reference points worked out by hand from the documented formula', () => {
  near(meanOpinionScore(0, 0, 0), 4.40, 0.01, 'perfect path: R = 92.96');
  near(meanOpinionScore(200, 0, 0), 4.18, 0.01, '200 ms: d = 210, Id = 8.64');
  near(meanOpinionScore(0, 0, 20), 2.62, 0.01, '20 % loss: Ie,eff = 42.13');
  near(meanOpinionScore(40, 20, 0), meanOpinionScore(80, 0, 0), 1e-9, 'jitter counts twice (jitter buffer)');
  assert.is(meanOpinionScore(1000, 0, 0), 1, 'R below 0 -> 1');
  near(meanOpinionScore(0, 0, 100), 1.17, 0.01, 'all lost: R = 92.96 - 75.94 = 17.02');
  let last = 5;
  for (let loss = 0; loss <= 50; loss += 5) {
    const m = meanOpinionScore(20, 5, loss);
    assert.ok(m < last && m >= 1 && m <= 4.5, `MOS falls with loss (${loss} %: ${m})`);
    last = m;
  }
});

test('smoothed = weights 1, 2, 3 over the last three rounds (newest heaviest); MOS from the smoothed values', () => {
  const h = new QualityHistory();
  assert.is(h.smoothed, undefined);
  assert.is(h.latest, undefined);
  const round = (latencyMs: number, lossPercent: number): LinkTestRound => ({ sent: 10, received: 10, atMs: 0, latencyMs, jitterMs: latencyMs / 10, lossPercent, mos: 0 });
  h.add(round(10, 0));
  assert.is(h.smoothed!.latencyMs, 10);
  h.add(round(20, 0));
  h.add(round(30, 30));
  near(h.smoothed!.latencyMs, (10 + 40 + 90) / 6, 1e-9, 'three rounds');
  near(h.smoothed!.lossPercent, 15, 1e-9, 'loss 30 weighted 3/6');
  h.add(round(40, 0));
  near(h.smoothed!.latencyMs, (20 + 60 + 120) / 6, 1e-9, 'the oldest round dropped out');
  assert.is(h.latest!.latencyMs, 40);
  const s = h.smoothed!;
  assert.is(s.mos, meanOpinionScore(s.latencyMs, s.jitterMs, s.lossPercent));
});

test.run();
