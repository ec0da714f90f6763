/**
 * Small traffic tools for test/e2e/plugins.test.ts, run inside the lab's namespaces
 * (`ip netns exec <p>-client node dist/test/e2e/plugins-tools.js <command> '<json options>'`).
 * Each prints JSON lines on stdout. Only addresses inside the lab (198.18.0.0/15) are ever used.
 *
 * - scan:      TCP connect probes and UDP datagrams from one source address to ports of some hosts
 * - flood:     many TCP connects per second from one source (a SYN flood without raw sockets)
 * - udp-many:  N UDP sockets, one datagram each (N sessions), checks each gets its own reply, holds them open
 * - http-many: N short HTTP GETs (one TCP session each), counts which server answered ("Served by <addr>")
 * - tls-server: an HTTPS server (node:tls) that answers after a delay, so a session stays up to be looked at
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:https';
import { connect, type Socket } from 'node:net';

const out = (o: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface ScanOptions {
  source: string;
  targets: { host: string; tcp: number[]; udp: number[] }[];
  timeoutMs: number;
  concurrency: number;
}

/** One TCP connect probe: resolves 'open' (connected), 'closed' (refused/reset) or 'filtered' (timed out). */
function probe(source: string, host: string, port: number, timeoutMs: number): Promise<'open' | 'closed' | 'filtered'> {
  return new Promise((resolve) => {
    const s = connect({ host, port, localAddress: source });
    const done = (r: 'open' | 'closed' | 'filtered'): void => {
      clearTimeout(t);
      s.destroy();
      resolve(r);
    };
    const t = setTimeout(() => done('filtered'), timeoutMs);
    s.once('connect', () => done('open'));
    s.once('error', () => done('closed'));
  });
}

async function scan(o: ScanOptions): Promise<void> {
  const t0 = Date.now();
  const jobs = o.targets.flatMap((t) => t.tcp.map((port) => ({ host: t.host, port })));
  const result = { tcpProbes: jobs.length, open: 0, closed: 0, filtered: 0, udpProbes: 0, udpReplies: 0 };
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(o.concurrency, jobs.length) }, async () => {
    while (next < jobs.length) {
      const j = jobs[next++]!;
      result[await probe(o.source, j.host, j.port, o.timeoutMs)]++;
    }
  }));
  const udp = createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, o.source, () => r()));
  udp.on('message', () => result.udpReplies++);
  for (const t of o.targets) {
    for (const port of t.udp) {
      await new Promise<void>((r) => udp.send(`scan ${port}`, port, t.host, () => r()));
      result.udpProbes++;
    }
  }
  await sleep(o.timeoutMs);
  udp.close();
  out({ event: 'scan', ...result, ms: Date.now() - t0 });
}

interface FloodOptions {
  source: string;
  host: string;
  port: number;
  /** connects per second */
  rate: number;
  durationMs: number;
  /** a connect not answered by then is abandoned (before the kernel's first SYN retransmission at 1 s) */
  holdMs: number;
}

async function flood(o: FloodOptions): Promise<void> {
  const r = { attempts: 0, connected: 0, errors: 0, abandoned: 0 };
  const t0 = Date.now();
  out({ event: 'start', at: t0 });
  const open = new Set<Socket>();
  const tickMs = 10;
  let due = 0;
  while (Date.now() - t0 < o.durationMs) {
    due += (o.rate * tickMs) / 1000;
    while (due >= 1) {
      due -= 1;
      r.attempts++;
      const s = connect({ host: o.host, port: o.port, localAddress: o.source });
      open.add(s);
      const t = setTimeout(() => {
        r.abandoned++;
        open.delete(s);
        s.destroy();
      }, o.holdMs);
      s.once('connect', () => {
        r.connected++;
        clearTimeout(t);
        open.delete(s);
        s.destroy();
      });
      s.once('error', () => {
        r.errors++;
        clearTimeout(t);
        open.delete(s);
        s.destroy();
      });
    }
    await sleep(tickMs);
  }
  const t1 = Date.now();
  await sleep(o.holdMs + 50);
  for (const s of open) s.destroy();
  out({ event: 'end', ...r, startedAt: t0, endedAt: t1, ms: t1 - t0 });
}

