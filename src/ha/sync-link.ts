/**
 * The sync link of one node of a router pair: one UDP socket on the node's `sync-address`, talking only to
 * the partner's. Sends heartbeats and state batches (sync-wire.ts), receives the partner's; every datagram
 * that is malformed, fails authentication, comes from another address or node, or is not newer than the
 * last one accepted (replay, reordering) is dropped and counted by reason.
 *
 * State records are queued by their owners already framed (control side, between batches: never one message
 * per packet; `queueFramed`: many records in one buffer, no object per record) and sent by `flush()` cut
 * into numbered batches of at most `maxDatagram` bytes (SYNC_MAX_DATAGRAM by default), at most a window (WINDOW_BYTES) unacknowledged at a time; an
 * acknowledgement that leaves the window at most half full calls `onRoom` (the owner collects more then:
 * collection is paced by the link). The partner applies batches in order only (a gap waits for the resend) and
 * acknowledges the last one within ACK_DELAY_MS (20 ms; at once after half the window's bytes: an acknowledgement
 * costs both nodes a datagram, its HMAC and a wake-up); a batch not acknowledged within `resendMs` (or three times the last ack lag) is sent again (go-back-N,
 * on each heartbeat). The lag is the time from a batch's first send to its acknowledgement; the change lag,
 * for records queued with the time their change was marked, from that mark to the acknowledgement.
 * A partner heard with a new epoch (for the first time, or restarted) gets `onPartnerEpoch`: its owner
 * queues the full state for it.
 */
import type { HaHeartbeat } from '../machines/ha-node.js';
import { openSyncSocket, type SyncSocket } from './sync-socket.js';
import { MSG_ACK, MSG_HEARTBEAT, SYNC_MAX_DATAGRAM, decodeSync, encodeAck, encodeHeartbeat, encodeState, frameRecords, framedSize, sealState, stateBatchOverhead, stateBodyAt, type SyncDrop, type SyncRecord } from './sync-wire.js';

export interface SyncLinkOptions {
  node: string;
  partner: string;
  localAddress: string;
  partnerAddress: string;
  port: number;
  /** the partner's port; default `port` (tests run both nodes on one host with two ports) */
  partnerPort?: number;
  /** the pair's shared key (32 bytes) */
  key: Uint8Array;
  onHeartbeat: (hb: HaHeartbeat) => void;
  /** a state batch applied in order: `count` framed records (sync-wire.ts forEachRecord); `body` is a view of the
   *  socket's receive ring (sync-socket.ts), valid during the call only */
  onRecords: (body: Uint8Array, count: number) => void;
  /** an acknowledgement left the window at most half full with nothing waiting: room for more */
  onRoom?: () => void;
  /** the partner heard for the first time or restarted (a new epoch): queue the full state for it */
  onPartnerEpoch?: () => void;
  /** the largest state datagram (bytes); default SYNC_MAX_DATAGRAM (one 1500-byte frame). Larger ones go
   *  fragmented or over a jumbo link: fewer datagrams, HMACs and wake-ups per row (syncDatagramFor) */
  maxDatagram?: number;
  /** a batch unacknowledged this long (or three times the last ack lag, if longer) is sent again (ms); default 100 */
  resendMs?: number;
  /** ms clock; default performance.now */
  now?: () => number;
  /** node's dgram socket even with the addon (sync-socket.ts; tests of the fallback) */
  dgram?: boolean;
}

export interface SyncLinkCounters {
  heartbeatsSent: number;
  heartbeatsReceived: number;
  batchesSent: number;
  batchesResent: number;
  batchesReceived: number;
  recordsSent: number;
  recordsReceived: number;
  sendErrors: number;
  /** batches that arrived past a gap (dropped; the partner resends them in order) */
  batchesOutOfSequence: number;
  dropped: Record<SyncDrop, number>;
}

