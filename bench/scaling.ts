/**
 * Per-core scaling (issue 19 item 4): what a second data-path worker buys one router. r1 alone (SvrouterMode
 * .aloneR1: the service on a local next hop, r2 forwarding in the kernel) with `--workers 1`, then `--workers 2`,
 * rounds interleaved; load from the kernel side: TCP with parallel streams (iperf3 -P, a single stream lands on
 * one TUN queue, so one worker), UDP 1400 B with parallel flows at full speed (the delivered rate), and new
 * UDP and TCP sessions/s. For each figure the CPU of r1's process and of the whole machine (/proc/stat):
 * on 2 vCPUs the load generators, the kernel's forwarding and r1 share the cores, which is stated with the
 * figures rather than hidden: the cores left for r1 (what the rest did not take) bound what a second worker
 * can add (scalingRoom), and r1's CPU per batch shows what smaller batches cost.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { cpuSeconds } from './cpu.js';
import { tcpRun, udpTrial } from './iperf.js';
import { checkConnectivity } from './measure.js';
import { HEADLINE_NODE_ARGS, type SvrouterMode } from './modes/svrouter.js';
import type { ModeContext } from './modes/mode.js';
import type { Plan } from './plan.js';
import type { SessionRate } from './results.js';
import { heldSessionRate, sessionRate } from './sessions.js';
import { median } from './stats.js';
import { threadUse, type ThreadUse } from './thread-sched.js';

/** What the cores did during one measurement: r1's process (all threads) and the machine (all processes, kernel). */
export interface CoresUsed {
  /** r1's CPU seconds per second of the measurement (1 = one core) */
  r1: number;
  /** the machine's busy CPU seconds per second (out of `cores`) */
  machine: number;
  /** cores r1 could have used without taking CPU from anything else: all cores minus what the rest used (load generators, kernel, other work) */
  leftForR1?: number;
  /** batches r1's data path took from its interfaces per second (rx-batches) */
  batchesPerSecond?: number;
  /** packets one worker handed to another (consumed-handed-off) per packet r1's interfaces received */
  handedPerRx?: number;
  /** packets r1's interfaces received per batch its data path took from them (rx-packets / rx-batches) */
  packetsPerBatch?: number;
  /** r1's cores by thread: its main thread, the data-path workers (svr-worker-N), the TUN reader and writer threads, the rest (V8's helpers, libuv, records) */
  threads?: Record<R1Thread, number>;
}

export type R1Thread = 'main' | 'workers' | 'read' | 'write' | 'other';
export const R1_THREADS: readonly R1Thread[] = ['main', 'workers', 'read', 'write', 'other'];

/** Which of ours a threadUse() group is (its groups: main, the node's named threads, v8). */
function r1Thread(group: string): R1Thread {
  if (group === 'main') return 'main';
  if (group.startsWith('svr-worker-')) return 'workers';
  if (group === 'svr-tun-read') return 'read';
  if (group === 'svr-tun-write') return 'write';
  return 'other';
}

/** r1's cores by thread group between two threadUse() snapshots `s` seconds apart (a thread that ended in between is missing). */
function threadCores(before: Map<string, ThreadUse>, after: Map<string, ThreadUse>, s: number): Record<R1Thread, number> {
  const out: Record<R1Thread, number> = { main: 0, workers: 0, read: 0, write: 0, other: 0 };
  for (const [g, t] of after) out[r1Thread(g)] += (t.ns - (before.get(g)?.ns ?? 0)) / 1e9 / s;
  return out;
}

export interface ScalingRun {
  workers: number;
  round: number;
  /** the workers r1 reported running (svr show stats: node.workers) */
  reportedWorkers?: number;
  tcp?: { gbps: number; cores: CoresUsed };
  udp?: { kpps: number; sentKpps: number; lossPct: number; cores: CoresUsed };
  sessionsUdp?: SessionRate & { cores: CoresUsed };
  sessionsTcp?: SessionRate & { cores: CoresUsed };
  /** r1's sessions per worker at the end of the round (svr show stats: sessions-per-worker) */
  sessionsPerWorker?: number[];
}

