/**
 * The full-table case in the report (bench/full-table-report.ts) on made-up fills: TCP and RTT at 100k and
 * 1M sessions against the mean of the empty tables around each (before and after it); a figure more than 10 %
 * worse fails; rounds that straddle the goal leave it not settled; a case error (a fill not reached) makes the
 * rows not comparable and the run names the case (comparable.ts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findProblems } from '../../../bench/comparable.js';
import { readerModes, type FullTableResult, type TableFill } from '../../../bench/full-table.js';
import { fillRatios, fullTableGoals, fullTableSection } from '../../../bench/full-table-report.js';
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
  assert.ok(tcp!.measured.includes('0.85× at 1,000,000'), tcp!.measured);
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

/** Rounds as full-table.ts runs them: empty, 100 k, 1 M per round, then empty; TCP Gbps per point. */
function rounds(points: readonly (readonly [number, number])[]): TableFill[] {
  let round = 1;
  return points.map(([target, gbps]) => {
    const f = { ...fill(target, target === 0 ? `empty, round ${round}` : `${target} sessions, round ${round}`, gbps, 100), round };
    if (target === 1_000_000) round++;
    return f;
  });
}

test('each fill is set against the empty tables around it; the median of the rounds, not settled when they straddle 0.9', () => {
  // the empty table drifts from 1.0 to 2.0 and the fills with it: against the mean of all empties (1.5) round 1 would fail
  const drifting = rounds([[0, 1.0], [100_000, 1.14], [1_000_000, 1.33], [0, 1.4], [100_000, 1.52], [1_000_000, 1.71], [0, 1.6], [100_000, 1.71], [1_000_000, 1.8], [0, 2.0]]);
  const t: FullTableResult = { fills: drifting, errors: [] };
  const [tcp] = fullTableGoals(mode(t), false);
  assert.equal([...fillRatios(t, (f) => f.tcp?.gbps.median).get(1_000_000)!].map((r) => +r.toFixed(2)), [1.11, 1.14, 1.0]);
  assert.is(tcp!.status, 'pass', tcp!.measured);
  assert.ok(tcp!.measured.includes('median of 3 rounds'), tcp!.measured);
  // one round of three below 0.9 at 1 M: the spread straddles the goal
  const straddling = rounds([[0, 1.0], [100_000, 1.0], [1_000_000, 0.8], [0, 1.0], [100_000, 1.0], [1_000_000, 1.0], [0, 1.0], [100_000, 1.0], [1_000_000, 0.95], [0, 1.0]]);
  const [tcp2, rtt2] = fullTableGoals(mode({ fills: straddling, errors: [] }), false);
  assert.is(tcp2!.status, 'not settled', tcp2!.measured);
  assert.ok(tcp2!.note.includes('1,000,000 0.80, 1.00, 0.95'), tcp2!.note);
  assert.is(rtt2!.status, 'pass');
  // every round below: FAIL
  const slow = rounds([[0, 1.0], [100_000, 0.8], [1_000_000, 0.8], [0, 1.0], [100_000, 0.85], [1_000_000, 0.8], [0, 1.0]]);
  assert.is(fullTableGoals(mode({ fills: slow, errors: [] }), false)[0]!.status, 'FAIL');
});

test('the first packet: the median of the processes, not settled when they straddle 1.1', () => {
  const fp = (processRatios: number[]): FullTableResult => ({ fills: [], errors: [], firstPacket: { smallRoutes: 10, fullRoutes: 100_000, smallNs: 5000, fullNs: 5200, medianRatio: processRatios[1]!, pairs: 20, processRatios } });
  assert.is(fullTableGoals(mode(fp([0.87, 1.0, 1.14])), false)[2]!.status, 'not settled');
  assert.is(fullTableGoals(mode(fp([0.87, 1.0, 1.05])), false)[2]!.status, 'pass');
  assert.is(fullTableGoals(mode(fp([1.12, 1.2, 1.3])), false)[2]!.status, 'FAIL');
});

test('the RTT waits for poll mode: a queue still reading in its thread after the TCP run is seen, switches summed', () => {
  // `show stats` of r1 right after an iperf3 run (the LAN queue carried the data) and half a second later
  const afterTcp = { interfaces: [{ interface: 'lan0', readerMode: 'thread', readerModeSwitches: 1 }, { interface: 'wan0', readerMode: 'poll', readerModeSwitches: 0 }] };
  const calm = { interfaces: [{ interface: 'lan0', readerMode: 'poll', readerModeSwitches: 2 }, { interface: 'wan0', readerMode: 'poll', readerModeSwitches: 0 }] };
  assert.equal(readerModes(afterTcp), { polling: false, switches: 1 });
  assert.equal(readerModes(calm), { polling: true, switches: 2 });
  // worker threads: no reader mode shown ('-' in svr show stats), nothing to wait for
  assert.equal(readerModes({ interfaces: [{ interface: 'lan0' }] }), { polling: true, switches: 0 });
});

test.run();
