import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { Store } from '../../../src/store/store.js';
import { StateRecorder } from '../../../src/node/recorder.js';
import { removeOldHistory, startRecords } from '../../../src/node/records.js';
import type { HistoryPage } from '../../../src/telemetry/history/query.js';
import { isSvrError } from '../../../src/errors.js';
import { exampleConfig, until } from '../../support/config.js';

const run = promisify(execFile);
const SVR = fileURLToPath(new URL('../../../../bin/svr.js', import.meta.url));

test('session records, counters and configs land in LevelDB; svr inspect reads them after the node is gone; one opener at a time', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svr-state-'));
  const store = await Store.open(dir);
  const authority = await exampleConfig();
  const lab = createMemoryLab({ config: authority, clients: ['198.18.1.10'], servers: ['198.18.3.20'], router: { store } });
  const recorder = new StateRecorder(store, lab.r1, { snapshotEveryMs: 60_000 });
  const records = await startRecords(lab.r1, store, authority, 'r1', () => undefined);
  try {
    await recorder.recordConfig({ authority: { name: 'demo' } });
    lab.servers[0]!.udpBind(7, (d, f) => lab.servers[0]!.udpSend(7, f.address, f.port, d));
    let got = 0;
    lab.clients[0]!.udpBind(41000, () => got++);
    lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from('hello'));
    assert.ok(await until(() => got === 1));
    const s = lab.r1.host.dataplane.sessions;
    lab.r1.host.dataplane.removeRow(0, s.gen[0]!, 'admin');
    assert.ok(await until(() => records.sessions.counters().records.endRecords === 1));
    await lab.close();
    await records.close();
    await recorder.close();
    // a second opener is refused while the first holds the database
    let err: unknown;
    try {
      await Store.open(dir);
    } catch (e) {
      err = e;
    }
    assert.ok(isSvrError(err, 'SVR_ERR_STORE_OPEN'), String(err));
    await store.close();
    const page = JSON.parse((await run(process.execPath, [SVR, 'inspect', 'sessions', '--data-dir', dir, '--json'])).stdout) as HistoryPage;
    assert.is(page.records.length, 1);
    const r = page.records[0]!;
    assert.equal([r.service, r.tenant, r.closeReason, r.router, r.role], ['echo', 'engineering', 'admin', 'r1', 'ingress']);
    assert.equal(r.forward, { src: '198.18.1.10', dst: '198.18.3.20', srcPort: 41000, dstPort: 7, protocol: 17 });
    assert.equal([r.packets, r.paths], [[1, 1], ['wan0->r2/wan0']]);
    const story = (await run(process.execPath, [SVR, 'inspect', 'session', r.sessionId, '--data-dir', dir])).stdout;
    assert.match(story, /udp 198\.18\.1\.10:41000 > 198\.18\.3\.20:7/);
    assert.match(story, /no path changes/);
    const table = (await run(process.execPath, [SVR, 'inspect', 'counters', '--data-dir', dir])).stdout;
    assert.match(table, /sessions-created\s+1/);
    const config = (await run(process.execPath, [SVR, 'inspect', 'config', '--data-dir', dir])).stdout;
    assert.match(config, /"name": "demo"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a store that refuses writes (a full disk): counted, logged once until a write succeeds, never thrown', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svr-state-'));
  const store = await Store.open(dir);
  const logged: string[] = [];
  const recorder = new StateRecorder(store, { counters: () => ({ 'rx-packets': 1 }) }, { log: (e) => logged.push(e), snapshotEveryMs: 60_000 });
  try {
    assert.is(await recorder.recordConfig({ authority: { name: 'before' } }), true);
    await store.close(); // every write now fails, as on a full disk
    assert.is(await recorder.recordConfig({ authority: { name: 'lost' } }), false);
    assert.is(await recorder.snapshot(), false);
    assert.is(await recorder.snapshot(), false);
    assert.is(recorder.writeErrors, 3);
    assert.equal(logged, ['store.write-failed', 'store.write-failed'], 'once per kind (config, counters)');
    await recorder.close();
    assert.is(recorder.writeErrors, 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('retention: counter snapshots older than the age limit go with the next snapshot', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svr-state-'));
  const store = await Store.open(dir);
  let now = Date.parse('2025-01-01T00:00:00Z');
  const recorder = new StateRecorder(store, { counters: () => ({ 'rx-packets': now }) }, { snapshotEveryMs: 3_600_000, maxAgeMs: 60_000, now: () => now });
  try {
    for (let i = 0; i < 10; i++) {
      await recorder.snapshot();
      now += 10_000;
    }
    const keys = async () => store.sublevel('counters').keys().all();
    assert.is((await keys()).length, 7, 'the snapshots of the last minute');
    now += 120_000;
    await recorder.snapshot();
    assert.equal(await keys(), [new Date(now).toISOString()], 'older than a minute: gone');
  } finally {
    await recorder.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a session history of format 1 in the node store (before <data dir>/history) is counted, removed and logged', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svr-state-'));
  const store = await Store.open(dir);
  try {
    const old = store.db.sublevel<string, Uint8Array>('history', { keyEncoding: 'utf8', valueEncoding: 'view' });
    await old.batch([
      { type: 'put', key: 'r/018bcfe56800/a', value: Buffer.from('{}') },
      { type: 'put', key: 'r/018bcfe56c00/b', value: Buffer.from('{}') },
      { type: 'put', key: 'i/a/018bcfe56800', value: new Uint8Array(0) },
      { type: 'put', key: 'm/accepted', value: new Uint8Array(1) },
    ]);
    await store.sublevel('config').put('k', { kept: true });
    const logged: string[] = [];
    assert.is(await removeOldHistory(store, (event, f) => logged.push(`${event} ${f.records} ${f.keys}`)), 2);
    assert.equal(logged, ['history.old-store-removed 2 4']);
    assert.equal(await old.keys().all(), []);
    assert.equal(await store.sublevel('config').get('k'), { kept: true }, 'the rest of the store stays');
    assert.is(await removeOldHistory(store, (event) => logged.push(event)), 0);
    assert.is(logged.length, 1, 'nothing to say the second time');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
