/**
 * Whether a sustained session run reached a steady state and held it (issue 19, item 1): from one sample per
 * second of each router (sessions active, created and expired so far, RSS) and the client's counts. After
 * the first idle timeout (and a margin) the samples form the steady window; it is cut in two halves and
 *   - the rate was held: the client sent at least 97 % of the asked rate and < 1 % of its sessions failed;
 *   - the table is flat: the mean of sessions active in the second half is within 10 % of the first half's;
 *   - the sweep keeps pace: sessions expired per second are 90-110 % of sessions created per second;
 *   - RSS is flat: the second half's mean grew less than 10 % over the first half's.
 * Anything else is a reason, and the case is not comparable (bench/comparable.ts).
 */

/** One router at one second of the run (cumulative counters as `svr show stats` gives them). */
export interface RouterSample {
  active: number;
  created: number;
  expired: number;
  rssBytes: number;
}

export interface Sample {
  /** seconds since the hold started */
  t: number;
  routers: Record<string, RouterSample>;
}

export interface RouterSteady {
  /** means over the steady window's halves */
  activeFirst: number;
  activeSecond: number;
  createdPerSecond: number;
  expiredPerSecond: number;
  rssFirstBytes: number;
  rssSecondBytes: number;
}

export interface SteadyVerdict {
  /** seconds of the steady window (from, to), relative to the start of the hold */
  window: [number, number];
  routers: Record<string, RouterSteady>;
  /** why the run did not reach or hold its steady state; empty = it did */
  reasons: string[];
}

export const HELD_SHARE = 0.97;
export const MAX_FAILED = 0.01;
export const FLAT = 0.1;
export const SWEEP_PACE: readonly [number, number] = [0.9, 1.1];

const mean = (xs: readonly number[]): number => (xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length);

export interface ClientCounts {
  seconds: number;
  rate: number;
  attempted: number;
  failed: number;
}

/**
 * `samples` cover the hold (t from 0 to about `client.seconds`); `settleS`: when the steady window starts
 * (the first idle timeout plus a margin).
 */
export function steadyState(samples: readonly Sample[], client: ClientCounts, settleS: number): SteadyVerdict {
  const reasons: string[] = [];
  const asked = client.rate * client.seconds;
  if (client.attempted < HELD_SHARE * asked) {
    reasons.push(`the client sent ${client.attempted} of the ${Math.round(asked)} sessions asked (${client.rate}/s for ${client.seconds.toFixed(0)} s): the rate was not held`);
  }
  if (client.failed > MAX_FAILED * client.attempted) reasons.push(`${client.failed} of ${client.attempted} sessions failed (more than 1 %)`);
  const steady = samples.filter((s) => s.t >= settleS && s.t <= client.seconds);
  const window: [number, number] = steady.length > 0 ? [steady[0]!.t, steady[steady.length - 1]!.t] : [settleS, settleS];
  const routers: Record<string, RouterSteady> = {};
  if (steady.length < 6) {
    reasons.push(`only ${steady.length} samples after the first idle timeout (${settleS} s): too few to tell a steady state`);
    return { window, routers, reasons };
  }
  const half = steady.length >> 1;
  const first = steady.slice(0, half);
  const second = steady.slice(half);
  for (const name of Object.keys(steady[0]!.routers)) {
    const at = (s: Sample): RouterSample | undefined => s.routers[name];
    const a = at(steady[0]!)!;
    const z = at(steady[steady.length - 1]!)!;
    const span = steady[steady.length - 1]!.t - steady[0]!.t;
    const r: RouterSteady = {
      activeFirst: mean(first.map((s) => at(s)?.active ?? NaN)),
      activeSecond: mean(second.map((s) => at(s)?.active ?? NaN)),
      createdPerSecond: (z.created - a.created) / span,
      expiredPerSecond: (z.expired - a.expired) / span,
      rssFirstBytes: mean(first.map((s) => at(s)?.rssBytes ?? NaN)),
      rssSecondBytes: mean(second.map((s) => at(s)?.rssBytes ?? NaN)),
    };
    routers[name] = r;
    const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
    const drift = (r.activeSecond - r.activeFirst) / r.activeFirst;
    if (!(Math.abs(drift) <= FLAT)) {
      reasons.push(`${name}: the session table is not flat: ${Math.round(r.activeFirst)} then ${Math.round(r.activeSecond)} sessions active on average (${pct(drift)}; allowed ±${pct(FLAT)})`);
    }
    const pace = r.expiredPerSecond / r.createdPerSecond;
    if (!(pace >= SWEEP_PACE[0] && pace <= SWEEP_PACE[1])) {
      reasons.push(`${name}: the sweep does not keep pace: ${Math.round(r.expiredPerSecond)} sessions expired/s against ${Math.round(r.createdPerSecond)} created/s (${pct(pace)})`);
    }
    const growth = (r.rssSecondBytes - r.rssFirstBytes) / r.rssFirstBytes;
    if (!(growth <= FLAT)) {
      reasons.push(`${name}: RSS is not flat: ${(r.rssFirstBytes / 2 ** 20).toFixed(0)} then ${(r.rssSecondBytes / 2 ** 20).toFixed(0)} MiB on average (+${pct(growth)}; allowed +${pct(FLAT)})`);
    }
  }
  return { window, routers, reasons };
}
