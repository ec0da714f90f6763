/**
 * A node's session records, control side only: facts in, records out to every IPFIX collector and to the
 * session history.
 *
 *   fact rows (RowSink: openRow, totals, end; apply) or facts (apply)
 *     -> SessionRecordBuilder -> record -> IpfixExporter.offer (each collector: bounded queue,
 *                                          never waits; dropped records counted)
 *                                     -> SessionHistory.put (batched LevelDB writes, never waits)
 *   every second: the builder's interim records of live sessions, the same way.
 *   a plain session's end (no interim record, migration, retransmissions): held, then in a batch (flushPlain) its flows
 *   written from its slot by the addon into each UDP collector's open message (ipfix/plain-flows.ts), its history row
 *   and postings from the same slot (history/block.ts addPlain); its record made only for collectors that cannot take
 *   the flows now (records thread µs a session −12 % with the history, −17 % without: docs/performance.md "Wave 24,
 *   recn"; the history's row from the slot: "Wave 25, recb").
 *
 * reconfigure(settings) follows the authority's `telemetry` block at a config change: collectors that are
 * new or changed are (re)started, those gone are stopped, the history is opened or closed (`enabled`), the
 * interim interval and retention follow. With neither collectors nor history, facts are not even looked at.
 * The history writes HISTORY_WRITE records at a time (or what waits every 250 ms) as blocks of HISTORY_BLOCK;
 * a record's row is built when it is put (about 1 µs), so a record object lives only while it is delivered.
 */
import { SvrError } from '../errors.js';
import type { CollectorConfig, TelemetrySettings } from '../model/config.js';
import type { Store } from '../store/store.js';
import { INTERIM_DEFAULT_S } from '../model/read-telemetry.js';
import { SessionHistory, retentionOptions, type HistoryCounters, type HistoryOptions } from './history/history.js';
import type { HistoryPage, HistoryQuery } from './history/query.js';
import { IpfixExporter, type CollectorStatus, type ExporterCounters, type ExporterOptions } from './ipfix/exporter.js';
import type { RowSink } from './fact-rows.js';
import { plainRow, type RowNames, type SlotNames } from './open-sessions.js';
import { ENTRY, nativePlainFlows } from './ipfix/plain-abi.js';
import { PlainShapes } from './ipfix/plain-flows.js';
import { SessionRecordBuilder, type CloseReason, type RecordBuilderCounters, type SessionFact, type SessionRecord } from './record.js';

export interface SessionRecordsOptions {
  /** this router's name (in every record) */
  router: string;
  /** the node's store: the history lives in its `history` sublevel */
  store: Store;
  telemetry: TelemetrySettings;
  /** this router's IPFIX observation domain id */
  observationDomainId: number;
  /** a collector went up or down (for the collector-unreachable alarm and the log) */
  onCollectorStatus?: (collector: string, status: CollectorStatus, detail: string) => void;
  /** exporter tuning (tests) */
  exporter?: Pick<ExporterOptions, 'flushMs' | 'queueLimit' | 'upAfterMs' | 'pathMtu' | 'reconnectMinMs' | 'reconnectMaxMs'>;
  /** history tuning (tests) */
  history?: Omit<HistoryOptions, 'maxAgeMs' | 'maxBytes' | 'readOnly'>;
  /** open sessions the builder makes room for when records start (a node's: openSessionsAtStart); default none: it grows as they come */
  openSessions?: number;
  /** ms between the builder's interim checks; default 1000 */
  tickMs?: number;
  /** wall clock for records, ms since the epoch; default Date.now */
  now?: () => number;
}

export interface CollectorView extends ExporterCounters {
  name: string;
  address: string;
  port: number;
  transport: string;
  status: CollectorStatus;
}

export interface SessionRecordsCounters {
  records: RecordBuilderCounters;
  history: HistoryCounters;
  collectors: CollectorView[];
  /** facts waiting for the records thread, those dropped as too many waited, those lost when a records thread
   *  ended, and how often one was started again (records-thread.ts) */
  waiting?: { facts: number; dropped: number; lost: number; restarts: number };
}

