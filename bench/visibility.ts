/**
 * The visibility case (svrouter, HMAC only): what session records cost. The same measurements on the same
 * config but its `telemetry` block, in VISIBILITY_ROUNDS pairs of both runs (records off first in odd rounds, on
 * first in even ones, so that a load drifting during the case favours neither), on the same running nodes: r1 and
 * r2 start once, and each run rewrites their config file and reloads it (`svr reload`: the records thread follows
 * the `telemetry` block live), so a pair is two runs back to back on warm processes with tables already touched
 * (a restart per run made every run a first one: page faults, JIT, an empty table; wave 19, settle2):
 *   off  the bench config with a short UDP idle timeout (sessions end, so records flow): no collector, no history
 *        (as every other measurement of the benchmark);
 *   on   the same with IPFIX export (each router to an nfcapd on 127.0.0.1:4739 in its namespace) and the
 *        session history in the node's LevelDB store (the default of a node).
 * Equal terms: the two nfcapd run through every round (idle while records are off), r1's `svr show stats` is
 * sampled every 200 ms in both runs, and both session tests keep LOADED_CLIENT_WINDOW sessions in flight. The
 * nodes run no management API (no /metrics, no Prometheus) in either run; their metrics count in both.
 * Each run: after each reload that toggled records (the first run too) a WARM_UP_SECONDS session test (not measured: a
 * node that has run a while has its code compiled; a toggle leaves the records code to compile again) until its sessions ended and records were written; one TCP run (iperf3, one stream, the plan's length: the
 * first run after a restart was the slowest of three, records on or off) with each router's CPU by thread
 * group (and by thread-sched.ts group: CPU ms per Gbit on the scheduler's clock, wake-ups per second; their
 * medians over the rounds, off and on, printed as a table), then new UDP sessions/s with the drop counters that moved, and
 * where the CPU went (cpu.ts ThreadGroup), in µs per session r1 created: each router's main thread, records
 * thread, TUN threads, V8's platform threads (GC and compiler helpers) and the other threads (libuv's pool
 * running LevelDB's calls, LevelDB's compaction), both nfcapd, and the whole machine (/proc/stat: the client,
 * the echo server, the kernel, and whatever else runs on it), all above their idle rate sampled just before
 * (IDLE_SAMPLE_MS; on a loaded machine a starved thread may run less in the test than in its idle sample: a
 * negative figure);
 * once `during` the session test (what competes with forwarding) and once `settled`: from its start until
 * every session of the test ended on both routers and, records on, every record was written (or 20 s); the same
 * groups and nfcapd on the scheduler's clock until settled, with their sleeps (sessionThreads: medians of the rounds,
 * off, on and on − off, and nfcapd's share of on − off, printed as a table).
 * The ratios on / off of r1's session rate and of TCP are taken per round (a pair), and with them the witness: the
 * rate ratio the CPU per session alone would give (recordsWitness), and the routers' CPU per Gbit, off over on; the
 * goals' verdicts are the pairs' 95 % intervals (round-check.ts ratioVerdict). SVR_BENCH_INJECT=F adds F of the
 * machine's CPU to the on side's session tests (injected-cost.ts: a verdict FAILs when a cost is real). The round of each median ratio (of
 * those whose tests did not break down) stands for the case (TCP was one round's, 0.79-0.96x in quiet runs: a
 * single run per side, which the load moves by a third between runs; the routers' CPU per Gbit is its second
 * figure). The history's write rate (records per second of the time it
 * spent building and writing batches, `history-busy-ms`) is r1's of that round. The nodes are restarted on the
 * headline config afterwards.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { childrenCpuSeconds, cpuSeconds, groupCpuDelta, machineBusySeconds, machineGroupSeconds, machineStealSeconds, THREAD_GROUPS, threadCpu } from './cpu.js';
import { dropDelta, dropSnapshot, formatDrops } from './drops.js';
import { recordingSteps, sleep, spawnIn, stop, waitForLine, type Proc } from './exec.js';
import { checkConnectivity, measureTcp } from './measure.js';
import type { ModeContext } from './modes/mode.js';
import type { SvrouterMode } from './modes/svrouter.js';
import type { Plan } from './plan.js';
import type { SessionRate, TcpResult } from './results.js';
import { LOADED_CLIENT_WINDOW, sessionRate } from './sessions.js';
import { svrConfigYaml } from './svr-config.js';
import { median } from './stats.js';
import { threadGroupUse, threadUse, type ThreadUse } from './thread-sched.js';
import { NS } from './topology.js';
import { pacedCost, pacedRate, type PacedCost } from './paced-cost.js';
import { formatInterval, formatSpread, pacedCostRatio, pacedProcessUs, ratioInterval, ratioVerdict, roundProblems, witnessRatio } from './round-check.js';
import { INJECTED_SHARE, injectedCost } from './injected-cost.js';
import { caseAddresses } from './session-load.js';
import { buildCTool } from './udp-load.js';

/** Idle timeout of the visibility runs' UDP sessions, s: records of the session test arrive within the run. */
export const VISIBILITY_IDLE_S = 2;
/** rounds of records off and on (SVR_BENCH_VIS_ROUNDS, default 3): the ratios are taken per round, side by side */
export const VISIBILITY_ROUNDS = Number(process.env['SVR_BENCH_VIS_ROUNDS'] ?? 3);
/** how long the machine's and the processes' idle CPU rate is sampled before each session test (ms) */
const IDLE_SAMPLE_MS = 2000;
/** seconds of the session test that warms each run up (not measured) */
const WARM_UP_SECONDS = 2;
/** how long a run waits after its session test for the sessions to end and their records to be written */
const SETTLE_MS = 20_000;
const COLLECTOR = '127.0.0.1';
const ROUTERS = ['r1', 'r2'] as const;

