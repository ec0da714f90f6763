/** Per-mode measurements: RTT (UDP ping), single-stream TCP with router CPU, UDP searches. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runIn, sleep, type Proc } from './exec.js';
import { cpuSeconds, processCpuNs } from './cpu.js';
import { formatThreadUse, threadUse, threadUsePer } from './thread-sched.js';
import { BENCH_PEER, tcpRun, type IperfPeer } from './iperf.js';
import type { Mode } from './modes/mode.js';
import type { Plan } from './plan.js';
import type { RttResult, TcpResult } from './results.js';
import { ECHO_PORT, IPERF_PORT, UDP_SESSION_PORTS } from './svr-config.js';
import { spread, type Spread } from './stats.js';
import { NS, SERVER } from './topology.js';
import type { PingResult } from './uping.js';

export const UPING = fileURLToPath(new URL('./uping.js', import.meta.url));

export async function ping(count: number, warmup: number, extra: string[] = [], timeoutMs = 500): Promise<PingResult> {
  const { stdout } = await runIn(NS.client, process.execPath, [UPING, '--host', SERVER, '--port', String(ECHO_PORT),
    '--count', String(count), '--warmup', String(warmup), '--size', '64', '--timeout-ms', String(timeoutMs), ...extra], 120_000);
  return JSON.parse(stdout) as PingResult;
}

/** Throws unless a few pings come back (the mode forwards at all); the message has `mode`'s diagnosis. */
export async function checkConnectivity(mode?: Mode): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const r = await ping(5, 0, [], 1000);
    if (r.received >= 3) return;
  }
  const why = await mode?.diagnose?.().catch((e: Error) => `no diagnosis: ${e.message}`);
  throw new Error(`no UDP echo from ${SERVER}:${ECHO_PORT} through this mode${why !== undefined ? ` (${why})` : ''}`);
}

/** Where round trips go: from namespace `ns` (none: this one) to the Node echo at host:port, or the C echo at cPort. */
export interface PingTarget {
  ns?: string;
  host: string;
  port: number;
  cPort: number;
}

/** The bench's client namespace to its server, read when called: `--prefix` renames the namespaces after this module loads. */
export const benchTarget = (): PingTarget => ({ ns: NS.client, host: SERVER, port: ECHO_PORT, cPort: UDP_SESSION_PORTS.from });

/**
 * A pinger run with its hold (uping.ts --hold, udp-load.c hold): `atWarm` runs when it says `warm` after its
 * warm-up, then it goes on with the counted round trips; resolves with its PingResult.
 */
function heldPing(target: PingTarget, cmd: string, args: readonly string[], atWarm: () => void, timeoutMs = 120_000): Promise<PingResult> {
  const [file, argv] = target.ns === undefined ? [cmd, args] : ['ip', ['netns', 'exec', target.ns, cmd, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (!/^warm$/m.test(stderr)) return;
      stderr = stderr.replace(/^warm\n?/m, '');
      atWarm();
      child.stdin.end('go\n');
    });
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      if (code === 0) return resolve(JSON.parse(stdout) as PingResult);
      reject(new Error(`\`${[file, ...argv].join(' ')}\` failed (exit ${code}): ${stderr.trim()}`));
    });
  });
}

/**
 * Sequential 64 B round trips: the C ping and echo when the run built them (as the anchors), else Node's. With
 * `procs` (the mode's router processes), also their CPU per round trip (all threads), counted from the end of the
 * warm-up (the first few hundred round trips on new nodes cost 67-174 µs each while V8 compiles): a figure the
 * machine's load moves far less than the latency.
 */
export async function measureRtt(plan: Plan, progress: (l: string) => void, tool?: string, procs: readonly Proc[] = [], target: PingTarget = benchTarget()): Promise<RttResult> {
  const runs: PingResult[] = [];
  const cpu: number[] = [];
  const threads: Record<string, { cpuUs: number; sleeps: number }>[] = [];
  for (let i = 0; i < plan.pingRuns; i++) {
    let before: number[] = [];
    let usesBefore: ReturnType<typeof threadUse>[] = [];
    const atWarm = (): void => {
      before = procs.map((p) => processCpuNs(p.pid));
      usesBefore = procs.map((p) => threadUse(p.pid));
    };
    const [cmd, args] = tool !== undefined
      ? [tool, ['ping', target.host, String(target.cPort), String(plan.pingCount), String(plan.pingWarmup), '64', '500', 'hold']]
      : [process.execPath, [UPING, '--host', target.host, '--port', String(target.port), '--count', String(plan.pingCount), '--warmup', String(plan.pingWarmup), '--size', '64', '--timeout-ms', '500', '--hold']];
    const r = await heldPing(target, cmd, args, atWarm);
    const usedNs = procs.reduce((a, p, k) => a + processCpuNs(p.pid) - before[k]!, 0);
    const n = plan.pingCount;
    const perRtt = procs.length > 0 && Number.isFinite(usedNs) ? usedNs / 1000 / n : undefined;
    if (perRtt !== undefined) cpu.push(perRtt);
    const t = procs.length > 0 ? threadUsePer(usesBefore, procs.map((p) => threadUse(p.pid)), n) : {};
    if (procs.length > 0) threads.push(t);
    progress(`    rtt run ${i + 1}: p50 ${r.p50Us.toFixed(1)} µs, p99 ${r.p99Us.toFixed(1)} µs, lost ${r.lost}/${r.sent}${perRtt !== undefined ? `, router CPU ${perRtt.toFixed(1)} µs per round trip (${formatThreadUse(t)})` : ''}`);
    runs.push(r);
  }
  const groups = [...new Set(threads.flatMap((t) => Object.keys(t)))];
  return {
    p50Us: spread(runs.map((r) => r.p50Us)), p99Us: spread(runs.map((r) => r.p99Us)), runs, pinger: tool !== undefined ? 'c' : 'node',
    ...(cpu.length > 0 ? { routerCpuUsPerRtt: spread(cpu) } : {}),
    ...(threads.length > 0 ? { routerThreads: Object.fromEntries(groups.map((g) => [g, { cpuUs: spread(threads.map((t) => t[g]?.cpuUs ?? 0)), sleeps: spread(threads.map((t) => t[g]?.sleeps ?? 0)) }])) } : {}),
  };
}

