/**
 * The router's own counters and alarms (part of control/router.ts): control's counters next to the data path's,
 * the migration log lines, the session-table-full alarm, and alarms as log lines when no registry observes them.
 */
import { COUNTER_NAMES, type CounterName } from '../dataplane/counter-names.js';
import type { MigrationRecord } from '../machines/migration.js';
import type { ObserveAlarm } from './event-fanout.js';

type Log = (event: string, fields: Record<string, string | number | boolean>) => void;

/** Every counter name at 0 (the router's counters list zeros too). */
export const ZERO_COUNTERS = Object.fromEntries(COUNTER_NAMES.map((n) => [n, 0])) as Record<CounterName, number>;

/** Control's own counters (next to the data path's). */
export class ControlCounters {
  private readonly values = new Map<CounterName, number>([['handshakes-failed', 0], ['service-moves', 0], ['paths-suppressed', 0],
    ['nat-peer-address-changes', 0], ['nat-rebinds', 0], ['nat-rebinds-damped', 0], ['nat-address-malformed', 0],
    ['firewall-probes-answered', 0], ['firewall-probe-acks', 0], ['firewall-probe-malformed', 0], ['udp-transform-activations', 0], ['firewall-verdicts-sent', 0], ['firewall-verdicts-received', 0]]);

  count(name: CounterName): void {
    this.values.set(name, (this.values.get(name) ?? 0) + 1);
  }

  entries(): Record<string, number> {
    return Object.fromEntries(this.values);
  }
}

/** A migration episode's record: counted (moves, suppressed paths) and logged; `pathName` by id in the running tables. */
export function recordMigration(r: MigrationRecord, counters: ControlCounters, log: Log, pathName: (id: number) => string): void {
  if (r.kind === 'moved') {
    counters.count('service-moves');
    log('migration.moved', { service: r.service, from: pathName(r.from), to: pathName(r.to), reason: r.reason });
  } else if (r.kind === 'suppressed') {
    counters.count('paths-suppressed');
    log('migration.path-suppressed', { service: r.service, path: pathName(r.path) });
  } else if (r.kind !== 'confirmed' && r.kind !== 'unconfirmed') {
    log(`migration.${r.kind === 'reused' ? 'path-reused' : r.kind === 'failed' ? 'move-failed' : 'no-path'}`, { service: r.service, path: pathName(r.path) });
  }
}

/** Alarm session-table-full: raised at 90 % of the session limit, cleared at 80 % (ssr-reference §1.11). */
export class TableFullWatch {
  private full = false;

  constructor(private readonly alarm: ObserveAlarm) {}

  check(t: { active: number; limit: number }): void {
    if (t.limit <= 0) return;
    const pct = (100 * t.active) / t.limit;
    const full = this.full ? pct > 80 : pct >= 90;
    if (full === this.full) return;
    this.full = full;
    this.alarm('session-table-full', 'sessions', { active: full, value: pct, detail: `${t.active} of ${t.limit} sessions` });
  }
}

/** Without an alarm registry: a log line when an alarm condition becomes active or clears. */
export function logAlarms(log: Log): ObserveAlarm {
  const active = new Set<string>();
  return (name, source, o) => {
    const id = `${name}:${source}`;
    const on = o.active ?? false;
    if (on === active.has(id)) return;
    if (on) active.add(id);
    else active.delete(id);
    log(on ? 'alarm.raised' : 'alarm.cleared', { alarm: name, source, ...(o.detail ? { detail: o.detail } : {}) });
  };
}
