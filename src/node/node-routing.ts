/**
 * The node's routing (routing/NodeRouting) wired to its router: learned routes into the router's RIB,
 * `redistribute service` asked again on every path and config event, FRR's files, pid files and sockets
 * in `frrDir` (`<data dir>-frr`: the node's own, in the lab's folder for a lab node).
 */
import type { Router } from '../control/router.js';
import type { Router as RouterConfig } from '../model/config.js';
import { NodeRouting } from '../routing/node-routing.js';
import type { NodeLog } from './log.js';
import type { AlarmRegistry } from '../telemetry/alarms/registry.js';

export async function startRouting(router: Router, me: RouterConfig | undefined, frrDir: string, log: NodeLog, alarms: AlarmRegistry): Promise<NodeRouting | undefined> {
  if (me?.routing === undefined) return undefined;
  const routing = new NodeRouting(me.name, me.routing, frrDir, {
    updateLearnedRoutes: (set, removed) => router.updateLearnedRoutes(set, removed),
    announceable: () => announceable(router),
    raise: (id, category, source, message) => void alarms.raise({ id, category, severity: 'major', source, message }),
    clear: (id, message) => void alarms.clear(id, message),
  }, (event, fields) => log.info(event, Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, typeof v === 'number' || typeof v === 'boolean' ? v : String(v)]))));
  try {
    await routing.start();
  } catch (e) {
    await routing.stop(); // what did start (the listener, daemons) stops again
    throw e;
  }
  router.eventsWithoutSessions$.subscribe((e) => {
    if (e.type === 'path.up' || e.type === 'path.down' || e.type === 'config.applied') routing.servicesChanged();
  });
  return routing;
}

/** Prefixes of the services this router reaches through a peer route with a usable path now. */
function announceable(router: Router): string[] {
  const services = new Map(router.runningConfig.authority.services.map((s) => [s.name, s]));
  return router.services()
    .filter((s) => s.routes.some((r) => r.kind === 'peer' && r.usable))
    .flatMap((s) => services.get(s.name)?.addresses ?? []);
}
