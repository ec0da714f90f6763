/**
 * Writes a running node's state into its LevelDB store so it can be inspected after the fact
 * (`svr inspect counters|config`): counter snapshots (sublevel `counters`, key = ISO time) and every
 * applied config (sublevel `config`). Session records have their own history (telemetry/history/, written
 * by node/records.ts, bounded by its retention). Bounded (docs/security.md "Bounded state"): each snapshot
 * removes the snapshots older than `maxAgeMs`. A write the store refuses (a full disk) is counted
 * (`store-write-errors`) and logged once per kind until one succeeds again; the node goes on forwarding.
 */
import type { Store } from '../store/store.js';

/** What the recorder needs of a router (in-process or with worker threads). */
export interface RecordedRouter {
  counters(): Record<string, number>;
}

type Log = (event: string, fields: Record<string, string | number | boolean>) => void;

export interface RecorderOptions {
  /** default 10 s */
  snapshotEveryMs?: number;
  /** counter snapshots older than this go; default 7 days */
  maxAgeMs?: number;
  now?: () => number;
  /** where a refused write is reported (once per kind until one succeeds) */
  log?: Log;
}

const DAY_MS = 86_400_000;

export class StateRecorder {
  private snapshotTimer: NodeJS.Timeout;
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  private readonly log: Log;
  /** writes the store refused */
  writeErrors = 0;
  private failing = new Set<string>();

  constructor(private readonly store: Store, private readonly router: RecordedRouter, opts: RecorderOptions = {}) {
    this.maxAgeMs = opts.maxAgeMs ?? 7 * DAY_MS;
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? (() => {});
    this.snapshotTimer = setInterval(() => void this.snapshot(), opts.snapshotEveryMs ?? 10_000).unref();
  }

  /** Records an applied config; false when the store refused it (counted and logged). */
  recordConfig(config: unknown): Promise<boolean> {
    return this.write('config', () => this.store.sublevel('config').put(new Date(this.now()).toISOString(), config));
  }

  /** Stores the counters now and removes the snapshots past the age limit (keys are ISO times); false when refused. */
  snapshot(): Promise<boolean> {
    return this.write('counters', async () => {
      const counters = this.store.sublevel('counters');
      const now = this.now();
      await counters.put(new Date(now).toISOString(), this.router.counters());
      await counters.clear({ lt: new Date(now - this.maxAgeMs).toISOString() });
    });
  }

  private async write(kind: 'config' | 'counters', put: () => Promise<void>): Promise<boolean> {
    try {
      await put();
    } catch (e) {
      this.writeErrors++;
      if (!this.failing.has(kind)) this.log('store.write-failed', { what: kind, dir: this.store.dir, error: e instanceof Error ? e.message : String(e) });
      this.failing.add(kind);
      return false;
    }
    if (this.failing.delete(kind)) this.log('store.write-ok', { what: kind });
    return true;
  }

  async close(): Promise<void> {
    clearInterval(this.snapshotTimer);
    await this.snapshot();
  }
}
