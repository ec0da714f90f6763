/**
 * The history's block being filled (history.ts): a record's row is written when the record is put, not
 * when its write comes (up to 250 ms and 4,096 records later), so that no record object waits in a pending
 * list: records die young (in the records thread the objects that outlived the young generation were the
 * pending records, copied and promoted: the GC's work).
 *
 *   put(record) -> its row (BlockWriter), its postings: its row into its names entry's runs in its minute
 *                  and its source's (field, value, minute -> runs of rows at close)
 *   close()     -> the block: rows sorted by end time (the row offsets reordered, the postings' rows mapped;
 *                  records from several rings come nearly in order), its filter (of the ids' bytes in the
 *                  block's rows, format 5), end-time range, postings
 * A block holds the records of one block's worth of puts: sorted within itself (before: a write's records
 * were sorted as one, then cut into blocks).
 */
import type { PlainRow } from '../open-sessions.js';
import type { CloseReason, SessionRecord } from '../record.js';
import { BlockWriter } from './block.js';
import { filterOf } from './id-index.js';
import { INDEXED_FIELDS, SOURCE, indexEntries, minuteOf, postingPrefix, postingSuffix, sourceOf, type IndexSink, type IndexedNames } from './keys.js';

export interface ClosedBlock {
  block: Uint8Array;
  filter: Uint8Array;
  rows: number;
  minEnd: number;
  maxEnd: number;
  postings: BlockPostings;
}

export class OpenBlock {
  private readonly writer = new BlockWriter();
  private postings = new BlockPostings();
  /** per row as added: end time */
  private readonly ends: number[] = [];
  /** the rows' id hashes, made at close */
  private hashes = new Uint32Array(1024);

  get rows(): number {
    return this.ends.length;
  }

  /** `idWords` at `idAt`: the id's 4 words, when known (BlockWriter.add) */
  add(r: SessionRecord, idWords?: Uint32Array, idAt = 0): void {
    this.added(this.writer.add(r, idWords, idAt), r.endMs);
  }

  /** A plain session's end from its slot's words (BlockWriter.addPlain): the row and postings add() makes of its end record. */
  addPlain(words: Uint32Array, p: PlainRow, endMs: number, reason: CloseReason): void {
    this.added(this.writer.addPlain(words, p, endMs, reason), endMs);
  }

  private added(row: number, endMs: number): void {
    const w = this.writer;
    const entry = w.entry;
    this.ends.push(endMs);
    this.postings.row(minuteOf(endMs), row, entry, w.entryNames(entry), sourceOf(w.source));
  }

  /** The block of the rows added (at least one), and this one empty again. */
  close(): ClosedBlock {
    const ends = this.ends;
    const n = ends.length;
    if (this.hashes.length < n * 2) this.hashes = new Uint32Array(n * 2);
    this.writer.idHashes(this.hashes);
    let sorted = true;
    for (let i = 1; i < n && sorted; i++) sorted = ends[i]! >= ends[i - 1]!;
    let order: number[] | undefined;
    if (!sorted) {
      order = Array.from({ length: n }, (_, i) => i).sort((a, b) => ends[a]! - ends[b]! || a - b);
      const rank = new Array<number>(n);
      for (let k = 0; k < n; k++) rank[order[k]!] = k;
      this.postings.finish(rank);
    } else this.postings.finish(undefined);
    const closed: ClosedBlock = {
      block: this.writer.finish(order), filter: filterOf(this.hashes, n), rows: n,
      minEnd: ends[order === undefined ? 0 : order[0]!]!, maxEnd: ends[order === undefined ? n - 1 : order[n - 1]!]!, postings: this.postings,
    };
    this.postings = new BlockPostings();
    ends.length = 0;
    return closed;
  }
}

/** A names entry's postings (indexEntries of its first row): fields (INDEXED_FIELDS' index) and values side by side. */
class EntryPostings implements IndexSink {
  readonly fields: number[] = [];
  readonly values: string[] = [];

  add(field: number, value: string): void {
    this.fields.push(field);
    this.values.push(value);
  }
}

/** One minute of a block's postings as rows come: each names entry's runs, the client's addresses' runs. */
interface Minute {
  /** by names entry: the runs of its rows in this minute */
  entries: (number[] | undefined)[];
  /** the entries in the order they came in this minute */
  came: number[];
  /** per field its values' runs: the source's as rows come, the others made at finish() from the entries' runs */
  values: Map<string, number[]>[];
  /** the fields in the order they first got a value (the keys' order in each()) */
  order: number[];
  /** the fields in `order`, a bit each */
  seen: number;
}

/**
 * The postings of one block: minute -> field (INDEXED_FIELDS' index) -> value -> runs of rows ([first, last, ...]).
 * All of a row's postings but the client's address follow from its names entry (block.ts: the same tenant,
 * service, application, routers, paths, close reason, server address and port), so a row adds its row to its
 * entry's runs in the minute (a row of the entry and minute before it: one step) and to its source's; the
 * entries' runs become the values' at finish(). Before (rech's profile, 2026-12-07): one indexEntries pass and ~9
 * add calls a row, 8 % of the records thread. The keys are made once per posting in each().
 */
export class BlockPostings {
  private readonly minutes = new Map<number, Minute>();
  private current: Minute | undefined;
  private minute = -1;
  /** per names entry: its postings */
  private readonly entryPostings: EntryPostings[] = [];
  /** the last row's entry and its runs in the current minute, the last source and its runs */
  private entry = -1;
  private entryRuns: number[] = [];
  private source: string | undefined;
  private sourceRuns: number[] = [];

