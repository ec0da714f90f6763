/**
 * Session facts for the records thread (telemetry/records-thread.ts), as fixed rows in a SharedArrayBuffer
 * ring: one ring per data path (the in-thread one, or each worker thread), one producer (that data path,
 * fact-writer.ts) and one consumer (the records thread, telemetry/fact-rows.ts). No message, no object and no
 * copy per session: the producer stores words and moves `head` (Atomics.store), the consumer reads rows and
 * moves `tail`. A full ring never blocks the producer: the fact is dropped and counted (`lost`).
 *
 *   header (32 Int32 words): HEAD (producer), LOST (producer), ON (the consumer's epoch while it wants
 *                            facts, else 0), EPOCH (the last one), TAIL (consumer, on its own cache line)
 *   rows: `capacity` (a power of two) rows of ROW_WORDS Uint32 words (128 bytes); Float64 fields at even
 *         word offsets (F64 views of the same memory)
 *
 * Head and tail count rows since the ring was made (Int32, wrapping: differences are taken `| 0`). The ring
 * outlives the thread that writes it: a data-path worker started again goes on from `head`. The producer keeps
 * its own copy of `head` and of the rows it knows free: one FactRing writes a ring at a time. Per fact it reads
 * the consumer's `tail` only when those run out; it commits a fact's rows without a store the consumer sees and
 * publishes the committed ones with one atomic store per data-path batch (a seq-cst store per fact: 14 of ~120 ns
 * of a session's two rows, docs/performance.md "wave 20, recm").
 */

/** Uint32 words per row. */
export const ROW_WORDS = 32;
/**
 * Rows of a router's rings, shared by its data paths (at least MIN_RING_ROWS each): 32 MiB (touched when a
 * records thread first starts: FactRing.touch), some 3 s of facts at 40,000 new sessions a second (two rows each). A records thread held off the
 * cores that long (it runs at a lower priority than forwarding) loses nothing.
 */
export const FACT_RING_ROWS = 262_144;
export const MIN_RING_ROWS = 65_536;

/** Rows of each of `workers` data paths' rings: a power of two. */
export const ringRowsOf = (workers: number): number => Math.max(MIN_RING_ROWS, 2 ** Math.floor(Math.log2(FACT_RING_ROWS / Math.max(1, workers))));

const HEADER_WORDS = 32;
const H_HEAD = 0;
const H_LOST = 1;
const H_ON = 2;
const H_EPOCH = 3;
const H_TAIL = 16;

/** Row kinds (word 0, low byte). */
export const FACT_GEN = 1;
export const FACT_NAME = 2;
export const FACT_OPENED = 3;
export const FACT_CLOSED = 4;
export const FACT_MIGRATED = 5;
export const FACT_DENIED = 6;
export const FACT_COUNTERS = 7;

/** Name tables (FACT_NAME word 0, second byte): ids are the tables' of one config generation, APP the data path's application ids. */
export const NAME_TENANT = 0;
export const NAME_SERVICE = 1;
export const NAME_PATH = 2;
export const NAME_INTERFACE = 3;
export const NAME_APP = 4;
export const NAME_TABLES = 5;

/**
 * Row layouts (Uint32 word offsets; `f` a Float64 at that word offset).
 * GEN      0 kind, 1 config generation: the names announced before are void from here on
 * NAME     0 kind | table << 8, 1 id, 2 byte length, 3 rows (this one and the continuation rows after it);
 *          UTF-8 from byte NAME_BYTES, then ROW_WORDS * 4 bytes per continuation row. A path's name is
 *          `name \0 peer \0 local waypoint \0 remote waypoint`
 * OPENED   0 kind | role << 8 | family << 16 | flags << 20 | protocol << 24, 1 NAT ports (src << 16 | dst),
 *          2 f atMs, 4-7 session id, 8 tenant, 9 service, 10 app, 11 path + 1 (0: none), 12 in interface,
 *          13 out interface (tenant, service, interfaces: Int32, -1 none), 14 ports (src << 16 | dst),
 *          15 waypoint ports (local << 16 | peer),
 *          16-19 source, 20-23 destination, 24-27 NAT source, 28-31 NAT destination (flags SNAT | DNAT)
 * CLOSED   0 kind | reason << 8, 1 app, 2 f atMs, 4-7 session id, 8/10 f packets fwd/rev, 12/14 f bytes fwd/rev
 * MIGRATED 0 kind | reason << 8 | role << 16 | protocol << 24, 1 waypoint ports (local << 16 | peer),
 *          2 f atMs, 4-7 session id, 8 from path + 1, 9 to path + 1
 * DENIED   0 kind, 1 suppressed (denied first packets not recorded before this one), 2 f atMs,
 *          4.. the DENIED_WORDS words of events.ts (reason, family | protocol << 8, interface, tenant + 1, ...)
 * COUNTERS 0 kind, 1 entries (1 or 2), 2 f atMs, 4.. COUNTERS_ENTRY words each: session id (4), then
 *          f packets fwd/rev, f bytes fwd/rev
 */
