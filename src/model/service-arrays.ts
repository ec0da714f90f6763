/**
 * Per-service arrays the data path takes as they are when tables are swapped (path-choice.ts, fec.ts,
 * route-follow.ts): built once by the compile, in its own slice, so that the swap between batches only assigns
 * them. A few flat typed arrays rather than an array per service: a swap that built 10,000 small Int16Arrays
 * spent 6-12 ms on them plus a 13-24 ms young-generation collection they triggered (10,000 services,
 * docs/performance.md "Config at scale").
 */
import type { SessionResiliency } from './config.js';
import type { CompiledPeer, CompiledService } from './tables.js';

/** Session-resiliency codes, per service (ServiceArrays.resiliency, read per packet). */
export const RES_NONE = 0;
export const RES_FAILOVER = 1;
export const RES_REVERTIBLE = 2;
export const RES_DUPLICATE = 3;

export function resiliencyCode(r: SessionResiliency): number {
  return r === 'failover' ? RES_FAILOVER : r === 'revertible-failover' ? RES_REVERTIBLE : r === 'packet-duplication' ? RES_DUPLICATE : RES_NONE;
}

/** ServiceArrays.routeKinds: the service has a `use-learned-routes` route */
export const ROUTES_LEARNED = 1;
/** ServiceArrays.routeKinds: the service has a local next-hop route */
export const ROUTES_LOCAL = 2;

export interface ServiceArrays {
  /** the configured ranking of service s: the paths of its peer routes in order, rankPaths[rankFrom[s] .. rankFrom[s + 1]) */
  readonly rankFrom: Int32Array;
  readonly rankPaths: Int16Array;
  /** RES_* of each service's session-resiliency */
  readonly resiliency: Uint8Array;
  /** FEC of each service's policy: group size (0: off), parity rows, flush deadline ms */
  readonly fecGroupSize: Uint8Array;
  readonly fecParity: Uint8Array;
  readonly fecFlushMs: Uint16Array;
  /** some service has FEC */
  readonly fecAny: boolean;
  /** the smallest data share of a FEC group, groupSize / (groupSize + parity), over the services with FEC; 1 without */
  readonly fecShare: number;
  /** ROUTES_* flags of each service's routes */
  readonly routeKinds: Uint8Array;
}

/** The arrays of `services` (ids in order); `peers` gives each peer route's paths. */
export function buildServiceArrays(services: readonly CompiledService[], peers: readonly CompiledPeer[]): ServiceArrays {
  const n = services.length;
  const rankFrom = new Int32Array(n + 1);
  let total = 0;
  for (let s = 0; s < n; s++) {
    rankFrom[s] = total;
    for (const route of services[s]!.routes) if (route.kind === 'peer') total += peers[route.peer]!.paths.length;
  }
  rankFrom[n] = total;
  const rankPaths = new Int16Array(total);
  const resiliency = new Uint8Array(n);
  const fecGroupSize = new Uint8Array(n);
  const fecParity = new Uint8Array(n);
  const fecFlushMs = new Uint16Array(n);
  const routeKinds = new Uint8Array(n);
  let fecShare = 1;
  let fecAny = false;
  for (let s = 0; s < n; s++) {
    const svc = services[s]!;
    let at = rankFrom[s]!;
    for (const route of svc.routes) {
      if (route.kind === 'peer') for (const p of peers[route.peer]!.paths) rankPaths[at++] = p;
      routeKinds[s]! |= route.kind === 'learned' ? ROUTES_LEARNED : route.kind === 'local' ? ROUTES_LOCAL : 0;
    }
    const fec = svc.policy.fec;
    resiliency[s] = resiliencyCode(svc.policy.sessionResiliency);
    fecGroupSize[s] = fec.groupSize;
    fecParity[s] = fec.parity;
    fecFlushMs[s] = fec.flushMs;
    if (fec.groupSize === 0) continue;
    fecAny = true;
    fecShare = Math.min(fecShare, fec.groupSize / (fec.groupSize + fec.parity));
  }
  return { rankFrom, rankPaths, resiliency, fecGroupSize, fecParity, fecFlushMs, fecAny, fecShare, routeKinds };
}
