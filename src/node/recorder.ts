/**
 * Writes a running node's state into its LevelDB store so it can be inspected after the fact
 * (`svr inspect`): a record per closed session (sublevel `sessions`, key `<closed ISO time>/<id>`),
 * counter snapshots (sublevel `counters`, key = ISO time) and every applied config (sublevel `config`).
 * Writes are batched once a second: LevelDB never sees a write per packet or per event.
 * Bounded (docs/security.md "Bounded state"): at most `maxPending` records wait for a write (more are
 * dropped and counted), and every `pruneEveryMs` the oldest session records go while there are more than
 * `maxSessionRecords` or they are older than `maxAgeMs`; counter snapshots go after `maxAgeMs` too.
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

export interface RecorderOptions {
  /** default 10 s */
  snapshotEveryMs?: number;
  /** session records kept at most; default 1,000,000 */
  maxSessionRecords?: number;
  /** session records and counter snapshots older than this go; default 7 days */
  maxAgeMs?: number;
  /** records waiting for a write at most; default 100,000 */
  maxPending?: number;
  /** default 10 s */
  pruneEveryMs?: number;
  now?: () => number;
}

const DAY_MS = 86_400_000;
/** Keys deleted per LevelDB batch while pruning. */
const PRUNE_BATCH = 10_000;

export class StateRecorder {
  private pending: SessionRecord[] = [];
  private flushTimer: NodeJS.Timeout;
  private snapshotTimer: NodeJS.Timeout;
  private pruneTimer: NodeJS.Timeout;
  private readonly sub;
  private readonly o: Required<Omit<RecorderOptions, 'snapshotEveryMs'>>;
  /** session records in the store (counted once at start, then kept) */
  private records = -1;
  private pruning: Promise<void> | null = null;
  /** records dropped because too many waited for a write, and records pruned */
  readonly stats = { dropped: 0, pruned: 0 };

  constructor(private readonly store: Store, private readonly router: RecordedRouter, opts: RecorderOptions = {}) {
    this.o = {
      maxSessionRecords: opts.maxSessionRecords ?? 1_000_000, maxAgeMs: opts.maxAgeMs ?? 7 * DAY_MS, maxPending: opts.maxPending ?? 100_000,
      pruneEveryMs: opts.pruneEveryMs ?? 10_000, now: opts.now ?? Date.now,
    };
    this.sub = router.events$.subscribe((e) => {
      if (e.type !== 'session.removed') return;
      if (this.pending.length >= this.o.maxPending) {
        this.stats.dropped++;
        return;
      }
      this.pending.push({ id: e.sessionId, tenant: e.tenant, service: e.service, reason: e.reason, closedAt: new Date(this.o.now()).toISOString(), ageMs: e.ageMs, packets: e.packets, bytes: e.bytes });
    });
    this.flushTimer = setInterval(() => void this.flush(), 1000).unref();
    this.snapshotTimer = setInterval(() => void this.snapshot(), opts.snapshotEveryMs ?? 10_000).unref();
    this.pruneTimer = setInterval(() => void this.prune(), this.o.pruneEveryMs).unref();
  }

  /** One retention step (also run on a timer): oldest session records over the count or age limit, old snapshots. */
  prune(): Promise<void> {
    this.pruning ??= this.pruneNow().finally(() => {
      this.pruning = null;
    });
    return this.pruning;
  }

  private async pruneNow(): Promise<void> {
    const sessions = this.store.sublevel('sessions');
    if (this.records < 0) {
      let n = 0;
      for await (const _ of sessions.keys()) n++;
      this.records = n;
    }
    const cutoff = new Date(this.o.now() - this.o.maxAgeMs).toISOString();
    for (;;) {
      const over = this.records - this.o.maxSessionRecords;
      let keys = over > 0 ? await sessions.keys({ limit: Math.min(PRUNE_BATCH, over) }).all() : [];
      if (keys.length === 0) keys = await sessions.keys({ lt: cutoff, limit: PRUNE_BATCH }).all(); // keys start with the closing time
      if (keys.length === 0) break;
      await sessions.batch(keys.map((key) => ({ type: 'del' as const, key })));
      this.records -= keys.length;
      this.stats.pruned += keys.length;
    }
    await this.store.sublevel('counters').clear({ lt: cutoff });
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
    if (this.records >= 0) this.records += batch.length;
  }

  async close(): Promise<void> {
    this.sub.unsubscribe();
    clearInterval(this.flushTimer);
    clearInterval(this.snapshotTimer);
    clearInterval(this.pruneTimer);
    await this.pruning;
    await this.flush();
    await this.snapshot();
  }
}
