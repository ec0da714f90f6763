/**
 * The HA case (svrouter, HMAC only; docs/high-availability.md): what a router pair costs and how fast it fails over.
 *   single  r1 one node (the headline config): TCP (iperf3) and new UDP sessions/s;
 *   pair    r1 as the active node r1a of a pair, its standby r1b in a namespace of its own (`<prefix>-r1b`, a
 *           sync veth to r1's namespace; the standby's devices are down, it forwards nothing), the same
 *           measurements back to back (r2 restarted on the pair's config too: same authority secret). During
 *           the session test r1a's `show ha` is sampled every second over its control socket (an `svr` process
 *           a second cost the shared vCPUs a fifth of the machine): the change lag (a session change marked in
 *           the data path to the standby's acknowledgement; p50/p99 from r1a's histogram over the test), rows
 *           waiting; afterwards the standby's replica must hold as many session rows as r1a has sessions
 *           (within 2 %).
 *   rounds  the TCP and the session tests alternate, one node and the pair, COST_ROUNDS times (SVR_BENCH_HA_ROUNDS,
 *           default 3; one TCP run of the plan's length per side and round; one node first in even rounds, the pair
 *           first in odd ones): each test's ratio per round, side by side; for each test the round of its median
 *           ratio (the session test: of those that did not break down) stands for the case (TCP in the first round
 *           only gave +5 % and -14.6 % on two quiet runs: one run per side, minutes apart). A round in which the
 *           standby took over (r1a applied a role change after the pair formed, or r1b is not standby at the end:
 *           a starved active, ha15) measured a failover: it is disturbed and left out of both medians. TCP also
 *           prints each router's CPU per Gbit (HA work on r1a would raise r1's, not r2's).
 *   cpu     from each session test's start until it settled (the pair: the standby holds every session r1a
 *           sent; ha-episode.ts), the CPU time of r1's main thread (control and, with one worker, the data path),
 *           of its other threads, of r2, of the standby r1b and of the bench, less their idle rate sampled for
 *           3 s just before (timers, reports, heartbeats, the sampler), and the whole machine's busy time:
 *           where a synced session's cost goes, per session created.
 *   failover  in one process (no TUN: the devices' part is measured by e2e/ha-pair, 20-90 ms): two pair
 *           nodes over a real UDP sync link on loopback, each with its own in-memory r1 (the example config);
 *           100 UDP sessions through the active, synced; the active stops (its heartbeats and sync end at once,
 *           as with SIGKILL); measured from then to the standby's role change, its rows installed, and the
 *           first reply of an existing session forwarded by it. 20 runs: p50 and p99.
 * A pair that does not form, a replica that does not match, or a failover that does not forward is an error
 * (the run is then not comparable, named "ha").
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { ipn, recordingSteps, run, sleep, spawnIn, stop, waitForLine, type Proc } from './exec.js';
import { request } from '../src/node/control-client.js';
import { cpuSeconds, groupSeconds, machineBusySeconds } from './cpu.js';
import { checkConnectivity, measureTcp } from './measure.js';
import type { ModeContext } from './modes/mode.js';
import { HEADLINE_NODE_ARGS, svrScript, type SvrouterMode } from './modes/svrouter.js';
import type { Plan } from './plan.js';
import type { SessionRate, TcpResult } from './results.js';
import { LOADED_CLIENT_WINDOW, sessionRate } from './sessions.js';
import { svrConfigYaml } from './svr-config.js';
import { NS, namePrefix, standbyNamespace } from './topology.js';
import { pacedCost, pacedRate, type PacedCost } from './paced-cost.js';
import { formatInterval, formatSpread, pacedCostRatio, pacedProcessUs, ratioVerdict, roundProblems, witnessRatio } from './round-check.js';
import { INJECTED_SHARE, injectedCost } from './injected-cost.js';
import { caseAddresses } from './session-load.js';
import { accountEpisode, idleRates, MACHINE, WALL } from './ha-episode.js';
import { buildCTool } from './udp-load.js';
import { createMemoryLab, type MemoryLab } from '../src/sim/memory-lab.js';
import { loadConfig } from '../src/model/validate.js';
import { PairNode } from '../src/ha/pair-node.js';
import { lagPercentile } from '../src/ha/sync-link.js';
import { HaSessions, SYNC_KIND_SESSION } from '../src/node/ha-sessions.js';
import type { Redundancy } from '../src/model/config.js';

const SYNC = { r1a: '198.18.251.1', r1b: '198.18.251.2' } as const;
export const FAILOVER_RUNS = 20;
/** rounds of one node then the pair (the session test): the ratio is taken per round, side by side */
export const COST_ROUNDS = Number(process.env['SVR_BENCH_HA_ROUNDS'] ?? 3);
/** SVR_BENCH_HA_PROFILE=DIR: r1 (one node, from round 2 on), r1a and the standby r1b run under node --cpu-prof, their
 *  profiles in DIR (r1-<round>, r1a-<round>, r1b-<round>.cpuprofile; profiling costs CPU, the ratio is then not the plain one) */
