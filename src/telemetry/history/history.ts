/**
 * Session history in LevelDB (sublevel `history` of the records thread's database, key layout in keys.ts;
 * the blocks in a database of their own, block-store.ts).
 *
 * put(record) -> its row in the open block at once (open-block.ts: no record object waits; a block closes at
 * `blockRecords` rows, sorted by end time within itself) -> pending (bounded; full: dropped and counted) ->
 * every `flushMs` or `flushRecords` one write: the blocks (block.ts) into the blocks' database, then one
 * LevelDB batch of the index: each block's id filter (id-index.ts), one posting per (field, value, minute),
 * its manifest, and the meta counters, atomically: no key per record. Fewer, larger writes: LevelDB's
 * threads cost less per record (a node writes 4,096 records as 8 blocks of 512 at a time).
 * Writes go one at a time (one promise chain). The id filters of all blocks are kept in memory (loaded at
 * open): get(id) decodes only the blocks that may hold the id, newest first.
 * A session keeps one record: its interim record is replaced by the next one (interim or end); readers
 * skip the old one (a later row or block holds its id).
 * A history of format 5 is read as it is: its blocks (version 1: every field in every row) stay, new blocks are
 * written as version 2 (block.ts: what follows from other fields left out, names once per block); the block's
 * version byte says which. One of format 4 too: its blocks' filters (of the ids' text) and postings (row by row)
 * stay, new blocks (from meta `indexFrom` on) are indexed as format 5 and 6 (filters of the ids' bytes, postings as
 * runs). One of format 3 too, and its blocks stay in the index database, new ones (from meta `blocksFrom` on)
 * go to the blocks' database. One of format 2 (an id key per record) is converted at open:
 * a filter per block, the id keys removed. One of format 1 (a key and a JSON value per record, before
 * 2026-12-05) is not read: at open its keys are removed and its records counted as lost at open (lostAtOpen,
 * lostTotal).
 * Crash accounting: `m/accepted` (records put) is written ahead within `markerMs` of a put and with each batch,
 * `m/written` with each batch; at the next open, accepted - written is the loss of the crash, counted
 * (lostAtOpen, lostTotal). A SIGKILL loses what was pending (at most flushMs plus one write); records
 * put in the last `markerMs` before it are lost without being counted. Both timers are armed by a put, not
 * periodic: a history nothing is put into never wakes its thread for them (the records thread during a long
 * TCP transfer, vis15).
 * Retention: every `retentionMs` the oldest blocks go, a step's in one batch of the index and then one delete in
 * the blocks' database, while they are older than `maxAgeMs` or the history is larger than `maxBytes` (keys
 * and values as written; on disk LevelDB compresses them; once over, down to RETIRE_TO of it); at most
 * `retentionBatchesPerStep` per step, the next step sooner while over. A step that removed nothing notes until when the oldest block stays (its
 * newest record's end plus maxAgeMs); the steps before then read nothing while the size is within maxBytes.
 */
import { Packr, Unpackr } from 'msgpackr/pack';
import { SvrError } from '../../errors.js';
import type { Store } from '../../store/store.js';
import type { HistorySettings } from '../../model/config.js';
import type { PlainRow } from '../open-sessions.js';
import type { CloseReason, SessionRecord } from '../record.js';
import { Block } from './block.js';
import { BlockStore } from './block-store.js';
import { IdIndex, buildFilter } from './id-index.js';
import { batchKey, blockKey, decodeRows, decodeRuns, encodeRuns, filterKey, seqOfKey, metaKey } from './keys.js';
import { OpenBlock, type ClosedBlock } from './open-block.js';
import { checkQuery, runQuery, type HistoryPage, type HistoryQuery, type HistoryReader } from './query.js';

