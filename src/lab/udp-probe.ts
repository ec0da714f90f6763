/**
 * `svr lab udp-probe`: sends datagrams from one UDP socket (one session) and waits for each echo.
 * Run inside the client namespace to exercise the echo service through the routers.
 */
import { createSocket } from 'node:dgram';
import { SvrError } from '../errors.js';

export interface ProbeOptions {
  host: string;
  port: number;
  message: string;
  /** Datagrams to send, one after the other (default 1). */
  count: number;
  timeoutMs: number;
  /** Bind to this source address (e.g. one in no tenant). */
  source?: string;
}

export interface ProbeReply {
  reply: string;
  from: string;
  rttMs: number;
}

/** Resolves with one reply per datagram; rejects with SVR_ERR_LAB_TIMEOUT when one gets no answer. */
export async function udpProbe(opts: ProbeOptions): Promise<ProbeReply[]> {
  const sock = createSocket(opts.host.includes(':') ? 'udp6' : 'udp4');
  const replies: ProbeReply[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, opts.source, () => resolve());
    });
    for (let i = 0; i < opts.count; i++) {
      const msg = opts.count === 1 ? opts.message : `${opts.message} ${i + 1}`;
      const t0 = process.hrtime.bigint();
      const got = new Promise<ProbeReply>((resolve, reject) => {
        const timer = setTimeout(() => {
          sock.removeAllListeners('message');
          reject(new SvrError('SVR_ERR_LAB_TIMEOUT', `no reply from ${opts.host}:${opts.port} to datagram ${i + 1} within ${opts.timeoutMs} ms`));
        }, opts.timeoutMs);
        sock.once('message', (buf, rinfo) => {
          clearTimeout(timer);
          resolve({ reply: buf.toString('utf8'), from: `${rinfo.address}:${rinfo.port}`, rttMs: Number(process.hrtime.bigint() - t0) / 1e6 });
        });
      });
      sock.send(msg, opts.port, opts.host);
      replies.push(await got);
    }
    return replies;
  } finally {
    sock.close();
  }
}

export interface PingOptions {
  host: string;
  port: number;
  message: string;
  count: number;
  /** ms between two datagrams */
  intervalMs: number;
  /** ms to wait for replies after the last datagram */
  timeoutMs: number;
  source?: string;
}

export interface PingResult {
  sent: number;
  received: number;
  lossPct: number;
  /** replies that matched no outstanding datagram (duplicates) */
  unexpected: number;
  rttMs: { min: number; avg: number; median: number; max: number };
}

/**
 * Ping mode (`udp-probe --interval`): `count` datagrams "<message> <n>" every `intervalMs` from one
 * socket (one session), replies matched by their text; loss is counted, not an error.
 */
export async function udpPing(opts: PingOptions): Promise<PingResult> {
  const sock = createSocket(opts.host.includes(':') ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, opts.source, () => resolve());
  });
  sock.on('error', () => undefined);
  const sentAt = new Map<string, bigint>();
  const rtts: number[] = [];
  let unexpected = 0;
  sock.on('message', (buf) => {
    const key = buf.toString('utf8');
    const t = sentAt.get(key);
    if (t === undefined) {
      unexpected++;
      return;
    }
    sentAt.delete(key);
    rtts.push(Number(process.hrtime.bigint() - t) / 1e6);
  });
  try {
    for (let i = 0; i < opts.count; i++) {
      const msg = `${opts.message} ${i + 1}`;
      sentAt.set(msg, process.hrtime.bigint());
      sock.send(msg, opts.port, opts.host);
      if (i < opts.count - 1) await new Promise((r) => setTimeout(r, opts.intervalMs));
    }
    const deadline = Date.now() + opts.timeoutMs;
    while (sentAt.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  } finally {
    sock.close();
  }
  const r3 = (x: number): number => Math.round(x * 1000) / 1000;
  const received = rtts.length;
  return {
    sent: opts.count,
    received,
    lossPct: r3((100 * (opts.count - received)) / opts.count),
    unexpected,
    rttMs: received === 0 ? { min: 0, avg: 0, median: 0, max: 0 } : {
      min: r3(Math.min(...rtts)), avg: r3(rtts.reduce((a, b) => a + b, 0) / received), median: r3(median(rtts)), max: r3(Math.max(...rtts)),
    },
  };
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const m = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[m]! : (sorted[m - 1]! + sorted[m]!) / 2;
}
