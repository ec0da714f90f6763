/**
 * How long each step of `npm run bench` is expected to take on a quiet 2-vCPU machine: what `--plan` prints
 * before a run, and what each step's and mode's time is set against during one. Each figure is the step's own
 * length (runs × seconds of the plan) plus what starting its tools and nodes and waiting for paths cost, as
 * measured step by step (the progress log's timestamps; docs/performance.md "Running it").
 */
import { fillTargets, firstPacketProcesses, tableRounds } from './full-table.js';
import type { Plan } from './plan.js';
import type { SearchPlan } from './udp-search.js';
import { SESSION_WARMUP_MAX_S } from './sessions.js';

/** node start of r1 and r2 and the path up (svrouter), tunnels set up; s */
const SETUP_S: Record<string, number> = { kernel: 2, svrouter: 6, 'svrouter-enc': 6, 'svrouter-enc-hs': 8, 'svrouter-enc-udp': 6, 'wireguard-go': 3, 'wireguard-go-2022': 3, openvpn: 6, 'openvpn-tuned': 6 };
/** restarting both svrouter nodes and waiting for the path: s */
const RESTART_S = 5;
/** starting a measuring tool (iperf3, the session client, a capture) and reading its result: s */
const TOOL_S = 1;

/** A UDP search: seeded near its last rate, two bracketing trials and the confirmations; unseeded, the
 *  unlimited trial, about 5 bisection trials (the 04:30 run's searches took 8-13 trials with the confirmations)
 *  and the confirmations. */
function searchS(s: SearchPlan, seeded: boolean): number {
  const trials = seeded ? 2 : Math.min(5, s.maxSteps);
  return (seeded ? 0 : s.initSeconds + TOOL_S) + trials * (s.trialSeconds + TOOL_S) + s.confirmRuns * (s.confirmSeconds + TOOL_S);
}

const tcpS = (p: Plan): number => p.tcpRuns * (p.tcpSeconds + TOOL_S);
const rttS = (p: Plan): number => p.pingRuns * (1 + ((p.pingCount + p.pingWarmup) * 100) / 1e6);
const sessS = (p: Plan): number => p.sessionSeconds + 2 * TOOL_S;

/** Expected seconds of each step key of mode-run.ts (and the whole-run steps of run.ts). */
export const EXPECT = {
  setup: (modeId: string): number => SETUP_S[modeId] ?? 5,
  teardown: (): number => 2,
  wire: (): number => 4,
  rtt: rttS,
  hops: (): number => 4,
  tcp: tcpS,
  search: (p: Plan, seeded: boolean): number => searchS(p.search, seeded),
  sessions: (p: Plan): number => sessS(p) + SESSION_WARMUP_MAX_S / 2 + TOOL_S,
  r1alone: (p: Plan): number => 2 * RESTART_S + sessS(p),
  /** 2 rounds × 2 worker counts × (restart, TCP, UDP, new UDP and TCP sessions) */
  scaling: (p: Plan): number => 4 * (RESTART_S + 4 * (Math.min(p.tcpSeconds, 5) + TOOL_S)) + 2 * RESTART_S,
  /** 3 rounds × (off, on) × (reload, TCP, idle sample, sessions, settle) on nodes started once, a warm-up after each
   *  reload that toggled records: 4 (SVR_BENCH_PACED_RATE adds a paced test to each run) */
  visibility: (p: Plan): number => 6 * (1 + p.tcpSeconds + TOOL_S + 2 + sessS(p) + 10) + 2 * RESTART_S + 4 * 8,
  /** 3 rounds × (one node, pair) × (restart, TCP run, warm-up, idle sample, sessions) + 20 failovers in process */
  ha: (p: Plan): number => 6 * (RESTART_S + 3 + p.tcpSeconds + TOOL_S + 2 + 2 * TOOL_S + 3 + sessS(p)) + 30,
  /** TCP at full MTU and through 1400 B (restarts), UDP with loss without and with FEC (restarts) */
  wan: (p: Plan): number => 2 * tcpS(p) + 4 * RESTART_S + 2 * 12,
  /** per protocol: warm-up, the ceiling (unless seeded), ~6 paced trials (rate-search.ts: up to the first failure,
   *  then halving toward it), the hold (12 × session seconds) between waits for the table to empty and drain */
  sustained: (p: Plan, seeded: boolean): number => 2 * (3 + (seeded ? 6 : 8) * sessS(p) + 10 + 12 * p.sessionSeconds + 10) + 2 * RESTART_S,
  /** rounds (the plan's TCP runs) of empty, 100 k and 1 M, then empty: at each point a 1 s warm-up, one TCP run,
   *  the wait for poll mode (~1 s) and the plan's RTT runs; a restart per round and the fills (60 s); first packet
   *  in process (15 s per process) */
  tables: (p: Plan): number => {
    const rounds = tableRounds(p);
    const once = { ...p, tcpRuns: 1 };
    return (rounds * (1 + fillTargets(p).length) + 1) * (2 + TOOL_S + tcpS(once) + rttS(p)) + (rounds + 1) * RESTART_S + rounds * 60 + firstPacketProcesses(p) * 15;
  },
  /** one spoke's detection times, 1,000 spokes up, settle 15 s, CPU 30 s, 100 paths failing */
  hub: (): number => 110,
  busyPoll: (p: Plan): number => 2 * RESTART_S + rttS(p),
  profile: (seconds: number): number => 2 * RESTART_S + seconds + 3,
  memory: (p: Plan): number => (p.memoryCapacity >= 1 << 20 ? 25 : 10),
  configScale: (quick: boolean): number => (quick ? 30 : 60),
  handshakes: (): number => 3,
  /** namespaces, the C tools compiled, the servers started */
  topology: (): number => 12,
} as const;

/** One step of a run: expected and (once run) taken seconds. */
export interface StepTime {
  key: string;
  what: string;
  expectedS: number;
  tookS?: number;
}

const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);

/** Expected and taken seconds of a list of steps (taken: of those that ran). */
export function totals(steps: readonly StepTime[]): { expectedS: number; tookS: number } {
  return { expectedS: sum(steps.map((s) => s.expectedS)), tookS: sum(steps.map((s) => s.tookS ?? 0)) };
}

const mmss = (s: number): string => `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, '0')}`;

/** Lines of a plan or a run's timing: each mode's steps, its total, the run's total. */
export function formatTimes(groups: readonly { label: string; steps: readonly StepTime[] }[], withSteps: boolean): string[] {
  const out: string[] = [];
  const ran = groups.some((g) => g.steps.some((s) => s.tookS !== undefined));
  for (const g of groups) {
    const t = totals(g.steps);
    out.push(`${g.label.padEnd(40)} expected ${mmss(t.expectedS).padStart(6)}${ran ? `   took ${mmss(t.tookS).padStart(6)}` : ''}`);
    if (withSteps) for (const s of g.steps) out.push(`  ${s.key.padEnd(14)} ${String(s.expectedS).padStart(5)} s${s.tookS !== undefined ? ` ${String(s.tookS).padStart(6)} s` : ''}  ${s.what.length > 90 ? `${s.what.slice(0, 89)}…` : s.what}`);
  }
  const all = totals(groups.flatMap((g) => g.steps));
  out.push(`${'the whole run'.padEnd(40)} expected ${mmss(all.expectedS).padStart(6)}${ran ? `   took ${mmss(all.tookS).padStart(6)}` : ''}`);
  return out;
}
