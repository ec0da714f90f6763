/**
 * End to end with data-path workers: `svr lab up --workers 2` (both nodes run 2 worker threads, each with
 * its own queue of every TUN device), then downloads and UDP sessions through both routers. Sessions
 * must spread over both workers of r1 and every transfer must be intact (sha256).
 * Needs root and ip/curl/iperf3 (test/support/prerequisites.ts); otherwise its tests count as skipped.
 * `svr lab down` runs in the after hook.
 */
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { bytesSha256 } from '../../src/lab/servers.js';
import { labFixture, E2E_PREFIX, exec, inNs, show, svr, SVR, LAB_UP_MS } from './support.js';
import { requires } from '../support/prerequisites.js';

const PREFIX = `${E2E_PREFIX}w`;
const CLIENT_NS = `${PREFIX}-client`;
const SERVER = '198.18.3.20';
const SIZE = 8 * 1024 * 1024;

const test = requires(import.meta.url);

const { dir, env, labArgs, downSync } = labFixture(test, PREFIX, 'workers');
const r1Socket = join(dir, 'r1.sock');

test.after(() => {
  downSync();
  // e2eDir removes the directory when every test passed (kept with the logs otherwise)
});

test('svr lab up --workers 2: sessions spread over both workers of r1, downloads intact, stats per worker', async () => {
  const up = await svr(['lab', 'up', ...labArgs, '--workers', '2'], env, LAB_UP_MS);
  assert.is(up.code, 0, show(up));
  assert.match(up.stdout, /2 data-path workers per node/);
  // 6 downloads (each its own TCP session) and 16 UDP echo sessions
  const want = await bytesSha256(SIZE);
  for (let i = 0; i < 6; i++) {
    const r = await exec('sh', ['-c', `ip netns exec ${CLIENT_NS} curl -sS -m 60 http://${SERVER}/bytes/${SIZE} | sha256sum`], { timeoutMs: 70_000 });
    assert.is(r.code, 0, show(r));
    assert.is(r.stdout.split(' ')[0], want, `download ${i + 1} intact`);
  }
  for (let i = 0; i < 16; i++) {
    const r = await inNs(CLIENT_NS, process.execPath, [SVR, 'lab', 'udp-probe', SERVER, '7'], 20_000); // a new socket each time: a new session
    assert.is(r.code, 0, show(r));
  }
  const s = await svr(['show', 'sessions', '--json', '--socket', r1Socket], env);
  assert.is(s.code, 0, show(s));
  const rows = JSON.parse(s.stdout) as { worker?: number; service: string }[];
  const perWorker = [0, 1].map((w) => rows.filter((x) => x.worker === w).length);
  assert.ok(perWorker[0]! > 0 && perWorker[1]! > 0, `r1's sessions on both workers: ${perWorker.join('/')} of ${rows.length}`);
  const st = await svr(['show', 'stats', '--json', '--socket', r1Socket], env);
  const stats = JSON.parse(st.stdout) as { node: { workers: number }; 'sessions-per-worker': number[] };
  assert.is(stats.node.workers, 2);
  assert.is(stats['sessions-per-worker'].length, 2);
  const down = await svr(['lab', 'down', ...labArgs], env, 60_000);
  assert.is(down.code, 0, show(down));
  const left = await exec('ip', ['netns', 'list']);
  assert.not.match(left.stdout, new RegExp(`^${PREFIX}-`, 'm'), 'no namespace left');
});

test.run();
