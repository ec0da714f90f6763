/**
 * The FPM listener: zebra's dplane_fpm_nl module connects to it over TCP and streams the routes zebra
 * selected, each frame a 4-byte FPM header (version 1, type 1 = netlink, u16 length in network order
 * including the header; FRR's fpm/fpm.h) around netlink route messages (netlink.ts).
 *
 * Bounded: a connection buffers at most one frame (<= 65535 bytes) plus one read; a header that breaks
 * the rules (version, type, length < 4) means the stream cannot be framed any more: counted, the
 * connection is closed (zebra reconnects and sends its routes again). A malformed netlink message inside
 * a good frame is counted and skipped. One connection at a time: a newer one replaces the older.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { decodeNetlink, type RouteMessage } from './netlink.js';

export const FPM_HEADER_LEN = 4;
export const FPM_VERSION = 1;
export const FPM_TYPE_NETLINK = 1;
/** the longest frame the u16 length allows */
export const FPM_MAX_FRAME = 0xffff;

export interface FpmCounters {
  connections: number;
  frames: number;
  routesAdded: number;
  routesDeleted: number;
  /** netlink messages of other types (next-hop groups, ...) */
  ignored: number;
  /** netlink messages or frames that broke a rule */
  malformed: number;
}

/** Splits a byte stream into FPM frames; `push` returns false (and stops) at a header that cannot be framed. */
export class FpmFramer {
  #buf = new Uint8Array(0);
  #problem: string | undefined;

  constructor(private readonly onFrame: (payload: Uint8Array) => void) {}

  /** why the stream stopped being framed, or undefined */
  get problem(): string | undefined {
    return this.#problem;
  }

  push(chunk: Uint8Array): boolean {
    if (this.#problem !== undefined) return false;
    let buf = this.#buf.length === 0 ? chunk : concat(this.#buf, chunk);
    let at = 0;
    while (buf.length - at >= FPM_HEADER_LEN) {
      const version = buf[at]!;
      const type = buf[at + 1]!;
      const len = (buf[at + 2]! << 8) | buf[at + 3]!;
      if (version !== FPM_VERSION || type !== FPM_TYPE_NETLINK || len < FPM_HEADER_LEN) {
        this.#problem = `FPM header version ${version} type ${type} length ${len} (expected version 1, type 1 netlink, length >= 4)`;
        this.#buf = new Uint8Array(0);
        return false;
      }
      if (buf.length - at < len) break;
      this.onFrame(buf.subarray(at + FPM_HEADER_LEN, at + len));
      at += len;
    }
    buf = buf.subarray(at);
    // keep only the partial frame (at most FPM_MAX_FRAME - 1 bytes): copied, so the socket's chunk can go
    this.#buf = buf.length === 0 ? new Uint8Array(0) : Uint8Array.from(buf);
    return true;
  }
}

export interface FpmListenerOptions {
  port: number;
  host?: string;
  /** the route messages of one read (one call per socket read, not per route) */
  onRoutes: (routes: RouteMessage[]) => void;
  /** zebra connected (it sends its whole table again) */
  onConnect?: () => void;
  /** zebra's connection closed or was closed (malformed stream) */
  onDisconnect?: (why: string) => void;
  onMalformed?: (why: string) => void;
}

export class FpmListener {
  readonly counters: FpmCounters = { connections: 0, frames: 0, routesAdded: 0, routesDeleted: 0, ignored: 0, malformed: 0 };
  #server: Server | undefined;
  #socket: Socket | undefined;

  constructor(private readonly o: FpmListenerOptions) {}

  /** the port listened on (the one asked, or the one the system chose for port 0) */
  get port(): number {
    const a = this.#server?.address();
    return typeof a === 'object' && a !== null ? a.port : this.o.port;
  }

  get connected(): boolean {
    return this.#socket !== undefined;
  }

  listen(): Promise<void> {
    const server = createServer((socket) => this.#accept(socket));
    this.#server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.port, this.o.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    this.#socket?.destroy();
    this.#socket = undefined;
    const server = this.#server;
    this.#server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #accept(socket: Socket): void {
    this.#socket?.destroy();
    this.#socket = socket;
    this.counters.connections++;
    this.o.onConnect?.();
    const framer = new FpmFramer((payload) => this.#frame(payload, batch));
    let batch: RouteMessage[] = [];
    socket.on('data', (chunk: Buffer) => {
      batch = [];
      const ok = framer.push(chunk);
      if (batch.length > 0) this.o.onRoutes(batch);
      if (!ok) {
        this.counters.malformed++;
        this.o.onMalformed?.(framer.problem!);
        socket.destroy();
      }
    });
    socket.on('error', () => {}); // 'close' follows
    socket.on('close', () => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      this.o.onDisconnect?.(framer.problem ?? 'zebra closed the FPM connection');
    });
  }

  #frame(payload: Uint8Array, batch: RouteMessage[]): void {
    this.counters.frames++;
    for (const d of decodeNetlink(payload, 0, payload.length)) {
      if (d.kind === 'route') {
        batch.push(d.route);
        if (d.route.op === 'add') this.counters.routesAdded++;
        else this.counters.routesDeleted++;
      } else if (d.kind === 'ignored') this.counters.ignored++;
      else {
        this.counters.malformed++;
        this.o.onMalformed?.(d.why);
      }
    }
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
