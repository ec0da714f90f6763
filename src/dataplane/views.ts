/**
 * Session rows as plain objects, for `svr show sessions`, the embedding API and tests (allocates; never
 * on the packet path). Keys and other secrets are not part of a row, so nothing secret can leak here.
 */
import { PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP } from '../packet/ip.js';
import type { ForwardingTables } from '../model/tables.js';
import type { DataplaneContext } from './context.js';
import { addressText, waypointTuple } from './session-tuples.js';
import { roleName, sessionId } from './session-ops.js';
import type { SessionRole } from './events.js';
import {
  msSince, msUntil, SF_CLOSING, SF_ENC_DECIDED, SF_ENC_ON, SF_ESTABLISHED, SF_NEEDS_META, SF_PAYLOAD, SF_REV_SIGNAL, SF_SYN, SF_SYNACK, SF_TRANSFORMED,
} from './session-table.js';

export interface TupleSummary {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  protocol: string;
}

export interface SessionSummary {
  id: string;
  role: SessionRole;
  tenant: string;
  service: string;
  /** end-to-end payload encryption: on, skipped by adaptive encryption (already TLS/IPsec), not decided yet, or none */
  encryption: 'encrypted' | 'skipped (already encrypted)' | 'pending' | 'none';
  /** the application a classifier named (TLS SNI, HTTP Host, ...), '' when unknown */
  application: string;
  /** client -> server as the ingress router received it */
  original: TupleSummary;
  /** the SVR waypoint 5-tuple of the forward direction (this router's view), absent for local sessions */
  waypoint?: TupleSummary;
  peer?: string;
  path?: string;
  /** a transit session (multi-hop SVR): the other leg's peer and path (this row is one leg) */
  transit?: { peer: string; path: string };
  inInterface: string;
  outInterface: string;
  /** ingress: 'signalling' until reverse metadata arrived; egress: 'signalling' until a forward packet without it */
  handshake: 'signalling' | 'complete' | 'always';
  state: string;
  ageMs: number;
  idleMs: number;
  expiresInMs: number;
  packets: { forward: number; reverse: number };
  bytes: { forward: number; reverse: number };
}

export function protocolName(p: number): string {
  return p === PROTO_TCP ? 'tcp' : p === PROTO_UDP ? 'udp' : p === PROTO_ICMP ? 'icmp' : p === PROTO_ICMPV6 ? 'icmpv6' : String(p);
}

function tcpState(flags: number): string {
  if ((flags & SF_CLOSING) !== 0) return 'closing';
  if ((flags & SF_ESTABLISHED) !== 0) return 'established';
  if ((flags & SF_SYNACK) !== 0) return 'syn-ack';
  if ((flags & SF_SYN) !== 0) return 'syn';
  return 'open';
}

export function summarizeSession(ctx: DataplaneContext, r: number, now: number): SessionSummary {
  const t = ctx.sessions;
  const tables = ctx.tables;
  const fam = t.family[r] as 4 | 6;
  const flags = t.flags[r]!;
  const role = roleName(t.role[r]!);
  const proto = t.protocol[r]!;
  const s: SessionSummary = {
    id: sessionId(t, r),
    role,
    tenant: tables.tenants[t.tenant[r]!] ?? '?',
    service: tables.services[t.service[r]!]?.name ?? '?',
    application: ctx.applications.name(t.app[r]!),
    encryption: (flags & SF_PAYLOAD) === 0 ? 'none'
      : (flags & SF_ENC_ON) !== 0 ? (role === 'ingress' && (flags & SF_ENC_DECIDED) === 0 ? 'pending' : 'encrypted')
      : 'skipped (already encrypted)',
    original: {
      src: addressText(t.srcWords(r), t.wordsAt, fam), dst: addressText(t.dstWords(r), t.wordsAt, fam),
      srcPort: t.origSrcPort[r]!, dstPort: t.origDstPort[r]!, protocol: protocolName(proto),
    },
    inInterface: tables.interfaces[t.inIf[r]!]?.name ?? '?',
    outInterface: tables.interfaces[t.outIf[r]!]?.name ?? '?',
    handshake: (flags & SF_TRANSFORMED) !== 0 && proto !== PROTO_TCP ? 'always'
      : (flags & (role === 'ingress' ? SF_NEEDS_META : SF_REV_SIGNAL)) !== 0 ? 'signalling' : 'complete',
    state: proto === PROTO_TCP ? tcpState(flags) : 'open',
    ageMs: now - t.created[r]!,
    idleMs: msSince(now, t.lastSeen[r]!),
    expiresInMs: Math.max(0, msUntil(now, t.expires[r]!)),
    packets: { forward: t.pktsFwd[r]!, reverse: t.pktsRev[r]! },
    bytes: { forward: t.bytesFwd[r]!, reverse: t.bytesRev[r]! },
  };
  const w = waypointTuple(ctx, r);
  if (w !== undefined) {
    const path = tables.paths[t.path[r]!]!;
    s.waypoint = { ...w, protocol: protocolName(w.protocol) };
    s.peer = tables.peers[path.peer]?.name ?? '?';
    s.path = path.name;
  }
  const leg = t.relayOf(r);
  if (leg >= 0 && t.path[leg]! >= 0) {
    const other = tables.paths[t.path[leg]!]!;
    s.transit = { peer: tables.peers[other.peer]?.name ?? '?', path: other.name };
  }
  return s;
}

