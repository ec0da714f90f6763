/**
 * The conductor's active alarms: raised and cleared by the router-sync machines (out of sync, refused,
 * disconnected) and by refusals at the door (enrolment, channel), each keyed by source and kind.
 * Routers' own alarms arrive in their reports and are listed with them (`reportedAlarm`).
 * Raising a new alarm and clearing one are fabric events (events.ts).
 */
import type { AlarmReport } from './channel/protocol.js';
import type { FabricEvents } from './events.js';

export interface Alarm {
  /** `<source>/<kind>`, e.g. `r1/out-of-sync`, `enrol/r9` */
  id: string;
  source: string;
  kind: string;
  severity: 'critical' | 'major' | 'minor' | 'info';
  message: string;
  since: string;
}

/** A router's reported alarm as one of the fabric's: `<router>/<its id>`. */
export function reportedAlarm(router: string, a: AlarmReport): Alarm {
  return { id: `${router}/${a.id}`, source: router, kind: a.id, severity: a.severity, message: a.message, since: a.since };
}

export class Alarms {
  readonly #active = new Map<string, Alarm>();

  constructor(private readonly events?: FabricEvents) {}

  raise(source: string, kind: string, severity: Alarm['severity'], message: string): Alarm {
    const id = `${source}/${kind}`;
    const existing = this.#active.get(id);
    const alarm: Alarm = { id, source, kind, severity, message, since: existing?.since ?? new Date().toISOString() };
    this.#active.set(id, alarm);
    if (existing === undefined) this.events?.emit({ type: 'alarm', change: 'raised', alarm, at: alarm.since });
    return alarm;
  }

  clear(source: string, kind: string): boolean {
    const id = `${source}/${kind}`;
    const alarm = this.#active.get(id);
    if (alarm === undefined) return false;
    this.#active.delete(id);
    this.events?.emit({ type: 'alarm', change: 'cleared', alarm, at: new Date().toISOString() });
    return true;
  }

  list(): Alarm[] {
    return [...this.#active.values()].sort((a, b) => a.since.localeCompare(b.since) || a.id.localeCompare(b.id));
  }
}
