/**
 * Worker supervision (docs/security.md "Worker supervision"), on real worker threads under load: a worker
 * whose thread dies is replaced (alarm worker-restarted raised, then cleared), traffic goes on, counters
 * never go back, and `sessions()` (what `svr show sessions` asks) answers within 2 s throughout; a worker
 * that hangs makes `sessions()` answer SVR_ERR_WORKER_TIMEOUT within 2 s until the watchdog replaces it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isSvrError } from '../../../src/errors.js';
import { exampleConfig, sleep, until } from '../../support/config.js';
import { createWorkerLab, type WorkerLab } from '../../support/worker-lab.js';

const FLOWS = 32;

/** UDP echo flows from FLOWS client ports, one packet per flow every 20 ms; replies counted per port. */
function load(lab: WorkerLab): { replies: Map<number, number>; stop(): void } {
  lab.server.udpBind(7, (d, f) => lab.server.udpSend(7, f.address, f.port, d));
  const replies = new Map<number, number>();
  for (let i = 0; i < FLOWS; i++) lab.client.udpBind(43000 + i, () => replies.set(43000 + i, (replies.get(43000 + i) ?? 0) + 1));
  const timer = setInterval(() => {
    for (let i = 0; i < FLOWS; i++) lab.client.udpSend(43000 + i, '198.18.3.20', 7, Buffer.from(`ping ${i}`));
  }, 20);
  return { replies, stop: () => clearInterval(timer) };
}

/** Calls sessions() back to back, recording each answer's time and error code. */
function poll(lab: WorkerLab): { slowestMs: () => number; errors: string[]; calls: () => number; stop(): Promise<void> } {
  let slowest = 0;
  let calls = 0;
  let on = true;
  const errors: string[] = [];
  const loop = (async () => {
    while (on) {
      const t0 = performance.now();
      try {
        await lab.r1.sessions();
      } catch (e) {
        errors.push(isSvrError(e) ? e.code : String(e));
      }
      slowest = Math.max(slowest, performance.now() - t0);
      calls++;
      await sleep(50);
    }
  })();
  return { slowestMs: () => slowest, errors, calls: () => calls, stop: async () => { on = false; await loop; } };
}

test('a worker whose thread dies under load is replaced: alarm raised and cleared, traffic on both workers again, counters kept, sessions() within 2 s throughout', async () => {
  const logs: string[] = [];
  const alarms: string[] = [];
  const lab = await createWorkerLab(await exampleConfig(), 2, {
    testHooks: true, log: (e, f) => void logs.push(`${e} ${JSON.stringify(f)}`), observeAlarm: (n, s, o) => void alarms.push(`${n} ${s} ${o.active}`),
  });
  const traffic = load(lab);
  const p = poll(lab);
  try {
    assert.ok(await until(() => traffic.replies.size === FLOWS, 5000), `every flow answered (${traffic.replies.size})`);
    const before = await lab.r1.sessions();
    assert.ok(before.some((s) => s.worker === 1), 'worker 1 holds sessions');
    const rxBefore = lab.r1.counters()['rx-packets'];
    lab.r1.host.crash(1, 'throw');
    assert.ok(await until(() => alarms.includes('worker-restarted worker 1 true'), 3000), `alarm raised: ${alarms}`);
    assert.ok(await until(() => logs.some((l) => l.startsWith('worker.restarted')), 5000), `replaced: ${logs.filter((l) => l.startsWith('worker.')).join('; ')}`);
    assert.ok(alarms.includes('worker-restarted worker 1 false'), 'alarm cleared');
    // the flows of the dead worker's sessions open new ones: every flow answers again
    const mark = new Map(traffic.replies);
    assert.ok(await until(() => [...mark.keys()].every((port) => traffic.replies.get(port)! > mark.get(port)! + 5), 5000), 'every flow answered again');
    assert.ok(await until(async () => (await lab.r1.sessions()).some((s) => s.worker === 1), 3000), 'the new worker 1 holds sessions');
    assert.ok(lab.r1.counters()['rx-packets'] >= rxBefore, 'counters kept');
    await p.stop();
    console.log(`    sessions() ${p.calls()} calls while worker 1 died and was replaced: slowest ${p.slowestMs().toFixed(0)} ms, errors ${p.errors.length}`);
    assert.equal(p.errors, [], 'sessions() never failed');
    assert.ok(p.slowestMs() < 2000, `sessions() answered within 2 s (slowest ${p.slowestMs().toFixed(0)} ms over ${p.calls()} calls)`);
  } finally {
    traffic.stop();
    await p.stop();
    await lab.close();
  }
});

test('a worker that hangs: sessions() answers SVR_ERR_WORKER_TIMEOUT within 2 s, the watchdog replaces it, then sessions() answers again', async () => {
  const logs: string[] = [];
  const lab = await createWorkerLab(await exampleConfig(), 2, { testHooks: true, log: (e, f) => void logs.push(`${e} ${JSON.stringify(f)}`) });
  const traffic = load(lab);
  try {
    assert.ok(await until(() => traffic.replies.size === FLOWS, 5000));
    lab.r1.host.crash(0, 'hang');
    await sleep(100);
    const t0 = performance.now();
    let err: unknown;
    try {
      await lab.r1.sessions();
    } catch (e) {
      err = e;
    }
    const waited = performance.now() - t0;
    console.log(`    worker 0 hung: sessions() answered ${isSvrError(err) ? err.code : 'rows'} after ${waited.toFixed(0)} ms`);
    assert.ok(waited < 2000, 'answered within 2 s');
    assert.ok(isSvrError(err, 'SVR_ERR_WORKER_TIMEOUT'), String(err));
    assert.match((err as Error).message, /worker 0/);
    assert.ok(await until(() => logs.some((l) => l.startsWith('worker.restarted')), 12_000), `replaced: ${logs.filter((l) => l.startsWith('worker.')).join('; ')}`);
    assert.ok(logs.some((l) => l.startsWith('worker.unresponsive')), 'ended by the watchdog');
    const t1 = performance.now();
    await lab.r1.sessions();
    assert.ok(performance.now() - t1 < 2000);
    const mark = new Map(traffic.replies);
    assert.ok(await until(() => [...mark.keys()].every((port) => traffic.replies.get(port)! > mark.get(port)! + 5), 5000), 'every flow answered again');
  } finally {
    traffic.stop();
    await lab.close();
  }
});

test.run();
