/**
 * The full-table case (issue 19, item 2; svrouter HMAC only): TCP throughput and RTT with 0, 100,000 and
 * 1,000,000 established sessions in both routers' tables (0 and 100,000 with --quick), in interleaved rounds:
 *   empty, 100 k, 1 M | empty, 100 k, 1 M | empty, 100 k, 1 M | empty
 * each round starting from both routers restarted with empty tables, so every fill is measured between two
 * empty tables and a host that drifts during the case lands on both sides of each ratio (full-table-report.ts:
 * a fill's ratio per round against the mean of the empty tables around it; the median of the rounds, their
 * spread, and "not settled" when the rounds straddle the goal). Then the first-packet cost with 10 and
 * 100,000 RIB routes in process, in several processes (bench/routing.ts --first-packet-json).
 *   fill  the C client (bench/c/session-load.c) opens answered UDP sessions on new 5-tuples (512 in flight)
 *         until both routers hold the target (at most 4 passes; sessions active from the control socket);
 *         the bench config with a UDP idle timeout of an hour;
 *   at each point  a 1 s TCP warm-up (not counted: a restarted node and a node just past a fill start equal),
 *         one TCP run (iperf3), then, once every TUN queue of both routers reads in poll mode again, the RTT runs
 *         (the C ping; the routers' CPU per round trip by thread), each router's RSS and sessions active.
 *         Right after a transfer its queues still read in thread mode for 0.5 s or more (src/io/tun/reader-mode.ts:
 *         five calm ticks), where a round trip waits for the reader thread and its gather window: a ping run
 *         started there measured that tail (how much of it each point caught), not the table.
 * A fill that is not reached, or sessions that leave the table while measured, make the case not comparable.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from '../src/node/control-client.js';
import { recordingSteps } from './exec.js';
import { tcpRun } from './iperf.js';
import { checkConnectivity, measureRtt, measureTcp } from './measure.js';
import type { ModeContext } from './modes/mode.js';
import type { RouterName, SvrouterMode } from './modes/svrouter.js';
import type { Plan } from './plan.js';
import type { RttResult, TcpResult } from './results.js';
import { caseAddresses, udpSessions, UDP_TUPLES } from './session-load.js';
import { snapshotDir } from './snapshot.js';
import { median } from './stats.js';
import { svrConfigYaml } from './svr-config.js';
import { buildCTool } from './udp-load.js';

/** UDP idle timeout while the tables are full, s: nothing expires during the case. */
const FULL_TABLE_IDLE_S = 3600;
const ROUTERS: readonly RouterName[] = ['r1', 'r2'];
/** sessions in flight while filling: 2,048 flooded the loaded machine (BFD took the path down, r1 counted
 * drop-no-route and drop-bad-hmac, 87 % of a 100,000 fill went unanswered) */
const FILL_WINDOW = 512;
/** a fill counts as reached at this share of its target, on both routers */
const REACHED = 0.99;
/** longest wait for the routers' TUN queues to read in poll mode again before the RTT runs */
const POLL_WAIT_MS = 5_000;

export interface TableFill {
  /** sessions asked for in each table; 0 = empty */
  target: number;
  /** what and which round: 'empty, round 2', '100,000 sessions, round 2', 'empty, after' */
  label: string;
  /** the round (1-based); the empty table after the last round has the last round's number + 1 */
  round?: number;
  /** sessions active before and after the measurements, per router */
  active: Record<string, [number, number]>;
  rssBytes: Record<string, number>;
  /** seconds the fill took, and the sessions/s it opened (answered) */
  fillSeconds?: number;
  fillPerSecond?: number;
  /** each pass of the fill: the client's counts and the sessions active on each router after it */
  rounds?: { attempted: number; ok: number; failed: number; seconds: number; active: Record<string, number> }[];
  /** each router's drop counters (since its start) once the fill was done */
  drops?: Record<string, Record<string, number>>;
  tcp?: TcpResult;
  rtt?: RttResult;
  /** ms from the end of the TCP run until every TUN queue of both routers read in poll mode (the RTT starts then) */
  pollWaitMs?: number;
  /** reader mode switches of each router's TUN queues during the RTT runs (0: every round trip in poll mode) */
  rttReaderSwitches?: Record<string, number>;
}

export interface FirstPacketCost {
  smallRoutes: number;
  fullRoutes: number;
  /** CPU ns per first packet in the median batch of each (the median of the processes) */
  smallNs: number;
  fullNs: number;
  /** the median of the processes' medians over interleaved batch pairs of full ÷ small */
  medianRatio: number;
  /** interleaved batch pairs per process (bench/paired-batches.ts) */
  pairs: number;
  /** each process's median ratio (a process can land on a slower or faster layout as a whole) */
  processRatios?: number[];
}

