/**
 * Writes a running node's state into its LevelDB store so it can be inspected after the fact
 * (`svr inspect counters|config`): counter snapshots (sublevel `counters`, key = ISO time) and every
 * applied config (sublevel `config`). Session records have their own history (telemetry/history/, written
 * by node/records.ts). A write the store refuses (a full disk) is counted (`store-write-errors`) and logged
 * once per kind until one succeeds again; the node goes on forwarding.
 */
import type { Store } from '../store/store.js';

/** What the recorder needs of a router (in-process or with worker threads). */
export interface RecordedRouter {
  counters(): Record<string, number>;
}

type Log = (event: string, fields: Record<string, string | number | boolean>) => void;

export class StateRecorder {
  private snapshotTimer: NodeJS.Timeout;
  /** writes the store refused */
  writeErrors = 0;
  private failing = new Set<string>();

  constructor(private readonly store: Store, private readonly router: RecordedRouter, private readonly log: Log = () => {}, snapshotEveryMs = 10_000) {
    this.snapshotTimer = setInterval(() => void this.snapshot(), snapshotEveryMs).unref();
  }

  /** Records an applied config; false when the store refused it (counted and logged). */
  recordConfig(config: unknown): Promise<boolean> {
    return this.put('config', config);
  }

  snapshot(): Promise<boolean> {
    return this.put('counters', this.router.counters());
  }

  private async put(kind: 'config' | 'counters', value: unknown): Promise<boolean> {
    try {
      await this.store.sublevel(kind).put(new Date().toISOString(), value);
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
