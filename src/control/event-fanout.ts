/**
 * Facts from the data path, fanned out on the control thread: session events to `events$` (decoding the
 * per-batch records of denied first packets and session counters), session facts to plugins' hooks and
 * their data-path parts' records to their control parts, path-control messages to `pathMessages$`,
 * disabled and failed (fail closed) plugin stages to `events$`, the log and alarms.
 * The session records (dataplane/session-records.ts) are read in place: an event object for `events$` only
 * while a subscriber takes per-session events, the node's readers through SessionFactListeners.
 */
import type { Subject } from 'rxjs';
import { COUNTER_WORDS, DENIED_WORDS, DENY_REASONS, type DpEvent } from '../dataplane/events.js';
import { uuidString } from '../dataplane/random-pool.js';
import { addressText } from '../dataplane/session-tuples.js';
import type { ForwardingTables } from '../model/tables.js';
import type { PathMessage } from '../paths/messages.js';
import type { PluginHost } from '../plugins/host.js';
import { REC_CREATED, REC_REMOVED, type SessionRecords } from '../dataplane/session-records.js';
import type { SessionFactListeners } from './session-facts.js';
import type { InterfaceRef, RouterEvent, SessionCountersEvent, SessionCreatedEvent, SessionDeniedEvent, SessionRemovedEvent } from './events.js';

/** An alarm condition the router observes (names of telemetry/alarms/watch.ts ALARMS; AlarmWatch.observe). */
export type ObserveAlarm = (name: string, source: string, o: { active?: boolean; value?: number; detail?: string }) => void;

export interface EventSinks {
  tables: ForwardingTables;
  events: { next(e: RouterEvent): void; readonly sessionsWanted?: boolean };
  /** readers of session.created / removed in place (control/session-facts.ts) */
  sessions?: SessionFactListeners;
  pathMessages: Subject<PathMessage>;
  plugins: PluginHost;
  /** the router's clock, ms */
  now(): number;
  /** a plugin stage or hook was disabled: true when it is news (not already reported by another worker) */
  disabled(plugin: string, stage: string): boolean;
  log(event: string, fields: Record<string, string | number | boolean>): void;
  alarm: ObserveAlarm;
}

const iface = (t: ForwardingTables, index: number, name: string): InterfaceRef => ({ name: name !== '' ? name : t.interfaces[index]?.name ?? '', index });

export function fanOutEvents(events: readonly DpEvent[], s: EventSinks, logFields: Record<string, number> = {}): void {
  for (const e of events) fanOutEvent(e, s, logFields);
}

/** A batch's object events and session records, in the data path's order. */
export function fanOutFacts(events: readonly DpEvent[], recs: SessionRecords, s: EventSinks, logFields: Record<string, number> = {}): void {
  let k = 0;
  for (let i = 0; i < recs.count; i++) {
    for (const before = recs.before(i); k < before && k < events.length; k++) fanOutEvent(events[k]!, s, logFields);
    fanOutRecord(recs, i, s);
  }
  for (; k < events.length; k++) fanOutEvent(events[k]!, s, logFields);
}

/** Session record i: objects only for the subscribers and hooks that take them. */
function fanOutRecord(recs: SessionRecords, i: number, s: EventSinks): void {
  const kind = recs.kind(i);
  if (kind !== REC_CREATED && kind !== REC_REMOVED) return; // reverseSeen: the episodes' (control/episodes.ts)
  if (s.events.sessionsWanted !== false) {
    const e = recs.event(i);
    if (e.kind === 'session.created') s.events.next(createdEvent(s.tables, e));
    else if (e.kind === 'session.removed') s.events.next(removedEvent(e));
  }
  if (s.plugins.listensToSessions) {
    if (kind === REC_CREATED) s.plugins.sessionCreated({ id: recs.sessionId(i), role: recs.role(i), tenant: recs.tenant(i), service: recs.service(i) });
    else s.plugins.sessionClosed({ id: recs.sessionId(i), reason: recs.reason(i) });
  }
  s.sessions?.record(recs, i);
}