export interface HistoryRate {
  /** r1's sessions-created during the UDP session test, per second of it */
  createdPerSecond: number;
  /** r1's records written per second of the history's busy time (building and writing batches) */
  writtenPerSecond: number;
  /** seconds from the first write to the last */
  writeSpanSeconds: number;
  created: number;
  written: number;
  /** records left waiting when sampling stopped, and dropped (history full, IPFIX queue full) */
  pendingAtEnd: number;
  historyDropped: number;
  ipfixExported: number;
  ipfixDropped: number;
  /** records nfcapd counted (its stats lines at exit), both routers, over every round */
  collectorFlows?: number;
  /** IPFIX records both routers exported over every round (to compare with collectorFlows) */
  exportedAllRounds?: number;
}

/**
 * Where a run's CPU went, µs per session r1 created, above the idle rate: `r1 main`, `r1 records`, `r1 tun`,
 * `r1 v8`, `r1 other` (cpu.ts ThreadGroup), the same for r2, `nfcapd` (both), `machine` (everything, /proc/stat) and
 * `bench` (the bench process: its samplers, SVR_BENCH_INJECT's threads), `children` (the bench's children that ended:
 * the load generator of each session test, the drop counters' reads), `server` (the live processes in the server's namespace: the echo
 * server), the kernel's threads (the whole machine's: `softirqd` ksoftirqd, `kworkers` workqueues, `kernel` the
 * others: cpu.ts machineGroupSeconds), `steal` (the hypervisor's, counted in `machine`) and `rest` (the machine less all
 * those: other work on the machine, short-lived processes).
 */
export type CpuAccount = Record<string, number>;

export interface RunCpu {
  during: CpuAccount;
  settled: CpuAccount;
  /** seconds of the session test, and from its start until settled */
  duringSeconds: number;
  settledSeconds: number;
  /** the run settled (sessions ended, records written) before SETTLE_MS ran out */
  settledInTime: boolean;
  /** the load average when the session test started */
  load: number;
}

export interface VisibilityRun {
  tcp?: TcpResult;
  /** each router's CPU during the TCP run by thread group (and nfcapd, the machine), CPU seconds per Gbit moved */
  tcpCpu?: CpuAccount;
  /** each router's threads during the TCP run (thread-sched.ts groups, `r1 svr-records`...): CPU ms per Gbit (the scheduler's clock) and wake-ups per second */
  tcpThreads?: Record<string, { msPerGbit: number; wakeupsPerS: number }>;
  sessions?: SessionRate;
  /** drop counters of r1 and r2 that moved during the run */
  drops?: Record<string, number>;
  /** what the kernels dropped during the session test (UDP receive buffers, device queues; drops.ts) */
  kernelDrops?: Record<string, number>;
  /** each router's CPU during the session test, µs per session it created: the whole process, its main thread */
  sessionCpuUs?: Record<string, { process: number; mainThread: number }>;
  cpu?: RunCpu;
  /**
   * Each router's thread groups (`r1 main`, `r1 records`, `r1 tun`, `r1 v8`, `r1 other`: cpu.ts ThreadGroup) and both nfcapd
   * (`nfcapd`, the collectors) on the scheduler's clock, from the session test's start until settled, above the idle
   * rate: CPU µs and sleeps (each ends in a wake-up) per session r1 created
   */
  sessionThreads?: PerSessionUse;
  /** r1's new sessions per second through the session test, over spans of about a second (from the 200 ms samples) */
  r1PerSecond?: number[];
  /** CPU per session at the case's fixed offered rate (paced-cost.ts), after the session test settled */
  paced?: PacedCost;
}

export interface VisibilityRound {
  off: VisibilityRun;
  on: VisibilityRun;
  /** r1's new sessions/s, on / off */
  ratio: number;
  /** TCP throughput on / off, and the routers' CPU seconds per Gbit on / off (1.10: 10 % more CPU per bit) */
  tcpRatio?: number;
  tcpCpuRatio?: number;
  /** the routers' and collectors' CPU per session at the fixed rate, on / off (1.10: records cost 10 % more) */
  costRatio?: number;
  /** the rate ratio the CPU per session alone would give (round-check.ts witnessRatio): what the routers, nfcapd and
   *  the bench spent more per session on until settled, against off's machine busy µs per session (`witness`) or
   *  their own (`witnessLow`); the verdict's witness, two bounds */
  witness?: number;
  witnessLow?: number;
  /** `witness` without the collectors' on − off (nfcapd: on a real network they run on another host): a figure beside
   *  the verdict, not in it (the case's terms charge them) */
  witnessNoCollectors?: number;
  /** what disturbed the round (round-check.ts): it is left out of the median and the case is not comparable */
  problems?: string[];
  history?: HistoryRate;
}

export interface VisibilityResult {
  idleTimeoutS: number;
  /** TCP of the round with the median TCP ratio; sessions and CPU of the round with the median session ratio */
  off: VisibilityRun;
  on: VisibilityRun;
  /** the median round's TCP ratio, on / off */
  tcpRatio?: number;
  history?: HistoryRate;
  rounds?: VisibilityRound[];
  /** sessions in flight in the session tests */
  clientWindow?: number;
  /** the paced tests' rate (new sessions/s) */
  pacedRate?: number;
  /** records toggled by a reload on the same running nodes (since wave 19), not a restart per run */
  toggled?: boolean;
  errors: string[];
}

interface Mark {
  active: number[];
  created: number;
  written: number;
}

interface Stats {
  at: number;
  created: number;
  written: number;
  pending: number;
  busyMs: number;
  historyDropped: number;
  exported: number;
  ipfixDropped: number;
}

const num = (s: Record<string, unknown>, k: string): number => (typeof s[k] === 'number' ? s[k] : NaN);

async function sample(svr: SvrouterMode): Promise<Stats> {
  const s = await svr.stats('r1');
  return {
    at: Date.now(), created: num(s, 'sessions-created'), written: num(s, 'history-written'), pending: num(s, 'history-pending'), busyMs: num(s, 'history-busy-ms'),
    historyDropped: num(s, 'history-dropped'), exported: num(s, 'ipfix-exported'), ipfixDropped: num(s, 'ipfix-dropped'),
  };
}

