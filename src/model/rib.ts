/**
 * The RIB of one router (docs/routing.md): static routes from its config and routes learned from FRR
 * (through FPM), each with an administrative distance; per prefix the lowest distance is selected
 * (ties: static before learned, then the order given). Selected routes are what the data path follows
 * for local delivery (`routeLocal`): svr-accept's fallback and services with `use-learned-routes`.
 *
 * Learned routes deliver through the routing instance's lan interface (`routing.interface`); their
 * gateway is resolved by the kernel of the node's namespace, where zebra installs the same routes.
 */
import { formatPrefix, maskPrefix, parsePrefix, type ParsedPrefix } from '../packet/addr.js';
import type { Router } from './config.js';

/** A route FRR's zebra selected and sent over FPM. */
export interface LearnedRoute {
  /** masked prefix in canonical text, `198.18.50.0/24` (as netlink.ts writes it) */
  readonly prefix: string;
  /** the next hop's address, absent for a directly connected or blackhole route */
  readonly gateway?: string;
  /** the route's origin as zebra names it (netlink rtm_protocol): bgp, static, ospf, kernel, zebra, ... */
  readonly protocol: string;
  /** administrative distance (docs/routing.md: by protocol, eBGP 20) */
  readonly distance: number;
  /** netlink RTA_PRIORITY (zebra's metric), 0 when absent */
  readonly metric: number;
  /** a blackhole route: what it holds is dropped (no-route) */
  readonly blackhole?: boolean;
}

export interface RibEntry {
  readonly prefix: string;
  readonly protocol: string;
  readonly distance: number;
  readonly metric: number;
  /** the lan interface the route delivers through; BLACKHOLE for a blackhole route */
  readonly interface: string;
  readonly gateway?: string;
  /** the route the FIB follows for this prefix */
  readonly selected: boolean;
}

/**
 * Every route of the RIB, static first then learned, with the selected one of each prefix marked. Learned
 * prefixes are taken as given: masked, in canonical text (routing/netlink.ts writes them so); static ones
 * are masked here. Cost: about one Map operation and one object per route (100,000 routes: bench/routing.ts).
 */
/** The `interface` of a blackhole route in the RIB. */
export const BLACKHOLE = 'blackhole';

export function ribEntries(router: Router, learned: readonly LearnedRoute[]): RibEntry[] {
  const entries: { -readonly [K in keyof RibEntry]: RibEntry[K] }[] = [];
  const best = new Map<string, number>();
  const add = (prefix: string, protocol: string, distance: number, metric: number, iface: string, gateway: string | undefined): void => {
    const at = best.get(prefix);
    const selected = at === undefined || distance < entries[at]!.distance;
    if (selected) {
      if (at !== undefined) entries[at]!.selected = false;
      best.set(prefix, entries.length);
    }
    entries.push(gateway === undefined ? { prefix, protocol, distance, metric, interface: iface, selected } : { prefix, protocol, distance, metric, interface: iface, gateway, selected });
  };
  for (const r of router.routes) {
    const p = parsePrefix(r.prefix);
    if (p !== undefined) add(formatPrefix(maskPrefix(p)), 'static', r.distance, 0, r.blackhole === true ? BLACKHOLE : r.interface ?? BLACKHOLE, r.gateway);
  }
  const via = router.routing?.interface;
  if (via !== undefined) for (const r of learned) add(r.prefix, r.protocol, r.distance, r.metric, r.blackhole === true ? BLACKHOLE : via, r.gateway);
  return entries;
}

/** The parsed prefix of a RIB entry (entries hold masked, valid prefixes). */
export function ribPrefix(entry: RibEntry): ParsedPrefix {
  return parsePrefix(entry.prefix)!;
}

/** The learned routes a RIB was built from (a data-path worker compiles its tables from config + these). */
export function learnedOf(rib: readonly RibEntry[]): LearnedRoute[] {
  return rib.filter((r) => r.protocol !== 'static').map((r) => ({
    prefix: r.prefix, protocol: r.protocol, distance: r.distance, metric: r.metric, ...(r.gateway !== undefined ? { gateway: r.gateway } : {}),
    ...(r.interface === BLACKHOLE ? { blackhole: true } : {}),
  }));
}