function fanOutEvent(e: DpEvent, s: EventSinks, logFields: Record<string, number>): void {
  const t = s.tables;
  const hooks = s.plugins.listensToSessions;
  switch (e.kind) {
    case 'session.created':
      if (s.events.sessionsWanted !== false) s.events.next(createdEvent(t, e));
      if (hooks) s.plugins.sessionCreated({ id: e.sessionId, role: e.role, tenant: e.tenant, service: e.service });
      s.sessions?.event(e);
      break;
    case 'session.removed':
      if (s.events.sessionsWanted !== false) s.events.next(removedEvent(e));
      if (hooks) s.plugins.sessionClosed({ id: e.sessionId, reason: e.reason });
      s.sessions?.event(e);
      break;
    case 'session.migrated':
      s.events.next({ type: 'session.migrated', atMs: e.atMs, sessionId: e.sessionId, service: e.service, from: e.from, to: e.to, reason: e.reason, waypoint: e.waypoint });
      break;
    case 'session.denied':
      for (const d of deniedEvents(t, e)) s.events.next(d);
      break;
    case 'session.counters':
      if (s.events.sessionsWanted !== false) s.events.next(countersEvent(e));
      break;
    case 'path.message':
      s.pathMessages.next({ path: e.path, pathName: t.paths[e.path]?.name ?? '?', payload: e.payload, atMs: e.atMs, ...(e.from !== undefined ? { from: e.from } : {}) });
      break;
    case 'plugin.records':
      s.plugins.records(e);
      break;
    case 'plugin.error':
      // fail closed: a security function failed and its traffic is dropped from now on; else disabled, traffic goes on
      s.log(e.failClosed ? 'plugin.failed-closed' : 'plugin.stage-disabled', { plugin: e.plugin, stage: e.stage, error: e.message, ...logFields });
      s.alarm(e.failClosed ? 'security-function-failed' : 'plugin-disabled', `${e.plugin} ${e.stage}`, { active: true, detail: e.message });
      if (s.disabled(e.plugin, e.stage)) s.events.next({ type: 'plugin.disabled', atMs: s.now(), plugin: e.plugin, stage: e.stage, message: e.message, failClosed: e.failClosed });
      break;
    case 'session.reverseSeen':
    case 'session.resignalled':
      break; // handshake episodes (control/episodes.ts)
  }
}

/**
 * The router's session.created / session.removed events: built field by field (no spread of a temporary
 * object per optional field: two of these per session, 60,000 sessions a second is the goal), the optional
 * fields only when present, as before.
 */
function createdEvent(t: ForwardingTables, e: Extract<DpEvent, { kind: 'session.created' }>): SessionCreatedEvent {
  const ev: SessionCreatedEvent = {
    type: 'session.created', atMs: e.atMs, sessionId: e.sessionId, role: e.role, tenant: e.tenant, service: e.service, application: e.application,
    forward: e.forward, ingressInterface: iface(t, e.inIf, e.inInterface), egressInterface: iface(t, e.outIf, e.outInterface),
  };
  if (e.waypoint) ev.waypoint = e.waypoint;
  if (e.nat) ev.nat = e.nat;
  if (e.path !== '') {
    ev.path = e.path;
    ev.peer = e.peer;
  }
  return ev;
}

function removedEvent(e: Extract<DpEvent, { kind: 'session.removed' }>): SessionRemovedEvent {
  const ev: SessionRemovedEvent = {
    type: 'session.removed', atMs: e.atMs, sessionId: e.sessionId, reason: e.reason, role: e.role, tenant: e.tenant, service: e.service,
    application: e.application, ageMs: e.ageMs, packets: e.packets, bytes: e.bytes,
  };
  if (e.path !== '') ev.path = e.path;
  return ev;
}

/** One event per denied first packet of a batch's records; the batch's suppressed count on the last. */
export function deniedEvents(t: ForwardingTables, e: Extract<DpEvent, { kind: 'session.denied' }>): SessionDeniedEvent[] {
  const out: SessionDeniedEvent[] = [];
  const w = e.records;
  for (let i = 0; i < e.count; i++) {
    const at = i * DENIED_WORDS;
    const family = (w[at + 1]! & 0xff) as 4 | 6;
    const tenant = t.tenants[w[at + 3]! - 1];
    const service = t.services[w[at + 4]! - 1]?.name;
    out.push({
      type: 'session.denied', atMs: e.atMs, reason: DENY_REASONS[w[at]!] ?? 'no-route',
      forward: { src: addressText(w, at + 6, family), dst: addressText(w, at + 10, family), srcPort: w[at + 5]! >>> 16, dstPort: w[at + 5]! & 0xffff, protocol: w[at + 1]! >>> 8 },
      ...(tenant !== undefined ? { tenant } : {}), ...(service !== undefined ? { service } : {}),
      ingressInterface: iface(t, w[at + 2]!, ''),
    });
  }
  if (e.suppressed > 0 && out.length > 0) out[out.length - 1]!.suppressed = e.suppressed;
  return out;
}

export function countersEvent(e: Extract<DpEvent, { kind: 'session.counters' }>): SessionCountersEvent {
  const d = e.data;
  const words = new Uint32Array(4);
  const sessions: SessionCountersEvent['sessions'] = [];
  for (let i = 0; i < e.count; i++) {
    const at = i * COUNTER_WORDS;
    for (let k = 0; k < 4; k++) words[k] = d[at + k]!;
    sessions.push({ sessionId: uuidString(words, 0), packets: [d[at + 4]!, d[at + 5]!], bytes: [d[at + 6]!, d[at + 7]!] });
  }
  return { type: 'session.counters', atMs: e.atMs, sessions };
}