export interface HistoryOptions {
  /** default 7 days */
  maxAgeMs?: number;
  /** default 1 GiB */
  maxBytes?: number;
  /** default 250 */
  flushMs?: number;
  /** a write starts at once when this many records wait, and takes at most this many; default 5000 */
  flushRecords?: number;
  /** records per block; default flushRecords */
  blockRecords?: number;
  /** records waiting at most; default 200000 */
  maxPending?: number;
  /** default 50 */
  markerMs?: number;
  /** default 1000 */
  retentionMs?: number;
  /** default 64 */
  retentionBatchesPerStep?: number;
  /** clock for retention by age; default Date.now */
  now?: () => number;
  /** reading only (a stopped node's store): no timers, no loss accounting, put() refused */
  readOnly?: boolean;
}

export interface HistoryCounters {
  /** records put, since the store was created (persisted) */
  accepted: number;
  /** records written, since the store was created (persisted) */
  written: number;
  /** the accepted count last written ahead */
  markedAccepted: number;
  pending: number;
  /** put() refused: too many records waiting (or the history is read-only or closed) */
  droppedFull: number;
  /** records the last crash lost (found at open) */
  lostAtOpen: number;
  /** records all crashes lost */
  lostTotal: number;
  /** blocks written */
  batches: number;
  /** ms spent building and writing batches (written / busyMs is what the history can take per ms; puts timed one in PUT_SAMPLE) */
  busyMs: number;
  /** size of the history: keys and values as written */
  bytes: number;
  /** batches removed by age / by size */
  retiredByAge: number;
  retiredBySize: number;
  /** records removed by retention */
  retiredRecords: number;
  writeErrors: number;
}

/** From the config's settings. */
export function retentionOptions(r: Pick<HistorySettings, 'retentionDays' | 'maxSizeMb'>): Pick<HistoryOptions, 'maxAgeMs' | 'maxBytes'> {
  return { maxAgeMs: r.retentionDays * 86_400_000, maxBytes: r.maxSizeMb * 1_048_576 };
}

/** a history over its size limit shrinks to this share of it (retire) */
const RETIRE_TO = 0.9;
/** puts per timed put (history-busy-ms): a power of two */
const PUT_SAMPLE = 32;
const packr = new Packr({ useRecords: false, moreTypes: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, moreTypes: false });
const pack = (v: unknown): Uint8Array => new Uint8Array(packr.pack(v)); // a copy: msgpackr reuses its buffer
const META = ['accepted', 'written', 'seq', 'bytes', 'lostTotal', 'lostAtOpen', 'format', 'blocksFrom', 'indexFrom'] as const;
type Meta = Record<(typeof META)[number], number>;
/**
 * The key layout this code writes and reads (keys.ts): the blocks in a database of their own (block-store.ts), id
 * filters of the ids' bytes, postings as runs of rows; new blocks of version 2 (block.ts).
 */
export const HISTORY_FORMAT = 6;
/** The layout before: the same keys, blocks of version 1; read as it is. */
const FORMAT_BYTES_INDEX = 5;
/** The layout before: filters of the ids' text, postings row by row; read as it is (blocks below `indexFrom`). */
const FORMAT_TEXT_INDEX = 4;
/** Before that: blocks in the index database; read as they are (blocks below `blocksFrom`). */
const FORMAT_BLOCKS_IN_INDEX = 3;
/** Before that: an id key per record (i/<id>), converted at open. */
const FORMAT_ID_KEYS = 2;

/** A block's manifest (`b/<S>`). */
export interface Manifest {
  minEnd: number;
  maxEnd: number;
  rows: number;
  postings: string[];
  bytes: number;
}
export const decodeManifest = (v: Uint8Array): Manifest => unpackr.unpack(v) as Manifest;

type Op = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string };

/**
 * pack(v) of a map whose last field was 0 when `packed` was made, with `n` in that field instead: the
 * same bytes without packing the map (a manifest's posting keys) again. 0 packs as one byte (a fixint).
 */
