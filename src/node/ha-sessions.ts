/**
 * The sessions of a router pair's node on the sync link (docs/high-availability.md "Session state").
 * Active: at each flush (every heartbeat) the data path is asked for the rows marked changed since the last
 * time (created, state changed, expiry moved far; dataplane/session-rows.ts collectChanges) and the ids of
 * those removed; its answer goes out at once as upserts and deletes (one request per heartbeat, never a
 * message per packet). A partner that starts empty (heard for the first time or restarted) and a node that
 * has just taken over get a full collection: every row. Standby: the rows land in the pair node's replica;
 * on taking over, `install` loads them into the data path before its devices come up, so packets of those
 * sessions are forwarded as before, under the same session ids.
 */
import type { DataPathHost, SessionChanges } from '../control/data-path-host.js';
import { OP_DELETE, OP_UPSERT, type SyncRecord } from '../ha/sync-wire.js';

/** The sync record kind of a session row (key: the session id, value: the row's bytes). */
export const SYNC_KIND_SESSION = 1;

type Log = (event: string, fields: Record<string, string | number | boolean>) => void;
/** sends records to the partner now (PairNode.send); `markedAt`: when the oldest of their changes happened */
type Send = (records: readonly SyncRecord[], markedAt: number) => void;

export interface HaSessionStats {
  collections: number;
  fullCollections: number;
  upserts: number;
  deletes: number;
  /** the oldest change of the last collection: how long it waited in the data path (ms) */
  lastWaitMs: number | undefined;
  maxWaitMs: number;
  /** rows still marked after the last collection (beyond its budget) and the age of the oldest (ms) */
  dirtyLeft: number;
  dirtyLeftOldestMs: number;
}

export class HaSessions {
  private send: Send | undefined;
  private collecting = false;
  private fullWanted = false;
  private readonly counts: HaSessionStats = {
    collections: 0, fullCollections: 0, upserts: 0, deletes: 0, lastWaitMs: undefined, maxWaitMs: 0, dirtyLeft: 0, dirtyLeftOldestMs: 0,
  };

  constructor(private readonly host: Pick<DataPathHost, 'collectSessionChanges' | 'importSessions'>, private readonly log: Log) {}

  /** Where collected changes go (the pair node's `send`); set once the pair node exists. */
  bind(send: Send): void {
    this.send = send;
  }

  /** PairNode's `collect`: asks the data path for its changes (all rows when `full`); they go out when it answers. */
  collect(_queue: (r: SyncRecord) => void, full: boolean): void {
    if (full) this.fullWanted = true;
    if (this.collecting) return; // one at a time; a full one asked meanwhile is the next
    this.collecting = true;
    const asked = this.fullWanted;
    this.fullWanted = false;
    this.host.collectSessionChanges(asked)
      .then((c) => this.sendChanges(c, asked))
      .catch((e: unknown) => {
        // a worker that answered too late may have taken its marks already: only a full collection is sure
        this.fullWanted = true;
        this.log('ha.sessions-collect-failed', { error: e instanceof Error ? e.message : String(e) });
      })
      .finally(() => { this.collecting = false; });
  }

  private sendChanges(c: SessionChanges, full: boolean): void {
    const s = this.counts;
    s.collections++;
    if (full) s.fullCollections++;
    s.dirtyLeft = c.left;
    s.dirtyLeftOldestMs = c.left > 0 ? c.leftOldestMs : 0;
    if (c.rows.length === 0 && c.removed.length === 0) return;
    s.lastWaitMs = c.oldestMs;
    s.maxWaitMs = Math.max(s.maxWaitMs, c.oldestMs);
    s.upserts += c.rows.length;
    s.deletes += c.removed.length;
    const records: SyncRecord[] = c.rows.map((r) => ({ kind: SYNC_KIND_SESSION, op: OP_UPSERT, key: r.id, value: r.row }));
    for (const id of c.removed) records.push({ kind: SYNC_KIND_SESSION, op: OP_DELETE, key: id, value: new Uint8Array(0) });
    this.send?.(records, c.rows.length > 0 ? performance.now() - c.oldestMs : Number.POSITIVE_INFINITY);
  }

  stats(): HaSessionStats {
    return { ...this.counts };
  }

  /** Taking over: installs the partner's session rows from the replica into the data path; the next
   *  collection is full (the partner, standby from now on, starts from nothing). */
  async install(replica: ReadonlyMap<string, SyncRecord>): Promise<{ installed: number; present: number; refused: number }> {
    const rows = [...replica.values()].filter((r) => r.kind === SYNC_KIND_SESSION).map((r) => r.value);
    const t0 = performance.now();
    const res = await this.host.importSessions(rows);
    this.fullWanted = true;
    this.log('ha.sessions-installed', { ...res, ms: Math.round(performance.now() - t0) });
    return res;
  }
}
