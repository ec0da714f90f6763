/**
 * The hub case (`--case hub`, issue 19 item 3): one real hub router (`svr node` in its own namespace) and its
 * spokes simulated by one process that speaks the real path control protocol on real sockets (spokes.ts:
 * BFD, link tests, MTU answers, STEP acknowledgements, one UDP socket per spoke waypoint), over a veth.
 *
 *   1. one spoke (2 paths): the hub's RSS once both paths are up; the failure-detection time of a path, 3 times
 *      (the simulator silences it; from its last BFD packet to the hub's `path.unusable ... detection-time-expired`)
 *   2. `spokes` spokes (2 paths each), default timers: time until every path is usable on the hub (the case fails
 *      when they are not all up within READY_MS); after SETTLE_MS, the hub's CPU over CPU_WINDOW_MS from
 *      /proc (process and main thread; no path may go down meanwhile); RSS per peer = (RSS - RSS with one
 *      spoke) / (spokes - 1); then path 1 of FAIL_SPOKES spokes silenced at once: every one must be declared down
 *      within one detection time of the silence, none of the others may go down, and each one's detection time
 *      (last BFD packet -> down) is compared with the single spoke's.
 * The hub runs with the benchmark's headline flags (--busy-poll 0). Namespaces `<prefix>-hub` and `<prefix>-spk`,
 * made and deleted here; processes stopped by pid. The spokes' veth end receives in a kernel thread of its own
 * (threaded NAPI, `threadSpokeRx`): the simulator's socket delivery is not charged to the hub's writes.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { procStat } from './cpu.js';
import { ipn, logText, run, runIn, sleep, spawnIn, stop, waitForLine, type Proc } from './exec.js';
import { HUB_NAME, HUB_WAYPOINTS, hubConfigYaml, SPOKE_NET, spokeWaypoint } from './hub-config.js';
import { HEADLINE_NODE_ARGS, svrScript } from './modes/svrouter.js';
import { summarizeProfile, type ProfileSummary } from './profile.js';
import { formatThreadUse, threadUse, threadUsePer } from './thread-sched.js';
import { listNamespaces, namePrefix, sysctl } from './topology.js';

export const HUB_SPOKES = 1000;
export const FAIL_SPOKES = 100;
/** default timers: Detect Mult 3 x max(500 ms RequiredMinRx, 1000 ms DesiredMinTx) (docs/paths.md) */
export const DETECTION_TIME_MS = 3000;
export const CPU_TARGET_PCT = 10;
const READY_MS = 240_000;
const SETTLE_MS = 15_000;
const CPU_WINDOW_MS = 30_000;
const ONE_PEER_TRIALS = 3;
const HUB_LINK = { hub: '198.18.250.1', spokes: '198.18.250.2' } as const;
const CLK_TCK = 100;

export interface HubResult {
  spokes: number;
  paths: number;
  /** what the simulated spokes do with STEP: acknowledge the hub's documents (and publish none), or publish theirs too */
  spokeStep: 'acknowledge' | 'publish';
  hubFlags: string[];
  loadAvgAtStart: number[];
  /** from the simulator's start to the last path usable on the hub */
  allUpAfterMs?: number;
  cpu?: {
    windowS: number; pctOfCore: number; userPct: number; sysPct: number; mainThreadPct: number; loadAvg: number[];
    /** the spokes' receive thread (threaded NAPI on their veth end): the simulator's kernel work, not the hub's */
    spokeRxPct?: number;
    /** the hub's threads by group (thread-sched.ts: main, svr-tun-read, v8, ...): CPU µs and sleeps per simulator event */
    perEvent?: Record<string, { cpuUs: number; sleeps: number }>;
  };
  /** the spokes' veth end received in a kernel thread of its own (false: SVR_BENCH_HUB_NAPI=0, the hub's writes delivered into the simulator's sockets) */
  spokeRxThreaded?: boolean;
  /** path downs on the hub while the CPU was measured (must be 0) */
  downsDuringCpu?: number;
  /** control messages the simulator exchanged per second during the CPU window (both ways) */
  messagesPerSecond?: number;
  rss?: { oneSpokeBytes: number; hubBytes: number; perPeerBytes: number };
  /** detection time per trial with one spoke: its last BFD packet -> the hub's path.unusable */
  onePeerDetectionMs?: number[];
  failure?: {
    silenced: number;
    declaredDown: number;
    /** silence -> last of them declared down */
    allDownAfterMs: number;
    /** per path: its last BFD packet -> declared down */
    detectionMs: { min: number; median: number; max: number };
    /** other paths that went down meanwhile */
    collateralDowns: number;
  };
  /** with HubOptions.profile: the hub's main thread from the CPU window on */
  profile?: ProfileSummary;
  /** what makes this run not comparable (the case names it and the run exits non-zero) */
  problems: string[];
  errors: string[];
}

