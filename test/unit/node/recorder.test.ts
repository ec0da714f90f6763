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
import { isSvrError } from '../../../src/errors.js';
import { exampleConfig, until } from '../../support/config.js';
import { Subject } from 'rxjs';
import type { RouterEvent } from '../../../src/control/events.js';

const run = promisify(execFile);
const SVR = fileURLToPath(new URL('../../../../bin/svr.js', import.meta.url));

test('closed sessions, counters and configs land in LevelDB; svr inspect reads them after the node is gone; one opener at a time', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svr-state-'));
  const store = await Store.open(dir);
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'], router: { store } });
  const recorder = new StateRecorder(store, lab.r1, { snapshotEveryMs: 60_000 });
  try {
    await recorder.recordConfig({ authority: { name: 'demo' } });
    lab.servers[0]!.udpBind(7, (d, f) => lab.servers[0]!.udpSend(7, f.address, f.port, d));
    let got = 0;
    lab.clients[0]!.udpBind(41000, () => got++);
    lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from('hello'));
    assert.ok(await until(() => got === 1));
    const s = lab.r1.host.dataplane.sessions;
    lab.r1.host.dataplane.removeRow(0, s.gen[0]!, 'admin');
    await lab.close();
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
    const sessions = JSON.parse((await run(process.execPath, [SVR, 'inspect', 'sessions', '--data-dir', dir, '--json'])).stdout) as { value: { service: string; reason: string; packets: number[] } }[];
    assert.is(sessions.length, 1);
    assert.is(sessions[0]!.value.service, 'echo');
    assert.is(sessions[0]!.value.reason, 'admin');
    assert.equal(sessions[0]!.value.packets, [1, 1]);
    const table = (await run(process.execPath, [SVR, 'inspect', 'counters', '--data-dir', dir])).stdout;
    assert.match(table, /sessions-created\s+1/);
    const config = (await run(process.execPath, [SVR, 'inspect', 'config', '--data-dir', dir])).stdout;
    assert.match(config, /"name": "demo"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('retention: session records beyond the count or older than the age go, a flood of closes waits in a bounded queue', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svr-state-'));
  const store = await Store.open(dir);
  const events$ = new Subject<RouterEvent>();
  let now = Date.parse('2025-01-01T00:00:00Z');
  const recorder = new StateRecorder(store, { events$, counters: () => ({}) }, { maxSessionRecords: 500, maxAgeMs: 60_000, maxPending: 800, pruneEveryMs: 3_600_000, now: () => now });
  const removed = (i: number): RouterEvent => ({
    type: 'session.removed', atMs: now, sessionId: `s${i}`, reason: 'idle', role: 'ingress', tenant: 't', service: 'echo', application: '', ageMs: 1, packets: [1, 1], bytes: [1, 1],
  });
  try {
    for (let i = 0; i < 1000; i++) events$.next(removed(i));
    assert.is(recorder.stats.dropped, 200, 'beyond 800 waiting');
    await recorder.flush();
    const count = async () => (await store.sublevel('sessions').keys().all()).length;
    assert.is(await count(), 800);
    await recorder.prune();
    assert.is(await count(), 500, 'the newest 500 kept');
    now += 61_000;
    for (let i = 0; i < 10; i++) events$.next(removed(2000 + i));
    await recorder.flush();
    await recorder.prune();
    assert.equal((await store.sublevel('sessions').values().all()).map((r) => (r as { id: string }).id).sort(), [...Array(10).keys()].map((i) => `s${2000 + i}`).sort(), 'older than a minute: gone');
    assert.is(recorder.stats.pruned, 800);
  } finally {
    await recorder.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