/** Drop counters of both routers, `r1 drop-...`. */
async function drops(svr: SvrouterMode): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const r of ROUTERS) {
    for (const [k, v] of Object.entries(await svr.stats(r))) if (k.startsWith('drop') && typeof v === 'number') out[`${r} ${k}`] = v;
  }
  return out;
}

/** nfcapd on 127.0.0.1:4739 inside a router's namespace. */
async function startCollector(dir: string, r: 'r1' | 'r2'): Promise<Proc> {
  const out = join(dir, `ipfix-${r}`);
  mkdirSync(out, { recursive: true });
  const p = spawnIn(NS[r], `nfcapd-${r}`, 'nfcapd', ['-w', out, '-p', '4739', '-b', COLLECTOR, '-t', '60', '-B', String(4 << 20)], join(dir, `nfcapd-${r}.log`));
  await waitForLine(p, /Startup nfcapd/, 10_000);
  return p;
}

/** µs of CPU and sleeps per session, by `r1 main`... and `nfcapd` (see VisibilityRun.sessionThreads). */
export type PerSessionUse = Record<string, { cpuUs: number; sleeps: number }>;

/** threadGroupUse() of each router (`r1 main`...) and of the collectors (`nfcapd`, summed) at `at` (s). */
export interface SchedSnapshot {
  at: number;
  uses: Map<string, ThreadUse>;
}

/** (window - idle rate × its length) per session for each group of the snapshots: CPU µs and sleeps. */
export function usePerSession(idle0: SchedSnapshot, idle1: SchedSnapshot, from: SchedSnapshot, to: SchedSnapshot, sessions: number): PerSessionUse {
  const out: PerSessionUse = {};
  const scale = (to.at - from.at) / (idle1.at - idle0.at);
  const delta = (a: SchedSnapshot, b: SchedSnapshot, k: string): ThreadUse => {
    const x = a.uses.get(k) ?? { ns: 0, sleeps: 0 };
    const y = b.uses.get(k) ?? { ns: 0, sleeps: 0 };
    return { ns: y.ns - x.ns, sleeps: y.sleeps - x.sleeps };
  };
  for (const k of to.uses.keys()) {
    const w = delta(from, to, k);
    const i = delta(idle0, idle1, k);
    out[k] = { cpuUs: (w.ns - i.ns * scale) / 1000 / sessions, sleeps: (w.sleeps - i.sleeps * scale) / sessions };
  }
  return out;
}

/**
 * Markdown rows: each group's CPU µs and sleeps per session from the session test's start until settled (usePerSession),
 * off, on and on − off, medians of the rounds given; then the routers' sum and the collectors' share of on − off.
 */
export function sessionThreadRows(rounds: readonly { off: VisibilityRun; on: VisibilityRun }[]): string[] {
  const both = rounds.filter((r) => r.off.sessionThreads !== undefined && r.on.sessionThreads !== undefined);
  if (both.length === 0) return [];
  const groups = [...new Set(both.flatMap((r) => Object.keys(r.on.sessionThreads!)))].sort((a, b) => (a === 'nfcapd' ? 1 : b === 'nfcapd' ? -1 : a.localeCompare(b)));
  const routers = (t: PerSessionUse): number => Object.entries(t).reduce((n, [k, u]) => (k === 'nfcapd' ? n : n + u.cpuUs), 0);
  const val = (side: 'off' | 'on', r: (typeof both)[number], g: string, f: 'cpuUs' | 'sleeps'): number =>
    g === 'routers' ? (f === 'cpuUs' ? routers(r[side].sessionThreads!) : NaN) : r[side].sessionThreads![g]?.[f] ?? 0;
  const cells = (g: string): string => {
    const m = (f: (r: (typeof both)[number]) => number, d: number): string => {
      const x = median(both.map(f));
      return Number.isFinite(x) ? x.toFixed(d) : '–';
    };
    return [m((r) => val('off', r, g, 'cpuUs'), 1), m((r) => val('on', r, g, 'cpuUs'), 1), m((r) => val('on', r, g, 'cpuUs') - val('off', r, g, 'cpuUs'), 1),
      m((r) => val('off', r, g, 'sleeps'), 2), m((r) => val('on', r, g, 'sleeps'), 2)].join(' | ');
  };
  const share = median(both.map((r) => {
    const d = (r.on.sessionThreads!['nfcapd']?.cpuUs ?? 0) - (r.off.sessionThreads!['nfcapd']?.cpuUs ?? 0);
    return d / (d + routers(r.on.sessionThreads!) - routers(r.off.sessionThreads!));
  }));
  return ['| thread group | µs per session: off | on | on − off | sleeps per session: off | on |', '|---|---|---|---|---|---|',
    ...[...groups.filter((g) => g !== 'nfcapd'), 'routers', ...groups.filter((g) => g === 'nfcapd')].map((g) => `| ${g === 'nfcapd' ? 'nfcapd (both: the collectors, not the routers)' : g} | ${cells(g)} |`),
    `nfcapd's share of what records cost the routers and collectors together (on − off): ${Number.isFinite(share) ? `${(share * 100).toFixed(0)} %` : '–'} (median of the rounds; the goal is the routers', the rate counts both)`];
}

/** CPU seconds so far: each router's thread groups, the collectors, the machine; and the clock (s). */
interface CpuSnapshot {
  at: number;
  routers: Map<number, { name: string; seconds: number }>[];
  collectors: number;
  /** the bench process itself (its samplers; SVR_BENCH_INJECT's threads) */
  bench: number;
  /** the bench's children that ended (childrenCpuSeconds) */
  children: number;
  /** machineGroupSeconds of the server's namespace and of the kernel's threads */
  groups: Record<string, number>;
  steal: number;
  machine: number;
}

