/** `show peers`: each peer's paths with liveness, BFD state and measured quality. */
import type { Liveness } from '../paths/control.js';
import type { PathSummary } from '../paths/supervisor.js';
import type { NatView } from '../paths/nat-traversal.js';
import type { MtuView } from '../paths/path-mtu.js';
import type { TransformView } from '../paths/firewall-detector.js';

export type { TransformView };
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
    /** the far end is a router pair's node's own interface: that node; `standby` while it is the pair's
     *  standby (BFD Up, no sessions on the path; docs/high-availability.md "Per-node WAN interfaces") */
    node?: string; standby?: boolean;
    /** age of the key this router sends with on the path, and (key-exchange: handshake) its rekeys so far */
    keyAgeMs?: number; rekeys?: number;
    /** NAT traversal (docs/wan.md), on paths with an `outbound-only` end: `peer-behind-nat` (we learn the
     *  peer's translated address, `learned`) or `outbound-only` (we are behind NAT; `seenAs` is where the
     *  peer sees us); `remoteWaypoint` stays the configured address */
    nat?: { role: 'peer-behind-nat' | 'outbound-only'; learned?: string; seenAs?: string; addressChanges: number; damped?: number; suppressed?: boolean };
    /** path MTU (bytes of an outer packet) and how it is known: `not-probed` (the wan interface's mtu; static
     *  liveness), `searching`, `discovered` (probes, docs/wan.md), `unresolvable` (even 1200 bytes fail) */
    mtu: number; mtuState: string;
    /** how TCP sessions opened on the path travel (docs/wan.md "UDP transform"): `tcp`, or `udp-transform`
     *  (mode always-transform, or auto-detect found a firewall: `reasons` names the probes it dropped) */
    transport: 'tcp' | 'udp-transform';
    udpTransform?: TransformView;
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
  nat(pathName: string): NatView | undefined;
  mtu(pathName: string): MtuView | undefined;
  transform(pathName: string): TransformView | undefined;
}

const round = (x: number): number => Math.round(x * 100) / 100;
const waypoint = (bytes: Uint8Array): string => formatAddress(bytes, 0, bytes.length === 16 ? 6 : 4);

/** What the node's alarms watch of a peer path (node/alarms.ts), once a second: the cheap fields of `show peers`. */
export type PathCondition = Pick<PeerSummary['paths'][number], 'name' | 'up' | 'bfd' | 'standby' | 'mtu' | 'mtuState' | 'transport' | 'udpTransform' | 'nat'>;

export interface PeerCondition {
  name: string;
  reachable: boolean;
  paths: PathCondition[];
}

export type PeerConditionSource = Pick<PeerViewSource, 'tables' | 'liveness' | 'reachable' | 'isPathUp' | 'nat' | 'mtu' | 'transform'> & {
  /** the path's BFD state, undefined before its first */
  bfdState(pathName: string): string | undefined;
  /** the far end is a router pair's standby node (supervisor.ts `peerStandby`) */
  peerStandby(pathName: string): boolean;
};

/**
 * What `peerConditions` returned last, kept while the tables stay: per path id its condition object and per peer
 * index its peer object, the same objects again while nothing in them changed.
 */
export class KeptConditions {
  tables: ForwardingTables | null = null;
  paths: (PathCondition | undefined)[] = [];
  peers: (PeerCondition | undefined)[] = [];
  list: PeerCondition[] = [];
}

/**
 * Per peer its reachability and per path liveness, BFD state, MTU discovery, UDP transform and NAT: what
 * `peerSummaries` says of them, without quality, keys, sessions or addresses. A hub observes its 2,000 paths
 * every second: with `kept` a path's object (and its peer's, and the list) is built only when one of its
 * conditions changed (building them all cost ~7 % of a hub's main thread, hub15).
 */
export function peerConditions(v: PeerConditionSource, kept = new KeptConditions()): PeerCondition[] {
  const t = v.tables;
  if (kept.tables !== t) {
    kept.tables = t;
    kept.paths = [];
    kept.peers = [];
    kept.list = [];
  }
  let listChanged = kept.list.length !== t.peers.length;
  for (let i = 0; i < t.peers.length; i++) {
    const peer = t.peers[i]!;
    const reachable = v.reachable(peer.name);
    const last = kept.peers[i];
    let changed = last === undefined || last.reachable !== reachable;
    for (const p of peer.paths) {
      const before = kept.paths[p];
      const now = pathCondition(v, t, p, before);
      if (now !== before) {
        kept.paths[p] = now;
        changed = true;
      }
    }
    if (!changed) continue;
    kept.peers[i] = { name: peer.name, reachable, paths: peer.paths.map((p) => kept.paths[p]!) };
    listChanged = true;
  }
  if (listChanged) kept.list = kept.peers.slice(0, t.peers.length) as PeerCondition[];
  return kept.list;
}

