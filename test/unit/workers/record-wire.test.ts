/**
 * A worker's batch crosses to the main thread as its session records (record-wire.ts): what control reads there,
 * in place or as objects, is what the worker's data path recorded, rows tagged with the worker, names by the
 * worker's tables of then.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { serialize, deserialize } from 'node:v8';
import { Dataplane } from '../../../src/dataplane/dataplane.js';
import type { DpEvent } from '../../../src/dataplane/events.js';
import { factEvents, REC_WORDS, type SessionRecords } from '../../../src/dataplane/session-records.js';
import { compileRouter } from '../../../src/model/compile.js';
import { parseConfig } from '../../../src/model/validate.js';
import { RecordReceiver, RecordSender, type WireRecords } from '../../../src/workers/record-wire.js';
import { svrConfigYaml } from '../../../bench/svr-config.js';
import { stampFlows, udpSlab } from '../../../bench/udp-slab.js';

const tag = (e: DpEvent, worker: number): DpEvent => ('row' in e ? { ...e, row: (worker << 24) | e.row } : e);

/** r1 whose batches go through a sender; each message is cloned as postMessage does and kept with what the worker saw. */
function worker(): { dp: Dataplane; sent: { m: WireRecords; objects: DpEvent[] }[] } {
  const tables = compileRouter(parseConfig(svrConfigYaml({ encrypt: false }), 'test'), 'r1', 1);
  const sender = new RecordSender();
  const sent: { m: WireRecords; objects: DpEvent[] }[] = [];
  const dp: Dataplane = new Dataplane({
    tables, ports: tables.interfaces.map(() => null),
    onRecords: (events: DpEvent[], s: SessionRecords) => {
      const objects = factEvents(events, s);
      const { m, transfer } = sender.pack(events, s, dp.ctx.applications);
      assert.is(transfer.length, 2);
      sent.push({ m: deserialize(serialize(m)) as WireRecords, objects });
    },
  });
  return { dp, sent };
}

function open(dp: Dataplane, n: number, first = 0): void {
  const u = udpSlab(n);
  stampFlows(u.stamp, first, n);
  dp.receive(dp.ctx.tables.interfaceIndex('lan0'), u.slab, u.offs, u.lens, n);
}

test('record wire: a batch\'s records read on main as the worker made them, rows tagged, names sent once per tables', () => {
  const { dp, sent } = worker();
  open(dp, 3);
  open(dp, 2, 3);
  dp.removeAll('shutdown');
  assert.is(sent.length, 3);
  const rx = new RecordReceiver(2, 24);
  assert.ok(sent[0]!.m.names !== undefined, 'the first batch carries the names');
  assert.is(sent[1]!.m.names, undefined, 'the same tables: no names again');
  for (const { m, objects } of sent) {
    const { events, records } = rx.receive(m);
    assert.is(records.count, m.count);
    assert.equal(factEvents(events, records), objects.map((e) => tag(e, 2)));
  }
  assert.equal(sent.map((x) => x.objects.filter((e) => e.kind === 'session.created').length), [3, 2, 0]);
  assert.is(sent[2]!.objects.filter((e) => e.kind === 'session.removed').length, 5);
});

test('record wire: a reload\'s new names come before the records by its ids; applications as the worker interns them', () => {
  const { dp, sent } = worker();
  open(dp, 1);
  const renamed = compileRouter(parseConfig(svrConfigYaml({ encrypt: false }).replace('- name: bench\n      members', '- name: green\n      members').replace('source: bench', 'source: green'), 'test'), 'r1', 2);
  assert.ok(renamed.tenants.includes('green'));
  dp.setTables(renamed);
  open(dp, 1, 1);
  const rx = new RecordReceiver(0, 24);
  const before = sent.length;
  for (const { m, objects } of sent) {
    const { events, records } = rx.receive(m);
    assert.equal(factEvents(events, records), objects);
  }
  const last = sent[before - 1]!;
  assert.ok(last.m.names !== undefined, 'the batch after the swap carries the new names');
  const created = last.objects.find((e) => e.kind === 'session.created');
  assert.is(created?.kind === 'session.created' ? created.tenant : '', 'green');
  // an application interned by the worker: its name crosses with the next batch that has records
  const id = dp.ctx.applications.id('web');
  open(dp, 1, 2);
  const m = sent.at(-1)!.m;
  assert.equal(m.apps, ['web']);
  assert.is(m.appsFrom, id);
  m.words[7] = id; // session-records.ts W_APP of the batch's first record
  assert.is(rx.receive(m).records.application(0), 'web');
  assert.is(m.words.length, m.count * REC_WORDS);
});

test.run();
