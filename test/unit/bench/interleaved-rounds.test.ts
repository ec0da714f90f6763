/**
 * TCP and RTT in rounds that interleave the modes (bench/run.ts, mode-run.ts measureRound): the rounds' runs
 * appended in order (measure.ts mergeTcp, mergeRtt); each ratio svrouter ÷ another mode the median of the
 * rounds' ratios with their spread, a goal not settled when the rounds straddle its factor (report.ts); a
 * failed round still makes the run not comparable (comparable.ts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mergeRtt, mergeTcp } from '../../../bench/measure.js';
import { goals, ratiosTable } from '../../../bench/report.js';
import type { BenchResults, ModeResult, RttResult, TcpResult } from '../../../bench/results.js';
import { spread } from '../../../bench/stats.js';
import { benchResults } from '../../support/bench-results.js';

const tcp = (gbps: number[], cpu: number[] | null): TcpResult => ({ gbps: spread(gbps), retransmits: gbps.map(() => 0), cpuSecondsPerGbit: cpu === null ? null : spread(cpu), cpuByProcess: cpu === null ? {} : { 'svr-r1': cpu } });
const rtt = (p50: number[]): RttResult => ({ p50Us: spread(p50), p99Us: spread(p50.map((x) => 2 * x)), runs: [], pinger: 'c' });

function mode(id: string, gbps: number[], p50: number[], rounds: number | undefined): ModeResult {
  return { id, label: id, status: 'ok', notes: [], loadAvgAtStart: [0], udpLargeLen: 1400, errors: [], wanMtu: 1500, tcp: tcp(gbps, gbps.map(() => 1)), rtt: rtt(p50), ...(rounds !== undefined ? { rounds } : {}) };
}

const results = (modes: ModeResult[]): BenchResults => benchResults(modes, false);

test('rounds appended in order: run k of each figure is round k', () => {
  const t = mergeTcp(tcp([2.0], [0.8]), tcp([1.5], [0.9]));
  assert.equal(t.gbps.runs, [2.0, 1.5]);
  assert.equal(t.cpuSecondsPerGbit!.runs, [0.8, 0.9]);
  assert.equal(t.cpuByProcess['svr-r1'], [0.8, 0.9]);
  assert.is(mergeTcp(tcp([1], null), tcp([2], null)).cpuSecondsPerGbit, null, 'kernel forwarding: no router CPU');
  const r = mergeRtt(rtt([100]), rtt([120]));
  assert.equal(r.p50Us.runs, [100, 120]);
  assert.is(r.p50Us.median, 110);
});

test('the ratio is the median of the rounds\' ratios with their spread, not the ratio of the medians', () => {
  // the host drifts: round 2 slow for both
  const r = results([mode('svrouter-enc', [2.0, 1.5, 2.2], [100, 150, 110], 3), mode('wireguard-go', [2.1, 1.4, 1.9], [200, 280, 230], 3)]);
  const row = ratiosTable(r).find((x) => x[0] === 'svrouter-enc: TCP 1 stream')!;
  // per round 0.952, 1.071, 1.158; the medians' ratio would be 2.0 / 1.9 = 1.05
  assert.equal(row.slice(1), ['1.07 (0.95–1.16)×']);
  const g = goals(r).find((x) => x.goal.startsWith('TCP with encryption ≥ 1.0× the current wireguard-go'))!;
  assert.is(g.status, 'not settled', g.measured);
  assert.ok(g.measured.includes('the median of 3 interleaved rounds\' ratios 1.07 (0.95–1.16)×'), g.measured);
});

test('a goal whose rounds straddle its factor is not settled; all rounds past it pass', () => {
  const straddle = results([mode('svrouter-enc', [1.1, 0.9, 1.0], [70, 90, 100], 3), mode('openvpn', [0.4, 0.4, 0.35], [100, 120, 90], 3)]);
  // TCP 2.75, 2.25, 2.86 against ≥ 2.5×; RTT 0.70, 0.75, 1.11 against ≤ 0.8×
  assert.is(goals(straddle).find((x) => x.goal.startsWith('TCP with encryption ≥ 2.5× OpenVPN'))!.status, 'not settled');
  assert.is(goals(straddle).find((x) => x.goal.startsWith('RTT p50 (encrypted'))!.status, 'not settled');
  const clear = results([mode('svrouter-enc', [1.2, 1.2, 1.2], [70, 70, 70], 3), mode('openvpn', [0.4, 0.4, 0.4], [100, 100, 100], 3)]);
  assert.is(goals(clear).find((x) => x.goal.startsWith('TCP with encryption ≥ 2.5× OpenVPN'))!.status, 'pass');
  assert.is(goals(clear).find((x) => x.goal.startsWith('RTT p50 (encrypted'))!.status, 'pass');
  const below = results([mode('svrouter-enc', [0.9, 0.9, 0.9], [90, 90, 90], 3), mode('openvpn', [0.4, 0.4, 0.4], [100, 100, 100], 3)]);
  assert.is(goals(below).find((x) => x.goal.startsWith('TCP with encryption ≥ 2.5× OpenVPN'))!.status, 'FAIL', 'each round 2.25×');
  assert.is(goals(below).find((x) => x.goal.startsWith('RTT p50 (encrypted'))!.status, 'FAIL', 'each round 0.9×');
});

test('modes measured back to back (no rounds) keep the ratio of the medians', () => {
  const r = results([mode('svrouter-enc', [2.0, 1.5, 2.2], [100, 150, 110], undefined), mode('wireguard-go', [2.1, 1.4, 1.9], [200, 280, 230], undefined)]);
  assert.equal(ratiosTable(r).find((x) => x[0] === 'svrouter-enc: TCP 1 stream')!.slice(1), ['1.05×']);
});

test('a round that failed still makes the run not comparable, naming tcp and rtt', () => {
  const m = mode('svrouter-enc', [2.0, 2.0], [100, 100], 3);
  m.errors.push('rtt: round 3: no UDP echo from 198.18.3.2:7 through this mode', 'tcp: round 3: no UDP echo from 198.18.3.2:7 through this mode');
  const r = results([m, mode('wireguard-go', [2.1, 1.4, 1.9], [200, 280, 230], 3)]);
  assert.equal(r.notComparable.map((p) => `${p.mode} ${p.measurement}`).sort(), ['svrouter-enc rtt', 'svrouter-enc tcp']);
  assert.equal(ratiosTable(r).find((x) => x[0] === 'svrouter-enc: TCP 1 stream')!.slice(1), ['not comparable']);
});

test.run();
