/**
 * The fabric as the pages draw it, from either API: the conductor's routers (each with its last report),
 * or a single node's own view (its health, peers and alarms) as one router. Path state and quality class
 * are decided here, once, for the graph, the tables and the charts.
 */
import { api, type Backend } from './api.js';
import type { PathReport, PeerReport, RouterStatus } from './types.js';

export interface RouterView {
  name: string;
  /** synchronized, synchronizing, out of sync, disconnected, connecting (conductor); running (node) */
  status: string;
  connected: boolean;
  version: number | null;
  head: number | null;
  health: string;
  sessions: number;
  lastSeen: string | null;
  lastError: string | null;
  address: string | null;
  peers: PeerReport[];
  alarms: number;
}

/**
 * A path's class for colours: down (not usable), then by measured quality: poor (loss >= 5 % or MOS
 * below 3.6), fair (loss >= 1 % or MOS below 4.0), good; unmeasured before the first link test.
 */
export type PathClass = 'down' | 'poor' | 'fair' | 'good' | 'unmeasured';

export function pathClass(p: PathReport): PathClass {
  if (!p.up) return 'down';
  if (p.mos === undefined && p.lossPercent === undefined) return 'unmeasured';
  const loss = p.lossPercent ?? 0;
  const mos = p.mos ?? 4.5;
  if (loss >= 5 || mos < 3.6) return 'poor';
  if (loss >= 1 || mos < 4.0) return 'fair';
  return 'good';
}

export const statusClass = (status: string): 'good' | 'fair' | 'down' => (status === 'synchronized' || status === 'running' ? 'good' : status === 'synchronizing' || status === 'connecting' ? 'fair' : 'down');

function fromConductor(r: RouterStatus): RouterView {
  return {
    name: r.router, status: r.status, connected: r.connected, version: r.version, head: r.head, health: r.report?.health ?? '–', sessions: r.report?.sessions ?? 0,
    lastSeen: r.lastSeen, lastError: r.lastError, address: r.address, peers: r.report?.peers ?? [], alarms: r.report?.alarms.length ?? 0,
  };
}

interface NodePath { name: string; up: boolean; latencyMs?: number; jitterMs?: number; lossPct?: number; mos?: number }

/** The node's own view as a one-router fabric (GET /api/v1/health, /peers, /alarms of the node API). */
async function nodeFabric(): Promise<RouterView[]> {
  const [health, peers, alarms] = await Promise.all([
    api<{ router: string; version: string; uptimeMs: number }>('GET', '/api/v1/health'),
    api<{ name: string; reachable: boolean; paths: NodePath[] }[]>('GET', '/api/v1/peers'),
    api<unknown[]>('GET', '/api/v1/alarms'),
  ]);
  return [{
    name: health.router, status: 'running', connected: true, version: null, head: null, health: alarms.length === 0 ? 'ok' : 'degraded', sessions: 0,
    lastSeen: new Date().toISOString(), lastError: null, address: null, alarms: alarms.length,
    peers: peers.map((p) => ({
      name: p.name, reachable: p.reachable,
      paths: p.paths.map((x) => ({ name: x.name, up: x.up, latencyMs: x.latencyMs, jitterMs: x.jitterMs, lossPercent: x.lossPct, mos: x.mos })),
    })),
  }];
}

export async function loadFabric(backend: Backend): Promise<RouterView[]> {
  if (backend === 'node') return nodeFabric();
  return (await api<RouterStatus[]>('GET', '/api/v1/routers')).map(fromConductor);
}

export interface Link {
  a: string;
  b: string;
  /** the paths as `a` reports them toward `b` (or `b` toward `a` when `a` did not report) */
  paths: (PathReport & { from: string; to: string })[];
}

/**
 * One link per pair of routers that report each other as peers. Each path appears once, as the router
 * first in name order sees it; peers that are not routers of this fabric (a node's view) are drawn too.
 */
export function linksOf(routers: readonly RouterView[]): Link[] {
  const links = new Map<string, Link>();
  for (const r of [...routers].sort((x, y) => x.name.localeCompare(y.name))) {
    for (const p of r.peers) {
      const [a, b] = [r.name, p.name].sort() as [string, string];
      const key = `${a}\0${b}`;
      if (!links.has(key)) links.set(key, { a, b, paths: p.paths.map((x) => ({ ...x, from: r.name, to: p.name })) });
    }
  }
  return [...links.values()];
}
