/**
 * TCP state per session row, both directions, in typed arrays (no allocation per packet).
 *
 * Every mode but `allow` enforces flags and the life cycle: a segment with an impossible flag set
 * (SYN+FIN, SYN+RST, FIN+RST, or none of SYN/ACK/RST) is `invalid-flags`; a SYN inside a live session or
 * data before the handshake is `invalid-state`; after an RST, or once both FINs are acknowledged, only
 * retransmitted FIN/ACKs pass and anything else is `after-close`.
 *
 * `strict` adds a sequence-window check per direction, in the manner of RFC 9293 §3.10.7.4 as a
 * middlebox can apply it (it sees ACKs before the endpoints do, so it is lenient toward the past):
 *   for a segment from side d to side e, with len counting SYN and FIN,
 *   1. seq <= limit[d]                   it starts inside what e allowed (e's highest ACK + window);
 *   2. seq + len >= acked[e] - maxWin[e] not older than e's largest window (retransmissions pass);
 *   3. with ACK: acked[d] - maxWin[d] <= ack <= end[e]: it acknowledges only what e sent, and is not
 *      older than d's largest window behind d's highest ACK (RFC 5961 §5.2; reordered ACKs pass).
 * An RST must start at or after e's last ACK and inside the window (RFC 5961 §3.2 without the challenge
 * ACK, which a stage cannot send). Window scaling (RFC 7323) comes from the SYN and SYN/ACK options and
 * applies only when both carried it. A session first seen mid-flow (the plugin loaded late, or the core's
 * transport-state enforcement is `allow`) is tracked loosely: life cycle yes, window no.
 */
import { readU16, readU32 } from '../../../packet/checksum.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type PacketInfo } from '../../../packet/ip.js';
import { withRow } from '../shared/rows.js';

/** Outcomes of `TcpTracker.check`. */
export const TCP_OK = 0;
export const TCP_OUT_OF_WINDOW = 1;
export const TCP_INVALID_FLAGS = 2;
export const TCP_INVALID_STATE = 3;
export const TCP_AFTER_CLOSE = 4;

const S_NONE = 0;
const S_SYN_SENT = 1;
const S_SYN_RCVD = 2;
const S_ESTABLISHED = 3;
const S_CLOSING = 4;
const S_CLOSED = 5;
const S_RESET = 6;

// bits[row]
const B_WSCALE_FWD = 0x01;
const B_WSCALE_REV = 0x02;
const B_FIN_FWD = 0x04;
const B_FIN_REV = 0x08;
const B_FIN_ACKED_FWD = 0x10;
const B_FIN_ACKED_REV = 0x20;
const B_LOOSE = 0x40;
const B_SEEN_FWD = 0x80;
const B_SEEN_REV = 0x100;

const seqLt = (a: number, b: number): boolean => ((a - b) | 0) < 0;
const seqLe = (a: number, b: number): boolean => ((a - b) | 0) <= 0;

function invalidFlags(flags: number): boolean {
  if ((flags & (TCP_SYN | TCP_ACK | TCP_RST)) === 0) return true; // null, FIN-only, PSH-only, xmas without ACK
  if ((flags & (TCP_SYN | TCP_FIN)) === (TCP_SYN | TCP_FIN)) return true;
  if ((flags & (TCP_SYN | TCP_RST)) === (TCP_SYN | TCP_RST)) return true;
  return (flags & (TCP_FIN | TCP_RST)) === (TCP_FIN | TCP_RST);
}

/** The window-scale shift of a SYN's options (RFC 7323 §2), or -1 when absent. */
function windowScale(buf: Uint8Array, pi: PacketInfo): number {
  let o = pi.l4 + 20;
  const end = pi.payload;
  while (o < end) {
    const kind = buf[o]!;
    if (kind === 0) break;
    if (kind === 1) {
      o++;
      continue;
    }
    if (o + 1 >= end) break;
    const len = buf[o + 1]!;
    if (len < 2 || o + len > end) break;
    if (kind === 3 && len === 3) return Math.min(buf[o + 2]!, 14);
    o += len;
  }
  return -1;
}

export class TcpTracker {
  capacity = 0;
  private state = new Uint8Array(0);
  private bits = new Uint16Array(0);
  // per direction: index row * 2 + d (d = 0 client -> server, 1 server -> client)
  /** sequence number after the highest one side d sent */
  private end = new Uint32Array(0);
  /** highest ACK side d sent */
  private acked = new Uint32Array(0);
  /** highest sequence side d may send: the other side's ACK + window */
  private limit = new Uint32Array(0);
  /** largest (scaled) window side d advertised */
  private maxWin = new Uint32Array(0);
  private finSeq = new Uint32Array(0);
  private wscale = new Uint8Array(0);

