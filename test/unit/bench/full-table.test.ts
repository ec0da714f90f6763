/**
 * The full-table case in the report (bench/full-table-report.ts) on made-up fills: TCP and RTT at 100k and
 * 1M sessions against the mean of the empty tables before and after; a figure more than 10 % worse fails; a
 * case error (a fill not reached) makes the rows not comparable and the run names the case (comparable.ts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findProblems } from '../../../bench/comparable.js';
import type { FullTableResult, TableFill } from '../../../bench/full-table.js';
import { fullTableGoals, fullTableSection } from '../../../bench/full-table-report.js';
import type { ModeResult } from '../../../bench/results.js';
import { spread } from '../../../bench/stats.js';

function fill(target: number, label: string, gbps: number, p50: number): TableFill {
  return {
    target, label, active: { r1: [target, target], r2: [target, target] }, rssBytes: { r1: 2e8 + 300 * target, r2: 2e8 + 300 * target },
    tcp: { gbps: spread([gbps]), retransmits: [0], cpuSecondsPerGbit: null, cpuByProcess: {} },
    rtt: { p50Us: spread([p50]), p99Us: spread([2 * p50]), runs: [] },
  };
}

const mode = (t: FullTableResult): ModeResult => ({ id: 'svrouter', label: 'svrouter', status: 'ok', notes: [], loadAvgAtStart: [], udpLargeLen: 1400, errors: [], fullTable: t });

test('full tables within 10 % of the mean of the empty ones pass; 15 % slower fails', () => {
  const t: FullTableResult = {
    fills: [fill(0, 'empty, before', 1.0, 100), fill(100_000, '100,000 sessions', 0.95, 105), fill(1_000_000, '1,000,000 sessions', 0.85, 108), fill(0, 'empty, after', 1.0, 100)],
    firstPacket: { smallRoutes: 10, fullRoutes: 100_000, smallNs: 5000, fullNs: 5200, medianRatio: 1.04, pairs: 20 },
    errors: [],
  };
  const [tcp, rtt, fp] = fullTableGoals(mode(t), false);
  assert.is(tcp!.status, 'FAIL', tcp!.measured);
  assert.ok(tcp!.measured.includes('0.850 Gbps at 1,000,000 (0.85×)'), tcp!.measured);
  assert.is(rtt!.status, 'pass', rtt!.measured);
  assert.is(fp!.status, 'pass');
  assert.ok(fullTableSection([mode(t)]).some((l) => l.includes('300 B/session')), 'RSS per session beside each fill');
});

test('a fill not reached makes the case not comparable, named, and its goals say so', () => {
  const t: FullTableResult = { fills: [fill(0, 'empty, before', 1, 100), fill(1_000_000, '1,000,000 sessions', 1, 100)], errors: ['1,000,000 sessions: fill to 1000000: the fill was not reached: r1 400000, r2 390000 sessions active of 1000000'], firstPacket: undefined };
  const problems = findProblems({ modes: [mode(t)] });
  assert.equal(problems.map((p) => p.measurement), ['tables']);
  assert.ok(problems[0]!.reason.includes('the fill was not reached'));
  assert.equal(fullTableGoals(mode(t), true).map((g) => g.status), ['not comparable', 'not comparable', 'n/a']);
});

test.run();
