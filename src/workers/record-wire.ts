/**
 * A worker's batch of data-path facts as it crosses to the main thread: the session records as they are
 * (dataplane/session-records.ts: REC_WORDS words and REC_NUMS numbers each, copied into two buffers that are
 * transferred, not cloned) and the batch's other events as objects. Control reads the records in place, as it
 * does with the data path in its own thread (Router onRecords: objects only for a subscriber that wants them).
 * The names the records' ids stand for cross once: the tables' names when the worker's tables or path texts
 * change (before the first records by the new ids: one port, in order), the applications it interned since.
 * Before (event-wire: each fact an object in the worker, flattened with its strings, cloned, an object again on
 * main) a worker's new UDP session cost ~2x the single thread's JS (docs/performance.md "wave 21, work2").
 * Row numbers are tagged with the worker (id = worker << rowBits | row) on arrival.
 */
import type { DpEvent } from '../dataplane/events.js';
import { REC_NUMS, REC_WORDS, SessionRecords, type RecordTables } from '../dataplane/session-records.js';

/** The names of one generation of a worker's tables, as plain lists (no compiled table crosses). */
export interface WireNames {
  tables: RecordTables;
  pathText: readonly { local: string; remote: string }[];
}

/** One batch as posted: `events` the object events (records' `before` counts index them), then the records. */
export interface WireRecords {
  events: DpEvent[];
  count: number;
  /** count * REC_WORDS words, transferred */
  words: Uint32Array<ArrayBuffer>;
  /** count * REC_NUMS numbers, transferred */
  nums: Float64Array<ArrayBuffer>;
  /** when the worker's tables or path texts changed since its last batch */
  names?: WireNames;
  /** application names by id from `appsFrom` on, when the worker interned new ones */
  apps?: string[];
  appsFrom?: number;
}

const ROW_WORD = 1; // session-records.ts W_ROW

const nameLists = (t: RecordTables): RecordTables => ({
  tenants: [...t.tenants],
  services: t.services.map((s) => ({ name: s.name })),
  paths: t.paths.map((p) => ({ name: p.name, peer: p.peer })),
  peers: t.peers.map((p) => ({ name: p.name })),
  interfaces: t.interfaces.map((i) => ({ name: i.name })),
});

/** The worker side: a batch's events and records as one message, names when they changed. */
export class RecordSender {
  private tables: RecordTables | null = null;
  private pathText: readonly unknown[] | null = null;
  /** the names of `tables`, as sent */
  private sent: RecordTables | null = null;
  private apps = 1; // id 0 is '' on both sides

  /** The message for one batch and the buffers to transfer with it (valid after the call: the records are copied). */
  pack(events: DpEvent[], s: SessionRecords, applications: { size: number; namesFrom(from: number): string[] }): { m: WireRecords; transfer: ArrayBuffer[] } {
    const words = s.words.slice(0, s.count * REC_WORDS);
    const nums = s.nums.slice(0, s.count * REC_NUMS);
    const m: WireRecords = { events, count: s.count, words, nums };
    if (s.tables !== null && (s.tables !== this.tables || s.pathText !== this.pathText)) {
      if (s.tables !== this.tables) this.sent = nameLists(s.tables);
      m.names = { tables: this.sent!, pathText: s.pathText };
      this.tables = s.tables;
      this.pathText = s.pathText;
    }
    if (applications.size > this.apps) {
      m.apps = applications.namesFrom(this.apps);
      m.appsFrom = this.apps;
      this.apps = applications.size;
    }
    return { m, transfer: [words.buffer as ArrayBuffer, nums.buffer as ArrayBuffer] };
  }
}

/** The main-thread side, one per worker thread: the batch's records to read in place until the next batch. */
export class RecordReceiver {
  private readonly records = new SessionRecords();
  private readonly apps: string[] = [''];
  private readonly applications = { name: (id: number): string => this.apps[id] ?? '' };
  private names: WireNames = { tables: { tenants: [], services: [], paths: [], peers: [], interfaces: [] }, pathText: [] };

  constructor(private readonly worker: number, private readonly rowBits: number) {}

  /** The batch's object events (rows tagged) and its records (rows tagged, names of the worker's tables then). */
  receive(m: WireRecords): { events: DpEvent[]; records: SessionRecords } {
    if (m.names !== undefined) this.names = m.names;
    if (m.apps !== undefined) for (let i = 0; i < m.apps.length; i++) this.apps[m.appsFrom! + i] = m.apps[i]!;
    const tag = this.worker << this.rowBits;
    const s = this.records;
    s.words = m.words;
    s.nums = m.nums;
    s.count = m.count;
    for (let i = 0; i < m.count; i++) m.words[i * REC_WORDS + ROW_WORD] |= tag;
    s.deliver(this.names.tables, this.applications, this.names.pathText);
    const events = tag === 0 ? m.events : m.events.map((e) => ('row' in e ? { ...e, row: tag | e.row } : e));
    return { events, records: s };
  }
}
