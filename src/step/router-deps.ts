/**
 * StepDeps for a Router: its tables, path control channel (UDP 1280) and path state. Sources that other
 * engineers own (service health, BFD metrics) can be passed in; the defaults need nothing but the router.
 */
import type { Observable } from 'rxjs';
import type { ForwardingTables } from '../model/tables.js';
import type { ServiceReport } from './document.js';
import type { StepDeps, StepRepositoryClient, StepTimers } from './options.js';
import type { PathSample } from './smoothing.js';
import type { LocalPeer } from './local.js';

/** What STEP reads from a router: its tables, its path control channel and which paths are up. */
export interface StepRouter {
  readonly tables: ForwardingTables;
  readonly pathMessages$: Observable<{ path: number; payload: Uint8Array; atMs: number }>;
  sendPathMessage(path: number, payload: Uint8Array): boolean;
  isPathUp(path: number): boolean;
}

/** Overrides for `stepDepsFromRouter` (sources other engineers own: health, BFD). */
export interface RouterStepSources {
  /** default: every configured service, reachable when this router has a local service-route for it */
  localServices?: () => ServiceReport[];
  /** default: usable = the path is up (`router.isPathUp`), no metrics */
  pathStatus?: (pathId: number) => PathSample;
  now?: () => number;
  timers?: StepTimers;
  /** the conductor's STEP repository (authority.step.mode conductor) */
  repository?: StepRepositoryClient;
  /** our document is too large to send (StepDeps.tooLarge) */
  tooLarge?: (bytes: number, limit: number) => void;
}

/** StepDeps for a Router. Tables are read on every poll, so a config change (applyConfig) is picked up. */
export function stepDepsFromRouter(router: StepRouter, sources: RouterStepSources = {}): StepDeps {
  let peersOf: { tables: ForwardingTables; peers: LocalPeer[] } | undefined;
  const deps: StepDeps = {
    routerName: router.tables.routerName,
    authority: router.tables.authority,
    // the same array while the tables stay the same: STEP's poll then skips re-reading the peers (a hub's 1,000)
    peers: () => {
      const t = router.tables;
      if (peersOf?.tables !== t) peersOf = { tables: t, peers: t.peers.map((p) => ({ id: p.id, name: p.name, paths: p.paths.map((i) => ({ id: i, name: t.paths[i]!.name, vector: t.paths[i]!.vector })) })) };
      return peersOf.peers;
    },
    localServices: sources.localServices
      ?? (() => router.tables.services.map((s) => ({ name: s.name, reachable: s.routes.some((r) => r.kind === 'local') }))),
    pathStatus: sources.pathStatus ?? ((id) => ({ usable: router.isPathUp(id) })),
    send: (id, payload) => router.sendPathMessage(id, payload),
    messages$: router.pathMessages$,
    now: sources.now ?? Date.now,
  };
  if (sources.timers) deps.timers = sources.timers;
  if (sources.repository) deps.repository = sources.repository;
  if (sources.tooLarge) deps.tooLarge = sources.tooLarge;
  return deps;
}