export interface SyncLag {
  /** the last measured lag (ms), undefined before the first */
  lastMs: number | undefined;
  maxMs: number;
  /** records queued, not yet in a batch on the wire */
  pending: number;
  /** batches sent, not yet acknowledged */
  unacked: number;
  /** the last and largest change lag (ms): a change marked (queue's `markedAt`) to its acknowledgement */
  changeMs: number | undefined;
  changeMaxMs: number;
  /** the change lags measured so far, counted per bucket: up to LAG_BUCKETS_MS[i] ms (the last: above) */
  changeLagMs: number[];
  /** their median and 99th percentile: the bound of the bucket each falls in (ms; Infinity: over 10 s) */
  changeP50Ms: number | undefined;
  changeP99Ms: number | undefined;
}

/** Upper bounds of the change lag histogram's buckets (ms): 1, 2, 3, 4, 5, 6, 8, 10, 12, ... 10 s. */
export const LAG_BUCKETS_MS: readonly number[] = [1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, 120, 150, 200, 250, 300, 400, 500, 600, 800, 1000, 1500, 2000, 3000, 5000, 10000];

function lagBucket(ms: number): number {
  let i = 0;
  while (i < LAG_BUCKETS_MS.length && ms > LAG_BUCKETS_MS[i]!) i++;
  return i;
}

/** The `p` percentile (0-100) of a lag histogram (the counts of `changeLagMs`, or a difference of two): the
 *  upper bound of its bucket (ms), undefined when it counts nothing; Infinity above the last bucket. */
export function lagPercentile(counts: readonly number[], p: number): number | undefined {
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const want = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i]!;
    if (seen >= want) return LAG_BUCKETS_MS[i] ?? Number.POSITIVE_INFINITY;
  }
  return Number.POSITIVE_INFINITY;
}

/** Bytes of state in flight at most: 128 x 1400 B (179 KB) per round trip, under a receive buffer of Linux's
 *  default net.core.rmem_max (208 KB; sync-socket.ts asks for more, the kernel caps it there) so a window's
 *  burst fits. */
export const WINDOW_BYTES = 128 * SYNC_MAX_DATAGRAM;
/** Batches in flight at most, for datagrams of `maxDatagram` bytes (at least 4). */
export function windowFor(maxDatagram: number): number {
  return Math.max(4, Math.floor(WINDOW_BYTES / maxDatagram));
}
/** The window of the default datagrams (1400 B): 128 batches. */
export const WINDOW = windowFor(SYNC_MAX_DATAGRAM);
/** A receiver acknowledges within this long (ms) of a batch, or at once after half the window's bytes
 *  (ACK_BYTES). The lag measured includes it; the records are applied on arrival, not when acknowledged. */
export const ACK_DELAY_MS = 20;
/** Bytes received after which an acknowledgement goes at once: half the window (an acknowledgement that
 *  frees half the window calls the sender's onRoom; of the pair's 32,000-byte datagrams one per three, not two). */
export const ACK_BYTES = WINDOW_BYTES / 2;
/** Silence after which a partner's older epoch is accepted (its clock stepped back across a restart). */
export const EPOCH_RESET_MS = 3000;

interface Batch {
  n: number;
  /** `count` framed records, in place in `datagram` */
  body: Uint8Array;
  /** the datagram built around `body` (a view of `backing`), sealed when first sent; a resend encodes a copy */
  datagram: Buffer;
  sealed: boolean;
  /** the buffer under `datagram`: a spare one of `maxDatagram` bytes goes back to the spares once acknowledged */
  backing: Buffer;
  count: number;
  /** the oldest change mark of its records (Infinity: none) */
  markedAt: number;
  firstSentAt: number;
  sentAt: number;
}

