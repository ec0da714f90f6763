/**
 * STEP through a repository (the conductor's, docs/step.md "Through the conductor"): which routers'
 * documents a subscriber needs to compute the same routes for its services as from every document.
 *
 * computeRoutes (compute.ts) reads, for each neighbour N of the subscriber S: dist(N, deliverer) for the
 * routers that deliver a service, and dist(N, S) (the loop-free check); and dist(S, deliverer). So S
 * needs: its neighbours, every deliverer of a subscribed service, and the routers on one shortest path
 * from each neighbour to each of those deliverers and back to S. On that subgraph every one of those
 * distances is the same as on the whole graph (a subgraph can only lengthen a path, and one shortest
 * path of each is in it), so the routes are the same. Pure and deterministic.
 */
import { buildGraph, shortestPaths, type ShortestPaths } from './compute.js';
import type { RouterDocument } from './document.js';

/** The routers whose documents `self` needs for routes to `services` (itself included). */
export function neededRouters(self: string, services: ReadonlySet<string>, docs: readonly RouterDocument[]): Set<string> {
  const graph = buildGraph(docs);
  const need = new Set<string>([self]);
  const targets = docs.filter((d) => d.router !== self && d.services.some((s) => s.reachable && services.has(s.name))).map((d) => d.router);
  for (const t of targets) need.add(t);
  for (const n of graph.get(self)?.keys() ?? []) {
    need.add(n);
    const sp = shortestPaths(graph, n);
    for (const t of [...targets, self]) addPath(sp, n, t, need);
  }
  return need;
}

/** Adds the routers on the shortest path from `from` to `to` (nothing when `to` is unreachable). */
function addPath(sp: ShortestPaths, from: string, to: string, out: Set<string>): void {
  if (!sp.dist.has(to)) return;
  let at = to;
  out.add(at);
  while (at !== from) {
    at = sp.prev.get(at)!;
    out.add(at);
  }
}
