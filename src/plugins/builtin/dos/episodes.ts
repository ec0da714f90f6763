/**
 * "A limit started / stopped triggering" events. The data path marks a limit key (a source bucket, a
 * service, or a router-wide limit) as triggering on its first refusal and queues one `limit-start`
 * record in an EventRing; later refusals only bump typed-array counts. The control side drains the ring,
 * logs `limit-start`, and on each timer tick logs `limit-stop` ({ refused }) for keys with no refusal
 * for `quiet-period` ms, clearing them so the next refusal starts a new episode. Lines are rate-limited
 * (`log-rate`); a stop is logged only for a start that was.
 */
import type { OpeningSession, PluginLogger } from '../../api.js';
import type { PluginTables } from '../../api.js';
import { addressText } from '../shared/address.js';
import { EventRing, LogLimiter, RING_INTS, drainOnWake } from '../shared/event-ring.js';
import { withRow } from '../shared/rows.js';

/** Refusal reasons (index REASONS, the counter names). */
export const R_SOURCE_RATE = 0;
export const R_SERVICE_RATE = 1;
export const R_HALF_OPEN = 2;
export const R_MAX_SESSIONS = 3;
export const REASONS = ['refused-source-rate', 'refused-service-rate', 'refused-half-open', 'refused-max-sessions'] as const;

const LIMIT_NAMES = ['per-source-rate', 'per-service-rate', 'half-open', 'max-sessions'] as const;
const DRAIN_MS = 200;

export class Episodes {
  readonly ring = new EventRing(256);
  /** key -> 1 while triggering */
  private active = new Uint8Array(0);
  private lastRefused = new Float64Array(0);
  private refusals = new Uint32Array(0);

  constructor(keys: number) {
    this.grow(keys);
  }

  grow(keys: number): void {
    this.active = withRow(this.active, keys - 1);
    this.lastRefused = withRow(this.lastRefused, keys - 1);
    this.refusals = withRow(this.refusals, keys - 1);
  }

  /** Data path: a refusal for `key`; the first of an episode queues a start record. */
  refused(key: number, reason: number, s: OpeningSession, now: number): void {
    this.lastRefused[key] = now;
    this.refusals[key]!++;
    if (this.active[key] === 1) return;
    const r = this.ring;
    const i = r.claim();
    if (i < 0) return; // ring full: the next refusal tries again
    this.active[key] = 1;
    const o = i * RING_INTS;
    r.kind[i] = reason;
    r.ints[o] = key;
    r.ints[o + 1] = s.service;
    r.time[i] = now;
    r.setAddresses(i, s.family, s.src, s.dst);
    r.commit();
  }

  /** Control side: logs starts and stops (see the file comment) until `signal` aborts. */
  attach(log: PluginLogger, signal: AbortSignal, o: { perSecond: number; quietMs: number; clock: () => number; tables: () => PluginTables | null }): void {
    const limiter = new LogLimiter(o.perSecond);
    // key -> the fields of its start line, or null when that line was held back
    const open = new Map<number, Record<string, string | number> | null>();
    drainOnWake(this.ring, DRAIN_MS, signal, () => {
      const t = o.tables();
      const r = this.ring;
      r.drain((i) => {
        const reason = r.kind[i]!;
        const x = i * RING_INTS;
        const fields: Record<string, string | number> = { limit: LIMIT_NAMES[reason] ?? String(reason) };
        if (reason === 0) fields['source'] = addressText(r.addrs, i * 32, r.family[i] as 4 | 6);
        if (reason === 1) fields['service'] = t?.services[r.ints[x + 1]!]?.name ?? String(r.ints[x + 1]);
        const shown = limiter.allow(Date.now());
        if (shown) log.info('limit-start', fields);
        open.set(r.ints[x]!, shown ? fields : null);
      });
      const now = o.clock();
      for (const [key, fields] of open) {
        if (now - this.lastRefused[key]! < o.quietMs) continue;
        if (fields !== null && limiter.allow(Date.now())) log.info('limit-stop', { ...fields, refused: this.refusals[key]! });
        this.refusals[key] = 0;
        this.active[key] = 0;
        open.delete(key);
      }
      return open.size > 0; // keep looking while a limit triggers
    });
  }
}
