/**
 * Sessions follow their route (docs/routing.md "Existing sessions and route changes"): after a table swap
 * (a RIB change from FRR, or a config change), a session this router delivers along the RIB goes on only
 * while the RIB still routes its destination out of the lan interface it uses.
 * - a learned route that changed its next hop keeps its interface (`routing.interface`): the session stays,
 *   and the kernel of the node's namespace, where zebra installed the new route, sends it to the new gateway;
 * - no route left (withdrawn, or a blackhole now holds it), or the route now leaves by another interface:
 *   the session is removed, reason `no-route` (session.removed, a record, `sessions-no-route`). A session
 *   never moves between local delivery and a peer path: its next packet opens a new session along the
 *   route there is now (or is refused, drop-no-route).
 * Which sessions follow the RIB: local sessions of a service with `use-learned-routes` that were not
 * opened by one of its local next-hop routes, and egress sessions (svr-accept) of a service without a
 * local next hop that are not transit legs (ssr-reference §1.1).
 * Cost: one RIB lookup per such session per table swap (control's time, between batches; none per packet).
 */
import { NO_INTERFACE } from '../model/tables.js';
import type { CompiledService } from '../model/tables.js';
import type { DataplaneContext } from './context.js';
import { wordsToBytes } from './metadata-build.js';
import { ROLE_EGRESS, ROLE_LOCAL } from './session-table.js';
import { removeSession } from './session-ops.js';

const dst = new Uint8Array(16);

/** per service: it has learned routes (its local sessions may follow the RIB) */
const LEARNED = 1;
/** per service: it has a local next-hop route (its egress sessions do not follow the RIB) */
const LOCAL = 2;

/** Removes the RIB-following sessions whose route (in their tenant's VRF) is gone (reason no-route); returns how many.
 *  Each service's routes are read once (a flag per service), so a row costs its role and a flag unless it may
 *  follow the RIB: 1,000,000 ingress rows no longer cost a call and a route list each at a reload. */
export function closeUnroutedSessions(ctx: DataplaneContext, now: number): number {
  const t = ctx.sessions;
  const tables = ctx.tables;
  const kinds = new Uint8Array(tables.services.length);
  let anyFollows = false;
  tables.services.forEach((svc, id) => {
    for (const route of svc.routes) kinds[id]! |= route.kind === 'learned' ? LEARNED : route.kind === 'local' ? LOCAL : 0;
    anyFollows ||= (kinds[id]! & LEARNED) !== 0 || (kinds[id]! & LOCAL) === 0;
  });
  if (!anyFollows) return 0;
  let closed = 0;
  for (let r = 0; r < t.capacity; r++) {
    const role = t.role[r]!;
    if ((role !== ROLE_LOCAL && role !== ROLE_EGRESS) || !t.isActive(r)) continue;
    const id = t.service[r]!;
    const svc = tables.services[id];
    if (svc === undefined || !followsRib(svc, kinds[id]!, role, t.outIf[r]!, t.relayOf(r))) continue;
    const family = t.family[r] as 4 | 6;
    wordsToBytes(t.dstWords(r), t.wordsAt, family, dst);
    const outIf = tables.routeLocal(t.tenant[r]!, dst, 0, family);
    if (outIf !== NO_INTERFACE && outIf === t.outIf[r]) continue;
    removeSession(ctx, r, 'no-route', now);
    closed++;
  }
  return closed;
}

/** Was this session delivered along the RIB (not by a local next-hop route, not a peer path or transit leg)? */
function followsRib(svc: CompiledService, kind: number, role: number, outIf: number, relay: number): boolean {
  if (role === ROLE_LOCAL) {
    if ((kind & LEARNED) === 0) return false;
    for (const route of svc.routes) if (route.kind === 'local' && route.interface === outIf) return false;
    return true;
  }
  return role === ROLE_EGRESS && relay < 0 && (kind & LOCAL) === 0;
}