/** The accounts of a snapshot pair, CPU seconds (see CpuAccount). */
export function cpuAccount(pids: readonly number[], a: CpuSnapshot, b: CpuSnapshot): CpuAccount {
  const out: CpuAccount = {};
  let routers = 0;
  pids.forEach((pid, k) => {
    const g = groupCpuDelta(pid, a.routers[k]!, b.routers[k]!);
    for (const x of THREAD_GROUPS) {
      out[`${ROUTERS[k]} ${x}`] = g[x];
      routers += g[x];
    }
  });
  out.nfcapd = b.collectors - a.collectors;
  out.bench = b.bench - a.bench;
  out.children = b.children - a.children;
  let known = routers + out.nfcapd + out.bench + out.children;
  for (const [k, v] of Object.entries(b.groups)) known += out[k] = v - (a.groups[k] ?? 0);
  known += out.steal = b.steal - a.steal;
  out.machine = b.machine - a.machine;
  out.rest = out.machine - known;
  return out;
}

/** (window - idle rate × its length) per session, µs: the accounts of a window above the idle rate. */
export function perSession(window: CpuAccount, windowSeconds: number, idle: CpuAccount, idleSeconds: number, sessions: number): CpuAccount {
  const out: CpuAccount = {};
  for (const [k, v] of Object.entries(window)) out[k] = ((v - ((idle[k] ?? 0) * windowSeconds) / idleSeconds) * 1e6) / sessions;
  return out;
}

/** The round whose ratio (`of`, default its `ratio`) is the median of the clean ones (all rounds when none is clean); undefined when no ratio is finite. */
export function medianRound<R extends { ratio: number }>(rounds: readonly R[], clean: (r: R) => boolean, of: (r: R) => number = (r) => r.ratio): R | undefined {
  const finite = rounds.filter((r) => Number.isFinite(of(r)));
  const byRatio = (finite.some(clean) ? finite.filter(clean) : finite).sort((x, y) => of(x) - of(y));
  return byRatio[Math.floor((byRatio.length - 1) / 2)];
}

const loadAverage = (): number => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

/** One line of a CpuAccount's figures (µs per session, or CPU seconds per Gbit), the groups of both routers first. */
export function formatAccount(a: CpuAccount, digits = 1): string {
  return Object.entries(a).map(([k, v]) => `${k} ${v.toFixed(digits)}`).join(', ');
}

/** The processes a records pair accounts: both routers, the collectors, the bench (µs per session); NaN without an account. */
const owned = (a: CpuAccount | undefined): number => routersCpu(a) + (a?.['nfcapd'] ?? NaN) + (a?.['bench'] ?? 0);

/** The machine's busy µs per session r1 created in a run's session test (its cores over its rate). */
const busyUs = (run: VisibilityRun): number => {
  const m = run.sessions?.machine;
  return m === undefined ? NaN : (m.busyCores * m.seconds * 1e6) / (run.sessions?.createdR1 ?? NaN);
};

/**
 * A records pair's witness (round-check.ts witnessRatio), its two bounds: what on spent more until settled against off's
 * machine µs per session (high) or its own (low); and the high bound without the collectors' on − off (`noCollectors`).
 */
export function recordsWitness(off: VisibilityRun, on: VisibilityRun): { high: number; low: number; noCollectors: number } {
  const delta = owned(on.cpu?.settled) - owned(off.cpu?.settled);
  const collectors = (on.cpu?.settled['nfcapd'] ?? NaN) - (off.cpu?.settled['nfcapd'] ?? NaN);
  return { high: witnessRatio(busyUs(off), delta), low: witnessRatio(owned(off.cpu?.settled), delta), noCollectors: witnessRatio(busyUs(off), delta - collectors) };
}

/** Both routers' CPU in an account (every thread group of r1 and r2: not nfcapd, the machine or the rest); NaN without one. */
export function routersCpu(a: CpuAccount | undefined): number {
  if (a === undefined) return NaN;
  return Object.entries(a).reduce((n, [k, v]) => (ROUTERS.some((r) => k.startsWith(`${r} `)) ? n + v : n), 0);
}

/**
 * The case's runs in order: records off first in odd rounds (1, 3, ...), on first in even ones; a run warms up
 * (WARM_UP_SECONDS of sessions, not measured) when a reload toggled records before it, the first run too: as a node
 * that has run a while, its code compiled. Once per side was not enough: records off for a run and on again deopt and
 * compile the records code of both threads again (the fact writer announcing names at the new epoch, the records
 * thread's reads: 33 TurboFan compiles in process against 14 without the toggle), and the on
 * runs after an off run spent 0.4-0.9 µs a session a router more in V8's compiler threads than those after an on run
 * (docs/performance.md "Wave 25, reca").
 */
export function visibilityRuns(rounds: number): { round: number; recordsOn: boolean; warmUp: boolean }[] {
  const runs: { round: number; recordsOn: boolean; warmUp: boolean }[] = [];
  let side: boolean | undefined;
  for (let round = 0; round < rounds; round++) {
    for (const recordsOn of round % 2 === 0 ? [false, true] : [true, false]) {
      runs.push({ round, recordsOn, warmUp: recordsOn !== side });
      side = recordsOn;
    }
  }
  return runs;
}

