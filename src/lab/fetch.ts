/**
 * Clients run inside a lab namespace: an HTTP download with curl (body hashed as it streams, never stored),
 * the UDP probe and iperf3.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SvrError } from '../errors.js';
import { run, svrScript } from './run.js';

export interface Download {
  status: number;
  /** Response headers, lower-case names. */
  headers: Record<string, string>;
  bytes: number;
  sha256: string;
  ms: number;
  /** The body, when asked for (small responses only). */
  body?: string;
}

export interface DownloadOptions {
  timeoutSec?: number;
  /** Source address for curl (--interface). */
  source?: string;
  /** Keep the body as text. */
  keepBody?: boolean;
  /** Extra curl arguments (e.g. --limit-rate 20M). */
  extra?: string[];
}

function parseHeaders(text: string): { status: number; headers: Record<string, string> } {
  // the last header block wins (after 1xx responses)
  const blocks = text.split(/\r?\n\r?\n/).filter((b) => /^HTTP\//.test(b));
  const last = blocks[blocks.length - 1] ?? '';
  const lines = last.split(/\r?\n/);
  const status = Number(/^HTTP\/\S+\s+(\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  return { status, headers };
}

/**
 * `ip netns exec NS curl -sS -D <tmp>/headers URL`: body hashed from stdout. (Not `-D /dev/stderr`: our
 * stdio are sockets, which cannot be opened through /dev/std*; curl 7.88 even crashes on it.)
 */
export async function curlIn(ns: string, url: string, opts: DownloadOptions = {}): Promise<Download> {
  const tmp = mkdtempSync(join(tmpdir(), 'svr-lab-curl-'));
  try {
    return await curlToHash(ns, url, join(tmp, 'headers'), opts);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function curlToHash(ns: string, url: string, headerFile: string, opts: DownloadOptions): Promise<Download> {
  const args = ['netns', 'exec', ns, 'curl', '-sS', '--max-time', String(opts.timeoutSec ?? 60), '-D', headerFile, '-o', '-'];
  if (opts.source !== undefined) args.push('--interface', opts.source);
  args.push(...(opts.extra ?? []), url);
  const line = `ip ${args.join(' ')}`;
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const hash = createHash('sha256');
    const kept: Buffer[] = [];
    let bytes = 0;
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      hash.update(b);
      bytes += b.length;
      if (opts.keepBody === true && bytes <= 1 << 20) kept.push(b);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => (stderr += s));
    child.on('error', (e) => reject(new SvrError('SVR_ERR_LAB_COMMAND', `\`${line}\` failed: ${e.message}`)));
    child.on('close', (code) => {
      const ms = Date.now() - t0;
      if (code !== 0) {
        const why = stderr.split('\n').filter((l) => l.startsWith('curl:')).join(' ') || stderr.trim();
        reject(new SvrError('SVR_ERR_LAB_COMMAND', `\`${line}\` failed (exit ${code}): ${why}`, { exitCode: code, stderr }));
        return;
      }
      let head = '';
      try {
        head = readFileSync(headerFile, 'utf8');
      } catch {
        // no headers: status 0
      }
      const { status, headers } = parseHeaders(head);
      const d: Download = { status, headers, bytes, sha256: hash.digest('hex'), ms };
      if (opts.keepBody === true) d.body = Buffer.concat(kept).toString('utf8');
      resolve(d);
    });
  });
}

/** `svr lab udp-probe` inside NS; resolves with its stdout (one line per reply). */
export async function udpProbeIn(ns: string, host: string, port: number, message: string, count = 1, timeoutMs = 2000): Promise<string> {
  const { stdout } = await run('ip', ['netns', 'exec', ns, process.execPath, svrScript(), 'lab', 'udp-probe', host, String(port), message, '--count', String(count), '--timeout', String(timeoutMs)], { timeoutMs: timeoutMs * count + 10_000 });
  return stdout;
}

export interface IperfResult {
  /** Receiver side. */
  bitsPerSecond: number;
  retransmits: number;
  seconds: number;
}

interface IperfJson {
  error?: string;
  end?: { sum_received?: { bits_per_second?: number; seconds?: number }; sum_sent?: { retransmits?: number } };
}

/** `iperf3 -c HOST -t SECONDS -J` inside NS. */
export async function iperfIn(ns: string, host: string, seconds: number): Promise<IperfResult> {
  let stdout: string;
  try {
    stdout = (await run('ip', ['netns', 'exec', ns, 'iperf3', '-c', host, '-t', String(seconds), '-J'], { timeoutMs: (seconds + 20) * 1000 })).stdout;
  } catch (e) {
    // with -J, iperf3 reports its error in the JSON on stdout
    let why: string | undefined;
    try {
      why = (JSON.parse(((e as SvrError).data as { stdout?: string } | undefined)?.stdout ?? '') as IperfJson).error;
    } catch {
      why = undefined;
    }
    if (why !== undefined) throw new SvrError('SVR_ERR_LAB_COMMAND', `\`ip netns exec ${ns} iperf3 -c ${host}\` failed: ${why}`);
    throw e;
  }
  const j = JSON.parse(stdout) as IperfJson;
  if (j.error !== undefined) throw new SvrError('SVR_ERR_LAB_COMMAND', `iperf3 -c ${host}: ${j.error}`);
  return {
    bitsPerSecond: j.end?.sum_received?.bits_per_second ?? 0,
    retransmits: j.end?.sum_sent?.retransmits ?? 0,
    seconds: j.end?.sum_received?.seconds ?? seconds,
  };
}
