/**
 * One simulated TCP connection (RFC 9293, simplified but wire-real): 3-way handshake with MSS, random ISN,
 * sliding window, cumulative ACKs, retransmission on timeout (go-back-N from the first unacknowledged byte,
 * RTO doubling, then reset; an ACK up to the highest sequence sent stays acceptable after the rewind), fast retransmit on three duplicate ACKs, in-order delivery (out-of-order segments
 * are dropped and answered with a duplicate ACK), FIN both ways (half-close), RST, and a short TIME-WAIT that
 * re-acknowledges a retransmitted FIN. No window scaling, SACK, timestamps or congestion control: the sender
 * keeps at most min(peer window, `maxInFlight`) bytes in flight.
 *
 * The connection talks to its host through `TcpTransport`; the host's `TcpStack` demultiplexes segments.
 */
import { SvrError } from '../errors.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../packet/ip.js';
import { TypedEmitter } from './emitter.js';
import { ReceiveQueue, SendBuffer } from './tcp-buffers.js';
import { mssOption, seqAdd, seqDiff, seqLe, seqLt } from './tcp-seq.js';
import type { TcpCloseReason, TcpConnectionEvents, TcpOptions, TcpSegment, TcpState, TcpTransport } from './tcp-types.js';

export {
  DEFAULT_TCP_OPTIONS, type TcpCloseReason, type TcpConnectionEvents, type TcpOptions, type TcpSegment, type TcpState,
  type TcpTransport,
} from './tcp-types.js';

/** Longest RTO as a multiple of the initial one (zero-window probing can retry forever). */
const MAX_BACKOFF = 64;

/** RFC 9293 §3.7.1: MSS assumed when the peer sends none. */
const DEFAULT_PEER_MSS = 536;

export class TcpConnection extends TypedEmitter<TcpConnectionEvents> {
  private st: TcpState;
  private readonly opts: TcpOptions;
  // send side (RFC 9293 §3.3.1 names)
  private readonly iss: number;
  private sndUna: number;
  private sndNxt: number;
  /** the highest sequence sent (+1): SND.NXT before a go-back-N rewound it (RFC 9293 §3.10.7.4 checks ACKs against it) */
  private sndMax: number;
  private sndWnd = 0;
  private sndWl1 = 0;
  private sndWl2 = 0;
  private sndMss: number;
  private readonly sendBuf = new SendBuffer();
  private finQueued = false;
  private finSeq = 0;
  private ourFinAcked = false;
  private dupAcks = 0;
  // receive side
  private rcvNxt = 0;
  private irs = 0;
  private readonly recvQueue = new ReceiveQueue();
  private paused = false;
  private peerFin = false;
  private endEmitted = false;
  private closeReason: TcpCloseReason | null = null;
  private lastAdvertised = 0;
  private draining = false;
  // timers
  private timer: NodeJS.Timeout | null = null;
  private rto: number;
  private retries = 0;
  private connectWaiter: { resolve: (c: TcpConnection) => void; reject: (e: SvrError) => void } | null = null;
  private onEstablished: ((c: TcpConnection) => void) | null = null;

  /** Application bytes the peer has acknowledged. */
  bytesSent = 0;
  /** Application bytes received in order. */
  bytesReceived = 0;
  /** Retransmission events (timeouts and fast retransmits). */
  retransmits = 0;

  /** @internal (the host's TCP stack makes connections) */
  constructor(
    private readonly transport: TcpTransport,
    readonly localAddress: string,
    readonly localPort: number,
    readonly remoteAddress: string,
    readonly remotePort: number,
    options: TcpOptions,
    iss: number,
  ) {
    super();
    this.opts = options;
    this.iss = iss >>> 0;
    this.sndUna = this.iss;
    this.sndNxt = this.iss;
    this.sndMax = this.iss;
    this.sndMss = options.mss;
    this.rto = options.rtoMs;
    this.st = 'CLOSED';
  }

  get state(): TcpState {
    return this.st;
  }

  /** Bytes written but not yet acknowledged by the peer. */
  get bufferedAmount(): number {
    return this.sendBuf.length;
  }

  /** Segment size used toward the peer: min(peer MSS, our MSS). */
  get sendMss(): number {
    return this.sndMss;
  }

  // ---- application API ----

  /** Queues bytes for sending (copied). Throws SVR_ERR_SIM_TCP_STATE after `end()` or once closed. */
  write(data: Uint8Array): void {
    if (this.finQueued || !(this.st === 'ESTABLISHED' || this.st === 'CLOSE_WAIT')) {
      throw new SvrError('SVR_ERR_SIM_TCP_STATE', `write on ${this.describe()} in state ${this.st}${this.finQueued ? ' after end()' : ''}`);
    }
    if (data.length === 0) return;
    this.sendBuf.append(data);
    this.pump();
  }

