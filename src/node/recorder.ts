/**
 * Writes a running node's state into its LevelDB store so it can be inspected after the fact
 * (`svr inspect counters|config`): counter snapshots (sublevel `counters`, key = ISO time) and every
 * applied config (sublevel `config`). Session records have their own history (telemetry/history/, written
 * by node/records.ts).
 */
import type { Store } from '../store/store.js';

/** What the recorder needs of a router (in-process or with worker threads). */
export interface RecordedRouter {
  counters(): Record<string, number>;
}

export class StateRecorder {
  private snapshotTimer: NodeJS.Timeout;

  constructor(private readonly store: Store, private readonly router: RecordedRouter, snapshotEveryMs = 10_000) {
    this.snapshotTimer = setInterval(() => void this.snapshot(), snapshotEveryMs).unref();
  }

  async recordConfig(config: unknown): Promise<void> {
    await this.store.sublevel('config').put(new Date().toISOString(), config);
  }

  async snapshot(): Promise<void> {
    await this.store.sublevel('counters').put(new Date().toISOString(), this.router.counters());
  }

  async close(): Promise<void> {
    clearInterval(this.snapshotTimer);
    await this.snapshot();
  }
}
