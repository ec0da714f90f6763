/**
 * Facts from the data path, fanned out on the control thread: session events to `events$` and to plugins'
 * hooks, path-control messages to `pathMessages$`, disabled plugin stages to the log. One function for the
 * in-process router and the worker router (which tags rows with their worker first).
 */
import type { Subject } from 'rxjs';
import type { DpEvent } from '../dataplane/events.js';
import type { ForwardingTables } from '../model/tables.js';
import type { PluginHost } from '../plugins/host.js';
import type { PathMessage, SessionEvent } from './router.js';

export interface EventSinks {
  tables: ForwardingTables;
  sessions: Subject<SessionEvent>;
  pathMessages: Subject<PathMessage>;
  plugins: PluginHost;
  log(event: string, fields: Record<string, string | number | boolean>): void;
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
    } else if (e.kind === 'plugin.error') {
      s.log('plugin.stage-disabled', { plugin: e.plugin, stage: e.stage, error: e.message, ...logFields });
    }
  }
}
