/**
 * Worker supervision on real nodes (docs/security.md "Worker supervision"): `svr lab up --workers 2
 * --plugin <crasher>`, where the crasher's data-path part throws outside any stage (an uncaught error in
 * the worker thread, as a buggy plugin or native failure would) when a session to UDP port 7 opens. Under
 * a UDP stream, one echo probe kills the worker that owns it; r1 replaces the thread. Throughout, the
 * control request of `svr show sessions` is made every 100 ms on r1's socket and answers within 2 s every
 * time (the CLI's own start-up, seconds on a busy host, not counted; `svr show sessions` itself at the end); `svr show events` has the alarm
 * worker-restarted raised and cleared; the stream goes on.
 * Needs root, ip, iperf3, curl (the lab); otherwise its tests count as skipped.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { request } from '../../src/node/control-client.js';
import { backgroundLines, e2eDir, E2E_PREFIX, inNs, pollUntil, show, sleep, svr, SVR, LAB_UP_MS } from './support.js';
import { requires } from '../support/prerequisites.js';

const PREFIX = `${E2E_PREFIX}s`;
const CLIENT_NS = `${PREFIX}-client`;
const SERVER = '198.18.3.20';

const test = requires(import.meta.url);
const dir = e2eDir(test, `${PREFIX}-e2e-supervision`, () => downSync());
const env = { SVR_RUN_DIR: join(dir, 'run') };
const labArgs = ['--prefix', PREFIX, '--dir', dir];
const r1 = ['--socket', join(dir, 'r1.sock')];
const downSync = (): void => {
  spawnSync(process.execPath, [SVR, 'lab', 'down', ...labArgs], { env: { ...process.env, ...env }, stdio: 'ignore' });
};

const CRASHER = `// for the supervision test: a session to UDP port 7 ends the worker thread with an uncaught error
export default {
  name: 'test.crasher',
  version: '1.0.0',
  api: '^1.2',
  options: (raw) => raw ?? {},
  dataplane(ctx) {
    ctx.onSessionOpen((s) => {
      if (s.protocol === 17 && s.dstPort === 7) setImmediate(() => { throw new Error('crasher: worker thread ends'); });
    });
  },
};
`;

test.after(() => {
  downSync();
  // e2eDir removes the directory when every test passed (kept with the logs otherwise)
});

test('a worker thread dies under traffic: replaced, alarm raised and cleared, svr show sessions within 2 s throughout, the stream goes on', async () => {
  const crasher = join(dir, 'crasher.mjs');
  writeFileSync(crasher, CRASHER);
  const up = await svr(['lab', 'up', ...labArgs, '--workers', '2', '--plugin', crasher], env, LAB_UP_MS);
  assert.is(up.code, 0, show(up));
  const stream = backgroundLines('ip', ['netns', 'exec', CLIENT_NS, process.execPath, SVR, 'lab', 'send-stream', '--rate', '200', '--duration', '14s', '--id', '5150']);
  const times: number[] = [];
  const failures: string[] = [];
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const t0 = Date.now();
      try {
        await request(join(dir, 'r1.sock'), { method: 'show', what: 'sessions' }, 10_000);
      } catch (e) {
        failures.push(e instanceof Error ? e.message : String(e));
      }
      times.push(Date.now() - t0);
      await sleep(100);
    }
  })();
  try {
    await sleep(3000);
    const probe = await inNs(CLIENT_NS, process.execPath, [SVR, 'lab', 'udp-probe', SERVER, '7', '--timeout', '500'], 5000); // the crash: its reply may never come
    assert.ok(probe.code !== null, show(probe));
    const events = async () => {
      const r = await svr(['show', 'events', '--json', ...r1], env);
      return r.code === 0 ? (JSON.parse(r.stdout) as { kind: string; alarmId?: string; message: string }[]).filter((e) => e.alarmId?.startsWith('worker-restarted:')) : [];
    };
    const seen = await pollUntil('worker-restarted raised and cleared', 15_000, async () => {
      const e = await events();
      return e.some((x) => x.kind === 'alarm-raised') && e.some((x) => x.kind === 'alarm-cleared') ? e : undefined;
    });
    await stream.exited;
    polling = false;
    await poller;
    const stats = JSON.parse((await inNs(CLIENT_NS, 'curl', ['-sS', '-m', '3', `http://${SERVER}/stream-stats/5150`])).stdout) as { received: number; expected: number; lost: number };
    const slowest = Math.max(...times);
    console.log(`    ${seen.map((e) => `${e.kind}: ${e.message}`).join('; ')}`);
    console.log(`    show sessions asked ${times.length} times: slowest ${slowest} ms, ${failures.length} failed; stream ${stats.received} of ${stats.expected} received`);
    assert.equal(failures, [], 'show sessions always answered');
    const cli = await svr(['show', 'sessions', ...r1], env);
    assert.is(cli.code, 0, show(cli));
    assert.ok(slowest < 2000, `within 2 s every time (slowest ${slowest} ms)`);
    assert.ok(stats.received >= stats.expected * 0.8, 'the stream went on after the restart');
  } finally {
    polling = false;
    await poller;
    await stream.stop();
  }
});

test.run();
