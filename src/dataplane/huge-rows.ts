/**
 * The session table's row columns in 2 MiB pages where its rows stay (issue 19 item 2, docs/performance.md "Wave 25,
 * tab7"). Rows are handed out from the lowest segment with room (session-table.ts), so the rows below the first
 * segment without an active row are written and kept: `step` (once a sweep) moves that line on and makes at most
 * CHUNKS_PER_STEP whole 2 MiB-aligned chunks of the columns below it one huge page each (row-memory.ts collapse:
 * MADV_COLLAPSE, a 2 MiB copy, about 1 ms of CPU on the loaded 2-core machine), so a 1 M-row table's columns are
 * about 50 chunks instead of 38,000 pages of 4 KiB. A chunk with a page not resident (a column few rows write: IPv6,
 * NAT, tags; a segment given back) is left in 4 KiB pages, once and for all. No MADV_HUGEPAGE: a segment given back
 * later splits its chunk, and khugepaged does not fill it again (transparent huge pages in `madvise` mode).
 */
import { rowMemory } from './row-memory.js';

/** Chunks collapsed per step: a sweep stalls the data path's thread about 1 ms for one. */
const CHUNKS_PER_STEP = 1;

type Column = Uint8Array | Uint16Array | Int16Array | Uint32Array | Float64Array | Int32Array;

export class HugeRows {
  /** rows below this are in segments that had active rows when the line passed them */
  rows = 0;
  /** chunks collapsed so far */
  chunks = 0;
  /** per column buffer: the offset up to which its chunks were collapsed or left */
  private readonly done = new WeakMap<ArrayBufferLike, number>();

  /**
   * Moves the line over the segments (of `segmentRows`) below `capacity` whose count in `segActive` is above 0, then
   * collapses up to CHUNKS_PER_STEP chunks of `columns` (each of `held` rows) below it. Returns the chunks collapsed.
   */
  step(columns: readonly Column[], held: number, capacity: number, segActive: Int32Array, segmentRows: number): number {
    if (rowMemory === null) return 0;
    while (this.rows + segmentRows <= capacity && segActive[this.rows / segmentRows]! > 0) this.rows += segmentRows;
    let budget = CHUNKS_PER_STEP;
    for (const c of columns) {
      if (c.length === 0 || budget === 0) continue;
      const to = c.byteOffset + this.rows * (c.byteLength / held);
      let from = this.done.get(c.buffer) ?? c.byteOffset;
      while (budget > 0) {
        const next = rowMemory.collapse(c.buffer, from, to);
        if (next === from) break;
        if (next > 0) budget--;
        from = Math.abs(next);
      }
      this.done.set(c.buffer, from);
    }
    this.chunks += CHUNKS_PER_STEP - budget;
    return CHUNKS_PER_STEP - budget;
  }
}