export class SyncLink {
  readonly counters: SyncLinkCounters = {
    heartbeatsSent: 0, heartbeatsReceived: 0, batchesSent: 0, batchesResent: 0, batchesReceived: 0, recordsSent: 0, recordsReceived: 0,
    sendErrors: 0, batchesOutOfSequence: 0,
    dropped: { malformed: 0, 'bad-auth': 0, 'not-partner': 0, 'out-of-order': 0 },
  };
  private readonly socket: SyncSocket;
  private readonly epoch = Date.now();
  /** when a message of the partner was last accepted (ms, `now`) */
  private acceptedAt = Number.NEGATIVE_INFINITY;
  private seq = 0;
  private partnerEpoch = -1;
  private partnerSeq = -1;
  /** receiving: the partner's last batch applied here, in order (0 = none yet in this epoch) */
  private appliedBatch = 0;
  /** bytes of batches received since the last acknowledgement, and its timer */
  private unackedBytes = 0;
  private ackTimer: NodeJS.Timeout | undefined;
  /** sending */
  private nextBatch = 1;
  /** framed records queued, not yet in a batch: `pendingBytes` of `pending`, `pendingCount` records */
  private pending = new Uint8Array(64 * 1024);
  private pendingBytes = 0;
  private pendingCount = 0;
  /** per queued part, where it ends in `pending` and when its oldest change happened */
  private pendingMarks: { end: number; markedAt: number }[] = [];
  /** batches not yet sent, from `waitingHead` on (a queue: shifting a long array costs its length each time) */
  private waiting: Batch[] = [];
  private waitingHead = 0;
  private readonly inFlight: Batch[] = [];
  /** datagram buffers of acknowledged batches, reused (a session rate would otherwise allocate a window's bytes
   *  every round trip: external memory that drives V8's garbage collections) */
  private readonly spares: Buffer[] = [];
  private lastLag: number | undefined;
  private maxLag = 0;
  private lastChange: number | undefined;
  private maxChange = 0;
  /** change lags measured, counted in LAG_BUCKETS_MS buckets (p50/p99: lagPercentile) */
  private readonly changeLags: number[] = new Array<number>(LAG_BUCKETS_MS.length + 1).fill(0);
  private readonly now: () => number;
  private readonly partnerPort: number;
  private readonly resendMs: number;
  private readonly maxDatagram: number;
  /** batches in flight at most (windowFor) */
  readonly window: number;

  constructor(private readonly o: SyncLinkOptions) {
    this.now = o.now ?? (() => performance.now());
    this.maxDatagram = o.maxDatagram ?? SYNC_MAX_DATAGRAM;
    this.window = windowFor(this.maxDatagram);
    this.partnerPort = o.partnerPort ?? o.port;
    this.resendMs = o.resendMs ?? 100;
    const d = this.counters.dropped;
    this.socket = openSyncSocket(
      { localAddress: o.localAddress, port: o.port, partnerAddress: o.partnerAddress, partnerPort: this.partnerPort, dgram: o.dgram },
      {
        onDatagram: (buf) => this.receive(buf),
        onNotPartner: () => { d['not-partner']++; },
        onTooLong: () => { d.malformed++; },
        onSendError: () => { this.counters.sendErrors++; },
      },
    );
  }

  /** 'native' (datagrams read into a reused ring) or 'dgram' (sync-socket.ts) */
  get socketKind(): 'native' | 'dgram' {
    return this.socket.kind;
  }

  start(): Promise<void> {
    return this.socket.start();
  }

  close(): void {
    clearTimeout(this.ackTimer);
    this.socket.close();
  }

  /** A heartbeat (it also acknowledges what was applied here, and resends what the partner has not). */
  sendHeartbeat(hb: HaHeartbeat): void {
    this.counters.heartbeatsSent++;
    this.send(encodeHeartbeat(this.o.key, this.header(), hb, this.appliedBatch));
    this.resend();
  }

  /** Queue a record for the next flush; `markedAt` (ms, `now`'s clock): when its change happened. */
  queue(record: SyncRecord, markedAt = Number.POSITIVE_INFINITY): void {
    this.queueFramed(frameRecords([record]), 1, markedAt);
  }

  /** Queue `count` framed records (sync-wire.ts frameRecord; each under the largest datagram with the batch's
   *  head) for the next flush; `markedAt`: when the oldest of their changes happened. */
  queueFramed(records: Uint8Array, count: number, markedAt = Number.POSITIVE_INFINITY): void {
    if (this.pendingBytes + records.length > this.pending.length) {
      const grown = new Uint8Array(Math.max(this.pending.length * 2, this.pendingBytes + records.length));
      grown.set(this.pending.subarray(0, this.pendingBytes));
      this.pending = grown;
    }
    this.pending.set(records, this.pendingBytes);
    this.pendingBytes += records.length;
    this.pendingCount += count;
    const last = this.pendingMarks[this.pendingMarks.length - 1];
    if (last !== undefined && last.markedAt === markedAt) last.end = this.pendingBytes;
    else this.pendingMarks.push({ end: this.pendingBytes, markedAt });
  }

