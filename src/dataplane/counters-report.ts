/**
 * session.counters (dataplane.ts sweep): a cursor walks the table once per period, so every live session older than
 * the period has its totals reported about once per period; one fact per sweep, its entries bounded by the rows
 * visited (capacity x elapsed / period).
 */
import type { DataplaneContext } from './context.js';
import { COUNTER_WORDS } from './events.js';

/** Default period of session.counters reports (the shortest interim record interval, 60 s). */
export const SESSION_COUNTERS_MS = 60_000;

/** Entries of one session.counters report at most (a sweep at 1 M rows reports about 4,200). */
const COUNTERS_CHUNK = 4096;

export class CountersReport {
  private cursor = 0;
  /** when the cursor last moved */
  private at = -1;
  /** rows the cursor is due to visit and has not (the fraction of a row carried to the next sweep) */
  private due = 0;
  /** the entries of a report being built, reused: a new array of every visited row's size per sweep (270 kB at 1 M
   *  rows), its copy for the event beside it, brought V8 full collections every 12 s at 1 M sessions older than
   *  the period (docs/performance.md wave 24, tab6) */
  private readonly data = new Float64Array(COUNTERS_CHUNK * COUNTER_WORDS);

  /** `periodMs`: 0, never; `wanted`: whether anyone takes session.counters events (else the fact ring only). */
  constructor(private readonly ctx: DataplaneContext, private readonly periodMs: number, private readonly wanted: () => boolean) {}

  /** At a sweep: the rows due since the last one, their entries in facts and events. */
  report(now: number): void {
    const t = this.ctx.sessions;
    if (this.periodMs <= 0 || this.at < 0) {
      this.at = now;
      return;
    }
    // rows used so far (the table's capacity grows with them): the fraction left over counts next time, so a
    // small table is still walked once per period, not once per sweep
    this.due = Math.min(t.capacity, this.due + (t.capacity * (now - this.at)) / this.periodMs);
    this.at = now;
    const visit = Math.floor(this.due);
    if (visit <= 0) return;
    this.due -= visit;
    const data = this.data;
    let n = 0;
    for (let i = 0; i < visit; i++) {
      const r = this.cursor;
      this.cursor = r + 1 >= t.capacity ? 0 : r + 1;
      if (!t.isActive(r) || now - t.created[r]! < this.periodMs) continue;
      const at = n * COUNTER_WORDS;
      for (let w = 0; w < 4; w++) data[at + w] = t.uuid[r * 4 + w]!;
      data[at + 4] = t.pktsFwd[r]!;
      data[at + 5] = t.pktsRev[r]!;
      data[at + 6] = t.bytesFwd[r]!;
      data[at + 7] = t.bytesRev[r]!;
      if (++n === COUNTERS_CHUNK) {
        this.send(n, now);
        n = 0;
      }
    }
    if (n > 0) this.send(n, now);
  }

  /** The first n entries of `data` to the fact ring, and as an event when one is wanted (its own copy). */
  private send(n: number, now: number): void {
    const data = this.data;
    this.ctx.facts?.counters(this.ctx, data, n, now);
    if (this.wanted()) this.ctx.events.push({ kind: 'session.counters', atMs: now, count: n, data: data.slice(0, n * COUNTER_WORDS) });
  }
}