export interface ScalingResult {
  /** when the case ran, and the load average (1, 5, 15 min) at its start and end: other work on the machine moves these figures */
  date?: string;
  loadAvg?: { start: number[]; end: number[] };
  /** parallel TCP connections and UDP flows */
  streams: number;
  seconds: number;
  runs: ScalingRun[];
  errors: string[];
}

/** Parallel flows: enough that the kernel's queue hash puts some on each of two TUN queues. */
export const SCALING_STREAMS = 8;
export const SCALING_WORKERS = [1, 2] as const;
export const SCALING_TARGET = 1.6;

/** Busy and total jiffies of all CPUs (/proc/stat "cpu" line; idle and iowait are not busy). */
function machineJiffies(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - f[3]! - f[4]!, total };
}

/** Hand-offs, packets and batches received so far (svr show stats counters); zeros when r1 does not answer. */
async function handoffs(svr: SvrouterMode): Promise<{ handed: number; rx: number; batches: number }> {
  const c = await svr.stats('r1').catch(() => ({} as Record<string, unknown>));
  const n = (k: string): number => (typeof c[k] === 'number' ? c[k] : 0);
  let rx = 0;
  for (const [k, v] of Object.entries(c)) if (/^interface\..*\.rx-packets$/.test(k) && typeof v === 'number') rx += v;
  return { handed: n('consumed-handed-off'), rx, batches: n('rx-batches') };
}

/** Runs `f` and measures what r1 (pid) and the whole machine used meanwhile, in cores, and r1's hand-offs. */
async function withCores<T>(svr: SvrouterMode, pid: number, cores: number, f: () => Promise<T>): Promise<T & { cores: CoresUsed }> {
  const h0 = await handoffs(svr);
  const t0 = process.hrtime.bigint();
  const c0 = cpuSeconds(pid);
  const th0 = threadUse(pid);
  const m0 = machineJiffies();
  const r = await f();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const m1 = machineJiffies();
  const th1 = threadUse(pid);
  const c1 = cpuSeconds(pid);
  const h1 = await handoffs(svr);
  const rx = h1.rx - h0.rx;
  const batches = h1.batches - h0.batches;
  const more = {
    ...(rx > 0 ? { handedPerRx: (h1.handed - h0.handed) / rx } : {}),
    ...(rx > 0 && batches > 0 ? { packetsPerBatch: rx / batches, batchesPerSecond: batches / s } : {}),
  };
  const r1 = (c1 - c0) / s;
  const machine = (cores * (m1.busy - m0.busy)) / Math.max(1, m1.total - m0.total);
  return { ...r, cores: { r1, machine, leftForR1: Math.max(r1, cores - (machine - r1)), ...more, threads: threadCores(th0, th1, s) } };
}

/** The ratio of a figure with 2 workers to 1 worker: medians over the rounds; undefined when either is missing. */
export function scalingRatio(r: ScalingResult, figure: (run: ScalingRun) => number | undefined): { one?: number; two?: number; ratio?: number } {
  const med = (w: number): number | undefined => {
    const xs = r.runs.filter((x) => x.workers === w).map(figure).filter((x): x is number => x !== undefined && Number.isFinite(x));
    return xs.length === 0 ? undefined : median(xs);
  };
  const one = med(1);
  const two = med(2);
  return { ...(one !== undefined ? { one } : {}), ...(two !== undefined ? { two } : {}), ...(one !== undefined && two !== undefined && one > 0 ? { ratio: two / one } : {}) };
}

export interface ScalingFigure {
  name: string;
  unit: string;
  value: (x: ScalingRun) => number | undefined;
  cores: (x: ScalingRun) => CoresUsed | undefined;
}

/** The figures compared, by name, with how to read each (and the cores it used) from a run. */
export const SCALING_FIGURES: readonly ScalingFigure[] = [
  { name: `TCP, ${SCALING_STREAMS} streams`, unit: 'Gbps', value: (x) => x.tcp?.gbps, cores: (x) => x.tcp?.cores },
  { name: `UDP 1400 B, ${SCALING_STREAMS} flows`, unit: 'kpps delivered', value: (x) => x.udp?.kpps, cores: (x) => x.udp?.cores },
  { name: 'new UDP sessions', unit: 'created/s', value: (x) => x.sessionsUdp?.createdR1PerSecond, cores: (x) => x.sessionsUdp?.cores },
  { name: 'new TCP sessions', unit: 'created/s', value: (x) => x.sessionsTcp?.createdR1PerSecond, cores: (x) => x.sessionsTcp?.cores },
];