  /** Cut every queued record into batches and send as many as the window allows. */
  flush(): void {
    const room = this.maxDatagram - stateBatchOverhead(this.o.node);
    const p = this.pending;
    let start = 0;
    let o = 0;
    let count = 0;
    let mark = 0;
    let markedAt = Number.POSITIVE_INFINITY;
    const bodyAt = stateBodyAt(this.o.node);
    const close = (): void => {
      const size = stateBatchOverhead(this.o.node) + o - start;
      const backing = size <= this.maxDatagram ? this.spares.pop() ?? Buffer.allocUnsafe(this.maxDatagram) : Buffer.allocUnsafe(size);
      const datagram = backing.subarray(0, size);
      datagram.set(p.subarray(start, o), bodyAt);
      this.waiting.push({ n: this.nextBatch, body: datagram.subarray(bodyAt, bodyAt + o - start), datagram, sealed: false, backing, count, markedAt, firstSentAt: 0, sentAt: 0 });
      this.nextBatch = (this.nextBatch + 1) >>> 0 || 1;
      start = o;
      count = 0;
      markedAt = Number.POSITIVE_INFINITY;
    };
    while (o < this.pendingBytes) {
      const size = framedSize(p, o);
      if (count > 0 && (o + size - start > room || count === 0xffff)) close();
      while (this.pendingMarks[mark]!.end <= o) mark++;
      // not Math.min: markedAt is the close's, a context slot, and a double stored there is a new heap number (with
      // Math.min, one a record: 16-20 B of garbage a synced row on the active; now one a part)
      if (this.pendingMarks[mark]!.markedAt < markedAt) markedAt = this.pendingMarks[mark]!.markedAt;
      o += size;
      count++;
    }
    if (count > 0) close();
    this.pendingBytes = 0;
    this.pendingCount = 0;
    this.pendingMarks = [];
    if (this.pending.length > 1 << 20) this.pending = new Uint8Array(64 * 1024); // after a full resync
    this.pump();
  }

  lag(): SyncLag {
    let waiting = 0;
    for (let i = this.waitingHead; i < this.waiting.length; i++) waiting += this.waiting[i]!.count;
    return {
      lastMs: this.lastLag, maxMs: this.maxLag, pending: this.pendingCount + waiting, unacked: this.inFlight.length,
      changeMs: this.lastChange, changeMaxMs: this.maxChange, changeLagMs: [...this.changeLags],
      changeP50Ms: lagPercentile(this.changeLags, 50), changeP99Ms: lagPercentile(this.changeLags, 99),
    };
  }

  private header(): { node: string; epoch: number; seq: number } {
    this.seq = (this.seq + 1) >>> 0;
    return { node: this.o.node, epoch: this.epoch, seq: this.seq };
  }

  /** Batches waiting for room in the window (an owner with more to send waits while there are many). */
  get backlog(): number {
    return this.waiting.length - this.waitingHead + (this.pendingCount > 0 ? 1 : 0);
  }

