/**
 * The sustained case's paced search (sustained.ts), apart from the load so that it can be tested: from a start
 * rate (the last full run's held rate, or 95 % of a closed loop's), 15 % lower after each trial that failed (at
 * most 4), then 20 % higher while they pass (at most 8: from a seed, a case that got faster is not capped at
 * the seed's +21 % as three 10 % steps capped it), then halfway between the highest pass and the lowest failure
 * above it while they are more than 5 % apart (at most 3). The highest rate that passed is the result.
 */

/** Rates are multiples of 500/s, at least 500/s. */
export const roundRate = (x: number): number => Math.max(500, Math.floor(x / 500) * 500);

export interface SearchLimits {
  down: number;
  up: number;
  halve: number;
}

export const SEARCH_LIMITS: SearchLimits = { down: 4, up: 8, halve: 3 };

/** The highest rate that passed `trial`, or undefined when none did (then the last rate tried, `lowest`). */
export async function searchRate(start: number, trial: (rate: number) => Promise<boolean>, limits: SearchLimits = SEARCH_LIMITS): Promise<{ best?: number; lowest: number }> {
  let rate = roundRate(start);
  let best: number | undefined;
  for (let down = 0; best === undefined && down < limits.down; down++) {
    if (await trial(rate)) best = rate;
    else rate = roundRate(0.85 * rate);
  }
  if (best === undefined) return { lowest: rate };
  let failed: number | undefined;
  for (let up = 0; up < limits.up; up++) {
    const next = Math.max(roundRate(1.2 * best), best + 500);
    if (!(await trial(next))) {
      failed = next;
      break;
    }
    best = next;
  }
  for (let k = 0; failed !== undefined && k < limits.halve && failed - best > Math.max(500, 0.05 * best); k++) {
    const mid = roundRate((best + failed) / 2);
    if (mid <= best) break;
    if (await trial(mid)) best = mid;
    else failed = mid;
  }
  return { best, lowest: rate };
}

/**
 * The rate of the sustained case's next hold after one that was not steady: 15 % lower, or, when no more than 1 %
 * of its sessions failed (the client fell behind: the machine's CPU, not lost sessions), 3 % under the rate the
 * client did send if that is higher, and at least 500/s under the last. The quiet run of 2026-12-07 passed 17,000/s
 * in its 5 s trials, sent 16,316/s of the 17,000 in its 60 s hold (one failure), and held next at 14,000/s: the
 * 15 % step stepped over 15,500-16,000/s, the goal's 15,000/s among them.
 */
export function nextHoldRate(rate: number, sentPerSecond: number, failedShare: number): number {
  const lower = 0.85 * rate;
  if (!(failedShare <= 0.01) || !(sentPerSecond > 0)) return roundRate(lower);
  return roundRate(Math.max(lower, Math.min(0.97 * sentPerSecond, rate - 500)));
}