  /** Row `row` of names entry `entry` (BlockWriter.entry: its `names`) and client address `source` (sourceOf), ended in `minute`. */
  row(minute: number, row: number, entry: number, names: IndexedNames, source: string): void {
    if (minute !== this.minute || this.current === undefined) this.toMinute(minute);
    const m = this.current!;
    if (entry === this.entry) extend(this.entryRuns, row);
    else {
      let runs = m.entries[entry];
      if (runs === undefined) {
        m.entries[entry] = runs = [row, row];
        m.came.push(entry);
        let p = this.entryPostings[entry];
        if (p === undefined) indexEntries(names, source, (this.entryPostings[entry] = p = new EntryPostings()));
        for (const f of p.fields) {
          if ((m.seen & (1 << f)) === 0) {
            m.seen |= 1 << f;
            m.order.push(f);
          }
        }
      } else extend(runs, row);
      this.entry = entry;
      this.entryRuns = runs;
    }
    if (source === this.source) extend(this.sourceRuns, row);
    else {
      const values = m.values[SOURCE]!;
      let runs = values.get(source);
      if (runs === undefined) values.set(source, (runs = [row, row]));
      else extend(runs, row);
      this.source = source;
      this.sourceRuns = runs;
    }
  }

  private toMinute(minute: number): void {
    this.minute = minute;
    let m = this.minutes.get(minute);
    if (m === undefined) this.minutes.set(minute, (m = { entries: [], came: [], values: INDEXED_FIELDS.map(() => new Map<string, number[]>()), order: [], seen: 0 }));
    this.current = m;
    this.entry = -1;
    this.source = undefined;
  }

  /**
   * The entries' runs as their values' (the values in the order their first row came), then, when the block's rows
   * were sorted, row r as row rank[r]: every posting's rows mapped, as runs again. A value's runs are gathered from
   * all its entries and joined once (unionRuns): joined entry by entry, each join copied the value's runs so far, a
   * block of rows that each made an entry of its own (more names than the writer looks back at: unit/telemetry
   * history-rate's records) took 75 µs a row at 5,000 rows a block, 16 at 512; now 1-3 (history-postings test).
   */
  finish(rank: readonly number[] | undefined): void {
    for (const m of this.minutes.values()) {
      const gathered = INDEXED_FIELDS.map(() => new Map<string, number[][]>());
      for (const e of m.came) {
        const runs = m.entries[e]!;
        const p = this.entryPostings[e]!;
        for (let i = 0; i < p.fields.length; i++) {
          const f = p.fields[i]!;
          if (f === SOURCE) continue;
          const byValue = gathered[f]!;
          const lists = byValue.get(p.values[i]!);
          if (lists === undefined) byValue.set(p.values[i]!, [runs]);
          else lists.push(runs);
        }
      }
      gathered.forEach((byValue, f) => {
        const values = m.values[f]!;
        for (const [value, lists] of byValue) values.set(value, lists.length === 1 ? lists[0]! : unionRuns(lists));
      });
    }
    if (rank !== undefined) this.renumber(rank);
  }

  private renumber(rank: readonly number[]): void {
    for (const { values } of this.minutes.values()) {
      for (const byValue of values) {
        for (const [value, runs] of byValue) {
          const rows: number[] = [];
          for (let i = 0; i < runs.length; i += 2) for (let r = runs[i]!; r <= runs[i + 1]!; r++) rows.push(rank[r]!);
          rows.sort((a, b) => a - b);
          const mapped = [rows[0]!, rows[0]!];
          for (let i = 1; i < rows.length; i++) extend(mapped, rows[i]!);
          byValue.set(value, mapped);
        }
      }
    }
  }

  /** Every posting's key (block `seq`) and runs of rows (ascending), after finish(). */
  each(seq: number, fn: (key: string, runs: number[]) => void): void {
    for (const [minute, fields] of this.minutes) {
      const suffix = postingSuffix(minute, seq);
      for (const f of fields.order) for (const [value, list] of fields.values[f]!) fn(postingPrefix(INDEXED_FIELDS[f]!, value) + suffix, list);
    }
  }
}

/** The union of lists of runs of rows with no row in two of them (each ascending), as runs (adjacent ones joined); none changed. */
export function unionRuns(lists: readonly (readonly number[])[]): number[] {
  const firsts: number[] = [];
  const lasts: number[] = [];
  for (const l of lists) {
    for (let i = 0; i < l.length; i += 2) {
      firsts.push(l[i]!);
      lasts.push(l[i + 1]!);
    }
  }
  const order = Array.from({ length: firsts.length }, (_, k) => k).sort((a, b) => firsts[a]! - firsts[b]!);
  const out: number[] = [];
  for (const k of order) {
    const end = out.length - 1;
    if (end > 0 && firsts[k]! <= out[end]! + 1) out[end] = Math.max(out[end]!, lasts[k]!);
    else out.push(firsts[k]!, lasts[k]!);
  }
  return out;
}

/** `row` (not before the last run's end) into `runs`: the last run's end moved when next to it, else a run of its own. */
function extend(runs: number[], row: number): void {
  const end = runs.length - 1;
  const last = runs[end]!;
  if (row === last + 1) runs[end] = row;
  else if (row > last) runs.push(row, row);
}
