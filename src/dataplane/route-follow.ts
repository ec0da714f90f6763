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
 * The walk runs in slices of ROUTE_CHECK_ROWS rows, the first in the swap and each next one a turn of the event
 * loop later (RouteCheck): 1,000,000 rows in one walk took 5-15 ms of the swap's turn. Until its slice, a row
 * keeps the verdict it had, as it would have had the reload come those few milliseconds later; each slice
 * checks against the tables of then, and a swap in between starts the walk over.
 */
import { ROUTES_LEARNED as LEARNED, ROUTES_LOCAL as LOCAL } from '../model/service-arrays.js';
import { NO_INTERFACE } from '../model/tables.js';
import type { CompiledService } from '../model/tables.js';
import type { DataplaneContext } from './context.js';
import { wordsToBytes } from './metadata-build.js';
import { ROLE_EGRESS, ROLE_LOCAL } from './session-table.js';
import { removeSession } from './session-ops.js';

const dst = new Uint8Array(16);

/** Rows per slice of the route check (~0.5-1 ms of ingress rows, 2026-12). */
export const ROUTE_CHECK_ROWS = 65_536;

/** The route check of the tables now, in slices; `closed(n)` after each slice that ran (n sessions removed). */
export class RouteCheck {
  #next = -1;
  #scheduled = false;

  constructor(private readonly ctx: DataplaneContext, private readonly closed: (n: number) => void, private readonly rows = ROUTE_CHECK_ROWS) {}

  /** The tables were swapped: checks the first slice now and the rest in later turns (a walk under way starts over). */
  start(): void {
    const kinds = this.ctx.tables.serviceArrays.routeKinds;
    let anyFollows = false;
    for (let id = 0; id < kinds.length && !anyFollows; id++) anyFollows = (kinds[id]! & LEARNED) !== 0 || (kinds[id]! & LOCAL) === 0;
    this.#next = anyFollows ? 0 : -1;
    this.#step();
  }

  /** Rows left to check (0: none; tests and the bench wait for it). */
  get pending(): number {
    return this.#next < 0 ? 0 : Math.max(0, this.ctx.sessions.capacity - this.#next);
  }

  readonly #step = (): void => {
    this.#scheduled = false;
    if (this.#next < 0) return;
    const end = Math.min(this.#next + this.rows, this.ctx.sessions.capacity);
    const n = closeUnroutedSessions(this.ctx, this.ctx.clock(), this.#next, end);
    this.#next = end >= this.ctx.sessions.capacity ? -1 : end;
    this.closed(n);
    if (this.#next >= 0 && !this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#step);
    }
  };
}

/** Removes the RIB-following sessions of rows [from, to) whose route (in their tenant's VRF) is gone (reason
 *  no-route); returns how many. Each service's routes are read once per compile (ServiceArrays.routeKinds), so
 *  a row costs its role and a flag unless it may follow the RIB. */
export function closeUnroutedSessions(ctx: DataplaneContext, now: number, from: number, to: number): number {
  const t = ctx.sessions;
  const tables = ctx.tables;
  const kinds = tables.serviceArrays.routeKinds;
  let closed = 0;
  for (let r = from; r < to; r++) {
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