/** Records per history block, and per write (see above). */
/** The most open sessions a node's records make room for at start: 131,072 slots, about 39 MB (a lab router at
 *  30,000 new sessions/s with a 2 s idle timeout holds some 90,000); beyond, the table doubles as they come. */
export const OPEN_SESSIONS_AT_START = 131_072;

/** The open sessions a router's records make room for at start: its `session-capacity`, at most OPEN_SESSIONS_AT_START
 *  (the default capacity, sized from memory, is at least 65,536 and beyond it on any host of 256 MB or more). */
export function openSessionsAtStart(sessionCapacity: number | undefined): number {
  return sessionCapacity !== undefined && sessionCapacity > 0 ? Math.min(OPEN_SESSIONS_AT_START, sessionCapacity) : OPEN_SESSIONS_AT_START;
}

/** Plain sessions' ends written by the addon in one call at most (more wait for the next). */
export const PLAIN_BATCH = 256;

export const HISTORY_BLOCK = 512;
export const HISTORY_WRITE = 4096;

const NO_HISTORY: HistoryCounters = {
  accepted: 0, written: 0, markedAccepted: 0, pending: 0, droppedFull: 0, lostAtOpen: 0, lostTotal: 0, batches: 0, busyMs: 0,
  bytes: 0, retiredByAge: 0, retiredBySize: 0, retiredRecords: 0, writeErrors: 0,
};

export class SessionRecords implements RowSink {
  private readonly builder: SessionRecordBuilder;
  /** undefined while `telemetry.history.enabled` is false */
  private history: SessionHistory | undefined;
  private readonly exporters = new Map<string, IpfixExporter>();
  /** the exporters' values, for deliver() (no Map iterator per record) */
  private offerTo: IpfixExporter[] = [];
  /** the addon's plain-session flows (undefined: not built, every end makes its record) */
  private readonly plainFlows = nativePlainFlows();
  private readonly shapes: PlainShapes;
  /** end(): the ended session's names; flushPlain(): which exporters took the flows (per offerTo's index) */
  private readonly slotNames: SlotNames = {
    tenant: '', service: '', application: '', path: undefined, ingressInterface: { name: '', index: -1 }, egressInterface: { name: '', index: -1 }, role: 0,
  };
  private plainTaken: boolean[] = [];
  /** flushPlain(): a held session's row for the history */
  private readonly plainRow = plainRow();
  /** plain sessions' ends waiting (ipfixPlainFlows' list: slot, shape, end ms) and their close reasons */
  private readonly plainList = new Float64Array(PLAIN_BATCH * ENTRY);
  private readonly plainReasons: CloseReason[] = [];
  private plainCount = 0;
  private readonly flushSoon = (): void => this.flushPlain();
  private settings: TelemetrySettings;
  private domain: number;
  /** the interim records' check, while recording */
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private closed = false;

  private constructor(private readonly opts: SessionRecordsOptions, history: SessionHistory | undefined) {
    this.history = history;
    this.now = opts.now ?? Date.now;
    this.settings = opts.telemetry;
    this.domain = opts.observationDomainId;
    this.shapes = new PlainShapes(opts.router);
    this.builder = new SessionRecordBuilder({ router: opts.router, interimIntervalS: interimOf(opts.telemetry), nowMs: this.now() });
    for (const c of opts.telemetry.ipfix.collectors) this.startExporter(c);
    this.follow();
  }

