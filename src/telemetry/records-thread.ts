/**
 * A node's session records in their own thread (records-worker.ts), so that building records, encoding
 * IPFIX and writing the history never take the control thread (which an in-thread data path shares).
 *
 *   the data paths' fact rings (`rings`, router.factRings(): dataplane/fact-ring.ts) -> read by the records
 *   thread every RING_POLL_MS (up to RING_IDLE_POLL_MS while they stay empty) -> SessionRecords (builder, IPFIX exporters, history). A node's facts come
 *   this way only: nothing per session crosses this thread.
 *
 * The history lives in its own LevelDB database, `<node data dir>/history` (historyDirOf), which the records
 * thread opens: LevelDB allows one opener, and this one is the records thread's. Queries and reconfiguration
 * are requests answered by that thread; counters() is the latest snapshot it sent (when changed, at most every COUNTERS_MS, and
 * with each answer or collector status). Facts waiting for the records thread are bounded by the rings: a
 * full ring drops the fact and counts it, so a stalled records thread never grows memory and never slows
 * forwarding.
 * A records thread that ends without being closed (a crash) is started again after RESTART_MS (doubling to
 * RESTART_MAX_MS while it keeps failing at start): the facts it had not read are lost and counted
 * (`lost`: ring rows it had not read, and those written meanwhile, are skipped by the new thread, their
 * names having gone with the old one), queries fail with SVR_ERR_HISTORY_STORE until it runs;
 * the history it reopens counts its own loss. `onFailure` and `onRestarted` tell the node (log, alarm).
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { FactRing } from '../dataplane/fact-ring.js';
import { SvrError, type ErrorCode } from '../errors.js';
import type { TelemetrySettings } from '../model/config.js';
import type { HistoryPage, HistoryQuery } from './history/query.js';
import type { CollectorStatus } from './ipfix/exporter.js';
import type { SessionRecord } from './record.js';
import type { SessionRecordsCounters, SessionRecordsOptions } from './session-records.js';

/**
 * The records thread's nice value: when the cores are saturated (forwarding new sessions as fast as they
 * come), the data path's threads get them first and records wait, bounded (the fact rings, the exporters'
 * queues, the history's pending limit: beyond them dropped and counted); when cores are free, records go at
 * once. At 10 the thread gets about a tenth of a core against one busy thread of nice 0.
 */
export const RECORDS_NICE = 10;
/** ms between the records thread's reads of the data paths' fact rings (dataplane/fact-ring.ts). */
export const RING_POLL_MS = 10;
/** The longest wait between reads while the rings stay empty (each empty read doubles the wait from RING_POLL_MS):
 *  a router without new sessions (a hub of spokes' control traffic, one long TCP transfer) wakes this thread ~4 times a
 *  second for it, not 100. The first rows after a quiet spell wait as long (the rings hold seconds of them). */
export const RING_IDLE_POLL_MS = 250;
/** ms at least between the records thread's counter snapshots (sent with a ring read, when they changed). */
export const COUNTERS_MS = 100;
/** ms before a records thread that ended is started again; doubling to RESTART_MAX_MS while starts fail. */
export const RESTART_MS = 200;
export const RESTART_MAX_MS = 30_000;
/** The records thread's name on Linux (its `comm`: `top -H`, `ps -L`, the benchmark's per-thread CPU). */
export const RECORDS_THREAD_NAME = 'svr-records';

/** The history database of a node whose store is in `dataDir`. */
export const historyDirOf = (dataDir: string): string => join(dataDir, 'history');

/** What a node's records offer, in this thread or the records thread. */
export interface RecordsService {
  /** false while records have nowhere to go: facts are not needed */
  readonly recording: boolean;
  reconfigure(settings: TelemetrySettings, observationDomainId: number): Promise<void>;
  query(q: HistoryQuery): Promise<HistoryPage>;
  get(sessionId: string): Promise<SessionRecord | undefined>;
  counters(): SessionRecordsCounters;
  close(): Promise<void>;
}

