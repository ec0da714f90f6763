/**
 * Running commands for the lab: execFile (never a shell), errors that name the command and its stderr,
 * finding programs on $PATH and the check for root (host-tools.ts: which programs, installing them).
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SvrError } from '../errors.js';

export interface RunOptions {
  /** Milliseconds before the command is killed (default 15 000). */
  timeoutMs?: number;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** Runs `cmd args...`; rejects with SVR_ERR_LAB_COMMAND naming the command line and its stderr. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const line = [cmd, ...args].join(' ');
  const env = opts.env === undefined ? process.env : { ...process.env, ...opts.env };
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: opts.timeoutMs ?? 15_000, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env }, (err, stdout, stderr) => {
      if (!err) {
        resolve({ stdout, stderr });
        return;
      }
      const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
      const why = e.killed === true ? `timed out after ${opts.timeoutMs ?? 15_000} ms` : (stderr.trim() || e.message);
      reject(new SvrError('SVR_ERR_LAB_COMMAND', `\`${line}\` failed: ${why}`, { command: line, stderr, stdout, exitCode: e.code }));
    });
  });
}

/** `ip -n NS args...` (NS omitted: the current namespace). */
export function ip(ns: string | undefined, args: readonly string[], opts?: RunOptions): Promise<RunResult> {
  return run('ip', ns === undefined ? args : ['-n', ns, ...args], opts);
}

/** `ip netns exec NS cmd args...`. */
export function runIn(ns: string, cmd: string, args: readonly string[], opts?: RunOptions): Promise<RunResult> {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], opts);
}

/** The path of `cmd` on $PATH (plus the sbin directories, where ip lives), or undefined. */
export function which(cmd: string): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const d of dirs) {
    if (d === '') continue;
    const p = join(d, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Throws SVR_ERR_LAB_ROOT unless running as root. */
export function requireRoot(): void {
  if (isRoot()) return;
  throw new SvrError(
    'SVR_ERR_LAB_ROOT',
    'the lab needs root: it creates network namespaces, veth pairs and TUN devices (run it with sudo). '
      + 'Without root, `npm run example` runs the same two routers, client and server in one process (in memory).',
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Absolute path of bin/svr.js (this file is dist/src/lab/run.js). */
export function svrScript(): string {
  return fileURLToPath(new URL('../../../bin/svr.js', import.meta.url));
}
