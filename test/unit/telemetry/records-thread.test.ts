/**
 * The records thread (telemetry/records-thread.ts): a data path's fact rows become records in the history
 * database it owns and at a collector (a real UDP socket); queries and their coded errors cross the thread;
 * `svr inspect`'s reader opens the history after close; a records thread that dies is started again, the
 * rows it never read counted lost; a full ring counts what it drops.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSvrError } from '../../../src/errors.js';
import { defaultTelemetry } from '../../../src/model/read-telemetry.js';
import { Store } from '../../../src/store/store.js';
import { SessionHistory } from '../../../src/telemetry/history/history.js';
import { dataPath } from './records.js';
import { FactRing } from '../../../src/dataplane/fact-ring.js';
import { historyDirOf, RECORDS_NICE, RecordsThread } from '../../../src/telemetry/records-thread.js';
import { until } from '../../support/config.js';

/** The nice value of each thread of this process (/proc/self/task/<tid>/stat, field 19). */
const niceOf = (tid: string | number): number => {
  const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
};
const threadNices = (): number[] => readdirSync('/proc/self/task').map(niceOf);

test('a data path\'s facts to the records thread (at a lower priority): history written and queried there, IPFIX sent, coded errors back, the history readable after close', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tm-thread-'));
  const sink = createSocket('udp4');
  let messages = 0;
  sink.on('message', () => messages++);
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
  const collectors = [{ name: 'c', address: '127.0.0.1', port: sink.address().port, transport: 'udp' as const, interimInterval: 60, tenants: [] }];
  const statuses: string[] = [];
  const ring = FactRing.buffer(8192);
  const records = await RecordsThread.open(
    { router: 'r1', historyDir: historyDirOf(dir), rings: [ring], observationDomainId: 1, telemetry: { ...defaultTelemetry(), ipfix: { templateInterval: 60, collectors } }, exporter: { flushMs: 10 }, history: { flushMs: 20 } },
    { onCollectorStatus: (c, s) => statuses.push(`${c} ${s}`) },
  );
  try {
    assert.ok(records.recording);
    assert.ok(threadNices().includes(RECORDS_NICE), `a thread at nice ${RECORDS_NICE}: ${threadNices().join(' ')}`);
    assert.is(niceOf(process.pid), 0, 'this (the control) thread keeps its priority');
    const d = await dataPath(ring, undefined, Date.now());
    d.open(3000);
    d.expire();
    assert.ok(await until(() => records.counters().history.written === 3000, 10_000), JSON.stringify(records.counters().history));
    const c = records.counters();
    assert.is(c.records.endRecords, 3000);
    assert.equal(c.waiting, { facts: 0, dropped: 0, lost: 0, restarts: 0 });
    assert.ok(await until(() => messages > 0, 5000), 'the collector got IPFIX messages');
    assert.ok(await until(() => statuses.includes('c up'), 5000), statuses.join());
    const page = await records.query({ tenant: 'engineering', limit: 1000 });
    assert.is(page.records.length, 1000);
    assert.ok(page.records.every((r) => r.tenant === 'engineering' && r.service === 'echo' && r.closeReason === 'idle'));
    const last = page.records[0]!;
    const one = await records.get(last.sessionId);
    assert.equal([one?.forward, one?.bytes, one?.paths], [last.forward, last.bytes, ['wan0->r2/wan0']]);
    assert.is(one?.forward.dst, '198.18.3.20');
    let err: unknown;
    try {
      await records.query({ limit: 0 });
    } catch (e) {
      err = e;
    }
    assert.ok(isSvrError(err, 'SVR_ERR_HISTORY_QUERY'), String(err));
    // off: no facts wanted; the history answers no more
    await records.reconfigure({ ...defaultTelemetry(), history: { enabled: false, retentionDays: 7, maxSizeMb: 1024 } }, 1);
    assert.not.ok(records.recording);
    err = undefined;
    await records.query({ limit: 1 }).catch((e: unknown) => { err = e; });
    assert.ok(isSvrError(err, 'SVR_ERR_HISTORY_STORE'), String(err));
  } finally {
    await records.close();
    sink.close();
  }
  let err: unknown;
  await records.query({ limit: 1 }).catch((e: unknown) => { err = e; });
  assert.ok(isSvrError(err, 'SVR_ERR_HISTORY_STORE'), 'closed');
  // the database is free again: what `svr inspect sessions --data-dir` opens
  const store = await Store.open(historyDirOf(dir));
  const h = await SessionHistory.open(store, { readOnly: true });
  assert.is((await h.query({ limit: 1000 })).records.length, 1000);
  await h.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('from a data path\'s fact ring: records written; a records thread that dies is started again, the ring rows it never read are skipped and counted lost, a full ring counted dropped', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tm-thread-'));
  const ring = FactRing.buffer(512);
  const told: string[] = [];
  const records = await RecordsThread.open({ router: 'r1', historyDir: historyDirOf(dir), rings: [ring], observationDomainId: 1, telemetry: defaultTelemetry(), history: { flushMs: 20 } }, {
    onRestarted: (n) => told.push(`restarted ${n}`),
  });
  try {
    const d = await dataPath(ring, undefined, Date.now());
    d.open(100);
    d.expire();
    assert.ok(await until(() => records.counters().history.written === 100, 5000), JSON.stringify(records.counters()));
    const one = await records.get((await records.query({ limit: 1 })).records[0]!.sessionId);
    assert.equal([one?.tenant, one?.service, one?.paths, one?.closeReason], ['engineering', 'echo', ['wan0->r2/wan0'], 'idle']);
    // the thread dies; the data path goes on writing rows for it (50 sessions, 100 facts) that nobody reads
    await (records as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    d.open(50);
    d.expire();
    assert.is(records.counters().waiting?.facts, 100, 'waiting in the ring');
    assert.ok(await until(() => told.includes('restarted 1'), 10_000), told.join('; '));
    d.open(30);
    d.expire();
    assert.ok(await until(() => records.counters().history.written === 130, 5000), JSON.stringify(records.counters()));
    assert.equal(records.counters().waiting, { facts: 0, dropped: 0, lost: 100, restarts: 1 });
    // a burst larger than the ring while the thread cannot read: dropped and counted, never blocking
    await (records as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    d.open(600);
    assert.is(d.dp.sessions.active, 600);
    assert.ok(records.counters().waiting!.dropped >= 600 - 512, JSON.stringify(records.counters().waiting));
  } finally {
    await records.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
