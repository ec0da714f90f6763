/** What the `svr lab up --ha` e2e tests read of the pair: addresses, MACs, sessions, roles and log times. */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FileTest } from '../support/prerequisites.js';
import { e2eDir, inNs, LAB_UP_MS, show, svr, SVR } from './support.js';
import { request } from '../../src/node/control-client.js';

/** The node's sessions, id -> service, through its control socket (what `svr show sessions` asks; no CLI start-up). */
export async function sessionIds(dir: string, node: string): Promise<Map<string, string>> {
  const list = (await request(join(dir, `${node}.sock`), { method: 'show', what: 'sessions' })) as { id: string; service: string }[];
  return new Map(list.map((s) => [s.id, s.service]));
}

/** `svr show ha --node NODE` through the control socket: the fields the tests check. */
export async function haOf(dir: string, node: string): Promise<{ role: string; forwarding: boolean; splitBrain: boolean; partnerRole?: string; replicaRecords: number }> {
  return (await request(join(dir, `${node}.sock`), { method: 'show', what: 'ha' })) as { role: string; forwarding: boolean; splitBrain: boolean; partnerRole?: string; replicaRecords: number };
}

/** A node's data-path counter (`svr show stats`). */
export async function counterOf(dir: string, node: string, name: string): Promise<number> {
  return ((await request(join(dir, `${node}.sock`), { method: 'show', what: 'stats' })) as Record<string, number>)[name] ?? 0;
}

/** The IPv4 addresses (CIDR) on a device in a namespace. */
export async function addresses(ns: string, dev: string): Promise<string[]> {
  const r = await inNs(ns, 'ip', ['-j', 'addr', 'show', 'dev', dev]);
  return (JSON.parse(r.stdout) as { addr_info: { family: string; local: string; prefixlen: number }[] }[])[0]!.addr_info
    .filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);
}

/** The pair's shared addresses in the `--ha` lab: the client's gateway (on r1-c) and the WAN next hop (on r1-r2). */
export const SHARED = { lan: '198.18.1.1/24', wan: '198.18.21.1/24' } as const;

/** Which nodes of the `--ha` lab under `prefix` hold the shared addresses now: e.g. `r1a lan wan`. */
export async function holders(prefix: string): Promise<string> {
  const out: string[] = [];
  for (const n of ['r1a', 'r1b'] as const) {
    const [lan, wan] = [await addresses(`${prefix}-${n}`, 'r1-c'), await addresses(`${prefix}-${n}`, 'r1-r2')];
    if (lan.includes(SHARED.lan) || wan.includes(SHARED.wan)) out.push(`${n}${lan.includes(SHARED.lan) ? ' lan' : ''}${wan.includes(SHARED.wan) ? ' wan' : ''}`);
  }
  return out.join(', ');
}

export async function mac(ns: string, dev: string): Promise<string> {
  const r = await inNs(ns, 'ip', ['-j', 'link', 'show', 'dev', dev]);
  return (JSON.parse(r.stdout) as { address: string }[])[0]!.address;
}

/** The MAC the client's neighbour entry for its gateway (r1's shared LAN address) holds. */
export async function gatewayMac(clientNs: string): Promise<string | undefined> {
  const r = await inNs(clientNs, 'ip', ['-j', 'neigh', 'show', '198.18.1.1']);
  return (JSON.parse(r.stdout || '[]') as { lladdr?: string }[])[0]?.lladdr;
}

/** The time of the first line of `log` after `sinceMs` matching `re` (the lab's text log: ISO time first). */
export function logTime(log: string, re: RegExp, sinceMs: number): { at: number; line: string } | undefined {
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    const at = Date.parse(line.slice(0, 24));
    if (at >= sinceMs && re.test(line)) return { at, line };
  }
  return undefined;
}

export interface StreamCount { id: number; received: number; expected: number; lost: number; duplicates: number; maxGapMs: number; ended: boolean }

