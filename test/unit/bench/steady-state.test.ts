/**
 * The sustained case's verdict (bench/steady-state.ts, bench/sustained-check.ts) on made-up samples: a table
 * that fills for one idle timeout and then stays flat while the sweep keeps pace is steady; a table that
 * keeps growing (no expiry), a sweep that falls behind, RSS that climbs, a rate not held or too many failures
 * each make it not steady, named; and a protocol without a steady hold makes the case not comparable.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findProblems } from '../../../bench/comparable.js';
import type { ModeResult } from '../../../bench/results.js';
import { steadyState, type Sample } from '../../../bench/steady-state.js';
import type { SustainedHold, SustainedResult } from '../../../bench/sustained.js';
import { heldRun, sustainedProblems } from '../../../bench/sustained-check.js';

const RATE = 10_000;
const IDLE = 5;

/** 60 s at RATE/s with an idle timeout of IDLE s: sessions expire IDLE s after they were made (unless `expiry` says less). */
function samples(o: { expiry?: number; rssGrowth?: number } = {}): Sample[] {
  const out: Sample[] = [];
  for (let t = 0; t <= 70; t++) {
    const created = RATE * Math.min(t, 60);
    const expired = (o.expiry ?? 1) * RATE * Math.max(0, Math.min(t, 60 + IDLE) - IDLE);
    const rss = 200 * 2 ** 20 + Math.min(created - expired, RATE * IDLE) * 300 + t * (o.rssGrowth ?? 0);
    const r = { active: created - expired, created, expired, rssBytes: rss };
    out.push({ t, routers: { r1: r, r2: { ...r } } });
  }
  return out;
}

const client = { seconds: 60, rate: RATE, attempted: 60 * RATE, failed: 12 };

test('a table that fills for one idle timeout, then stays flat while the sweep keeps pace, is steady', () => {
  const v = steadyState(samples(), client, 2 * IDLE);
  assert.equal(v.reasons, []);
  assert.equal(v.window, [10, 60]);
  assert.is(v.routers['r1']!.activeFirst, RATE * IDLE);
  assert.is(v.routers['r1']!.createdPerSecond, RATE);
  assert.is(v.routers['r1']!.expiredPerSecond, RATE);
});

test('no expiry: the table grows and the sweep does not keep pace, for each router', () => {
  const v = steadyState(samples({ expiry: 0 }), client, 2 * IDLE);
  assert.ok(v.reasons.some((r) => r.startsWith('r1: the session table is not flat')), v.reasons.join('\n'));
  assert.ok(v.reasons.some((r) => r.startsWith('r2: the sweep does not keep pace')), v.reasons.join('\n'));
  const half = steadyState(samples({ expiry: 0.5 }), client, 2 * IDLE);
  assert.ok(half.reasons.some((r) => r.includes('5000 sessions expired/s against 10000 created/s')), half.reasons.join('\n'));
});

test('RSS that climbs through the steady window is named', () => {
  const v = steadyState(samples({ rssGrowth: 8 * 2 ** 20 }), client, 2 * IDLE);
  assert.ok(v.reasons.some((r) => r.startsWith('r1: RSS is not flat')), v.reasons.join('\n'));
  assert.is(steadyState(samples({ rssGrowth: 2 ** 18 }), client, 2 * IDLE).reasons.length, 0, 'a little growth is flat enough');
});

test('a rate not held, too many failures, or too few samples are named', () => {
  const v = steadyState(samples(), { ...client, attempted: 0.9 * 60 * RATE, failed: 0.02 * 0.9 * 60 * RATE }, 2 * IDLE);
  assert.ok(v.reasons.some((r) => r.includes('the rate was not held')), v.reasons.join('\n'));
  assert.ok(v.reasons.some((r) => r.includes('failed (more than 1 %)')), v.reasons.join('\n'));
  assert.ok(steadyState(samples().slice(0, 14), client, 2 * IDLE).reasons[0]!.startsWith('only 4 samples'));
});

function hold(rate: number, s: Sample[]): SustainedHold {
  const verdict = steadyState(s, client, 2 * IDLE);
  return { rate, client: { protocol: 'udp', seconds: 60, attempted: 60 * rate, ok: 60 * rate, failed: 0, exhausted: false, okPerSecond: rate, rate, behind: 0 }, perSecond: [], samples: s, verdict, cpuUsPerSession: {}, pathDowns: 0 };
}

test('a protocol without a steady hold makes the sustained case not comparable, naming both rates', () => {
  const good: SustainedResult = { idleTimeoutS: IDLE, holdSeconds: 60, errors: [], udp: { protocol: 'udp', trials: [], holds: [hold(RATE, samples())] } };
  assert.equal(sustainedProblems(good), []);
  assert.is(heldRun(good.udp)!.rate, RATE);
  const bad: SustainedResult = { ...good, tcp: { protocol: 'tcp', trials: [], holds: [hold(RATE, samples({ expiry: 0 })), hold(8500, samples({ expiry: 0 }))] } };
  const p = sustainedProblems(bad);
  assert.equal(p.map((x) => x.key), ['sustained-tcp']);
  assert.ok(p[0]!.reason.startsWith('TCP: no steady state at 10000/s nor 8500/s: r1: the session table is not flat'), p[0]!.reason);
  const m: ModeResult = { id: 'svrouter', label: 'svrouter', status: 'ok', notes: [], loadAvgAtStart: [], udpLargeLen: 1400, errors: [], sustained: bad };
  const problems = findProblems({ modes: [m] });
  assert.equal(problems.map((x) => [x.mode, x.measurement]), [['svrouter', 'sustained-tcp']]);
});

test.run();