export async function measureVisibility(svr: SvrouterMode, ctx: ModeContext, plan: Plan): Promise<VisibilityResult> {
  const progress = ctx.progress;
  const dir = join(ctx.dir, 'visibility');
  mkdirSync(dir, { recursive: true });
  const res: VisibilityResult = { idleTimeoutS: VISIBILITY_IDLE_S, off: {}, on: {}, rounds: [], clientWindow: LOADED_CLIENT_WINDOW, toggled: true, errors: [] };
  // the routers' config file: rewritten with records on or off, then reloaded (toggle)
  const live = join(dir, 'authority.yaml');
  // one authority secret for both sides: a reload that changed it left the r1-r2 path down for good (wave 19)
  const secret = randomBytes(32).toString('hex');
  const config = (collector: boolean): string => {
    writeFileSync(live, svrConfigYaml({ encrypt: false, secret, udpIdleTimeoutS: VISIBILITY_IDLE_S, ...(collector ? { collector: COLLECTOR } : {}) }));
    return live;
  };
  let current = false;
  const toggle = async (recordsOn: boolean): Promise<void> => {
    if (recordsOn === current) return;
    config(recordsOn);
    for (const r of ROUTERS) await svr.reload(r);
    current = recordsOn;
    await svr.pathsUp();
  };
  const inject = injectedCost();
  const step = recordingSteps(res.errors, progress);
  const collectors: Proc[] = [];
  /** each router's threads' groups as first seen (threadGroupUse), reset with the processes at each restart */
  let seen: Map<number, string>[] = [];
  const schedSnapshot = (pids: readonly number[]): SchedSnapshot => {
    const uses = new Map<string, ThreadUse>();
    pids.forEach((pid, k) => {
      for (const [g, u] of threadGroupUse(pid, (seen[k] ??= new Map()))) uses.set(`${ROUTERS[k]} ${g}`, u);
    });
    const nf = { ns: 0, sleeps: 0 };
    for (const p of collectors) for (const u of threadUse(p.pid).values()) { nf.ns += u.ns; nf.sleeps += u.sleeps; }
    uses.set('nfcapd', nf);
    return { at: performance.now() / 1000, uses };
  };
  const snapshot = (pids: readonly number[]): CpuSnapshot => ({
    at: performance.now() / 1000, routers: pids.map((pid) => threadCpu(pid)),
    collectors: collectors.reduce((n, p) => n + cpuSeconds(p.pid), 0), bench: cpuSeconds(process.pid), children: childrenCpuSeconds(process.pid),
    groups: machineGroupSeconds({ server: NS.server }), steal: machineStealSeconds(), machine: machineBusySeconds(),
  });
  /** Each router's active sessions, and r1's created and written so far. */
  const mark = async (): Promise<Mark> => {
    const s = await Promise.all(ROUTERS.map((r) => svr.stats(r)));
    return { active: s.map((x) => num(x, 'sessions-active')), created: num(s[0]!, 'sessions-created'), written: num(s[0]!, 'history-written') };
  };
  /** Waits (SETTLE_MS at most) until every session since `from` ended on both routers (idle timeout) and, records on, r1 wrote every record; false when the time ran out. */
  const settled = async (from: Mark, recordsOn: boolean): Promise<boolean> => {
    const deadline = Date.now() + SETTLE_MS;
    while (Date.now() < deadline) {
      await sleep(250);
      const s = await Promise.all(ROUTERS.map((r) => svr.stats(r)));
      const ended = s.every((x, k) => num(x, 'sessions-active') <= from.active[k]!);
      const written = !recordsOn || (num(s[0]!, 'history-written') - from.written >= num(s[0]!, 'sessions-created') - from.created && num(s[0]!, 'history-pending') === 0);
      if (ended && written) return true;
    }
    return false;
  };
  /** The run's measurements (see the top); its history rate when records are on. */
  const runOne = async (run: VisibilityRun, label: string, recordsOn: boolean, warmUp: boolean): Promise<HistoryRate | undefined> => {
    await checkConnectivity();
    const drops0 = await drops(svr);
    if (warmUp) {
      const warm0 = await mark();
      await step(`${label} warm-up`, async () => { await sessionRate('udp', WARM_UP_SECONDS, svr, () => undefined, ctx.udpLoad, ROUTERS, LOADED_CLIENT_WINDOW); });
      await settled(warm0, recordsOn);
    }
    await step(`${label} tcp`, async () => {
      const pids = svr.routerProcs().map((p) => p.pid);
      const a = snapshot(pids);
      const uses = pids.map((pid) => threadUse(pid));
      const t0 = performance.now();
      run.tcp = await measureTcp(svr, tcpPlan, progress);
      const gbit = run.tcp.gbps.median * plan.tcpSeconds;
      if (!(gbit > 0)) return;
      run.tcpCpu = Object.fromEntries(Object.entries(cpuAccount(pids, a, snapshot(pids))).map(([k, v]) => [k, v / gbit]));
      run.tcpThreads = threadsPerGbit(uses, pids.map((pid) => threadUse(pid)), gbit, (performance.now() - t0) / 1000);
      progress(`    CPU s per Gbit (${label}): ${formatAccount(run.tcpCpu, 3)}`);
      progress(`    threads (${label}), CPU ms per Gbit and wake-ups/s: ${formatThreads(run.tcpThreads)}`);
    });
    // r1's stats every 200 ms in both runs (equal terms); the history's figures from them when records are on
    const samples: Stats[] = [await sample(svr)];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        await sleep(200);
        samples.push(await sample(svr).catch(() => samples[samples.length - 1]!));
      }
    })();
    const pids = svr.routerProcs().map((p) => p.pid);
    seen = [];
    const sched0 = schedSnapshot(pids);
    const idle0 = snapshot(pids);
    await sleep(IDLE_SAMPLE_MS);
    const idle1 = snapshot(pids);
    const sched1 = schedSnapshot(pids);
    const test0 = await mark();
    const kernel0 = await dropSnapshot();
    const load = loadAverage();
    const cpu0 = snapshot(pids);
    const sched2 = schedSnapshot(pids);
    const proc0 = pids.map((pid) => [cpuSeconds(pid), cpuSeconds(pid, true)] as const);
    const from = Date.now();
    const test = (): Promise<SessionRate> => sessionRate('udp', plan.sessionSeconds, svr, progress, ctx.udpLoad, ROUTERS, LOADED_CLIENT_WINDOW);
    await step(`${label} udp sessions`, async () => { run.sessions = await (recordsOn && inject !== undefined ? inject.during(test) : test()); });
    const cpu1 = snapshot(pids);
    run.r1PerSecond = perSecond(samples, from, from + (run.sessions?.client.seconds ?? 0) * 1000 + 200);
    progress(`    r1's new sessions per second through the ${label} test: ${run.r1PerSecond.join(', ')}`);
    const created = run.sessions?.createdR1;
    if (created !== undefined && created > 0) {
      run.sessionCpuUs = Object.fromEntries(pids.map((pid, k) => [`svr-${ROUTERS[k]}`, {
        process: ((cpuSeconds(pid) - proc0[k]![0]) * 1e6) / created, mainThread: ((cpuSeconds(pid, true) - proc0[k]![1]) * 1e6) / created,
      }]));
    }
    run.kernelDrops = dropDelta(kernel0, await dropSnapshot());
    progress(`    kernel drops during the ${label} session test: ${formatDrops(run.kernelDrops)}`);
    const settledInTime = await settled(test0, recordsOn);
    const cpu2 = snapshot(pids);
    const sched3 = schedSnapshot(pids);
    if (paced !== undefined) {
      const procs = [...pids.map((pid, k) => ({ name: `svr-${ROUTERS[k]}`, pid })), ...collectors.map((p) => ({ name: p.name, pid: p.pid }))];
      const from = await mark();
      await step(`${label} paced`, async () => { run.paced = await pacedCost(paced, svr, rate!, plan.sessionSeconds, procs, () => settled(from, recordsOn), progress); });
    }
    sampling = false;
    await sampler;
    if (created !== undefined && created > 0) {
      const idle = cpuAccount(pids, idle0, idle1);
      const idleS = idle1.at - idle0.at;
      run.cpu = {
        during: perSession(cpuAccount(pids, cpu0, cpu1), cpu1.at - cpu0.at, idle, idleS, created),
        settled: perSession(cpuAccount(pids, cpu0, cpu2), cpu2.at - cpu0.at, idle, idleS, created),
        duringSeconds: cpu1.at - cpu0.at, settledSeconds: cpu2.at - cpu0.at, settledInTime, load,
      };
      progress(`    CPU µs per session r1 created (${label}, above the idle rate, load ${load}), during the test (${run.cpu.duringSeconds.toFixed(1)} s): ${formatAccount(run.cpu.during)}`);
      progress(`      until settled (${run.cpu.settledSeconds.toFixed(1)} s${settledInTime ? '' : ', not settled'}): ${formatAccount(run.cpu.settled)}`);
      run.sessionThreads = usePerSession(sched0, sched1, sched2, sched3, created);
      progress(`      by thread on the scheduler's clock until settled, µs and sleeps per session: ${Object.entries(run.sessionThreads).map(([k, u]) => `${k} ${u.cpuUs.toFixed(1)} µs ${u.sleeps.toFixed(2)}`).join(', ')}`);
    }
    const drops1 = await drops(svr);
    const moved = Object.fromEntries(Object.entries(drops1).map(([k, v]) => [k, v - (drops0[k] ?? 0)] as const).filter(([, d]) => d !== 0));
    run.drops = moved;
    if (Object.keys(moved).length > 0) progress(`    drops with records ${label}: ${Object.entries(moved).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    return recordsOn ? historyRate(samples, run.sessions) : undefined;
  };

  let exported = 0;
  const exportedNow = async (): Promise<number> => {
    let n = 0;
    for (const r of ROUTERS) n += num(await svr.stats(r), 'ipfix-exported') || 0;
    return n;
  };
  const sideName = (recordsOn: boolean): string => (recordsOn ? 'on' : 'off');
  const tcpPlan: Plan = { ...plan, tcpRuns: 1 };
  const rate = pacedRate();
  const tool = rate === undefined ? undefined : buildCTool(ctx.dir, 'session-load');
  const paced = tool?.path;
  if (tool !== undefined && paced === undefined) res.errors.push(`paced: bench/c/session-load.c: ${tool.reason}`);
  try {
    if (paced !== undefined) await caseAddresses(true);
    progress(`  visibility: ${VISIBILITY_ROUNDS} rounds of records off and on (off first in odd rounds, on first in even ones) on the same nodes, records toggled by a reload; UDP idle timeout ${VISIBILITY_IDLE_S} s; ${LOADED_CLIENT_WINDOW} sessions in flight; nfcapd on ${COLLECTOR}:4739 in each router's namespace through every round (idle while records are off)`
      + `${inject === undefined ? '' : `; INJECTED: ${INJECTED_SHARE} of the machine's CPU during the on side's session tests`}`);
    for (const r of ROUTERS) collectors.push(await startCollector(dir, r));
    await svr.restartWith(config(false));
    await svr.pathsUp();
    const schedule = visibilityRuns(VISIBILITY_ROUNDS);
    for (let round = 0; round < VISIBILITY_ROUNDS; round++) {
      const off: VisibilityRun = {};
      const on: VisibilityRun = {};
      let history: HistoryRate | undefined;
      for (const { recordsOn, warmUp } of schedule.filter((r) => r.round === round)) {
        progress(`  visibility round ${round + 1} of ${VISIBILITY_ROUNDS}: records ${recordsOn ? 'on (IPFIX to nfcapd, session history in LevelDB)' : 'off'}`);
        await step(`${sideName(recordsOn)} reload`, () => toggle(recordsOn));
        if (!recordsOn) await runOne(off, 'off', false, warmUp);
        else {
          const before = await exportedNow();
          history = await runOne(on, 'on', true, warmUp);
          exported += (await exportedNow()) - before;
        }
      }
      const ratio = (on.sessions?.createdR1PerSecond ?? NaN) / (off.sessions?.createdR1PerSecond ?? NaN);
      const tcpRatio = (on.tcp?.gbps.median ?? NaN) / (off.tcp?.gbps.median ?? NaN);
      const tcpCpuRatio = routersCpu(on.tcpCpu) / routersCpu(off.tcpCpu);
      const costRatio = pacedCostRatio(off, on);
      const { high: witness, low: witnessLow, noCollectors: witnessNoCollectors } = recordsWitness(off, on);
      const problems = roundProblems(off, on, ['with records off', 'with records on']);
      progress(`    round ${round + 1}: TCP on / off = ${(on.tcp?.gbps.median ?? 0).toFixed(3)} / ${(off.tcp?.gbps.median ?? 0).toFixed(3)} Gbps = ${tcpRatio.toFixed(3)} (the routers' CPU per Gbit on / off ${tcpCpuRatio.toFixed(3)})`
        + `; new sessions/s on / off = ${Math.round(on.sessions?.createdR1PerSecond ?? 0)} / ${Math.round(off.sessions?.createdR1PerSecond ?? 0)} = ${ratio.toFixed(3)}`
        + `; the witness (CPU per session until settled: the routers', nfcapd's, the bench's on − off ${(owned(on.cpu?.settled) - owned(off.cpu?.settled)).toFixed(1)} µs against the machine's ${busyUs(off).toFixed(1)} µs and their own ${owned(off.cpu?.settled).toFixed(1)} µs off) ${witnessLow.toFixed(3)}–${witness.toFixed(3)}, without nfcapd's ${witnessNoCollectors.toFixed(3)}`
        + `${rate === undefined ? '' : `; CPU µs per session at ${rate}/s on / off = ${pacedProcessUs(on.paced).toFixed(1)} / ${pacedProcessUs(off.paced).toFixed(1)} = ${costRatio.toFixed(3)}`}`
        + `${problems.length > 0 ? `; DISTURBED: ${problems.join('; ')}` : ''}`);
      res.rounds!.push({ off, on, ratio, tcpRatio, tcpCpuRatio, costRatio, witness, witnessLow, witnessNoCollectors, problems, ...(history === undefined ? {} : { history }) });
    }
  } finally {
    await inject?.close();
    if (paced !== undefined) await caseAddresses(false);
    if (rate !== undefined) res.pacedRate = rate;
    // the nodes' logs of the case (the restart below writes them anew)
    for (const r of ROUTERS) { const log = svr.proc(r)?.log; if (log !== undefined) copyFileSync(log, join(dir, `${r}.log`)); }
    await svr.restartWith();
    let flows = 0;
    for (const p of collectors) {
      await stop(p, 5000);
      flows += collectorFlows(join(dir, `${p.name}.log`));
    }
    const midTcp = medianRound(res.rounds!, () => true, (r) => r.tcpRatio ?? NaN);
    if (midTcp !== undefined) {
      res.tcpRatio = midTcp.tcpRatio;
      progress(`    on / off, TCP, ${res.rounds!.length} rounds: ${res.rounds!.map((r) => (r.tcpRatio ?? NaN).toFixed(3)).join(', ')}; median ${res.tcpRatio!.toFixed(3)}; the routers' CPU per Gbit on / off: ${formatSpread(res.rounds!.map((r) => r.tcpCpuRatio ?? NaN))}`);
      const table = threadRows(res.rounds!);
      if (table.length > 0) progress(`    the routers' threads during TCP, medians of the rounds:\n${table.map((l) => `      ${l}`).join('\n')}`);
    }
    const mid = medianRound(res.rounds!, cleanRound);
    // TCP is the median TCP round's, the rest the median session round's
    for (const side of ['off', 'on'] as const) Object.assign(res[side], mid?.[side] ?? {}, { tcp: midTcp?.[side].tcp, tcpCpu: midTcp?.[side].tcpCpu });
    if (mid !== undefined) {
      if (mid.history !== undefined) res.history = { ...mid.history, ...(collectors.length > 0 ? { collectorFlows: flows, exportedAllRounds: exported } : {}) };
      const clean = res.rounds!.filter(cleanRound);
      const v = ratioVerdict(clean.map((r) => r.ratio), 0.9, clean.map((r) => r.witness ?? NaN), clean.map((r) => r.witnessLow ?? NaN));
      progress(`    on / off, new sessions/s, ${res.rounds!.length} rounds: ${res.rounds!.map((r) => `${r.ratio.toFixed(3)}${cleanRound(r) ? '' : ' (disturbed)'}`).join(', ')}; median: ${mid.ratio.toFixed(3)}`
        + `; the clean pairs ${formatInterval(v.rate)}, their CPU witness ${formatInterval(v.witnessLow)} to ${formatInterval(v.witness)}: ${v.verdict} against 0.90${v.by === 'witness' ? ' (by the witness)' : ''}`
        + ` (the witness without the collectors' CPU, not in the verdict: ${formatInterval(ratioInterval(clean.map((r) => r.witnessNoCollectors ?? NaN)))})`
        + `${rate === undefined ? '' : `; CPU per session at ${rate}/s, on / off: ${formatSpread(res.rounds!.filter(cleanRound).map((r) => r.costRatio ?? NaN))}`}`);
      const threads = sessionThreadRows(res.rounds!.some(cleanRound) ? res.rounds!.filter(cleanRound) : res.rounds!);
      if (threads.length > 0) progress(`    the session test by thread (scheduler's clock, from its start until settled, above the idle rate), medians of the rounds:\n${threads.map((l) => `      ${l}`).join('\n')}`);
      const table = costRows(mid.off.cpu, mid.on.cpu);
      if (table.length > 0) progress(`    where the median round's CPU went, µs per session r1 created (above the idle rate):\n${table.map((l) => `      ${l}`).join('\n')}`);
    }
  }
  const h = res.history;
  if (h !== undefined) {
    progress(`    history: ${h.written} records written (over ${h.writeSpanSeconds.toFixed(1)} s as sessions idled out) at ${Math.round(h.writtenPerSecond)} per second of its busy time, while r1 created ${Math.round(h.createdPerSecond)} sessions/s; pending at end ${h.pendingAtEnd}, dropped ${h.historyDropped}; IPFIX exported ${h.ipfixExported}, dropped ${h.ipfixDropped}${h.collectorFlows !== undefined ? `; over all rounds both routers exported ${h.exportedAllRounds} and nfcapd counted ${h.collectorFlows} flows` : ''}`);
  }
  return res;
}

