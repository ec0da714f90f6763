/**
 * The arithmetic of bench/session-cost.ts, apart so a unit test holds it: which 5-tuple the n-th new session
 * uses, the datagram written for it, and the figures the run prints from what it measured.
 */
import { writeU16 } from '../src/packet/checksum.js';
import { fillIpv4HeaderChecksum } from '../src/packet/rewrite.js';

/** Source addresses x.x.x.128-191, source ports 20000-59999, then the next destination port: distinct for 64 × 40,000 × 1,024 sessions. */
export const SOURCES = 64;
export const SOURCE_PORTS = 40_000;
export const FIRST_SOURCE_PORT = 20_000;
export const DESTINATION_PORTS = 1024;

export interface SessionTuple {
  /** the source address's last byte */
  srcLastByte: number;
  srcPort: number;
  dstPort: number;
}

/** The n-th session's varying fields, from `firstDstPort` (the service's first UDP port). */
export function sessionTuple(n: number, firstDstPort: number): SessionTuple {
  return {
    srcLastByte: 128 + (n % SOURCES),
    srcPort: FIRST_SOURCE_PORT + (Math.floor(n / SOURCES) % SOURCE_PORTS),
    dstPort: firstDstPort + (Math.floor(n / (SOURCES * SOURCE_PORTS)) % DESTINATION_PORTS),
  };
}

/** Which session an answer belongs to: n from the client's side of its tuple (sessionTuple inverted). */
export function sessionIndex(srcLastByte: number, srcPort: number, dstPort: number, firstDstPort: number): number {
  return (srcLastByte - 128) + SOURCES * (srcPort - FIRST_SOURCE_PORT) + SOURCES * SOURCE_PORTS * (dstPort - firstDstPort);
}

/**
 * The run's closed loop: at most `size` sessions in flight, sent `chunk` at a time. A session leaves the window
 * when answered, or `lostMs` after it was sent unanswered, counted lost (an answer that comes later still counts
 * as answered). Without the loss rule one burst the routers dropped held the window shut and the run stopped
 * part-way: at load 20 the process stalls for seconds in its cold start, past the routers' own timers (2 s UDP idle
 * timeout, time-based HMAC's 2 s slots, 3 s of handshake probes), and those sessions are never answered.
 */
export class SessionWindow {
  answered = 0;
  lost = 0;
  sent = 0;
  /** per session: 0 in flight, 1 answered, 2 counted lost */
  private readonly state: Uint8Array;
  /** per chunk: when it was sent */
  private readonly sentAt: Float64Array;
  /** the first chunk not yet looked at for losses */
  private swept = 0;

  constructor(readonly total: number, readonly size: number, readonly chunk: number, readonly lostMs: number) {
    const chunks = Math.ceil(total / chunk);
    this.state = new Uint8Array(chunks * chunk);
    this.sentAt = new Float64Array(chunks);
  }

  canSend(): boolean {
    return this.sent < this.total && this.sent - this.answered - this.lost < this.size;
  }

  /** The next chunk went out at `now` (ms); its first session's index. */
  sendChunk(now: number): number {
    this.sentAt[this.sent / this.chunk] = now;
    const first = this.sent;
    this.sent += this.chunk;
    return first;
  }

  /** Session n was answered (a repeat, or one never sent, is ignored). */
  answer(n: number): void {
    if (!(n >= 0 && n < this.sent) || this.state[n] === 1) return;
    if (this.state[n] === 2) this.lost--;
    this.state[n] = 1;
    this.answered++;
  }

  /** Counts lost the unanswered sessions of every chunk sent `lostMs` or longer before `now`. */
  sweep(now: number): void {
    for (; this.swept * this.chunk < this.sent && now - this.sentAt[this.swept]! >= this.lostMs; this.swept++) {
      for (let n = this.swept * this.chunk; n < (this.swept + 1) * this.chunk; n++) {
        if (this.state[n] !== 0) continue;
        this.state[n] = 2;
        this.lost++;
      }
    }
  }

  /** Every session sent, each answered or lost. */
  finished(): boolean {
    return this.sent >= this.total && this.answered + this.lost >= this.sent;
  }
}

/**
 * Writes the n-th session's datagram at `at` in `batch`: the IPv4/UDP template with the session's source
 * address and ports, a fresh IPv4 header checksum (the source changed) and the UDP checksum off (0: none, IPv4).
 */
export function writeSessionDatagram(batch: Uint8Array, at: number, template: Uint8Array, n: number, firstDstPort: number): void {
  const s = sessionTuple(n, firstDstPort);
  batch.set(template, at);
  batch[at + 15] = s.srcLastByte;
  writeU16(batch, at + 20, s.srcPort);
  writeU16(batch, at + 22, s.dstPort);
  writeU16(batch, at + 26, 0);
  fillIpv4HeaderChecksum(batch, at);
}

export interface CostFigures {
  /** process CPU (user + system) over the run, µs */
  cpuUs: number;
  answered: number;
  /** from the first session sent to the last answer, ms */
  busyMs: number;
}

/** CPU µs per answered session (every part in the process: both routers, the client, the echo), answered per busy second, CPU s. */
export function costSummary(f: CostFigures): { usPerSession: number; perSecond: number; cpuS: number } {
  return {
    usPerSession: +(f.cpuUs / Math.max(1, f.answered)).toFixed(2),
    perSecond: Math.round(f.answered / Math.max(1e-3, f.busyMs / 1000)),
    cpuS: +(f.cpuUs / 1e6).toFixed(2),
  };
}
