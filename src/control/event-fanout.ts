/**
 * Facts from the data path, fanned out on the control thread: session events to `events$` and to plugins'
 * hooks, path-control messages to `pathMessages$`, disabled and failed plugin stages to the log and alarms.
 */
import type { Subject } from 'rxjs';
import type { DpEvent, SessionRole } from '../dataplane/events.js';
import type { ForwardingTables } from '../model/tables.js';
import type { PathMessage } from '../paths/messages.js';
import type { PluginHost } from '../plugins/host.js';

/** What a router tells about its sessions (`router.events$`). */
export type SessionEvent =
  | { type: 'created'; sessionId: string; role: SessionRole; service: string; tenant: string }
  /** reverse metadata seen: the handshake (of a new session, a move or a re-signal) completed */
  | { type: 'confirmed'; sessionId: string; tries: number }
  /** the handshake gave up after its probes (the session was torn down) */
  | { type: 'failed'; sessionId: string; tries: number }
  | { type: 'removed'; sessionId: string; reason: string; tenant: string; service: string; ageMs: number; packets: [number, number]; bytes: [number, number] }
  | { type: 'migrated'; sessionId: string; from: string; to: string };

/** An alarm condition the router observes (names of telemetry/alarms/watch.ts ALARMS; AlarmWatch.observe). */
export type ObserveAlarm = (name: string, source: string, o: { active?: boolean; value?: number; detail?: string }) => void;

export interface EventSinks {
  tables: ForwardingTables;
  sessions: Subject<SessionEvent>;
  pathMessages: Subject<PathMessage>;
  plugins: PluginHost;
  log(event: string, fields: Record<string, string | number | boolean>): void;
  alarm: ObserveAlarm;
}

export function fanOutEvents(events: readonly DpEvent[], s: EventSinks, logFields: Record<string, number> = {}): void {
  const pathName = (p: number) => s.tables.paths[p]?.name ?? '?';
  for (const e of events) {
    if (e.kind === 'session.created') {
      s.sessions.next({ type: 'created', sessionId: e.sessionId, role: e.role, service: e.service, tenant: e.tenant });
      s.plugins.sessionCreated({ id: e.sessionId, role: e.role, tenant: e.tenant, service: e.service });
    } else if (e.kind === 'session.removed') {
      s.sessions.next({ type: 'removed', sessionId: e.sessionId, reason: e.reason, tenant: e.tenant, service: e.service, ageMs: e.ageMs, packets: e.packets, bytes: e.bytes });
      s.plugins.sessionClosed({ id: e.sessionId, reason: e.reason });
    } else if (e.kind === 'session.migrated') {
      s.sessions.next({ type: 'migrated', sessionId: e.sessionId, from: pathName(e.fromPath), to: pathName(e.toPath) });
    } else if (e.kind === 'path.message') {
      s.pathMessages.next({ path: e.path, pathName: pathName(e.path), payload: e.payload, atMs: e.atMs });
    } else if (e.kind === 'plugin.error' && e.failClosed) {
      // a security function failed: its traffic is dropped from now on (fail closed)
      s.log('plugin.failed-closed', { plugin: e.plugin, stage: e.stage, error: e.message, ...logFields });
      s.alarm('security-function-failed', `${e.plugin} ${e.stage}`, { active: true, detail: e.message });
    } else if (e.kind === 'plugin.error') {
      s.log('plugin.stage-disabled', { plugin: e.plugin, stage: e.stage, error: e.message, ...logFields });
      s.alarm('plugin-disabled', `${e.plugin} ${e.stage}`, { active: true, detail: e.message });
    }
  }
}