/** The routers' thread groups between two threadUse() snapshots (one per router, ROUTERS' order): CPU ms per Gbit and wake-ups per second. */
export function threadsPerGbit(before: readonly Map<string, ThreadUse>[], after: readonly Map<string, ThreadUse>[], gbit: number, seconds: number): Record<string, { msPerGbit: number; wakeupsPerS: number }> {
  const out: Record<string, { msPerGbit: number; wakeupsPerS: number }> = {};
  after.forEach((a, k) => {
    for (const [group, u] of a) {
      const b = before[k]?.get(group) ?? { ns: 0, sleeps: 0 };
      out[`${ROUTERS[k]} ${group}`] = { msPerGbit: (u.ns - b.ns) / 1e6 / gbit, wakeupsPerS: (u.sleeps - b.sleeps) / seconds };
    }
  });
  return out;
}

const formatThreads = (t: Record<string, { msPerGbit: number; wakeupsPerS: number }>): string =>
  Object.entries(t).map(([g, u]) => `${g} ${u.msPerGbit.toFixed(1)} ms ${Math.round(u.wakeupsPerS)}/s`).join(', ');

/** Markdown rows: each router thread group's CPU ms per Gbit and wake-ups per second during TCP, off and on, medians of the rounds. */
export function threadRows(rounds: readonly VisibilityRound[]): string[] {
  const groups = [...new Set(rounds.flatMap((r) => [...Object.keys(r.off.tcpThreads ?? {}), ...Object.keys(r.on.tcpThreads ?? {})]))].sort();
  if (groups.length === 0) return [];
  const cell = (side: 'off' | 'on', g: string, f: 'msPerGbit' | 'wakeupsPerS'): string => {
    const m = median(rounds.filter((r) => r[side].tcpThreads !== undefined).map((r) => r[side].tcpThreads![g]?.[f] ?? 0));
    return Number.isFinite(m) ? m.toFixed(f === 'msPerGbit' ? 1 : 0) : '–';
  };
  return ['| thread group | CPU ms per Gbit: off | on | wake-ups/s: off | on |', '|---|---|---|---|---|',
    ...groups.map((g) => `| ${g} | ${cell('off', g, 'msPerGbit')} | ${cell('on', g, 'msPerGbit')} | ${cell('off', g, 'wakeupsPerS')} | ${cell('on', g, 'wakeupsPerS')} |`)];
}

