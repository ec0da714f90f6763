/**
 * Peer paths (as an SSR conductor generates adjacencies, ssr-reference §1.1): a WAN interface A of this
 * router and a WAN interface B of another router (same address family) form one path A->B when
 * - one of A's adjacencies names B (its router and interface): through the adjacency's neighborhood, or
 * - A and B share a neighborhood name whose two entries' topologies allow it (mesh with anything, hub
 *   with spoke, never hub-hub or spoke-spoke): through the first such neighborhood in A's list.
 * Adjacencies add to what neighborhoods give (a conductor writes those out as generated adjacencies;
 * an operator's adjacency can add a path or choose its neighborhood). Order: peer routers in config
 * order, then A, then B (in B's router's order).
 */
import { parseAddress, type ParsedAddress } from '../packet/addr.js';
import type { Authority, Interface, NeighborhoodRef, NeighborhoodTopology, Router } from './config.js';

export interface PeerLink {
  readonly local: Interface;
  readonly localAddress: ParsedAddress;
  readonly peer: Router;
  readonly remote: Interface;
  readonly remoteAddress: ParsedAddress;
  /** The neighborhood of the path: the adjacency's, else the first of `local`'s (in its order) that `remote` also has. */
  readonly neighborhood: string;
  /** The vector of A's neighborhood entry, else B's, else ''. */
  readonly vector: string;
}

/** The paths of `router`: from adjacencies and neighborhoods. */
export function peerLinks(authority: Authority, router: Router): PeerLink[] {
  return cachedLinks(authority, router, false);
}

/** The paths neighborhoods and topologies alone give (what a conductor writes out as generated adjacencies). */
export function neighborhoodLinks(authority: Authority, router: Router): PeerLink[] {
  return cachedLinks(authority, router, true);
}

/**
 * Links of every router of an authority, computed once per authority object: validation and a
 * conductor's commit ask for every router's links several times, and each router's links visit every
 * other router (1,000 routers: 1 M pairs a pass). Authorities are not changed in place after they are
 * read (a change goes through validation, which builds new objects); a changed router list is noticed.
 */
const linkCache = new WeakMap<Authority, { routers: readonly Router[]; count: number; links: [Map<Router, PeerLink[]>, Map<Router, PeerLink[]>] }>();

function cachedLinks(authority: Authority, router: Router, ignoreAdjacencies: boolean): PeerLink[] {
  let c = linkCache.get(authority);
  if (c === undefined || c.routers !== authority.routers || c.count !== authority.routers.length) {
    c = { routers: authority.routers, count: authority.routers.length, links: [new Map(), new Map()] };
    linkCache.set(authority, c);
  }
  const byRouter = c.links[ignoreAdjacencies ? 1 : 0];
  if (byRouter.size === 0) {
    const wans = authority.routers.map(wanInterfaces);
    authority.routers.forEach((r, i) => byRouter.set(r, links(authority.routers, wans, i, ignoreAdjacencies)));
  }
  // a router object that is not in the list (a copy): computed on its own
  const out = byRouter.get(router) ?? links([router, ...authority.routers], [wanInterfaces(router), ...authority.routers.map(wanInterfaces)], 0, ignoreAdjacencies);
  return [...out];
}

/** Whether two entries of one neighborhood peer: hub-hub and spoke-spoke do not. */
export function topologiesPeer(a: NeighborhoodTopology | undefined, b: NeighborhoodTopology | undefined): boolean {
  const x = a ?? 'mesh';
  const y = b ?? 'mesh';
  return x === 'mesh' || y === 'mesh' || x !== y;
}

