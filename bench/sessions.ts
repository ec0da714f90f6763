/**
 * New sessions per second through r1: the session client in the client namespace, counters from r1/r2.
 * UDP uses the C client (bench/c/udp-load.c, 2048 sessions in flight) when the run could compile it,
 * else the Node client (256 in flight); TCP uses the Node client (128 in flight).
 */
import { fileURLToPath } from 'node:url';
import { runIn } from './exec.js';
import { formatUserSystem, threadCpu, userSystemPer } from './cpu.js';
import { formatWindow, machineStat, machineWindow } from './machine-stat.js';
import type { RouterName, SvrouterMode } from './modes/svrouter.js';
import type { SessionRate } from './results.js';
import type { SessionsResult } from './sessions-client.js';
import { TCP_SESSION_PORT, UDP_SESSION_PORTS } from './svr-config.js';
import { CLIENT_EXTRA, NS, SERVER } from './topology.js';

const CLIENT_JS = fileURLToPath(new URL('./sessions-client.js', import.meta.url));

function counter(stats: Record<string, unknown>, name: string): number {
  const v = stats[name];
  return typeof v === 'number' ? v : NaN;
}
const created = (stats: Record<string, unknown>): number => counter(stats, 'sessions-created');

/** UDP sessions in flight with the C client: enough to keep both routers' batches full, not so many that
 * bursts overflow the TUN queues (8192 did on this machine). */
export const C_CLIENT_WINDOW = 2048;
/** UDP sessions in flight in the cases that compare two session tests on a loaded machine (ha.ts, visibility.ts).
 *  The headline's 2,048 collapse the test on a loaded machine: once the routers make fewer than 2,048 sessions a
 *  second, a session's round trip passes the client's 1 s, every one counts as failed and is sent again (2,048/s,
 *  none answered). 512 keeps the round trip under 1 s down to 512 sessions/s; the sustained case's ceiling uses 512 too. */
export const LOADED_CLIENT_WINDOW = 512;
/** More than this share of failed sessions is an overload, not a rate (comparable.ts). */
export const MAX_FAILED_SESSIONS = 0.01;

/** The windows a closed-loop UDP session test backs off through (heldSessionRate). */
export const BACK_OFF_WINDOWS = [C_CLIENT_WINDOW, LOADED_CLIENT_WINDOW, 128] as const;

/**
 * A closed-loop UDP session test that backs off: `test(window)` first with C_CLIENT_WINDOW sessions in flight,
 * and while more than 1 % of them failed (a burst overflowed a queue: 625 of 52,899 with r1's 2 workers at load
 * 25; at load 30 a session's round trip passes the client's 1 s timeout) once more with 512, then 128 in flight.
 * The figure is the first test that held; the ones that did not are in `overloaded`. Only the last one failing
 * too is an overload (comparable.ts). The Node client and TCP: one test.
 */
export async function heldSessionRate<T extends SessionRate>(test: (window: number) => Promise<T>, tool: string | undefined, progress: (l: string) => void): Promise<T> {
  const windows: readonly number[] = tool === undefined ? [C_CLIENT_WINDOW] : BACK_OFF_WINDOWS;
  const overloaded: NonNullable<SessionRate['overloaded']> = [];
  for (let k = 0; ; k++) {
    const r = await test(windows[k]!);
    const c = r.client;
    if (c.failed <= MAX_FAILED_SESSIONS * c.attempted || k === windows.length - 1) {
      return { ...r, ...(tool !== undefined ? { window: windows[k]! } : {}), ...(overloaded.length > 0 ? { overloaded } : {}) };
    }
    overloaded.push({ window: windows[k]!, attempted: c.attempted, failed: c.failed, okPerSecond: c.okPerSecond });
    progress(`    ${c.failed} of ${c.attempted} sessions failed with ${windows[k]} in flight (more than 1 %: an overload): again with ${windows[k + 1]}`);
  }
}

/** New sessions before the sessions case's test, not counted: a router's first burst of new sessions has V8
 *  compile its session path (TurboFan on V8's worker threads: 0.5-1.5 s of CPU a router in the first 5 s test after a
 *  start, 0.3-0.5 s after the tcp and udp cases; the main thread ~3 µs a session slower until it is done:
 *  docs/performance.md wave 20, sess12), which a router in service did long before. V8 optimizes a function after
 *  enough calls, so the warm-up counts sessions: 1 s rounds until SESSION_WARMUP answered (at most 6 rounds).
 *  Every mode gets it; SVR_BENCH_SESSION_WARMUP=0 leaves it out (the case as it ran before). */
export const SESSION_WARMUP = process.env['SVR_BENCH_SESSION_WARMUP'] === '0' ? 0 : 50_000;
/** the warm-up's longest time, s (budget.ts) */
export const SESSION_WARMUP_MAX_S = 6;