/** A round nothing disturbed (round-check.ts: failed sessions, different windows, a paced test that did not hold). */
export const cleanRound = (r: VisibilityRound): boolean => roundProblems(r.off, r.on, ['off', 'on']).length === 0;

/** Two runs' CPU accounts side by side as markdown rows: off, on, on − off, during the test and until settled. */
export function costRows(off: RunCpu | undefined, on: RunCpu | undefined): string[] {
  if (off === undefined || on === undefined) return [];
  const f = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(1));
  const cells = (k: string, w: 'during' | 'settled'): string => [off[w][k], on[w][k], (on[w][k] ?? NaN) - (off[w][k] ?? NaN)].map(f).join(' | ');
  return ['| where | off | on | on − off | until settled: off | on | on − off |', '|---|---|---|---|---|---|---|',
    ...Object.keys(on.during).map((k) => `| ${k} | ${cells(k, 'during')} | ${cells(k, 'settled')} |`)];
}

/** The history's write rate over the samples, next to the session rate. */
function historyRate(samples: readonly Stats[], sessions: SessionRate | undefined): HistoryRate {
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  let start: Stats | undefined;
  let end: Stats | undefined;
  for (let i = 1; i < samples.length; i++) {
    if (samples[i]!.written > samples[i - 1]!.written) {
      start ??= samples[i - 1]!;
      end = samples[i]!;
    }
  }
  const written = last.written - first.written;
  const busy = (last.busyMs - first.busyMs) / 1000;
  return {
    created: sessions?.createdR1 ?? last.created - first.created,
    createdPerSecond: sessions?.createdR1PerSecond ?? NaN,
    written,
    writtenPerSecond: busy > 0 ? written / busy : 0,
    writeSpanSeconds: start !== undefined && end !== undefined ? (end.at - start.at) / 1000 : 0,
    pendingAtEnd: last.pending,
    historyDropped: last.historyDropped - first.historyDropped,
    ipfixExported: last.exported - first.exported,
    ipfixDropped: last.ipfixDropped - first.ipfixDropped,
  };
}

/** r1's new sessions per second over the successive spans of at least 1 s between the samples from `from` to `to` (ms; a node slow to answer makes a span longer). */
export function perSecond(samples: readonly { at: number; created: number }[], from: number, to: number): number[] {
  const inside = samples.filter((s) => s.at >= from && s.at <= to);
  const out: number[] = [];
  let prev = inside[0];
  for (const s of inside) {
    if (prev !== undefined && s.at - prev.at >= 1000) {
      out.push(Math.round(((s.created - prev.created) * 1000) / (s.at - prev.at)));
      prev = s;
    }
  }
  return out;
}

/** nfcapd's stats lines, one per file it closed: `Ident: 'none' Flows: N, ...`, summed. */
function collectorFlows(log: string): number {
  try {
    return [...readFileSync(log, 'utf8').matchAll(/Flows: (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
  } catch {
    return 0;
  }
}

/** Relative cost of `on` against `off` (0.03 = 3 % less), or undefined. */
export function cost(off: number | undefined, on: number | undefined): number | undefined {
  return off === undefined || on === undefined || !(off > 0) ? undefined : (off - on) / off;
}

