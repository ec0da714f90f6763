/**
 * What the conductor keeps of the routers' reports for people to look back at (the web UI's charts and
 * event list; REST under /api/v1/history): each path's quality samples, each router's session count, and
 * the alarms raised and cleared. Memory only and bounded; a restarted conductor starts empty.
 *
 * A series keeps two rings, so that a day costs little per path:
 *   fine    every sample (a report every 2 s) for the last FINE_SPAN_MS (1 h): 1,800 samples;
 *   coarse  one-minute means for the last COARSE_SPAN_MS (24 h): 1,440 buckets.
 * A query whose range starts within the fine ring's span gets the samples; an older range gets the
 * minutes. Per path about 60 kB at most (typed arrays, grown as samples come), so 1,000 routers with
 * two paths each stay near 120 MB.
 */
import type { AlarmReport, RouterReport } from './channel/protocol.js';

export const FINE_SPAN_MS = 3600_000;
export const COARSE_SPAN_MS = 24 * 3600_000;
export const BUCKET_MS = 60_000;
/** assumed spacing of fine samples (a report every 2 s): the fine ring's capacity is span / this */
const SAMPLE_MS = 2000;
const EVENTS_KEPT = 5000;
/** the source name of the conductor's own alarms in `alarms()` */
export const CONDUCTOR = 'conductor';

/** One ring of timestamps and `columns` numeric columns (NaN = not measured). */
class Ring {
  #t: Float64Array;
  #v: Float32Array[];
  #start = 0;
  #size = 0;

  constructor(readonly capacity: number, readonly columns: number) {
    const first = Math.min(capacity, 64);
    this.#t = new Float64Array(first);
    this.#v = Array.from({ length: columns }, () => new Float32Array(first));
  }

  get size(): number {
    return this.#size;
  }

  firstTime(): number | undefined {
    return this.#size === 0 ? undefined : this.#t[this.#start];
  }

  lastTime(): number | undefined {
    return this.#size === 0 ? undefined : this.#t[(this.#start + this.#size - 1) % this.#t.length];
  }