/** The lab server's count of one UDP stream (by sequence number: received, lost, longest gap). */
export async function streamCount(clientNs: string, server: string, id: number): Promise<StreamCount> {
  const stats = await inNs(clientNs, 'curl', ['-s', '-m', '5', `http://${server}/stream-stats`]);
  const s = (JSON.parse(stats.stdout) as { streams: StreamCount[] }).streams.find((x) => x.id === id);
  if (s === undefined) throw new Error(`the server counted no stream ${id}: ${stats.stdout}`);
  return s;
}

/** The file's `svr lab up --ha --hold-down 1` (and `more` options) under `prefix`: up before its tests, down after them (and on Ctrl-C). */
export function haLab(test: FileTest, prefix: string, name: string, more: readonly string[] = []): { dir: string; env: Record<string, string> } {
  const dir = e2eDir(test, `${prefix}-e2e-${name}`, () => {
    spawnSync(process.execPath, [SVR, 'lab', 'down', ...labArgs], { env: { ...process.env, ...env }, stdio: 'ignore' });
  });
  const env = { SVR_RUN_DIR: join(dir, 'run') };
  const labArgs = ['--prefix', prefix, '--dir', dir];
  test.before(async () => {
    const r = await svr(['lab', 'up', ...labArgs, '--ha', '--hold-down', '1', ...more], env, LAB_UP_MS);
    if (r.code !== 0) throw new Error(`svr lab up --ha ${more.join(' ')}: ${show(r)}`);
  });
  test.after(async () => {
    const r = await svr(['lab', 'down', ...labArgs], env);
    if (r.code !== 0) console.error(`svr lab down failed: ${show(r)}`);
  });
  return { dir, env };
}

export interface SilentCount { received: number; expected: number; maxGapMs: number }

/**
 * A download to a silent client: the client sends a UDP datagram to `server`:`port` (until the first answer: it
 * opens the session), then only receives; the server answers with `rate` datagrams/s for `seconds` (a sender bound
 * to `server` in `serverNs`). Resolves once the server is listening; `done` with what the client counted.
 */
export async function silentDownload(clientNs: string, serverNs: string, server: string, port: number, rate: number, seconds: number): Promise<{ done: Promise<SilentCount> }> {
  const total = rate * seconds;
  const send = `const s = require('dgram').createSocket('udp4');
    s.bind(${port}, '${server}', () => console.log('READY'));
    s.once('message', (_, r) => {
      const buf = Buffer.alloc(200), t0 = Date.now();
      let n = 0;
      const tick = setInterval(() => {
        const due = Math.min(${total}, Math.floor((Date.now() - t0) * ${rate} / 1000));
        while (n < due) { buf.writeUInt32BE(n++, 0); s.send(buf, r.port, r.address); }
        if (n >= ${total}) { clearInterval(tick); setTimeout(() => process.exit(0), 300); }
      }, 5);
    });`;
  const receive = `const s = require('dgram').createSocket('udp4');
    let got = 0, last, maxGap = 0;
    s.on('message', () => { const t = performance.now(); if (last !== undefined) maxGap = Math.max(maxGap, t - last); last = t; got++; });
    s.bind(0, () => {
      const open = setInterval(() => { if (got > 0) clearInterval(open); else s.send(Buffer.from('open'), ${port}, '${server}'); }, 200);
      s.send(Buffer.from('open'), ${port}, '${server}');
    });
    setTimeout(() => { console.log(JSON.stringify({ received: got, maxGapMs: Math.round(maxGap) })); process.exit(0); }, ${(seconds + 4) * 1000});`;
  const sender = spawn('ip', ['netns', 'exec', serverNs, process.execPath, '-e', send], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    sender.stdout.on('data', (d: Buffer) => { if (d.toString().includes('READY')) resolve(); });
    sender.on('exit', (code) => reject(new Error(`the silent download's sender ended (${code})`)));
  });
  const done = inNs(clientNs, process.execPath, ['-e', receive]).then((r) => {
    if (sender.exitCode === null) sender.kill();
    const c = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { received?: number; maxGapMs?: number };
    return { received: c.received ?? 0, expected: total, maxGapMs: c.maxGapMs ?? Number.POSITIVE_INFINITY };
  });
  return { done };
}
