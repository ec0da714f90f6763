/**
 * The sessions of a router pair's node on the sync link (docs/high-availability.md "Session state").
 * Active: the data path is asked for the rows marked changed (created, state changed, expiry moved far;
 * dataplane/session-rows.ts collectChanges) at least SYNC_SETTLE_MS ago and the ids of those removed; its
 * answer, packed rows in one buffer, is framed into sync records in one buffer (no object per row) and goes
 * out at once. Asked on every heartbeat, and, while rows are left marked, again once the oldest of them has
 * settled (at most every COLLECT_GAP_MS) and the link has room: collection follows the link, not the
 * heartbeat. A partner that starts empty (heard for the first time or restarted) and a node that has just
 * taken over get a full collection: every row. A worker thread replaced on this node lost its sessions: the
 * partner drops its rows (a purge record, before any row of the new thread). Standby: the rows land in the
 * pair node's replica; on taking over, `install` loads them into the data path before its devices come up,
 * so packets of those sessions are forwarded as before, under the same session ids. A node that stops
 * forwarding (standby, fenced) ends its own sessions (`standby`): from then on the partner's rows are the
 * truth, and a row of its own kept would be found "present" at its next takeover and win over the partner's
 * newer one (a session the partner had moved to another path, sent on a waypoint 5-tuple the peer no longer
 * holds: lost until the peer's enable-metadata round trip).
 *
 * A session record: key the session id (16), value the source (1: the worker that holds it) | the row.
 */
import { PACKED_HEAD, PACKED_KIND, packedHead, type DataPathHost, type SessionChanges } from '../control/data-path-host.js';
import type { SyncReplica } from '../ha/replica.js';
import { OP_DELETE, OP_PURGE, RECORD_HEAD, frameRecord } from '../ha/sync-wire.js';

/** The sync record kind of a session row (key: the session id, value: its source and the row's bytes); the
 *  data path packs rows as these records. */
export const SYNC_KIND_SESSION = PACKED_KIND;
/** A row is collected once its change is this old (ms): a session's first packet and its answer, a TCP
 *  handshake, go as one record instead of two. */
export const SYNC_SETTLE_MS = 10;
/** Collections follow each other at least this far apart (ms) while rows are left marked: each costs a request
 *  to the data path and at least one datagram, so fewer larger ones (20,000 sessions/s: 400 rows, two datagrams)
 *  cost less per row; a row waits at most this much longer. */
export const COLLECT_GAP_MS = 20;

type Log = (event: string, fields: Record<string, string | number | boolean>) => void;

/** Where collected changes go (the pair node): framed records sent now (`markedAt`: when the oldest of their
 *  changes happened; `records` is valid during the call only: copy it), and "ask me again in `afterMs`, when the
 *  link has room". */
export interface HaSessionSink {
  sendFramed(records: Uint8Array, count: number, markedAt?: number): void;
  more(afterMs: number): void;
}

export interface HaSessionStats {
  collections: number;
  fullCollections: number;
  upserts: number;
  deletes: number;
  /** workers whose rows the partner was told to drop (a replaced worker thread) */
  purges: number;
  /** the oldest change of the last collection: how long it waited in the data path (ms) */
  lastWaitMs: number | undefined;
  maxWaitMs: number;
  /** rows still marked after the last collection (beyond its budget, or not settled) and the age of the oldest (ms) */
  dirtyLeft: number;
  dirtyLeftOldestMs: number;
}

/** Where frameChanges frames (grown, never shrunk). */
export interface FrameBuffer {
  bytes: Uint8Array;
}

/** Frames a collection's purges, rows and tombstones as sync records (one buffer); the records' count. The
 *  packed rows are session upserts already (dataplane/session-rows.ts): copied as they are, no work per row.
 *  With `into`, the records are a view of its bytes, valid until the next call with it (no new buffer per
 *  collection: external memory that V8 counts toward the next mark-compact). */
