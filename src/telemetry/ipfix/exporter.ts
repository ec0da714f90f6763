/**
 * IPFIX exporter for one collector (RFC 7011 §10: UDP and TCP transports).
 *
 * offer(record) -> tenant filter -> bounded queue (full: the record is dropped and counted; offer never
 * waits) -> every `flushMs` (or at once when a message's worth is queued) the queue is encoded into
 * messages of at most the path MTU and sent.
 * Path MTU (UDP): `pathMtu` when given; else the connected socket's (IP_MTU, read when the native socket opens); else
 * (node's dgram, or the read failed) 1500, or LOOPBACK_MTU toward a loopback address, counted as assumed (pathMtuAssumed).
 * UDP (§10.3): a connected socket (native/udp-send.c: a flush's messages in one sendmmsg; node's dgram without the
 * addon); at a path MTU (not loopback's) with UDP GSO: every message of a send but the last padded to the largest size
 * (padMessage), so that runs of them go as one GSO entry each (the socket refusing GSO: plain sends from then on, counted);
 * the template set is resent every `templateRefreshS` seconds or every
 * `templateRefreshMessages` messages (§8.4, whichever comes first). An ICMP port/host unreachable comes
 * back as a socket error: the collector is `down` (what the failing message carried is lost; a send that
 * fails at once counts its records dropped). While down, records wait in the queue and only template
 * messages go out as probes (the native socket reports an error at its next send or flush: udpPendingError); `upAfterMs` after the last error with a probe sent since, it is `up` again
 * and the templates are sent first. A collector host that drops silently cannot be told from a working one.
 * TCP (§10.4): templates once at each connect; while the socket cannot take more (write() false) the queue
 * waits for 'drain'; a refused or broken connection is `down` and retried with backoff.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect as tcpConnect, isIPv4, isIPv6, type Socket as TcpSocket } from 'node:net';
import type { PerDirection, SessionRecord } from '../record.js';
import { IpfixMessageWriter, MAX_STRING_BYTES, padMessage, type EncodedMessage } from './message.js';
import type { PlainFlowsFn } from './plain-abi.js';
import { nativeUdp, udpError, type NativeUdp, type UdpHandle } from './udp-send.js';
import type { CollectorConfig } from '../../model/config.js';

export type CollectorStatus = 'unknown' | 'up' | 'down';

export interface ExporterOptions {
  collector: CollectorConfig;
  observationDomainId: number;
  /** path MTU toward the collector (UDP messages are sized to it); default the connected socket's (see the top) */
  pathMtu?: number;
  /** ms since the epoch: export times and the timers' bookkeeping (template refresh, probes, stalls); default Date.now */
  now?: () => number;
  /** records waiting to be sent at most; default 10000 */
  queueLimit?: number;
  /** default 100 */
  flushMs?: number;
  /** UDP template refresh: seconds (default 60) and messages (default 1000), whichever first */
  templateRefreshS?: number;
  templateRefreshMessages?: number;
  /** UDP: error-free sending time before a `down` collector counts as `up` again; default 3000 */
  upAfterMs?: number;
  /** TCP reconnect backoff; default 1000 doubling to 30000 */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** called when the collector's status changes (for the collector-unreachable alarm) */
  onStatus?: (status: CollectorStatus, detail: string) => void;
}

export interface ExporterCounters {
  /** session records accepted into the queue */
  queued: number;
  /** session records sent */
  exported: number;
  /** session records dropped: queue full, or their message could not be sent */
  dropped: number;
  /** session records not for this collector (tenant filter) */
  filtered: number;
  /** IPFIX data records (one per flow direction) sent */
  dataRecords: number;
  messages: number;
  bytes: number;
  templateSends: number;
  /** send or connection errors */
  errors: number;
  /** TCP connections made */
  connects: number;
  /** records in the queue now */
  queueDepth: number;
  /** UDP: messages sent as segments of a UDP GSO send (native/udp-send.c) */
  gsoMessages: number;
  /** UDP: 1 when the socket refused GSO (no checksum offload on the way out, IPsec, a segment over the route's MTU, an
   *  older kernel): one datagram per sendmmsg entry since */
  gsoRefused: number;
  /** UDP: the path MTU the messages are sized to (0 for TCP) */
  pathMtu: number;
  /** UDP: 1 when it is assumed (1500, or loopback's), not given nor read from the socket (node's dgram, or IP_MTU failed) */
  pathMtuAssumed: number;
}