interface PathEvent { atMs: number; path: string; usable: boolean; reason: string }

/** `path.usable` / `path.unusable` lines of the hub's text log (node/log.ts). */
export function pathEvents(log: string): PathEvent[] {
  const out: PathEvent[] = [];
  for (const m of log.matchAll(/^(\S+) \S+ path\.(usable|unusable) path=(\S+) bfd=\S+ reason=(\S+)/gm)) {
    out.push({ atMs: Date.parse(m[1]!), usable: m[2] === 'usable', path: m[3]!, reason: m[4]! });
  }
  return out;
}

/** Paths usable now according to the log (the last event of each). */
function usableNow(events: readonly PathEvent[]): Set<string> {
  const last = new Map<string, boolean>();
  for (const e of events) last.set(e.path, e.usable);
  return new Set([...last].filter(([, u]) => u).map(([p]) => p));
}

/** utime + stime of a process or thread, in ticks. */
function cpuTicks(pid: number, tid?: number): { user: number; sys: number } {
  const f = procStat(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`).fields;
  return { user: Number(f[11]), sys: Number(f[12]) };
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

const load = (): number[] => loadavg().map((x) => +x.toFixed(2));
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Lab { hubNs: string; spokesNs: string; dir: string; spokeRxTid?: number }

/** kernel threads of threaded NAPI on a device named `dev` (any namespace): `napi/<dev>-<id>` */
function napiThreads(dev: string): Set<number> {
  const out = new Set<number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/comm`, 'utf8').startsWith(`napi/${dev}-`)) out.add(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

/**
 * The spokes' veth end receives in a kernel thread of its own (GRO on makes veth use NAPI; threaded NAPI runs its
 * poll in `napi/spk0-<id>`), as a real hub's NIC ends its transmit at the wire. Without it every control packet
 * the hub writes to its TUN is also delivered into the simulator's socket within the hub's system call (early
 * demux, a local route among 2,000 addresses, the socket's wake-up: about half of the write's kernel time,
 * docs/performance.md "Hub control CPU per event"). SVR_BENCH_HUB_NAPI=0: the old way. Returns the thread's id.
 */
async function threadSpokeRx(lab: Lab): Promise<number | undefined> {
  if (process.env['SVR_BENCH_HUB_NAPI'] === '0') return undefined;
  const before = napiThreads('spk0');
  // veth takes its NAPI way only for packets from a sender without TSO (or from a local socket: forwarded ones are not)
  await runIn(lab.hubNs, 'ethtool', ['-K', 'hub0', 'tso', 'off']);
  await runIn(lab.spokesNs, 'ethtool', ['-K', 'spk0', 'gro', 'on']);
  await runIn(lab.spokesNs, process.execPath, ['-e', "require('node:fs').writeFileSync('/sys/class/net/spk0/threaded', '1')"]);
  const tid = [...napiThreads('spk0')].find((t) => !before.has(t));
  if (tid === undefined) throw new Error('no NAPI thread for spk0 after `threaded` (SVR_BENCH_HUB_NAPI=0 runs without)');
  await run('renice', ['-n', '-10', '-p', String(tid)]); // as the hub and the simulator run (docs/performance.md)
  return tid;
}

async function createLab(dir: string, spokes: number): Promise<Lab> {
  const lab: Lab = { hubNs: `${namePrefix()}-hub`, spokesNs: `${namePrefix()}-spk`, dir };
  const existing = await listNamespaces();
  for (const ns of [lab.hubNs, lab.spokesNs]) if (existing.includes(ns)) throw new Error(`namespace ${ns} exists (another run?): delete it with \`ip netns del ${ns}\``);
  for (const ns of [lab.hubNs, lab.spokesNs]) {
    await run('ip', ['netns', 'add', ns]);
    await ipn(ns, ['link', 'set', 'lo', 'up']);
  }
  await sysctl(lab.hubNs, ['net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0']);
  await ipn(lab.hubNs, ['link', 'add', 'hub0', 'type', 'veth', 'peer', 'name', 'spk0', 'netns', lab.spokesNs]);
  await ipn(lab.hubNs, ['addr', 'add', `${HUB_LINK.hub}/30`, 'dev', 'hub0']);
  await ipn(lab.spokesNs, ['addr', 'add', `${HUB_LINK.spokes}/30`, 'dev', 'spk0']);
  await ipn(lab.hubNs, ['link', 'set', 'hub0', 'up']);
  await ipn(lab.spokesNs, ['link', 'set', 'spk0', 'up']);
  const spokeRxTid = await threadSpokeRx(lab);
  if (spokeRxTid !== undefined) lab.spokeRxTid = spokeRxTid;
  await ipn(lab.hubNs, ['route', 'add', SPOKE_NET, 'via', HUB_LINK.spokes]);
  for (const w of HUB_WAYPOINTS) await ipn(lab.spokesNs, ['route', 'add', `${w}/32`, 'via', HUB_LINK.hub]);
  const batch = join(dir, 'spoke-addresses.batch');
  const lines: string[] = [];
  for (let i = 0; i < spokes; i++) for (const w of [0, 1] as const) lines.push(`address add ${spokeWaypoint(i, w)}/32 dev spk0`);
  writeFileSync(batch, `${lines.join('\n')}\n`);
  await run('ip', ['-n', lab.spokesNs, '-batch', batch], 60_000);
  return lab;
}

async function deleteLab(lab: Lab): Promise<void> {
  for (const ns of [lab.hubNs, lab.spokesNs]) await run('ip', ['netns', 'del', ns]).catch(() => undefined);
}

interface Running { hub: Proc; spokes: Proc; config: string }

async function startPair(lab: Lab, name: string, spokes: number, publish: boolean, failSpokes: number, nodeFlags: readonly string[] = []): Promise<Running> {
  const config = join(lab.dir, `${name}.yaml`);
  writeFileSync(config, hubConfigYaml(spokes, randomBytes(32).toString('hex')));
  const hub = spawnIn(lab.hubNs, `hub-${name}`, process.execPath, [...nodeFlags, svrScript(), 'node', 'start', ...HEADLINE_NODE_ARGS, '--config', config, '--name', HUB_NAME,
    '--socket', join(lab.dir, `${name}.sock`), '--run-dir', join(lab.dir, 'run'), '--data-dir', join(lab.dir, `data-${name}`)], join(lab.dir, `${name}-hub.log`));
  await waitForLine(hub, /node\.running/, 120_000);
  // the simulator from the same build as the node (the benchmark's snapshot: snapshot.ts)
  const sim = spawnIn(lab.spokesNs, `spokes-${name}`, process.execPath, [join(dirname(svrScript()), '..', 'dist', 'bench', 'spokes.js'), '--config', config,
    '--fail', String(failSpokes), '--fail-path', '0', ...(publish ? [] : ['--no-publish'])], join(lab.dir, `${name}-spokes.log`));
  await waitForLine(sim, /"event":"ready"/, 120_000);
  return { hub, spokes: sim, config };
}

/** Waits until every one of `paths` paths is usable on the hub (its log); returns when that was. */
async function allUp(r: Running, paths: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let up = 0;
  while (Date.now() < deadline) {
    if (r.hub.exited) throw new Error(`the hub exited (${r.hub.exitCode})`);
    const events = pathEvents(logText(r.hub));
    up = usableNow(events).size;
    if (up === paths) return Math.max(...events.map((e) => e.atMs));
    await sleep(1000);
  }
  throw new Error(`not all ${paths} paths up on the hub after ${timeoutMs / 1000} s (${up} usable): no comparable state`);
}

/** when the silence began, and each silenced path's last BFD packet (wall ms) */
interface Silence { atMs: number; lastTx: Map<string, number> }

/** SIGUSR1 to the simulator: its `--fail` paths go silent; their last packets' times from its log. */
async function silence(r: Running): Promise<Silence> {
  const before = logText(r.spokes).length;
  process.kill(r.spokes.pid, 'SIGUSR1');
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const line = logText(r.spokes).slice(before).split('\n').find((l) => l.includes('"event":"silenced"'));
    if (line !== undefined) {
      const s = JSON.parse(line) as { wallMs: number; paths: { path: string; lastBfdTxWallMs: number }[] };
      return { atMs: s.wallMs, lastTx: new Map(s.paths.map((p) => [p.path, p.lastBfdTxWallMs])) };
    }
    await sleep(50);
  }
  throw new Error('the simulator did not confirm the silence');
}