  /** The interim check runs while records are made, not while there is nowhere for them to go. */
  private follow(): void {
    if (this.recording && this.opts.openSessions !== undefined) this.builder.reserve(this.opts.openSessions);
    if (this.recording && this.timer === undefined) {
      this.timer = setInterval(() => this.tick(), this.opts.tickMs ?? 1000);
      this.timer.unref();
    } else if (!this.recording && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Opens the history in the node's store (counting what a crash lost) unless it is off, and starts the exporters. */
  static async open(opts: SessionRecordsOptions): Promise<SessionRecords> {
    return new SessionRecords(opts, opts.telemetry.history.enabled ? await SessionRecords.openHistory(opts, opts.telemetry) : undefined);
  }

  private static openHistory(opts: SessionRecordsOptions, t: TelemetrySettings): Promise<SessionHistory> {
    return SessionHistory.open(opts.store, { blockRecords: HISTORY_BLOCK, flushRecords: HISTORY_WRITE, ...opts.history, ...retentionOptions(t.history) });
  }

  /** False while there is nowhere for records to go (no history, no collector, or closed): facts are not needed. */
  get recording(): boolean {
    return !this.closed && (this.history !== undefined || this.exporters.size > 0);
  }

  /** One fact from the router; the record it completes goes out at once. Never waits. */
  apply(fact: SessionFact): void {
    if (!this.recording) return;
    const r = this.builder.apply(fact);
    if (r !== undefined) this.deliver(r);
  }

  /** A session opened (a fact ring's OPENED row). */
  openRow(words: Uint32Array, w: number, atMs: number, names: RowNames): void {
    if (this.recording) this.builder.openRow(words, w, atMs, names);
  }

  totals(words: Uint32Array, id: number, packetsFwd: number, packetsRev: number, bytesFwd: number, bytesRev: number): void {
    if (this.recording) this.builder.totals(words, id, packetsFwd, packetsRev, bytesFwd, bytesRev);
  }

  /**
   * A session ended: its end record goes out at once. A plain one (open-sessions.ts `plain`) waits, held, for the
   * batch (flushPlain: when PLAIN_BATCH wait, at the end of the task that read its row, before anything that reads the
   * records): its flows are written from its slot by the addon (plain-flows.ts), its history row too (addPlain), its
   * record made only for the collectors that cannot take the flows now.
   */
  end(words: Uint32Array, id: number, atMs: number, reason: CloseReason, packetsFwd: number, packetsRev: number, bytesFwd: number, bytesRev: number, application?: string): void {
    if (!this.recording) return;
    const b = this.builder;
    const s = b.endSlot(words, id, packetsFwd, packetsRev, bytesFwd, bytesRev, application);
    if (s === -1) return;
    const flows = this.plainFlows !== undefined && this.offerTo.length > 0;
    if (!(flows || this.history !== undefined) || !b.sessions.plain(s)) return this.deliver(b.recordEnd(s, atMs, reason), words, id);
    let shape = 0;
    if (flows) {
      b.sessions.names(s, this.slotNames);
      shape = this.shapes.find(this.slotNames, reason);
      if (shape === -1) {
        this.flushPlain(); // a shape may be replaced: none waiting names it
        shape = this.shapes.add(this.slotNames, reason);
      }
    }
    b.hold(s);
    const n = this.plainCount++;
    const e = n * ENTRY;
    this.plainList[e] = s;
    this.plainList[e + 1] = shape;
    this.plainList[e + 2] = atMs;
    this.plainReasons[n] = reason;
    if (n === 0) queueMicrotask(this.flushSoon);
    else if (n + 1 === PLAIN_BATCH) this.flushPlain();
  }

  /**
   * The plain sessions' ends that wait: their flows to every UDP collector that can take them now (none without the
   * addon), their history rows from their slots, their records where a collector did not take the flows.
   */
  flushPlain(): void {
    const count = this.plainCount;
    if (count === 0) return;
    this.plainCount = 0;
    const b = this.builder;
    const open = b.sessions;
    const to = this.offerTo;
    const flows = this.plainFlows;
    let refused = 0;
    for (let i = 0; i < to.length; i++) {
      const taken = flows !== undefined && to[i]!.offerPlain(flows, open.slotWords, this.shapes.table, this.plainList, count);
      this.plainTaken[i] = taken;
      if (!taken) refused++;
    }
    const list = this.plainList;
    const history = this.history;
    for (let k = 0; k < count; k++) {
      const s = list[k * ENTRY]!;
      const atMs = list[k * ENTRY + 2]!;
      const reason = this.plainReasons[k]!;
      if (refused > 0) {
        const r = b.heldRecord(s, atMs, reason);
        for (let i = 0; i < to.length; i++) if (!this.plainTaken[i]) to[i]!.offer(r);
        history?.put(r, open.slotWords, open.idAt(s));
        b.releaseHeld(s);
        continue;
      }
      if (history !== undefined) {
        open.plainRow(s, this.plainRow);
        history.putPlain(open.slotWords, this.plainRow, atMs, reason);
      }
      b.dropHeld(s);
    }
  }

  /** Interim records that are due. */
  tick(): void {
    if (this.closed) return;
    this.flushPlain();
    for (const r of this.builder.due(this.now())) this.deliver(r);
  }

  /** Follows a new `telemetry` block (and observation domain): exporters, history on or off, interim interval, retention. */
  async reconfigure(settings: TelemetrySettings, observationDomainId: number): Promise<void> {
    this.flushPlain();
    const before = this.settings;
    const domainChanged = observationDomainId !== this.domain;
    this.settings = settings;
    this.domain = observationDomainId;
    const next = new Map(settings.ipfix.collectors.map((c) => [c.name, c]));
    const templateChanged = before.ipfix.templateInterval !== settings.ipfix.templateInterval;
    for (const [name, exporter] of this.exporters) {
      const c = next.get(name);
      if (c === undefined || domainChanged || templateChanged || JSON.stringify(c) !== JSON.stringify(exporter.collector)) {
        this.exporters.delete(name);
        this.offerTo = [...this.exporters.values()];
        void exporter.close();
      }
    }
    for (const c of settings.ipfix.collectors) if (!this.exporters.has(c.name)) this.startExporter(c);
    this.builder.setInterimInterval(interimOf(settings));
    if (!settings.history.enabled && this.history !== undefined) {
      const h = this.history;
      this.history = undefined;
      await h.close();
    } else if (settings.history.enabled && this.history === undefined && !this.closed) {
      this.history = await SessionRecords.openHistory(this.opts, settings);
    }
    this.history?.setRetention(retentionOptions(settings.history));
    this.follow();
  }

  /** One page of the history; SVR_ERR_HISTORY_STORE while it is off. */
  query(q: HistoryQuery): Promise<HistoryPage> {
    this.flushPlain();
    return this.historyOn().query(q);
  }

  get(sessionId: string): Promise<SessionRecord | undefined> {
    this.flushPlain();
    return this.historyOn().get(sessionId);
  }

  private historyOn(): SessionHistory {
    if (this.history === undefined) throw new SvrError('SVR_ERR_HISTORY_STORE', `${this.opts.router} keeps no session history (telemetry.history.enabled is false)`);
    return this.history;
  }

  counters(): SessionRecordsCounters {
    this.flushPlain();
    return {
      records: this.builder.counters(),
      history: this.history?.counters() ?? NO_HISTORY,
      collectors: [...this.exporters.values()].map((e) => ({
        name: e.collector.name, address: e.collector.address, port: e.collector.port, transport: e.collector.transport, status: e.status, ...e.counters(),
      })),
    };
  }

  /** Sends what is queued, writes what is pending; the store stays open (it is the node's). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.flushPlain();
    this.closed = true;
    clearInterval(this.timer);
    await Promise.all([...this.exporters.values()].map((e) => e.close()));
    this.exporters.clear();
    this.offerTo = [];
    await this.history?.close();
  }

  /** `idWords` at `idAt`: the record's session id as 4 words, when it came from a fact row (the history takes them as they are) */
  private deliver(r: SessionRecord, idWords?: Uint32Array, idAt = 0): void {
    const to = this.offerTo;
    for (let i = 0; i < to.length; i++) to[i]!.offer(r);
    this.history?.put(r, idWords, idAt);
  }

  private startExporter(c: CollectorConfig): void {
    const e = new IpfixExporter({
      ...this.opts.exporter, collector: c, observationDomainId: this.domain, templateRefreshS: this.settings.ipfix.templateInterval, now: this.now,
      onStatus: (status, detail) => this.opts.onCollectorStatus?.(c.name, status, detail),
    });
    this.exporters.set(c.name, e);
    this.offerTo = [...this.exporters.values()];
    e.start();
  }
}

/** The builder makes interim records at the shortest interval of all collectors (each exporter keeps its own). */
function interimOf(t: TelemetrySettings): number {
  const all = t.ipfix.collectors.map((c) => c.interimInterval);
  return all.length > 0 ? Math.min(...all) : INTERIM_DEFAULT_S;
}
