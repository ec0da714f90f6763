/**
 * Runs a test helper script inside a network namespace the test creates (svrt-<area>-<pid>-<n>) and
 * deletes by exact name afterwards. The helper prints one line `RESULT <json>` and exits by itself.
 */
import { spawn, spawnSync } from 'node:child_process';

export interface HelperRun {
  result: Record<string, unknown>;
  stderr: string;
  /** ms from the RESULT line to the child's exit (it must exit by itself). */
  exitAfterResultMs: number;
  code: number | null;
}

let nsSeq = 0;

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr}`);
}

/** Runs fn in a fresh namespace `svrt-<area>-<pid>-<n>` (loopback up), deleted afterwards. */
export async function inNetns<T>(area: string, fn: (ns: string) => Promise<T>): Promise<T> {
  const ns = `svrt-${area}-${process.pid}-${nsSeq++}`;
  ip('netns', 'add', ns);
  try {
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    return await fn(ns);
  } finally {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

/** `ip netns exec ns [prefix...] node script mode json`; resolves with its RESULT line (30 s limit). */
export function runNodeHelper(script: string, ns: string, mode: string, args: object, prefix: string[] = []): Promise<HelperRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, ...prefix, process.execPath, script, mode, JSON.stringify(args)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let stderr = '';
    let resultAt = 0;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`helper ${mode} timed out; stderr: ${stderr}`));
    }, 30_000);
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
      if (!resultAt && out.includes('\n') && out.startsWith('RESULT ')) resultAt = Date.now();
    });
    child.stderr.on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (!line) {
        reject(new Error(`helper ${mode} exited ${code} without a result; stderr: ${stderr}`));
        return;
      }
      resolve({
        result: JSON.parse(line.slice(7)) as Record<string, unknown>,
        stderr,
        exitAfterResultMs: Date.now() - (resultAt || Date.now()),
        code,
      });
    });
  });
}