export interface FullTableResult {
  fills: TableFill[];
  firstPacket?: FirstPacketCost;
  errors: string[];
}

const stats = async (svr: SvrouterMode, r: RouterName): Promise<Record<string, unknown>> =>
  await request(svr.socket(r), { method: 'show', what: 'stats' }, 10_000) as Record<string, unknown>;

async function active(svr: SvrouterMode, r: RouterName): Promise<{ active: number; limit: number; drops: Record<string, number> }> {
  const s = await stats(svr, r);
  const drops = Object.fromEntries(Object.entries(s).filter((e): e is [string, number] => e[0].startsWith('drop') && typeof e[1] === 'number' && e[1] > 0));
  return { active: Number(s['sessions-active']), limit: Number(s['sessions-limit']), drops };
}

/** The TUN queues of a router's `show stats` (its `interfaces`): whether each reads in poll mode, and their reader
 *  mode switches so far. */
export function readerModes(s: Record<string, unknown>): { polling: boolean; switches: number } {
  const ifs = Array.isArray(s['interfaces']) ? s['interfaces'] as Record<string, unknown>[] : [];
  return { polling: ifs.every((i) => i['readerMode'] !== 'thread'), switches: ifs.reduce((a, i) => a + Number(i['readerModeSwitches'] ?? 0), 0) };
}

/** Waits until both routers read every TUN queue in poll mode (at most POLL_WAIT_MS); ms waited and the switches so far. */
async function untilPolling(svr: SvrouterMode): Promise<{ waitedMs: number; switches: number[] }> {
  const t0 = Date.now();
  for (;;) {
    const modes = (await Promise.all(ROUTERS.map((r) => stats(svr, r)))).map(readerModes);
    if (modes.every((m) => m.polling) || Date.now() - t0 > POLL_WAIT_MS) return { waitedMs: Date.now() - t0, switches: modes.map((m) => m.switches) };
    await new Promise((res) => setTimeout(res, 50));
  }
}

