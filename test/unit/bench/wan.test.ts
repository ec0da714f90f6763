/**
 * The WAN case's goal rows (bench/report.ts wanGoals, bench/wan.ts) on made-up figures: the 10 % bound of TCP
 * through the narrow path, the 0.5 % bound of delivered loss with FEC, the overhead against the run without FEC,
 * and a failed step making both rows "not comparable"; and the bench config with FEC (svr-config.ts) is one the
 * config loader accepts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findProblems } from '../../../bench/comparable.js';
import { NOT_COMPARABLE, wanGoals, type Goal } from '../../../bench/report.js';
import type { ModeResult, TcpResult } from '../../../bench/results.js';
import { spread } from '../../../bench/stats.js';
import { svrConfigYaml } from '../../../bench/svr-config.js';
import { overhead, type LossRun, type WanResult } from '../../../bench/wan.js';
import { parseConfig } from '../../../src/model/validate.js';

const tcp = (gbps: number, mss: number): TcpResult => ({ gbps: spread([gbps]), retransmits: [0], cpuSecondsPerGbit: null, cpuByProcess: {}, mss });
const loss = (fec: boolean, lossPct: number, packets: number, bytes: number): LossRun => ({
  fec, sentPackets: 10_000, lossPct, wanTxPackets: packets, wanTxBytes: bytes,
  fecCounters: fec ? { 'r2 fec-packets-recovered': 480, 'r2 fec-groups-unrecoverable': 3 } : {},
});

function hmac(wan: WanResult, errors: string[] = []): ModeResult {
  return { id: 'svrouter', label: 'svrouter hmac only', status: 'ok', notes: [], loadAvgAtStart: [], udpLargeLen: 1400, errors, wan };
}

function wan(narrowGbps: number, fecLoss: number): WanResult {
  return {
    narrowMtu: 1400, discoveredMtu: 1400, tcpFull: tcp(0.8, 1410), tcpNarrow: tcp(narrowGbps, 1310),
    loss: { pct: 5, len: 1200, pps: 2000, seconds: 10, noFec: loss(false, 4.9, 10_000, 12_000_000), fec: loss(true, fecLoss, 12_500, 15_300_000) },
    errors: [],
  };
}

const row = (goals: Goal[], start: string): Goal => goals.find((g) => g.goal.startsWith(start))!;

test('TCP through the narrow path passes within 10 % of the full MTU and fails below', () => {
  assert.is(row(wanGoals(hmac(wan(0.73, 0.2)), false), 'TCP through a 1400 B path').status, 'pass');
  const slow = row(wanGoals(hmac(wan(0.68, 0.2)), false), 'TCP through a 1400 B path');
  assert.is(slow.status, 'FAIL');
  assert.match(slow.measured, /0\.680 vs 0\.800 Gbps \(0\.85×\)/);
  assert.match(slow.note, /path MTU discovered by r1: 1400; segment size at the client 1310 B \(full MTU: 1410 B\); router CPU s per Gbit \? \(full MTU: \?\)/);
});

test('FEC: delivered loss <= 0.5 % passes, above fails; the overhead is stated against the run without FEC', () => {
  const ok = row(wanGoals(hmac(wan(0.8, 0.5)), false), 'UDP with 5 % random loss');
  assert.is(ok.status, 'pass');
  assert.match(ok.measured, /0\.50 % lost with FEC, 4\.90 % without/);
  assert.match(ok.note, /25\.0 % more packets, 27\.5 % more bytes/);
  assert.match(ok.note, /fec-packets-recovered 480, fec-groups-unrecoverable 3/);
  assert.is(row(wanGoals(hmac(wan(0.8, 0.51)), false), 'UDP with 5 % random loss').status, 'FAIL');
  assert.is(overhead(0, 5), undefined);
  assert.is(overhead(100, 125), 0.25);
});

test('not measured: n/a; a failed step of the case: both rows not comparable', () => {
  assert.equal(wanGoals(undefined, false).map((g) => g.status), ['n/a', 'n/a']);
  const w = wan(0.8, 0.2);
  w.errors.push('udp loss no fec: iperf3 failed');
  const m = hmac(w);
  const problems = findProblems({ modes: [m] });
  assert.equal(problems.map((p) => p.measurement), ['wan']);
  assert.equal(wanGoals(m, true).map((g) => g.status), [NOT_COMPARABLE, NOT_COMPARABLE]);
});

test('the bench config with FEC 8/2 is valid and puts the service under the fec policy', () => {
  const a = parseConfig(svrConfigYaml({ encrypt: false, fec: { groupSize: 8, parity: 2 } }), 'bench fec').authority;
  assert.is(a.services.find((s) => s.name === 'bench')!.servicePolicy, 'bench-fec');
  const fec = a.servicePolicies.find((p) => p.name === 'bench-fec')!.fec;
  assert.equal([fec.enabled, fec.groupSize, fec.parity], [true, 8, 2]);
  assert.is(parseConfig(svrConfigYaml({ encrypt: false }), 'bench').authority.services.find((s) => s.name === 'bench')!.servicePolicy === 'bench-fec', false);
});

test.run();
