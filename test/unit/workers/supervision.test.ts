/**
 * Worker supervision (docs/security.md "Worker supervision"), on real worker threads under load: a worker
 * whose thread dies is replaced (alarm worker-restarted raised, then cleared), traffic goes on, counters
 * never go back, and `sessions()` (what `svr show sessions` asks) answers by its 1.5 s deadline throughout; a worker
 * that hangs makes `sessions()` answer SVR_ERR_WORKER_TIMEOUT at that deadline until the watchdog replaces it.
 * The bounds are the router's own deadlines plus how late this thread's timers ran (its event loop's longest
 * delay, measured during the test): at load 25-30 a 1.5 s deadline answered after 3.8 s and a new thread
 * took over 15 s to start, twice in a row. Waits for what only the machine's speed decides (traffic flowing, a thread
 * starting: the router retries a start that ran out of time) are long, and end as soon as it happened.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isSvrError } from '../../../src/errors.js';
import { exampleConfig, sleep, until } from '../../support/config.js';
import { createWorkerLab, type WorkerLab } from '../../support/worker-lab.js';
import { UNRESPONSIVE_MS, WORKER_TIMEOUTS } from '../../../src/workers/worker-host.js';

const FLOWS = 32;
/** traffic flowing, a thread started (a start that ran out of its deadline is retried: twice more here) */
const SLOW_MS = 3 * WORKER_TIMEOUTS.start + 5000;
/** a timer's own jitter beyond the event loop's measured delay */
const JITTER_MS = 250;

/** The longest event-loop delay since the call: what this thread added to any deadline the router keeps. */
function lateness(): () => number {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  return () => h.max / 1e6;
}

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

/** sessions(), or none when a worker did not answer by the deadline (a fresh thread on a loaded machine) */
async function rowsOrTimeout(lab: WorkerLab): Promise<Awaited<ReturnType<WorkerLab['r1']['sessions']>>> {
  try {
    return await lab.r1.sessions();
  } catch (e) {
    if (isSvrError(e, 'SVR_ERR_WORKER_TIMEOUT')) return [];
    throw e;
  }
}

test('a worker whose thread dies under load is replaced: alarm raised and cleared, traffic on both workers again, counters kept, sessions() by its deadline throughout', async () => {
  const logs: string[] = [];
  const alarms: string[] = [];
  const lab = await createWorkerLab(await exampleConfig(), 2, {
    testHooks: true, log: (e, f) => void logs.push(`${e} ${JSON.stringify(f)}`), observeAlarm: (n, s, o) => void alarms.push(`${n} ${s} ${o.active}`),
  });
  const late = lateness();
  const traffic = load(lab);
  const p = poll(lab);
  try {
    assert.ok(await until(() => traffic.replies.size === FLOWS, SLOW_MS), `every flow answered (${traffic.replies.size})`);
    assert.ok(await until(async () => (await rowsOrTimeout(lab)).some((s) => s.worker === 1), SLOW_MS), 'worker 1 holds sessions');
    const rxBefore = lab.r1.counters()['rx-packets'];
    lab.r1.host.crash(1, 'throw');
    assert.ok(await until(() => alarms.includes('worker-restarted worker 1 true'), SLOW_MS), `alarm raised: ${alarms}`);
    assert.ok(await until(() => logs.some((l) => l.startsWith('worker.restarted')), SLOW_MS), `replaced: ${logs.filter((l) => l.startsWith('worker.')).join('; ')}`);
    assert.ok(alarms.includes('worker-restarted worker 1 false'), 'alarm cleared');
    // the flows of the dead worker's sessions open new ones: every flow answers again
    const mark = new Map(traffic.replies);
    assert.ok(await until(() => [...mark.keys()].every((port) => traffic.replies.get(port)! > mark.get(port)! + 5), SLOW_MS), 'every flow answered again');
    assert.ok(await until(async () => (await rowsOrTimeout(lab)).some((s) => s.worker === 1), SLOW_MS), 'the new worker 1 holds sessions');
    assert.ok(lab.r1.counters()['rx-packets'] >= rxBefore, 'counters kept');
    await p.stop();
    const bound = WORKER_TIMEOUTS.sessions + late() + JITTER_MS;
    console.log(`    sessions() ${p.calls()} calls while worker 1 died and was replaced: slowest ${p.slowestMs().toFixed(0)} ms (bound ${bound.toFixed(0)}), errors ${p.errors.join(', ') || 0}`);
    // a dead worker is lost, not missing (requests.test.ts): only a deadline, which a loaded machine can reach, fails a call
    assert.ok(p.errors.every((e) => e === 'SVR_ERR_WORKER_TIMEOUT'), `sessions() failed only by its deadline: ${p.errors}`);
    assert.ok(p.slowestMs() < bound, `sessions() answered by its deadline (slowest ${p.slowestMs().toFixed(0)} ms over ${p.calls()} calls)`);
  } finally {
    traffic.stop();
    await p.stop();
    await lab.close();
  }
});

test('a worker that hangs: sessions() answers SVR_ERR_WORKER_TIMEOUT at its deadline, the watchdog replaces it, then sessions() answers again', async () => {
  const logs: string[] = [];
  const lab = await createWorkerLab(await exampleConfig(), 2, { testHooks: true, log: (e, f) => void logs.push(`${e} ${JSON.stringify(f)}`) });
  const late = lateness();
  const traffic = load(lab);
  try {
    assert.ok(await until(() => traffic.replies.size === FLOWS, SLOW_MS));
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
    assert.ok(isSvrError(err, 'SVR_ERR_WORKER_TIMEOUT'), String(err));
    assert.match((err as Error).message, /worker 0/);
    assert.ok(waited >= WORKER_TIMEOUTS.sessions - 1 && waited < WORKER_TIMEOUTS.sessions + late() + JITTER_MS, `answered at its deadline (${waited.toFixed(0)} ms, this thread up to ${late().toFixed(0)} ms late)`);
    // the watchdog's decision: silent for UNRESPONSIVE_MS, seen at its next look (every second)
    assert.ok(await until(() => logs.some((l) => l.startsWith('worker.unresponsive')), SLOW_MS), `ended by the watchdog: ${logs.filter((l) => l.startsWith('worker.')).join('; ')}`);
    const silent = Number(/"silentMs":(\d+)/.exec(logs.find((l) => l.startsWith('worker.unresponsive'))!)![1]);
    assert.ok(silent >= UNRESPONSIVE_MS && silent < UNRESPONSIVE_MS + 1000 + late() + JITTER_MS, `ended after ${silent} ms silent (this thread up to ${late().toFixed(0)} ms late)`);
    assert.ok(await until(() => logs.some((l) => l.startsWith('worker.restarted')), SLOW_MS), `replaced: ${logs.filter((l) => l.startsWith('worker.')).join('; ')}`);
    const t1 = performance.now();
    assert.ok(await until(async () => (await rowsOrTimeout(lab)).length > 0, SLOW_MS), 'sessions() answers rows again');
    console.log(`    ended after ${silent} ms silent, then sessions() answered rows ${(performance.now() - t1).toFixed(0)} ms after the restart (this thread up to ${late().toFixed(0)} ms late)`);
    const mark = new Map(traffic.replies);
    assert.ok(await until(() => [...mark.keys()].every((port) => traffic.replies.get(port)! > mark.get(port)! + 5), SLOW_MS), 'every flow answered again');
  } finally {
    traffic.stop();
    await lab.close();
  }
});

test.run();
