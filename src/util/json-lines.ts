/**
 * Newline-delimited JSON request/response on a Unix socket: `{"id":1,"method":"..."}` ->
 * `{"id":1,"result":...}` or `{"id":1,"error":{"code":"SVR_ERR_...","message":"..."}}`. The node control
 * socket and the lab's link emulators speak it (`socat - UNIX:<socket>` works too). Unix sockets are
 * files, reachable from every network namespace. A malformed line gets an error answer, never a crash.
 */
import { rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { isSvrError, SvrError, type ErrorCode } from '../errors.js';

const MAX_LINE = 64 * 1024;

export type JsonHandler = (req: Record<string, unknown>) => Promise<unknown> | unknown;

export interface JsonLineServer {
  readonly path: string;
  close(): Promise<void>;
}

/** Serves `handler` on `path` (a stale socket file is replaced); `errorCode` codes answers to bad requests. */
export async function serveJsonLines(path: string, handler: JsonHandler, errorCode: ErrorCode): Promise<JsonLineServer> {
  const sockets = new Set<Socket>();
  const answer = async (sock: Socket, line: string): Promise<void> => {
    let id = 0;
    let res: unknown;
    try {
      const req = JSON.parse(line) as unknown;
      if (typeof req !== 'object' || req === null || Array.isArray(req)) throw new SvrError(errorCode, 'a request is one JSON object per line');
      const r = req as Record<string, unknown>;
      id = typeof r['id'] === 'number' ? r['id'] : 0;
      res = { id, result: await handler(r) };
    } catch (e) {
      res = { id, error: { code: isSvrError(e) ? e.code : errorCode, message: e instanceof Error ? e.message : String(e) } };
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
        sock.end(JSON.stringify({ id: 0, error: { code: errorCode, message: 'request line too long' } }) + '\n');
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

export interface JsonRequestOptions {
  /** names the peer in messages, e.g. "the node" */
  what: string;
  /** code of connection failures and timeouts */
  connectCode: ErrorCode;
  /** code of an error answer */
  answerCode: ErrorCode;
  /** why ENOENT / ECONNREFUSED, in the peer's terms */
  hints: { missing: string; refused: string };
  timeoutMs: number;
}

/** One request; resolves with the result, rejects with an SvrError naming the socket. */
export function requestJsonLine(path: string, body: Record<string, unknown>, o: JsonRequestOptions): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new SvrError(o.connectCode, `no answer from ${o.what} at ${path} within ${o.timeoutMs} ms`));
    }, o.timeoutMs);
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
        if (res.error !== undefined) reject(new SvrError(o.answerCode, `${o.what}: ${res.error.message} [${res.error.code}]`));
        else resolve(res.result);
      } catch (e) {
        reject(new SvrError(o.answerCode, `${o.what} at ${path} sent an unreadable answer: ${(e as Error).message}`));
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = e.code === 'ENOENT' ? o.hints.missing : e.code === 'ECONNREFUSED' ? o.hints.refused : e.message;
      reject(new SvrError(o.connectCode, `cannot reach ${o.what} at ${path}: ${why}`));
    });
  });
}
