/**
 * Serves the control protocol (control-protocol.ts) on a Unix socket. Each request is answered by the
 * handler; a malformed line gets an error response, never a crash.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { rmSync } from 'node:fs';
import { isSvrError } from '../errors.js';
import type { ControlRequest, ControlResponse } from './control-protocol.js';

export type ControlHandler = (req: ControlRequest) => Promise<unknown> | unknown;

const MAX_LINE = 64 * 1024;

export class ControlServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  private constructor(readonly path: string, handler: ControlHandler) {
    this.server = createServer((sock) => {
      this.sockets.add(sock);
      sock.on('close', () => this.sockets.delete(sock));
      sock.on('error', () => sock.destroy());
      let buf = '';
      sock.setEncoding('utf8');
      sock.on('data', (chunk: string) => {
        buf += chunk;
        if (buf.length > MAX_LINE && !buf.includes('\n')) {
          sock.end(JSON.stringify({ id: 0, error: { code: 'SVR_ERR_CONTROL_REQUEST', message: 'request line too long' } }) + '\n');
          return;
        }
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim() !== '') void this.answer(sock, line, handler);
        }
      });
    });
  }

  /** Listens on `path` (a stale socket file from a crashed node is replaced). */
  static async listen(path: string, handler: ControlHandler): Promise<ControlServer> {
    rmSync(path, { force: true });
    const s = new ControlServer(path, handler);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(path, () => resolve());
    });
    return s;
  }

  private async answer(sock: Socket, line: string, handler: ControlHandler): Promise<void> {
    let id = 0;
    let res: ControlResponse;
    try {
      const req = JSON.parse(line) as ControlRequest;
      id = typeof req.id === 'number' ? req.id : 0;
      res = { id, result: await handler(req) };
    } catch (e) {
      const code = isSvrError(e) ? e.code : e instanceof SyntaxError ? 'SVR_ERR_CONTROL_REQUEST' : 'SVR_ERR_CONTROL_REQUEST';
      res = { id, error: { code, message: e instanceof Error ? e.message : String(e) } };
    }
    if (!sock.destroyed) sock.write(JSON.stringify(res) + '\n');
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.path, { force: true });
  }
}