export const NAME_BYTES = 16;
export const OPENED_SNAT = 1;
export const OPENED_DNAT = 2;
export const COUNTERS_ENTRY = 12;
export const COUNTERS_PER_ROW = 2;

export class FactRing {
  readonly buffer: SharedArrayBuffer;
  /** rows as words, Float64 fields and bytes (the same memory) */
  readonly words: Uint32Array;
  readonly f64: Float64Array;
  readonly bytes: Uint8Array;
  readonly capacity: number;
  private readonly mask: number;
  private readonly h: Int32Array;
  /** producer: its HEAD (committed rows; it alone moves it), the HEAD last published, and rows known free (TAIL is read again only when they run out) */
  private head: number;
  private shown: number;
  private room = 0;

  /** A new ring's memory (`rows` a power of two). */
  static buffer(rows = FACT_RING_ROWS): SharedArrayBuffer {
    if (!Number.isInteger(Math.log2(rows))) throw new RangeError(`fact ring rows must be a power of two, got ${rows}`);
    return new SharedArrayBuffer(HEADER_WORDS * 4 + rows * ROW_WORDS * 4);
  }

  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.h = new Int32Array(buffer, 0, HEADER_WORDS);
    this.words = new Uint32Array(buffer, HEADER_WORDS * 4);
    this.f64 = new Float64Array(buffer, HEADER_WORDS * 4);
    this.bytes = new Uint8Array(buffer, HEADER_WORDS * 4);
    this.capacity = this.words.length / ROW_WORDS;
    this.mask = this.capacity - 1;
    this.head = this.shown = Atomics.load(this.h, H_HEAD);
  }

  /** The consumer's epoch while it wants facts, 0 while it does not (the producer writes nothing then). */
  get epoch(): number {
    return Atomics.load(this.h, H_ON);
  }

  /**
   * The consumer, before the ring's first epoch: every page of its rows written once, so that the producer's
   * first lap takes no page faults in the data path (about 15 µs of CPU per 4 KiB page on this PVM guest: 32 MiB
   * is some 120 ms of the data path's time over its first 131,072 sessions; here it is the records thread's, once).
   * Nothing writes the rows before the first epoch; a ring started before (a records thread started again) is left alone.
   */
  touch(): void {
    if (Atomics.load(this.h, H_EPOCH) !== 0) return;
    const w = this.words;
    for (let i = 0; i < w.length; i += 1024) w[i] = 0;
  }

  /** The consumer (a records thread) starts: a new epoch, so the producer names everything again. */
  start(): number {
    const epoch = Atomics.add(this.h, H_EPOCH, 1) + 1;
    Atomics.store(this.h, H_ON, epoch);
    return epoch;
  }

  /** No facts wanted (records off, or the consumer ended). */
  stop(): void {
    Atomics.store(this.h, H_ON, 0);
  }

  // producer

  /** Whether `rows` rows after the published ones are free (the consumer's TAIL is read only when the rows known free are fewer). */
  fits(rows: number): boolean {
    if (rows <= this.room) return true;
    this.room = this.capacity - ((this.head - Atomics.load(this.h, H_TAIL)) | 0);
    return rows <= this.room;
  }

  /** Word offset of the k-th row after the committed ones. */
  nextRow(k: number): number {
    return ((this.head + k) & this.mask) * ROW_WORDS;
  }

  /** Takes the next `rows` rows as written; the consumer sees them at the next publish(). */
  commit(rows: number): void {
    this.head = (this.head + rows) | 0;
    this.room -= rows;
  }

  /** Commits the next `rows` rows and makes every committed row visible to the consumer (one atomic store, none when nothing is new). */
  publish(rows = 0): void {
    this.commit(rows);
    if (this.head === this.shown) return;
    this.shown = this.head;
    Atomics.store(this.h, H_HEAD, this.head);
  }

  /** Counts facts the producer dropped (ring full). */
  lose(facts = 1): void {
    Atomics.add(this.h, H_LOST, facts);
  }

  // consumer

  /** Rows published and not yet consumed. */
  available(): number {
    return (Atomics.load(this.h, H_HEAD) - Atomics.load(this.h, H_TAIL)) | 0;
  }

  /** Word offset of the k-th unconsumed row. */
  row(k: number): number {
    return ((Atomics.load(this.h, H_TAIL) + k) & this.mask) * ROW_WORDS;
  }

  /** Frees `rows` rows for the producer. */
  consume(rows: number): void {
    Atomics.store(this.h, H_TAIL, (Atomics.load(this.h, H_TAIL) + rows) | 0);
  }

  /** Facts dropped because the ring was full, since it was made. */
  get lost(): number {
    return Atomics.load(this.h, H_LOST) >>> 0;
  }
}
