/**
 * The sessions of a router pair's node on the sync link (docs/high-availability.md "Session state").
 * Active: at each flush (every heartbeat) the rows of the last export (dataplane/session-rows.ts) are
 * compared with what was sent: new rows and rows whose state (flags, path, waypoint ports) changed or whose
 * idle expiry moved more than EXPIRY_RESYNC_MS go out as upserts, rows gone as deletes; then the next export
 * starts (one request to the data path per heartbeat, never a message per packet). Standby: the rows land
 * in the pair node's replica; on taking over, `install` loads them into the data path before its devices
 * come up, so packets of those sessions are forwarded as before, under the same session ids.
 */
import type { DataPathHost, SessionRowBytes } from '../control/data-path-host.js';
import { OP_DELETE, OP_UPSERT, type SyncRecord } from '../ha/sync-wire.js';

/** The sync record kind of a session row (key: the session id, value: the row's bytes). */
export const SYNC_KIND_SESSION = 1;
/** an active row whose idle expiry moved this much since it was sent is sent again */
export const EXPIRY_RESYNC_MS = 10_000;

type Log = (event: string, fields: Record<string, string | number | boolean>) => void;

export class HaSessions {
  private latest: SessionRowBytes[] = [];
  /** what the partner has: session id (hex) -> state and expiry sent */
  private readonly sent = new Map<string, { state: number; expires: number }>();
  private exporting = false;

  constructor(private readonly host: Pick<DataPathHost, 'exportSessions' | 'importSessions'>, private readonly log: Log) {}

  /** PairNode's `collect`: queues the changes since the last flush (everything when `full`). */
  collect(queue: (r: SyncRecord) => void, full: boolean): void {
    if (full) this.sent.clear();
    const seen = new Set<string>();
    for (const r of this.latest) {
      const id = Buffer.from(r.id).toString('hex');
      seen.add(id);
      const s = this.sent.get(id);
      if (s !== undefined && s.state === r.state && Math.abs(r.expires - s.expires) < EXPIRY_RESYNC_MS) continue;
      queue({ kind: SYNC_KIND_SESSION, op: OP_UPSERT, key: r.id, value: r.row });
      this.sent.set(id, { state: r.state, expires: r.expires });
    }
    for (const id of this.sent.keys()) {
      if (seen.has(id)) continue;
      queue({ kind: SYNC_KIND_SESSION, op: OP_DELETE, key: Buffer.from(id, 'hex'), value: new Uint8Array(0) });
      this.sent.delete(id);
    }
    this.export();
  }

  /** Starts the next export (one at a time); the following flush sends what it found. */
  export(): void {
    if (this.exporting) return;
    this.exporting = true;
    this.host.exportSessions()
      .then((rows) => { this.latest = rows; })
      .catch((e: unknown) => this.log('ha.sessions-export-failed', { error: e instanceof Error ? e.message : String(e) }))
      .finally(() => { this.exporting = false; });
  }

  /** Taking over: installs the partner's session rows from the replica into the data path. */
  async install(replica: ReadonlyMap<string, SyncRecord>): Promise<{ installed: number; present: number; refused: number }> {
    const rows = [...replica.values()].filter((r) => r.kind === SYNC_KIND_SESSION).map((r) => r.value);
    const t0 = performance.now();
    const res = await this.host.importSessions(rows);
    this.sent.clear(); // the partner, when it comes back, resyncs from nothing
    this.log('ha.sessions-installed', { ...res, ms: Math.round(performance.now() - t0) });
    return res;
  }
}