const UDP_HEADERS = { 4: 28, 6: 48 } as const;
/** the path MTU assumed toward a collector not on loopback when the socket does not tell it */
const ASSUMED_MTU = 1500;
/**
 * A collector on 127.0.0.0/8 or ::1 is reached over `lo`, whose MTU (65536) is above the largest IP packet:
 * messages of up to 65507 bytes (IPv4; 65487 over IPv6), one send for some 200 session records instead of 8 (the send was about
 * 4 µs of the records thread's CPU per record with 1472-byte messages).
 */
export const LOOPBACK_MTU = 65535;
/** Records queued that are encoded and sent at once (when the transport is ready), not at the next timer or turn. */
const SEND_NOW = 256;
/** TCP: records encoded per write while the socket takes them */
const TCP_CHUNK = 256;
/** TCP: a collector that has not read for this long is `down` */
const STALL_MS = 10_000;
/** TCP: a connect that takes longer fails */
const CONNECT_TIMEOUT_MS = 5_000;

export class IpfixExporter {
  readonly collector: CollectorConfig;
  private writer: IpfixMessageWriter;
  private readonly now: () => number;
  private readonly queueLimit: number;
  private readonly flushMs: number;
  private readonly tenants: ReadonlySet<string>;
  private queue: SessionRecord[] = [];
  /** live sessions: the last interim record this collector got of each (time and totals) */
  private readonly lastInterim = new Map<string, { endMs: number; packets: PerDirection; bytes: PerDirection }>();
  private readonly c = { queued: 0, exported: 0, dropped: 0, filtered: 0, dataRecords: 0, messages: 0, bytes: 0, templateSends: 0, errors: 0, connects: 0, gsoMessages: 0, gsoRefused: 0, pathMtu: 0, pathMtuAssumed: 0 };
  private statusNow: CollectorStatus = 'unknown';
  /** the next flush: flushMs while anything waits (records, a probe of a down collector, a blocked TCP socket), else at the
   *  next UDP template refresh (§8.4), else none (an idle collector never wakes the records thread) */
  private timer: NodeJS.Timeout | undefined;
  /** the armed timer is the flushMs one */
  private timerSoon = false;
  private closed = false;
  // UDP
  private udp: UdpSocket | undefined;
  /** the native socket (nativeUdp), when the addon has it: then `udp` stays undefined */
  private native: { fns: NativeUdp; handle: UdpHandle | undefined } | undefined;
  /** messages the native socket could not take yet (its buffer full): sent first at the next flush */
  private unsent: EncodedMessage[] = [];
  /** offerPlain's full messages (reused) */
  private readonly plainOut: EncodedMessage[] = [];
  /** messages sent since the native socket's errors were last read (an ICMP answer may come after the send) */
  private sentUnchecked = false;
  private sendStatus = new Int32Array(67);
  /** UDP GSO's segment: the largest message, padded to (0: no GSO; loopback's messages, or refused) */
  private gsoSegment: number;
  private readonly sendList: Uint8Array[] = [];
  private udpReady = false;
  private lastTemplateMs = -Infinity;
  private messagesSinceTemplate = 0;
  private lastErrorMs = -Infinity;
  private lastProbeMs = -Infinity;
  private inFlight = 0;
  // TCP
  private tcp: TcpSocket | undefined;
  private tcpWritable = false;
  private reconnectMs: number;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private blockedSinceMs = 0;

  constructor(private readonly opts: ExporterOptions) {
    this.collector = opts.collector;
    this.now = opts.now ?? Date.now;
    const udp = opts.collector.transport === 'udp';
    // UDP: sized again when the native socket tells its path MTU (nativeReady)
    const mtu = opts.pathMtu ?? (isLoopback(opts.collector.address) ? LOOPBACK_MTU : ASSUMED_MTU);
    this.writer = this.writerFor(udp ? mtu : 0);
    this.gsoSegment = 0;
    if (udp) this.sizeTo(mtu, opts.pathMtu === undefined);
    this.queueLimit = opts.queueLimit ?? 10_000;
    this.flushMs = opts.flushMs ?? 100;
    this.tenants = new Set(opts.collector.tenants);
    this.reconnectMs = opts.reconnectMinMs ?? 1000;
  }

  /** A writer for messages within `mtu` (UDP; 0: TCP, up to 65535 bytes). */
  private writerFor(mtu: number): IpfixMessageWriter {
    const maxMessageBytes = mtu > 0 ? mtu - UDP_HEADERS[isIPv6(this.collector.address) ? 6 : 4] : 65535;
    return new IpfixMessageWriter({ observationDomainId: this.opts.observationDomainId, maxMessageBytes });
  }

