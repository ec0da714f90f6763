/**
 * Writes a running node's state into its LevelDB store so it can be inspected after the fact
 * (`svr inspect`): a record per closed session (sublevel `sessions`, key `<closed ISO time>/<id>`),
 * counter snapshots (sublevel `counters`, key = ISO time) and every applied config (sublevel `config`).
 * Writes are batched once a second: LevelDB never sees a write per packet or per event.
 */
import type { Observable } from 'rxjs';
import type { RouterEvent } from '../control/events.js';
import type { Store } from '../store/store.js';

export interface SessionRecord {
  id: string;
  tenant: string;
  service: string;
  reason: string;
  closedAt: string;
  ageMs: number;
  packets: [number, number];
  bytes: [number, number];
}

/** What the recorder needs of a router (in-process or with worker threads). */
export interface RecordedRouter {
  readonly events$: Observable<RouterEvent>;
  counters(): Record<string, number>;
}

export class StateRecorder {
  private pending: SessionRecord[] = [];
  private flushTimer: NodeJS.Timeout;
  private snapshotTimer: NodeJS.Timeout;
  private readonly sub;

  constructor(private readonly store: Store, private readonly router: RecordedRouter, snapshotEveryMs = 10_000) {
    this.sub = router.events$.subscribe((e) => {
      if (e.type === 'session.removed') {
        this.pending.push({ id: e.sessionId, tenant: e.tenant, service: e.service, reason: e.reason, closedAt: new Date().toISOString(), ageMs: e.ageMs, packets: e.packets, bytes: e.bytes });
      }
    });
    this.flushTimer = setInterval(() => void this.flush(), 1000).unref();
    this.snapshotTimer = setInterval(() => void this.snapshot(), snapshotEveryMs).unref();
  }

  async recordConfig(config: unknown): Promise<void> {
    await this.store.sublevel('config').put(new Date().toISOString(), config);
  }

  async snapshot(): Promise<void> {
    await this.store.sublevel('counters').put(new Date().toISOString(), this.router.counters());
  }

  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    await this.store.sublevel('sessions').batch(batch.map((r) => ({ type: 'put' as const, key: `${r.closedAt}/${r.id}`, value: r })));
  }

  async close(): Promise<void> {
    this.sub.unsubscribe();
    clearInterval(this.flushTimer);
    clearInterval(this.snapshotTimer);
    await this.flush();
    await this.snapshot();
  }
}