/** New sessions through the path until SESSION_WARMUP were answered, their figures left out (one line of progress). */
export async function warmUpSessions(protocol: 'udp' | 'tcp', svr: SvrouterMode | undefined, progress: (l: string) => void, tool?: string): Promise<void> {
  if (SESSION_WARMUP === 0) return;
  let ok = 0, s = 0;
  while (ok < SESSION_WARMUP && s < SESSION_WARMUP_MAX_S) {
    const w = await sessionRate(protocol, 1, undefined, () => undefined, tool, undefined, LOADED_CLIENT_WINDOW);
    ok += w.client.ok;
    s += 1;
  }
  progress(`    warm-up, not counted: ${ok} ${protocol} sessions answered in ${s} s${svr ? ' (the routers compile their session path)' : ''}`);
}

/** `routers`: whose `sessions-created` to count (svrouter; default both; r1 only when r2 runs no node);
 *  `window`: UDP sessions in flight with the C client (default C_CLIENT_WINDOW). */
export async function sessionRate(protocol: 'udp' | 'tcp', seconds: number, svr: SvrouterMode | undefined, progress: (l: string) => void, tool?: string,
  routers: readonly RouterName[] = ['r1', 'r2'], window = C_CLIENT_WINDOW): Promise<SessionRate> {
  const counts = (): Promise<Record<string, unknown>[]> => Promise.all(routers.map((r) => svr!.stats(r)));
  const before = svr ? await counts() : undefined;
  const procs = svr ? routers.map((r) => svr.proc(r)).filter((p) => p !== undefined) : [];
  const threads0 = procs.map((p) => threadCpu(p.pid));
  const stat0 = machineStat();
  let stdout: string;
  if (protocol === 'udp' && tool !== undefined) {
    ({ stdout } = await runIn(NS.client, tool, ['client', SERVER, String(UDP_SESSION_PORTS.from), String(UDP_SESSION_PORTS.to),
      CLIENT_EXTRA.join(','), '32', String(window), String(seconds)], (seconds + 30) * 1000));
  } else {
    const args = protocol === 'udp'
      ? ['--ports', `${UDP_SESSION_PORTS.from}-${UDP_SESSION_PORTS.to}`, '--per-source', '32', '--window', '256']
      : ['--port', String(TCP_SESSION_PORT), '--window', '128'];
    ({ stdout } = await runIn(NS.client, process.execPath, [CLIENT_JS, '--protocol', protocol, '--server', SERVER,
      '--sources', CLIENT_EXTRA.join(','), '--seconds', String(seconds), ...args], (seconds + 30) * 1000));
  }
  const stat1 = machineStat();
  const threads1 = procs.map((p) => threadCpu(p.pid));
  const client = JSON.parse(stdout) as SessionsResult;
  client.client ??= 'node';
  const out: SessionRate = { client, ...(protocol === 'udp' && tool !== undefined ? { window } : {}) };
  if (svr && before) {
    const after = await counts();
    out.createdR1 = created(after[0]!) - created(before[0]!);
    if (routers.length > 1) out.createdR2 = created(after[1]!) - created(before[1]!);
    out.createdR1PerSecond = out.createdR1 / client.seconds;
    out.machine = machineWindow(stat0, stat1, out.createdR1);
    const made = [out.createdR1, out.createdR2 ?? out.createdR1];
    out.healthChecksR1 = counter(after[0]!, 'health-checks-sent') - counter(before[0]!, 'health-checks-sent');
    out.threadUsPerSession = Object.fromEntries(procs.map((p, k) => [p.name, userSystemPer(p.pid, threads0[k]!, threads1[k]!, Math.max(1, made[k]!))]));
  }
  progress(`    ${protocol} sessions (${client.client} client): ${client.attempted} attempted, ${client.ok} answered, ${client.failed} failed in ${client.seconds.toFixed(1)} s `
    + `= ${client.okPerSecond.toFixed(0)}/s answered${out.createdR1 !== undefined ? `; r1 sessions-created +${out.createdR1} (${out.createdR1PerSecond!.toFixed(0)}/s)` : ''}`
    + `${out.createdR2 !== undefined ? `, r2 +${out.createdR2}` : ''}${out.machine !== undefined ? `; the machine: ${formatWindow(out.machine)}` : ''}`);
  if (out.healthChecksR1 !== undefined) progress(`      r1 health checks sent (handshakes still waiting at their first retry): ${out.healthChecksR1}`);
  for (const [name, t] of Object.entries(out.threadUsPerSession ?? {})) progress(`      ${name} µs per session by thread, user + kernel: ${formatUserSystem(t)}`);
  return out;
}
