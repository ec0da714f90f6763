/**
 * The first-packet stage's decisions that follow the tenant and service lookups (tables.classifyTenant,
 * tables.lookupService), as functions of the tables and of what control published: the stage calls them
 * for every new session, `svr explain` (control/explain.ts) calls the same ones. Allocation-free: the
 * route choice fills a caller's scratch object.
 */
import type { CompiledService } from '../model/tables.js';
import { PROTO_TCP, TCP_ACK, TCP_RST, TCP_SYN } from '../packet/ip.js';
import type { ServicePaths } from './path-choice.js';

/** transportStateVerdict: the segment may open a session */
export const TSE_PASS = 0;
/** dropped, and a TCP RST goes back (unless the segment is an RST) */
export const TSE_RESET = 1;
/** dropped */
export const TSE_BLOCK = 2;

/**
 * ssr-reference §1.4 transport-state-enforcement: a TCP segment that is not a plain SYN opens no session
 * unless the service's policy is `allow`; `reset` answers with an RST (never to an RST).
 */
export function transportStateVerdict(svc: CompiledService, protocol: number, tcpFlags: number): number {
  if (protocol !== PROTO_TCP || (tcpFlags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN) return TSE_PASS;
  if (svc.transportStateEnforcement === 'allow') return TSE_PASS;
  return svc.transportStateEnforcement === 'reset' && (tcpFlags & TCP_RST) === 0 ? TSE_RESET : TSE_BLOCK;
}

/** RouteChoice.kind */
export const ROUTE_PEER = 0;
export const ROUTE_LOCAL = 1;
/** no usable next hop -> drop 'no-route' */
export const ROUTE_NONE = 2;
/** the service's policy refuses new sessions (no path meets the SLA, best-effort off) -> drop 'no-path-meets-sla' */
export const ROUTE_REFUSED = 3;

export interface RouteChoice {
  kind: number;
  /** ROUTE_PEER: the peer path */
  path: number;
  /** ROUTE_LOCAL: the LAN interface */
  localInterface: number;
}

export function routeChoice(): RouteChoice {
  return { kind: ROUTE_NONE, path: -1, localInterface: -1 };
}

/** Does the service follow the RIB (a `use-learned-routes` service-route)? The caller then looks the destination up (`routeLocal`). */
export function usesRib(svc: CompiledService): boolean {
  const routes = svc.routes;
  for (let i = 0; i < routes.length; i++) if (routes[i]!.kind === 'learned') return true; // indexed: no iterator per first packet
  return false;
}

/**
 * The first service-route that can carry a new session now: a local next hop, the RIB's route for the
 * destination (`use-learned-routes`: `ribIf`, the caller's `routeLocal` result, NO_INTERFACE (-1) when the
 * RIB has none: that route cannot carry it, ssr-reference §1.1), or a peer route with a usable path in the
 * service's ranking (policy, SLA, liveness: control publishes it); without configured routes, the paths
 * to the peers STEP learned for the service. Fills and returns `out`.
 */
export function chooseRoute(svc: CompiledService, service: number, paths: ServicePaths, pathUp: Uint8Array, out: RouteChoice, ribIf = -1): RouteChoice {
  let peerPath = -1;
  let localIf = -1;
  let peerRoutes = false;
  const routes = svc.routes;
  for (let i = 0; i < routes.length; i++) {
    const route = routes[i]!;
    if (route.kind === 'local') {
      localIf = route.interface;
      break;
    }
    if (route.kind === 'learned') {
      if (ribIf < 0) continue;
      localIf = ribIf;
      break;
    }
    peerRoutes = true;
    peerPath = paths.best(service, pathUp);
    if (peerPath >= 0) break;
  }
  if (svc.routes.length === 0) {
    peerRoutes = paths.count(service) > 0 || paths.refused[service] === 1;
    peerPath = paths.best(service, pathUp);
  }
  out.path = peerPath;
  out.localInterface = localIf;
  if (peerPath >= 0) out.kind = ROUTE_PEER;
  else if (localIf >= 0) out.kind = ROUTE_LOCAL;
  else out.kind = peerRoutes && paths.refused[service] === 1 ? ROUTE_REFUSED : ROUTE_NONE;
  return out;
}
