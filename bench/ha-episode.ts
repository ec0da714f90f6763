/**
 * The HA case's CPU account of one session test, alike for one node and the pair (issue 15's witness): from the
 * test's start until the episode has settled, above each clock's idle rate for the episode's length.
 *   pair      settled when the standby holds every session r1a sent (r1a: nothing pending, no row waiting; the
 *             standby's replica matches r1a's sessions): the standby's applying continues after the test, and a
 *             witness taken over the test alone missed it (settle2: Δ per pair 0.8–25.5 µs with 15 % injected).
 *   one node  settled at its first read of r1's sessions after the test (the read the pair's check makes too).
 */

/** The accounted clocks at one instant: wall seconds, then CPU seconds (r1 main, r1 all threads, r2, the standby,
 *  the machine's busy time, the bench process); NaN for a clock the run does not have (one node: no standby). */
export type CpuSample = readonly number[];
export const WALL = 0;
/** the machine's busy time is everything on it: no idle rate is subtracted from it */
export const MACHINE = 5;

export interface Episode<T> {
  result: T | undefined;
  /** each clock's CPU seconds from the test's start until settled, above its idle rate (WALL: the episode's length) */
  delta: number[];
  /** the same over the test alone (what the account missed before settle3) */
  testDelta: number[];
  /** seconds of the test itself, and from its end until settled */
  testSeconds: number;
  settleSeconds: number;
}

/** Each clock's idle rate (per wall second) between two samples. */
export function idleRates(a: CpuSample, b: CpuSample): number[] {
  const s = b[WALL]! - a[WALL]!;
  return b.map((x, i) => (i === WALL ? 1 : (x - a[i]!) / s));
}

/** Runs the test, then waits until `settled` returns, and accounts every clock over both (see the top). */
export async function accountEpisode<T>(sample: () => CpuSample, idle: readonly number[], test: () => Promise<T>, settled: () => Promise<void>): Promise<Episode<T>> {
  const before = sample();
  const result = await test();
  const end = sample();
  await settled();
  const after = sample();
  const above = (s: CpuSample): number[] => s.map((x, i) => x - before[i]! - (i === WALL || i === MACHINE ? 0 : idle[i]! * (s[WALL]! - before[WALL]!)));
  return { result, delta: above(after), testDelta: above(end), testSeconds: end[WALL]! - before[WALL]!, settleSeconds: after[WALL]! - end[WALL]! };
}
