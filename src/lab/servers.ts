/**
 * The lab's servers (`svr lab serve`, run inside <prefix>-server):
 * - HTTP: `/` a short page naming the lab, `/bytes/<n>` n deterministic pseudo-random bytes (streamed,
 *   with `X-Sha256` and Content-Length), `/health` "ok". Every response has `X-Client-Address`: the
 *   peer address as the server sees it (through SVR it must be the client's own address).
 * - UDP echo: every datagram goes back to its sender unchanged.
 * - UDP stream receiver (stream.ts): counts per stream, served as JSON at `/stream-stats` (all streams)
 *   and `/stream-stats/<id>`.
 * One log line per request/echoed datagram (per stream: when it starts and ends) on stdout. Each
 * listener is optional (`svr lab serve --http off`), e.g. for a bare UDP echo on a link address.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { startStreamReceiver, type StreamReceiver } from './stream.js';

const CHUNK = 256 * 1024;
const ZEROS = Buffer.alloc(CHUNK);
const KEY = createHash('sha256').update('svrouter lab bytes').digest().subarray(0, 16);
/** Upper bound of /bytes/<n> (64 GiB). */
export const MAX_BYTES = 64 * 1024 ** 3;

/** Chunks of the deterministic byte stream (AES-128-CTR keystream; same n, same bytes). */
export function* byteChunks(n: number): Generator<Buffer> {
  const cipher = createCipheriv('aes-128-ctr', KEY, Buffer.alloc(16));
  let left = n;
  while (left > 0) {
    const k = Math.min(CHUNK, left);
    yield cipher.update(k === CHUNK ? ZEROS : ZEROS.subarray(0, k));
    left -= k;
  }
}

const digests = new Map<number, Promise<string>>();

/** sha256 hex of the first n bytes: computed in a first pass (yielding to the event loop), cached per n. */
export function bytesSha256(n: number): Promise<string> {
  let p = digests.get(n);
  if (p === undefined) {
    p = (async () => {
      const h = createHash('sha256');
      let i = 0;
      for (const c of byteChunks(n)) {
        h.update(c);
        if (++i % 64 === 0) await new Promise((r) => setImmediate(r));
      }
      return h.digest('hex');
    })();
    digests.set(n, p);
    if (digests.size > 64) digests.delete(digests.keys().next().value!);
  }
  return p;
}

function page(lab: string, client: string, server: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>svrouter lab</title></head>
<body>
<h1>svrouter lab ${lab}</h1>
<p>Served by ${server} in namespace ${lab}-server, behind router r2.</p>
<p>You are ${client}: the server sees the client's own address, carried across r1 and r2 by Secure Vector Routing.</p>
<p>Try <a href="/bytes/10485760">/bytes/10485760</a> (10 MiB, sha256 in the X-Sha256 header) or <a href="/health">/health</a>.</p>
</body></html>
`;
}

export interface HostPort {
  host: string;
  port: number;
}

export interface ServeOptions {
  http?: HostPort;
  udp?: HostPort;
  stream?: HostPort;
  /** Lab name for the page (the namespace prefix). */
  lab: string;
  log: (line: string) => void;
}

export interface LabServers {
  http?: Server;
  udp?: Socket;
  stream?: StreamReceiver;
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, value: unknown): void {
  const body = `${JSON.stringify(value, null, 2)}\n`;
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

async function handle(req: IncomingMessage, res: ServerResponse, opts: ServeOptions, stream: StreamReceiver | undefined): Promise<void> {
  const client = req.socket.remoteAddress ?? 'unknown';
  const from = `${client}:${req.socket.remotePort ?? 0}`;
  res.setHeader('X-Client-Address', client);
  const url = (req.url ?? '/').split('?')[0]!;
  const m = /^\/bytes\/(\d{1,12})$/.exec(url);
  const st = /^\/stream-stats(?:\/(\d{1,10}))?$/.exec(url);
  if (st !== null) {
    if (stream === undefined) json(res, 404, { error: 'no stream receiver (svr lab serve --stream)' });
    else if (st[1] === undefined) json(res, 200, { streams: stream.all() });
    else {
      const one = stream.get(Number(st[1]));
      if (one === undefined) json(res, 404, { error: `no stream ${st[1]} seen` });
      else json(res, 200, one);
    }
  } else if (url === '/' || url === '/index.html') {
    const body = page(opts.lab, client, `${opts.http?.host ?? ''}`);
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  } else if (url === '/health') {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 3 });
    res.end(req.method === 'HEAD' ? undefined : 'ok\n');
  } else if (m !== null && Number(m[1]) <= MAX_BYTES) {
    const n = Number(m[1]);
    const sha = await bytesSha256(n);
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': n, 'X-Sha256': sha });
    if (req.method === 'HEAD') res.end();
    else await pipeline(Readable.from(byteChunks(n), { objectMode: false }), res);
  } else {
    const body = m !== null ? `at most ${MAX_BYTES} bytes\n` : 'not found: try /, /bytes/<n>, /stream-stats or /health\n';
    res.writeHead(m !== null ? 400 : 404, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  }
  opts.log(`http ${req.method} ${url} from ${from} ${res.statusCode}`);
}

/** Starts the servers that have an address; resolves once they listen. */
export async function startServers(opts: ServeOptions): Promise<LabServers> {
  const out: LabServers = { close: async () => undefined };
  try {
    if (opts.stream !== undefined) out.stream = await startStreamReceiver(opts.stream.host, opts.stream.port, opts.log);
    if (opts.udp !== undefined) {
      const udp = createSocket(opts.udp.host.includes(':') ? 'udp6' : 'udp4');
      udp.on('message', (msg, rinfo) => {
        udp.send(msg, rinfo.port, rinfo.address);
        opts.log(`udp ${msg.length} bytes from ${rinfo.address}:${rinfo.port} echoed`);
      });
      out.udp = udp;
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(opts.udp!.port, opts.udp!.host, () => resolve());
      });
    }
    if (opts.http !== undefined) {
      const stream = out.stream;
      const http = createServer((req, res) => {
        handle(req, res, opts, stream).catch((e: Error) => {
          opts.log(`http ${req.method} ${req.url} failed: ${e.message}`);
          res.destroy();
        });
      });
      out.http = http;
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        http.listen(opts.http!.port, opts.http!.host, () => resolve());
      });
    }
  } catch (e) {
    out.stream?.close();
    out.udp?.close();
    out.http?.close();
    throw e;
  }
  out.close = async () => {
    out.stream?.close();
    out.udp?.close();
    if (out.http !== undefined) {
      const http = out.http;
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
    }
  };
  return out;
}

/** "198.18.3.20:80" -> { host, port } */
export function parseHostPort(s: string): { host: string; port: number } | undefined {
  const i = s.lastIndexOf(':');
  if (i <= 0) return undefined;
  const port = Number(s.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) return undefined;
  return { host: s.slice(0, i), port };
}