const PROFILE_DIR = process.env['SVR_BENCH_HA_PROFILE'];
const profiled = (name: string): string[] => PROFILE_DIR === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', PROFILE_DIR, '--cpu-prof-name', `${name}.cpuprofile`];
/** how long the routers' idle CPU rate is sampled before each session test (ms) */
const IDLE_SAMPLE_MS = 3000;
/** seconds of the session test that warms each run up (not measured) */
const WARM_UP_SECONDS = 2;
const FAILOVER_SESSIONS = 100;
const EXAMPLE_CONFIG = fileURLToPath(new URL('../../examples/configs/two-routers.yaml', import.meta.url));

/** CPU seconds spent from a session test's start until it settled (ha-episode.ts), above each process's idle rate
 *  (sampled just before). */
export interface HaCpu {
  /** from the test's start until settled, and of the test alone */
  seconds: number;
  testSeconds?: number;
  /** r1 (r1a in the pair): its main thread and its other threads (workers, libuv, V8) */
  r1Main: number;
  r1Other: number;
  /** of r1's other threads, V8's helpers (cpu.ts threadGroups: GC, the compilers) */
  r1V8?: number;
  r2: number;
  /** the standby r1b (all its threads; the pair only) */
  standby?: number;
  /** of the standby's, its main thread (where the sync link and the replica run) */
  standbyMain?: number;
  /** the machine's busy time, all cores (everything on it, other work included) */
  machine?: number;
  /** the bench process itself (its samplers; SVR_BENCH_INJECT's threads), above its idle rate */
  bench?: number;
}

export interface HaRun {
  tcp?: TcpResult;
  sessions?: SessionRate;
  cpu?: HaCpu;
  /** CPU per session at the case's fixed offered rate (paced-cost.ts), after the session test */
  paced?: PacedCost;
}

/** r1a's sync during the pair's session test (from `svr show ha`, sampled every second). */
export interface HaSync {
  /** the largest change lag seen (ms) and the last one */
  changeLagMaxMs: number;
  changeLagLastMs?: number;
  /** the change lag's median and 99th percentile over the test (the bound of its histogram bucket, ms) */
  changeLagP50Ms?: number;
  changeLagP99Ms?: number;
  /** the largest ack lag (a batch sent to its acknowledgement, ms) */
  ackLagMaxMs: number;
  /** the longest a change waited for its collection (ms) */
  waitMaxMs: number;
  /** the most rows left marked after a collection, and records pending on the link, in any sample */
  dirtyMax: number;
  pendingMax: number;
  upserts: number;
  deletes: number;
  collections: number;
  recordsSent: number;
  batchesSent: number;
  batchesResent: number;
  /** after the test settled: r1a's sessions and the standby's replicated session rows */
  activeSessions: number;
  replicaRows: number;
}

export interface FailoverRun {
  /** ms from the active's stop to: the standby active, its rows installed, the first reply of an existing session */
  detectMs: number;
  installedMs: number;
  firstPacketMs: number;
  installed: number;
}

export interface FailoverResult {
  runs: FailoverRun[];
  sessions: number;
  heartbeatMs: number;
  deadMs: number;
  p50Ms: number;
  p99Ms: number;
}

export interface HaRound {
  single: HaRun;
  pair: HaRun;
  /** the pair's new sessions/s over one node's */
  ratio: number;
  /** the pair's TCP throughput over one node's, this round */
  tcpRatio?: number;
  /** the routers' CPU per session at the fixed rate (the standby's too), pair / one node */
  costRatio?: number;
  /** the rate ratio the CPU per session alone would give (round-check.ts witnessRatio): what r1, r2, the standby and
   *  the bench spent more per session with the pair, against one node's machine busy µs per session (`witness`) or
   *  their own (`witnessLow`); the verdict's witness, two bounds */
  witness?: number;
  witnessLow?: number;
  /** what disturbed the round (round-check.ts): it is left out of the median and the case is not comparable */
  problems?: string[];
  /** the standby's CPU seconds during the pair's TCP run (all its threads) */
  standbyTcpCpu?: number;
  sync?: HaSync;
  /** what showed that the standby took over during the pair's tests (the round then measured a failover, not the
   *  pair's cost: left out of both medians) */
  tookOver?: string;
}

export interface HaResult {
  /** TCP of the round with the median TCP ratio; sessions and CPU of the round with the median session ratio */
  single: HaRun;
  pair: HaRun;
  /** the median of the rounds' TCP ratios (pair over one node) */
  tcpRatio?: number;
  rounds?: HaRound[];
  /** the paced tests' rate (new sessions/s) */
  pacedRate?: number;
  sync?: HaSync;
  failover?: FailoverResult;
  errors: string[];
}

