/** A bench run's results around made-up modes, its problems found as bench/run.ts finds them (comparable.ts). */
import { findProblems } from '../../bench/comparable.js';
import type { BenchResults, ModeResult } from '../../bench/results.js';

export function benchResults(modes: ModeResult[], quick = true): BenchResults {
  const r: BenchResults = {
    date: '2026-12-05T00:00:00.000Z', command: 'test', git: { commit: 'test', dirtyFiles: 0 }, quick,
    machine: { cpuModel: 'test', cores: 2, kernel: 'test', node: 'test', memGiB: 1, tools: {} },
    durationSeconds: 1, loadAvg: { start: [0], end: [0] }, prefix: 'svb', modes, notComparable: [], runDir: '/tmp',
  };
  r.notComparable = findProblems(r);
  return r;
}
