/**
 * The rounds of the cases that compare two runs side by side (visibility: records off and on; HA: one node and
 * the pair): when a round does not count, and what its paced tests say. A round is disturbed when either run's
 * closed-loop test lost more than 1 % of its sessions, the two ran with different sessions in flight, either
 * paced test failed or fell behind (paced-cost.ts), or they were paced at different rates. comparable.ts names
 * every disturbed round (the case is then not comparable) and the median leaves them out.
 */
import { pacedDisturbed, type PacedCost } from './paced-cost.js';
import type { SessionRate } from './results.js';
import { MAX_FAILED_SESSIONS } from './sessions.js';
import { median } from './stats.js';

export interface SideRun {
  sessions?: SessionRate;
  paced?: PacedCost;
}

/** What disturbed a round of runs `a` and `b` (labels: their names), empty when it counts. */
export function roundProblems(a: SideRun, b: SideRun, labels: readonly [string, string]): string[] {
  const out: string[] = [];
  [a, b].forEach((x, k) => {
    const c = x.sessions?.client;
    if (c === undefined) out.push(`no session test ${labels[k]}`);
    else if (c.failed > MAX_FAILED_SESSIONS * c.attempted) out.push(`${c.failed} of ${c.attempted} sessions failed ${labels[k]}`);
    const p = x.paced === undefined ? undefined : pacedDisturbed(x.paced);
    if (p !== undefined) out.push(`${p} ${labels[k]}`);
  });
  if (a.sessions?.window !== b.sessions?.window) out.push(`${a.sessions?.window ?? '?'} sessions in flight ${labels[0]}, ${b.sessions?.window ?? '?'} ${labels[1]}`);
  if ((a.paced === undefined) !== (b.paced === undefined)) out.push(`a paced test ${a.paced === undefined ? labels[1] : labels[0]} only`);
  else if (a.paced !== undefined && a.paced.rate !== b.paced!.rate) out.push(`paced at ${a.paced.rate}/s ${labels[0]}, ${b.paced!.rate}/s ${labels[1]}`);
  return out;
}

/** CPU µs per session of a paced test's accounted processes (the routers, and the collectors or the standby): all but the machine. */
export function pacedProcessUs(p: PacedCost | undefined): number {
  return p === undefined ? NaN : Object.entries(p.us).reduce((n, [k, v]) => (k === 'machine' ? n : n + v), 0);
}

/** `b`'s processes' CPU per session over `a`'s in the paced tests (1.10: 10 % more), NaN without both. */
export function pacedCostRatio(a: SideRun, b: SideRun): number {
  return pacedProcessUs(b.paced) / pacedProcessUs(a.paced);
}

/** min, median and max of the finite values, `0.910 (0.850–0.960)`, or '–'. */
export function formatSpread(xs: readonly number[], digits = 3): string {
  const s = xs.filter(Number.isFinite).sort((x, y) => x - y);
  if (s.length === 0) return '–';
  return `${median(s).toFixed(digits)} (${s[0]!.toFixed(digits)}–${s[s.length - 1]!.toFixed(digits)})`;
}

/** The clean rounds' ratios against a floor (0.90: at most 10 % lower): their mean and its standard error, and
 *  the verdict: `pass` when the mean is 2 standard errors or more above the floor, `FAIL` when as far below,
 *  else `not settled` (one round, or rounds that spread across the floor). */
export function ratioVerdict(ratios: readonly number[], floor: number): { mean: number; se: number; verdict: 'pass' | 'FAIL' | 'not settled' } {
  const xs = ratios.filter(Number.isFinite);
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const se = xs.length < 2 ? NaN : Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1) / xs.length);
  const verdict = !Number.isFinite(se) ? 'not settled' : mean - 2 * se >= floor ? 'pass' : mean + 2 * se < floor ? 'FAIL' : 'not settled';
  return { mean, se, verdict };
}

/** Ratios of interleaved rounds against a goal (`higherIsBetter`: at least `limit`, else at most): `pass` when
 *  every round meets it, `FAIL` when none does, `not settled` when the rounds straddle it; undefined without one. */
export function spreadVerdict(ratios: readonly number[], limit: number, higherIsBetter: boolean): 'pass' | 'FAIL' | 'not settled' | undefined {
  const met = ratios.filter(Number.isFinite).map((r) => (higherIsBetter ? r >= limit : r <= limit));
  if (met.length === 0) return undefined;
  return met.every(Boolean) ? 'pass' : met.some(Boolean) ? 'not settled' : 'FAIL';
}
