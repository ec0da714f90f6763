/**
 * What a running node shows of itself beyond `svr show`: its alarms and events (alarms.ts) and its
 * Prometheus metrics (telemetry/metrics.ts), fed from the router's views and session events. Control side
 * only: the data path is read through the router's views and counters, never per packet.
 */
import type { Router } from '../control/router.js';
import { MANAGEMENT_DEFAULTS } from '../model/defaults.js';
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
}

export function startVisibility(router: Router, o: VisibilityOptions): NodeVisibility {
  const capacity = (): number => router.runningConfig.authority.routers.find((r) => r.name === o.name)?.management?.sessionCapacity ?? MANAGEMENT_DEFAULTS.sessionCapacity;
  const alarms = new NodeAlarms(router, {
    sessionCapacity: capacity,
    ...(o.alarmEveryMs !== undefined ? { everyMs: o.alarmEveryMs } : {}),
    ...(o.alarmGraceMs !== undefined ? { graceMs: o.alarmGraceMs } : {}),
  });
  const metrics = new NodeMetrics({
    router: o.name, version: o.version,
    peers: () => router.peers(), tenants: () => router.tenants(), services: () => router.services(), status: () => router.status(),
    counters: () => router.counters(), threadLoad: () => router.threadLoad(), plugins: () => router.plugins(), ports: o.ports,
    alarms: alarms.registry,
  });
  const sub = router.events$.subscribe((e) => {
    if (e.type === 'created') metrics.sessionCreated(e);
    else if (e.type === 'removed') metrics.sessionClosed(e);
  });
  return {
    alarms, metrics,
    stop() {
      sub.unsubscribe();
      alarms.stop();
    },
  };
}
