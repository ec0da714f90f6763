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

const run = promisify(execFile);
const SVR = fileURLToPath(new URL('../../../../bin/svr.js', import.meta.url));

test('closed sessions, counters and configs land in LevelDB; svr inspect reads them after the node is gone; one opener at a time', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svr-state-'));
  const store = await Store.open(dir);
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'], router: { store } });
  const recorder = new StateRecorder(store, lab.r1, 60_000);
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

test.run();