function withLastNumber(packed: Uint8Array, n: number): Uint8Array {
  const tail = packr.pack(n);
  const out = new Uint8Array(packed.length - 1 + tail.length);
  out.set(packed.subarray(0, packed.length - 1));
  out.set(tail, packed.length - 1);
  return out;
}

type HistoryDb = ReturnType<typeof historyDb>;
function historyDb(store: Store) {
  return store.db.sublevel<string, Uint8Array>('history', { keyEncoding: 'utf8', valueEncoding: 'view' });
}

export class SessionHistory {
  /** the block being filled (a record's row written at put), the blocks filled since the last write, and their rows */
  private readonly open = new OpenBlock();
  private filled: ClosedBlock[] = [];
  private pendingRows = 0;
  private chain: Promise<void> = Promise.resolve();
  /** batches are written one after the other */
  private flushing: Promise<void> = Promise.resolve();
  private readonly c = { markedAccepted: 0, droppedFull: 0, batches: 0, busyMs: 0, retiredByAge: 0, retiredBySize: 0, retiredRecords: 0, writeErrors: 0 };
  /** the pending write's and the marker's one-shot timers, armed by put() */
  private flushTimer: NodeJS.Timeout | undefined;
  private markerTimer: NodeJS.Timeout | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** records of a format-1 history removed at open */
  private formatLost = 0;
  private maxAgeMs: number;
  private maxBytes: number;
  /** after a retention step that retired nothing: the oldest block stays until then (by age) while the size is within
   *  maxBytes, so steps before it read nothing (a LevelDB iterator a second was most of an idle records thread's CPU) */
  private keepUntilMs = 0;
  /** the step found no block: the next looks again once blocks were written (meta.seq past this) */
  private emptyAtSeq = -1;
  /** over maxBytes: retiring until RETIRE_TO of it */
  private shrinking = false;
  private readonly now: () => number;
  private readonly reader: HistoryReader;
  /** every block's id filter */
  private readonly ids: IdIndex;

  private constructor(private readonly db: HistoryDb, private readonly blocks: BlockStore, private readonly meta: Meta, private readonly opts: HistoryOptions) {
    this.maxAgeMs = opts.maxAgeMs ?? 7 * 86_400_000;
    this.maxBytes = opts.maxBytes ?? 1024 * 1_048_576;
    this.now = opts.now ?? Date.now;
    this.c.markedAccepted = meta.accepted;
    // a history before format 5: every block it holds was indexed as format 4 until upgrade() says from where not
    this.ids = new IdIndex(this.indexFrom());
    this.reader = {
      iterate: (range) => db.iterator(range),
      block: (seq) => blocks.get(seq),
      rows: (seq, posting) => (seq >= this.indexFrom() ? decodeRuns(posting) : decodeRows(posting)),
      replaced: (id, seq, row) => this.replaced(id, seq, row),
    };
  }

  /** Opens the history in the node's store; counts what a crash lost since the last run (unless read-only). */
  static async open(store: Store, opts: HistoryOptions = {}): Promise<SessionHistory> {
    const db = historyDb(store);
    const meta = Object.fromEntries(META.map((k) => [k, 0])) as Meta;
    try {
      for await (const [k, v] of db.iterator({ gte: 'm/', lt: 'm0' })) {
        const name = k.slice(2) as keyof Meta;
        if ((META as readonly string[]).includes(name)) meta[name] = unpackr.unpack(v) as number;
      }
    } catch (e) {
      throw new SvrError('SVR_ERR_HISTORY_STORE', `cannot read the session history in ${store.dir}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (meta.format > HISTORY_FORMAT) {
      throw new SvrError('SVR_ERR_HISTORY_STORE', `the session history in ${store.dir} has format ${meta.format}, newer than this node's (${HISTORY_FORMAT}): ` +
        'run the svrouter that wrote it, or move the directory away to start an empty history');
    }
    // a format-3 history's blocks are all in the index database until upgrade() says from where they are not
    const blocks = await BlockStore.open(store.dir, (key) => db.get(key), meta.format >= FORMAT_TEXT_INDEX ? meta.blocksFrom : meta.seq + 1);
    const h = new SessionHistory(db, blocks, meta, opts);
    try {
      if (opts.readOnly !== true) {
        await h.upgrade();
        await h.prune();
      }
      if (h.readable()) await h.loadFilters();
      if (opts.readOnly !== true) {
        await h.countLoss();
        h.startRetention();
      }
    } catch (e) {
      await blocks.close();
      throw e;
    }
    return h;
  }

