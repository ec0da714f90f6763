/**
 * "CPUs kept awake": the conditions svrouter's busy polling creates, given to every mode. One busy loop per
 * vCPU (`chrt --idle 0 taskset -c K sh -c 'while :; do :; done'`) runs while the RTT is measured: SCHED_IDLE,
 * so any other runnable task preempts it at once and it takes no CPU time from the routers, the endpoints or
 * the kernel; but no vCPU ever halts, so no wake-up of an idle (virtual) CPU is in any round trip. svrouter's
 * busy polling gets the same effect by spinning in its own thread; this row shows what the other modes would
 * gain from awake CPUs alone, so the busy-polling figure is compared with like.
 */
import { cpus } from 'node:os';
import { join } from 'node:path';
import { run, sleep, spawnIn, stop, type Proc } from './exec.js';
import { NS } from './topology.js';

/** Runs `f` while a SCHED_IDLE spinner occupies every vCPU's idle time; the spinners stop afterwards. */
export async function withCpusAwake<T>(dir: string, f: () => Promise<T>): Promise<T> {
  const spinners: Proc[] = [];
  try {
    for (let k = 0; k < cpus().length; k++) {
      spinners.push(spawnIn(NS.client, `awake-cpu${k}`, 'chrt', ['--idle', '0', 'taskset', '-c', String(k), 'sh', '-c', 'while :; do :; done'], join(dir, `awake-cpu${k}.log`)));
    }
    await sleep(200);
    for (const p of spinners) {
      if (p.exited) throw new Error(`the spinner for ${p.name} exited (chrt/taskset missing? apt-get install util-linux)`);
      const { stdout } = await run('chrt', ['-p', String(p.pid)]);
      if (!/SCHED_IDLE/.test(stdout)) throw new Error(`${p.name} is not SCHED_IDLE: ${stdout.trim()}`);
    }
    return await f();
  } finally {
    for (const p of spinners) await stop(p, 1000);
  }
}