  constructor(private readonly strict: boolean) {
    this.ensure(0);
  }

  /** Makes room for `row` (session-open hook: once per session). */
  ensure(row: number): void {
    if (row < this.capacity) return;
    this.state = withRow(this.state, row);
    const c = this.state.length;
    const last = 2 * c - 1; // per-direction columns: two cells per row
    this.bits = withRow(this.bits, c - 1);
    this.end = withRow(this.end, last);
    this.acked = withRow(this.acked, last);
    this.limit = withRow(this.limit, last);
    this.maxWin = withRow(this.maxWin, last);
    this.finSeq = withRow(this.finSeq, last);
    this.wscale = withRow(this.wscale, last);
    this.capacity = c;
  }

  /** Forgets row `row` (a new session took it). */
  reset(row: number): void {
    this.state[row] = S_NONE;
    this.bits[row] = 0;
  }

  /** Checks one segment of row `row` from side `d` and, when it passes, advances the state. */
  check(buf: Uint8Array, pi: PacketInfo, row: number, d: 0 | 1): number {
    const flags = pi.tcpFlags;
    if (invalidFlags(flags)) return TCP_INVALID_FLAGS;
    const st = this.state[row]!;
    const i = row * 2 + d;
    const seq = readU32(buf, pi.l4 + 4);
    const dataLen = pi.end - pi.payload;
    const segEnd = (seq + dataLen + ((flags & TCP_SYN) !== 0 ? 1 : 0) + ((flags & TCP_FIN) !== 0 ? 1 : 0)) >>> 0;
    if (st === S_RESET) return TCP_AFTER_CLOSE;
    if (st === S_CLOSED) {
      // both FINs acknowledged: retransmitted FINs and ACKs still pass (the last ACK may be lost later)
      if ((flags & TCP_SYN) !== 0 || seqLt(this.end[i]!, segEnd)) return TCP_AFTER_CLOSE;
      if ((flags & TCP_RST) !== 0) this.state[row] = S_RESET;
      return TCP_OK;
    }
    if ((flags & TCP_SYN) !== 0) return (flags & TCP_ACK) === 0 ? this.onSyn(buf, pi, row, d, seq) : this.onSynAck(buf, pi, row, d, seq);
    if (st === S_NONE) {
      // first seen mid-flow: life cycle only
      this.state[row] = (flags & TCP_RST) !== 0 ? S_RESET : S_ESTABLISHED;
      this.bits[row] = B_LOOSE;
      if ((flags & TCP_RST) === 0) this.advance(buf, pi, row, d, seq, segEnd);
      return TCP_OK;
    }
    if (st === S_SYN_SENT) {
      // before the SYN/ACK only an RST answering the SYN fits (RFC 9293 §3.10.7.3)
      if (d === 1 && (flags & TCP_RST) !== 0 && (flags & TCP_ACK) !== 0 && readU32(buf, pi.l4 + 8) === this.end[row * 2]) {
        this.state[row] = S_RESET;
        return TCP_OK;
      }
      return TCP_INVALID_STATE;
    }
    const windowed = this.strict && (this.bits[row]! & B_LOOSE) === 0;
    if ((flags & TCP_RST) !== 0) {
      if (windowed && !this.rstInWindow(row, d, seq)) return TCP_OUT_OF_WINDOW;
      this.state[row] = S_RESET;
      return TCP_OK;
    }
    if (windowed && !this.inWindow(buf, pi, row, d, seq, segEnd)) return TCP_OUT_OF_WINDOW;
    this.advance(buf, pi, row, d, seq, segEnd);
    return TCP_OK;
  }

  private onSyn(buf: Uint8Array, pi: PacketInfo, row: number, d: 0 | 1, seq: number): number {
    const st = this.state[row]!;
    const i = row * 2 + d;
    if (d !== 0) return TCP_INVALID_STATE; // a SYN from the server side (simultaneous open is not supported)
    if (st === S_SYN_SENT || st === S_SYN_RCVD) return this.end[i] === ((seq + 1) >>> 0) ? TCP_OK : TCP_INVALID_STATE; // retransmission
    if (st !== S_NONE) return TCP_INVALID_STATE; // a SYN inside a live session
    const ws = windowScale(buf, pi);
    this.state[row] = S_SYN_SENT;
    this.bits[row] = B_SEEN_FWD | (ws >= 0 ? B_WSCALE_FWD : 0);
    this.wscale[i] = ws >= 0 ? ws : 0;
    this.end[i] = (seq + 1) >>> 0;
    this.maxWin[i] = Math.max(readU16(buf, pi.l4 + 14), 1); // never scaled in a SYN
    return TCP_OK;
  }

