/**
 * Helpers for the end-to-end lab tests: a working directory, running `svr` and commands inside namespaces
 * (never a shell), a tcpdump capture, polling.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep, waitForValue } from '../support/config.js';
import type { FileTest } from '../support/prerequisites.js';

/**
 * Namespace prefix of the e2e labs: svrt, or $SVR_E2E_PREFIX (so that two runs on one host, e.g. two
 * engineers' `npm test`, do not tear down each other's lab).
 */
export const E2E_PREFIX = /^[a-z][a-z0-9-]{0,19}$/.test(process.env['SVR_E2E_PREFIX'] ?? '') ? process.env['SVR_E2E_PREFIX']! : 'svrt';

/** bin/svr.js (this file is dist/test/e2e/support.js). */
/** The time limit of a test's `svr lab up`: it bounds each process's start by its progress itself (a 120 s limit killed it at load 25, mid-start); this only catches a hang. */
export const LAB_UP_MS = 600_000;
export const SVR = fileURLToPath(new URL('../../../bin/svr.js', import.meta.url));

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** what SIGINT tears down: the files whose labs may be up (uvu runs the files in one process: one listener for all,
 *  a listener per file passed Node's limit of 10) */
const interrupts = new Set<() => void>();
let listening = false;
function whileRunning(onInterrupt: () => void): void {
  if (!listening) {
    listening = true;
    process.once('SIGINT', () => {
      for (const fn of interrupts) fn();
      process.exit(130);
    });
  }
  interrupts.add(onInterrupt);
}

/**
 * The working directory of one e2e file, tmpdir/<name>-<pid>, made afresh by a `test.before` hook that also
 * makes SIGINT run `onInterrupt` (tear the lab down) and exit; so nothing happens when the file's tests are
 * skipped (test/support/prerequisites.ts drops its hooks). Removed after the file's after hooks (its lab down)
 * when every test passed; kept, its path printed, when one did not (the pid in the name keeps runs apart).
 */
export function e2eDir(test: FileTest, name: string, onInterrupt: () => void): string {
  const dir = join(tmpdir(), `${name}-${process.pid}`);
  test.before(() => {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    whileRunning(onInterrupt);
  });
  test.whenDone((allPassed) => {
    interrupts.delete(onInterrupt);
    if (allPassed) rmSync(dir, { recursive: true, force: true });
    else console.log(`  kept ${dir} (a test of this file did not pass)`);
  });
  return dir;
}

export interface LabFixture {
  /** the lab's directory (e2eDir: removed when every test of the file passed) */
  dir: string;
  /** the nodes' environment: SVR_RUN_DIR in the lab's directory, and `extraEnv` */
  env: Record<string, string>;
  /** `--prefix <prefix> --dir <dir>` for `svr lab up` / `down` */
  labArgs: string[];
  /** `svr lab down`, synchronously (the after hook, an interrupt) */
  downSync(): void;
}

/** The `svr lab` of a test file: prefix `prefix`, directory `<prefix>-e2e-<name>`, taken down on an interrupt. */
export function labFixture(test: FileTest, prefix: string, name: string, extraEnv: Record<string, string> = {}): LabFixture {
  const dir = e2eDir(test, `${prefix}-e2e-${name}`, () => downSync());
  const env = { SVR_RUN_DIR: join(dir, 'run'), ...extraEnv };
  const labArgs = ['--prefix', prefix, '--dir', dir];
  const downSync = (): void => {
    spawnSync(process.execPath, [SVR, 'lab', 'down', ...labArgs], { env: { ...process.env, ...env }, stdio: 'ignore' });
  };
  return { dir, env, labArgs, downSync };
}

/** Runs a command to completion; never rejects for a non-zero exit. */
export function exec(cmd: string, args: readonly string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 << 20, env: { ...process.env, ...opts.env } }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null;
      resolve({ code, stdout, stderr: err !== null && code === null ? `${stderr}${err.message}` : stderr });
    });
  });
}

/** `node bin/svr.js args...` */
export function svr(args: readonly string[], env: Record<string, string>, timeoutMs = 60_000): Promise<Result> {
  return exec(process.execPath, [SVR, ...args], { env, timeoutMs });
}

/** `ip netns exec NS cmd args...` */
export function inNs(ns: string, cmd: string, args: readonly string[], timeoutMs = 60_000): Promise<Result> {
  return exec('ip', ['netns', 'exec', ns, cmd, ...args], { timeoutMs });
}