/** The hub's name of spoke i's path w. */
const hubPathName = (i: number, w: 0 | 1): string => `wan${w}->spoke-${String(i + 1).padStart(4, '0')}/wan${w}`;

/** Waits for the hub to declare `paths` down by BFD's Detection Time after `since`; their down events by path. */
async function downsAfter(r: Running, since: number, paths: readonly string[], timeoutMs: number): Promise<Map<string, PathEvent>> {
  const want = new Set(paths);
  const deadline = Date.now() + timeoutMs;
  let found = new Map<string, PathEvent>();
  while (Date.now() < deadline) {
    const downs = pathEvents(logText(r.hub)).filter((e) => !e.usable && e.reason === 'detection-time-expired' && e.atMs >= since && want.has(e.path));
    found = new Map(downs.map((e) => [e.path, e]));
    if (found.size === want.size) break;
    await sleep(200);
  }
  return found;
}

async function stopPair(r: Running): Promise<void> {
  await stop(r.spokes, 5000);
  await stop(r.hub, 15_000);
}

export interface HubOptions {
  spokes?: number;
  /** the spokes publish STEP documents too (the hub floods each to every other spoke) */
  publish?: boolean;
  /** profile the hub (node --cpu-prof; it costs CPU, so the CPU figure is then not the plain one): where its
   *  time went from the CPU window on, in `profile` */
  profile?: boolean;
}

