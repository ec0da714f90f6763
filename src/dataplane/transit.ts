/**
 * Multi-hop SVR: a router between the ingress and the egress (a hub between two spokes, r2 in a chain
 * r1 -> r2 -> r3). svr-accept finds the service has no local route here but a peer route (configured, or
 * learned by STEP) to another router, so the session continues as SVR on a new waypoint 5-tuple instead of
 * leaving on a LAN. Each hop keeps its own waypoints, handshake and metadata (metadata is decrypted and
 * re-encrypted at every hop; an end-to-end encrypted payload passes through untouched: svr-wire-format §4).
 *
 * The session is two linked rows (`relay` column): the egress leg from the previous router (in = its
 * waypoint 5-tuple) and the ingress leg toward the next (out = our waypoint 5-tuple). The legs share the
 * session id, tenant, service and original 5-tuple; only the egress leg is indexed by session id. svr-in
 * restores a packet on one leg and hands it to the other (service-chain -> svr-out), so each leg's
 * metadata handshake (NEEDS_META toward the next router, REV_SIGNAL toward the previous) runs as it does
 * at an ingress or egress router. Removing one leg removes the other (session-ops.removeSession).
 * Transit legs run no plugin hooks or chain stages: plugins act where sessions enter and leave.
 */
import type { DataplaneContext } from './context.js';
import { sessionOuterProtocol } from './session-ops.js';
import { ROLE_INGRESS, SF_ACTIVE, SF_ENC_ON, SF_NEEDS_META, SF_TRANSFORMED } from './session-table.js';

/**
 * The path a session of `service` arriving on `inPath` continues on: the best usable path of the
 * service's ranking (configured peer routes, or the peers STEP learned) that does not lead back to the
 * router it came from. -1 when the service has no such path here.
 */
export function transitPath(ctx: DataplaneContext, service: number, inPath: number): number {
  const sp = ctx.servicePaths;
  const n = sp.count(service);
  if (inPath < 0) return -1;
  const paths = ctx.tables.paths;
  const from = paths[inPath]!.peer;
  for (let i = 0; i < n; i++) {
    const p = sp.at(service, i);
    if (ctx.pathUp[p] === 1 && paths[p]!.peer !== from) return p;
  }
  return -1;
}

/**
 * Opens the onward leg of transit session `e` (its egress leg, already filled in) on path `p`: a new
 * ingress row with e's identity and a fresh waypoint 5-tuple. Returns the row, or -1 when the path's
 * family differs, its waypoint ports are exhausted or the table is full.
 */
export function openOnwardLeg(ctx: DataplaneContext, e: number, p: number, now: number): number {
  const t = ctx.sessions;
  const path = ctx.tables.paths[p]!;
  if (path.family !== t.family[e]) return -1;
  const r = t.alloc(now);
  if (r < 0) return -1;
  t.role[r] = ROLE_INGRESS;
  t.setOriginWords(r, t.family[e] as 4 | 6, t.srcWords(e), t.wordsAt, t.dstWords(e), t.wordsAt);
  t.protocol[r] = t.protocol[e]!;
  t.setClass(r, t.tenant[e]!, t.service[e]!);
  t.inIf[r] = t.inIf[e]!;
  t.outIf[r] = path.localInterface;
  for (let w = 0; w < 4; w++) t.uuid[r * 4 + w] = t.uuid[e * 4 + w]!;
  t.origSrcPort[r] = t.origSrcPort[e]!;
  t.origDstPort[r] = t.origDstPort[e]!;
  t.flags[r] = SF_ACTIVE | SF_NEEDS_META | (t.flags[e]! & (SF_TRANSFORMED | SF_ENC_ON));
  if (!ctx.wanKeys.assignPrimary(r, p, sessionOuterProtocol(t, r))) {
    t.remove(r);
    return -1;
  }
  t.setRelay(r, e);
  t.setRelay(e, r);
  t.outIf[e] = path.localInterface;
  return r;
}
