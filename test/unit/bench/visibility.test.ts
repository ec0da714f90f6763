/**
 * The visibility case's accounts (bench/visibility.ts, bench/cpu.ts): a router's threads grouped as the case
 * reports them (a real records thread names itself and is found by name in /proc), CPU seconds turned into µs
 * per session above the idle rate, the round of the median ratio (broken rounds only when all broke), and the
 * table of a round's accounts side by side; the machine's work outside the routers (the bench's ended children, the
 * namespaces' processes, the kernel's threads, steal) apart from the rest; the runs' order and their warm-ups.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { childrenCpuSeconds, groupCpuDelta, machineGroupSeconds, threadCpu, threadGroups, V8_PLATFORM_THREADS } from '../../../bench/cpu.js';
import { costRows, cpuAccount, medianRound, perSession, recordsWitness, routersCpu, sessionThreadRows, usePerSession, visibilityRuns, type RunCpu, type SchedSnapshot, type VisibilityRun } from '../../../bench/visibility.js';
import { defaultTelemetry } from '../../../src/model/read-telemetry.js';
import { historyDirOf, RECORDS_THREAD_NAME, RecordsThread } from '../../../src/telemetry/records-thread.js';

test('a router\'s threads: main by its id, the records thread and the TUN threads by their names, V8\'s platform as the first unnamed ones, the rest as other', () => {
  const snap = (entries: [number, string, number][]): Map<number, { name: string; seconds: number }> => new Map(entries.map(([tid, name, seconds]) => [tid, { name, seconds }]));
  const v8 = Array.from({ length: V8_PLATFORM_THREADS }, (_, k): [number, string, number] => [101 + k, 'node', 1]);
  const before = snap([[100, 'node', 1], ...v8, [110, 'node', 0], [120, RECORDS_THREAD_NAME, 2], [121, 'svr-tun-read', 1], [122, 'svr-tun-write', 1]]);
  const after = snap([[100, 'node', 1.5], ...v8.map(([t, n, s]): [number, string, number] => [t, n, s + 0.125]), [110, 'node', 0.25], [120, RECORDS_THREAD_NAME, 2.25],
    [121, 'svr-tun-read', 1.5], [122, 'svr-tun-write', 1], [130, 'node', 0.125]]);
  const groups = threadGroups(100, before, after);
  assert.equal([100, 101, 105, 110, 120, 121, 122, 130].map((t) => groups.get(t)), ['main', 'v8', 'v8', 'other', 'records', 'tun', 'tun', 'other']);
  assert.equal(groupCpuDelta(100, before, after), { main: 0.5, records: 0.25, tun: 0.5, v8: 0.125 * V8_PLATFORM_THREADS, other: 0.375 }, 'a thread started in between counts whole');
});

test('a node\'s records thread is found by its name in /proc and counts as the records group', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svr-vis-threads-'));
  const records = await RecordsThread.open({ router: 'r1', observationDomainId: 1, telemetry: defaultTelemetry(), historyDir: historyDirOf(dir) });
  try {
    const named = [...threadCpu(process.pid)].filter(([, t]) => t.name === RECORDS_THREAD_NAME);
    assert.is(named.length, 1, 'one thread named svr-records');
    const groups = threadGroups(process.pid, threadCpu(process.pid));
    assert.is(groups.get(named[0]![0]), 'records');
    assert.is(groups.get(process.pid), 'main');
    assert.is([...groups.values()].filter((g) => g === 'v8').length, V8_PLATFORM_THREADS);
  } finally {
    await records.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the runs: off first in odd rounds, on first in even ones; a warm-up after every reload that toggled records, not once per side', () => {
  const runs = visibilityRuns(4);
  assert.equal(runs.map((r) => `${r.round}${r.recordsOn ? 'on' : 'off'}${r.warmUp ? '+warm' : ''}`),
    ['0off+warm', '0on+warm', '1on', '1off+warm', '2off', '2on+warm', '3on', '3off+warm']);
  assert.is(visibilityRuns(7).filter((r) => r.warmUp).length, 8, 'the first run and one toggle a round');
});

test('µs per session above the idle rate: the idle rate times the window is taken off each account', () => {
  // 10 s window, 2 s idle sample, 100,000 sessions: 1.5 s in the window, 0.1 s idle (0.05/s: 0.5 s of the window)
  const out = perSession({ 'r1 main': 1.5, nfcapd: 0.2 }, 10, { 'r1 main': 0.1, nfcapd: 0 }, 2, 100_000);
  assert.ok(Math.abs(out['r1 main']! - 10) < 1e-9, `r1 main ${out['r1 main']}`);
  assert.ok(Math.abs(out.nfcapd! - 2) < 1e-9);
});

test('the session test by thread: µs and sleeps per session above the idle rate; the rounds\' medians with the routers\' sum and nfcapd\'s share', () => {
  const snap = (at: number, main: number, records: number, nfcapd: number): SchedSnapshot =>
    ({ at, uses: new Map([['r1 main', { ns: main, sleeps: main / 1e6 }], ['r1 records', { ns: records, sleeps: 0 }], ['nfcapd', { ns: nfcapd, sleeps: 0 }]]) });
  // idle: 2 s with 1 ms of main (0.5 ms/s); window 10 s with 105 ms of main: 100 ms above idle over 10,000 sessions = 10 µs
  const t = usePerSession(snap(0, 0, 0, 0), snap(2, 1e6, 0, 0), snap(5, 2e6, 0, 0), snap(15, 107e6, 30e6, 10e6), 10_000);
  assert.ok(Math.abs(t['r1 main']!.cpuUs - 10) < 1e-9, `r1 main ${t['r1 main']!.cpuUs}`);
  assert.ok(Math.abs(t['r1 main']!.sleeps - 0.01) < 1e-9, `sleeps ${t['r1 main']!.sleeps}`);
  assert.ok(Math.abs(t['r1 records']!.cpuUs - 3) < 1e-9);
  const run = (main: number, records: number, nfcapd: number) => ({ sessionThreads: { 'r1 main': { cpuUs: main, sleeps: 0.5 }, 'r1 records': { cpuUs: records, sleeps: 0.1 }, nfcapd: { cpuUs: nfcapd, sleeps: 0 } } });
  const rows = sessionThreadRows([{ off: run(10, 0, 0), on: run(11, 4, 1) }, { off: run(12, 0, 0), on: run(12, 5, 2) }, { off: run(9, 0, 0), on: run(10, 6, 3) }]);
  assert.is(rows.find((l) => l.startsWith('| r1 records |')), '| r1 records | 0.0 | 5.0 | 5.0 | 0.10 | 0.10 |');
  assert.is(rows.find((l) => l.startsWith('| routers |')), '| routers | 10.0 | 16.0 | 5.0 | – | – |', 'the routers without nfcapd; on − off the median of the rounds\' differences');
  assert.ok(rows.some((l) => l.startsWith('| nfcapd (both: the collectors')), rows.join('\n'));
  assert.match(rows[rows.length - 1]!, /share .*: 29 %/, 'median of 1/6, 2/7, 3/10');
});

test('the median round: of the clean ones, or of all when none is clean; none when no ratio is finite', () => {
  const r = (ratio: number, clean: boolean): { ratio: number; clean: boolean } => ({ ratio, clean });
  const isClean = (x: { clean: boolean }): boolean => x.clean;
  assert.is(medianRound([r(0.95, true), r(0.2, false), r(0.85, true), r(0.9, true)], isClean)?.ratio, 0.9, 'the middle of three clean ones');
  assert.is(medianRound([r(0.95, true), r(0.2, false), r(0.9, true)], isClean)?.ratio, 0.9, 'two clean: the lower');
  assert.is(medianRound([r(0.5, false), r(2.6, false), r(1.2, false)], isClean)?.ratio, 1.2, 'all broke down: the median of all');
  assert.is(medianRound([r(NaN, true)], isClean), undefined);
});

test('the median TCP round by its own ratio, every round counting; the routers\' CPU of an account without nfcapd, the machine or the rest', () => {
  const rounds = [{ ratio: 0.9, tcpRatio: 1.02 }, { ratio: 1.1, tcpRatio: 0.8 }, { ratio: 0.95, tcpRatio: NaN }, { ratio: 1.0, tcpRatio: 0.97 }];
  assert.is(medianRound(rounds, () => true, (x) => x.tcpRatio)?.tcpRatio, 0.97, 'a round without TCP left out; of three, the middle');
  assert.is(medianRound(rounds, () => true)?.ratio, 0.95, 'by the session ratio by default');
  const gbit = { 'r1 main': 0.25, 'r1 tun': 0.5, 'r2 main': 0.125, 'r2 records': 0.0625, nfcapd: 1, machine: 4, rest: 2 };
  assert.is(routersCpu(gbit), 0.9375);
  assert.ok(Number.isNaN(routersCpu(undefined)));
});

test('the machine outside the routers: the bench\'s children that ended, the namespaces\' and the kernel\'s threads, steal; the rest is what none of them ran', () => {
  const snap = (machine: number, children: number, server: number, softirqd: number, kernel: number, steal: number) => ({
    at: 0, routers: [], collectors: 1, bench: 2, children, groups: { server, softirqd, kworkers: 1, kernel }, steal, machine,
  });
  const a = cpuAccount([], snap(100, 10, 1, 2, 3, 4), snap(130, 16, 2, 5, 4.5, 4.5));
  assert.equal(a, { nfcapd: 0, bench: 0, children: 6, server: 1, softirqd: 3, kworkers: 0, kernel: 1.5, steal: 0.5, machine: 30, rest: 18 });
});

test('a child\'s CPU counts in its parent\'s once it ended; the kernel\'s threads are found, a namespace that does not exist runs nothing', () => {
  const before = childrenCpuSeconds(process.pid);
  // the child spins until it has had 300 ms of CPU (on a loaded machine that takes longer)
  spawnSync(process.execPath, ['-e', 'while (process.cpuUsage().user + process.cpuUsage().system < 300_000);']);
  assert.ok(childrenCpuSeconds(process.pid) - before >= 0.25, `children ${childrenCpuSeconds(process.pid) - before} s`);
  const g = machineGroupSeconds({ server: 'no-such-namespace-rm' });
  assert.is(g['server'], 0);
  assert.ok(['softirqd', 'kworkers', 'kernel'].every((k) => Number.isFinite(g[k]) && g[k]! >= 0), JSON.stringify(g));
});

test('a round\'s accounts side by side: off, on, on − off, during the test and until settled', () => {
  const cpu = (main: number, records: number): RunCpu => ({
    during: { 'r1 main': main, 'r1 records': records }, settled: { 'r1 main': main + 1, 'r1 records': records + 2 },
    duringSeconds: 5, settledSeconds: 8, settledInTime: true, load: 1,
  });
  const rows = costRows(cpu(6.4, 0.1), cpu(7.1, 3.6));
  assert.is(rows.length, 4);
  assert.is(rows[2], '| r1 main | 6.4 | 7.1 | 0.7 | 7.4 | 8.1 | 0.7 |');
  assert.is(rows[3], '| r1 records | 0.1 | 3.6 | 3.5 | 2.1 | 5.6 | 3.5 |');
  assert.equal(costRows(undefined, cpu(1, 1)), []);
});

test('a records pair\'s witness: what the routers, nfcapd and the bench spent more on against the machine\'s µs per session off, or their own; and without nfcapd', () => {
  // off: 30,000 sessions in 5 s on 2 busy cores = 333.3 µs of the machine per session; the routers 30 µs off, 36 + nfcapd 1 + the bench 3 on
  const run = (routers: number, nfcapd: number, bench: number): VisibilityRun => ({
    sessions: { client: { client: 'c', attempted: 30_000, ok: 30_000, failed: 0, seconds: 5, okPerSecond: 6000 }, createdR1: 30_000,
      machine: { seconds: 5, busyCores: 2, userCores: 1, systemCores: 1, softirqCores: 0, stealCores: 0, ctxtPerSession: 1 } },
    cpu: { during: {}, settled: { 'r1 main': routers / 2, 'r2 main': routers / 2, nfcapd, bench, machine: 0, rest: 0 }, duringSeconds: 5, settledSeconds: 7, settledInTime: true, load: 1 },
  } as unknown as VisibilityRun);
  const w = recordsWitness(run(30, 0, 0), run(36, 1, 3));
  assert.ok(Math.abs(w.high - 333.333 / (333.333 + 10)) < 1e-6 && Math.abs(w.low - 30 / 40) < 1e-9, JSON.stringify(w));
  // beside it, the high bound without the collectors' 1 µs more (nfcapd: on a real network they run on another host)
  assert.ok(Math.abs(w.noCollectors - 333.333 / (333.333 + 9)) < 1e-6, JSON.stringify(w));
  assert.ok(Number.isNaN(recordsWitness({}, run(36, 1, 3)).high), 'no figure without the off side');
});

test.run();
