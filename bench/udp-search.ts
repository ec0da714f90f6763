/**
 * The highest UDP rate with < 1 % loss, as in the anchors: a first trial at -b 0 (unlimited), then
 * bisection with short trials between the best passing and the lowest failing rate, then confirmation
 * runs at the best passing rate. Seeded (the rate the last full run confirmed, bench/results.json): no
 * unlimited trial; the first trial at the seed, then steps of 5 % (growing while they pass: 5, 10, 20, 40 %)
 * up from it while they pass or down while they fail (a failing trial's delivered rate + 2 % bounds the
 * bracket, so a path far below its seed is found in one step), until a pass and a fail lie within the tolerance, at
 * most maxSteps trials (2-3 when the rate moved less than 5 %, against 5-10 unseeded); the confirmations
 * as below; if their median loss is >= 1 %, the rate is lowered (7 %, or to 95 % of
 * what those runs delivered if that is lower) and confirmed again, a bounded number of times. The figure is the delivered packets/s of the confirmation runs (median, min-max).
 */
import { udpTrial, type UdpTrial } from './iperf.js';
import { median } from './stats.js';

export interface SearchPlan {
  initSeconds: number;
  trialSeconds: number;
  maxSteps: number;
  /** stop bisecting when (hi - lo) / hi is below this */
  tolerance: number;
  confirmRuns: number;
  confirmSeconds: number;
  maxLowerings: number;
}

export const FULL_SEARCH: SearchPlan = { initSeconds: 5, trialSeconds: 3, maxSteps: 6, tolerance: 0.05, confirmRuns: 3, confirmSeconds: 5, maxLowerings: 4 };
export const QUICK_SEARCH: SearchPlan = { initSeconds: 2, trialSeconds: 2, maxSteps: 3, tolerance: 0.1, confirmRuns: 1, confirmSeconds: 2, maxLowerings: 1 };

export interface SearchResult {
  len: number;
  /** delivered kpps at the confirmed rate: median and min-max over the confirmation runs */
  kpps: number;
  kppsMin: number;
  kppsMax: number;
  gbps: number;
  lossPct: number[];
  offeredPps: number;
  /** true when -b 0 already had < 1 % loss: the sender was the limit */
  senderLimited: boolean;
  /** false when even the last confirmation had a median loss >= 1 % (the figure is then an upper bound) */
  passed: boolean;
  /** trials that delivered nothing at all and were repeated after a pause */
  stalls: number;
  trials: UdpTrial[];
  confirmations: UdpTrial[];
  /** the rate the search started from (the last full run's), when seeded */
  seedPps?: number;
  /** drop counters that moved during the whole search (see drops.ts) */
  drops?: Record<string, number>;
}

const PASS = 1;

/** Steps up from a seed while trials pass: × these, in turn (then the last again). */
const SEED_UP = [1.05, 1.1, 1.2, 1.4] as const;

/** The bracket [lo, hi] from a seed: steps up while they pass, down (÷ 1.05) while they fail, then bisection. */
export async function seededBracket(seed: number, plan: SearchPlan, trial: (pps: number, secs: number) => Promise<UdpTrial>): Promise<number> {
  let lo = 0;
  let hi = 0;
  let guess = seed;
  for (let step = 0, up = 0; step < plan.maxSteps; step++) {
    const t = await trial(guess, plan.trialSeconds);
    // a failing trial: the path carries about what it delivered (a loaded machine can be far below the seed)
    const carried = t.recvPps * 1.02;
    if (t.lossPct < PASS) lo = guess;
    else hi = carried > lo && carried < guess ? carried : guess;
    if (lo > 0 && hi > 0 && (hi - lo) / hi < plan.tolerance) break;
    guess = lo > 0 && hi > 0 ? (lo + hi) / 2 : lo > 0 ? lo * SEED_UP[Math.min(up++, SEED_UP.length - 1)]! : Math.min(hi / 1.05, t.recvPps * 0.98);
  }
  return lo > 0 ? lo : hi / 1.05 ** 2;
}