interface HaShow {
  role: string;
  partnerRole?: string;
  /** role changes the node has applied since it started (a takeover or a yield adds to them) */
  roleChanges: number;
  /** the last role whose apply finished (`role` changes at the decision, ~60 ms before) */
  appliedRole?: string;
  replicaRecords: number;
  lag: { lastMs?: number; maxMs: number; pending: number; changeMs?: number; changeMaxMs: number; changeLagMs: number[] };
  sessions: { upserts: number; deletes: number; collections: number; maxWaitMs: number; dirtyLeft: number };
  counters: { recordsSent: number; batchesSent: number; batchesResent: number };
}

/** `svr show ha` of a node, asked over its control socket from this process: an `svr` process per sample would
 *  cost the shared 2 vCPUs a Node start each (~0.2 s of CPU) during the pair's session test only. */
async function showHa(socket: string): Promise<HaShow> {
  return await request(socket, { method: 'show', what: 'ha' }, 5000) as HaShow;
}

/** r1's active sessions (svr show stats). */
async function activeSessions(svr: SvrouterMode): Promise<number> {
  const s = await svr.stats('r1');
  return typeof s['sessions-active'] === 'number' ? s['sessions-active'] : NaN;
}

export async function measureHa(svr: SvrouterMode, ctx: ModeContext, plan: Plan): Promise<HaResult> {
  const progress = ctx.progress;
  const dir = join(ctx.dir, 'ha');
  mkdirSync(join(dir, 'run'), { recursive: true });
  const res: HaResult = { single: {}, pair: {}, rounds: [], errors: [] };
  const step = recordingSteps(res.errors, progress);
  /** one TCP run and the session test with its CPU (see the top); the standby's CPU seconds during the TCP run */
  const tcpPlan: Plan = { ...plan, tcpRuns: 1 };
  const rate = pacedRate();
  const tool = rate === undefined ? undefined : buildCTool(ctx.dir, 'session-load');
  const paced = tool?.path;
  if (tool !== undefined && paced === undefined) res.errors.push(`paced: bench/c/session-load.c: ${tool.reason}`);
  const inject = injectedCost();
  if (inject !== undefined) progress(`  ha: INJECTED: ${INJECTED_SHARE} of the machine's CPU during the pair's session tests`);
  /** `settled`: the pair's wait for the standby to hold every session (ha-episode.ts); one node's first read of its sessions */
  const both = async (r: HaRun, label: string, settled: () => Promise<void>, standbyPid?: number, afterTcp?: () => void): Promise<number | undefined> => {
    await checkConnectivity();
    const standby0 = standbyPid === undefined ? NaN : cpuSeconds(standbyPid);
    await step(`${label} tcp`, async () => { r.tcp = await measureTcp(svr, tcpPlan, progress); });
    const standbyTcp = standbyPid === undefined ? undefined : cpuSeconds(standbyPid) - standby0;
    if (standbyTcp !== undefined) progress(`    the standby r1b during the TCP run: ${standbyTcp.toFixed(2)} s of CPU`);
    afterTcp?.();
    // warm up as a node that has run a while (the session path's code compiled), both sides alike
    await step(`${label} warm-up`, async () => { await sessionRate('udp', WARM_UP_SECONDS, svr, () => undefined, ctx.udpLoad, ['r1', 'r2'], LOADED_CLIENT_WINDOW); });
    const pids = [svr.proc('r1')?.pid ?? NaN, svr.proc('r2')?.pid ?? NaN, standbyPid ?? NaN];
    const cpu = (): number[] => [performance.now() / 1000, cpuSeconds(pids[0]!, true), cpuSeconds(pids[0]!), cpuSeconds(pids[1]!), cpuSeconds(pids[2]!), machineBusySeconds(), cpuSeconds(process.pid),
      groupSeconds(pids[0]!, 'v8'), cpuSeconds(pids[2]!, true)];
    // the idle rate first (timers, reports, heartbeats, the `svr show ha` sampler): subtracted from the episode's
    const idle0 = cpu();
    await sleep(IDLE_SAMPLE_MS);
    const idle = idleRates(idle0, cpu());
    const test = (): Promise<SessionRate> => sessionRate('udp', plan.sessionSeconds, svr, progress, ctx.udpLoad, ['r1', 'r2'], LOADED_CLIENT_WINDOW);
    const e = await accountEpisode(cpu, idle, () => step(`${label} udp sessions`, async () => { r.sessions = await (standbyPid !== undefined && inject !== undefined ? inject.during(test) : test()); }), settled);
    const d = e.delta;
    r.cpu = { seconds: d[WALL]!, testSeconds: e.testSeconds, r1Main: d[1]!, r1Other: d[2]! - d[1]!, r1V8: d[7]!, r2: d[3]!, machine: d[MACHINE]!, bench: d[6]!, ...(standbyPid === undefined ? {} : { standby: d[4]!, standbyMain: d[8]! }) };
    const n = r.sessions?.createdR1 ?? NaN;
    const us = (x: number): string => `${((x * 1e6) / n).toFixed(1)}`;
    progress(`    cpu per session created (µs; above the idle rate, the test ${e.testSeconds.toFixed(1)} s and until settled ${e.settleSeconds.toFixed(1)} s more): r1 main ${us(d[1]!)}, r1 other threads ${us(d[2]! - d[1]!)} (V8's helpers ${us(d[7]!)}), r2 ${us(d[3]!)}`
      + `${standbyPid === undefined ? '' : `, standby ${us(d[4]!)} (${us(e.testDelta[4]!)} of it during the test; its main thread ${us(d[8]!)})`}, the bench ${us(d[6]!)}; the machine's busy time ${us(d[MACHINE]!)} (everything on it, load ${loadAverage()})`);
    if (paced !== undefined) {
      const procs = [{ name: 'svr-r1', pid: pids[0]! }, { name: 'svr-r2', pid: pids[1]! }, ...(standbyPid === undefined ? [] : [{ name: 'svr-r1b', pid: standbyPid }])];
      await step(`${label} paced`, async () => { r.paced = await pacedCost(paced, svr, rate!, plan.sessionSeconds, procs, () => sleep(1000), progress); });
    }
    return standbyTcp;
  };

  const ns = standbyNamespace();
  const veth = { a: `${namePrefix()}-hsa`, b: `${namePrefix()}-hsb` };
  const config = join(dir, 'authority-pair.yaml');
  writeFileSync(config, svrConfigYaml({ encrypt: false, pair: { ...SYNC, key: randomBytes(32).toString('base64') } }));
  const sockB = join(dir, 'r1b.sock');
  let standby: Proc | undefined;
  let onPairConfig = false;
  const pairDown = async (round: number): Promise<void> => {
    if (standby !== undefined) await stop(standby, 10_000);
    standby = undefined;
    const log = svr.proc('r1')?.log;
    for (const r of ['r1', 'r2'] as const) await svr.stopRouter(r);
    if (log !== undefined) copyFileSync(log, join(dir, `r1a-${round}.log`)); // the restart below writes r1's log anew
    await svr.start('r2', []);
    await svr.start('r1', profiled(`r1-${round + 2}`));
    onPairConfig = false;
  };
  try {
    if (paced !== undefined) await caseAddresses(true);
    await run('ip', ['netns', 'add', ns]);
    // a jumbo sync link (MTU 9000): a 32,000-byte sync datagram goes in 4 frames, not 22 (docs/high-availability.md "Sync link")
    await run('ip', ['link', 'add', veth.a, 'netns', NS.r1, 'mtu', '9000', 'type', 'veth', 'peer', 'name', veth.b, 'netns', ns, 'mtu', '9000']);
    await ipn(NS.r1, ['addr', 'add', `${SYNC.r1a}/30`, 'dev', veth.a]);
    await ipn(ns, ['addr', 'add', `${SYNC.r1b}/30`, 'dev', veth.b]);
    for (const [n, d] of [[NS.r1, veth.a], [ns, veth.b], [ns, 'lo']] as const) await ipn(n, ['link', 'set', d, 'up']);
    /** r1 one node (r1 and r2 on the headline config) */
    const runSingle = async (single: HaRun, round: number): Promise<void> => {
      progress(`  ha round ${round + 1} of ${COST_ROUNDS}: r1 one node (restarted: empty tables, as the pair's nodes start)`);
      await svr.restartWith();
      await svr.pathsUp();
      await both(single, 'single', async () => { await activeSessions(svr).catch(() => NaN); });
    };
    /** r1 a pair (r1, r2 and the standby on the pair's config), back to one node afterwards */
    const runPair = async (pair: HaRun, round: number): Promise<{ standbyTcpCpu?: number; sync?: HaSync; tookOver?: string }> => {
      progress(`  ha round ${round + 1} of ${COST_ROUNDS}: r1 a pair: r1a in ${NS.r1}, r1b in ${ns}, sync veth ${SYNC.r1a} - ${SYNC.r1b}`);
      // r2 too: the pair's config has its own authority secret (the path keys must agree)
      for (const r of ['r1', 'r2'] as const) await svr.stopRouter(r);
      onPairConfig = true;
      await svr.start('r2', [], HEADLINE_NODE_ARGS, config);
      await svr.start('r1', profiled(`r1a-${round + 1}`), [...HEADLINE_NODE_ARGS, '--ha-node', 'r1a'], config);
      standby = spawnIn(ns, 'svr-r1b', process.execPath, [...profiled(`r1b-${round + 1}`), svrScript(), 'node', 'start', ...HEADLINE_NODE_ARGS, '--config', config, '--name', 'r1', '--ha-node', 'r1b',
        '--socket', sockB, '--run-dir', join(dir, 'run'), '--data-dir', join(dir, `data-r1b-${round}`)], join(dir, `r1b-${round}.log`));
      await waitForLine(standby, /node\.running/, 20_000);
      const formed = await pairFormed(svr);
      await svr.pathsUp('r1a\'s path to r2 did not come up within 20 s of the pair forming');
      // r1a's `show ha` every second from the session test's warm-up on (not during TCP: the one node's run has no sampler)
      let sampling = true;
      const samples: HaShow[] = [];
      let sampler: Promise<void> | undefined;
      const startSampler = (): void => {
        sampler = (async () => {
          while (sampling) {
            const s = await showHa(svr.socket('r1')).catch(() => undefined);
            if (s !== undefined) samples.push(s);
            await sleep(1000);
          }
        })();
      };
      // the episode ends when the standby holds every session r1a sent (its applying runs on after the test)
      let sync: HaSync | undefined;
      const syncSettled = async (): Promise<void> => {
        sampling = false;
        await sampler;
        await step('pair sync', async () => { sync = await settle(svr, sockB, samples); });
      };
      const standbyTcpCpu = await both(pair, 'pair', syncSettled, standby.pid, startSampler);
      const tookOver = await tookOverSince(svr, sockB, formed);
      if (tookOver !== undefined) progress(`    ! the standby took over during the pair's tests (${tookOver}): this round measured a failover, not the pair's cost`);
      if (sync !== undefined) progress(`    sync under ${Math.round(pair.sessions?.createdR1PerSecond ?? 0)} sessions/s: change lag p50 <= ${sync.changeLagP50Ms ?? '-'} ms, p99 <= ${sync.changeLagP99Ms ?? '-'} ms, max ${sync.changeLagMaxMs.toFixed(1)} ms (ack ${sync.ackLagMaxMs.toFixed(1)}, waited for collection ${sync.waitMaxMs.toFixed(1)}), ${sync.upserts} rows and ${sync.deletes} removals in ${sync.collections} collections, ${sync.recordsSent} records in ${sync.batchesSent} datagrams, ${sync.batchesResent} resent; settled: ${sync.activeSessions} sessions on r1a, ${sync.replicaRows} rows on r1b`);
      await pairDown(round);
      return { ...(standbyTcpCpu === undefined ? {} : { standbyTcpCpu }), ...(sync === undefined ? {} : { sync }), ...(tookOver === undefined ? {} : { tookOver }) };
    };
    for (let round = 0; round < COST_ROUNDS; round++) {
      const single: HaRun = {};
      const pair: HaRun = {};
      // one node first in even rounds, the pair first in odd ones: a load that drifts during the run favours neither
      let p: { standbyTcpCpu?: number; sync?: HaSync; tookOver?: string };
      if (round % 2 === 0) {
        await runSingle(single, round);
        p = await runPair(pair, round);
      } else {
        p = await runPair(pair, round);
        await runSingle(single, round);
      }
      const ratio = (pair.sessions?.createdR1PerSecond ?? NaN) / (single.sessions?.createdR1PerSecond ?? NaN);
      const costRatio = pacedCostRatio(single, pair);
      const { high: witness, low: witnessLow } = haWitness(single, pair);
      const problems = roundProblems(single, pair, ['with r1 one node', 'with r1 a pair']);
      if (p.tookOver !== undefined) problems.push(`the standby took over during the pair's tests (${p.tookOver})`);
      const tcpRatio = (pair.tcp?.gbps.median ?? NaN) / (single.tcp?.gbps.median ?? NaN);
      // each router's CPU per Gbit too: HA work on r1a would raise r1's share, not r2's (r2 runs no HA code)
      const cpuPerGbit = (r: HaRun): string => `${r.tcp?.cpuSecondsPerGbit?.median.toFixed(3) ?? '-'} (r1 ${routerPerGbit(r, 'svr-r1', tcpPlan.tcpSeconds)}, r2 ${routerPerGbit(r, 'svr-r2', tcpPlan.tcpSeconds)})`;
      progress(`    round ${round + 1}: new sessions/s pair / one node = ${Math.round(pair.sessions?.createdR1PerSecond ?? 0)} / ${Math.round(single.sessions?.createdR1PerSecond ?? 0)} = ${ratio.toFixed(3)}`
        + `; TCP pair / one node = ${(pair.tcp?.gbps.median ?? 0).toFixed(3)} / ${(single.tcp?.gbps.median ?? 0).toFixed(3)} Gbps = ${tcpRatio.toFixed(3)}`
        + ` (routers' CPU s per Gbit ${cpuPerGbit(pair)} / ${cpuPerGbit(single)})`
        + `; the witness (the routers', the standby's and the bench's CPU per session until settled, pair − one node ${(ownedUs(pair) - ownedUs(single)).toFixed(1)} µs against the machine's ${perSessionUs(single, single.cpu?.machine).toFixed(1)} µs and their own ${ownedUs(single).toFixed(1)} µs one node) ${witnessLow.toFixed(3)}–${witness.toFixed(3)}`
        + `${rate === undefined ? '' : `; CPU µs per session at ${rate}/s pair / one node = ${pacedProcessUs(pair.paced).toFixed(1)} / ${pacedProcessUs(single.paced).toFixed(1)} = ${costRatio.toFixed(3)}`}`
        + `${problems.length > 0 ? `; DISTURBED: ${problems.join('; ')}` : ''}`);
      res.rounds!.push({ single, pair, ratio, tcpRatio, costRatio, witness, witnessLow, problems, ...p });
    }
    // TCP: the round of the median ratio stands for the case (a round in which the standby took over only if all did)
    const tcpRounds = res.rounds!.filter((r) => Number.isFinite(r.tcpRatio));
    const byTcp = (tcpRounds.some((r) => r.tookOver === undefined) ? tcpRounds.filter((r) => r.tookOver === undefined) : tcpRounds).sort((x, y) => x.tcpRatio! - y.tcpRatio!);
    const midTcp = byTcp[Math.floor((byTcp.length - 1) / 2)];
    if (midTcp !== undefined) {
      res.single.tcp = midTcp.single.tcp;
      res.pair.tcp = midTcp.pair.tcp;
      res.tcpRatio = midTcp.tcpRatio;
      progress(`    pair / one node, TCP, ${res.rounds!.length} rounds: ${res.rounds!.map((r) => `${r.tcpRatio!.toFixed(3)}${r.tookOver === undefined ? '' : ' (standby took over)'}`).join(', ')}; median of ${byTcp.length}: ${midTcp.tcpRatio!.toFixed(3)}`);
    }
    // the round of the median ratio stands for the case (its sessions, CPU and sync); a disturbed round
    // (round-check.ts: failed sessions, different windows, a paced test that did not hold) only if all were
    const clean = (r: HaRound): boolean => (r.problems ?? []).length === 0;
    const finite = res.rounds!.filter((r) => Number.isFinite(r.ratio));
    const byRatio = (finite.some(clean) ? finite.filter(clean) : finite).sort((x, y) => x.ratio - y.ratio);
    const mid = byRatio[Math.floor((byRatio.length - 1) / 2)];
    if (mid !== undefined) {
      Object.assign(res.single, { sessions: mid.single.sessions, cpu: mid.single.cpu, paced: mid.single.paced });
      Object.assign(res.pair, { sessions: mid.pair.sessions, cpu: mid.pair.cpu, paced: mid.pair.paced });
      res.sync = mid.sync;
      const cleanRounds = res.rounds!.filter(clean);
      const v = ratioVerdict(cleanRounds.map((r) => r.ratio), 0.9, cleanRounds.map((r) => r.witness ?? NaN), cleanRounds.map((r) => r.witnessLow ?? NaN));
      progress(`    pair / one node, new sessions/s, ${res.rounds!.length} rounds: ${res.rounds!.map((r) => `${r.ratio.toFixed(3)}${clean(r) ? '' : ' (disturbed)'}`).join(', ')}; median of ${byRatio.length}: ${mid.ratio.toFixed(3)}`
        + `; the clean pairs ${formatInterval(v.rate)}, their CPU witness ${formatInterval(v.witnessLow)} to ${formatInterval(v.witness)}: ${v.verdict} against 0.90${v.by === 'witness' ? ' (by the witness)' : ''}`
        + `${rate === undefined ? '' : `; CPU per session at ${rate}/s, pair / one node: ${formatSpread(res.rounds!.filter(clean).map((r) => r.costRatio ?? NaN))}`}`);
    }
  } catch (e) {
    res.errors.push(`pair: ${(e as Error).message.split('\n')[0]}`);
    progress(`    ! pair: ${(e as Error).message}`);
  } finally {
    await inject?.close();
    if (rate !== undefined) res.pacedRate = rate;
    if (paced !== undefined) await caseAddresses(false);
    if (onPairConfig) await pairDown(res.rounds!.length);
    await run('ip', ['netns', 'delete', ns]).catch(() => undefined);
  }
  await checkConnectivity();

  await step('failover', async () => { res.failover = await measureFailover(progress); });
  return res;
}