function rss(svr: SvrouterMode, r: RouterName): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${svr.proc(r)!.pid}/status`, 'utf8'));
    return m === null ? NaN : Number(m[1]) * 1024;
  } catch {
    return NaN;
  }
}

/** The fills of each round, after its empty table. */
export function fillTargets(plan: Plan): number[] {
  return plan.tcpRuns > 1 ? [100_000, 1_000_000] : [100_000];
}

/** Rounds of empty table and fills (one TCP and one RTT run at each point): SVR_BENCH_TABLE_ROUNDS, else the plan's TCP runs. */
export function tableRounds(plan: Plan): number {
  return Number(process.env['SVR_BENCH_TABLE_ROUNDS'] ?? plan.tcpRuns);
}

/** Processes of bench/routing.ts --first-packet-json. */
export function firstPacketProcesses(plan: Plan): number {
  return plan.tcpRuns > 1 ? 3 : 1;
}

export async function measureFullTable(svr: SvrouterMode, ctx: ModeContext, plan: Plan): Promise<FullTableResult> {
  const progress = ctx.progress;
  const res: FullTableResult = { fills: [], errors: [] };
  const step = recordingSteps(res.errors, progress);
  const tool = buildCTool(ctx.dir, 'session-load');
  if (tool.path === undefined) throw new Error(`bench/c/session-load.c: ${tool.reason}`);
  const bin = tool.path;
  const config = join(ctx.dir, 'authority-full-table.yaml');
  writeFileSync(config, svrConfigYaml({ encrypt: false, udpIdleTimeoutS: FULL_TABLE_IDLE_S }));
  const once: Plan = { ...plan, tcpRuns: 1 };
  let nextTuple = 0;
  const measureAt = async (target: number, round: number, label: string): Promise<void> => {
    const f: TableFill = { target, label, round, active: {}, rssBytes: {} };
    res.fills.push(f);
    await step(`${label}: fill to ${target}`, async () => {
      const t0 = Date.now();
      let opened = 0;
      for (let pass = 0; pass < 4; pass++) {
        const now = await Promise.all(ROUTERS.map((r) => active(svr, r)));
        if (now.some((x) => x.limit < target)) throw new Error(`the session table's limit is ${Math.min(...now.map((x) => x.limit))}, below ${target}`);
        const need = target - Math.min(...now.map((x) => x.active));
        if (need <= (1 - REACHED) * target) break;
        if (nextTuple + need > UDP_TUPLES) throw new Error(`the client has ${UDP_TUPLES} distinct 5-tuples, ${nextTuple + need} needed`);
        const r = await udpSessions(bin, { seconds: 600, rate: 0, window: FILL_WINDOW, count: need, first: nextTuple });
        nextTuple += need;
        opened += r.ok;
        const after = await Promise.all(ROUTERS.map((x) => active(svr, x)));
        (f.rounds ??= []).push({ attempted: r.attempted, ok: r.ok, failed: r.failed, seconds: r.seconds, active: Object.fromEntries(ROUTERS.map((x, k) => [x, after[k]!.active])) });
        progress(`    fill pass ${pass + 1}: ${r.ok} answered, ${r.failed} failed of ${r.attempted} in ${r.seconds.toFixed(1)} s; sessions active ${ROUTERS.map((x, k) => `${x} ${after[k]!.active}`).join(', ')}`);
      }
      const now = await Promise.all(ROUTERS.map((r) => active(svr, r)));
      f.drops = Object.fromEntries(ROUTERS.map((r, k) => [r, now[k]!.drops]));
      if (target > 0) {
        f.fillSeconds = (Date.now() - t0) / 1000;
        f.fillPerSecond = opened / f.fillSeconds;
      }
      if (now.some((x) => x.active < REACHED * target)) throw new Error(`the fill was not reached: ${ROUTERS.map((r, k) => `${r} ${now[k]!.active}`).join(', ')} sessions active of ${target}`);
    });
    const before = await Promise.all(ROUTERS.map((r) => active(svr, r)));
    ROUTERS.forEach((r) => (f.rssBytes[r] = rss(svr, r)));
    progress(`    ${label}: ${ROUTERS.map((r, k) => `${r} ${before[k]!.active} sessions, RSS ${(f.rssBytes[r]! / 2 ** 20).toFixed(0)} MiB`).join('; ')}`);
    await step(`${label}: tcp`, async () => {
      await tcpRun(1);
      f.tcp = await measureTcp(svr, once, progress);
    });
    await step(`${label}: rtt`, async () => {
      const polling = await untilPolling(svr);
      f.pollWaitMs = polling.waitedMs;
      f.rtt = await measureRtt(plan, progress, ctx.udpLoad, svr.routerProcs());
      const after = (await Promise.all(ROUTERS.map((r) => stats(svr, r)))).map(readerModes);
      f.rttReaderSwitches = Object.fromEntries(ROUTERS.map((r, k) => [r, after[k]!.switches - polling.switches[k]!]));
      progress(`    ${label}: the TUN queues read in poll mode ${f.pollWaitMs} ms after the TCP run; reader mode switches during the RTT runs: ${ROUTERS.map((r) => `${r} ${f.rttReaderSwitches![r]}`).join(', ')}`);
    });
    const after = await Promise.all(ROUTERS.map((r) => active(svr, r)));
    ROUTERS.forEach((r, k) => (f.active[r] = [before[k]!.active, after[k]!.active]));
    if (target > 0 && after.some((x) => x.active < REACHED * target)) {
      res.errors.push(`${label}: sessions left the table while measured: ${ROUTERS.map((r, k) => `${r} ${after[k]!.active}`).join(', ')} of ${target}`);
    }
  };
  await caseAddresses(true);
  try {
    const rounds = tableRounds(plan);
    for (let round = 1; round <= rounds + 1; round++) {
      // empty tables again: the 5-tuples of the rounds before are new to the restarted routers
      await svr.restartWith(config);
      await checkConnectivity();
      nextTuple = 0;
      await measureAt(0, round, round > rounds ? 'empty, after' : `empty, round ${round}`);
      if (round > rounds) break;
      for (const target of fillTargets(plan)) await measureAt(target, round, `${target.toLocaleString('en-US')} sessions, round ${round}`);
    }
  } finally {
    await caseAddresses(false);
  }
  // back on the headline config; a node that does not start in time is this case's error, its figures stay
  await step('restart on the bench config', () => svr.restartWith());
  await step('first packet with 10 and 100,000 routes', async () => {
    const runs = Array.from({ length: firstPacketProcesses(plan) }, () => firstPacketCost(snapshotDir(ctx.dir), plan));
    const ratios = runs.map((r) => r.medianRatio);
    res.firstPacket = { ...runs[0]!, smallNs: median(runs.map((r) => r.smallNs)), fullNs: median(runs.map((r) => r.fullNs)), medianRatio: median(ratios), processRatios: ratios };
    progress(`    first packet, 100,000 routes ÷ 10, each process's median of ${runs[0]!.pairs} pairs: ${ratios.map((r) => r.toFixed(3)).join(', ')}`);
  });
  return res;
}

/** bench/routing.ts --first-packet-json, in process (no TUN): CPU ns per first packet with a small and a full RIB. */
function firstPacketCost(snap: string, plan: Plan): FirstPacketCost {
  const args = ['--expose-gc', join(snap, 'dist', 'bench', 'routing.js'), '--first-packet-json', ...(plan.tcpRuns > 1 ? [] : ['--quick'])];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`routing.js --first-packet-json failed: ${(r.stderr || r.error?.message || '').trim().split('\n').slice(-2).join(' / ')}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as FirstPacketCost;
}
