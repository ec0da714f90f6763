/**
 * A node's session records: facts in -> records in the history and to every collector (real UDP sockets as
 * collectors: what arrives is counted); reconfigure starts, restarts and stops exporters, and follows the
 * retention; records put before close are on disk after it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CollectorConfig, TelemetrySettings } from '../../../src/model/config.js';
import { defaultTelemetry } from '../../../src/model/read-telemetry.js';
import { Store } from '../../../src/store/store.js';
import { OPEN_SESSIONS_AT_START, openSessionsAtStart, SessionRecords } from '../../../src/telemetry/session-records.js';
import type { SessionFact } from '../../../src/telemetry/record.js';
import { sessionFacts } from './records.js';
import { isSvrError } from '../../../src/errors.js';
import { until } from '../../support/config.js';

interface Sink {
  port: number;
  messages: number;
  close(): Promise<void>;
}

async function udpSink(): Promise<Sink> {
  const s: Socket = createSocket('udp4');
  const sink = { port: 0, messages: 0, close: () => new Promise<void>((r) => s.close(() => r())) };
  s.on('message', () => sink.messages++);
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  sink.port = s.address().port;
  return sink;
}

const collector = (name: string, port: number, extra: Partial<CollectorConfig> = {}): CollectorConfig =>
  ({ name, address: '127.0.0.1', port, transport: 'udp', interimInterval: 60, tenants: [], ...extra });

function settings(collectors: CollectorConfig[], history = { enabled: true, retentionDays: 7, maxSizeMb: 1024 }): TelemetrySettings {
  return { ...defaultTelemetry(), ipfix: { templateInterval: 60, collectors }, history };
}

const T = Date.now();
const session = (i: number): SessionFact[] => sessionFacts(i, T);

test('records go to the history and to every collector; reconfigure adds, restarts and removes collectors and follows retention', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tm-records-'));
  const store = await Store.open(dir);
  const a = await udpSink();
  const b = await udpSink();
  const records = await SessionRecords.open({ router: 'r1', store, telemetry: settings([collector('a', a.port)]), observationDomainId: 1, exporter: { flushMs: 10 }, history: { flushMs: 20 } });
  try {
    for (let i = 0; i < 10; i++) for (const f of session(i)) records.apply(f);
    assert.ok(await until(() => records.counters().collectors[0]!.exported === 10, 3000), JSON.stringify(records.counters().collectors));
    assert.ok(await until(() => a.messages >= 1), 'collector a got messages');
    assert.ok(await until(() => records.counters().history.written === 10, 3000));
    const page = await records.query({ tenant: 'blue' });
    assert.is(page.records.length, 5);
    assert.equal((await records.get(page.records[0]!.sessionId))?.closeReason, 'fin-rst');

    // b added, a only for tenant red (changed: restarted), retention follows
    await records.reconfigure(settings([collector('a', a.port, { tenants: ['red'] }), collector('b', b.port)], { enabled: true, retentionDays: 1, maxSizeMb: 16 }), 1);
    assert.equal(records.counters().collectors.map((c) => c.name), ['a', 'b']);
    for (let i = 10; i < 20; i++) for (const f of session(i)) records.apply(f);
    assert.ok(await until(() => records.counters().collectors.find((c) => c.name === 'b')!.exported === 10, 3000));
    const ca = records.counters().collectors.find((c) => c.name === 'a')!;
    assert.equal([ca.exported, ca.filtered], [5, 5], 'the restarted exporter of a: red only');
    assert.ok(await until(() => b.messages >= 1));

    // every collector removed: nothing exported, the history still written
    await records.reconfigure(settings([]), 1);
    assert.equal(records.counters().collectors, []);
    for (const f of session(20)) records.apply(f);
    assert.ok(await until(() => records.counters().history.written === 21, 3000));
    assert.is(records.counters().records.endRecords, 21);
  } finally {
    await records.close();
    await store.close();
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('close writes what is pending: the records are there when the store is opened again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tm-records-'));
  let store = await Store.open(dir);
  const records = await SessionRecords.open({ router: 'r1', store, telemetry: settings([]), observationDomainId: 1, history: { flushMs: 60_000 } });
  for (let i = 0; i < 3; i++) for (const f of session(i)) records.apply(f);
  await records.close();
  await store.close();
  store = await Store.open(dir);
  const again = await SessionRecords.open({ router: 'r1', store, telemetry: settings([]), observationDomainId: 1 });
  try {
    assert.is((await again.query({})).records.length, 3);
    assert.is(again.counters().history.lostAtOpen, 0);
  } finally {
    await again.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/** The intervals set and not cleared while `run` runs (they wake the thread up again and again). */
async function intervalsOf(run: (live: () => number) => Promise<void>): Promise<void> {
  const live = new Set<unknown>();
  const set = globalThis.setInterval;
  const clear = globalThis.clearInterval;
  globalThis.setInterval = ((...a: Parameters<typeof setInterval>) => {
    const t = set(...a);
    live.add(t);
    return t;
  }) as typeof setInterval;
  globalThis.clearInterval = ((t: Parameters<typeof clearInterval>[0]) => {
    live.delete(t);
    clear(t);
  }) as typeof clearInterval;
  try {
    await run(() => live.size);
  } finally {
    globalThis.setInterval = set;
    globalThis.clearInterval = clear;
  }
}

test('history off (telemetry.history.enabled false) and no collector: no timer, facts are not looked at, the history refuses queries; turned on at a reconfigure, it records', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tm-records-'));
  const store = await Store.open(dir);
  await intervalsOf(async (timers) => {
    const records = await SessionRecords.open({ router: 'r1', store, telemetry: settings([], { enabled: false, retentionDays: 7, maxSizeMb: 1024 }), observationDomainId: 1, history: { flushMs: 20 } });
    try {
      assert.is(timers(), 0, 'nothing to do: nothing wakes up');
      for (const f of session(1)) records.apply(f);
      assert.is(records.counters().records.endRecords, 0);
      try {
        await records.query({});
        assert.unreachable('a query while the history is off');
      } catch (e) {
        assert.ok(isSvrError(e, 'SVR_ERR_HISTORY_STORE'), String(e));
      }
      await records.reconfigure(settings([]), 1);
      for (const f of session(2)) records.apply(f);
      assert.ok(await until(() => records.counters().history.written === 1, 3000));
      assert.is((await records.query({})).records[0]?.forward.srcPort, 40002);
      assert.is(timers(), 1, 'history on: the interim check (the history\'s write and marker are one-shot timers a put arms)');
      await records.reconfigure(settings([], { enabled: false, retentionDays: 7, maxSizeMb: 1024 }), 1);
      assert.is(records.counters().history.written, 0, 'off again');
      assert.is(timers(), 0, 'off again: no timer left');
    } finally {
      await records.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});


test('a node\'s records make room at start for its router\'s session capacity, at most OPEN_SESSIONS_AT_START', () => {
  assert.is(openSessionsAtStart(10_000), 10_000);
  assert.is(openSessionsAtStart(4_000_000), OPEN_SESSIONS_AT_START);
  assert.is(openSessionsAtStart(undefined), OPEN_SESSIONS_AT_START, 'the capacity sized from memory');
});

test.run();