export function frameChanges(c: SessionChanges, into?: FrameBuffer): { records: Uint8Array; count: number } {
  const removed = c.removed.length / 16;
  if (removed === 0 && c.lost.length === 0) return { records: c.rows, count: c.rowCount }; // a session rate's usual collection
  const size = c.lost.length * (RECORD_HEAD + 1) + c.rows.length + removed * (RECORD_HEAD + 16);
  if (into !== undefined && into.bytes.length < size) into.bytes = new Uint8Array(Math.max(size, 2 * into.bytes.length));
  const out = into === undefined ? new Uint8Array(size) : into.bytes.subarray(0, size);
  let o = 0;
  for (const source of c.lost) {
    o = frameRecord(out, o, SYNC_KIND_SESSION, OP_PURGE, 1, 0);
    out[o++] = source;
  }
  out.set(c.rows, o);
  o += c.rows.length;
  const ids = c.removed;
  for (let k = 0; k < removed * 16; k++) {
    if ((k & 15) === 0) o = frameRecord(out, o, SYNC_KIND_SESSION, OP_DELETE, 16, 0);
    out[o++] = ids[k]!;
  }
  return { records: out, count: c.lost.length + c.rowCount + removed };
}

export class HaSessions {
  private sink: HaSessionSink | undefined;
  private collecting = false;
  private fullWanted = false;
  /** where a collection with tombstones is framed: the sync link copies it at once */
  private readonly framed: FrameBuffer = { bytes: new Uint8Array(0) };
  private readonly counts: HaSessionStats = {
    collections: 0, fullCollections: 0, upserts: 0, deletes: 0, purges: 0, lastWaitMs: undefined, maxWaitMs: 0, dirtyLeft: 0, dirtyLeftOldestMs: 0,
  };

  constructor(private readonly host: Pick<DataPathHost, 'collectSessionChanges' | 'importSessions' | 'removeAllSessions'>, private readonly log: Log) {}

  /** Where collected changes go (the pair node); set once the pair node exists. */
  bind(sink: HaSessionSink): void {
    this.sink = sink;
  }

  /** PairNode's `collect`: asks the data path for its changes (all rows when `full`); they go out when it answers. */
  collect(_queue: unknown, full: boolean): void {
    if (full) this.fullWanted = true;
    if (this.collecting) return; // one at a time; a full one asked meanwhile is the next
    this.collecting = true;
    const asked = this.fullWanted;
    this.fullWanted = false;
    this.host.collectSessionChanges(asked, SYNC_SETTLE_MS)
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
    if (c.left > 0 || this.fullWanted) this.sink?.more(this.fullWanted ? 0 : Math.max(COLLECT_GAP_MS, SYNC_SETTLE_MS - c.leftOldestMs));
    if (c.rowCount === 0 && c.removed.length === 0 && c.lost.length === 0) return;
    if (c.rowCount > 0) {
      s.lastWaitMs = c.oldestMs;
      s.maxWaitMs = Math.max(s.maxWaitMs, c.oldestMs);
    }
    s.upserts += c.rowCount;
    s.deletes += c.removed.length / 16;
    s.purges += c.lost.length;
    const { records, count } = frameChanges(c, this.framed);
    this.sink?.sendFramed(records, count, c.rowCount > 0 ? performance.now() - c.oldestMs : Number.POSITIVE_INFINITY);
  }

  stats(): HaSessionStats {
    return { ...this.counts };
  }

  /** Stopping forwarding (standby, fenced): ends this node's sessions; the partner carries them. */
  standby(): void {
    this.host.removeAllSessions('standby');
  }

  /** Taking over: installs the partner's session rows from the replica into the data path; the next
   *  collection is full (the partner, standby from now on, starts from nothing). */
  async install(replica: SyncReplica): Promise<{ installed: number; present: number; refused: number }> {
    let size = 0;
    replica.forEach(SYNC_KIND_SESSION, (_, value) => { size += PACKED_HEAD - 1 + value.length; });
    const packed = new Uint8Array(size);
    let o = 0;
    replica.forEach(SYNC_KIND_SESSION, (key, value) => {
      if (key.length !== 16 || value.length < 1) return;
      packed.set(key, packedHead(packed, o, value.length - 1));
      packed.set(value, o + PACKED_HEAD - 1); // the source, then the row
      o += PACKED_HEAD + value.length - 1;
    });
    const t0 = performance.now();
    const res = await this.host.importSessions(packed.subarray(0, o));
    this.fullWanted = true;
    this.log('ha.sessions-installed', { ...res, ms: Math.round(performance.now() - t0) });
    return res;
  }
}