  /** New retention limits; the next retention step applies them. */
  setRetention(r: Pick<HistoryOptions, 'maxAgeMs' | 'maxBytes'>): void {
    if (r.maxAgeMs !== undefined) this.maxAgeMs = r.maxAgeMs;
    if (r.maxBytes !== undefined) this.maxBytes = r.maxBytes;
    this.keepUntilMs = 0;
    this.emptyAtSeq = -1;
  }

  /**
   * Queues a record for the next batch; never waits. False when refused (read-only, closed or full). `idWords` at
   * `idAt`: the session id's 4 words, when the caller has them (a fact ring's row; not parsed again from r.sessionId).
   */
  put(r: SessionRecord, idWords?: Uint32Array, idAt = 0): boolean {
    if (!this.accepts()) return false;
    const t0 = this.putStart();
    this.open.add(r, idWords, idAt);
    this.putEnd(t0);
    return true;
  }

  /**
   * A plain session's end record (open-sessions.ts `plain`) from its slot's words, read into `p`, ended at `endMs` for
   * `reason`: the same row and postings as put() of the record, without the record (open-block.ts addPlain). As put().
   */
  putPlain(words: Uint32Array, p: PlainRow, endMs: number, reason: CloseReason): boolean {
    if (!this.accepts()) return false;
    const t0 = this.putStart();
    this.open.addPlain(words, p, endMs, reason);
    this.putEnd(t0);
    return true;
  }

  /** Whether a put is taken now (not read-only, closed or full: counted). */
  private accepts(): boolean {
    if (this.opts.readOnly !== true && !this.closed && this.pendingRows < (this.opts.maxPending ?? 200_000)) return true;
    this.c.droppedFull++;
    return false;
  }

  /** busy time: one put in PUT_SAMPLE timed and counted for all of them (a clock read is ~0.09 µs here, a put ~1 µs): its start, or 0 */
  private putStart(): number {
    return (this.meta.accepted & (PUT_SAMPLE - 1)) === 0 ? performance.now() : 0;
  }

  /** A row put (its clock read at `t0`, 0 untimed): its time, the block closed when full, the write and marker armed. */
  private putEnd(t0: number): void {
    if (t0 !== 0) this.c.busyMs += (performance.now() - t0) * PUT_SAMPLE;
    if (this.open.rows >= (this.opts.blockRecords ?? this.opts.flushRecords ?? 5000)) {
      const t1 = performance.now();
      this.filled.push(this.open.close());
      this.c.busyMs += performance.now() - t1;
    }
    this.pendingRows++;
    this.meta.accepted++;
    if (this.pendingRows === (this.opts.flushRecords ?? 5000)) void this.flush();
    this.flushTimer ??= this.oneShot(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, this.opts.flushMs ?? 250);
    this.markerTimer ??= this.oneShot(() => {
      this.markerTimer = undefined;
      void this.marker();
    }, this.opts.markerMs ?? 50);
  }

  private oneShot(fn: () => void, ms: number): NodeJS.Timeout {
    const t = setTimeout(() => {
      if (!this.closed) fn();
    }, ms);
    t.unref();
    return t;
  }

