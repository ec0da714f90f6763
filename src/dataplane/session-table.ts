/**
 * The session table: one row per session (both directions), columns in typed arrays (session-columns.ts), their HA
 * sync marks (session-sync.ts), the flow keys that lead to the rows (session-keys.ts); here, the rows' life: alloc,
 * remove, idle expiry. Each layer extends the one below, so a SessionTable is all of them; what a row's values mean
 * is in session-defs.ts (re-exported here).
 * Bounded: at most `limit` rows (alloc returns -1 beyond: the caller refuses the session and counts it).
 * Rows are handed out from the lowest segment of SEGMENT_ROWS with room; a segment whose rows are all removed gives
 * its pages back (reserved columns, row-memory.ts).
 * 176 B a session in r1's table at 50 % and 99 % of a 1 M limit, 209.5 B at 25 % (bench/memory.ts, with the
 * flow tables' distance bytes; 170 and 198 B without them, 178 and 206 B with 8-byte lastSeen/expires, 218 and
 * 247 B with 4-word address columns, 504, 299 and 1,184 B before reserved rows).
 * Idle expiry: a timer wheel of WHEEL_SLOTS slots of WHEEL_TICK_MS. Every row sits in the slot of the
 * time it may next have expired; a sweep visits only the slots that came due and, in them, only their rows:
 * a row whose `expires` passed is expired, any other moves to the slot of its `expires` (packets move
 * `expires` forward without touching the wheel). So a sweep's work follows the expiries due, whatever the
 * table's size: one visit per row and idle timeout, plus one at its start.
 */
import { reservedFrom, SEGMENT_SHIFT, SYNC_WORDS } from './session-columns.js';
import { MAX_ROWS, msUntil, SEGMENT_ROWS, SF_ACTIVE, WHEEL_TICK_MS } from './session-defs.js';
import { SessionKeys } from './session-keys.js';
export * from './session-defs.js';

/** Old index slots a sweep moves to a resized index (flow-table.ts migrate), about as long as expiring
 *  SWEEP_BUDGET rows: a table of 1 M keys resizes within 128 sweeps. */
const MIGRATE_PER_SWEEP = 8192;
/** Wheel slots: 1024 s ahead at 250 ms; a later expiry is looked at once per turn and moved on. */
const WHEEL_SLOTS = 4096;
const WHEEL_MASK = WHEEL_SLOTS - 1;
/** dueTick of a row due at no time (looked at once per turn of the wheel) */
const DUE_NEVER = 0x7fffffff;

export class SessionTable extends SessionKeys {
  active = 0;
  /** most rows this table holds (setLimit); alloc refuses beyond */
  limit = MAX_ROWS;
  /** where the generations of new rows start (a restarted worker: its predecessor's rows stay stale) */
  private genBase = 0;
  /** no segment below this one has a row to hand out */
  private segHint = 0;
  /** the highest generation handed out (a row of a segment that gave its memory back starts above it) */
  private genTop = 0;
  /** segments emptied during a sweep, given back when it ends (the sweep may walk on through their rows) */
  private readonly emptied: number[] = [];
  private sweeping = false;
  /** first row of each wheel slot (-1: empty) */
  private readonly heads = new Int32Array(WHEEL_SLOTS).fill(-1);
  /** the tick dueTick counts from: the first one a row was due at */
  private tickBase = NaN;
  /** the last wheel tick (ms / WHEEL_TICK_MS) swept; -1 before the first row or sweep */
  private sweptTick = -1;

  /** At most `rows` sessions from now on (fewer than are active: new ones are refused until enough end). */
  setLimit(rows: number): void {
    this.limit = Math.max(1, Math.floor(rows));
  }

  /** Row generations start at `base` from now on (an empty table: a worker thread that replaces one that died). */
  startGenerations(base: number): void {
    this.genBase = base >>> 0;
    this.gen.fill(this.genBase, 0, this.capacity);
    this.genTop = this.genBase;
  }