  private onSynAck(buf: Uint8Array, pi: PacketInfo, row: number, d: 0 | 1, seq: number): number {
    const st = this.state[row]!;
    const i = row * 2 + 1;
    const c = row * 2;
    if (d !== 1) return TCP_INVALID_STATE;
    if (st !== S_SYN_SENT && st !== S_SYN_RCVD) {
      // the client's ACK was lost: the same SYN/ACK again is fine
      return st !== S_NONE && this.end[i] === ((seq + 1) >>> 0) ? TCP_OK : TCP_INVALID_STATE;
    }
    const ack = readU32(buf, pi.l4 + 8);
    if (this.strict && ack !== this.end[c]) return TCP_OUT_OF_WINDOW;
    const ws = windowScale(buf, pi);
    const win = readU16(buf, pi.l4 + 14);
    this.state[row] = S_SYN_RCVD;
    this.bits[row] = this.bits[row]! | B_SEEN_REV | (ws >= 0 ? B_WSCALE_REV : 0);
    this.wscale[i] = ws >= 0 ? ws : 0;
    this.end[i] = (seq + 1) >>> 0;
    this.acked[i] = ack;
    this.maxWin[i] = Math.max(win, 1);
    this.limit[c] = (ack + win) >>> 0; // what the client may send
    this.limit[i] = (seq + 1 + this.maxWin[c]!) >>> 0; // what the server may send (the client's SYN window)
    this.acked[c] = (seq + 1) >>> 0;
    return TCP_OK;
  }

  private inWindow(buf: Uint8Array, pi: PacketInfo, row: number, d: 0 | 1, seq: number, segEnd: number): boolean {
    const i = row * 2 + d;
    const e = row * 2 + (d ^ 1);
    if (!seqLe(seq, this.limit[i]!)) return false;
    if (seqLt(segEnd, (this.acked[e]! - this.maxWin[e]!) >>> 0)) return false;
    if ((pi.tcpFlags & TCP_ACK) !== 0) {
      const ack = readU32(buf, pi.l4 + 8);
      if (!seqLe(ack, this.end[e]!) || seqLt(ack, (this.acked[i]! - this.maxWin[i]!) >>> 0)) return false;
    }
    return true;
  }

  private rstInWindow(row: number, d: 0 | 1, seq: number): boolean {
    const i = row * 2 + d;
    const e = row * 2 + (d ^ 1);
    return seqLe(this.acked[e]!, seq) && seqLe(seq, this.limit[i]!);
  }

  /** A segment passed: highest sequence, ACK, window, FINs, and the state that follows. */
  private advance(buf: Uint8Array, pi: PacketInfo, row: number, d: 0 | 1, seq: number, segEnd: number): void {
    const i = row * 2 + d;
    const e = row * 2 + (d ^ 1);
    const flags = pi.tcpFlags;
    let bits = this.bits[row]!;
    const seen = d === 0 ? B_SEEN_FWD : B_SEEN_REV;
    const first = (bits & seen) === 0; // a loose session's first segment this way
    bits |= seen;
    if (first || seqLt(this.end[i]!, segEnd)) this.end[i] = segEnd;
    if ((flags & TCP_ACK) !== 0) {
      const ack = readU32(buf, pi.l4 + 8);
      if (first || seqLt(this.acked[i]!, ack)) this.acked[i] = ack;
      const scaled = (bits & (B_WSCALE_FWD | B_WSCALE_REV)) === (B_WSCALE_FWD | B_WSCALE_REV);
      const win = readU16(buf, pi.l4 + 14) * (scaled ? 1 << this.wscale[i]! : 1);
      if (win > this.maxWin[i]!) this.maxWin[i] = win;
      const right = (ack + win) >>> 0;
      if (seqLt(this.limit[e]!, right)) this.limit[e] = right;
      if (this.state[row] === S_SYN_RCVD && d === 0 && ack === this.end[e]) this.state[row] = S_ESTABLISHED;
      const finOther = d === 0 ? B_FIN_REV : B_FIN_FWD;
      if ((bits & finOther) !== 0 && seqLt(this.finSeq[e]!, ack)) bits |= d === 0 ? B_FIN_ACKED_REV : B_FIN_ACKED_FWD;
    }
    if ((flags & TCP_FIN) !== 0) {
      bits |= d === 0 ? B_FIN_FWD : B_FIN_REV;
      this.finSeq[i] = (seq + pi.end - pi.payload) >>> 0;
      if (this.state[row]! < S_CLOSING) this.state[row] = S_CLOSING;
    }
    this.bits[row] = bits;
    if ((bits & (B_FIN_ACKED_FWD | B_FIN_ACKED_REV)) === (B_FIN_ACKED_FWD | B_FIN_ACKED_REV)) this.state[row] = S_CLOSED;
  }
}