/**
 * Whether a figure was measured on equal terms: with 1 worker, r1's cores and the cores left for it (medians over
 * the rounds). At the same CPU per unit a second worker can raise the figure at most by left ÷ used without taking
 * CPU from the load generators (which a higher rate needs more of, too): ×1.0 when the machine was already full.
 */
export function scalingRoom(r: ScalingResult, f: ScalingFigure): { used?: number; left?: number; room?: number } {
  const xs = r.runs.filter((x) => x.workers === 1).map(f.cores).filter((c): c is CoresUsed & { leftForR1: number } => c?.leftForR1 !== undefined);
  if (xs.length === 0) return {};
  const used = median(xs.map((c) => c.r1));
  const left = median(xs.map((c) => c.leftForR1));
  return { used, left, ...(used > 0 ? { room: left / used } : {}) };
}

export async function measureScaling(svr: SvrouterMode, ctx: ModeContext, plan: Plan): Promise<ScalingResult> {
  const cores = availableParallelism();
  const seconds = Math.max(3, Math.min(plan.tcpSeconds, 5));
  const rounds = plan.tcpRuns > 1 ? 2 : 1;
  const load = (): number[] => loadavg().map((x) => +x.toFixed(2));
  const out: ScalingResult = { date: new Date().toISOString(), loadAvg: { start: load(), end: [] }, streams: SCALING_STREAMS, seconds, runs: [], errors: [] };
  const p = ctx.progress;
  await svr.aloneR1(true);
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const workers of SCALING_WORKERS) {
        const run: ScalingRun = { workers, round };
        out.runs.push(run);
        const step = async (what: string, f: () => Promise<void>): Promise<void> => {
          try {
            await f();
          } catch (e) {
            out.errors.push(`${workers} worker(s), round ${round}, ${what}: ${(e as Error).message.split('\n')[0]}`);
            p(`    ! ${out.errors[out.errors.length - 1]}`);
          }
        };
        await step('start', async () => {
          await svr.restartR1Alone([...HEADLINE_NODE_ARGS, '--workers', String(workers)]);
          await checkConnectivity();
          const node = (await svr.stats('r1'))['node'] as { workers?: number } | undefined;
          if (node?.workers !== undefined) run.reportedWorkers = node.workers;
        });
        const pid = svr.proc('r1')?.pid;
        if (pid === undefined) continue;
        await step('tcp', async () => {
          const t = await withCores(svr, pid, cores, () => tcpRun(seconds, SCALING_STREAMS));
          run.tcp = { gbps: t.gbps, cores: t.cores };
        });
        await step('udp', async () => {
          const u = await withCores(svr, pid, cores, () => udpTrial(1400, 0, seconds, SCALING_STREAMS));
          run.udp = { kpps: u.recvPps / 1000, sentKpps: u.sentPps / 1000, lossPct: u.lossPct, cores: u.cores };
        });
        await step('sessions-udp', async () => {
          run.sessionsUdp = await heldSessionRate((w) => withCores(svr, pid, cores, () => sessionRate('udp', seconds, svr, p, ctx.udpLoad, ['r1'], w)), ctx.udpLoad, p);
        });
        await step('sessions-tcp', async () => { run.sessionsTcp = await withCores(svr, pid, cores, () => sessionRate('tcp', seconds, svr, p, undefined, ['r1'])); });
        await step('stats', async () => {
          const per = (await svr.stats('r1'))['sessions-per-worker'];
          if (Array.isArray(per)) run.sessionsPerWorker = per.map(Number);
        });
        const c = (x: { cores: CoresUsed } | undefined): string => (x === undefined ? '' : ` (r1 ${x.cores.r1.toFixed(2)} of ${x.cores.leftForR1?.toFixed(2) ?? '?'} left to it, machine ${x.cores.machine.toFixed(2)} cores`
          + `${x.cores.handedPerRx !== undefined ? `, ${x.cores.handedPerRx.toFixed(3)} handed over per packet in` : ''}`
          + `${x.cores.packetsPerBatch !== undefined ? `, ${x.cores.packetsPerBatch.toFixed(1)} packets per batch` : ''})`);
        p(`    ${workers} worker(s), round ${round}: tcp ${run.tcp?.gbps.toFixed(3) ?? '–'} Gbps${c(run.tcp)}; udp ${run.udp?.kpps.toFixed(1) ?? '–'} kpps${c(run.udp)}; `
          + `new udp ${Math.round(run.sessionsUdp?.createdR1PerSecond ?? NaN)}/s${c(run.sessionsUdp)}; new tcp ${Math.round(run.sessionsTcp?.createdR1PerSecond ?? NaN)}/s${c(run.sessionsTcp)}`);
        const per = (what: string, x: { cores: CoresUsed } | undefined, units: number | undefined, unit: string): string => {
          const t = x?.cores.threads;
          if (t === undefined || units === undefined || !(units > 0)) return '';
          const b = x!.cores.batchesPerSecond;
          const batches = b === undefined ? '' : `; ${(b / units).toPrecision(3)} batches/${unit}, ${(1e6 * x!.cores.r1 / b).toFixed(1)} µs/batch`;
          return `${what} ${(1e6 * x!.cores.r1 / units).toFixed(1)} µs/${unit} (${R1_THREADS.map((g) => `${g} ${(1e6 * t[g] / units).toFixed(1)}`).join(', ')}${batches})`;
        };
        p(`      r1 CPU per unit by thread: ${[per('tcp', run.tcp, run.tcp?.gbps, 'Gbit'), per('udp', run.udp, run.udp === undefined ? undefined : run.udp.kpps * 1000, 'packet'),
          per('new udp', run.sessionsUdp, run.sessionsUdp?.createdR1PerSecond, 'session'), per('new tcp', run.sessionsTcp, run.sessionsTcp?.createdR1PerSecond, 'session')].filter((x) => x !== '').join('; ')}`);
      }
    }
  } finally {
    out.loadAvg!.end = load();
    await svr.aloneR1(false);
  }
  for (const f of SCALING_FIGURES) {
    const r = scalingRatio(out, f.value);
    const room = scalingRoom(out, f);
    p(`    ${f.name}: 1 worker ${r.one?.toFixed(1) ?? '–'}, 2 workers ${r.two?.toFixed(1) ?? '–'} ${f.unit}: ×${r.ratio?.toFixed(2) ?? '–'}`
      + `${room.room === undefined ? '' : `; with 1 worker r1 used ${room.used!.toFixed(2)} of the ${room.left!.toFixed(2)} cores left to it: at most ×${room.room.toFixed(2)} without taking the load generators' CPU`}`);
  }
  return out;
}