export async function measureHub(dir0: string, progress: (l: string) => void, o: HubOptions = {}): Promise<HubResult> {
  const spokes = o.spokes ?? HUB_SPOKES;
  const failSpokes = Math.min(FAIL_SPOKES, spokes);
  const dir = join(dir0, 'hub');
  mkdirSync(join(dir, 'run'), { recursive: true });
  const res: HubResult = {
    spokes, paths: 2 * spokes, spokeStep: o.publish === true ? 'publish' : 'acknowledge', hubFlags: [...HEADLINE_NODE_ARGS],
    loadAvgAtStart: load(), problems: [], errors: [],
  };
  const lab = await createLab(dir, spokes);
  res.spokeRxThreaded = lab.spokeRxTid !== undefined;
  try {
    // 1. one spoke: RSS, detection time
    let r = await startPair(lab, 'one', 1, o.publish === true, 1);
    try {
      await allUp(r, 2, 60_000);
      await sleep(5000);
      const rssOne = rssBytes(r.hub.pid);
      const trials: number[] = [];
      for (let t = 0; t < ONE_PEER_TRIALS; t++) {
        const s = await silence(r);
        const path = hubPathName(0, 0);
        const down = (await downsAfter(r, s.atMs, [path], 3 * DETECTION_TIME_MS)).get(path);
        process.kill(r.spokes.pid, 'SIGUSR2');
        if (down === undefined) throw new Error(`one spoke: ${path} not declared down within ${3 * DETECTION_TIME_MS} ms of its silence`);
        trials.push(Math.round(down.atMs - s.lastTx.get(path)!));
        await allUp(r, 2, 30_000); // back up after its hold-down
      }
      res.onePeerDetectionMs = trials;
      progress(`    one spoke: hub RSS ${(rssOne / 1e6).toFixed(1)} MB; detection time ${trials.map((x) => `${x} ms`).join(', ')} (its last BFD packet -> path.unusable)`);
      res.rss = { oneSpokeBytes: rssOne, hubBytes: 0, perPeerBytes: 0 };
    } finally {
      await stopPair(r);
    }
    // 2. all spokes
    const t0 = Date.now();
    const profDir = join(dir, 'profile');
    r = await startPair(lab, 'all', spokes, o.publish === true, failSpokes, o.profile === true ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []);
    let windowStart = 0;
    try {
      const lastUp = await allUp(r, 2 * spokes, READY_MS);
      res.allUpAfterMs = lastUp - t0;
      progress(`    ${2 * spokes} paths usable on the hub ${(res.allUpAfterMs / 1000).toFixed(1)} s after it started; settling ${SETTLE_MS / 1000} s`);
      await sleep(SETTLE_MS);
      const pid = r.hub.pid;
      const counters = (): number => {
        const lines = logText(r.spokes).trimEnd().split('\n').filter((l) => l.includes('"event":"status"'));
        const c = (JSON.parse(lines[lines.length - 1] ?? '{}') as { counters?: Record<string, number> }).counters ?? {};
        return Object.values(c).reduce((a, b) => a + b, 0);
      };
      const c0 = cpuTicks(pid);
      const m0 = cpuTicks(pid, pid);
      const rxTid = lab.spokeRxTid;
      const k0 = rxTid === undefined ? undefined : cpuTicks(rxTid);
      const msg0 = counters();
      const t0Use = threadUse(pid);
      const w0 = Date.now();
      windowStart = w0;
      await sleep(CPU_WINDOW_MS);
      const c1 = cpuTicks(pid);
      const m1 = cpuTicks(pid, pid);
      const msg1 = counters();
      const t1Use = threadUse(pid);
      const windowS = (Date.now() - w0) / 1000;
      const pct = (ticks: number): number => (100 * ticks) / CLK_TCK / windowS;
      res.cpu = {
        windowS, pctOfCore: pct(c1.user + c1.sys - c0.user - c0.sys), userPct: pct(c1.user - c0.user), sysPct: pct(c1.sys - c0.sys),
        mainThreadPct: pct(m1.user + m1.sys - m0.user - m0.sys), loadAvg: load(),
      };
      if (k0 !== undefined) {
        const k1 = cpuTicks(rxTid!);
        res.cpu.spokeRxPct = pct(k1.user + k1.sys - k0.user - k0.sys);
      }
      res.messagesPerSecond = (msg1 - msg0) / windowS;
      res.cpu.perEvent = threadUsePer([t0Use], [t1Use], Math.max(1, msg1 - msg0));
      res.downsDuringCpu = pathEvents(logText(r.hub)).filter((e) => !e.usable && e.atMs >= w0).length;
      const hubRss = rssBytes(pid);
      res.rss = { oneSpokeBytes: res.rss!.oneSpokeBytes, hubBytes: hubRss, perPeerBytes: (hubRss - res.rss!.oneSpokeBytes) / Math.max(1, spokes - 1) };
      progress(`    hub CPU ${res.cpu.pctOfCore.toFixed(1)} % of a core over ${windowS.toFixed(0)} s (user ${res.cpu.userPct.toFixed(1)}, sys ${res.cpu.sysPct.toFixed(1)}, main thread ${res.cpu.mainThreadPct.toFixed(1)}); ${res.cpu.spokeRxPct === undefined ? 'spokes received in the hub\'s writes' : `spokes' receive thread ${res.cpu.spokeRxPct.toFixed(1)} %`}; load ${res.cpu.loadAvg.join(' ')}; ~${Math.round(res.messagesPerSecond)} simulator counter events/s; ${res.downsDuringCpu} path downs; per event: ${formatThreadUse(res.cpu.perEvent)}; RSS ${(hubRss / 1e6).toFixed(1)} MB, ${(res.rss.perPeerBytes / 1024).toFixed(1)} kB per peer`);
      if (res.downsDuringCpu > 0) res.problems.push(`${res.downsDuringCpu} path(s) went down on the hub while its CPU was measured (the hub or the machine is overloaded)`);
      // 3. path 1 of FAIL_SPOKES spokes fails at once
      const s = await silence(r);
      const failed = Array.from({ length: failSpokes }, (_, i) => hubPathName(i, 0));
      const usableAtSilence = usableNow(pathEvents(logText(r.hub)).filter((e) => e.atMs < s.atMs));
      const alreadyDown = failed.filter((p) => !usableAtSilence.has(p)).length;
      const downs = await downsAfter(r, s.atMs, failed, 3 * DETECTION_TIME_MS);
      await sleep(1000);
      const collateral = pathEvents(logText(r.hub)).filter((e) => !e.usable && e.atMs >= s.atMs && !failed.includes(e.path)).length;
      process.kill(r.spokes.pid, 'SIGUSR2');
      const det = [...downs.values()].map((e) => Math.round(e.atMs - s.lastTx.get(e.path)!));
      res.failure = {
        silenced: failed.length, declaredDown: downs.size,
        allDownAfterMs: downs.size === 0 ? NaN : Math.max(...[...downs.values()].map((e) => e.atMs)) - s.atMs,
        detectionMs: det.length === 0 ? { min: NaN, median: NaN, max: NaN } : { min: Math.min(...det), median: median(det), max: Math.max(...det) },
        collateralDowns: collateral,
      };
      const f = res.failure;
      progress(`    path 1 of ${failSpokes} spokes silenced: ${f.declaredDown} declared down, the last ${f.allDownAfterMs} ms after the silence; detection time min/median/max ${f.detectionMs.min}/${f.detectionMs.median}/${f.detectionMs.max} ms; ${collateral} other paths went down`);
      if (f.declaredDown < f.silenced) res.problems.push(`only ${f.declaredDown} of ${f.silenced} silenced paths were declared down within ${3 * DETECTION_TIME_MS} ms${alreadyDown > 0 ? ` (${alreadyDown} of them were down already when the simulator silenced them)` : ''}`);
    } finally {
      await stopPair(r);
    }
    if (o.profile === true && windowStart > 0) {
      // the main thread's profile (the first file; workers write their own), from the CPU window on
      const main = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).sort()[0];
      if (main !== undefined) res.profile = summarizeProfile(join(profDir, main), 25, windowStart - t0);
    }
  } finally {
    await deleteLab(lab);
  }
  return res;
}
