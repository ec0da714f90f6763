/**
 * The history's block being filled (history.ts): a record's row is written when the record is put, not
 * when its write comes (up to 250 ms and 4,096 records later), so that no record object waits in a pending
 * list: records die young (in the records thread the objects that outlived the young generation were the
 * pending records, copied and promoted: the GC's work).
 *
 *   put(record) -> its row (BlockWriter), its postings (field, value, minute -> runs of rows)
 *   close()     -> the block: rows sorted by end time (the row offsets reordered, the postings' rows mapped;
 *                  records from several rings come nearly in order), its filter (of the ids' bytes in the
 *                  block's rows, format 5), end-time range, postings
 * A block holds the records of one block's worth of puts: sorted within itself (before: a write's records
 * were sorted as one, then cut into blocks).
 */
import type { SessionRecord } from '../record.js';
import { BlockWriter } from './block.js';
import { filterOf } from './id-index.js';
import { INDEXED_FIELDS, indexEntries, minuteOf, postingPrefix, postingSuffix, type IndexSink } from './keys.js';

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
    const row = this.writer.add(r, idWords, idAt);
    this.ends.push(r.endMs);
    this.postings.record(minuteOf(r.endMs), row);
    indexEntries(r, this.postings);
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
      this.postings.renumber(rank);
    }
    const closed: ClosedBlock = {
      block: this.writer.finish(order), filter: filterOf(this.hashes, n), rows: n,
      minEnd: ends[order === undefined ? 0 : order[0]!]!, maxEnd: ends[order === undefined ? n - 1 : order[n - 1]!]!, postings: this.postings,
    };
    this.postings = new BlockPostings();
    ends.length = 0;
    return closed;
  }
}

/**
 * The postings of one block: minute -> field (INDEXED_FIELDS' index) -> value -> runs of rows ([first, last, ...]).
 * Maps of the records' own strings (their hashes cached by V8), and each field's last value and its runs: most
 * fields repeat record after record, and comparing the same string object costs less than a map lookup; a row
 * next to the run before it moves the run's end (no push per row and posting). The keys are made once per
 * posting in each().
 */
export class BlockPostings implements IndexSink {
  /** per minute: each field's values, and the fields in the order they first got a value (the keys' order in each()) */
  private readonly minutes = new Map<number, { values: Map<string, number[]>[]; order: number[] }>();
  private fields: { values: Map<string, number[]>[]; order: number[] } | undefined;
  private minute = -1;
  private row = 0;
  private readonly lastValue: (string | undefined)[] = new Array<string | undefined>(INDEXED_FIELDS.length).fill(undefined);
  private readonly lastRuns: number[][] = new Array<number[]>(INDEXED_FIELDS.length).fill([]);

  /** The next entries are of row `row`, which ended in `minute`. */
  record(minute: number, row: number): void {
    this.row = row;
    if (minute === this.minute && this.fields !== undefined) return;
    this.minute = minute;
    let fields = this.minutes.get(minute);
    if (fields === undefined) this.minutes.set(minute, (fields = { values: INDEXED_FIELDS.map(() => new Map<string, number[]>()), order: [] }));
    this.fields = fields;
    this.lastValue.fill(undefined);
  }

  add(field: number, value: string): void {
    if (value === this.lastValue[field]) {
      extend(this.lastRuns[field]!, this.row);
      return;
    }
    const fields = this.fields!;
    const values = fields.values[field]!;
    let runs = values.get(value);
    if (runs === undefined) {
      if (values.size === 0) fields.order.push(field);
      values.set(value, (runs = [this.row, this.row]));
    } else extend(runs, this.row);
    this.lastValue[field] = value;
    this.lastRuns[field] = runs;
  }

  /** Row r is row rank[r] from now on (the block's rows sorted): every posting's rows mapped, as runs again. */
  renumber(rank: readonly number[]): void {
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

  /** Every posting's key (block `seq`) and runs of rows (ascending). */
  each(seq: number, fn: (key: string, runs: number[]) => void): void {
    for (const [minute, fields] of this.minutes) {
      const suffix = postingSuffix(minute, seq);
      for (const f of fields.order) for (const [value, list] of fields.values[f]!) fn(postingPrefix(INDEXED_FIELDS[f]!, value) + suffix, list);
    }
  }
}

/** `row` (not before the last run's end) into `runs`: the last run's end moved when next to it, else a run of its own. */
function extend(runs: number[], row: number): void {
  const end = runs.length - 1;
  const last = runs[end]!;
  if (row === last + 1) runs[end] = row;
  else if (row > last) runs.push(row, row);
}
