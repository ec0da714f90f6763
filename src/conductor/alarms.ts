/**
 * The conductor's active alarms: raised and cleared by the router-sync machines (out of sync, refused,
 * disconnected) and by refusals at the door (enrolment, channel), each keyed by source and kind.
 * Routers' own alarms arrive in their reports and are listed with them.
 */

export interface Alarm {
  /** `<source>/<kind>`, e.g. `r1/out-of-sync`, `enrol/r9` */
  id: string;
  source: string;
  kind: string;
  severity: 'critical' | 'major' | 'minor';
  message: string;
  since: string;
}

export class Alarms {
  readonly #active = new Map<string, Alarm>();

  raise(source: string, kind: string, severity: Alarm['severity'], message: string): Alarm {
    const id = `${source}/${kind}`;
    const existing = this.#active.get(id);
    const alarm: Alarm = { id, source, kind, severity, message, since: existing?.since ?? new Date().toISOString() };
    this.#active.set(id, alarm);
    return alarm;
  }

  clear(source: string, kind: string): boolean {
    return this.#active.delete(`${source}/${kind}`);
  }

  list(): Alarm[] {
    return [...this.#active.values()].sort((a, b) => a.since.localeCompare(b.since) || a.id.localeCompare(b.id));
  }
}
