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
  const sock = createSocket('udp4');
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