/** Options of the records thread: plain data (they cross to it), the history's database directory. */
export type RecordsThreadInit = Omit<SessionRecordsOptions, 'store' | 'onCollectorStatus' | 'now' | 'history'> & {
  historyDir: string;
  /** the data paths' fact rings (router.factRings()): the records thread reads their rows */
  rings?: readonly SharedArrayBuffer[];
  /** the records thread's nice value (0-19; Linux); default RECORDS_NICE */
  nice?: number;
  history?: Omit<NonNullable<SessionRecordsOptions['history']>, 'now'>;
};

export type ToRecords =
  | { t: 'reconfigure'; id: number; telemetry: TelemetrySettings; observationDomainId: number }
  | { t: 'query'; id: number; q: HistoryQuery }
  | { t: 'get'; id: number; sessionId: string }
  | { t: 'close'; id: number };

export interface ThreadCounters extends SessionRecordsCounters {
  /** fact rows of a records thread before this one that it never read (its rings' rows of an older epoch) */
  skipped: number;
}

export type FromRecords =
  | { t: 'ready'; counters: ThreadCounters }
  | { t: 'failed'; error: WireError }
  | { t: 'counters'; counters: ThreadCounters }
  | { t: 'status'; collector: string; status: CollectorStatus; detail: string; counters: ThreadCounters }
  | { t: 'reply'; id: number; ok: true; value: unknown; counters: ThreadCounters }
  | { t: 'reply'; id: number; ok: false; error: WireError; counters: ThreadCounters };

export interface WireError {
  code?: ErrorCode;
  message: string;
  data?: unknown;
}

export const toWire = (e: unknown): WireError =>
  e instanceof SvrError ? { code: e.code, message: e.message, data: e.data } : { message: e instanceof Error ? e.message : String(e) };

const fromWire = (e: WireError): Error => (e.code !== undefined ? new SvrError(e.code, e.message, e.data) : new Error(e.message));

export interface RecordsThreadOptions {
  /** a collector went up or down */
  onCollectorStatus?: (collector: string, status: CollectorStatus, detail: string) => void;
  /** the records thread ended without being closed (its records are lost from then on) */
  onFailure?: (error: Error) => void;
  /** the records thread runs again after a failure (restarts so far) */
  onRestarted?: (restarts: number) => void;
}

export class RecordsThread implements RecordsService {
  private worker: Worker;
  private snapshot: ThreadCounters;
  private settings: TelemetrySettings;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private closed = false;
  /** no records thread runs (it ended; `closed` says whether for good) */
  private ended = false;
  private restarts = 0;
  private restartMs = RESTART_MS;
  private restartTimer: NodeJS.Timeout | undefined;
  /** the data paths' fact rings (the records thread reads them; here: what waits and what was dropped) */
  private readonly rings: FactRing[];
  /** ring rows records threads that ended never read */
  private skippedBefore = 0;

  private constructor(worker: Worker, private readonly init: RecordsThreadInit, counters: ThreadCounters, private readonly opts: RecordsThreadOptions) {
    this.worker = worker;
    this.snapshot = counters;
    this.settings = init.telemetry;
    this.rings = (init.rings ?? []).map((b) => new FactRing(b));
    this.attach(worker);
  }

  /** Starts the records thread: it opens the history database (counting what a crash lost) and the exporters. */
  static async open(init: RecordsThreadInit, opts: RecordsThreadOptions = {}): Promise<RecordsThread> {
    const { worker, counters } = await startWorker(init);
    return new RecordsThread(worker, { ...init }, counters, opts);
  }

  /** Facts are wanted (also while a records thread that ended is started again: they wait in the rings). */
  get recording(): boolean {
    return !this.closed && (this.settings.history.enabled || this.settings.ipfix.collectors.length > 0);
  }

  async reconfigure(settings: TelemetrySettings, observationDomainId: number): Promise<void> {
    this.settings = settings;
    this.init.telemetry = settings; // a restarted records thread starts with them
    this.init.observationDomainId = observationDomainId;
    await this.request({ t: 'reconfigure', id: 0, telemetry: settings, observationDomainId });
  }

  query(q: HistoryQuery): Promise<HistoryPage> {
    return this.request({ t: 'query', id: 0, q }) as Promise<HistoryPage>;
  }

  get(sessionId: string): Promise<SessionRecord | undefined> {
    return this.request({ t: 'get', id: 0, sessionId }) as Promise<SessionRecord | undefined>;
  }

