/**
 * The node's alarm set (issue 12 Build 6, SSR's severities from ssr-reference §1.11) and the glue from
 * observations to the registry: one alarm machine actor per (alarm, source), whose raise/clear actions
 * write the registry. Callers only observe: `watch.observe('peer-path-down', 'r2/wan1', { active: true })`.
 */
import { createActor, type Actor } from 'xstate';
import { SvrError } from '../../errors.js';
import { alarmInputProblem, alarmMachine, type AlarmActionParams, type AlarmInput } from '../../machines/alarm.js';
import type { AlarmCategory, AlarmRegistry, AlarmSeverity } from './registry.js';

export interface AlarmDefinition extends AlarmInput {
  category: AlarmCategory;
  severity: AlarmSeverity;
  /** the raise message */
  message: (source: string, p: AlarmActionParams) => string;
  /** the clear message */
  cleared: (source: string, p: AlarmActionParams) => string;
}

const because = (p: AlarmActionParams): string => (p.detail !== '' ? `: ${p.detail}` : '');

export const ALARMS = {
  'peer-path-down': {
    category: 'peer', severity: 'major',
    message: (s, p) => `peer path ${s} is down${because(p)}`, cleared: (s) => `peer path ${s} is up`,
  },
  'peer-unreachable': {
    category: 'peer', severity: 'critical',
    message: (s, p) => `peer ${s} is unreachable: no path up${because(p)}`, cleared: (s) => `peer ${s} is reachable`,
  },
  'path-mtu-unresolvable': {
    category: 'peer', severity: 'major',
    message: (s, p) => `path MTU of ${s} is unresolvable: not even 1200-byte probes get through${because(p)}`,
    cleared: (s, p) => `path MTU of ${s} is resolved${because(p)}`,
  },
  'nat-rebind-damped': {
    category: 'peer', severity: 'minor',
    message: (s, p) => `the NAT in front of ${s} keeps rebinding: session re-signals are damped${because(p)}`,
    cleared: (s) => `the NAT in front of ${s} is stable again`,
  },
  'udp-transform-active': {
    category: 'peer', severity: 'minor',
    message: (s, p) => `a firewall on ${s} drops TCP: new TCP sessions are carried as UDP${because(p)}`,
    cleared: (s) => `TCP passes on ${s} again: new TCP sessions are carried as TCP`,
  },
  'session-table-full': {
    category: 'system', severity: 'major', raiseAt: 90, clearAt: 80,
    message: (s, p) => `${s} is ${p.value.toFixed(0)} % full (alarm at 90 %, clears at 80 %)`,
    cleared: (s, p) => `${s} is down to ${p.value.toFixed(0)} %`,
  },
  'ipfix-collector-unreachable': {
    category: 'telemetry', severity: 'major',
    message: (s, p) => `IPFIX collector ${s} is unreachable${because(p)}; records wait in a bounded queue`,
    cleared: (s) => `IPFIX collector ${s} is reachable`,
  },
  'plugin-disabled': {
    category: 'plugin', severity: 'major',
    message: (s, p) => `plugin ${s} was disabled${because(p)}`, cleared: (s) => `plugin ${s} is enabled`,
  },
  'security-function-failed': {
    category: 'plugin', severity: 'critical',
    message: (s, p) => `security function ${s} failed and its traffic is dropped (fail closed)${because(p)}`,
    cleared: (s) => `security function ${s} is loaded again`,
  },
  'records-thread-restarted': {
    category: 'process', severity: 'major',
    message: (s, p) => `the session records thread of ${s} stopped and is being started again; the facts it had not applied are lost (counted)${because(p)}`,
    cleared: (s) => `the session records thread of ${s} runs again`,
  },
  'worker-restarted': {
    category: 'process', severity: 'major',
    message: (s, p) => `data-path ${s} stopped and is being restarted; its sessions are lost${because(p)}`,
    cleared: (s) => `data-path ${s} runs again`,
  },
  'ha-split-brain': {
    category: 'system', severity: 'critical',
    message: (s, p) => `split brain on ${s}${because(p)}`, cleared: (s, p) => `split brain over on ${s}${because(p)}`,
  },
  'ha-link-down': {
    category: 'system', severity: 'major',
    message: (s, p) => `shared link ${s} is down${because(p)}`, cleared: (s, p) => `shared link ${s} is up${because(p)}`,
  },
  'key-exchange-failing': {
    category: 'peer', severity: 'critical',
    message: (s, p) => `path ${s} has no keys: the key exchange with its peer does not complete${because(p)}`,
    cleared: (s) => `path ${s} has keys again`,
  },
} as const satisfies Record<string, AlarmDefinition>;


