/** How long each measurement runs: the full plan (as the anchors) or --quick (development). */
import { FULL_SEARCH, QUICK_SEARCH, type SearchPlan } from './udp-search.js';

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
   *  builds compared side by side at the same rate */
  sustainedRates?: { udp: number; tcp: number };
}

export const FULL: Plan = { tcpRuns: 3, tcpSeconds: 10, search: FULL_SEARCH, pingRuns: 3, pingCount: 5000, pingWarmup: 1000, sessionSeconds: 5, memoryCapacity: 1 << 20 };
export const QUICK: Plan = { tcpRuns: 1, tcpSeconds: 3, search: QUICK_SEARCH, pingRuns: 1, pingCount: 1000, pingWarmup: 200, sessionSeconds: 2, memoryCapacity: 1 << 18 };
