/**
 * The sync link of one node of a router pair: one UDP socket on the node's `sync-address`, talking only to
 * the partner's. Sends heartbeats and state batches (sync-wire.ts), receives the partner's; every datagram
 * that is malformed, fails authentication, comes from another address or node, or is not newer than the
 * last one accepted (replay, reordering) is dropped and counted by reason.
 *
 * State records are queued by their owners (control side, between batches: never one message per packet)
 * and sent by `flush()` packed into datagrams of at most SYNC_MAX_DATAGRAM bytes. The partner's heartbeat
 * carries the last batch it applied: the lag is the time from sending a batch to hearing it applied
 * (a round trip plus the partner's heartbeat interval at most).
 */
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { HaHeartbeat } from '../machines/ha-node.js';
import { MSG_HEARTBEAT, SYNC_MAX_DATAGRAM, decodeSync, encodeHeartbeat, encodeState, recordSize, stateBatchSize, type SyncDrop, type SyncRecord } from './sync-wire.js';

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
  onRecords: (records: SyncRecord[]) => void;
  /** ms clock for the lag; default performance.now */
  now?: () => number;
}

export interface SyncLinkCounters {
  heartbeatsSent: number;
  heartbeatsReceived: number;
  batchesSent: number;
  batchesReceived: number;
  recordsSent: number;
  recordsReceived: number;
  sendErrors: number;
  dropped: Record<SyncDrop, number>;
}

export interface SyncLag {
  /** the last measured lag (ms), undefined before the first */
  lastMs: number | undefined;
  maxMs: number;
  /** records queued, not yet sent */
  pending: number;
  /** batches sent, not yet heard applied */
  unacked: number;
}

/** Batches remembered for the lag: older ones count as lost. */
const UNACKED_LIMIT = 1024;

export class SyncLink {
  readonly counters: SyncLinkCounters = {
    heartbeatsSent: 0, heartbeatsReceived: 0, batchesSent: 0, batchesReceived: 0, recordsSent: 0, recordsReceived: 0, sendErrors: 0,
    dropped: { malformed: 0, 'bad-auth': 0, 'not-partner': 0, 'out-of-order': 0 },
  };
  private readonly socket: Socket;
  private readonly epoch = Math.floor(Date.now() / 1000);
  private seq = 0;
  private partnerEpoch = -1;
  private partnerSeq = -1;
  /** the partner's last batch applied here (sent back in our heartbeats) */
  private appliedBatch = 0;
  private readonly unacked = new Map<number, number>();
  private pending: SyncRecord[] = [];
  private lastLag: number | undefined;
  private maxLag = 0;
  private readonly now: () => number;
  private readonly partnerPort: number;

  constructor(private readonly o: SyncLinkOptions) {
    this.now = o.now ?? (() => performance.now());
    this.partnerPort = o.partnerPort ?? o.port;
    this.socket = createSocket(isIPv6(o.localAddress) ? 'udp6' : 'udp4');
    this.socket.on('message', (buf, from) => this.receive(buf, from.address, from.port));
    this.socket.on('error', () => { this.counters.sendErrors++; });
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.bind(this.o.port, this.o.localAddress, () => {
        this.socket.off('error', reject);
        resolve();
      });
    });
  }

  close(): void {
    this.socket.close();
  }

  sendHeartbeat(hb: HaHeartbeat): void {
    this.counters.heartbeatsSent++;
    this.send(encodeHeartbeat(this.o.key, this.header(), hb, this.appliedBatch));
  }

  /** Queue a record for the next flush. */
  queue(record: SyncRecord): void {
    this.pending.push(record);
  }

  /** Send every queued record now, packed into as few datagrams as fit. */
  flush(): void {
    let batch: SyncRecord[] = [];
    let size = stateBatchSize(this.o.node, batch);
    for (const r of this.pending) {
      if (batch.length > 0 && (size + recordSize(r) > SYNC_MAX_DATAGRAM || batch.length === 0xffff)) {
        this.sendBatch(batch);
        batch = [];
        size = stateBatchSize(this.o.node, batch);
      }
      batch.push(r);
      size += recordSize(r);
    }
    if (batch.length > 0) this.sendBatch(batch);
    this.pending = [];
  }

  lag(): SyncLag {
    return { lastMs: this.lastLag, maxMs: this.maxLag, pending: this.pending.length, unacked: this.unacked.size };
  }

  private header(): { node: string; epoch: number; seq: number } {
    this.seq = (this.seq + 1) >>> 0;
    return { node: this.o.node, epoch: this.epoch, seq: this.seq };
  }

  private sendBatch(records: SyncRecord[]): void {
    const h = this.header();
    this.unacked.set(h.seq, this.now());
    if (this.unacked.size > UNACKED_LIMIT) this.unacked.delete(this.unacked.keys().next().value!);
    this.counters.batchesSent++;
    this.counters.recordsSent += records.length;
    this.send(encodeState(this.o.key, h, records));
  }

  private send(buf: Buffer): void {
    this.socket.send(buf, this.partnerPort, this.o.partnerAddress, (err) => { if (err) this.counters.sendErrors++; });
  }

  private receive(buf: Buffer, address: string, port: number): void {
    const d = this.counters.dropped;
    if (address !== this.o.partnerAddress || port !== this.partnerPort) {
      d['not-partner']++;
      return;
    }
    const m = decodeSync(this.o.key, buf);
    if (typeof m === 'string') {
      d[m]++;
      return;
    }
    if (m.node !== this.o.partner) {
      d['not-partner']++;
      return;
    }
    // replay and reordering: a newer epoch (the partner restarted) or a higher sequence in this one
    if (m.epoch < this.partnerEpoch || (m.epoch === this.partnerEpoch && m.seq <= this.partnerSeq)) {
      d['out-of-order']++;
      return;
    }
    this.partnerEpoch = m.epoch;
    this.partnerSeq = m.seq;
    if (m.type === MSG_HEARTBEAT) {
      this.counters.heartbeatsReceived++;
      this.acked(m.ackedBatch);
      this.o.onHeartbeat(m.heartbeat);
      return;
    }
    this.counters.batchesReceived++;
    this.counters.recordsReceived += m.records.length;
    this.appliedBatch = m.seq;
    this.o.onRecords(m.records);
  }

  /** The partner applied every batch up to `seq`: the lag of the newest of them. */
  private acked(seq: number): void {
    const sentAt = this.unacked.get(seq);
    if (sentAt !== undefined) {
      this.lastLag = this.now() - sentAt;
      this.maxLag = Math.max(this.maxLag, this.lastLag);
    }
    for (const s of this.unacked.keys()) if (s <= seq) this.unacked.delete(s);
  }
}
