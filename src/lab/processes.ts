/**
 * Background processes of the lab: started detached inside a namespace (`ip netns exec NS ...`, which
 * execs, so the pid is the program's own), stdout+stderr to `<dir>/<name>.log`, pid in `<dir>/<name>.pid`.
 * Stopping checks /proc/<pid>/cmdline first, so a recycled pid is never killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SvrError } from '../errors.js';
import { sleep } from './run.js';

export interface Background {
  name: string;
  pid: number;
  log: string;
  child: ChildProcess;
  /** Set when the process exited while we were watching it. */
  exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
}

/** Starts `cmd args...` inside `ns`, detached from us; the log file is truncated first. */
export function spawnInNamespace(dir: string, name: string, ns: string, cmd: string, args: readonly string[]): Background {
  const log = join(dir, `${name}.log`);
  const fd = openSync(log, 'w');
  let child: ChildProcess;
  try {
    child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) {
    throw new SvrError('SVR_ERR_LAB_PROCESS', `could not start \`ip netns exec ${ns} ${cmd} ${args.join(' ')}\``);
  }
  const bg: Background = { name, pid: child.pid, log, child, exit: undefined };
  child.on('exit', (code, signal) => (bg.exit = { code, signal }));
  child.on('error', () => (bg.exit = { code: null, signal: null }));
  writeFileSync(join(dir, `${name}.pid`), `${child.pid}\n`);
  return bg;
}

/** Stops watching (the process keeps running after we exit). */
export function release(bg: Background): void {
  bg.child.removeAllListeners();
  bg.child.unref();
}

/** The last `lines` lines of a log file, indented, for error messages. */
export function logTail(path: string, lines = 15): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return `  (no log at ${path})`;
  }
  const all = text.trimEnd().split('\n');
  const tail = all.slice(-lines).map((l) => `  | ${l}`);
  return tail.length === 0 || (tail.length === 1 && all[0] === '') ? `  (${path} is empty)` : tail.join('\n');
}

export interface WaitOptions {
  /** A line matching this means ready. */
  line: RegExp;
  /** Also wait for this path (e.g. a control socket) to exist. */
  path?: string;
  /** How long the process may write nothing new to its log: a process still logging is still starting. */
  timeoutMs: number;
  /** At most this long in all (default 5 x timeoutMs). */
  maxMs?: number;
  /** What we wait for, for messages ("node r1"). */
  what: string;
}

/**
 * Waits until the log has a matching line (and the path exists); throws with the log tail otherwise.
 * The wait is bounded by the process's progress, not wall time: at load 25 a node took 36 s from spawn to
 * running while logging all along, so only `timeoutMs` without a new log byte (or `maxMs` in all) fails it.
 */
export async function waitReady(bg: Background, opts: WaitOptions): Promise<void> {
  const t0 = Date.now();
  const maxMs = opts.maxMs ?? 5 * opts.timeoutMs;
  let logged = 0;
  let lastProgress = t0;
  for (;;) {
    let text = '';
    try {
      text = readFileSync(bg.log, 'utf8');
    } catch {
      // not written yet
    }
    const lineOk = text.split('\n').some((l) => opts.line.test(l));
    if (lineOk && (opts.path === undefined || existsSync(opts.path))) return;
    if (bg.exit !== undefined) {
      const how = bg.exit.signal !== null ? `was killed by ${bg.exit.signal}` : `exited with status ${bg.exit.code}`;
      throw new SvrError('SVR_ERR_LAB_PROCESS', `${opts.what} ${how} before it was ready; log ${bg.log}:\n${logTail(bg.log)}`, { log: bg.log, exit: bg.exit });
    }
    const now = Date.now();
    if (text.length > logged) {
      logged = text.length;
      lastProgress = now;
    }
    if (now - lastProgress > opts.timeoutMs || now - t0 > maxMs) {
      const waited = lineOk ? `${opts.path} yet` : `line matching ${opts.line} in its log`;
      const why = now - t0 > maxMs ? `after ${maxMs} ms` : `after ${now - t0} ms, ${now - lastProgress} ms of them without a new line in its log`;
      throw new SvrError('SVR_ERR_LAB_TIMEOUT', `${opts.what} was not ready ${why} (no ${waited}); log ${bg.log}:\n${logTail(bg.log)}\n`
        + 'If the host is busy (uptime), retry when it is quieter; else the log tail says why it stalled', { log: bg.log });
    }
    await sleep(50);
  }
}

/** The arguments in /proc/<pid>/cmdline, or undefined when there is no such process. */
export function cmdlineOf(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((a, i, all) => a !== '' || i < all.length - 1);
  } catch {
    return undefined;
  }
}

/** The process exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/**
 * True when `pid` is alive and each marker is one of its arguments: equal to it, or its last path
 * component (`svr.js` matches `/opt/svrouter/bin/svr.js`).
 */
export function isOurs(pid: number, markers: readonly string[]): boolean {
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid || !isAlive(pid)) return false;
  const args = cmdlineOf(pid);
  return args !== undefined && markers.every((m) => args.some((a) => a === m || a.endsWith(`/${m}`)));
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

export interface StopTarget {
  pid: number;
  /** Only signal the pid while these are among its arguments (see isOurs; [] = any process). */
  markers: readonly string[];
}

/** SIGTERM, up to `graceMs` for the targets to exit, then SIGKILL. Returns the pids that were signalled. */
export async function stopPids(targets: readonly StopTarget[], graceMs: number): Promise<number[]> {
  const ours = targets.filter((t) => isOurs(t.pid, t.markers));
  for (const t of ours) signal(t.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (ours.some((t) => isAlive(t.pid)) && Date.now() < deadline) await sleep(50);
  for (const t of ours) {
    if (isOurs(t.pid, t.markers)) signal(t.pid, 'SIGKILL');
  }
  const killDeadline = Date.now() + 2000;
  while (ours.some((t) => isAlive(t.pid)) && Date.now() < killDeadline) await sleep(20);
  return ours.map((t) => t.pid);
}

/** Reads a pid file (`<dir>/<name>.pid`, or iperf3's own), undefined when absent or not a number. */
export function readPidFile(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(n) && n > 1 ? n : undefined;
  } catch {
    return undefined;
  }
}
