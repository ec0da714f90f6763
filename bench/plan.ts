/** How long each measurement runs: the full plan (as the anchors) or --quick (development). */
import { existsSync, readFileSync } from 'node:fs';
import type { BenchResults } from './results.js';
import { FULL_SEARCH, QUICK_SEARCH, type SearchPlan } from './udp-search.js';

/** Where a mode's rate searches start: the rates the last full run confirmed (pps; sessions/s). */
export interface Seeds {
  udpLarge?: number;
  udp64?: number;
  sustainedUdp?: number;
  sustainedTcp?: number;
}

export interface Plan {
  tcpRuns: number;
  tcpSeconds: number;
  search: SearchPlan;
  pingRuns: number;
  pingCount: number;
  pingWarmup: number;
  sessionSeconds: number;
  /** rows of the session table in the memory benchmark (measured at 50 %, 99 % and 25 % fill) */
  memoryCapacity: number;
  /** the sustained case holds these rates (new sessions/s) once, without its search (--sustained-rates):
   *  builds compared side by side at the same rate; 0: that protocol is not run */
  sustainedRates?: { udp: number; tcp: number };
  /** per mode id: where the searches start (seedsFrom); none: the full searches */
  seeds?: Record<string, Seeds>;
}

/** The seeds in a saved run (bench/results.json): each UDP search that confirmed a rate below the sender's
 *  limit, each sustained rate held in a steady state. A missing or unreadable file: no seeds. */
export function seedsFrom(file: string): Record<string, Seeds> {
  if (!existsSync(file)) return {};
  let r: BenchResults;
  try {
    r = JSON.parse(readFileSync(file, 'utf8')) as BenchResults;
  } catch {
    return {};
  }
  const out: Record<string, Seeds> = {};
  for (const m of r.modes ?? []) {
    const s: Seeds = {};
    for (const k of ['udpLarge', 'udp64'] as const) {
      const u = m[k];
      if (u !== undefined && u.passed && !u.senderLimited && u.offeredPps > 0) s[k] = u.offeredPps;
    }
    for (const [k, run] of [['sustainedUdp', m.sustained?.udp], ['sustainedTcp', m.sustained?.tcp]] as const) {
      const held = run?.holds.filter((h) => h.verdict.reasons.length === 0).at(-1);
      if (held !== undefined) s[k] = held.rate;
    }
    if (Object.keys(s).length > 0) out[m.id] = s;
  }
  return out;
}

/** seconds of each TCP run: 5 (3 × 10 s before; docs/performance.md "Method"); SVR_BENCH_TCP_SECONDS=10 for an A/B */
const TCP_SECONDS = Number(process.env['SVR_BENCH_TCP_SECONDS'] ?? 5);

export const FULL: Plan = { tcpRuns: 3, tcpSeconds: TCP_SECONDS, search: FULL_SEARCH, pingRuns: 3, pingCount: 5000, pingWarmup: 1000, sessionSeconds: 5, memoryCapacity: 1 << 20 };
export const QUICK: Plan = { tcpRuns: 1, tcpSeconds: 3, search: QUICK_SEARCH, pingRuns: 1, pingCount: 1000, pingWarmup: 200, sessionSeconds: 2, memoryCapacity: 1 << 18 };
