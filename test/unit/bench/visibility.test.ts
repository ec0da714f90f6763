/**
 * The visibility case's accounts (bench/visibility.ts, bench/cpu.ts): a router's threads grouped as the case
 * reports them (a real records thread names itself and is found by name in /proc), CPU seconds turned into µs
 * per session above the idle rate, the round of the median ratio (broken rounds only when all broke), and the
 * table of a round's accounts side by side.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { groupCpuDelta, threadCpu, threadGroupOf } from '../../../bench/cpu.js';
import { costRows, medianRound, perSession, type RunCpu } from '../../../bench/visibility.js';
import { defaultTelemetry } from '../../../src/model/read-telemetry.js';
import { historyDirOf, RECORDS_THREAD_NAME, RecordsThread } from '../../../src/telemetry/records-thread.js';

test('a router\'s threads: main by its id, the records thread and the TUN threads by their names, the rest as other', () => {
  assert.is(threadGroupOf(100, 100, 'node'), 'main');
  assert.is(threadGroupOf(100, 101, RECORDS_THREAD_NAME), 'records');
  assert.is(threadGroupOf(100, 102, 'svr-tun-read'), 'tun');
  assert.is(threadGroupOf(100, 103, 'svr-tun-write'), 'tun');
  assert.is(threadGroupOf(100, 104, 'node'), 'other');
  const before = new Map([[100, { name: 'node', seconds: 1 }], [101, { name: RECORDS_THREAD_NAME, seconds: 2 }], [104, { name: 'node', seconds: 0.5 }]]);
  const after = new Map([[100, { name: 'node', seconds: 1.5 }], [101, { name: RECORDS_THREAD_NAME, seconds: 2.25 }], [104, { name: 'node', seconds: 0.75 }], [105, { name: 'node', seconds: 0.125 }]]);
  assert.equal(groupCpuDelta(100, before, after), { main: 0.5, records: 0.25, tun: 0, other: 0.375 }, 'a thread started in between counts whole');
});

test('a node\'s records thread is found by its name in /proc and counts as the records group', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svr-vis-threads-'));
  const records = await RecordsThread.open({ router: 'r1', observationDomainId: 1, telemetry: defaultTelemetry(), historyDir: historyDirOf(dir) });
  try {
    const named = [...threadCpu(process.pid)].filter(([, t]) => t.name === RECORDS_THREAD_NAME);
    assert.is(named.length, 1, 'one thread named svr-records');
    assert.is(threadGroupOf(process.pid, named[0]![0], named[0]![1].name), 'records');
    assert.is(threadGroupOf(process.pid, process.pid, 'node'), 'main');
  } finally {
    await records.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('µs per session above the idle rate: the idle rate times the window is taken off each account', () => {
  // 10 s window, 2 s idle sample, 100,000 sessions: 1.5 s in the window, 0.1 s idle (0.05/s: 0.5 s of the window)
  const out = perSession({ 'r1 main': 1.5, nfcapd: 0.2 }, 10, { 'r1 main': 0.1, nfcapd: 0 }, 2, 100_000);
  assert.ok(Math.abs(out['r1 main']! - 10) < 1e-9, `r1 main ${out['r1 main']}`);
  assert.ok(Math.abs(out.nfcapd! - 2) < 1e-9);
});

test('the median round: of the clean ones, or of all when none is clean; none when no ratio is finite', () => {
  const r = (ratio: number, clean: boolean): { ratio: number; clean: boolean } => ({ ratio, clean });
  const isClean = (x: { clean: boolean }): boolean => x.clean;
  assert.is(medianRound([r(0.95, true), r(0.2, false), r(0.85, true), r(0.9, true)], isClean)?.ratio, 0.9, 'the middle of three clean ones');
  assert.is(medianRound([r(0.95, true), r(0.2, false), r(0.9, true)], isClean)?.ratio, 0.9, 'two clean: the lower');
  assert.is(medianRound([r(0.5, false), r(2.6, false), r(1.2, false)], isClean)?.ratio, 1.2, 'all broke down: the median of all');
  assert.is(medianRound([r(NaN, true)], isClean), undefined);
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

test.run();