  /** A fresh row (zeroed counters, new generation), or -1 when the table holds `limit` sessions. */
  alloc(now: number): number {
    if (this.active >= this.limit) return -1;
    const s = this.segmentWithRoom();
    let r = this.segFree[s]!;
    if (r >= 0) {
      this.segFree[s] = this.duePrev[r]!;
      const g = (this.gen[r]! + 1) >>> 0;
      this.gen[r] = g;
      if (g > this.genTop) this.genTop = g;
    } else { // a row not written since its segment was created or gave its memory back: its pages become resident
      r = s * SEGMENT_ROWS + this.segFresh[s]!++;
      this.dueSlot[r] = -1;
      if (r >= this.capacity) { // never used
        this.capacity = r + 1;
        this.gen[r] = (this.genBase + 1) >>> 0;
        if (this.syncing) this.syncRows[r * SYNC_WORDS] = -1;
      } else this.gen[r] = (Math.max(this.genTop, this.genBase) + 1) >>> 0; // above any reference to the row before
      if (this.gen[r]! > this.genTop) this.genTop = this.gen[r]!;
    }
    this.segActive[s]++;
    this.flags[r] = SF_ACTIVE;
    this.created[r] = now;
    this.lastSeen[r] = now;
    this.expires[r] = now; // due until its first packet sets it (a stale u32 could read as far ahead)
    this.pktsFwd[r] = this.pktsRev[r] = 0;
    this.bytesFwd[r] = this.bytesRev[r] = 0;
    this.tenant[r] = this.service[r] = this.path[r] = -1; // not counted until set (setClass, setPath)
    this.chain[r] = 0;
    this.app[r] = 0;
    this.natRelay[r] = 0;
    // (a 0 is not written: a page never written stays out of memory)
    if (this.tags.length > 0 && this.tags[r] !== 0) this.tags[r] = 0;
    if (this.signed.length > 0 && this.signed[r] !== 0) this.signed[r] = 0;
    if (this.relays.length > 0 && this.relays[r] !== 0) this.relays[r] = 0;
    if (this.marksOut.length > 0 && this.marksOut[r * 2 + 1] !== 0) this.marksOut[r * 2 + 1] = 0; // unmarked
    if (this.marksIn.length > 0 && this.marksIn[r * 2 + 1] !== 0) this.marksIn[r * 2 + 1] = 0;
    this.inKeyInfo[r] = 0;
    this.outKeyInfo[r] = 0;
    this.claimFailed = false;
    this.active++;
    if (this.sweptTick < 0) this.sweptTick = Math.floor(now / WHEEL_TICK_MS) - 1;
    this.dueTick[r] = DUE_NEVER;
    this.checkBy(r, now + WHEEL_TICK_MS); // its expiry is set by its first packet: look at it one tick on
    if (this.syncing) {
      this.syncSent[r] = 0;
      this.markSync(r, now);
    }
    return r;
  }

  /** The lowest segment with a row to hand out (the columns grow when every row is in use). */
  private segmentWithRoom(): number {
    let s = this.segHint;
    for (;;) {
      if (s === this.segFree.length) {
        this.resize(reservedFrom(this.limit) ? Math.max(this.limit, this.held + 1) : Math.max(this.held + 1, Math.min(this.held * 2, this.limit)));
        s = Math.max(0, s - 1); // the last segment may have grown
      }
      if (this.segFree[s]! >= 0 || this.segFresh[s]! < Math.min(SEGMENT_ROWS, this.held - s * SEGMENT_ROWS)) break;
      s++;
    }
    this.segHint = s;
    return s;
  }

  /** Gives back the memory of segment s's rows when they are all free (reserved columns only; the HA sync
   *  state stays: it outlives a row; its rows' generations start above genTop when used again). */
  private releaseSegment(s: number): void {
    if (this.segActive[s] !== 0 || !reservedFrom(this.held)) return;
    const from = s * SEGMENT_ROWS;
    const rows = Math.min(SEGMENT_ROWS, this.held - from);
    this.releaseRows(from, rows);
    this.segFree[s] = -1;
    this.segFresh[s] = 0;
  }

  /** Makes sure row r is looked at by `at` (ms): trackTcp calls it when a close shortens a row's expiry. */
  checkBy(r: number, at: number): void {
    this.dueBy(r, Math.floor(at / WHEEL_TICK_MS));
  }

  /** Links row r into the slot of wheel tick `tick` (or the next one swept), unless it is due by then already. */
  private dueBy(r: number, tick: number): void {
    if (Number.isNaN(this.tickBase) && Number.isFinite(tick)) this.tickBase = tick;
    const due = Math.min(tick - this.tickBase, DUE_NEVER);
    if (this.dueSlot[r]! >= 0 && this.dueTick[r]! <= due) return;
    this.unlinkDue(r);
    this.dueTick[r] = due;
    const slot = Math.max(tick, this.sweptTick + 1) & WHEEL_MASK;
    const head = this.heads[slot]!;
    this.dueNext[r] = head;
    this.duePrev[r] = -1;
    if (head >= 0) this.duePrev[head] = r;
    this.heads[slot] = r;
    this.dueSlot[r] = slot;
  }

