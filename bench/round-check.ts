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

/** Two-sided 95 % quantiles of Student's t, by degrees of freedom 1–30 (1.96 beyond). */
const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/** Ratios' geometric mean and its 95 % confidence interval (Student's t on the logs); NaN bounds with fewer than 2. */
export interface RatioInterval {
  n: number;
  ratio: number;
  low: number;
  high: number;
}

export function ratioInterval(ratios: readonly number[]): RatioInterval {
  const logs = ratios.filter((x) => x > 0 && Number.isFinite(x)).map(Math.log);
  const n = logs.length;
  const mean = logs.reduce((a, b) => a + b, 0) / n;
  const half = n < 2 ? NaN : (T95[n - 2] ?? 1.96) * Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) / n);
  return { n, ratio: Math.exp(mean), low: Math.exp(mean - half), high: Math.exp(mean + half) };
}

/** MIN_PAIRS: fewer pairs than this settle nothing (two agree by chance too often at this spread). */
export const MIN_PAIRS = 3;

const side = (i: RatioInterval, floor: number): 'pass' | 'FAIL' | 'not settled' =>
  i.n < MIN_PAIRS || !Number.isFinite(i.low) ? 'not settled' : i.low >= floor ? 'pass' : i.high < floor ? 'FAIL' : 'not settled';

/**
 * The clean pairs' rate ratios (each pair measured back to back) against a floor (0.90: at most 10 % lower):
 * `pass` when their 95 % interval lies at or above the floor, `FAIL` when below it. The witness: the same pairs'
 * rate ratio from CPU per session alone (witnessRatio), free of the scheduler's share that moves a loaded machine's
 * rate by ±30 % within seconds, in two bounds: `high` with M the machine's busy µs per session (on a shared machine
 * the others' work too: too kind), `low` with M the accounted processes' own µs (without the client and the kernel:
 * too harsh). When the rate's interval spans the floor, the witness decides (`by`): FAIL when even `high`'s interval
 * lies below the floor, pass when even `low`'s lies at or above it; when the rate and the witness settle opposite
 * ways, `not settled` (the rate moved for another reason than the cost).
 */
export function ratioVerdict(ratios: readonly number[], floor: number, high: readonly number[] = [], low: readonly number[] = high):
  { rate: RatioInterval; witness?: RatioInterval; witnessLow?: RatioInterval; verdict: 'pass' | 'FAIL' | 'not settled'; by?: 'rate' | 'witness' } {
  const rate = ratioInterval(ratios);
  const w = high.some(Number.isFinite) ? ratioInterval(high) : undefined;
  const wl = low.some(Number.isFinite) ? ratioInterval(low) : undefined;
  const v = side(rate, floor);
  const wv = w !== undefined && side(w, floor) === 'FAIL' ? 'FAIL' : wl !== undefined && side(wl, floor) === 'pass' ? 'pass' : 'not settled';
  const all = { rate, ...(w === undefined ? {} : { witness: w }), ...(wl === undefined || low === high ? {} : { witnessLow: wl }) };
  if (v !== 'not settled' && wv !== 'not settled' && v !== wv) return { ...all, verdict: 'not settled' };
  if (v !== 'not settled') return { ...all, verdict: v, by: 'rate' };
  return wv === 'not settled' ? { ...all, verdict: wv } : { ...all, verdict: wv, by: 'witness' };
}

/**
 * A pair's witness: the rate ratio a saturated machine would give from CPU alone, M / (M + Δ): M µs per session of
 * the cheaper side's test (the machine's busy time, or the accounted processes' own: ratioVerdict's two bounds), Δ
 * how many µs per session more the accounted processes spent on the other side (the routers, the collectors or
 * the standby, and the bench's own threads, where SVR_BENCH_INJECT's cost runs).
 */
export function witnessRatio(machineUs: number, deltaUs: number): number {
  return machineUs / (machineUs + deltaUs);
}

/** `0.912 (0.871–0.955, 95 %, 8 pairs)`, or '–'. */
export function formatInterval(i: RatioInterval | undefined): string {
  if (i === undefined || i.n === 0) return '–';
  return `${i.ratio.toFixed(3)} (${Number.isFinite(i.low) ? `${i.low.toFixed(3)}–${i.high.toFixed(3)}, 95 %, ` : ''}${i.n} pair${i.n === 1 ? '' : 's'})`;
}

/** Ratios of interleaved rounds against a goal (`higherIsBetter`: at least `limit`, else at most): `pass` when
 *  every round meets it, `FAIL` when none does, `not settled` when the rounds straddle it; undefined without one. */
export function spreadVerdict(ratios: readonly number[], limit: number, higherIsBetter: boolean): 'pass' | 'FAIL' | 'not settled' | undefined {
  const met = ratios.filter(Number.isFinite).map((r) => (higherIsBetter ? r >= limit : r <= limit));
  if (met.length === 0) return undefined;
  return met.every(Boolean) ? 'pass' : met.some(Boolean) ? 'not settled' : 'FAIL';
}
