/**
 * Two data paths compared batch by batch (bench/routing.ts: the first packet with 10 and 100,000 routes).
 * Each run opens a fresh data path on each side; batch k goes to both in turn (which side goes first
 * alternates by batch and run), each timed alone, so a pair is measured within a millisecond of the same
 * machine state. The figure is the median of the pairs' ratios b ÷ a: CPU of other threads (V8's background
 * GC, counted by a process clock) lands in a few batches and moves the median little, where it moved a
 * whole run's sum by 0.3-2.7× at load 15 (docs/performance.md, wave 23 fib3). The first WARMUP runs are JIT
 * warm-up and not counted.
 */
import { median } from './stats.js';

/** Feeds batch k to the data path one `open` made. */
export type Feed = (batch: number) => void;

export interface PairedBatches {
  /** b ÷ a of each counted batch pair, in the order measured */
  readonly ratios: number[];
  readonly medianRatio: number;
  /** the median counted batch of each side, in clock units (a run's sum carries the bursts) */
  readonly aMedian: number;
  readonly bMedian: number;
}

export const WARMUP = 2;

/**
 * `runs` counted runs of `batches` batches on each side; `clock` a CPU clock, `settle` called after both sides
 * are opened and before the run's first batch (gc: the previous run's data paths go then, not while timed).
 */
export function pairedBatches(openA: () => Feed, openB: () => Feed, runs: number, batches: number, clock: () => number, settle: () => void): PairedBatches {
  const ratios: number[] = [];
  const aTimes: number[] = [];
  const bTimes: number[] = [];
  for (let run = 0; run < runs + WARMUP; run++) {
    const feedA = openA();
    const feedB = openB();
    settle();
    for (let k = 0; k < batches; k++) {
      const aFirst = (run + k) % 2 === 0;
      const t0 = clock();
      (aFirst ? feedA : feedB)(k);
      const t1 = clock();
      (aFirst ? feedB : feedA)(k);
      const t2 = clock();
      const a = aFirst ? t1 - t0 : t2 - t1;
      const b = aFirst ? t2 - t1 : t1 - t0;
      if (run < WARMUP || a <= 0) continue;
      ratios.push(b / a);
      aTimes.push(a);
      bTimes.push(b);
    }
  }
  return { ratios, medianRatio: median(ratios), aMedian: median(aTimes), bMedian: median(bTimes) };
}