  /** Writes what is pending (one batch after the ones already going); resolves when it is on disk. */
  flush(): Promise<void> {
    const step = async (): Promise<void> => {
      // what is pending now, in writes of at most flushRecords rows (at least a block)
      if (this.open.rows > 0) this.filled.push(this.open.close());
      const blocks = this.filled;
      this.filled = [];
      const max = this.opts.flushRecords ?? 5000;
      for (let lo = 0; lo < blocks.length;) {
        let hi = lo + 1;
        let rows = blocks[lo]!.rows;
        while (hi < blocks.length && rows + blocks[hi]!.rows <= max) rows += blocks[hi++]!.rows;
        this.pendingRows -= rows;
        await this.writeBatch(blocks.slice(lo, hi), rows);
        lo = hi;
      }
    };
    this.flushing = this.flushing.then(step);
    return this.flushing;
  }

  /** One page of records matching the query. Throws SVR_ERR_HISTORY_QUERY naming a bad parameter. */
  async query(q: HistoryQuery): Promise<HistoryPage> {
    const checked = checkQuery(q);
    // a stopped node's history of format 1 or 2, opened read-only, is not read
    if (!this.readable()) return { records: [], scanned: 0 };
    return runQuery(this.reader, checked);
  }

  /** The latest stored record of a session (its whole story: path changes, totals), if any. */
  async get(sessionId: string): Promise<SessionRecord | undefined> {
    if (!this.readable()) return undefined;
    for (const seq of this.ids.candidates(sessionId)) {
      const bytes = await this.blocks.get(seq);
      if (bytes === undefined) continue; // retired meanwhile
      const block = new Block(bytes);
      for (let row = block.rows - 1; row >= 0; row--) if (block.id(row) === sessionId) return block.row(row);
    }
    return undefined;
  }

  /** Whether a later record of the session than row `row` of block `seq` is stored. */
  private async replaced(sessionId: string, seq: number, row: number): Promise<boolean> {
    for (const s of this.ids.candidates(sessionId, seq - 1)) {
      const bytes = await this.blocks.get(s);
      if (bytes === undefined) continue;
      const block = new Block(bytes);
      for (let r = s === seq ? row + 1 : 0; r < block.rows; r++) if (block.id(r) === sessionId) return true;
    }
    return false;
  }

  /** Whether the layout is one this code reads (format 1 and 2 are converted at open unless read-only). */
  private readable(): boolean {
    return this.meta.format >= FORMAT_BLOCKS_IN_INDEX;
  }

  /** The first block indexed as format 5 (postings as runs, filters of the ids' bytes). */
  private indexFrom(): number {
    return this.meta.format >= FORMAT_BYTES_INDEX ? this.meta.indexFrom : this.meta.seq + 1;
  }

  /** The id filters of every block, into memory. */
  private async loadFilters(): Promise<void> {
    for await (const [k, v] of this.db.iterator({ gte: 'f/', lt: 'f0' })) this.ids.add(seqOfKey(k), v);
  }

  counters(): HistoryCounters {
    return {
      accepted: this.meta.accepted, written: this.meta.written, pending: this.pendingRows, bytes: this.meta.bytes,
      lostAtOpen: this.meta.lostAtOpen, lostTotal: this.meta.lostTotal, ...this.c,
    };
  }