/**
 * A test.before hook whose failure is printed: uvu's runner returns from its `finally`, which swallows what a
 * before hook throws (the file then shows only "(0 / N)" and no reason).
 */
export function shown(hook: () => Promise<void>): () => Promise<void> {
  return async () => {
    try {
      await hook();
    } catch (e) {
      console.error(`    test.before failed: ${e instanceof Error ? e.message : String(e)}`);
      throw e;
    }
  };
}

/** A failed Result as text for assertion messages. */
export function show(r: Result): string {
  return `exit ${r.code}\nstdout: ${r.stdout.slice(-3000)}\nstderr: ${r.stderr.slice(-3000)}`;
}

export { sleep };

/** What a poll waits for: any answer but undefined and false (waitForValue polls on while it gets those). */
type Found = object | string | number | bigint | symbol | true;

/** waitForValue (test/support/config.ts) at the pace of e2e checks, 150 ms apart (each runs commands in namespaces):
 *  `fn`'s first answer that is not undefined; throws `timed out after <ms> ms waiting for <what>`. */
export function pollUntil<T extends Found>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>): Promise<T> {
  return waitForValue(what, fn, timeoutMs, 150);
}

export interface Capture {
  file: string;
  /** SIGINT, then waits for tcpdump to flush and exit. */
  stop(): Promise<string>;
}

/** `tcpdump -i DEV -w FILE -U --immediate-mode -n -Z root` inside NS, resolved once it listens. */
/** What tcpdump said on stop that it lost: "N packets dropped by kernel" (its buffer, when it was not scheduled in time). */
export function droppedByCapture(stderr: string): number {
  return Number(/(\d+) packets? dropped by kernel/.exec(stderr)?.[1] ?? 0);
}

export async function startCapture(ns: string, dev: string, file: string): Promise<Capture> {
  const child: ChildProcess = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', dev, '-w', file, '-U', '--immediate-mode', '-n', '-Z', 'root'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tcpdump did not start listening on ${ns}/${dev}: ${stderr}`)), 10_000);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      stderr += d;
      if (stderr.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`tcpdump exited ${code}: ${stderr}`));
    });
  });
  return {
    file,
    stop: async () => {
      child.kill('SIGINT');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
      return stderr;
    },
  };
}

/** A background command (e.g. a long download), killed by `stop`. */
export function background(cmd: string, args: readonly string[]): { child: ChildProcess; stop(): Promise<void> } {
  const child = spawn(cmd, args, { stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('close', () => r()));
  return {
    child,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** One line of `svr decode` output (the fields the tests read). */
export interface DecodedLine {
  frame: number;
  outer?: { src: string; dst: string; srcPort: number; dstPort: number; protocol: number; tcpFlags?: string };
  metadata?: {
    tenant?: string;
    service?: string;
    sessionId?: string;
    sourceRouter?: string;
    forward?: { src: string; dst: string; srcPort: number; dstPort: number; protocol: number };
    reverse?: { src: string; dst: string; srcPort: number; dstPort: number; protocol: number };
    malformed?: string;
    falsePositive: boolean;
    tcpSyn?: boolean;
  };
  /** path control (UDP 1280) or a firewall-detector probe (TCP 1283): the routers' own packets */
  control?: { kind: string; probe?: string; round?: number };
  note?: string;
}

export function parseNdjson<T>(text: string): T[] {
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as T);
}

/** A background command whose stdout is collected line by line. */
export interface LineProcess {
  child: ChildProcess;
  lines: string[];
  /** Resolves with the first line matching `re` (already seen or later). */
  waitLine(re: RegExp, timeoutMs: number): Promise<string>;
  /** Resolves when the process exited, with its exit code (null: killed by a signal). */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export function backgroundLines(cmd: string, args: readonly string[]): LineProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  let buf = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    buf += d;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      lines.push(line);
      for (const w of waiters.splice(0)) {
        if (w.re.test(line)) w.resolve(line);
        else waiters.push(w);
      }
    }
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  return {
    child,
    lines,
    exited,
    waitLine: (re, timeoutMs) => {
      const seen = lines.find((l) => re.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no line matching ${re} from \`${cmd} ${args.join(' ')}\` within ${timeoutMs} ms; stdout: ${lines.join(' | ')} stderr: ${stderr}`)), timeoutMs);
        waiters.push({ re, resolve: (l) => { clearTimeout(t); resolve(l); } });
      });
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
