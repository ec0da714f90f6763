/**
 * The router's views (part of control/router.ts): peers, services, tenants, pages of sessions and `explain`, read from
 * the running tables, the data path and control's state. Nothing here changes the router.
 */
import type { ServicePaths } from '../dataplane/path-choice.js';
import { listServices, listTenants, type SessionCursor, type SessionSummary, type TenantView } from '../dataplane/views.js';
import type { SvrConfig } from '../model/config.js';
import type { ForwardingTables } from '../model/tables.js';
import type { Liveness, PathControl } from '../paths/control.js';
import type { PathKeyControl } from '../paths/key-control.js';
import type { DataPathHost } from './data-path-host.js';
import { explainFirstPacket, type ExplainQuery, type Explanation } from './explain.js';
import { peerConditions, peerSummaries, type KeptConditions, type PeerCondition, type PeerSummary } from './peer-views.js';
import type { PeerActors } from './peers.js';
import type { ServiceSummary } from './router-api.js';
import type { RouterPlugins } from './router-plugins.js';

/** What the views read (the router's parts; `tables` and `config` the running ones). */
export interface RouterViewSource {
  readonly tables: ForwardingTables;
  readonly config: SvrConfig;
  readonly host: DataPathHost;
  readonly liveness: Liveness;
  readonly pathControl: PathControl;
  readonly keyControl: PathKeyControl;
  readonly peerActors: PeerActors;
  readonly published: ServicePaths;
  readonly plugins: RouterPlugins;
}

/** Router.sessionPage (router-api.ts). */
export async function sessionPage(v: RouterViewSource, q: { limit: number; after?: SessionCursor; tenant?: string; service?: string }): Promise<{ sessions: (SessionSummary & { worker?: number })[]; next?: SessionCursor }> {
  const t = v.tables;
  const tenant = q.tenant === undefined ? undefined : t.tenantId(q.tenant);
  const service = q.service === undefined ? undefined : t.serviceId(q.service);
  if (tenant === -1 || service === -1) return { sessions: [] };
  const rows = await v.host.sessionPage({
    limit: q.limit, ...(q.after !== undefined ? { after: q.after } : {}), ...(tenant !== undefined ? { tenant } : {}), ...(service !== undefined ? { service } : {}),
  });
  const sessions = rows.map((r) => (r.worker === undefined ? r.summary : { ...r.summary, worker: r.worker }));
  const last = rows[rows.length - 1];
  return last !== undefined && rows.length === q.limit ? { sessions, next: { createdMs: last.createdMs, row: last.row } } : { sessions };
}

/** Router.peers: per peer, reachability and its paths with liveness, BFD state, quality and sessions. */
export function peerView(v: RouterViewSource): PeerSummary[] {
  const { host, pathControl } = v;
  const tally = host.tally();
  const keys = new Map(v.keyControl.view().paths.map((k) => [k.path, { ...(k.tx ? { ageMs: k.tx.ageMs } : {}), ...(k.rekeys !== undefined ? { rekeys: k.rekeys } : {}) }]));
  return peerSummaries({
    tables: v.tables, quality: pathControl.pathSummaries(), liveness: v.liveness,
    reachable: (peer) => v.peerActors.isReachable(peer), isPathUp: (p) => host.isPathUp(p), sessionsOnPath: (p) => tally.perPath[p] ?? 0,
    keys: (name) => keys.get(name) ?? {},
    nat: (name) => pathControl.natView(name),
    mtu: (name) => pathControl.mtuView(name),
    transform: (name) => pathControl.transformView(name),
  });
}

/** Router.peerConditions: `peerView` without quality, keys, sessions or addresses; unchanged objects kept in `kept`. */
export function peerConditionView(v: RouterViewSource, kept: KeptConditions): PeerCondition[] {
  const { host, pathControl } = v;
  return peerConditions({
    tables: v.tables, liveness: v.liveness,
    reachable: (peer) => v.peerActors.isReachable(peer), isPathUp: (p) => host.isPathUp(p),
    bfdState: (name) => pathControl.supervisor?.bfdState(name),
    peerStandby: (name) => pathControl.supervisor?.peerStandby(name) ?? false,
    nat: (name) => pathControl.natView(name),
    mtu: (name) => pathControl.mtuView(name),
    transform: (name) => pathControl.transformView(name),
  }, kept);
}

/** Router.services: per service, reachability, configured routes, ranked paths and (learned from STEP) routes. */
export function serviceView(v: RouterViewSource): ServiceSummary[] {
  const routing = new Map(v.pathControl.services().map((r) => [r.service, r]));
  const tally = v.host.tally();
  return listServices(v.tables, (p) => v.host.isPathUp(p), (id) => tally.perService[id] ?? 0).map((s) => {
    const r = routing.get(s.name);
    return { ...s, paths: r?.paths ?? [], refused: r?.refused ?? false, resiliency: r?.resiliency ?? 'none', ...(r?.learned ? { learned: r.learned } : {}) };
  });
}

export function tenantView(v: RouterViewSource): TenantView[] {
  const tally = v.host.tally();
  return listTenants(v.tables, (id) => tally.perTenant[id] ?? 0);
}

/** Router.explain: the first-packet stage's own lookups over the running tables and published rankings. */
export function explainView(v: RouterViewSource, q: ExplainQuery): Explanation {
  return explainFirstPacket(q, {
    tables: v.tables, config: v.config, servicePaths: v.published, isPathUp: (p) => v.host.isPathUp(p),
    pathSummaries: v.pathControl.pathSummaries(), stages: v.plugins.stages(), plugins: v.plugins.list().filter((p) => p.state === 'loaded').map((p) => p.name),
  });
}