  /**
   * One retention step: removes the oldest batches while too old or while the history is too large, at most
   * `retentionBatchesPerStep`, in one batch of the index and then one delete of their blocks. Over `maxBytes`, it
   * shrinks to RETIRE_TO of it (later steps go on until there): the blocks' database gets its deletes in a few
   * bursts, not some in every memtable (each of those spans the oldest keys and the newest, and LevelDB merges it
   * with every table below: other threads 1.8 µs a record with a full history against 0.3). Returns how many went.
   */
  async retire(): Promise<number> {
    const limit = this.opts.retentionBatchesPerStep ?? 64;
    if (this.meta.bytes > this.maxBytes) this.shrinking = true;
    const over = (): boolean => this.meta.bytes > (this.shrinking ? this.maxBytes * RETIRE_TO : this.maxBytes);
    if (!over()) this.shrinking = false;
    if (!this.shrinking && (this.now() < this.keepUntilMs || this.emptyAtSeq === this.meta.seq)) return 0;
    const oldest: [string, Manifest][] = [];
    for await (const [k, v] of this.db.iterator({ gte: 'b/', lt: 'b0', limit })) oldest.push([k, decodeManifest(v)]);
    const ops: Op[] = [];
    const gone: number[] = [];
    const byAge: boolean[] = [];
    let rows = 0;
    const bytesBefore = this.meta.bytes;
    for (const [key, m] of oldest) {
      const old = m.maxEnd < this.now() - this.maxAgeMs;
      if (!old && !over()) break;
      const seq = seqOfKey(key);
      for (const p of m.postings) ops.push({ type: 'del', key: p });
      ops.push({ type: 'del', key: filterKey(seq) }, { type: 'del', key });
      if (this.blocks.legacyHolds(seq)) ops.push({ type: 'del', key: blockKey(seq) });
      // sizes change when the write is queued (writes apply in that order), back if it fails
      this.meta.bytes -= Math.min(this.meta.bytes, m.bytes);
      gone.push(seq);
      byAge.push(old);
      rows += m.rows;
    }
    if (!over()) this.shrinking = false;
    if (gone.length > 0) {
      ops.push({ type: 'put', key: metaKey('bytes'), value: pack(this.meta.bytes) });
      try {
        await this.write(ops);
      } catch (e) {
        this.meta.bytes = bytesBefore;
        throw e;
      }
      for (const seq of gone) this.ids.remove(seq);
      // after the index keys that named them (a crash in between: pruned at the next open)
      const own = gone.filter((seq) => !this.blocks.legacyHolds(seq));
      if (own.length > 0) await this.chained(() => this.blocks.del(own));
      for (const old of byAge) {
        if (old) this.c.retiredByAge++;
        else this.c.retiredBySize++;
      }
      this.c.retiredRecords += rows;
    }
    // blocks go oldest first: while the first stays (nothing went), none goes by age before it would
    this.emptyAtSeq = oldest.length === 0 ? this.meta.seq : -1;
    this.keepUntilMs = gone.length === 0 && oldest.length > 0 ? oldest[0]![1].maxEnd + this.maxAgeMs + 1 : 0;
    return gone.length;
  }

  /** Writes what is pending, stops the timers. The Store stays open (it is the node's). */
  async close(): Promise<void> {
    if (this.closed) return;
    clearTimeout(this.flushTimer);
    clearTimeout(this.markerTimer);
    clearTimeout(this.retentionTimer);
    if (this.opts.readOnly !== true) {
      await this.flush();
      await this.marker();
    }
    this.closed = true;
    await this.chain;
    await this.blocks.close();
  }

