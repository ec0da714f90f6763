/**
 * Route computation (pure): from the merged documents, for this router and every service, the next-hop
 * peers in preference order.
 *
 * Graph: one node per router with a document. Edge A->B when A reports a usable path to B **and** B
 * reports a usable path to A (two-way check, as link-state protocols do), so a dead router's stale
 * document cannot pull traffic towards it. Edge cost = the best (lowest) usable path cost from A's
 * document, where a path costs 1 (per hop) + its smoothed latency in whole ms (unmeasured = 0).
 * Without measurements the metric is the hop count.
 *
 * For service S and each neighbour N: metric = cost(self->N) + the shortest distance from N to a router
 * that delivers S. N is a candidate only if it is loop-free (RFC 5286 inequality 1): N's own shortest
 * path to S must not come back through us, i.e. dist(N,S) < dist(N,self) + dist(self,S). Candidates are
 * sorted by metric, then peer name; shortest paths settle nodes by (distance, name), so every router
 * computes the same answer from the same documents.
 */
import type { PathReport, RouterDocument } from './document.js';
import { compareNames } from './repository.js';

export interface RouteCandidate {
  /** next-hop peer */
  peer: string;
  metric: number;
  /** routers from the next hop to the one that delivers the service, both included */
  via: string[];
}

export interface ServiceRoute {
  service: string;
  /** this router delivers it itself */
  local: boolean;
  /** routers whose documents say they deliver it, by name */
  deliveredBy: string[];
  /** next hops, best first */
  candidates: RouteCandidate[];
  /** local or at least one candidate */
  reachable: boolean;
}

/** router -> neighbour -> cost */
export type RouterGraph = Map<string, Map<string, number>>;

export interface ShortestPaths {
  dist: Map<string, number>;
  /** predecessor on the shortest path from the source */
  prev: Map<string, string>;
}

/** Cost of one usable path: 1 per hop plus its latency in whole milliseconds. */
export function pathCost(p: PathReport): number {
  return 1 + Math.round(p.latencyMs ?? 0);
}

/** Directed graph of two-way usable adjacencies. */
export function buildGraph(docs: readonly RouterDocument[]): RouterGraph {
  const byRouter = new Map(docs.map((d) => [d.router, d]));
  const oneWay = new Map<string, Map<string, number>>();
  for (const d of docs) {
    const out = new Map<string, number>();
    for (const peer of d.peers) {
      const costs = peer.paths.filter((p) => p.usable).map(pathCost);
      if (costs.length > 0 && peer.peer !== d.router) out.set(peer.peer, Math.min(...costs, out.get(peer.peer) ?? Infinity));
    }
    oneWay.set(d.router, out);
  }
  const graph: RouterGraph = new Map();
  for (const [a, out] of oneWay) {
    const edges = new Map<string, number>();
    for (const [b, cost] of out) {
      if (byRouter.has(b) && oneWay.get(b)?.has(a) === true) edges.set(b, cost);
    }
    graph.set(a, edges);
  }
  return graph;
}

/** Dijkstra from `from`; nodes settle by (distance, name), so ties resolve the same everywhere. */
export function shortestPaths(graph: RouterGraph, from: string): ShortestPaths {
  const dist = new Map<string, number>([[from, 0]]);
  const prev = new Map<string, string>();
  const done = new Set<string>();
  for (;;) {
    let u: string | null = null;
    for (const [n, d] of dist) {
      if (done.has(n)) continue;
      if (u === null || d < dist.get(u)! || (d === dist.get(u)! && compareNames(n, u) < 0)) u = n;
    }
    if (u === null) break;
    done.add(u);
    const du = dist.get(u)!;
    const edges = [...(graph.get(u) ?? new Map<string, number>())].sort((a, b) => compareNames(a[0], b[0]));
    for (const [v, cost] of edges) {
      if (done.has(v)) continue;
      const dv = du + cost;
      if (dv < (dist.get(v) ?? Infinity)) {
        dist.set(v, dv);
        prev.set(v, u);
      }
    }
  }
  return { dist, prev };
}

/** Routes for every service named in any document, by service name. */
export function computeRoutes(self: string, docs: readonly RouterDocument[]): Map<string, ServiceRoute> {
  const graph = buildGraph(docs);
  const fromSelf = shortestPaths(graph, self);
  const neighbours = [...(graph.get(self) ?? new Map<string, number>())].sort((a, b) => compareNames(a[0], b[0]));
  const fromNeighbour = new Map(neighbours.map(([n]) => [n, shortestPaths(graph, n)]));
  const out = new Map<string, ServiceRoute>();
  for (const [service, deliveredBy] of deliverers(docs)) {
    const local = deliveredBy.includes(self);
    const targets = deliveredBy.filter((r) => r !== self);
    const selfToService = local ? 0 : nearest(fromSelf, targets)?.dist ?? Infinity;
    const candidates: RouteCandidate[] = [];
    for (const [n, cost] of neighbours) {
      const sp = fromNeighbour.get(n)!;
      const best = nearest(sp, targets);
      if (best === null) continue;
      const nToSelf = sp.dist.get(self) ?? Infinity;
      const nToService = local ? Math.min(best.dist, nToSelf) : best.dist;
      if (!(nToService < nToSelf + selfToService)) continue; // N would send it back through us
      candidates.push({ peer: n, metric: cost + best.dist, via: pathTo(sp, n, best.router) });
    }
    candidates.sort((a, b) => a.metric - b.metric || compareNames(a.peer, b.peer));
    out.set(service, { service, local, deliveredBy, candidates, reachable: local || candidates.length > 0 });
  }
  return out;
}

/** service -> routers that say they deliver it (sorted); services nobody delivers map to []. */
function deliverers(docs: readonly RouterDocument[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const d of docs) {
    for (const s of d.services) {
      const list = m.get(s.name) ?? [];
      if (s.reachable && !list.includes(d.router)) list.push(d.router);
      m.set(s.name, list);
    }
  }
  for (const list of m.values()) list.sort(compareNames);
  return new Map([...m].sort((a, b) => compareNames(a[0], b[0])));
}

function nearest(sp: ShortestPaths, targets: readonly string[]): { router: string; dist: number } | null {
  let best: { router: string; dist: number } | null = null;
  for (const t of targets) {
    const d = sp.dist.get(t);
    if (d === undefined) continue;
    if (best === null || d < best.dist || (d === best.dist && compareNames(t, best.router) < 0)) best = { router: t, dist: d };
  }
  return best;
}

function pathTo(sp: ShortestPaths, from: string, to: string): string[] {
  const path = [to];
  let at = to;
  while (at !== from) {
    at = sp.prev.get(at)!;
    path.push(at);
  }
  return path.reverse();
}
