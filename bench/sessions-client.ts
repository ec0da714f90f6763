/**
 * New sessions as fast as possible for `--seconds`, run in the client namespace. Every session is a new
 * 5-tuple, used once, and counts as ok when the server answered:
 *   udp: one datagram from socket s (s = 0..S-1: --sources x --per-source sockets) to port p of --ports,
 *        answered by the echo; tuple i -> (i mod S, from + floor(i / S) mod D)
 *   tcp: connect from (source, port) to --server:--port, read the server's byte, close
 * `--window` sessions are in flight at once. Prints one JSON object (SessionsResult).
 */
import { createSocket, type Socket } from 'node:dgram';
import { connect } from 'node:net';

export interface SessionsResult {
  protocol: 'udp' | 'tcp';
  seconds: number;
  attempted: number;
  ok: number;
  failed: number;
  /** tuple space used up before the time was over */
  exhausted: boolean;
  okPerSecond: number;
  /** which client measured: this one ('node') or bench/c/udp-load.c ('c') */
  client?: 'node' | 'c';
}

function arg(name: string, def?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : def;
  if (v === undefined) throw new Error(`--${name} is required`);
  return v;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function udp(server: string, sources: string[], perSource: number, from: number, to: number, window: number, seconds: number): Promise<SessionsResult> {
  const socks: Socket[] = [];
  for (const src of sources) {
    for (let k = 0; k < perSource; k++) {
      const s = createSocket('udp4');
      await new Promise<void>((r) => s.bind(0, src, () => r()));
      socks.push(s);
    }
  }
  const S = socks.length;
  const D = to - from + 1;
  const space = S * D;
  const pending = new Map<number, number>(); // s * 65536 + port -> sent at (ms)
  const payload = Buffer.from('svb-session');
  let next = 0;
  let ok = 0;
  let failed = 0;
  let running = true;
  const issue = (): void => {
    if (!running || next >= space) return;
    const i = next++;
    const s = i % S;
    const port = from + (Math.floor(i / S) % D);
    pending.set(s * 65536 + port, Date.now());
    socks[s]!.send(payload, port, server);
  };
  socks.forEach((sock, s) => sock.on('message', (_m, rinfo) => {
    if (pending.delete(s * 65536 + rinfo.port)) {
      ok++;
      issue();
    }
  }));
  const t0 = Date.now();
  for (let k = 0; k < window; k++) issue();
  while (Date.now() - t0 < seconds * 1000 && next < space) {
    await sleep(100);
    const now = Date.now();
    for (const [key, at] of pending) {
      if (now - at > 1000) {
        pending.delete(key);
        failed++;
        issue();
      }
    }
  }
  running = false;
  const elapsed = (Date.now() - t0) / 1000;
  await sleep(1000); // late answers still count
  failed += pending.size;
  for (const s of socks) s.close();
  return { protocol: 'udp', seconds: elapsed, attempted: next, ok, failed, exhausted: next >= space, okPerSecond: ok / elapsed };
}

async function tcp(server: string, port: number, sources: string[], window: number, seconds: number): Promise<SessionsResult> {
  const PORT_FROM = 20000;
  const PORT_TO = 59999;
  const perSource = PORT_TO - PORT_FROM + 1;
  const space = sources.length * perSource;
  let next = 0;
  let ok = 0;
  let failed = 0;
  let inFlight = 0;
  let running = true;
  const issue = (): void => {
    if (!running || next >= space) return;
    const i = next++;
    const src = sources[i % sources.length]!;
    const localPort = PORT_FROM + Math.floor(i / sources.length);
    inFlight++;
    let got = false;
    let finished = false;
    const c = connect({ host: server, port, localAddress: src, localPort });
    const done = (good: boolean): void => {
      if (finished) return;
      finished = true;
      inFlight--;
      if (good) ok++;
      else failed++;
      issue();
    };
    c.setTimeout(2000, () => c.destroy());
    c.on('data', () => (got = true));
    c.on('error', () => undefined);
    c.on('close', () => done(got));
  };
  const t0 = Date.now();
  for (let k = 0; k < window; k++) issue();
  while (Date.now() - t0 < seconds * 1000 && next < space) await sleep(50);
  running = false;
  const elapsed = (Date.now() - t0) / 1000;
  const deadline = Date.now() + 3000;
  while (inFlight > 0 && Date.now() < deadline) await sleep(20);
  failed += inFlight;
  return { protocol: 'tcp', seconds: elapsed, attempted: next, ok, failed, exhausted: next >= space, okPerSecond: ok / elapsed };
}

async function main(): Promise<void> {
  const proto = arg('protocol');
  const server = arg('server');
  const sources = arg('sources').split(',');
  const window = Number(arg('window', '128'));
  const seconds = Number(arg('seconds', '5'));
  let res: SessionsResult;
  if (proto === 'udp') {
    const [from, to] = arg('ports').split('-').map(Number);
    res = await udp(server, sources, Number(arg('per-source', '32')), from!, to!, window, seconds);
  } else {
    res = await tcp(server, Number(arg('port')), sources, window, seconds);
  }
  process.stdout.write(JSON.stringify(res) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`sessions-client: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