  /** UDP: messages (and GSO segments) sized to `mtu` from now on (nothing may be in the writer). */
  private sizeTo(mtu: number, assumed: boolean): void {
    if (mtu !== this.c.pathMtu && this.c.pathMtu !== 0) {
      const sequence = this.writer.sequence;
      this.writer = this.writerFor(mtu);
      this.writer.sequence = sequence;
    }
    this.c.pathMtu = mtu;
    this.c.pathMtuAssumed = assumed ? 1 : 0;
    // two messages must fit one GSO send for a run to be worth padding (and only the native socket sends GSO)
    const gsoMax = nativeUdp()?.UDP_GSO_MAX_BYTES ?? 0;
    this.gsoSegment = this.c.gsoRefused === 0 && 2 * this.writer.maxMessageBytes <= gsoMax ? this.writer.maxMessageBytes : 0;
  }

  /** Opens the transport and starts sending. */
  start(): void {
    if (this.collector.transport === 'udp') this.openUdp();
    else this.openTcp();
    this.soon();
  }

  /** Flushes within flushMs (an armed later timer is brought forward). */
  private soon(): void {
    if (this.timerSoon || this.closed) return;
    clearTimeout(this.timer);
    this.arm(this.flushMs, true);
  }

  private arm(ms: number, soon: boolean): void {
    this.timerSoon = soon;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerSoon = false;
      this.flush();
      this.rearm();
    }, ms);
    this.timer.unref();
  }

  /** After a timed flush: the next timer, if anything will need one (see `timer`). */
  private rearm(): void {
    if (this.closed || this.timer !== undefined) return;
    const waiting = this.queue.length > 0 || this.writer.openRecords > 0 || this.unsent.length > 0 || this.sentUnchecked || this.statusNow === 'down' || this.statusNow === 'unknown';
    if (this.collector.transport === 'udp') {
      if (waiting || !this.udpReady) return this.arm(this.flushMs, true);
      const refreshAt = this.lastTemplateMs + (this.opts.templateRefreshS ?? 60) * 1000;
      this.arm(Math.max(this.flushMs, refreshAt - this.now()), false);
    } else if (waiting || (this.tcp !== undefined && !this.tcpWritable)) {
      this.arm(this.flushMs, true);
    }
  }

  /**
   * Queues a record for export; never blocks. False when it was dropped (queue full) or filtered out: not
   * one of the collector's tenants, or an interim record before this collector's interim interval (the
   * builder makes them at the shortest interval of all collectors).
   */
  offer(record: SessionRecord): boolean {
    if (this.tenants.size > 0 && !this.tenants.has(record.tenant)) {
      this.c.filtered++;
      return false;
    }
    if (this.closed || this.queue.length >= this.queueLimit) {
      this.c.dropped++;
      if (record.kind === 'end') this.lastInterim.delete(record.sessionId);
      return false;
    }
    const r = this.forCollector(record);
    if (r === undefined) {
      this.c.filtered++;
      return false;
    }
    this.queue.push(r);
    this.c.queued++;
    this.soon();
    // a burst (the records thread applying a backlog of facts in one turn) is sent as it comes, never left to fill the
    // queue: in full messages (the last one, not full, waits for more flows or the timer)
    if (this.queue.length >= SEND_NOW) this.flush(false);
    else if (this.queue.length === 64) setImmediate(() => this.flush(false));
    return true;
  }

  /**
   * Plain sessions' ends (plain-flows.ts: `count` entries of `list`) written into the open message at once, as offer()
   * and a flush would of their end records (what is queued goes first); full messages go out as a flush's. False when
   * they take their records instead: TCP, a tenant filter, not yet sending, a collector down (records wait in the queue).
   */
  offerPlain(flows: PlainFlowsFn, slots: Uint32Array, shapes: Uint8Array, list: Float64Array, count: number): boolean {
    if (this.closed || this.collector.transport !== 'udp' || this.tenants.size > 0 || !this.udpReady || (this.native !== undefined && this.native.handle === undefined) ||
      this.statusNow === 'down' || this.writer.maxStringBytes !== MAX_STRING_BYTES) return false;
    if (this.queue.length > 0) this.flush(false); // in order: the queue's records into the open message first
    if (this.queue.length > 0) return false;
    const out = this.plainOut;
    this.writer.plain(flows, slots, shapes, list, count, Math.floor(this.now() / 1000), out);
    this.c.queued += count;
    if (out.length > 0) {
      // as a flush's messages: sent after any the socket could not take yet
      this.messagesSinceTemplate += out.length;
      for (const m of out) this.unsent.push(m);
      out.length = 0;
      this.flush(false);
    }
    this.soon();
    return true;
  }

  /**
   * The record as this collector gets it: interim records only every `interimInterval`, and the delta
   * counts (octetDeltaCount, packetDeltaCount) since the previous record this collector got of the session.
   */
  private forCollector(r: SessionRecord): SessionRecord | undefined {
    if (r.kind === 'end' && r.seq === 0) return r; // no interim record came before it: nothing kept of the session here
    const last = this.lastInterim.get(r.sessionId);
    if (r.kind === 'interim') {
      // a second of slack: the builder's timer ticks are not exact
      if (r.endMs - (last?.endMs ?? r.startMs) < this.collector.interimInterval * 1000 - 1000) return undefined;
      this.lastInterim.set(r.sessionId, { endMs: r.endMs, packets: r.packets, bytes: r.bytes });
    } else {
      this.lastInterim.delete(r.sessionId);
    }
    if (last === undefined && r.seq === 0) return r; // the session's first record: the builder's delta is its total
    const p = last?.packets ?? [0, 0];
    const b = last?.bytes ?? [0, 0];
    return { ...r, delta: { packets: [r.packets[0] - p[0], r.packets[1] - p[1]], bytes: [r.bytes[0] - b[0], r.bytes[1] - b[1]] } };
  }

  get status(): CollectorStatus {
    return this.statusNow;
  }

  counters(): ExporterCounters {
    return { ...this.c, queueDepth: this.waitingRecords() };
  }

  /** Records queued, in an open message, or in messages the native socket could not take yet. */
  private waitingRecords(): number {
    return this.queue.length + this.writer.openRecords + this.unsent.reduce((n, m) => n + m.records, 0);
  }

  /** Sends what is queued (if the transport can take it now), then closes. */
  async close(): Promise<void> {
    this.flush();
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.reconnectTimer);
    this.c.dropped += this.waitingRecords();
    this.queue = [];
    this.unsent = [];
    if (this.native?.handle !== undefined) this.native.fns.udpClose(this.native.handle);
    const udp = this.udp;
    const tcp = this.tcp;
    if (udp !== undefined) {
      for (let waited = 0; this.inFlight > 0 && waited < 1000; waited += 10) await new Promise((r) => setTimeout(r, 10));
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    }
    if (tcp !== undefined) {
      // a collector that does not read would hold end() forever
      await Promise.race([new Promise<void>((resolve) => tcp.end(() => resolve())), new Promise<void>((resolve) => setTimeout(resolve, 1000).unref())]);
      tcp.destroy();
    }
  }

  /** Encodes and sends the queue, if the transport is ready; `all` false: UDP messages only when full (see offer). */
  flush(all = true): void {
    if (this.closed) return;
    if (this.collector.transport === 'udp') this.flushUdp(all);
    else this.flushTcp();
  }

  private setStatus(s: CollectorStatus, detail: string): void {
    if (s === this.statusNow) return;
    this.statusNow = s;
    if (s === 'down') this.soon(); // probes (UDP), the reconnect's outcome (TCP)
    this.opts.onStatus?.(s, detail);
  }

  private openUdp(): void {
    const fns = nativeUdp();
    // a scoped IPv6 address (fe80::1%eth0) goes through dgram, which resolves the zone
    if (fns !== undefined && !this.collector.address.includes('%')) {
      this.native = { fns, handle: undefined };
      // ready on the next turn, as dgram's connect: no status callback while the owner is still starting us
      setImmediate(() => {
        this.udpReady = true;
        this.flush();
      });
      return;
    }
    const sock = createSocket(isIPv6(this.collector.address) ? 'udp6' : 'udp4');
    this.udp = sock;
    sock.on('error', (e) => this.sendError(e));
    sock.connect(this.collector.port, this.collector.address, () => {
      this.udpReady = true;
      this.flush();
    });
  }

  private flushUdp(all: boolean): void {
    if (!this.udpReady || !this.nativeReady()) return;
    const now = this.now();
    if (this.statusNow === 'down') {
      // a refusing collector gets only template messages as probes; records wait in the queue
      const upAfterMs = this.opts.upAfterMs ?? 3000;
      if (this.lastProbeMs > this.lastErrorMs && now - this.lastErrorMs >= upAfterMs) {
        this.setStatus('up', `${this.collector.address}:${this.collector.port}/udp: no error for ${upAfterMs} ms`);
        this.lastTemplateMs = -Infinity; // it may have restarted without our templates
      } else {
        if (now - this.lastProbeMs >= Math.min(1000, upAfterMs / 2)) this.probe(now);
        return;
      }
    }
    const refresh = now - this.lastTemplateMs >= (this.opts.templateRefreshS ?? 60) * 1000 ||
      this.messagesSinceTemplate >= (this.opts.templateRefreshMessages ?? 1000);
    if (this.unsent.length > 0) {
      const waiting = this.unsent;
      this.unsent = [];
      this.send(waiting);
      if (this.unsent.length > 0) return;
    }
    if (this.queue.length === 0 && !refresh && (!all || this.writer.openRecords === 0)) return;
    const batch = this.queue;
    this.queue = [];
    const messages = this.writer.encode(batch, Math.floor(now / 1000), refresh, !all);
    if (refresh) {
      this.lastTemplateMs = now;
      this.messagesSinceTemplate = 0;
      this.c.templateSends++;
    }
    this.messagesSinceTemplate += messages.length;
    this.send(messages);
  }

  /**
   * The native socket, opened if it is not (a failed open is an error of the collector, tried again at the next
   * flush), with the errors it reported since the last look; false when it cannot send. True for dgram.
   */
  private nativeReady(): boolean {
    const n = this.native;
    if (n === undefined) return this.udp !== undefined;
    const where = `${this.collector.address}:${this.collector.port}`;
    if (n.handle === undefined) {
      try {
        n.handle = n.fns.udpOpen(isIPv6(this.collector.address) ? 6 : 4, this.collector.address, this.collector.port);
      } catch (e) {
        this.sendError(e instanceof Error ? e : new Error(String(e)));
        return false;
      }
      if (this.opts.pathMtu === undefined) this.readPathMtu(n.fns.udpPathMtu(n.handle));
    }
    this.sentUnchecked = false;
    const err = n.fns.udpPendingError(n.handle);
    if (err !== 0) this.sendError(udpError(err, where));
    return true;
  }

  /**
   * The socket's path MTU (or -errno): messages sized to it (at most LOOPBACK_MTU: lo's 65536 is above the largest IP
   * packet); one the template set does not fit (an MTU under some 700 bytes) or a failed read keeps the assumed one.
   */
  private readPathMtu(mtu: number): void {
    if (mtu <= 0) return;
    try {
      this.sizeTo(Math.min(mtu, LOOPBACK_MTU), false);
    } catch {
      // SVR_ERR_TELEMETRY_OPTIONS: the template set would not fit a message; sent at the assumed size (fragmented)
    }
  }

  /** Sends messages in order: each counted when sent, or its records dropped and the collector down; its buffer given back. */
  private send(messages: readonly EncodedMessage[]): void {
    const n = this.native;
    if (n?.handle === undefined) return this.sendDgram(messages);
    // the list is reused (entries past `count` are stale, never read): no array per flush
    const list = this.sendList;
    const count = messages.length;
    const segment = this.gsoSegment;
    for (let i = 0; i < count; i++) {
      const m = messages[i]!;
      if (segment > 0 && i < count - 1) padMessage(m, segment); // one that cannot be ends its run
      list[i] = m.bytes;
    }
    if (this.sendStatus.length <= count + 2) this.sendStatus = new Int32Array(count + 3);
    const status = this.sendStatus;
    const tried = segment > 0 ? n.fns.udpSendMany(n.handle, list, count, status, segment) : n.fns.udpSendMany(n.handle, list, count, status);
    if (segment > 0) {
      this.c.gsoMessages += status[count + 1]!;
      if (status[count + 2] !== 0) {
        this.c.gsoRefused = 1;
        this.gsoSegment = 0;
      }
    }
    let failed = 0;
    for (let i = 0; i < tried; i++) {
      const m = messages[i]!;
      if (status[i] === 0) {
        this.count(m);
        this.sendOk();
      } else {
        this.c.dropped += m.records;
        failed = status[i]!;
      }
      this.writer.release(m);
    }
    // the socket's buffer is full: the rest wait for the next flush (soon)
    for (let i = tried; i < messages.length; i++) this.unsent.push(messages[i]!);
    this.sentUnchecked = true;
    const where = `${this.collector.address}:${this.collector.port}`;
    if (failed !== 0) this.sendError(udpError(failed, where));
    if (status[count] !== 0) this.sendError(udpError(status[count]!, where));
    this.soon();
  }

  private sendDgram(messages: readonly EncodedMessage[]): void {
    const sock = this.udp!;
    for (const m of messages) {
      this.inFlight++;
      sock.send(m.bytes, (err) => {
        this.inFlight--;
        if (err !== null && err !== undefined) {
          this.c.dropped += m.records;
          this.sendError(err);
        } else {
          this.count(m);
          this.sendOk();
        }
        this.writer.release(m); // sent: its buffer takes the next message
      });
    }
  }

  private count(m: EncodedMessage): void {
    this.c.exported += m.records;
    this.c.dataRecords += m.dataRecords;
    this.c.messages++;
    this.c.bytes += m.bytes.length;
  }

  private probe(now: number): void {
    this.lastProbeMs = now;
    this.c.templateSends++;
    this.send([{ bytes: this.writer.templates(Math.floor(now / 1000)), dataRecords: 0, records: 0 }]);
  }

  private sendOk(): void {
    if (this.statusNow === 'unknown') this.setStatus('up', `sending to ${this.collector.address}:${this.collector.port}/udp`);
  }

  private sendError(e: Error): void {
    this.c.errors++;
    this.lastErrorMs = this.now();
    this.setStatus('down', `${this.collector.address}:${this.collector.port}/udp: ${e.message}`);
  }

  private openTcp(): void {
    if (this.closed) return;
    const sock = tcpConnect({ host: this.collector.address, port: this.collector.port, timeout: CONNECT_TIMEOUT_MS });
    this.tcp = sock;
    sock.setNoDelay(true);
    sock.on('timeout', () => {
      if (!sock.connecting) return;
      sock.destroy(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`));
    });
    sock.on('connect', () => {
      sock.setTimeout(0);
      this.c.connects++;
      this.reconnectMs = this.opts.reconnectMinMs ?? 1000;
      this.tcpWritable = true;
      this.setStatus('up', `connected to ${this.collector.address}:${this.collector.port}/tcp`);
      // §8: templates first on every new transport session; sequence numbers restart with it (§3.1)
      this.writer.sequence = 0;
      this.writeTcp({ bytes: this.writer.templates(Math.floor(this.now() / 1000)), dataRecords: 0, records: 0 });
      this.c.templateSends++;
      this.flush();
    });
    sock.on('drain', () => {
      this.tcpWritable = true;
      this.setStatus('up', `connected to ${this.collector.address}:${this.collector.port}/tcp`);
      this.flush();
    });
    sock.on('error', (e) => {
      this.c.errors++;
      this.setStatus('down', `${this.collector.address}:${this.collector.port}/tcp: ${e.message}`);
    });
    sock.on('close', () => {
      this.tcpWritable = false;
      this.tcp = undefined;
      if (this.closed) return;
      this.setStatus('down', `${this.collector.address}:${this.collector.port}/tcp: connection closed`);
      this.reconnectTimer = setTimeout(() => this.openTcp(), this.reconnectMs);
      this.reconnectTimer.unref();
      this.reconnectMs = Math.min(this.reconnectMs * 2, this.opts.reconnectMaxMs ?? 30_000);
    });
  }

  private flushTcp(): void {
    if (this.tcp === undefined) return;
    if (!this.tcpWritable) {
      // still connecting: CONNECT_TIMEOUT_MS decides (a stall counts from a write the socket did not take)
      if (!this.tcp.connecting && this.now() - this.blockedSinceMs >= STALL_MS) this.setStatus('down', `${this.collector.address}:${this.collector.port}/tcp: the collector has not read for ${STALL_MS / 1000} s`);
      return;
    }
    while (this.tcpWritable && this.queue.length > 0) {
      const batch = this.queue.splice(0, TCP_CHUNK);
      for (const m of this.writer.encode(batch, Math.floor(this.now() / 1000))) this.writeTcp(m);
    }
  }

  private writeTcp(m: EncodedMessage): void {
    const sock = this.tcp;
    if (sock === undefined) {
      this.c.dropped += m.records;
      return;
    }
    // counted when the socket accepts the bytes: a connection that breaks later loses what it buffered
    if (!sock.write(m.bytes) && this.tcpWritable) {
      this.tcpWritable = false;
      this.blockedSinceMs = this.now();
    }
    this.count(m);
  }
}

/** 127.0.0.0/8 or ::1 (a collector on this host, or in this network namespace). */
function isLoopback(address: string): boolean {
  return (isIPv4(address) && address.startsWith('127.')) || (isIPv6(address) && /^[0:]*:0*1$/.test(address));
}
