/**
 * Writes a running node's state into its LevelDB store so it can be inspected after the fact
 * (`svr inspect counters|config`): counter snapshots (sublevel `counters`, key = ISO time) and every
 * applied config (sublevel `config`). Session records have their own history (telemetry/history/, written
 * by node/records.ts, bounded by its retention). Bounded (docs/security.md "Bounded state"): each snapshot
 * removes the snapshots older than `maxAgeMs`.
 */
import type { Store } from '../store/store.js';

/** What the recorder needs of a router (in-process or with worker threads). */
export interface RecordedRouter {
  counters(): Record<string, number>;
}

export interface RecorderOptions {
  /** default 10 s */
  snapshotEveryMs?: number;
  /** counter snapshots older than this go; default 7 days */
  maxAgeMs?: number;
  now?: () => number;
}

const DAY_MS = 86_400_000;

export class StateRecorder {
  private snapshotTimer: NodeJS.Timeout;
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(private readonly store: Store, private readonly router: RecordedRouter, opts: RecorderOptions = {}) {
    this.maxAgeMs = opts.maxAgeMs ?? 7 * DAY_MS;
    this.now = opts.now ?? Date.now;
    this.snapshotTimer = setInterval(() => void this.snapshot(), opts.snapshotEveryMs ?? 10_000).unref();
  }

  async recordConfig(config: unknown): Promise<void> {
    await this.store.sublevel('config').put(new Date(this.now()).toISOString(), config);
  }

  /** Stores the counters now and removes the snapshots past the age limit (keys are ISO times). */
  async snapshot(): Promise<void> {
    const counters = this.store.sublevel('counters');
    const now = this.now();
    await counters.put(new Date(now).toISOString(), this.router.counters());
    await counters.clear({ lt: new Date(now - this.maxAgeMs).toISOString() });
  }

  async close(): Promise<void> {
    clearInterval(this.snapshotTimer);
    await this.snapshot();
  }
}