/** Every active session, oldest first. */
export function listSessions(ctx: DataplaneContext, now: number): SessionSummary[] {
  const t = ctx.sessions;
  const rows: number[] = [];
  for (let r = 0; r < t.capacity; r++) if (t.isActive(r)) rows.push(r);
  rows.sort((a, b) => t.created[a]! - t.created[b]!);
  return rows.map((r) => summarizeSession(ctx, r, now));
}

/** Where a page of sessions ends: sessions are ordered by creation time, then by row (unique in the host). */
export interface SessionCursor {
  createdMs: number;
  row: number;
}

export interface SessionPageQuery {
  /** at most this many rows */
  limit: number;
  /** only sessions after this point of the order */
  after?: SessionCursor;
  /** only this tenant's / service's sessions (ids in the current tables) */
  tenant?: number;
  service?: number;
}

export interface SessionPageRow {
  summary: SessionSummary;
  createdMs: number;
  /** the row as the host numbers it (`rowTag | row`) */
  row: number;
}

/**
 * One page of active sessions, oldest first: one walk over the table's flags, a sort of the matching rows,
 * and summaries (the costly part) for at most `limit` of them. `rowTag` puts a worker's index in the row
 * number so that rows are unique across workers.
 */
export function pageSessions(ctx: DataplaneContext, now: number, q: SessionPageQuery, rowTag = 0): SessionPageRow[] {
  const t = ctx.sessions;
  const afterCreated = q.after?.createdMs ?? -Infinity;
  const afterRow = q.after?.row ?? -1;
  const rows: number[] = [];
  for (let r = 0; r < t.capacity; r++) {
    if (!t.isActive(r)) continue;
    if ((q.tenant !== undefined && t.tenant[r] !== q.tenant) || (q.service !== undefined && t.service[r] !== q.service)) continue;
    const c = t.created[r]!;
    if (c < afterCreated || (c === afterCreated && (rowTag | r) <= afterRow)) continue;
    rows.push(r);
  }
  rows.sort((a, b) => t.created[a]! - t.created[b]! || a - b);
  return rows.slice(0, q.limit).map((r) => ({ summary: summarizeSession(ctx, r, now), createdMs: t.created[r]!, row: rowTag | r }));
}

export interface ServiceView {
  name: string;
  /** service-routes of this router: `peer r2 (wan0->r2/wan0 up)`, `local lan0` or `learned RIB (n routes)` */
  routes: { name: string; kind: 'peer' | 'local' | 'learned'; target: string; usable: boolean }[];
  reachable: boolean;
  sessions: number;
}

export interface TenantView {
  name: string;
  interfaces: string[];
  /** the VRF the tenant routes in (`routing.vrfs`; `default` for a tenant in none) */
  vrf: string;
  sessions: number;
}

/** Active sessions in total and per path, service and tenant id (tallySessions). */
export interface SessionTally {
  active: number;
  /** sessions the table holds at most (new ones beyond are refused) */
  limit: number;
  perPath: number[];
  perService: number[];
  perTenant: number[];
}

/** Sessions active and the limit, per data-path thread too: counters the table keeps, no walk over its rows. */
export interface SessionCount {
  active: number;
  limit: number;
  perWorker: number[];
}

/** The sessions active, the limit and the counts per path, service and tenant the table keeps (session-counts.ts):
 *  no walk over the rows, at any table size. */
export function tallySessions({ sessions: t, tables }: Pick<DataplaneContext, 'sessions' | 'tables'>): SessionTally {
  return {
    active: t.active,
    limit: t.limit,
    perPath: t.perPath.list(tables.paths.length),
    perService: t.perService.list(tables.services.length),
    perTenant: t.perTenant.list(tables.tenants.length),
  };
}

/** `show services` rows: routes with their usable paths; `sessions(id)` counts a service's sessions. */
export function listServices(tables: ForwardingTables, isPathUp: (path: number) => boolean, sessions: (service: number) => number): ServiceView[] {
  return tables.services.map((svc) => {
    const routes = svc.routes.map((route) => {
      if (route.kind === 'local') {
        return { name: route.name, kind: 'local' as const, target: tables.interfaces[route.interface]!.name, usable: true };
      }
      if (route.kind === 'learned') {
        const routes = tables.rib.filter((r) => r.selected).length;
        return { name: route.name, kind: 'learned' as const, target: `RIB (${routes} route${routes === 1 ? '' : 's'})`, usable: routes > 0 };
      }
      const peer = tables.peers[route.peer]!;
      const up = peer.paths.filter(isPathUp).map((p) => tables.paths[p]!.name);
      return { name: route.name, kind: 'peer' as const, target: up.length > 0 ? `${peer.name} (${up.join(', ')})` : `${peer.name} (no path up)`, usable: up.length > 0 };
    });
    return { name: svc.name, routes, reachable: routes.some((r) => r.usable), sessions: sessions(svc.id) };
  });
}

/** `show tenants` rows; `sessions(id)` counts a tenant's sessions. */
export function listTenants(tables: ForwardingTables, sessions: (tenant: number) => number): TenantView[] {
  return tables.tenants.map((name, id) => ({
    name,
    interfaces: tables.interfaces.filter((i) => i.tenant === id).map((i) => i.name),
    vrf: tables.vrfName(id),
    sessions: sessions(id),
  }));
}
