/**
 * A continuous UDP stream with sequence numbers, to measure what a session delivers while paths fail:
 * `svr lab send-stream` (in the client namespace) sends it, the stream receiver of `svr lab serve` (in
 * the server namespace) counts received, lost, duplicate and reordered datagrams per stream and the
 * one-way delay (both ends read the host's monotonic clock). Counts: `GET /stream-stats` on the lab's
 * HTTP server.
 *
 * Datagram (big-endian): "SVRS" | stream id u32 | seq u32 | send time u64 (ns, CLOCK_MONOTONIC) |
 * flags u8 (1 = end: seq is then the number of data datagrams sent) | zero padding to the size.
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';

export const STREAM_MAGIC = 0x53565253; // "SVRS"
export const STREAM_HEADER = 21;
export const FLAG_END = 1;
/** Highest sequence number tracked (the bitmap grows up to this many bits). */
const MAX_SEQ = 1 << 26;

export interface StreamStats {
  id: number;
  /** source address:port of the first datagram (the client's own address through SVR) */
  from: string;
  firstAt: string;
  lastAt: string;
  /** distinct data datagrams */
  received: number;
  /** data datagrams whose sequence number had been seen already */
  duplicates: number;
  /** datagrams that arrived after a higher sequence number */
  reordered: number;
  /** sent according to the end datagram, else highest sequence number + 1 */
  expected: number;
  lost: number;
  lossPct: number;
  /** the end datagram arrived */
  ended: boolean;
  /** one-way delay, ms */
  delayMs: { min: number; avg: number; max: number };
  /** longest time without a datagram between the first and the last, ms (a failover shows here) */
  maxGapMs: number;
}

class StreamState {
  seen = new Uint8Array(1024);
  received = 0;
  duplicates = 0;
  reordered = 0;
  maxSeq = -1;
  sent = -1;
  delaySum = 0;
  delayMin = Infinity;
  delayMax = 0;
  firstAt = Date.now();
  lastAt = Date.now();
  lastMono = 0;
  maxGapMs = 0;
  constructor(readonly id: number, readonly from: string) {}

  data(seq: number, sentNs: bigint, nowNs: bigint): void {
    const now = Number(nowNs) / 1e6;
    if (this.lastMono !== 0 && now - this.lastMono > this.maxGapMs) this.maxGapMs = now - this.lastMono;
    this.lastMono = now;
    this.lastAt = Date.now();
    if (seq >= MAX_SEQ) return;
    const byte = seq >>> 3;
    if (byte >= this.seen.length) {
      let n = this.seen.length;
      while (n <= byte) n *= 2;
      const grown = new Uint8Array(n);
      grown.set(this.seen);
      this.seen = grown;
    }
    const bit = 1 << (seq & 7);
    if ((this.seen[byte]! & bit) !== 0) {
      this.duplicates++;
      return;
    }
    this.seen[byte]! |= bit;
    this.received++;
    if (seq < this.maxSeq) this.reordered++;
    else this.maxSeq = seq;
    const d = Number(nowNs - sentNs) / 1e6;
    this.delaySum += d;
    if (d < this.delayMin) this.delayMin = d;
    if (d > this.delayMax) this.delayMax = d;
  }

  stats(): StreamStats {
    const expected = this.sent >= 0 ? this.sent : this.maxSeq + 1;
    const lost = Math.max(0, expected - this.received);
    const r3 = (x: number): number => Math.round(x * 1000) / 1000;
    return {
      id: this.id, from: this.from, firstAt: new Date(this.firstAt).toISOString(), lastAt: new Date(this.lastAt).toISOString(),
      received: this.received, duplicates: this.duplicates, reordered: this.reordered, expected, lost,
      lossPct: expected > 0 ? r3((100 * lost) / expected) : 0, ended: this.sent >= 0,
      delayMs: this.received > 0 ? { min: r3(this.delayMin), avg: r3(this.delaySum / this.received), max: r3(this.delayMax) } : { min: 0, avg: 0, max: 0 },
      maxGapMs: r3(this.maxGapMs),
    };
  }
}

export interface StreamReceiver {
  socket: Socket;
  /** every stream seen, oldest first */
  all(): StreamStats[];
  get(id: number): StreamStats | undefined;
  close(): void;
}

/**
 * The receiver's socket buffer: 4 MiB (the host's usual net.core.rmem_max) holds seconds of a 1,000/s stream, so a
 * receiver starved of CPU on a loaded host does not count the kernel's drops at its socket as the routers' losses
 * (the default 208 KiB held about 200 ms: e2e/ha-lab-switchover lost 107 datagrams there, none in the routers).
 */
const RECEIVE_BUFFER = 4 * 1024 * 1024;

