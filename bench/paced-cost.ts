/**
 * What a new session costs at a fixed offered rate (the visibility and HA cases, next to their closed-loop rate).
 * A closed-loop test keeps the 2 vCPUs busy, so its rate is 2 cores over the CPU a session costs the whole machine,
 * and that cost moves with how finely the client, the echo and the routers' threads take turns: on the quiet
 * runs of 2026-12-05 night r2, doing the same work in both HA runs, spent 23.4-36.2 µs per session, and every
 * process's cost rose and fell together with the rate (docs/performance.md "Method"). Paced at one rate below
 * the ceiling, the same for both runs of every round, the turns are set by the offered load instead: the CPU per
 * session of each router (above its idle rate) is what the records or the sync add at that rate. (It moved as
 * much between rounds as the closed-loop rate did in the runs of 2026-12-05 night, so it is not the headline.)
 *   session-load.c udp at SVR_BENCH_PACED_RATE new sessions/s (opt-in: none without it), 512 in flight, CASE_SOURCES
 *   (their addresses are the case's to add).
 * A paced test whose sessions failed (> 1 %) or that fell behind its rate (< 97 % sent) is disturbed.
 */
import { cpuSeconds } from './cpu.js';
import { sleep } from './exec.js';
import { formatWindow, machineStat, machineWindow, type MachineStat, type MachineWindow } from './machine-stat.js';
import type { SvrouterMode } from './modes/svrouter.js';
import { udpSessions } from './session-load.js';
import { LOADED_CLIENT_WINDOW, MAX_FAILED_SESSIONS } from './sessions.js';

/** how long the processes' and the machine's idle rate is sampled before a paced test (ms) */
const IDLE_MS = 1500;
/** a paced test that sent less than this share of its rate fell behind */
export const PACED_HELD_SHARE = 0.97;

export interface PacedCost {
  rate: number;
  seconds: number;
  /** seconds accounted: the test and its settling */
  windowSeconds: number;
  attempted: number;
  failed: number;
  /** pacing slots the client could not send on time (the window was full) */
  behind: number;
  /** sessions r1 created during the test */
  created: number;
  /** CPU µs per session r1 created, above each one's idle rate: each router process (all its threads) by name, and `machine` (/proc/stat, everything) */
  us: Record<string, number>;
  machine: MachineWindow;
}

/** The rate of the case's paced tests, SVR_BENCH_PACED_RATE (new sessions/s): none when unset (the paced tests are opt-in). */
export function pacedRate(env = process.env['SVR_BENCH_PACED_RATE']): number | undefined {
  const rate = Number(env);
  return env !== undefined && Number.isFinite(rate) && rate > 0 ? rate : undefined;
}

/** Why a paced test does not count (failed sessions, fell behind), or undefined when it held. */
export function pacedDisturbed(p: PacedCost): string | undefined {
  if (p.failed > MAX_FAILED_SESSIONS * p.attempted) return `${p.failed} of ${p.attempted} paced sessions failed`;
  if (p.attempted < PACED_HELD_SHARE * p.rate * p.seconds) return `the paced test sent ${p.attempted} of ${Math.round(p.rate * p.seconds)} sessions (fell behind its rate)`;
  return undefined;
}

/**
 * One paced test of `seconds` at `rate` after IDLE_MS of idle sampling; `procs`: the processes to account (name,
 * pid); `settle`: waits until the test's sessions have had their whole cost (ended and recorded; the HA case's
 * stay), which the window includes.
 */
export async function pacedCost(tool: string, svr: SvrouterMode, rate: number, seconds: number, procs: readonly { name: string; pid: number }[],
  settle: () => Promise<unknown>, progress: (l: string) => void): Promise<PacedCost> {
  const created = async (): Promise<number> => { const v = (await svr.stats('r1'))['sessions-created']; return typeof v === 'number' ? v : NaN; };
  const read = (): { cpu: number[]; m: MachineStat } => ({ cpu: procs.map((p) => cpuSeconds(p.pid)), m: machineStat() });
  const i0 = read();
  await sleep(IDLE_MS);
  const i1 = read();
  const c0 = await created();
  const a = read();
  const r = await udpSessions(tool, { seconds, rate, window: LOADED_CLIENT_WINDOW });
  const n = (await created()) - c0;
  await settle();
  const b = read();
  const idleS = i1.m.at - i0.m.at;
  const s = b.m.at - a.m.at;
  const machine = machineWindow(a.m, b.m, n);
  const us: Record<string, number> = {};
  procs.forEach((p, k) => { us[p.name] = ((b.cpu[k]! - a.cpu[k]! - ((i1.cpu[k]! - i0.cpu[k]!) * s) / idleS) * 1e6) / n; });
  us.machine = ((machine.busyCores - machineWindow(i0.m, i1.m, 1).busyCores) * s * 1e6) / n;
  const out: PacedCost = { rate, seconds: r.seconds, windowSeconds: s, attempted: r.attempted, failed: r.failed, behind: r.behind, created: n, us, machine };
  progress(`    paced ${rate}/s for ${r.seconds.toFixed(1)} s (accounted ${s.toFixed(1)} s): ${r.attempted} sent, ${r.failed} failed, ${r.behind} behind; r1 created ${n}; CPU µs per session above idle: `
    + `${Object.entries(us).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}; the machine: ${formatWindow(machine)}`);
  return out;
}