/** Why the scaling case is not comparable (comparable.ts): failed steps, a worker count not running, overloads. */
export function scalingProblems(r: ScalingResult): string[] {
  const out = r.errors.map((e) => `step failed: ${e}`);
  for (const x of r.runs) {
    const at = `${x.workers} worker(s), round ${x.round}`;
    if (x.reportedWorkers !== undefined && x.reportedWorkers !== x.workers) out.push(`${at}: r1 reported ${x.reportedWorkers} data-path worker(s), not ${x.workers}`);
    for (const [name, s] of [['UDP', x.sessionsUdp], ['TCP', x.sessionsTcp]] as const) {
      const c = s?.client;
      if (c !== undefined && c.failed > 0.01 * c.attempted) out.push(`${at}: ${c.failed} of ${c.attempted} new ${name} sessions failed (more than 1 %${s?.overloaded !== undefined ? `, also with ${s.window} in flight` : ''}): an overload, not a rate`);
    }
    if (x.tcp !== undefined && !(x.tcp.gbps > 0)) out.push(`${at}: TCP delivered nothing`);
    if (x.udp !== undefined && !(x.udp.kpps > 0)) out.push(`${at}: UDP delivered nothing`);
  }
  for (const w of SCALING_WORKERS) {
    for (const f of SCALING_FIGURES) {
      if (scalingRatio(r, f.value)[w === 1 ? 'one' : 'two'] === undefined) out.push(`${f.name} with ${w} worker(s) was not measured: no ratio`);
    }
  }
  return out;
}