  private pump(): void {
    while (this.inFlight.length < this.window && this.waitingHead < this.waiting.length) {
      const b = this.waiting[this.waitingHead++]!;
      b.firstSentAt = this.now();
      this.inFlight.push(b);
      this.transmit(b);
      this.counters.batchesSent++;
      this.counters.recordsSent += b.count;
    }
    if (this.waitingHead > 1024 && this.waitingHead * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.waitingHead);
      this.waitingHead = 0;
    }
  }

  /** Go-back-N: every batch in flight again once the oldest has waited `resendMs` for its acknowledgement. */
  private resend(): void {
    const oldest = this.inFlight[0];
    // a busy partner acknowledges late, not never: wait for three of its recent lags before sending it all again
    if (oldest === undefined || this.now() - oldest.sentAt < Math.max(this.resendMs, 3 * (this.lastLag ?? 0))) return;
    for (const b of this.inFlight) {
      this.transmit(b);
      this.counters.batchesResent++;
    }
  }

  private transmit(b: Batch): void {
    b.sentAt = this.now();
    // the first send seals the datagram built by flush; a resend encodes a copy (the first may still be queued)
    this.send(b.sealed ? encodeState(this.o.key, this.header(), b.n, b.body, b.count) : sealState(this.o.key, this.header(), b.n, b.count, b.datagram));
    b.sealed = true;
  }

  private send(buf: Buffer): void {
    this.socket.send(buf);
  }

  /** A datagram from the partner's address and port (a view of the socket's ring: used before returning). */
  private receive(buf: Buffer): void {
    const d = this.counters.dropped;
    const m = decodeSync(this.o.key, buf);
    if (typeof m === 'string') {
      d[m]++;
      return;
    }
    if (m.node !== this.o.partner) {
      d['not-partner']++;
      return;
    }
    // replay and reordering: a newer epoch (the partner restarted) or a higher sequence in this one; an older
    // epoch only after EPOCH_RESET_MS of silence (a partner restarted after its clock stepped back)
    const older = m.epoch < this.partnerEpoch && this.now() - this.acceptedAt < EPOCH_RESET_MS;
    if (older || (m.epoch === this.partnerEpoch && m.seq <= this.partnerSeq)) {
      d['out-of-order']++;
      return;
    }
    this.acceptedAt = this.now();
    const newEpoch = m.epoch !== this.partnerEpoch;
    if (newEpoch) this.appliedBatch = 0;
    this.partnerEpoch = m.epoch;
    this.partnerSeq = m.seq;
    if (newEpoch) this.o.onPartnerEpoch?.();
    if (m.type === MSG_HEARTBEAT) {
      this.counters.heartbeatsReceived++;
      this.acked(m.ackedBatch);
      this.o.onHeartbeat(m.heartbeat);
      return;
    }
    if (m.type === MSG_ACK) {
      this.acked(m.ackedBatch);
      return;
    }
    // in order only; the first batch heard in an epoch starts it (a node that joins late gets the full state anew)
    const expected = this.appliedBatch === 0 ? m.batch : (this.appliedBatch + 1) >>> 0 || 1;
    if (m.batch !== expected) {
      if (m.batch > expected) this.counters.batchesOutOfSequence++;
      this.queueAck(buf.length);
      return;
    }
    this.appliedBatch = m.batch;
    this.counters.batchesReceived++;
    this.counters.recordsReceived += m.count;
    this.o.onRecords(m.body, m.count);
    this.queueAck(buf.length);
  }

  /** One acknowledgement for the batches of ACK_DELAY_MS (or of ACK_BYTES, sooner): the sender's window holds
   *  twice that, and each acknowledgement costs both nodes a datagram, its HMAC and a wake-up. */
  private queueAck(bytes: number): void {
    this.unackedBytes += bytes;
    if (this.unackedBytes >= ACK_BYTES) this.ackNow();
    else this.ackTimer ??= setTimeout(() => this.ackNow(), ACK_DELAY_MS);
  }

  private ackNow(): void {
    clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    this.unackedBytes = 0;
    this.send(encodeAck(this.o.key, this.header(), this.appliedBatch));
  }

  /** The partner applied every batch up to `n`: they leave the window; the lag is the newest one's. */
  private acked(n: number): void {
    let newest: Batch | undefined;
    let markedAt = Number.POSITIVE_INFINITY;
    while (this.inFlight.length > 0 && this.inFlight[0]!.n <= n) {
      newest = this.inFlight.shift()!;
      markedAt = Math.min(markedAt, newest.markedAt);
      // the partner has it: its first send left long ago, a resend went from a copy
      if (newest.backing.length === this.maxDatagram && this.spares.length < this.window) this.spares.push(newest.backing);
    }
    if (newest === undefined) return;
    this.lastLag = this.now() - newest.firstSentAt;
    this.maxLag = Math.max(this.maxLag, this.lastLag);
    if (markedAt !== Number.POSITIVE_INFINITY) {
      this.lastChange = this.now() - markedAt;
      this.maxChange = Math.max(this.maxChange, this.lastChange);
      this.changeLags[lagBucket(this.lastChange)]!++;
    }
    this.pump();
    if (this.inFlight.length <= this.window / 2 && this.waitingHead === this.waiting.length) this.o.onRoom?.();
  }
}