/** Waits (10 s at most) until r1a is active, its active role applied, and hears its partner standby; r1a's role
 *  changes then (read before the apply finished, the count rose by one later: a takeover that never was). */
async function pairFormed(svr: SvrouterMode): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    let why = '';
    const s = await showHa(svr.socket('r1')).catch((e: Error) => { why = e.message.split('\n')[0]!; return undefined; });
    if (s?.role === 'active' && s.appliedRole === 'active' && s.partnerRole === 'standby') return s.roleChanges;
    if (Date.now() > deadline) throw new Error(`the pair did not form within 10 s: r1a ${s?.role ?? why}, its partner ${s?.partnerRole ?? 'not heard'}`);
    await sleep(100);
  }
}

/** Whether the standby took over since the pair formed (r1a had applied `formedChanges` role changes then): r1a
 *  applied another role since (it yielded), or is no longer active, or r1b is not standby. What showed it, or undefined.
 *  ha15: a loaded host starves r1a for the dead time, r1b takes over, and the rest of the round is a failover's. */
async function tookOverSince(svr: SvrouterMode, sockB: string, formedChanges: number): Promise<string | undefined> {
  const a = await showHa(svr.socket('r1')).catch(() => undefined);
  const b = await showHa(sockB).catch(() => undefined);
  if (a === undefined || b === undefined) return `\`show ha\` did not answer on ${a === undefined ? 'r1a' : 'r1b'}`;
  if (a.role !== 'active' || b.role !== 'standby') return `r1a ${a.role}, r1b ${b.role}`;
  if (a.roleChanges !== formedChanges) return `r1a applied ${a.roleChanges - formedChanges} role change(s) after the pair formed`;
  return undefined;
}

