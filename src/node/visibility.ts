/**
 * What a running node shows of itself beyond `svr show`: its alarms and events (alarms.ts) and its
 * Prometheus metrics (telemetry/metrics.ts), fed from the router's views and session events. Control side
 * only: the data path is read through the router's views and counters, never per packet.
 */
import type { Router } from '../control/router.js';
import { NodeMetrics, type InterfacePortView } from '../telemetry/metrics.js';
import { NodeAlarms } from './alarms.js';

export interface NodeVisibility {
  alarms: NodeAlarms;
  metrics: NodeMetrics;
  stop(): void;
}

export interface VisibilityOptions {
  name: string;
  version: string;
  /** ports that count their own write drops */
  ports: () => readonly InterfacePortView[];
  /** alarm observation period and start-up grace (tests shorten them) */
  alarmEveryMs?: number;
  alarmGraceMs?: number;
  /** a router pair's node: the partner's own paths are never up here, and raise no alarm */
  haNode?: string;
}

export function startVisibility(router: Router, o: VisibilityOptions): NodeVisibility {
  // the data path's own limit (session-capacity, or sized from memory), unless the management block names another
  const capacity = (): number => router.runningConfig.authority.routers.find((r) => r.name === o.name)?.management?.sessionCapacity ?? router.status().sessionsLimit;
  const alarms = new NodeAlarms(router, {
    sessionCapacity: capacity,
    ...(o.alarmEveryMs !== undefined ? { everyMs: o.alarmEveryMs } : {}),
    ...(o.alarmGraceMs !== undefined ? { graceMs: o.alarmGraceMs } : {}),
    ...(o.haNode !== undefined ? { haNode: o.haNode } : {}),
  });
  const metrics = new NodeMetrics({
    router: o.name, version: o.version,
    peers: () => router.peers(), tenants: () => router.tenants(), services: () => router.services(), status: () => router.status(),
    counters: () => router.counters(), threadLoad: () => router.threadLoad(), plugins: () => router.plugins(), ports: o.ports,
    alarms: alarms.registry,
  });
  // created / removed read in place (control/session-facts.ts): no object per session for the tallies
  const offFacts = router.onSessionFacts((f) => metrics.sessionFact(f));
  const sub = router.eventsWithoutSessions$.subscribe((e) => {
    switch (e.type) {
      case 'session.denied':
        metrics.sessionDenied({ tenant: e.tenant ?? '', service: e.service ?? '', reason: e.reason });
        // denials of the same batch the data path did not report one by one: their reasons are not known
        if (e.suppressed !== undefined && e.suppressed > 0) metrics.sessionDenied({ tenant: '', service: '', reason: 'unreported' }, e.suppressed);
        break;
      default: alarms.onRouterEvent(e);
    }
  });
  return {
    alarms, metrics,
    stop() {
      sub.unsubscribe();
      offFacts();
      alarms.stop();
    },
  };
}