// Every router's links visit every other router (a conductor computes them for all routers, several
// times a commit): plain loops, no closures, the waypoints parsed once (1,000 routers: 2 s -> 0.3 s a pass).
/** The links of routers[self]; `wans[i]` are routers[i]'s WAN interfaces. */
function links(routers: readonly Router[], wans: ReadonlyArray<Array<[Interface, ParsedAddress]>>, self: number, ignoreAdjacencies: boolean): PeerLink[] {
  const out: PeerLink[] = [];
  const router = routers[self]!;
  const localWans = wans[self]!;
  if (localWans.length === 0) return out;
  for (let p = 0; p < routers.length; p++) {
    const peer = routers[p]!;
    if (p === self || peer === router || peer.name === router.name) continue;
    const remoteWans = wans[p]!;
    for (const [local, localAddress] of localWans) {
      for (const [remote, remoteAddress] of remoteWans) {
        if (localAddress.family !== remoteAddress.family) continue;
        const chosen = ignoreAdjacencies || local.adjacencies === undefined ? undefined : adjacencyEntry(local, peer.name, remote.name);
        const shared = chosen ?? firstShared(local.neighborhoods, remote.neighborhoods);
        if (shared !== undefined) out.push(link(local, localAddress, peer, remote, remoteAddress, shared));
      }
    }
  }
  return out;
}

/** The neighborhood entry of `local` that its adjacency to peer/remote names, if it has one. */
function adjacencyEntry(local: Interface, peer: string, remote: string): NeighborhoodRef | undefined {
  for (const a of local.adjacencies!) {
    if (a.peer !== peer || a.interface !== remote) continue;
    for (const n of local.neighborhoods) if (n.name === a.neighborhood) return n;
    return undefined;
  }
  return undefined;
}

/** The first of `mine` that `theirs` shares with a topology that peers. */
function firstShared(mine: readonly NeighborhoodRef[], theirs: readonly NeighborhoodRef[]): NeighborhoodRef | undefined {
  for (const n of mine) {
    for (const m of theirs) if (m.name === n.name && topologiesPeer(n.topology, m.topology)) return n;
  }
  return undefined;
}

function link(local: Interface, localAddress: ParsedAddress, peer: Router, remote: Interface, remoteAddress: ParsedAddress, entry: NeighborhoodRef): PeerLink {
  const theirs = remote.neighborhoods.find((m) => m.name === entry.name);
  const vector = entry.vector ?? theirs?.vector ?? '';
  return { local, localAddress, peer, remote, remoteAddress, neighborhood: entry.name, vector };
}

/**
 * Parsed waypoints by interface object: every router's links visit every other router, so without this a
 * 1,000-router authority parses each waypoint 1,000 times (5.6 s of a conductor commit, measured).
 * Keyed by the object and checked against its text, so a changed waypoint is parsed again.
 */
const parsedWaypoints = new WeakMap<Interface, { text: string; address: ParsedAddress | undefined }>();

function waypointOf(iface: Interface): ParsedAddress | undefined {
  const text = iface.waypoint!;
  const hit = parsedWaypoints.get(iface);
  if (hit !== undefined && hit.text === text) return hit.address;
  const address = parseAddress(text);
  parsedWaypoints.set(iface, { text, address });
  return address;
}

const wanCache = new WeakMap<Router, { interfaces: readonly Interface[]; wans: Array<[Interface, ParsedAddress]> }>();

/** WAN interfaces with a usable waypoint, with the parsed waypoint (once per router's interface list). */
function wanInterfaces(router: Router): Array<[Interface, ParsedAddress]> {
  const hit = wanCache.get(router);
  if (hit !== undefined && hit.interfaces === router.interfaces) return hit.wans;
  const wans: Array<[Interface, ParsedAddress]> = [];
  for (const iface of router.interfaces) {
    if (iface.kind !== 'wan' || iface.waypoint === undefined) continue;
    const address = waypointOf(iface);
    if (address !== undefined) wans.push([iface, address]);
  }
  wanCache.set(router, { interfaces: router.interfaces, wans });
  return wans;
}

/** `router/interface`, the name of a path endpoint. */
export function endpointName(router: Router, iface: Interface): string {
  return `${router.name}/${iface.name}`;
}
