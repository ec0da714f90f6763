/**
 * A node's alarms and events (ssr-reference §1.11): the active alarms by id, and a bounded log of events
 * (alarm raised, alarm cleared, and plain events such as a config applied or refused) numbered in order,
 * read with `since` (time; `now` must not go back) or `afterSeq` (the last event a reader saw). Raising an active alarm again or
 * clearing one that is not active changes nothing; every raise of an id is counted (for /metrics).
 */

/** SSR's alarm categories, and ours for the telemetry and config rooms. */
export type AlarmCategory = 'peer' | 'interface' | 'system' | 'process' | 'telemetry' | 'config' | 'plugin';
export type AlarmSeverity = 'critical' | 'major' | 'minor' | 'info';

export interface Alarm {
  /** stable for one condition, e.g. `peer-path-down:r2/wan1` */
  id: string;
  category: AlarmCategory;
  severity: AlarmSeverity;
  /** what it is about: a peer path, a collector, the session table */
  source: string;
  message: string;
  raisedAt: number;
  /** set in the cleared copy that the event log keeps */
  clearedAt?: number;
}

export type NodeEventKind = 'alarm-raised' | 'alarm-cleared' | 'event';

export interface NodeEvent {
  /** 1, 2, 3... in order */
  seq: number;
  at: number;
  kind: NodeEventKind;
  category: AlarmCategory;
  severity: AlarmSeverity;
  source: string;
  message: string;
  /** alarm events */
  alarmId?: string;
}

export interface AlarmRegistryOptions {
  /** events kept: about this many (up to a sixteenth more); default 10000; older ones are dropped and counted */
  maxEvents?: number;
  now?: () => number;
  /** called for every new event (wave 2: the API's event stream, /metrics) */
  onEvent?: (e: NodeEvent) => void;
}

export interface EventQuery {
  /** events at or after this time (ms) */
  since?: number;
  /** events after this sequence number */
  afterSeq?: number;
  /** at most; default all kept */
  limit?: number;
}

export class AlarmRegistry {
  private readonly activeById = new Map<string, Alarm>();
  private readonly log: NodeEvent[] = [];
  private seq = 0;
  private dropped = 0;
  private readonly raisedById = new Map<string, number>();
  private readonly maxEvents: number;
  private readonly now: () => number;

  constructor(private readonly opts: AlarmRegistryOptions = {}) {
    this.maxEvents = opts.maxEvents ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  /** Raises an alarm (no-op if it is active). Returns the active alarm. */
  raise(a: Omit<Alarm, 'raisedAt' | 'clearedAt'>): Alarm {
    const existing = this.activeById.get(a.id);
    if (existing !== undefined) return existing;
    const alarm: Alarm = { ...a, raisedAt: this.now() };
    this.activeById.set(a.id, alarm);
    this.raisedById.set(a.id, (this.raisedById.get(a.id) ?? 0) + 1);
    this.append({ at: alarm.raisedAt, kind: 'alarm-raised', category: a.category, severity: a.severity, source: a.source, message: a.message, alarmId: a.id });
    return alarm;
  }

  /** Clears an active alarm; `message` says why (default: the alarm's own). Undefined when it was not active. */
  clear(id: string, message?: string): Alarm | undefined {
    const alarm = this.activeById.get(id);
    if (alarm === undefined) return undefined;
    this.activeById.delete(id);
    const cleared: Alarm = { ...alarm, clearedAt: this.now() };
    this.append({ at: cleared.clearedAt!, kind: 'alarm-cleared', category: alarm.category, severity: alarm.severity, source: alarm.source, message: message ?? alarm.message, alarmId: id });
    return cleared;
  }

  /** A plain event (config applied or refused, a plugin disabled...). */
  event(e: { category: AlarmCategory; severity: AlarmSeverity; source: string; message: string }): NodeEvent {
    return this.append({ at: this.now(), kind: 'event', ...e });
  }

  /** Active alarms, oldest first. */
  active(): Alarm[] {
    return [...this.activeById.values()].sort((a, b) => a.raisedAt - b.raisedAt);
  }

  get(id: string): Alarm | undefined {
    return this.activeById.get(id);
  }

  /** Events in order, filtered by time and/or sequence number. */
  events(q: EventQuery = {}): NodeEvent[] {
    const since = q.since ?? -Infinity;
    const after = q.afterSeq ?? 0;
    // the log is ordered by seq and by time: find the first match by binary search
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const e = this.log[mid]!;
      if (e.at < since || e.seq <= after) lo = mid + 1;
      else hi = mid;
    }
    const out = this.log.slice(lo);
    return q.limit !== undefined ? out.slice(0, q.limit) : out;
  }

  /** How often each alarm id was raised (for /metrics). */
  raisedCounts(): Map<string, number> {
    return new Map(this.raisedById);
  }

  counters(): { active: number; events: number; eventsDropped: number; lastSeq: number } {
    return { active: this.activeById.size, events: this.log.length, eventsDropped: this.dropped, lastSeq: this.seq };
  }

  private append(e: Omit<NodeEvent, 'seq'>): NodeEvent {
    const ev: NodeEvent = { seq: ++this.seq, ...e };
    this.log.push(ev);
    // trim in steps of a sixteenth, not one event at a time
    if (this.log.length >= this.maxEvents + Math.max(1, this.maxEvents >> 4)) {
      const excess = this.log.length - this.maxEvents;
      this.log.splice(0, excess);
      this.dropped += excess;
    }
    this.opts.onEvent?.(ev);
    return ev;
  }
}