export async function searchUdp(len: number, plan: SearchPlan, progress: (l: string) => void, seed?: number): Promise<SearchResult> {
  const trials: UdpTrial[] = [];
  let stalls = 0;
  const trial = async (pps: number, secs: number): Promise<UdpTrial> => {
    let t = await udpTrial(len, pps * len * 8, secs);
    // nothing at all arrived although the path carried traffic before: a stall (seen once with OpenVPN right
    // after an overload), not a rate limit; wait and repeat, at most twice, and count it
    for (let k = 0; k < 2 && t.recvPps === 0 && t.sentPps > 0 && trials.some((x) => x.recvPps > 0); k++) {
      stalls++;
      progress(`    udp ${len} B: nothing delivered at ${(pps / 1000).toFixed(1)} kpps; waiting 10 s and repeating the trial`);
      await new Promise((r) => setTimeout(r, 10_000));
      t = await udpTrial(len, pps * len * 8, secs);
    }
    trials.push(t);
    progress(`    udp ${len} B ${pps === 0 ? 'unlimited' : `${(pps / 1000).toFixed(1)} kpps offered`}: sent ${(t.sentPps / 1000).toFixed(1)} kpps, delivered ${(t.recvPps / 1000).toFixed(1)} kpps, loss ${t.lossPct.toFixed(2)} %`);
    return t;
  };
  let senderLimited = false;
  let rate = 0; // 0 = unlimited
  if (seed !== undefined && seed > 0) {
    progress(`    udp ${len} B: seeded at ${(seed / 1000).toFixed(1)} kpps (the last full run's confirmed rate)`);
    rate = await seededBracket(seed, plan, trial);
  } else {
    const first = await trial(0, plan.initSeconds);
    senderLimited = first.lossPct < PASS;
    let lo = 0;
    let hi = first.sentPps;
    if (!senderLimited) {
      let guess = first.recvPps * 0.98;
      for (let step = 0; step < plan.maxSteps; step++) {
        const t = await trial(guess, plan.trialSeconds);
        if (t.lossPct < PASS) lo = guess;
        else hi = guess;
        if (lo > 0 && (hi - lo) / hi < plan.tolerance) break;
        guess = lo > 0 ? (lo + hi) / 2 : guess / 2;
      }
      if (lo === 0) lo = hi / 4;
      rate = lo;
    }
  }
  let confirmations: UdpTrial[] = [];
  let passed = false;
  for (let k = 0; ; k++) {
    confirmations = [];
    for (let i = 0; i < plan.confirmRuns; i++) {
      confirmations.push(await trial(rate, plan.confirmSeconds));
      // the median has failed once more than half of the runs failed: no need for the rest of this round
      if (confirmations.filter((c) => c.lossPct >= PASS).length > plan.confirmRuns / 2) break;
    }
    const loss = median(confirmations.map((c) => c.lossPct));
    passed = loss < PASS;
    if (passed || k >= plan.maxLowerings) break;
    // lower by 7 %, or straight to just under what the failing runs delivered when that is lower
    const delivered = median(confirmations.map((c) => c.recvPps));
    rate = Math.min(rate === 0 ? delivered : rate * 0.93, delivered * 0.95);
    senderLimited = false;
    progress(`    median loss ${loss.toFixed(2)} % >= 1 %: confirming again at ${(rate / 1000).toFixed(1)} kpps`);
  }
  const recv = confirmations.map((c) => c.recvPps / 1000);
  const kpps = median(recv);
  return {
    len, kpps, kppsMin: Math.min(...recv), kppsMax: Math.max(...recv), gbps: (kpps * 1000 * len * 8) / 1e9,
    lossPct: confirmations.map((c) => c.lossPct), offeredPps: rate, senderLimited, passed, stalls, trials, confirmations,
    ...(seed !== undefined && seed > 0 ? { seedPps: seed } : {}),
  };
}