  /**
   * A history of format 5 keeps everything as it is (new blocks are of version 2, old ones are read as version 1:
   * their first byte says which). One of format 4 keeps its index as it is: new blocks are indexed as format 5 (from the next seq on). One
   * of format 3 keeps its blocks where they are: new blocks go to the blocks' database too. Format 2 is converted
   * to 3 first. One of format 1 (before blocks): its keys are removed, in batches, and its records counted as lost
   * at open (format 1 is not read). A new history starts as format 6.
   */
  private async upgrade(): Promise<void> {
    if (this.meta.format === HISTORY_FORMAT) return;
    if (this.meta.format === FORMAT_BYTES_INDEX) {
      this.meta.format = HISTORY_FORMAT;
      await this.write([{ type: 'put', key: metaKey('format'), value: pack(HISTORY_FORMAT) }]);
      return;
    }
    if (this.meta.format === FORMAT_ID_KEYS) await this.dropIdKeys();
    if (this.meta.format === FORMAT_BLOCKS_IN_INDEX || this.meta.format === FORMAT_TEXT_INDEX) {
      if (this.meta.format === FORMAT_BLOCKS_IN_INDEX) {
        this.meta.blocksFrom = this.meta.seq + 1;
        this.blocks.setFrom(this.meta.blocksFrom);
      }
      this.meta.format = HISTORY_FORMAT;
      this.meta.indexFrom = this.meta.seq + 1;
      this.ids.setIndexFrom(this.meta.indexFrom);
      await this.write((['format', 'blocksFrom', 'indexFrom'] as const).map((k) => ({ type: 'put' as const, key: metaKey(k), value: pack(this.meta[k]) })));
      return;
    }
    let records = 0;
    let ops: Op[] = [];
    for await (const k of this.db.keys({ gte: 'a', lt: 'z' })) {
      if (k.startsWith('m/')) continue;
      if (k.startsWith('r/')) records++;
      ops.push({ type: 'del', key: k });
      if (ops.length >= 10_000) {
        await this.write(ops);
        ops = [];
      }
    }
    this.meta.format = HISTORY_FORMAT;
    this.meta.seq = 0;
    this.meta.bytes = 0;
    this.meta.blocksFrom = 1;
    this.blocks.setFrom(1);
    this.meta.indexFrom = 1;
    this.ids.setIndexFrom(1);
    this.meta.lostTotal += records;
    ops.push(...(['format', 'seq', 'bytes', 'lostTotal', 'blocksFrom', 'indexFrom'] as const).map((k) => ({ type: 'put' as const, key: metaKey(k), value: pack(this.meta[k]) })));
    await this.write(ops);
    this.formatLost = records;
  }

  /** Removes the blocks no manifest names (a crash between a block's write and its index's, or its retirement's). */
  private async prune(): Promise<void> {
    let first = this.meta.seq + 1;
    for await (const k of this.db.keys({ gte: 'b/', lt: 'b0', limit: 1 })) first = seqOfKey(k);
    await this.blocks.prune(first, this.meta.seq);
  }

  /** Format 2 to 3: a filter for each block (from its rows' ids), the id keys removed. */
  private async dropIdKeys(): Promise<void> {
    let ops: Op[] = [];
    const flush = async (): Promise<void> => {
      await this.write(ops);
      ops = [];
    };
    for await (const [k, v] of this.db.iterator({ gte: 'k/', lt: 'k0' })) {
      const block = new Block(v);
      const ids: string[] = [];
      for (let i = 0; i < block.rows; i++) ids.push(block.id(i));
      ops.push({ type: 'put', key: filterKey(seqOfKey(k)), value: buildFilter(ids) });
      if (ops.length >= 1000) await flush();
    }
    for await (const k of this.db.keys({ gte: 'i/', lt: 'i0' })) {
      ops.push({ type: 'del', key: k });
      if (ops.length >= 10_000) await flush();
    }
    this.meta.format = FORMAT_BLOCKS_IN_INDEX;
    ops.push({ type: 'put', key: metaKey('format'), value: pack(FORMAT_BLOCKS_IN_INDEX) });
    await flush();
  }

  private async countLoss(): Promise<void> {
    const lost = Math.max(0, this.meta.accepted - this.meta.written);
    this.meta.lostAtOpen = lost + this.formatLost;
    this.meta.lostTotal += lost;
    this.meta.accepted = this.meta.written;
    this.c.markedAccepted = this.meta.accepted;
    await this.write(['lostAtOpen', 'lostTotal', 'accepted'].map((k) => ({ type: 'put' as const, key: metaKey(k), value: pack(this.meta[k as keyof Meta]) })));
  }

  private startRetention(): void {
    const retention = async (): Promise<void> => {
      let again = false;
      try {
        again = (await this.retire()) === (this.opts.retentionBatchesPerStep ?? 64);
      } catch {
        this.c.writeErrors++;
      }
      if (this.closed) return;
      this.retentionTimer = setTimeout(() => void retention(), again ? 10 : this.opts.retentionMs ?? 1000);
      this.retentionTimer.unref();
    };
    this.retentionTimer = setTimeout(() => void retention(), this.opts.retentionMs ?? 1000);
    this.retentionTimer.unref();
  }

