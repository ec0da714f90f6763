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
  return links(authority, router, false);
}

/** The paths neighborhoods and topologies alone give (what a conductor writes out as generated adjacencies). */
export function neighborhoodLinks(authority: Authority, router: Router): PeerLink[] {
  return links(authority, router, true);
}

/** Whether two entries of one neighborhood peer: hub-hub and spoke-spoke do not. */
export function topologiesPeer(a: NeighborhoodTopology | undefined, b: NeighborhoodTopology | undefined): boolean {
  const x = a ?? 'mesh';
  const y = b ?? 'mesh';
  return x === 'mesh' || y === 'mesh' || x !== y;
}

function links(authority: Authority, router: Router, ignoreAdjacencies: boolean): PeerLink[] {
  const out: PeerLink[] = [];
  const localWans = wanInterfaces(router);
  for (const peer of authority.routers) {
    if (peer === router || peer.name === router.name) continue;
    const remoteWans = wanInterfaces(peer);
    for (const [local, localAddress] of localWans) {
      for (const [remote, remoteAddress] of remoteWans) {
        if (localAddress.family !== remoteAddress.family) continue;
        const adj = ignoreAdjacencies ? undefined : local.adjacencies?.find((x) => x.peer === peer.name && x.interface === remote.name);
        const chosen = adj === undefined ? undefined : local.neighborhoods.find((n) => n.name === adj.neighborhood);
        const shared = chosen ?? local.neighborhoods.find((n) => remote.neighborhoods.some((m) => m.name === n.name && topologiesPeer(n.topology, m.topology)));
        if (shared !== undefined) out.push(link(local, localAddress, peer, remote, remoteAddress, shared));
      }
    }
  }
  return out;
}

function link(local: Interface, localAddress: ParsedAddress, peer: Router, remote: Interface, remoteAddress: ParsedAddress, entry: NeighborhoodRef): PeerLink {
  const theirs = remote.neighborhoods.find((m) => m.name === entry.name);
  const vector = entry.vector ?? theirs?.vector ?? '';
  return { local, localAddress, peer, remote, remoteAddress, neighborhood: entry.name, vector };
}

/** WAN interfaces with a usable waypoint, with the parsed waypoint. */
function wanInterfaces(router: Router): Array<[Interface, ParsedAddress]> {
  const out: Array<[Interface, ParsedAddress]> = [];
  for (const iface of router.interfaces) {
    if (iface.kind !== 'wan' || iface.waypoint === undefined) continue;
    const address = parseAddress(iface.waypoint);
    if (address !== undefined) out.push([iface, address]);
  }
  return out;
}

/** `router/interface`, the name of a path endpoint. */
export function endpointName(router: Router, iface: Interface): string {
  return `${router.name}/${iface.name}`;
}