  /**
   * The records thread's latest counters, with the facts waiting in the rings, those dropped (a full ring)
   * or lost (rows a records thread that ended never read).
   */
  counters(): SessionRecordsCounters {
    const { skipped, ...c } = this.snapshot;
    const inRings = this.rings.reduce((n, r) => n + r.available(), 0);
    const ringLost = this.rings.reduce((n, r) => n + r.lost, 0);
    return { ...c, waiting: { facts: inRings, dropped: ringLost, lost: this.skippedBefore + skipped, restarts: this.restarts } };
  }

  /** Sends what is queued, writes what is pending, closes the history database and ends the thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.restartTimer);
    if (!this.ended) {
      try {
        await this.request({ t: 'close', id: 0 }, true);
      } finally {
        this.ended = true;
        await this.worker.terminate();
      }
    }
  }

  private request(m: ToRecords & { id: number }, closing = false): Promise<unknown> {
    if (this.ended || (this.closed && !closing)) {
      return Promise.reject(new SvrError('SVR_ERR_HISTORY_STORE', 'the session records are closed (the node is stopping, or its records thread ended)'));
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref(); // an answer is awaited
      this.worker.postMessage({ ...m, id });
    });
  }

  private onMessage(m: FromRecords): void {
    if (m.t === 'ready' || m.t === 'failed') return;
    this.snapshot = m.counters;
    if (m.t === 'status') this.opts.onCollectorStatus?.(m.collector, m.status, m.detail);
    else if (m.t === 'reply') {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      if (m.ok) p?.resolve(m.value);
      else p?.reject(fromWire(m.error));
    }
  }

  private attach(worker: Worker): void {
    worker.on('message', (m: FromRecords) => {
      if (worker === this.worker) this.onMessage(m);
    });
    worker.on('error', (e) => this.end(worker, e));
    worker.on('exit', (code) => this.end(worker, new SvrError('SVR_ERR_HISTORY_STORE', `the records thread ended (exit code ${code})`)));
    worker.unref();
  }

  private end(worker: Worker, e: Error): void {
    if (this.ended || worker !== this.worker) return;
    this.ended = true;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    if (this.closed) return;
    this.skippedBefore += this.snapshot.skipped;
    this.snapshot = { ...this.snapshot, skipped: 0 };
    this.opts.onFailure?.(e);
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    this.restartTimer = setTimeout(() => void this.restart(), this.restartMs);
    this.restartTimer.unref();
  }

  private async restart(): Promise<void> {
    if (this.closed) return;
    try {
      const { worker, counters } = await startWorker(this.init);
      if (this.closed) {
        await worker.terminate();
        return;
      }
      this.worker = worker;
      this.snapshot = counters;
      this.ended = false;
      this.restarts++;
      this.restartMs = RESTART_MS;
      this.attach(worker);
      this.opts.onRestarted?.(this.restarts);
    } catch (e) {
      this.restartMs = Math.min(this.restartMs * 2, RESTART_MAX_MS);
      this.opts.onFailure?.(e instanceof Error ? e : new Error(String(e)));
      this.scheduleRestart();
    }
  }
}

/** A records thread, once it has opened the history and started the exporters. */
function startWorker(init: RecordsThreadInit): Promise<{ worker: Worker; counters: ThreadCounters }> {
  const worker = new Worker(new URL('./records-worker.js', import.meta.url), { workerData: { nice: RECORDS_NICE, ...init } satisfies RecordsThreadInit });
  return new Promise((resolve, reject) => {
    const first = (m: FromRecords): void => {
      worker.off('message', first);
      worker.off('error', failed);
      if (m.t === 'ready') resolve({ worker, counters: m.counters });
      else {
        reject(m.t === 'failed' ? fromWire(m.error) : new Error(`records thread: unexpected ${m.t}`));
        void worker.terminate();
      }
    };
    const failed = (e: Error): void => {
      worker.off('message', first);
      reject(new SvrError('SVR_ERR_HISTORY_STORE', `the records thread failed to start: ${e.message}`));
    };
    worker.on('message', first);
    worker.on('error', failed);
  });
}