  /** Writes the accepted count ahead when it changed; a failed write (disk full) is counted, and retried next time. */
  private async marker(): Promise<void> {
    const accepted = this.meta.accepted;
    if (accepted === this.c.markedAccepted) return;
    try {
      await this.write([{ type: 'put', key: metaKey('accepted'), value: pack(accepted) }]);
    } catch {
      this.c.writeErrors++;
      return;
    }
    this.c.markedAccepted = Math.max(this.c.markedAccepted, accepted);
  }

  /** All writes go through one chain, in order. */
  private chained(fn: () => Promise<void>): Promise<void> {
    const next = this.chain.then(fn);
    this.chain = next.catch(() => {});
    return next;
  }

  /** One batch of the index database, in the chain. */
  private write(ops: Op[]): Promise<void> {
    return this.chained(() => this.db.batch(ops));
  }

  /** Writes `closed` (`rows` records): the blocks in one write, then their index in one batch. */
  private async writeBatch(closed: readonly ClosedBlock[], rows: number): Promise<void> {
    const t0 = performance.now();
    const ops: Op[] = [];
    const blocks: { seq: number; bytes: Uint8Array }[] = [];
    let added = 0;
    for (const b of closed) {
      const seq = this.meta.seq + 1 + blocks.length;
      added += this.indexBlock(b, seq, ops);
      blocks.push({ seq, bytes: b.block });
    }
    const first = this.meta.seq + 1;
    const written = this.meta.written + rows;
    const accepted = this.meta.accepted;
    this.meta.seq += blocks.length;
    this.meta.bytes += added; // when queued, as retire() does
    for (const k of ['seq', 'bytes'] as const) ops.push({ type: 'put', key: metaKey(k), value: pack(this.meta[k]) });
    ops.push({ type: 'put', key: metaKey('written'), value: pack(written) }, { type: 'put', key: metaKey('accepted'), value: pack(accepted) });
    try {
      await this.chained(async () => {
        await this.blocks.put(blocks);
        try {
          await this.db.batch(ops);
        } catch (e) {
          await this.blocks.del(blocks.map((b) => b.seq)).catch(() => {});
          throw e;
        }
      });
    } catch {
      this.meta.bytes -= added;
      this.c.writeErrors++; // these records count as lost at the next open (accepted, never written)
      return;
    }
    this.meta.written = written;
    for (let i = 0; i < blocks.length; i++) this.ids.add(first + i, closed[i]!.filter);
    this.c.markedAccepted = Math.max(this.c.markedAccepted, accepted);
    this.c.batches += blocks.length;
    this.c.busyMs += performance.now() - t0;
  }

  /** Block `b` as block `seq`: its filter, postings and manifest into `ops`; returns its bytes as written. */
  private indexBlock(b: ClosedBlock, seq: number, ops: Op[]): number {
    let bytes = blockKey(seq).length + b.block.length;
    const put = (key: string, value: Uint8Array): void => {
      ops.push({ type: 'put', key, value });
      bytes += key.length + value.length;
    };
    put(filterKey(seq), b.filter);
    const postingKeys: string[] = [];
    b.postings.each(seq, (k, runs) => {
      postingKeys.push(k);
      put(k, encodeRuns(runs));
    });
    const manifest: Manifest = { minEnd: b.minEnd, maxEnd: b.maxEnd, rows: b.rows, postings: postingKeys, bytes: 0 };
    const withZero = pack(manifest);
    manifest.bytes = bytes + withZero.length + 16;
    ops.push({ type: 'put', key: batchKey(seq), value: withLastNumber(withZero, manifest.bytes) });
    return manifest.bytes;
  }
}