/**
 * The segment size of iperf3's data connection as the client's kernel uses it (`ss -ti`: mss, after path MTU
 * discovery and the peer's MSS option), read while the test runs: the connection that has sent the most.
 */
async function dataConnectionSegment(): Promise<number | undefined> {
  const { stdout } = await runIn(NS.client, 'ss', ['-tinH', 'dst', SERVER, 'dport', '=', `:${IPERF_PORT}`]);
  let best: { sent: number; mss: number } | undefined;
  for (const entry of stdout.split(/\n(?=\S)/)) {
    const mss = /\bmss:(\d+)/.exec(entry)?.[1];
    const sent = Number(/bytes_sent:(\d+)/.exec(entry)?.[1] ?? 0);
    if (mss !== undefined && (best === undefined || sent > best.sent)) best = { sent, mss: Number(mss) };
  }
  return best?.mss;
}

export async function measureTcp(mode: Mode, plan: Plan, progress: (l: string) => void, peer: IperfPeer = BENCH_PEER): Promise<TcpResult> {
  const gbps: number[] = [];
  const retr: number[] = [];
  const perGbit: number[] = [];
  const byProc: Record<string, number[]> = {};
  let mss: number | undefined;
  for (let i = 0; i < plan.tcpRuns; i++) {
    const procs = mode.routerProcs();
    const before = procs.map((p) => cpuSeconds(p.pid));
    // both at once: an iperf3 that fails while the segment is read must reject here, in the step, not unhandled
    const [r, seg] = await Promise.all([tcpRun(plan.tcpSeconds, 1, peer),
      sleep(Math.min(1000, plan.tcpSeconds * 300)).then(() => dataConnectionSegment().catch(() => undefined))]);
    const used = procs.map((p, k) => cpuSeconds(p.pid) - before[k]!);
    procs.forEach((p, k) => (byProc[p.name] ??= []).push(used[k]!));
    const cpu = used.reduce((a, b) => a + b, 0);
    gbps.push(r.gbps);
    retr.push(r.retransmits);
    mss ??= seg;
    if (procs.length > 0 && r.gbps > 0) perGbit.push(cpu / (r.gbps * plan.tcpSeconds));
    progress(`    tcp run ${i + 1}: ${r.gbps.toFixed(3)} Gbps, ${r.retransmits} retransmits, segment size ${seg ?? '?'} B${procs.length > 0 ? `, router CPU ${cpu.toFixed(2)} s (${procs.map((p, k) => `${p.name} ${used[k]!.toFixed(2)}`).join(', ')})` : ''}`);
  }
  return { gbps: spread(gbps), retransmits: retr, cpuSecondsPerGbit: perGbit.length > 0 ? spread(perGbit) : null, cpuByProcess: byProc, ...(mss !== undefined ? { mss } : {}) };
}

/** Concatenated runs of two spreads (a's first). */
const joined = (a: Spread, b: Spread): Spread => spread([...a.runs, ...b.runs]);

/** The TCP result of `a`'s runs followed by `b`'s (rounds measured apart, run.ts): run k of each figure is round k. */
export function mergeTcp(a: TcpResult, b: TcpResult): TcpResult {
  const procs = [...new Set([...Object.keys(a.cpuByProcess), ...Object.keys(b.cpuByProcess)])];
  const mss = a.mss ?? b.mss;
  return {
    gbps: joined(a.gbps, b.gbps), retransmits: [...a.retransmits, ...b.retransmits],
    cpuSecondsPerGbit: a.cpuSecondsPerGbit === null || b.cpuSecondsPerGbit === null ? a.cpuSecondsPerGbit ?? b.cpuSecondsPerGbit : joined(a.cpuSecondsPerGbit, b.cpuSecondsPerGbit),
    cpuByProcess: Object.fromEntries(procs.map((p) => [p, [...(a.cpuByProcess[p] ?? []), ...(b.cpuByProcess[p] ?? [])]])),
    ...(mss !== undefined ? { mss } : {}),
  };
}

/** The RTT result of `a`'s runs followed by `b`'s; the per-pass latency stays `a`'s (measured once). */
export function mergeRtt(a: RttResult, b: RttResult): RttResult {
  const cpu = a.routerCpuUsPerRtt !== undefined && b.routerCpuUsPerRtt !== undefined ? joined(a.routerCpuUsPerRtt, b.routerCpuUsPerRtt) : a.routerCpuUsPerRtt;
  const groups = [...new Set([...Object.keys(a.routerThreads ?? {}), ...Object.keys(b.routerThreads ?? {})])];
  const none = spread([]);
  return {
    ...a, p50Us: joined(a.p50Us, b.p50Us), p99Us: joined(a.p99Us, b.p99Us), runs: [...a.runs, ...b.runs],
    ...(cpu !== undefined ? { routerCpuUsPerRtt: cpu } : {}),
    ...(groups.length > 0 ? { routerThreads: Object.fromEntries(groups.map((g) => {
      const [x, y] = [a.routerThreads?.[g], b.routerThreads?.[g]];
      return [g, { cpuUs: joined(x?.cpuUs ?? none, y?.cpuUs ?? none), sleeps: joined(x?.sleeps ?? none, y?.sleeps ?? none) }];
    })) } : {}),
  };
}
