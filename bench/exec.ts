/**
 * Commands and background processes for the benchmark: execFile (no shell), `ip netns exec`, and a
 * registry of every process we started so cleanup (also on Ctrl-C or failure) ends exactly those, by pid.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs `cmd args`; rejects with a message naming the command line and its stderr. */
export function run(cmd: string, args: readonly string[], timeoutMs = 30_000): Promise<RunResult> {
  const line = [cmd, ...args].join(' ');
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve({ stdout, stderr });
      const killed = (err as { killed?: boolean }).killed === true;
      reject(new Error(`\`${line}\` failed: ${killed ? `timed out after ${timeoutMs} ms` : (stderr.trim() || err.message)}`));
    });
  });
}

/** Like run, but resolves whatever the exit status (JSON-on-stdout tools such as iperf3 -J exit 1 on errors). */
export function runAnyway(cmd: string, args: readonly string[], timeoutMs = 30_000): Promise<RunResult & { failed: boolean }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ stdout, stderr: err !== null && stderr === '' ? err.message : stderr, failed: err !== null });
    });
  });
}

/** `ip -n NS args`. */
export function ipn(ns: string, args: readonly string[]): Promise<RunResult> {
  return run('ip', ['-n', ns, ...args]);
}

/** `ip netns exec NS cmd args` (waits for it). */
export function runIn(ns: string, cmd: string, args: readonly string[], timeoutMs?: number): Promise<RunResult> {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], timeoutMs);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface Proc {
  name: string;
  pid: number;
  log: string;
  child: ChildProcess;
  exited: boolean;
  exitCode: number | null;
}

const procs = new Set<Proc>();

/** Starts `cmd args` in `ns` (ip netns exec execs, so the pid is the program's own); output to `log`. */
export function spawnIn(ns: string, name: string, cmd: string, args: readonly string[], log: string): Proc {
  const fd = openSync(log, 'w');
  let child: ChildProcess;
  try {
    child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  if (child.pid === undefined) throw new Error(`could not start ${cmd} in ${ns}`);
  const p: Proc = { name, pid: child.pid, log, child, exited: false, exitCode: null };
  child.on('exit', (code) => {
    p.exited = true;
    p.exitCode = code;
  });
  child.on('error', () => (p.exited = true));
  procs.add(p);
  return p;
}

export function logText(p: Proc): string {
  try {
    return readFileSync(p.log, 'utf8');
  } catch {
    return '';
  }
}

export function logTail(p: Proc, lines = 12): string {
  return logText(p).trimEnd().split('\n').slice(-lines).map((l) => `    | ${l}`).join('\n');
}

/** Waits for a log line matching `re`; throws with the log tail if the process exits or time runs out. */
export async function waitForLine(p: Proc, re: RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (re.test(logText(p))) return;
    if (p.exited) throw new Error(`${p.name} exited (${p.exitCode}) before it was ready:\n${logTail(p)}`);
    await sleep(50);
  }
  throw new Error(`${p.name} not ready after ${timeoutMs} ms (no line matching ${re}):\n${logTail(p)}`);
}

/** SIGTERM (or `sig`), up to `graceMs`, then SIGKILL; only the pid we started, only while it runs. */
export async function stop(p: Proc, graceMs = 5000, sig: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!p.exited) {
    try {
      process.kill(p.pid, sig);
    } catch {
      // gone
    }
    const deadline = Date.now() + graceMs;
    while (!p.exited && Date.now() < deadline) await sleep(25);
    if (!p.exited) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone
      }
      const kd = Date.now() + 2000;
      while (!p.exited && Date.now() < kd) await sleep(25);
    }
  }
  procs.delete(p);
}

/** Stops every process still registered (cleanup path). */
export async function stopAll(graceMs = 3000): Promise<void> {
  await Promise.all([...procs].map((p) => stop(p, graceMs)));
}

/** Synchronous last resort (process 'exit'): SIGKILL what is still registered. */
export function killAllSync(): void {
  for (const p of procs) {
    if (p.exited) continue;
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** A step runner for a case: a failed step is recorded in `errors` as "<what>: <first line>" and printed; the case goes on. */
export function recordingSteps(errors: string[], progress: (line: string) => void): (what: string, f: () => Promise<void>) => Promise<void> {
  return async (what, f) => {
    try {
      await f();
    } catch (e) {
      const msg = `${what}: ${(e as Error).message.split('\n')[0]}`;
      errors.push(msg);
      progress(`    ! ${msg}`);
    }
  };
}