  private unlinkDue(r: number): void {
    const slot = this.dueSlot[r]!;
    if (slot < 0) return;
    const next = this.dueNext[r]!;
    const prev = this.duePrev[r]!;
    if (prev >= 0) this.dueNext[prev] = next;
    else this.heads[slot] = next;
    if (next >= 0) this.duePrev[next] = prev;
    this.dueSlot[r] = -1;
  }

  /** Removes row r and both its keys; the row returns to the free list. */
  remove(r: number): void {
    if ((this.flags[r]! & SF_ACTIVE) === 0) return;
    this.deleteKey(r, this.inKeyInfo[r]! & 7, this.inKey);
    this.deleteKey(r, this.outKeyInfo[r]! & 7, this.outKey);
    this.removeAltKey(r);
    this.removeReturnKeys(r);
    this.uuidKeyOf(r);
    this.byUuid.deleteIf(r, -1); // unless a newer row holds the id
    this.unlinkDue(r);
    if (this.syncing && this.syncSent[r] === 1) { // the partner has it: a tombstone (its mark, if any, is skipped when collected)
      for (let w = 0; w < 4; w++) this.syncTombs[this.syncTombTop * 4 + w] = this.uuid[r * 4 + w]!;
      this.syncTombTop++;
      this.syncSent[r] = 0;
    }
    this.flags[r] = 0;
    this.perTenant.move(this.tenant[r]!, -1);
    this.perService.move(this.service[r]!, -1);
    this.perPath.move(this.path[r]!, -1);
    const s = r >>> SEGMENT_SHIFT;
    this.duePrev[r] = this.segFree[s]!;
    this.segFree[s] = r;
    if (s < this.segHint) this.segHint = s;
    this.active--;
    if (--this.segActive[s]! === 0) {
      if (this.sweeping) this.emptied.push(s);
      else this.releaseSegment(s);
    }
  }

  /**
   * Looks at the rows of the wheel slots due by `now`, at most `budget` of them, and calls `expire(row)`
   * for each whose `expires` passed (expire removes it); the others move to the slot of their expiry.
   * Returns true when due rows are left (call again: the work follows the expiries due, see above).
   */
  sweep(now: number, budget: number, expire: (row: number) => void): boolean {
    this.sweeping = true;
    try {
      const more = this.sweepDue(now, budget, expire);
      return this.tidy() || more;
    } finally {
      this.sweeping = false;
      while (this.emptied.length > 0) this.releaseSegment(this.emptied.pop()!);
    }
  }

  /** Moves indexes being resized on (flow-table.ts; part of every sweep, between batches); true while some
   *  are left. */
  tidy(budget = MIGRATE_PER_SWEEP): boolean {
    const v4 = this.v4.migrate(budget);
    const v6 = this.v6.migrate(budget);
    return this.byUuid.migrate(budget) || v4 || v6;
  }

  private sweepDue(now: number, budget: number, expire: (row: number) => void): boolean {
    const nowTick = Math.floor(now / WHEEL_TICK_MS);
    if (this.sweptTick < 0) this.sweptTick = nowTick - 1;
    if (nowTick - this.sweptTick > WHEEL_SLOTS) this.sweptTick = nowTick - WHEEL_SLOTS; // a clock jump: every slot once
    let visited = 0;
    while (this.sweptTick < nowTick) {
      const tick = this.sweptTick + 1;
      const slot = tick & WHEEL_MASK;
      let r = this.heads[slot]!;
      this.heads[slot] = -1; // rows moved within this tick land in the next one (sweptTick + 1 below)
      this.sweptTick = tick;
      while (r >= 0) {
        const next = this.dueNext[r]!;
        this.dueSlot[r] = -1;
        if (visited === budget) {
          this.sweptTick = tick - 1; // the rest of this slot next time: back into it
          while (r >= 0) {
            const after = this.dueNext[r]!;
            this.dueSlot[r] = -1;
            this.dueBy(r, this.dueTick[r]! + this.tickBase);
            r = after;
          }
          return true;
        }
        visited++;
        if ((this.flags[r]! & SF_ACTIVE) !== 0) {
          const left = msUntil(now, this.expires[r]!);
          if (left <= 0) expire(r);
          else this.checkBy(r, now + left);
        }
        r = next;
      }
    }
    return false;
  }
}
