/**
 * Peer paths from neighborhoods (mesh topology, as an SSR conductor generates adjacencies): a WAN
 * interface A of this router and a WAN interface B of another router that share a neighborhood name
 * and an address family form one path A->B. Order: peer routers in config order, then A, then B.
 */
import { parseAddress, type ParsedAddress } from '../packet/addr.js';
import type { Authority, Interface, Router } from './config.js';

export interface MeshLink {
  readonly local: Interface;
  readonly localAddress: ParsedAddress;
  readonly peer: Router;
  readonly remote: Interface;
  readonly remoteAddress: ParsedAddress;
  /** First neighborhood of `local` (in its order) that `remote` also has. */
  readonly neighborhood: string;
  /** The vector of A's neighborhood entry, else B's, else ''. */
  readonly vector: string;
}

export function meshLinks(authority: Authority, router: Router): MeshLink[] {
  const links: MeshLink[] = [];
  const localWans = wanInterfaces(router);
  for (const peer of authority.routers) {
    if (peer === router || peer.name === router.name) continue;
    for (const [local, localAddress] of localWans) {
      for (const [remote, remoteAddress] of wanInterfaces(peer)) {
        if (localAddress.family !== remoteAddress.family) continue;
        const shared = local.neighborhoods.find((n) => remote.neighborhoods.some((m) => m.name === n.name));
        if (shared === undefined) continue;
        const theirs = remote.neighborhoods.find((m) => m.name === shared.name);
        const vector = shared.vector ?? theirs?.vector ?? '';
        links.push({ local, localAddress, peer, remote, remoteAddress, neighborhood: shared.name, vector });
      }
    }
  }
  return links;
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
