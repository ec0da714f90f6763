/**
 * A tiny newline-delimited JSON request/response protocol on a Unix socket, for the lab's link
 * emulators (the same shape as the node control socket: `{"id":1,"method":"status"}` ->
 * `{"id":1,"result":{...}}` or `{"id":1,"error":{"code":"SVR_ERR_...","message":"..."}}`), so
 * `socat - UNIX:/tmp/svr-lab/link1.sock` works too. Unix sockets are files: reachable from every
 * network namespace.
 */
import { rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { isSvrError, SvrError } from '../errors.js';

const MAX_LINE = 64 * 1024;

export type JsonHandler = (req: Record<string, unknown>) => Promise<unknown> | unknown;

export interface JsonLineServer {
  path: string;
  close(): Promise<void>;
}

export async function serveJsonLines(path: string, handler: JsonHandler): Promise<JsonLineServer> {
  const sockets = new Set<Socket>();
  const answer = async (sock: Socket, line: string): Promise<void> => {
    let id = 0;
    let res: unknown;
    try {
      const req = JSON.parse(line) as unknown;
      if (typeof req !== 'object' || req === null || Array.isArray(req)) throw new SvrError('SVR_ERR_LAB_EMULATOR', 'a request is one JSON object per line');
      const r = req as Record<string, unknown>;
      id = typeof r['id'] === 'number' ? r['id'] : 0;
      res = { id, result: await handler(r) };
    } catch (e) {
      res = { id, error: { code: isSvrError(e) ? e.code : 'SVR_ERR_LAB_EMULATOR', message: e instanceof Error ? e.message : String(e) } };
    }
    if (!sock.destroyed) sock.write(JSON.stringify(res) + '\n');
  };
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_LINE && !buf.includes('\n')) {
        sock.end(JSON.stringify({ id: 0, error: { code: 'SVR_ERR_LAB_EMULATOR', message: 'request line too long' } }) + '\n');
        return;
      }
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim() !== '') void answer(sock, line);
      }
    });
  });
  rmSync(path, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  return {
    path,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(path, { force: true });
    },
  };
}

/** One request; rejects with SVR_ERR_LAB_EMULATOR naming the socket (`what` names the peer in messages). */
export function requestJsonLine(path: string, body: Record<string, unknown>, what: string, timeoutMs = 3000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new SvrError('SVR_ERR_LAB_EMULATOR', `no answer from ${what} at ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify({ id: 1, ...body }) + '\n'));
    sock.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      sock.end();
      try {
        const res = JSON.parse(buf.slice(0, nl)) as { result?: unknown; error?: { code: string; message: string } };
        if (res.error !== undefined) reject(new SvrError('SVR_ERR_LAB_EMULATOR', `${what}: ${res.error.message} [${res.error.code}]`));
        else resolve(res.result);
      } catch (e) {
        reject(new SvrError('SVR_ERR_LAB_EMULATOR', `${what} at ${path} sent an unreadable answer: ${(e as Error).message}`));
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = e.code === 'ENOENT' ? 'the socket does not exist (is the lab up? did the emulator crash? see its log in the lab dir)'
        : e.code === 'ECONNREFUSED' ? 'nobody is listening (the emulator stopped or crashed)' : e.message;
      reject(new SvrError('SVR_ERR_LAB_EMULATOR', `cannot reach ${what} at ${path}: ${why}`));
    });
  });
}