/** Path p's condition: `last` itself when none of its fields would differ. */
function pathCondition(v: PeerConditionSource, t: ForwardingTables, p: number, last: PathCondition | undefined): PathCondition {
  const path = t.paths[p]!;
  const up = v.isPathUp(p);
  const bfd = v.bfdState(path.name) ?? noBfd(v.liveness);
  const standby = v.peerStandby(path.name);
  const m = v.mtu(path.name);
  const mtu = m?.mtu ?? t.interfaces[path.localInterface]!.mtu;
  const mtuState = m?.state ?? 'not-probed';
  // UDP transform disabled by config: plain TCP, as transportFields says of its view (not built for 2,000 paths)
  const x = path.udpTransform.mode === 'disabled' ? undefined : v.transform(path.name);
  const nat = natOf(v, path);
  // a transform view is the same object until it changes (transport follows from it)
  if (last !== undefined && last.up === up && last.bfd === bfd && (last.standby === true) === standby && last.mtu === mtu && last.mtuState === mtuState
    && last.udpTransform === (x?.mode === 'disabled' ? undefined : x) && sameNat(last.nat, nat)) return last;
  return { name: path.name, up, bfd, ...(standby ? { standby: true } : {}), mtu, mtuState, ...transportFields(x), ...(nat === undefined ? {} : { nat }) };
}

function sameNat(a: PathCondition['nat'], b: PathCondition['nat']): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.role === b.role && a.learned === b.learned && a.seenAs === b.seenAs && a.addressChanges === b.addressChanges && a.damped === b.damped && a.suppressed === b.suppressed;
}

const noBfd = (liveness: Liveness): string => (liveness === 'static' ? 'static' : 'down');

function mtuFields(v: Pick<PeerViewSource, 'mtu'>, pathName: string, interfaceMtu: number): { mtu: number; mtuState: string } {
  const m = v.mtu(pathName);
  return { mtu: m?.mtu ?? interfaceMtu, mtuState: m?.state ?? 'not-probed' };
}

function natOf(v: Pick<PeerViewSource, 'nat'>, path: ForwardingTables['paths'][number]): PathCondition['nat'] {
  return path.peerBehindNat || path.outboundOnly
    ? { role: path.peerBehindNat ? 'peer-behind-nat' : 'outbound-only', addressChanges: 0, ...v.nat(path.name) }
    : undefined;
}

function natFields(v: Pick<PeerViewSource, 'nat'>, path: ForwardingTables['paths'][number]): Pick<PathCondition, 'nat'> {
  const nat = natOf(v, path);
  return nat === undefined ? {} : { nat };
}

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
        bfd: q?.bfdState ?? noBfd(v.liveness),
        ...(q?.latencyMs !== undefined ? { latencyMs: round(q.latencyMs), jitterMs: round(q.jitterMs ?? 0), lossPct: round(q.lossPercent ?? 0), mos: round(q.mos ?? 0) } : {}),
        uptimeMs: q?.uptimeMs ?? 0, flaps: q?.flaps ?? 0, holdDownMs: q?.holdDownRemainingMs ?? 0,
        sessions: v.sessionsOnPath(p),
        ...(path.remoteNode === undefined ? {} : { node: path.remoteNode }),
        ...(q?.peerStandby === true ? { standby: true } : {}),
        ...keyFields(v.keys(path.name)),
        ...mtuFields(v, path.name, t.interfaces[path.localInterface]!.mtu),
        ...transportFields(v.transform(path.name)),
        ...natFields(v, path),
      };
    }),
  }));
}

function transportFields(x: TransformView | undefined): { transport: 'tcp' | 'udp-transform'; udpTransform?: TransformView } {
  if (x === undefined || x.mode === 'disabled') return { transport: 'tcp' };
  return { transport: x.active ? 'udp-transform' : 'tcp', udpTransform: x };
}

function keyFields(k: { ageMs?: number; rekeys?: number }): { keyAgeMs?: number; rekeys?: number } {
  return { ...(k.ageMs !== undefined ? { keyAgeMs: k.ageMs } : {}), ...(k.rekeys !== undefined ? { rekeys: k.rekeys } : {}) };
}
