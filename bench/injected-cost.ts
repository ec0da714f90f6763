/**
 * An injected cost, to show that a paired verdict FAILs when a cost is real (SVR_BENCH_INJECT=F, e.g. 0.15):
 * while the side whose cost is measured (records on, the HA pair) runs its session test, threads of the bench keep
 * F of the machine's vCPUs busy (a duty cycle per 10 ms: spin, then wait), in the bench's autogroup like the routers.
 * On a machine the closed-loop test saturates, that is F more CPU per session on that side and ~F less rate.
 */
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';

/** the share of the machine's vCPUs the injected threads keep busy (0: none) */
export const INJECTED_SHARE = Number(process.env['SVR_BENCH_INJECT'] ?? 0);

const PERIOD_MS = 10;

// word 0: 1 while the threads spin; each spins `duty` of every PERIOD_MS, waits on the word while it is 0
const SPINNER = `
const { workerData: { flag, duty, period } } = require('node:worker_threads');
const f = new Int32Array(flag);
for (;;) {
  if (Atomics.load(f, 0) === 0) { Atomics.wait(f, 0, 0); continue; }
  const t0 = performance.now();
  while (performance.now() - t0 < duty * period);
  Atomics.wait(f, 0, 1, period * (1 - duty));
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