  /** Sends FIN after the queued data (half-close: data from the peer still arrives). Idempotent. */
  end(): void {
    if (this.finQueued || !(this.st === 'ESTABLISHED' || this.st === 'CLOSE_WAIT')) return;
    this.finQueued = true;
    this.finSeq = seqAdd(this.sndUna, this.sendBuf.length);
    this.st = this.st === 'ESTABLISHED' ? 'FIN_WAIT_1' : 'LAST_ACK';
    this.pump();
  }

  /** Aborts with RST (RFC 9293 ABORT). Emits `close('aborted')`. */
  destroy(): void {
    if (this.st === 'CLOSED') return;
    if (this.st !== 'TIME_WAIT') this.sendRst();
    this.finish('aborted');
  }

  /** Stops `data` events; received bytes queue up and the advertised window shrinks. */
  pause(): void {
    this.paused = true;
  }

  /** Resumes `data` events and re-opens the window. */
  resume(): void {
    this.paused = false;
    this.drain();
  }

  /** All bytes until the peer's FIN. Rejects with the reset error. */
  readAll(): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const chunks: Uint8Array[] = [];
      this.on('data', (c) => chunks.push(c));
      this.on('end', () => resolve(Buffer.concat(chunks)));
      this.on('reset', reject);
      this.on('close', (r) => {
        if (r === 'aborted') reject(new SvrError('SVR_ERR_SIM_TCP_STATE', `${this.describe()} was aborted before FIN`));
      });
    });
  }

  /** Resolves with the close reason once the connection is finished. */
  closed(): Promise<TcpCloseReason> {
    return new Promise((resolve) => {
      if (this.closeReason !== null) resolve(this.closeReason);
      else this.once('close', resolve);
    });
  }

  // ---- opening (called by the stack) ----

  /** @internal Active open: sends SYN; the promise settles on SYN/ACK, RST or timeout. */
  openActive(waiter: { resolve: (c: TcpConnection) => void; reject: (e: SvrError) => void }): void {
    this.connectWaiter = waiter;
    this.st = 'SYN_SENT';
    this.sndNxt = this.sndMax = seqAdd(this.iss, 1);
    this.sendSyn();
    this.armTimer();
  }

  /** @internal Passive open on a SYN to a listening port; `onEstablished` runs when the handshake completes. */
  openPassive(syn: TcpSegment, onEstablished: (c: TcpConnection) => void): void {
    this.onEstablished = onEstablished;
    this.st = 'SYN_RECEIVED';
    this.irs = syn.seq;
    this.rcvNxt = seqAdd(syn.seq, 1);
    this.sndNxt = this.sndMax = seqAdd(this.iss, 1);
    this.learnPeer(syn);
    this.sendSyn();
    this.armTimer();
  }

  /** @internal Gives up on a pending open (connect timeout or host closed). */
  failOpen(err: SvrError, sendRst: boolean): void {
    if (sendRst && this.st !== 'CLOSED') this.sendRst();
    const w = this.connectWaiter;
    this.connectWaiter = null;
    this.teardown();
    w?.reject(err);
  }

  // ---- receiving ----

  /** @internal A segment for this connection (from the stack). */
  onSegment(seg: TcpSegment): void {
    if (this.st === 'CLOSED') return;
    if (this.st === 'SYN_SENT') {
      this.onSegmentSynSent(seg);
      return;
    }
    const flags = seg.flags;
    const plen = seg.payload.length;
    const segLen = plen + ((flags & TCP_FIN) !== 0 ? 1 : 0);
    const behind = seqDiff(this.rcvNxt, seg.seq); // > 0: starts with bytes we already have
    if ((flags & TCP_RST) !== 0) {
      this.onRst(seg);
      return;
    }
    if ((flags & TCP_SYN) !== 0) {
      // retransmitted SYN (our SYN/ACK was lost) or, synchronized, RFC 5961 §4 challenge ACK
      if (this.st === 'SYN_RECEIVED' && seg.seq === this.irs) this.sendSyn();
      else this.sendAck();
      return;
    }
    if ((flags & TCP_ACK) === 0) return;
    if (!this.onAck(seg) || this.isClosed()) return;
    if (segLen > 0) {
      if (behind < 0) {
        // a hole before this segment: drop it, duplicate ACK tells the sender where we are
        this.transport.countOutOfOrder();
        this.sendAck();
      } else if (behind >= segLen) {
        this.sendAck(); // entirely old (a retransmission we already have)
      } else {
        this.acceptData(seg, behind);
      }
    }
    this.pump();
  }

  private onSegmentSynSent(seg: TcpSegment): void {
    const flags = seg.flags;
    const hasAck = (flags & TCP_ACK) !== 0;
    if (hasAck && seg.ack !== this.sndNxt) {
      if ((flags & TCP_RST) === 0) this.transport.send(this, seg.ack, 0, TCP_RST, 0);
      return;
    }
    if ((flags & TCP_RST) !== 0) {
      if (hasAck) this.failOpen(new SvrError('SVR_ERR_SIM_TCP_RESET', `connection to ${this.remoteAddress}:${this.remotePort} refused (RST)`), false);
      return;
    }
    if ((flags & TCP_SYN) === 0 || !hasAck) return; // simultaneous open is not supported
    this.irs = seg.seq;
    this.rcvNxt = seqAdd(seg.seq, 1);
    this.sndUna = seg.ack;
    this.learnPeer(seg);
    this.st = 'ESTABLISHED';
    this.resetTimer();
    this.sendAck();
    const w = this.connectWaiter;
    this.connectWaiter = null;
    w?.resolve(this);
  }

  private learnPeer(seg: TcpSegment): void {
    this.sndMss = Math.min(seg.mss > 0 ? seg.mss : DEFAULT_PEER_MSS, this.opts.mss);
    this.sndWnd = seg.window;
    this.sndWl1 = seg.seq;
    this.sndWl2 = seg.ack;
  }

  /** RFC 5961 §3: reset only on an exact sequence match; in-window RSTs get a challenge ACK. */
  private onRst(seg: TcpSegment): void {
    if (seg.seq === this.rcvNxt) {
      if (this.st === 'SYN_RECEIVED') {
        this.teardown(); // nobody has seen this connection yet
        return;
      }
      this.emitReset(new SvrError('SVR_ERR_SIM_TCP_RESET', `${this.describe()} reset by peer`), 'reset');
    } else if (seqLt(this.rcvNxt, seg.seq) && seqLt(seg.seq, seqAdd(this.rcvNxt, this.window()))) {
      this.sendAck();
    }
  }

  /** ACK field processing; false = drop the segment. */
  private onAck(seg: TcpSegment): boolean {
    const ack = seg.ack;
    if (this.st === 'SYN_RECEIVED') {
      if (ack !== this.sndNxt) {
        this.transport.send(this, ack, 0, TCP_RST, 0);
        return false;
      }
      this.sndUna = ack;
      this.sndWnd = seg.window;
      this.sndWl1 = seg.seq;
      this.sndWl2 = ack;
      this.st = 'ESTABLISHED';
      this.resetTimer();
      const cb = this.onEstablished;
      this.onEstablished = null;
      cb?.(this);
      return !this.isClosed(); // the listener may have destroyed it
    }
    // RFC 9293 §3.10.7.4: an ACK of something not yet sent is answered and dropped; after a go-back-N, "sent" goes
    // up to SND.MAX (the first transmission's ACK may come back after the rewind)
    if (seqLt(this.sndMax, ack)) {
      this.sendAck();
      return false;
    }
    if (seqLt(this.sndUna, ack)) {
      this.onNewAck(ack);
    } else if (ack === this.sndUna && seg.payload.length === 0 && (seg.flags & TCP_FIN) === 0
      && seg.window === this.sndWnd && this.sndMax !== this.sndUna && this.sndWnd > 0) {
      if (++this.dupAcks === 3) this.goBack(); // fast retransmit
    }
    if (seqLt(this.sndWl1, seg.seq) || (this.sndWl1 === seg.seq && seqLe(this.sndWl2, ack))) {
      this.sndWnd = seg.window;
      this.sndWl1 = seg.seq;
      this.sndWl2 = ack;
    }
    if (this.sndWnd === 0) this.retries = 0; // zero-window probes: the peer is alive, keep probing
    if (this.ourFinAcked) {
      if (this.st === 'FIN_WAIT_1') this.st = 'FIN_WAIT_2';
      else if (this.st === 'CLOSING') this.enterTimeWait();
      else if (this.st === 'LAST_ACK') this.finish('normal');
    }
    return true;
  }

  private onNewAck(ack: number): void {
    const acked = seqDiff(ack, this.sndUna);
    const dataAcked = Math.min(acked, this.sendBuf.length);
    this.sendBuf.consume(dataAcked);
    this.bytesSent += dataAcked;
    this.sndUna = ack;
    if (seqLt(this.sndNxt, ack)) this.sndNxt = ack; // acknowledged past a go-back-N's resend: go on from there
    this.dupAcks = 0;
    this.retries = 0;
    this.rto = this.opts.rtoMs;
    if (this.finQueued && ack === seqAdd(this.finSeq, 1)) this.ourFinAcked = true;
    this.resetTimer();
    if (this.sndNxt !== this.sndUna) this.armTimer();
  }

  private acceptData(seg: TcpSegment, behind: number): void {
    if (!(this.st === 'ESTABLISHED' || this.st === 'FIN_WAIT_1' || this.st === 'FIN_WAIT_2')) return;
    const plen = seg.payload.length;
    const skip = Math.max(0, behind);
    const fresh = plen - Math.min(skip, plen);
    const take = Math.min(fresh, this.window());
    if (take > 0) {
      this.recvQueue.push(seg.payload.slice(skip, skip + take));
      this.rcvNxt = seqAdd(this.rcvNxt, take);
      this.bytesReceived += take;
      this.transport.scheduleAck(this);
    } else if (fresh > 0) {
      this.sendAck(); // window full: tell the sender (zero-window probe answer)
    }
    // FIN counts only once every byte before it has been taken
    if ((seg.flags & TCP_FIN) !== 0 && take === fresh) this.onFin();
    this.drain();
  }

  private onFin(): void {
    this.rcvNxt = seqAdd(this.rcvNxt, 1);
    this.peerFin = true;
    this.transport.scheduleAck(this);
    if (this.st === 'ESTABLISHED') this.st = 'CLOSE_WAIT';
    else if (this.st === 'FIN_WAIT_1') this.st = this.ourFinAcked ? 'TIME_WAIT' : 'CLOSING';
    else if (this.st === 'FIN_WAIT_2') this.st = 'TIME_WAIT';
    if (this.st === 'TIME_WAIT') this.enterTimeWait();
  }

  /** Hands queued bytes to listeners, then `end`, then `close` once everything was delivered. */
  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      while (!this.paused && this.recvQueue.length > 0 && this.listenerCount('data') > 0) {
        this.emit('data', this.recvQueue.take());
      }
      if (this.recvQueue.length === 0 && this.peerFin && !this.endEmitted && this.closeReason === null) {
        this.endEmitted = true;
        this.emit('end');
      }
    } finally {
      this.draining = false;
    }
    // window update when a shrunken window re-opened (after pause/resume or a late listener)
    if (!this.peerFin && this.lastAdvertised < this.sndMss && this.window() >= Math.min(this.opts.receiveBuffer >>> 1, 2 * this.sndMss)) {
      if (this.st === 'ESTABLISHED' || this.st === 'FIN_WAIT_1' || this.st === 'FIN_WAIT_2') this.sendAck();
    }
    this.maybeCloseNormally();
  }

  protected override listenerAdded(event: keyof TcpConnectionEvents): void {
    // bytes that arrived before anyone listened are delivered on the next turn
    if (event === 'data' || event === 'end') setImmediate(() => this.drain());
  }

  // ---- sending ----

  /** Advertised window: free receive buffer. */
  private window(): number {
    return Math.max(0, Math.min(65535, this.opts.receiveBuffer - this.recvQueue.length));
  }

  /** Sends as much queued data (and the FIN) as the window allows. */
  private pump(): void {
    const st = this.st;
    if (!(st === 'ESTABLISHED' || st === 'CLOSE_WAIT' || st === 'FIN_WAIT_1' || st === 'CLOSING' || st === 'LAST_ACK')) return;
    const limit = Math.min(this.sndWnd, this.opts.maxInFlight);
    for (;;) {
      const sent = seqDiff(this.sndNxt, this.sndUna);
      const left = this.sendBuf.length - sent;
      if (left > 0) {
        let room = limit - sent;
        if (room <= 0) {
          if (this.sndWnd !== 0 || sent !== 0) break;
          room = 1; // RFC 9293 §3.8.6.1 zero-window probe: one byte, retransmitted by the timer
        }
        const n = Math.min(left, this.sndMss, room);
        const fin = this.finQueued && n === left;
        const flags = TCP_ACK | (n === left ? TCP_PSH : 0) | (fin ? TCP_FIN : 0);
        this.transport.send(this, this.sndNxt, this.rcvNxt, flags, this.noteWindow(), this.sendBuf.view(sent, n));
        this.sndNxt = seqAdd(this.sndNxt, n + (fin ? 1 : 0));
        if (seqLt(this.sndMax, this.sndNxt)) this.sndMax = this.sndNxt;
        if (fin) break;
      } else if (left === 0 && this.finQueued) {
        this.transport.send(this, this.sndNxt, this.rcvNxt, TCP_ACK | TCP_FIN, this.noteWindow());
        this.sndNxt = seqAdd(this.sndNxt, 1);
        if (seqLt(this.sndMax, this.sndNxt)) this.sndMax = this.sndNxt;
        break;
      } else {
        break;
      }
    }
    if (this.sndNxt !== this.sndUna && this.timer === null) this.armTimer();
  }

  private noteWindow(): number {
    this.lastAdvertised = this.window();
    return this.lastAdvertised;
  }

  private sendSyn(): void {
    const flags = this.st === 'SYN_SENT' ? TCP_SYN : TCP_SYN | TCP_ACK;
    this.transport.send(this, this.iss, this.st === 'SYN_SENT' ? 0 : this.rcvNxt, flags, this.noteWindow(), undefined, mssOption(this.opts.mss));
  }

  /** @internal Sends a pure ACK now. */
  sendAck(): void {
    if (this.st === 'CLOSED' || this.st === 'SYN_SENT') return;
    this.transport.send(this, this.sndNxt, this.rcvNxt, TCP_ACK, this.noteWindow());
  }

  private sendRst(): void {
    this.transport.send(this, this.sndNxt, this.rcvNxt, TCP_RST | TCP_ACK, 0);
  }

  // ---- timers ----

  private armTimer(): void {
    this.resetTimer();
    // ref'd on purpose: data in flight is pending work, and a test awaiting it must not see the process exit
    this.timer = setTimeout(() => this.onTimeout(), this.rto);
  }

  private resetTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private onTimeout(): void {
    this.timer = null;
    if (++this.retries > this.opts.maxRetries) {
      const err = new SvrError('SVR_ERR_SIM_TCP_TIMEOUT', `${this.describe()}: no answer after ${this.opts.maxRetries} retransmissions`);
      if (this.st === 'SYN_SENT' || this.st === 'SYN_RECEIVED') this.failOpen(err, true);
      else {
        this.sendRst();
        this.emitReset(err, 'timeout');
      }
      return;
    }
    this.rto = Math.min(this.rto * 2, this.opts.rtoMs * MAX_BACKOFF);
    if (this.st === 'SYN_SENT' || this.st === 'SYN_RECEIVED') {
      this.retransmits++;
      this.transport.countRetransmit();
      this.sendSyn();
      this.armTimer();
      return;
    }
    this.goBack();
    this.pump();
    if (this.sndNxt !== this.sndUna && this.timer === null) this.armTimer();
  }

  /** Resends from the first unacknowledged byte (the receiver dropped whatever followed a hole). */
  private goBack(): void {
    this.retransmits++;
    this.transport.countRetransmit();
    this.sndNxt = this.sndUna;
    this.resetTimer();
  }

  private enterTimeWait(): void {
    this.st = 'TIME_WAIT';
    this.resetTimer();
    this.timer = setTimeout(() => this.teardown(), this.opts.timeWaitMs);
    this.timer.unref(); // lingering only to re-ACK a lost final ACK: must not keep the process alive
    this.maybeCloseNormally();
  }

  // ---- closing ----

  private maybeCloseNormally(): void {
    if (this.closeReason !== null || !this.endEmitted) return;
    if (this.st === 'TIME_WAIT' || (this.st === 'CLOSED' && this.ourFinAcked)) this.emitClose('normal');
  }

  private emitClose(reason: TcpCloseReason): void {
    if (this.closeReason !== null) return;
    this.closeReason = reason;
    this.emit('close', reason);
  }

  private emitReset(err: SvrError, reason: TcpCloseReason): void {
    this.teardown();
    if (this.closeReason !== null) return;
    this.emit('reset', err);
    this.emitClose(reason);
  }

  private finish(reason: TcpCloseReason): void {
    this.teardown();
    if (reason === 'normal') this.maybeCloseNormally();
    else this.emitClose(reason);
  }

  /** Stops timers and leaves the host's table. */
  private teardown(): void {
    this.resetTimer();
    if (this.st === 'CLOSED') return;
    this.st = 'CLOSED';
    this.transport.release(this);
  }

  /** @internal Host closing: drop everything, tell listeners. */
  abortLocal(err: SvrError): void {
    if (this.connectWaiter !== null) {
      this.failOpen(err, false);
      return;
    }
    this.teardown();
    this.emitClose('aborted');
  }

  /** A method, so TypeScript does not narrow `st` across calls that change it. */
  private isClosed(): boolean {
    return this.st === 'CLOSED';
  }

  private describe(): string {
    return `tcp ${this.localAddress}:${this.localPort} <-> ${this.remoteAddress}:${this.remotePort}`;
  }
}
