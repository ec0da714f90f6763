/** `show peers`: each peer's paths with liveness, BFD state and measured quality. */
import type { Liveness } from '../paths/control.js';
import type { PathSummary } from '../paths/supervisor.js';
import { formatAddress } from '../packet/addr.js';
import type { ForwardingTables } from '../model/tables.js';

export interface PeerSummary {
  name: string;
  reachable: boolean;
  paths: {
    name: string; up: boolean; vector: string; localWaypoint: string; remoteWaypoint: string;
    /** BFD state ('static' without BFD) and measured quality (after the first link test) */
    bfd: string; latencyMs?: number; jitterMs?: number; lossPct?: number; mos?: number;
    uptimeMs: number; flaps: number; holdDownMs: number; sessions: number;
    /** age of the key this router sends with on the path, and (key-exchange: handshake) its rekeys so far */
    keyAgeMs?: number; rekeys?: number;
  }[];
}

export interface PeerViewSource {
  tables: ForwardingTables;
  quality: Map<string, PathSummary>;
  liveness: Liveness;
  reachable(peer: string): boolean;
  isPathUp(path: number): boolean;
  sessionsOnPath(path: number): number;
  /** the path's key: age of the tx key, rekeys (handshake paths) */
  keys(pathName: string): { ageMs?: number; rekeys?: number };
}

const round = (x: number): number => Math.round(x * 100) / 100;
const waypoint = (bytes: Uint8Array): string => formatAddress(bytes, 0, bytes.length === 16 ? 6 : 4);

export function peerSummaries(v: PeerViewSource): PeerSummary[] {
  const t = v.tables;
  return t.peers.map((peer) => ({
    name: peer.name,
    reachable: v.reachable(peer.name),
    paths: peer.paths.map((p) => {
      const path = t.paths[p]!;
      const q = v.quality.get(path.name);
      return {
        name: path.name, up: v.isPathUp(p), vector: path.vector,
        localWaypoint: waypoint(path.localWaypoint), remoteWaypoint: waypoint(path.remoteWaypoint),
        bfd: q?.bfdState ?? (v.liveness === 'static' ? 'static' : 'down'),
        ...(q?.latencyMs !== undefined ? { latencyMs: round(q.latencyMs), jitterMs: round(q.jitterMs ?? 0), lossPct: round(q.lossPercent ?? 0), mos: round(q.mos ?? 0) } : {}),
        uptimeMs: q?.uptimeMs ?? 0, flaps: q?.flaps ?? 0, holdDownMs: q?.holdDownRemainingMs ?? 0,
        sessions: v.sessionsOnPath(p),
        ...keyFields(v.keys(path.name)),
      };
    }),
  }));
}

function keyFields(k: { ageMs?: number; rekeys?: number }): { keyAgeMs?: number; rekeys?: number } {
  return { ...(k.ageMs !== undefined ? { keyAgeMs: k.ageMs } : {}), ...(k.rekeys !== undefined ? { rekeys: k.rekeys } : {}) };
}