interface UdpManyOptions {
  source: string;
  host: string;
  port: number;
  count: number;
  /** keep the sockets (sessions) open this long after every reply came, then exit */
  holdMs: number;
}

async function udpMany(o: UdpManyOptions): Promise<void> {
  const t0 = Date.now();
  const sockets: UdpSocket[] = [];
  const got = new Uint8Array(o.count);
  let wrong = 0;
  let replies = 0;
  const locals = new Set<number>();
  for (let i = 0; i < o.count; i++) {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, o.source, () => r()));
    locals.add(s.address().port);
    s.on('message', (msg, rinfo) => {
      replies++;
      if (msg.toString() === `nat ${i}` && rinfo.address === o.host && rinfo.port === o.port) got[i] = 1;
      else wrong++;
    });
    sockets.push(s);
  }
  const send = async (i: number): Promise<void> => new Promise<void>((r) => sockets[i]!.send(`nat ${i}`, o.port, o.host, () => r()));
  let sent = 0;
  for (let round = 0; round < 4; round++) {
    const missing = [...got.keys()].filter((i) => got[i] === 0);
    if (missing.length === 0) break;
    for (let k = 0; k < missing.length; k++) {
      await send(missing[k]!);
      sent++;
      if (k % 100 === 99) await sleep(5); // paced in bursts of 100
    }
    const deadline = Date.now() + 1500;
    while (Date.now() < deadline && got.some((v) => v === 0)) await sleep(20);
  }
  const answered = got.reduce((a, v) => a + v, 0);
  out({ event: 'ready', sockets: o.count, distinctLocalPorts: locals.size, sent, replies, answered, wrong, ms: Date.now() - t0 });
  await sleep(o.holdMs);
  for (const s of sockets) s.close();
  out({ event: 'end' });
}

interface HttpManyOptions {
  source: string;
  host: string;
  port: number;
  count: number;
  concurrency: number;
}

function get(o: HttpManyOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: o.host, port: o.port, path: '/', localAddress: o.source, agent: false, timeout: 5000, headers: { Connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(/Served by (\S+?) /.exec(body)?.[1] ?? `status ${res.statusCode}`));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function httpMany(o: HttpManyOptions): Promise<void> {
  const t0 = Date.now();
  const servedBy: Record<string, number> = {};
  let errors = 0;
  let next = 0;
  await Promise.all(Array.from({ length: o.concurrency }, async () => {
    while (next < o.count) {
      next++;
      try {
        const who = await get(o);
        servedBy[who] = (servedBy[who] ?? 0) + 1;
      } catch {
        errors++;
      }
    }
  }));
  out({ event: 'http-many', count: o.count, servedBy, errors, ms: Date.now() - t0 });
}

interface TlsServerOptions {
  host: string;
  port: number;
  cert: string;
  key: string;
  delayMs: number;
}

async function tlsServer(o: TlsServerOptions): Promise<void> {
  const server = createServer({ cert: readFileSync(o.cert), key: readFileSync(o.key) }, (req, res) => {
    const sni = (req.socket as unknown as { servername?: string }).servername ?? '';
    setTimeout(() => {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(`tls ok, sni ${sni}\n`);
    }, o.delayMs);
  });
  await new Promise<void>((r) => server.listen(o.port, o.host, () => r()));
  out({ event: 'listening', host: o.host, port: o.port });
  const stop = (): void => void server.close(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

const [cmd, json] = process.argv.slice(2);
const opts = JSON.parse(json ?? '{}') as never;
const commands: Record<string, (o: never) => Promise<void>> = { scan, flood, 'udp-many': udpMany, 'http-many': httpMany, 'tls-server': tlsServer };
const fn = commands[cmd ?? ''];
if (fn === undefined) {
  process.stderr.write(`usage: plugins-tools.js ${Object.keys(commands).join('|')} '<json>'\n`);
  process.exit(2);
}
fn(opts).catch((e: Error) => {
  process.stderr.write(`${cmd}: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
