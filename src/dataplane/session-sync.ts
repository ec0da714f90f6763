/**
 * HA sync marks of the session table (a router pair's active node, docs/high-availability.md "Session state"):
 * off until control first collects (session-rows.ts collectChanges); then a row is marked changed when it is created,
 * when it moves to another path (emitMigrated), when its flags differ from what the partner has or its idle expiry
 * moved SYNC_EXPIRY_MS from the one sent (checkSync, per packet: two compares; the native steady paths' own accounting
 * does the same in these arrays, native/flow-table.h); a removed row that was sent leaves a tombstone (its id,
 * session-table.ts remove). Both lists live in typed arrays sized to the table: no allocation per packet.
 */
import { SessionColumns, SYNC_WORDS } from './session-columns.js';
import { SYNC_EXPIRY_MS } from './session-defs.js';

export class SessionSync extends SessionColumns {
  /** Starts the HA sync marks (the columns, every row unmarked and unsent). */
  startSync(): void {
    if (this.syncing) return;
    this.syncing = true;
    this.growSync(this.held, 0);
    this.onColumns?.();
  }

  get syncDirtyTop(): number {
    return this.syncTop[0]!;
  }

  set syncDirtyTop(n: number) {
    this.syncTop[0] = n;
  }

  /** Marks row r changed for the partner (once until collected). */
  markSync(r: number, now: number): void {
    if (!this.syncing || this.syncRows[r * SYNC_WORDS]! >= 0) return;
    this.syncRows[r * SYNC_WORDS] = now;
    this.syncDirty[this.syncTop[0]!++] = r;
  }

  /** When row r was marked changed (ms), -1 when it is not. */
  syncMarkedAt(r: number): number {
    return this.syncRows[r * SYNC_WORDS]!;
  }

  /** Unmarks row r (collected; or removed, its tombstone, if any, already taken). */
  clearSyncMark(r: number): void {
    this.syncRows[r * SYNC_WORDS] = -1;
  }

  /** Per packet (after its counters, expiry and state): marks row r when the partner's copy is out of date. */
  checkSync(r: number, now: number): void {
    if (!this.syncing) return;
    const at = r * SYNC_WORDS;
    const s = this.syncRows;
    if (s[at]! >= 0) return;
    if (this.flags[r] !== s[at + 2] || Math.abs((this.expires[r]! - s[at + 1]!) | 0) >= SYNC_EXPIRY_MS) this.markSync(r, now);
  }

  /** Row r was collected for the partner: what it has now, unmarked (session-rows.ts collectChanges). */
  syncedRow(r: number): void {
    const at = r * SYNC_WORDS;
    this.syncRows[at] = -1;
    this.syncRows[at + 1] = this.expires[r]!;
    this.syncRows[at + 2] = this.flags[r]!;
    this.syncSent[r] = 1;
  }
}