/** A router's CPU seconds per Gbit in a TCP result (its run's CPU over the run's throughput and length), or '-'. */
function routerPerGbit(r: HaRun, proc: string, seconds: number): string {
  const cpu = r.tcp?.cpuByProcess?.[proc]?.[0];
  const gbps = r.tcp?.gbps.runs[0];
  return cpu === undefined || gbps === undefined || gbps <= 0 ? '-' : (cpu / (gbps * seconds)).toFixed(3);
}

/** µs per session r1 created of `seconds` of a run's session test. */
const perSessionUs = (r: HaRun, seconds: number | undefined): number => ((seconds ?? NaN) * 1e6) / (r.sessions?.createdR1 ?? NaN);

/** What a run's accounted processes spent per session (µs, above their idle rates): r1, r2, the standby, the bench. */
const ownedUs = (r: HaRun): number => perSessionUs(r, r.cpu === undefined ? undefined : r.cpu.r1Main + r.cpu.r1Other + r.cpu.r2 + (r.cpu.standby ?? 0) + (r.cpu.bench ?? 0));

/** A round's witness (round-check.ts witnessRatio), its two bounds: what the pair spent more against one node's machine µs per session (high) or its own (low). */
export function haWitness(single: HaRun, pair: HaRun): { high: number; low: number } {
  const delta = ownedUs(pair) - ownedUs(single);
  return { high: witnessRatio(perSessionUs(single, single.cpu?.machine), delta), low: witnessRatio(ownedUs(single), delta) };
}