interface Observation { value: number | undefined; active: boolean | undefined; detail: string | undefined }

export class AlarmWatch {
  private readonly actors = new Map<string, Actor<typeof alarmMachine>>();
  /** what each actor is about: the machine is provided once for all alarms (one per actor held ~16 kB of heap) */
  private readonly about = new WeakMap<object, { id: string; source: string; def: AlarmDefinition }>();
  private readonly machine = alarmMachine.provide({
    actions: {
      raise: ({ self }, p) => {
        const a = this.about.get(self);
        if (a !== undefined) void this.registry.raise({ id: a.id, category: a.def.category, severity: a.def.severity, source: a.source, message: a.def.message(a.source, p) });
      },
      clear: ({ self }, p) => {
        const a = this.about.get(self);
        if (a !== undefined) void this.registry.clear(a.id, a.def.cleared(a.source, p));
      },
    },
  });
  /** the last observation per alarm and source: the same one again changes nothing in the machine (only
   *  `remember` runs for it, in every state), so it is not sent (a hub observes 5,000 of them a second). By
   *  name, then source: no key string is built for an observation that changes nothing. */
  private readonly last = new Map<string, Map<string, Observation>>();

  constructor(private readonly registry: AlarmRegistry, private readonly definitions: Record<string, AlarmDefinition> = ALARMS) {}

  /** A level (`value`) or condition (`active`) of alarm `name` about `source`. Throws SVR_ERR_TELEMETRY_OPTIONS
   *  when the alarm's definition has a bad threshold or hold time. */
  observe(name: string, source: string, o: { value?: number; active?: boolean; detail?: string }): void {
    let bySource = this.last.get(name);
    if (bySource === undefined) this.last.set(name, (bySource = new Map()));
    const seen = bySource.get(source);
    if (seen === undefined) bySource.set(source, { value: o.value, active: o.active, detail: o.detail });
    else if (seen.value === o.value && seen.active === o.active && seen.detail === o.detail) return;
    else {
      seen.value = o.value;
      seen.active = o.active;
      seen.detail = o.detail;
    }
    const id = `${name}:${source}`;
    let actor = this.actors.get(id);
    if (actor === undefined) {
      const def = this.definitions[name];
      if (def === undefined) throw new SvrError('SVR_ERR_TELEMETRY_OPTIONS', `no alarm named ${name}; known: ${Object.keys(this.definitions).join(', ')}`);
      const input: AlarmInput = {};
      if (def.raiseAt !== undefined) input.raiseAt = def.raiseAt;
      if (def.clearAt !== undefined) input.clearAt = def.clearAt;
      if (def.raiseAfterMs !== undefined) input.raiseAfterMs = def.raiseAfterMs;
      if (def.clearAfterMs !== undefined) input.clearAfterMs = def.clearAfterMs;
      const problem = alarmInputProblem(input);
      if (problem !== undefined) throw new SvrError('SVR_ERR_TELEMETRY_OPTIONS', `alarm ${name}: ${problem}`);
      // a condition seen inactive, never active: its machine would stay clear, so none is made until it is active
      // (a hub's 2,000 up paths held 4,000 clear machines, ~10 kB each)
      if (o.active === false) return;
      actor = createActor(this.machine, { input });
      this.about.set(actor, { id, source, def });
      actor.start();
      this.actors.set(id, actor);
    }
    actor.send({ type: 'alarm.observe', ...o });
  }

  /** Alarm machines held: one per (alarm, source) observed raising at least once, or observed by level. */
  get machines(): number {
    return this.actors.size;
  }

  /** Stops every actor (their pending hold timers too); the registry keeps its state. */
  stop(): void {
    for (const a of this.actors.values()) a.stop();
    this.actors.clear();
    this.last.clear();
  }
}
