/**
 * Tools of the chaos suite (test/e2e/chaos.test.ts): the malformed-frame injector (c/inject-frames.c,
 * compiled once per run), a node's counters and a device's kernel counters, and a node killed and
 * started again with its own command line.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cmdlineOf } from '../../src/lab/processes.js';
import { COUNTER_NAMES } from '../../src/dataplane/counter-names.js';
import { exec, inNs, show, svr } from './support.js';

const INJECTOR_SOURCE = fileURLToPath(new URL('../../../test/e2e/c/inject-frames.c', import.meta.url));

/** Compiles the injector into `dir`; returns its path. */
export function buildInjector(dir: string): string {
  const out = join(dir, 'inject-frames');
  const r = spawnSync('cc', ['-O2', '-Wall', '-o', out, INJECTOR_SOURCE], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) throw new Error(`cc ${INJECTOR_SOURCE} failed: ${r.error?.message ?? r.stderr}`);
  return out;
}

export interface InjectResult {
  sent: number;
  /** frames sent per kind; each kind is named after the counter it must raise (or svr-garbage) */
  kinds: Record<string, number>;
  retries: number;
  seconds: number;
}

/** One injector run: `tun` (into the reader of a TUN device) or `eth` (out of a veth, to the peer's MAC). */
export interface Injection {
  ns: string;
  dev: string;
  count: number;
  rate: number;
  seed: number;
  kinds: readonly string[];
  /** eth mode: the peer veth's MAC and the IPv4 source and destination */
  eth?: { dstMac: string; src: string; dst: string };
}

export async function inject(tool: string, j: Injection): Promise<InjectResult> {
  const args = [j.eth === undefined ? 'tun' : 'eth', j.dev, String(j.count), String(j.rate), String(j.seed), j.kinds.join(',')];
  if (j.eth !== undefined) args.push(j.eth.dstMac, j.eth.src, j.eth.dst);
  const r = await inNs(j.ns, tool, args, 600_000);
  if (r.code !== 0) throw new Error(`inject-frames in ${j.ns} on ${j.dev} failed: ${show(r)}`);
  return JSON.parse(r.stdout) as InjectResult;
}

/** `ip -n NS -j -s link show DEV`: the MAC and the kernel's tx dropped count. */
export async function device(ns: string, dev: string): Promise<{ mac: string; txDropped: number }> {
  const r = await exec('ip', ['-n', ns, '-j', '-s', 'link', 'show', 'dev', dev]);
  if (r.code !== 0) throw new Error(`ip link show ${dev} in ${ns}: ${show(r)}`);
  const [l] = JSON.parse(r.stdout) as { address?: string; stats64?: { tx?: { dropped?: number } } }[];
  return { mac: l?.address ?? '', txDropped: l?.stats64?.tx?.dropped ?? 0 };
}

/** `svr show stats --json` of the node behind `socket` (the number-valued counters only). */
export async function counters(socket: string, env: Record<string, string>): Promise<Record<string, number>> {
  const r = await svr(['show', 'stats', '--json', '--socket', socket], env);
  if (r.code !== 0) throw new Error(`svr show stats ${socket}: ${show(r)}`);
  const all = JSON.parse(r.stdout) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(all).filter((e): e is [string, number] => typeof e[1] === 'number'));
}

/** after - before, per counter (missing ones are 0). */
export function delta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.keys(after).map((k) => [k, (after[k] ?? 0) - (before[k] ?? 0)]));
}

/** The router's drop-* counters: every dropped packet raises exactly one of them (malformed-* say why). */
export const DROP_COUNTERS = COUNTER_NAMES.filter((n) => n.startsWith('drop-'));

export function dropsIn(d: Record<string, number>): number {
  return DROP_COUNTERS.reduce((s, n) => s + (d[n] ?? 0), 0);
}

/** What a lab's state.json says of one process. */
export function labProcess(dir: string, name: string): { pid: number; namespace: string; log: string } {
  const st = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { processes: { name: string; pid: number; namespace: string; log: string }[] };
  const p = st.processes.find((x) => x.name === name);
  if (p === undefined) throw new Error(`no process ${name} in ${dir}/state.json`);
  return p;
}

/** A process started again in its namespace with the command line of the one it replaces. */
export interface Restartable {
  argv: string[];
  namespace: string;
}

/** Reads the command line of a running lab node (before it is killed). */
export function restartable(dir: string, name: string): Restartable {
  const p = labProcess(dir, name);
  const argv = cmdlineOf(p.pid);
  if (argv === undefined) throw new Error(`${name} (pid ${p.pid}) is not running`);
  return { argv, namespace: p.namespace };
}

/** Starts the node again, detached, its output into `log`; `svr lab down` stops it with its namespace. */
export function startAgain(r: Restartable, log: string): number {
  const fd = openSync(log, 'w');
  try {
    const child = spawn('ip', ['netns', 'exec', r.namespace, ...r.argv], { detached: true, stdio: ['ignore', fd, fd] });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${r.argv.join(' ')} in ${r.namespace}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** The pid file-free wait for a node's log line. */
export function logHas(log: string, re: RegExp): boolean {
  try {
    return re.test(readFileSync(log, 'utf8'));
  } catch {
    return false;
  }
}