const loadAverage = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ')[0]!;

/** After the session test: waits (10 s at most) until r1a has nothing waiting and the standby's replica holds its sessions. */
async function settle(svr: SvrouterMode, sockB: string, samples: readonly HaShow[]): Promise<HaSync> {
  if (samples.length === 0) throw new Error('no `svr show ha` sample of r1a during the session test');
  const deadline = Date.now() + 10_000;
  let a: HaShow;
  let b: HaShow;
  let sessions: number;
  for (;;) {
    a = await showHa(svr.socket('r1'));
    b = await showHa(sockB);
    sessions = await activeSessions(svr);
    // sessions keep idling out after the test and r1a's count is up to 1 s old (its data path's last report):
    // the replica matches within what a second of that changes, 2 % (or 50 rows)
    if (a.lag.pending === 0 && a.sessions.dirtyLeft === 0 && Math.abs(b.replicaRecords - sessions) <= Math.max(50, 0.02 * sessions)) break;
    if (Date.now() > deadline) throw new Error(`the standby's replica did not match within 2 %: r1a has ${sessions} sessions, ${a.lag.pending} records pending, ${a.sessions.dirtyLeft} rows waiting; r1b has ${b.replicaRecords} rows`);
    await sleep(250);
  }
  const all = [...samples, a];
  const max = (f: (s: HaShow) => number): number => Math.max(...all.map(f));
  const lags = a.lag.changeLagMs.map((n, i) => n - (samples[0]!.lag.changeLagMs[i] ?? 0));
  return {
    changeLagMaxMs: a.lag.changeMaxMs, changeLagLastMs: a.lag.changeMs, changeLagP50Ms: lagPercentile(lags, 50), changeLagP99Ms: lagPercentile(lags, 99),
    ackLagMaxMs: a.lag.maxMs, waitMaxMs: a.sessions.maxWaitMs,
    dirtyMax: max((s) => s.sessions.dirtyLeft), pendingMax: max((s) => s.lag.pending),
    upserts: a.sessions.upserts - samples[0]!.sessions.upserts, deletes: a.sessions.deletes - samples[0]!.sessions.deletes,
    collections: a.sessions.collections - samples[0]!.sessions.collections, recordsSent: a.counters.recordsSent - samples[0]!.counters.recordsSent,
    batchesSent: a.counters.batchesSent - samples[0]!.counters.batchesSent,
    batchesResent: a.counters.batchesResent - samples[0]!.counters.batchesResent, activeSessions: sessions, replicaRows: b.replicaRecords,
  };
}