/** Binds the receiver; `log` gets one line when a stream starts and one when it ends. */
export async function startStreamReceiver(host: string, port: number, log: (line: string) => void): Promise<StreamReceiver> {
  const socket = createSocket({ type: 'udp4', recvBufferSize: RECEIVE_BUFFER });
  const streams = new Map<number, StreamState>();
  socket.on('message', (msg, rinfo) => {
    const now = process.hrtime.bigint();
    if (msg.length < STREAM_HEADER || msg.readUInt32BE(0) !== STREAM_MAGIC) return;
    const id = msg.readUInt32BE(4);
    const seq = msg.readUInt32BE(8);
    let s = streams.get(id);
    if (s === undefined) {
      s = new StreamState(id, `${rinfo.address}:${rinfo.port}`);
      streams.set(id, s);
      if (streams.size > 1000) streams.delete(streams.keys().next().value!);
      log(`stream ${id} from ${s.from}: first datagram (seq ${seq})`);
    }
    if ((msg.readUInt8(20) & FLAG_END) !== 0) {
      if (s.sent < 0) {
        s.sent = seq;
        const st = s.stats();
        log(`stream ${id} from ${s.from}: ended, ${st.received} of ${st.expected} received, ${st.lost} lost, ${st.duplicates} duplicates, ${st.reordered} reordered`);
      }
      return;
    }
    s.data(seq, msg.readBigUInt64BE(12), now);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => resolve());
  });
  return {
    socket,
    all: () => [...streams.values()].map((s) => s.stats()),
    get: (id) => streams.get(id)?.stats(),
    close: () => socket.close(),
  };
}

export interface SendOptions {
  host: string;
  port: number;
  /** datagrams per second */
  rate: number;
  /** UDP payload bytes (>= STREAM_HEADER) */
  size: number;
  /** ms; 0 = until stop() */
  durationMs: number;
  id?: number;
  source?: string;
}

export interface StreamSender {
  id: number;
  /** local address:port (the session's original source) */
  local: string;
  /** resolves when the stream ended (duration over or stop()), with the count of data datagrams sent */
  done: Promise<{ id: number; local: string; sent: number; sendErrors: number; ms: number }>;
  stop(): void;
}

/** Starts sending; pacing: every millisecond tick sends what the rate owes since the start. */
export async function sendStream(o: SendOptions): Promise<StreamSender> {
  const id = o.id ?? randomInt(1, 0xffffffff);
  const sock = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, o.source, () => resolve());
  });
  sock.on('error', () => undefined); // e.g. ENETUNREACH while a route is gone: counted below
  // connected: the kernel picks the source address now, so `local` names the session's real source
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.connect(o.port, o.host, () => resolve());
  });
  const addr = sock.address();
  const local = `${addr.address}:${addr.port}`;
  const template = Buffer.alloc(o.size);
  template.writeUInt32BE(STREAM_MAGIC, 0);
  template.writeUInt32BE(id, 4);
  let sent = 0;
  let sendErrors = 0;
  const t0 = process.hrtime.bigint();
  let stopped = false;
  let finish: (v: { id: number; local: string; sent: number; sendErrors: number; ms: number }) => void = () => undefined;
  const done = new Promise<{ id: number; local: string; sent: number; sendErrors: number; ms: number }>((r) => (finish = r));
  const send = (seq: number, flags: number): void => {
    const buf = Buffer.from(template); // dgram may still hold the previous one
    buf.writeUInt32BE(seq, 8);
    buf.writeBigUInt64BE(process.hrtime.bigint(), 12);
    buf.writeUInt8(flags, 20);
    sock.send(buf, (err) => {
      if (err) sendErrors++;
    });
  };
  const end = (): void => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    // the end datagram says how many were sent; three copies, 20 ms apart, in case one is lost
    let n = 0;
    const tail = setInterval(() => {
      send(sent, FLAG_END);
      if (++n === 3) {
        clearInterval(tail);
        setTimeout(() => {
          sock.close();
          finish({ id, local, sent, sendErrors, ms });
        }, 20);
      }
    }, 20);
  };
  const timer = setInterval(() => {
    const elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const limit = o.durationMs > 0 ? Math.min(elapsedMs, o.durationMs) : elapsedMs;
    const total = o.durationMs > 0 ? Math.max(1, Math.round((o.durationMs * o.rate) / 1000)) : Infinity;
    const owed = Math.min(total, Math.floor((limit * o.rate) / 1000) + 1);
    while (sent < owed) send(sent++, 0);
    if (o.durationMs > 0 && elapsedMs >= o.durationMs) end();
  }, 1);
  return { id, local, done, stop: end };
}
