/**
 * The rounds of the visibility and HA cases (bench/round-check.ts, bench/paced-cost.ts): the paced tests' rate,
 * when a round is disturbed (failed sessions, another window, a paced test that failed, fell behind or ran at
 * another rate), the paced cost ratio, and comparable.ts naming each disturbed round.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findProblems } from '../../../bench/comparable.js';
import { pacedDisturbed, pacedRate, type PacedCost } from '../../../bench/paced-cost.js';
import type { BenchResults, ModeResult, SessionRate } from '../../../bench/results.js';
import { goals } from '../../../bench/report.js';
import { formatInterval, formatSpread, MIN_PAIRS, pacedCostRatio, ratioInterval, ratioVerdict, roundProblems } from '../../../bench/round-check.js';
import type { VisibilityRound } from '../../../bench/visibility.js';

const closed = (attempted: number, failed: number, window = 512): SessionRate => ({
  client: { protocol: 'udp', seconds: 5, attempted, ok: attempted - failed, failed, exhausted: false, okPerSecond: (attempted - failed) / 5 }, window, createdR1: attempted, createdR1PerSecond: attempted / 5,
});
const machine = { seconds: 6, busyCores: 1, userCores: 0.6, systemCores: 0.3, softirqCores: 0.1, stealCores: 0, ctxtPerSession: 2 };
const paced = (rate: number, attempted: number, failed: number, us: Record<string, number> = { 'svr-r1': 20, 'svr-r2': 18, machine: 60 }): PacedCost => ({
  rate, seconds: 5, windowSeconds: 8, attempted, failed, behind: 0, created: attempted, us, machine,
});

test('the paced tests are opt-in: SVR_BENCH_PACED_RATE, none without a rate', () => {
  assert.is(pacedRate('8000'), 8000);
  assert.is(pacedRate(undefined), undefined);
  assert.is(pacedRate('x'), undefined);
  assert.is(pacedRate('0'), undefined);
});

test('a paced test is disturbed when more than 1 % failed or it sent less than 97 % of its rate', () => {
  assert.is(pacedDisturbed(paced(10_000, 50_000, 0)), undefined);
  assert.match(pacedDisturbed(paced(10_000, 50_000, 600)) ?? '', /600 of 50000 paced sessions failed/);
  assert.match(pacedDisturbed(paced(10_000, 40_000, 0)) ?? '', /sent 40000 of 50000 sessions \(fell behind/);
});

test('a round counts when both sides held; each disturbance is named with its side', () => {
  const good = { sessions: closed(100_000, 0), paced: paced(10_000, 50_000, 0) };
  assert.equal(roundProblems(good, good, ['off', 'on']), []);
  assert.equal(roundProblems(good, { sessions: closed(100_000, 2000), paced: paced(10_000, 50_000, 0) }, ['off', 'on']), ['2000 of 100000 sessions failed on']);
  assert.equal(roundProblems(good, { sessions: closed(100_000, 0, 128), paced: paced(10_000, 50_000, 0) }, ['off', 'on']), ['512 sessions in flight off, 128 on']);
  assert.equal(roundProblems({ sessions: closed(100_000, 0), paced: paced(10_000, 40_000, 0) }, good, ['off', 'on']), ['the paced test sent 40000 of 50000 sessions (fell behind its rate) off']);
  assert.equal(roundProblems(good, { sessions: closed(100_000, 0), paced: paced(9000, 45_000, 0) }, ['off', 'on']), ['paced at 10000/s off, 9000/s on']);
  assert.equal(roundProblems(good, { sessions: closed(100_000, 0) }, ['off', 'on']), ['a paced test off only']);
  assert.equal(roundProblems({}, good, ['off', 'on']), ['no session test off', '? sessions in flight off, 512 on', 'a paced test on only']);
});

test('the paced cost ratio sums the accounted processes, not the machine', () => {
  const a = { paced: paced(10_000, 50_000, 0, { 'svr-r1': 20, 'svr-r2': 20, machine: 60 }) };
  const b = { paced: paced(10_000, 50_000, 0, { 'svr-r1': 24, 'svr-r2': 20, nfcapd: 2, machine: 90 }) };
  assert.ok(Math.abs(pacedCostRatio(a, b) - 1.15) < 1e-9);
  assert.ok(Number.isNaN(pacedCostRatio(a, {})));
  assert.is(formatSpread([1.2, Number.NaN, 1.1, 1.15]), '1.150 (1.100–1.200)');
  assert.is(formatSpread([]), '–');
});

test('comparable.ts names every disturbed round of the visibility and HA cases', () => {
  const round = (problems: string[]): VisibilityRound => ({ off: {}, on: {}, ratio: 0.9, problems });
  const m = {
    id: 'svrouter', label: 'svrouter', status: 'ok', notes: [], loadAvgAtStart: [], udpLargeLen: 1400, errors: [],
    visibility: { idleTimeoutS: 2, off: {}, on: {}, rounds: [round([]), round(['3000 of 90000 sessions failed with records on'])], errors: [] },
    ha: { single: {}, pair: {}, rounds: [{ single: {}, pair: {}, ratio: 0.9, problems: ['paced at 10000/s with r1 one node, 9000/s with r1 a pair'] }], errors: [] },
  } as unknown as ModeResult;
  const text = findProblems({ modes: [m] }).map((p) => `${p.measurement}: ${p.reason}`);
  assert.equal(text, ['visibility: round 2 disturbed: 3000 of 90000 sessions failed with records on', 'ha: round 1 disturbed: paced at 10000/s with r1 one node, 9000/s with r1 a pair']);
});

test('a ratio goal is settled only when the pairs\' 95 % interval (t on the log ratios) lies clear of the floor', () => {
  const q = ratioVerdict([0.914, 0.700, 0.960], 0.9); // the quiet run of 2026-12-05 20:05: median 0.914
  assert.is(q.verdict, 'not settled');
  assert.ok(Math.abs(q.rate.ratio - 0.850) < 0.001 && Math.abs(q.rate.low - 0.557) < 0.002 && Math.abs(q.rate.high - 1.297) < 0.003, JSON.stringify(q.rate));
  assert.is(ratioVerdict([0.95, 0.96, 0.94, 0.95], 0.9).verdict, 'pass');
  assert.is(ratioVerdict([0.70, 0.72, 0.71], 0.9).verdict, 'FAIL');
  assert.is(ratioVerdict([0.99], 0.9).verdict, 'not settled', 'one pair has no error');
  assert.is(ratioVerdict([0.99, 0.98], 0.9).verdict, 'not settled', `fewer than ${MIN_PAIRS} pairs settle nothing`);
  // the records rounds of the full run of 23:48 (7, restarted per run): their spread straddles 0.90
  assert.is(ratioVerdict([1.003, 0.810, 0.922, 0.902, 0.948, 0.918, 0.808], 0.9).verdict, 'not settled');
  // pairs that cost 15 % (the injected cost's size) at the spread of back-to-back pairs: FAIL, not "not settled"
  assert.is(ratioVerdict([0.86, 0.83, 0.88, 0.84, 0.87, 0.85, 0.82, 0.86], 0.9).verdict, 'FAIL');
});

test('the CPU witness: a rate verdict the CPU per session contradicts is not settled; one it agrees with stands', () => {
  const rates = [0.95, 0.96, 0.94, 0.95];
  const v = ratioVerdict(rates, 0.9, [0.80, 0.82, 0.81, 0.80]);
  assert.is(v.verdict, 'not settled', 'the rate passes while the CPU per session says 20 % more');
  assert.is(ratioVerdict(rates, 0.9, [0.93, 0.95, 0.94, 0.92]).verdict, 'pass');
  assert.is(ratioVerdict(rates, 0.9, [0.80, 1.05, 0.92]).verdict, 'pass', 'a witness that settles nothing does not overturn the rate');
  // the loaded run of 01:27 (wave 19): rates 0.30–1.64 settle nothing; the CPU witness decides when it settles
  const loaded = [1.642, 0.548, 1.033, 1.625, 1.070, 0.299];
  assert.is(ratioVerdict(loaded, 0.9, [0.974, 0.897, 0.928, 0.940, 0.877, 0.793]).verdict, 'not settled');
  const injected = ratioVerdict(loaded, 0.9, [0.80, 0.76, 0.82, 0.79, 0.74, 0.78], [0.70, 0.66, 0.72, 0.69, 0.64, 0.68]);
  assert.equal([injected.verdict, injected.by], ['FAIL', 'witness']);
  assert.equal([ratioVerdict(loaded, 0.9, [0.95, 0.97, 0.96, 0.94]).verdict, ratioVerdict(rates, 0.9, [0.95, 0.97, 0.96]).by], ['pass', 'rate']);
  // the witness's two bounds: a pass needs the harsh one (M without the client and kernel) clear of the floor, a FAIL the kind one (M with the others' work)
  const high = [0.96, 0.95, 0.96, 0.95];
  assert.is(ratioVerdict(loaded, 0.9, high, [0.88, 0.86, 0.89, 0.87]).verdict, 'not settled', 'the kind bound alone passes nothing');
  assert.is(ratioVerdict(loaded, 0.9, high, [0.93, 0.92, 0.94, 0.93]).verdict, 'pass');
  assert.is(ratioVerdict(loaded, 0.9, [0.88, 0.86, 0.89, 0.87], [0.70, 0.71, 0.69, 0.70]).verdict, 'FAIL');
  assert.is(formatInterval(v.witness), '0.807 (0.792–0.823, 95 %, 4 pairs)');
  assert.is(formatInterval(ratioInterval([0.9])), '0.900 (1 pair)');
});

test('the visibility case\'s session-rate goal says "not settled" when its rounds spread across 0.90; a tight spread keeps pass', () => {
  const rate = (perSecond: number): SessionRate => ({ ...closed(perSecond * 5, 0), createdR1PerSecond: perSecond });
  const round = (off: number, on: number): VisibilityRound => ({ off: { sessions: rate(off) }, on: { sessions: rate(on) }, ratio: on / off, problems: [] });
  const goal = (rounds: VisibilityRound[], mid: VisibilityRound): string => {
    const m = {
      id: 'svrouter', label: 'svrouter', status: 'ok', notes: [], loadAvgAtStart: [], udpLargeLen: 1400, errors: [],
      visibility: { idleTimeoutS: 2, off: mid.off, on: mid.on, rounds, errors: [] },
    } as unknown as ModeResult;
    const r = { modes: [m], notComparable: [] } as unknown as BenchResults;
    return goals(r).find((g) => g.goal.startsWith('session records (IPFIX + history) cost ≤ 10 %'))!.status;
  };
  const spread = [round(30_000, 27_420), round(30_000, 21_000), round(30_000, 28_800)];
  assert.is(goal(spread, spread[0]!), 'not settled');
  const tight = [round(30_000, 28_500), round(30_000, 28_800), round(30_000, 28_200)];
  assert.is(goal(tight, tight[0]!), 'pass');
});

test.run();