const freePort = (address: string): Promise<number> => new Promise((resolve, reject) => {
  const s = createSocket('udp4');
  s.once('error', reject);
  s.bind(0, address, () => { const p = s.address().port; s.close(() => resolve(p)); });
});

async function until(f: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!f()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(2);
  }
}

const percentile = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

/** FAILOVER_RUNS failovers of an in-process pair (see the top). */
async function measureFailover(progress: (l: string) => void): Promise<FailoverResult> {
  const config = await loadConfig(EXAMPLE_CONFIG);
  const runs: FailoverRun[] = [];
  const heartbeatMs = 100;
  const misses = 3;
  for (let i = 0; i < FAILOVER_RUNS; i++) {
    const before = createMemoryLab({ config, clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
    const after = createMemoryLab({ config, clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
    const [pa, pb] = [await freePort('127.0.0.1'), await freePort('127.0.0.2')];
    const redundancy: Redundancy = {
      nodes: [{ name: 'r1a', priority: 200, syncAddress: '127.0.0.1' }, { name: 'r1b', priority: 100, syncAddress: '127.0.0.2' }],
      preempt: false, heartbeatInterval: heartbeatMs, heartbeatMisses: misses, syncPort: 0, sharedKey: randomBytes(32).toString('base64'), sharedAddresses: [],
    };
    const sa = new HaSessions(before.r1.host, () => {});
    const sb = new HaSessions(after.r1.host, () => {});
    const t: Partial<Record<'killed' | 'active' | 'installed' | 'reply', number>> = {};
    let installed = 0;
    let installFailed: string | undefined;
    const a = new PairNode({ redundancy, node: 'r1a', linksUp: () => 2, collect: (q, full) => sa.collect(q, full), ports: { local: pa, partner: pb } });
    const b: PairNode = new PairNode({
      redundancy, node: 'r1b', linksUp: () => 2, collect: (q, full) => sb.collect(q, full), ports: { local: pb, partner: pa },
      onRole: (p) => {
        if (p.role !== 'active' || t.killed === undefined) return;
        t.active = performance.now();
        sb.install(b.replica).then((r) => {
          installed = r.installed;
          t.installed = performance.now();
          after.clients[0]!.udpSend(42000, '198.18.3.20', 7, Buffer.from('after')); // the first packet of an existing session
        }).catch((e: unknown) => { installFailed = e instanceof Error ? e.message : String(e); });
      },
    });
    sa.bind(a);
    sb.bind(b);
    try {
      await a.start();
      await until(() => a.role === 'active', 3000, 'r1a active');
      await b.start();
      await until(() => b.role === 'standby', 3000, 'r1b standby');
      for (const lab of [before, after] as MemoryLab[]) lab.servers[0]!.udpBind(7, (data, from) => lab.servers[0]!.udpSend(7, from.address, from.port, data));
      let replies = 0;
      for (let k = 0; k < FAILOVER_SESSIONS; k++) {
        before.clients[0]!.udpBind(42000 + k, () => { replies++; });
        before.clients[0]!.udpSend(42000 + k, '198.18.3.20', 7, Buffer.from('before'));
      }
      await until(() => replies === FAILOVER_SESSIONS, 10_000, `${FAILOVER_SESSIONS} sessions answered through the active`);
      await until(() => b.replica.count(SYNC_KIND_SESSION) === FAILOVER_SESSIONS, 5000, 'the sessions on the standby');
      // r2 is one node: its rows as they are (the peer of a pair keeps its sessions)
      await after.r2.host.importSessions((await before.r2.host.collectSessionChanges(true)).rows);
      await Promise.all([after.r1.whenPathsUp(), after.r2.whenPathsUp()]); // the new active's path to r2 is up (BFD) as on a real standby
      after.clients[0]!.udpBind(42000, () => { t.reply ??= performance.now(); });
      t.killed = performance.now();
      a.stop();
      await until(() => t.reply !== undefined || installFailed !== undefined, 5000, `run ${i + 1}: the first reply through the new active`);
      if (installFailed !== undefined) throw new Error(`run ${i + 1}: the new active did not install the partner's rows: ${installFailed}`);
      const ids = new Set((await before.r1.sessions()).map((s) => s.id));
      const same = (await after.r1.sessions()).filter((s) => ids.has(s.id)).length;
      if (same !== FAILOVER_SESSIONS) throw new Error(`run ${i + 1}: the new active has ${same} of the ${FAILOVER_SESSIONS} session ids`);
      runs.push({ detectMs: t.active! - t.killed, installedMs: t.installed! - t.killed, firstPacketMs: t.reply! - t.killed, installed });
    } finally {
      a.stop();
      b.stop();
      await before.close();
      await after.close();
    }
  }
  const first = runs.map((r) => r.firstPacketMs);
  const res: FailoverResult = { runs, sessions: FAILOVER_SESSIONS, heartbeatMs, deadMs: heartbeatMs * misses, p50Ms: percentile(first, 50), p99Ms: percentile(first, 99) };
  progress(`    failover (${FAILOVER_RUNS} runs, in process, ${FAILOVER_SESSIONS} sessions, dead time ${res.deadMs} ms): first forwarded packet p50 ${res.p50Ms.toFixed(1)} ms, p99 ${res.p99Ms.toFixed(1)} ms; detection p50 ${percentile(runs.map((r) => r.detectMs), 50).toFixed(1)} ms, rows installed p50 ${percentile(runs.map((r) => r.installedMs), 50).toFixed(1)} ms`);
  return res;
}
