/**
 * An injected cost, to show that a paired verdict FAILs when a cost is real (SVR_BENCH_INJECT=F, e.g. 0.15):
 * while the side whose cost is measured (records on, the HA pair) runs its session test, threads of the bench keep
 * F of the machine's vCPUs busy (each thread's own CPU time held at its duty of the wall time, caught up within 10 ms
 * steps), in the bench's autogroup like the routers.
 * On a machine the closed-loop test saturates, that is F more CPU per session on that side and ~F less rate.
 */
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';

/** the share of the machine's vCPUs the injected threads keep busy (0: none) */
export const INJECTED_SHARE = Number(process.env['SVR_BENCH_INJECT'] ?? 0);

const PERIOD_MS = 10;

// word 0: 1 while the threads spin. Each thread keeps its own CPU time (the kernel's, /proc/thread-self/schedstat,
// ns) at `duty` of the wall time since the word went to 1: it spins while it owes, waits while ahead. A spin paced
// by the wall clock alone got 60-70 % of its share at load 10 (descheduled mid-spin): the cost injected was less
// than F (settle3).
const SPINNER = `
const { workerData: { flag, duty, period } } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
const f = new Int32Array(flag);
const cpuMs = () => Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]) / 1e6;
let start;
let cpu0;
for (;;) {
  if (Atomics.load(f, 0) === 0) { start = undefined; Atomics.wait(f, 0, 0); continue; }
  if (start === undefined) { start = performance.now(); cpu0 = cpuMs(); }
  const owed = duty * (performance.now() - start) - (cpuMs() - cpu0);
  if (owed > 0) { const t0 = performance.now(); while (performance.now() - t0 < Math.min(owed, period)); }
  else Atomics.wait(f, 0, 1, Math.min(period, -owed / duty));
}`;

export interface InjectedCost {
  /** runs `f` with the threads spinning */
  during<T>(f: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** Threads for `share` of the machine (none when share is 0), waiting until `during`. */
export function injectedCost(share = INJECTED_SHARE): InjectedCost | undefined {
  if (!(share > 0)) return undefined;
  const cores = share * cpus().length;
  const n = Math.ceil(cores);
  const flag = new SharedArrayBuffer(4);
  const word = new Int32Array(flag);
  const workers = Array.from({ length: n }, () => new Worker(SPINNER, { eval: true, workerData: { flag, duty: cores / n, period: PERIOD_MS } }));
  const set = (v: number): void => {
    Atomics.store(word, 0, v);
    Atomics.notify(word, 0);
  };
  return {
    async during(f) {
      set(1);
      try {
        return await f();
      } finally {
        set(0);
      }
    },
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