  push(t: number, values: readonly number[]): void {
    if (this.#size === this.#t.length && this.#t.length < this.capacity) this.#grow();
    const len = this.#t.length;
    const i = (this.#start + this.#size) % len;
    this.#t[i] = t;
    for (let c = 0; c < this.columns; c++) this.#v[c]![i] = values[c] ?? NaN;
    if (this.#size < len) this.#size++;
    else this.#start = (this.#start + 1) % len;
  }

  /** Replaces the newest entry's values (a bucket still filling). */
  replaceLast(values: readonly number[]): void {
    const i = (this.#start + this.#size - 1) % this.#t.length;
    for (let c = 0; c < this.columns; c++) this.#v[c]![i] = values[c] ?? NaN;
  }

  #grow(): void {
    const next = Math.min(this.capacity, this.#t.length * 2);
    const t = new Float64Array(next);
    const v = this.#v.map(() => new Float32Array(next));
    for (let k = 0; k < this.#size; k++) {
      const i = (this.#start + k) % this.#t.length;
      t[k] = this.#t[i]!;
      for (let c = 0; c < this.columns; c++) v[c]![k] = this.#v[c]![i]!;
    }
    this.#t = t;
    this.#v = v;
    this.#start = 0;
  }

  /** Entries with from <= t < to, oldest first, as columns (null where not measured). */
  slice(from: number, to: number): { t: number[]; v: (number | null)[][] } {
    const out = { t: [] as number[], v: Array.from({ length: this.columns }, () => [] as (number | null)[]) };
    for (let k = 0; k < this.#size; k++) {
      const i = (this.#start + k) % this.#t.length;
      const t = this.#t[i]!;
      if (t < from || t >= to) continue;
      out.t.push(t);
      for (let c = 0; c < this.columns; c++) {
        const x = this.#v[c]![i]!;
        out.v[c]!.push(Number.isNaN(x) ? null : Math.round(x * 1000) / 1000);
      }
    }
    return out;
  }
}

/** A time series with fine samples and one-minute means. */
class Series {
  readonly fine: Ring;
  readonly coarse: Ring;
  #bucket = -1;
  #sums: number[];
  #counts: number[];

  constructor(readonly columns: number) {
    this.fine = new Ring(Math.ceil(FINE_SPAN_MS / SAMPLE_MS), columns);
    this.coarse = new Ring(Math.ceil(COARSE_SPAN_MS / BUCKET_MS), columns);
    this.#sums = new Array<number>(columns).fill(0);
    this.#counts = new Array<number>(columns).fill(0);
  }

  add(t: number, values: readonly number[]): void {
    const last = this.fine.lastTime();
    if (last !== undefined && t < last) return; // the clock went back: keep the series ordered
    this.fine.push(t, values);
    const bucket = Math.floor(t / BUCKET_MS);
    if (bucket !== this.#bucket) {
      this.#bucket = bucket;
      this.#sums.fill(0);
      this.#counts.fill(0);
      this.coarse.push(bucket * BUCKET_MS, values.map(() => NaN));
    }
    values.forEach((x, c) => {
      if (Number.isNaN(x)) return;
      this.#sums[c]! += x;
      this.#counts[c]! += 1;
    });
    this.coarse.replaceLast(this.#sums.map((s, c) => (this.#counts[c] === 0 ? NaN : s / this.#counts[c]!)));
  }
}

export const PATH_COLUMNS = ['up', 'latencyMs', 'jitterMs', 'lossPercent', 'mos'] as const;
export type PathColumn = (typeof PATH_COLUMNS)[number];

export interface SeriesReply<C extends string> {
  /** `fine` (every report) or `minute` (one-minute means; `up` is then the share of reports with the path up) */
  resolution: 'fine' | 'minute';
  /** epoch ms, oldest first */
  t: number[];
  /** one array per column, aligned with t; null = not measured */
  values: Record<C, (number | null)[]>;
}

export interface PathKey {
  router: string;
  peer: string;
  path: string;
}

export interface FabricEvent {
  seq: number;
  /** epoch ms */
  at: number;
  kind: 'alarm-raised' | 'alarm-cleared';
  /** the router that reported it, or the source of a conductor alarm (r1 for r1/out-of-sync) */
  source: string;
  /** `<router>/<alarm id>` as in GET /api/v1/alarms */
  alarmId: string;
  severity: AlarmReport['severity'];
  message: string;
}

export interface EventQuery {
  after?: number;
  limit?: number;
  source?: string;
  severity?: string;
  kind?: string;
  /** text in the message or the alarm id */
  text?: string;
}

const pathKey = (k: PathKey): string => `${k.router}\0${k.peer}\0${k.path}`;
const num = (x: number | undefined): number => (x === undefined ? NaN : x);

export class FabricHistory {
  readonly #paths = new Map<string, { key: PathKey; series: Series }>();
  readonly #sessions = new Map<string, Series>();
  readonly #alarms = new Map<string, Map<string, AlarmReport>>();
  readonly #events: FabricEvent[] = [];
  #seq = 0;

  /** A router's report arrived at `at` (epoch ms). */
  report(router: string, report: RouterReport, at: number): void {
    for (const peer of report.peers) {
      for (const p of peer.paths) {
        const key = { router, peer: peer.name, path: p.name };
        const id = pathKey(key);
        let entry = this.#paths.get(id);
        if (entry === undefined) {
          entry = { key, series: new Series(PATH_COLUMNS.length) };
          this.#paths.set(id, entry);
        }
        entry.series.add(at, [p.up ? 1 : 0, num(p.latencyMs), num(p.jitterMs), num(p.lossPercent), num(p.mos)]);
      }
    }
    let sessions = this.#sessions.get(router);
    if (sessions === undefined) this.#sessions.set(router, (sessions = new Series(1)));
    sessions.add(at, [report.sessions]);
    this.alarms(router, report.alarms, at);
  }

  /**
   * The alarms a source has now (a router's report, or the conductor's own list): those that appeared
   * are raised events, those that went away are cleared events.
   */
  alarms(source: string, now: readonly AlarmReport[], at: number): void {
    const before = this.#alarms.get(source) ?? new Map<string, AlarmReport>();
    const after = new Map(now.map((a) => [a.id, a]));
    for (const [id, a] of after) if (!before.has(id)) this.#event(at, 'alarm-raised', source, a);
    for (const [id, a] of before) if (!after.has(id)) this.#event(at, 'alarm-cleared', source, a);
    this.#alarms.set(source, after);
  }

  #event(at: number, kind: FabricEvent['kind'], source: string, a: AlarmReport): void {
    // the conductor's own alarms are named <source>/<kind> already (r1/out-of-sync, enrol/r9)
    const own = source === CONDUCTOR;
    const alarmId = own ? a.id : `${source}/${a.id}`;
    this.#events.push({ seq: ++this.#seq, at, kind, source: own ? a.id.split('/')[0]! : source, alarmId, severity: a.severity, message: a.message });
    if (this.#events.length > EVENTS_KEPT) this.#events.splice(0, this.#events.length - EVENTS_KEPT);
  }

  /** Every path with samples, and its newest sample's time. */
  paths(): (PathKey & { since: number; last: number })[] {
    return [...this.#paths.values()].map(({ key, series }) => ({ ...key, since: series.coarse.firstTime() ?? 0, last: series.fine.lastTime() ?? 0 }));
  }

  /** One path's samples in [from, to): fine while `from` is within the last hour, else one-minute means. */
  pathSeries(key: PathKey, from: number, to: number, now = Date.now()): SeriesReply<PathColumn> | undefined {
    const entry = this.#paths.get(pathKey(key));
    return entry === undefined ? undefined : reply(entry.series, PATH_COLUMNS, from, to, now);
  }

  sessionSeries(router: string, from: number, to: number, now = Date.now()): SeriesReply<'sessions'> | undefined {
    const s = this.#sessions.get(router);
    return s === undefined ? undefined : reply(s, ['sessions'] as const, from, to, now);
  }

  /** Alarm events, oldest first after `after`, filtered. */
  events(q: EventQuery = {}): FabricEvent[] {
    const text = q.text?.toLowerCase();
    const out: FabricEvent[] = [];
    for (const e of this.#events) {
      if (e.seq <= (q.after ?? 0)) continue;
      if (q.source !== undefined && e.source !== q.source) continue;
      if (q.severity !== undefined && e.severity !== q.severity) continue;
      if (q.kind !== undefined && e.kind !== q.kind) continue;
      if (text !== undefined && !e.message.toLowerCase().includes(text) && !e.alarmId.toLowerCase().includes(text)) continue;
      out.push(e);
      if (out.length >= (q.limit ?? 1000)) break;
    }
    return out;
  }
}

function reply<C extends string>(s: Series, columns: readonly C[], from: number, to: number, now: number): SeriesReply<C> {
  const fine = from >= now - FINE_SPAN_MS;
  const { t, v } = (fine ? s.fine : s.coarse).slice(from, to);
  return { resolution: fine ? 'fine' : 'minute', t, values: Object.fromEntries(columns.map((c, i) => [c, v[i]!])) as Record<C, (number | null)[]> };
}
