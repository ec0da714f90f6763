/**
 * The RIB of one router (docs/routing.md): static routes from its config and routes learned from FRR
 * (through FPM), each with an administrative distance; per prefix the lowest distance is selected
 * (ties: static before learned, then the order given). Selected routes are what the data path follows
 * for local delivery (`routeLocal`): svr-accept's fallback and services with `use-learned-routes`.
 *
 * Learned routes deliver through the routing instance's lan interface (`routing.interface`); their
 * gateway is resolved by the kernel of the node's namespace, where zebra installs the same routes.
 *
 * VRFs (`routing.vrfs`): one table per VRF, each with its static routes, the learned routes of its FRR
 * table id and its own trie; the default VRF (index 0) holds the router's `routes` and the main table's.
 */
import { SvrError } from '../errors.js';
import { formatPrefix, maskPrefix, parsePrefix } from '../packet/addr.js';
import type { Route, Router } from './config.js';
import { PrefixTrie } from './prefix-trie.js';
import { ROUTE_BLACKHOLE } from './tables.js';

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
  /** FRR's routing table (a VRF's `table`); absent: the main table, the default VRF */
  readonly table?: number;
}

/** The VRF of tenants in no VRF: the router's `routes` and FRR's main table. */
export const DEFAULT_VRF = 'default';

/** A learned route's key, unique across VRFs: its prefix, with `%table` outside the main table (changes name removed routes by it). */
export function learnedKey(prefix: string, table: number | undefined): string {
  return table === undefined ? prefix : `${prefix}%${table}`;
}

export interface RibEntry {
  /** the VRF the route is in (DEFAULT_VRF or a `routing.vrfs` name) */
  readonly vrf: string;
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

/** The `interface` of a blackhole route in the RIB. */
export const BLACKHOLE = 'blackhole';

/** Withdrawn prefixes the trie keeps nodes for before it is built anew (at least; or as many as live routes). */
const MIN_REBUILD = 10_000;

/** A static route of the config as the RIB holds it. */
interface StaticRoute {
  readonly prefix: string;
  readonly distance: number;
  readonly interface: string;
  readonly gateway?: string;
}

/**
 * The RIB of one VRF, kept up to date route by route: its static routes (fixed for a config
 * generation), the learned routes by prefix, and the longest-prefix trie of the selected ones (prefix ->
 * lan interface index, ROUTE_BLACKHOLE for a blackhole) that `routeLocal` reads. A RIB change (`replace`)
 * touches only the prefixes that differ: per changed prefix one Map update and one trie write, instead of
 * rebuilding the whole RIB and trie (bench/routing.ts: 100,000 routes, one changed). Learned prefixes are
 * taken as given: masked, in canonical text (routing/netlink.ts writes them so); static ones are masked here.
 * One instance per config generation (the router's control builds a new one when the config changes); the
 * tables compiled with it share it, so the data path sees a change at the next table swap, between batches.
 */
class VrfRib {
  readonly #static = new Map<string, StaticRoute[]>();
  readonly #learned = new Map<string, LearnedRoute>();
  readonly #ifIndex: ReadonlyMap<string, number>;
  /** learned routes deliver through this lan interface; without a routing instance none are learned */
  readonly #via: string | undefined;
  #trie: PrefixTrie;
  /** prefixes removed from the trie since it was built (their nodes stay): past the live routes, it is built anew */
  #removed = 0;
  #entries: RibEntry[] | undefined;

  constructor(readonly name: string, routes: readonly Route[], ifIndex: ReadonlyMap<string, number>, via: string | undefined, learned: readonly LearnedRoute[]) {
    this.#ifIndex = ifIndex;
    this.#via = via;
    this.#trie = new PrefixTrie(Math.ceil((routes.length + learned.length) / 4));
    for (const r of routes) {
      const p = parsePrefix(r.prefix);
      if (p === undefined) continue;
      const prefix = formatPrefix(maskPrefix(p));
      const route: StaticRoute = { prefix, distance: r.distance, interface: r.blackhole === true ? BLACKHOLE : r.interface ?? BLACKHOLE, ...(r.gateway !== undefined ? { gateway: r.gateway } : {}) };
      const list = this.#static.get(prefix);
      if (list === undefined) this.#static.set(prefix, [route]);
      else list.push(route);
    }
    for (const prefix of this.#static.keys()) this.#select(prefix);
    if (this.#via !== undefined) for (const r of learned) this.#learned.set(r.prefix, r);
    for (const prefix of this.#learned.keys()) this.#select(prefix);
  }

  /** The trie of the selected routes (prefix -> lan interface index or ROUTE_BLACKHOLE); tables compiled with
   *  this RIB read the one they got (it is replaced when rebuilt, after many withdrawals). */
  get trie(): PrefixTrie {
    return this.#trie;
  }

  get learnedCount(): number {
    return this.#learned.size;
  }

  /**
   * The learned routes are now `routes` (zebra's whole table): prefixes that are new, gone or changed are
   * updated, the others left alone. Returns how many prefixes changed.
   */
  replace(routes: readonly LearnedRoute[]): number {
    if (this.#via === undefined) return 0;
    const seen = new Set<string>();
    let changed = 0;
    for (const r of routes) {
      seen.add(r.prefix);
      const was = this.#learned.get(r.prefix);
      if (was !== undefined && sameRoute(was, r)) continue;
      this.#learned.set(r.prefix, r);
      this.#select(r.prefix);
      changed++;
    }
    if (seen.size < this.#learned.size) {
      for (const prefix of [...this.#learned.keys()]) {
        if (seen.has(prefix)) continue;
        this.#learned.delete(prefix);
        this.#select(prefix);
        changed++;
      }
    }
    return this.#changed(changed);
  }

  /** After a change: the entries are made again when asked; a trie holding more removed prefixes than live ones is built anew. */
  #changed(changed: number): number {
    if (changed === 0) return 0;
    this.#entries = undefined;
    const live = this.#static.size + this.#learned.size;
    if (this.#removed > Math.max(live, MIN_REBUILD)) {
      this.#trie = new PrefixTrie(Math.ceil(live / 4));
      this.#removed = 0;
      for (const prefix of this.#static.keys()) this.#select(prefix);
      for (const prefix of this.#learned.keys()) this.#select(prefix);
    }
    return changed;
  }

  /**
   * Some learned routes changed: `set` are new or changed (by prefix), `removed` the prefixes withdrawn.
   * Only those prefixes are touched. Returns how many changed.
   */
  update(set: readonly LearnedRoute[], removed: readonly string[]): number {
    if (this.#via === undefined) return 0;
    let changed = 0;
    for (const prefix of removed) {
      if (!this.#learned.delete(prefix)) continue;
      this.#select(prefix);
      changed++;
    }
    for (const r of set) {
      const was = this.#learned.get(r.prefix);
      if (was !== undefined && sameRoute(was, r)) continue;
      this.#learned.set(r.prefix, r);
      this.#select(r.prefix);
      changed++;
    }
    return this.#changed(changed);
  }

  /** The learned routes, in the order they were first learned. */
  learnedRoutes(): LearnedRoute[] {
    return [...this.#learned.values()];
  }

  /** Every route, static first then learned, the selected one of each prefix marked (made on demand, for views). */
  entries(): readonly RibEntry[] {
    if (this.#entries !== undefined) return this.#entries;
    const out: RibEntry[] = [];
    for (const [prefix, list] of this.#static) {
      const best = this.#bestStatic(list);
      const learned = this.#learned.get(prefix);
      const learnedWins = learned !== undefined && (best === undefined || learned.distance < best.distance);
      for (const r of list) out.push({ vrf: this.name, ...r, protocol: 'static', metric: 0, selected: r === best && !learnedWins });
    }
    for (const r of this.#learned.values()) {
      const best = this.#bestStatic(this.#static.get(r.prefix));
      out.push(this.#learnedEntry(r, best === undefined || r.distance < best.distance));
    }
    this.#entries = out;
    return out;
  }

  #learnedEntry(r: LearnedRoute, selected: boolean): RibEntry {
    const iface = r.blackhole === true ? BLACKHOLE : this.#via!;
    return { vrf: this.name, prefix: r.prefix, protocol: r.protocol, distance: r.distance, metric: r.metric, interface: iface, ...(r.gateway !== undefined ? { gateway: r.gateway } : {}), selected };
  }

  /** The first static route of the lowest distance (ties: config order). */
  #bestStatic(list: readonly StaticRoute[] | undefined): StaticRoute | undefined {
    let best: StaticRoute | undefined;
    for (const r of list ?? []) if (best === undefined || r.distance < best.distance) best = r;
    return best;
  }

  /** Writes the prefix's selected route into the trie (or removes it when none is left). */
  #select(prefix: string): void {
    const best = this.#bestStatic(this.#static.get(prefix));
    const learned = this.#learned.get(prefix);
    const iface = learned !== undefined && (best === undefined || learned.distance < best.distance)
      ? (learned.blackhole === true ? BLACKHOLE : this.#via!)
      : best?.interface;
    const p = parsePrefix(prefix)!;
    if (iface === undefined) {
      if (this.#trie.remove(p.bytes, p.length) !== -1) this.#removed++;
      return;
    }
    const index = iface === BLACKHOLE ? ROUTE_BLACKHOLE : this.#ifIndex.get(iface);
    if (index === undefined) throw new SvrError('SVR_ERR_CONFIG_INVALID', `cannot compile: route ${prefix} names unknown interface "${iface}" (validate the config with parseConfig first)`);
    this.#trie.insert(p.bytes, p.length, index);
  }
}

/**
 * The RIB of one router: a VrfRib per VRF (index 0 the default VRF, then `routing.vrfs` in order). Learned
 * routes go to the VRF of their table (main: the default; a table no VRF has is not learned). The tables
 * compiled with it take `tries` (per VRF index) and `vrfIndex` (tenant name -> VRF index).
 * One instance per config generation, as before VRFs: a config change builds a new one.
 */
export class Rib {
  readonly #vrfs: VrfRib[];
  readonly #byTable = new Map<number, VrfRib>();
  readonly #tenantVrf = new Map<string, number>();

  constructor(router: Router, learned: readonly LearnedRoute[] = []) {
    const ifIndex = new Map(router.interfaces.map((iface, i) => [iface.name, i]));
    const via = router.routing?.interface;
    const vrfs = router.routing?.vrfs ?? [];
    const byTable = new Map<number | undefined, LearnedRoute[]>();
    for (const r of learned) push(byTable, r.table, r);
    this.#vrfs = [new VrfRib(DEFAULT_VRF, router.routes, ifIndex, via, byTable.get(undefined) ?? [])];
    vrfs.forEach((v, i) => {
      const vrf = new VrfRib(v.name, v.routes, ifIndex, via, byTable.get(v.table) ?? []);
      this.#vrfs.push(vrf);
      this.#byTable.set(v.table, vrf);
      for (const tenant of v.tenants) this.#tenantVrf.set(tenant, i + 1);
    });
  }

  /** The VRFs' names by index (0: DEFAULT_VRF). */
  get vrfNames(): string[] {
    return this.#vrfs.map((v) => v.name);
  }

  /** Each VRF's trie of selected routes, by VRF index (taken by the tables at compile; replaced when rebuilt). */
  get tries(): PrefixTrie[] {
    return this.#vrfs.map((v) => v.trie);
  }

  /** The VRF index a tenant routes in: its own VRF, else its nearest parent's (`child.parent`), else 0 (default). */
  vrfIndex(tenant: string): number {
    for (let name = tenant; ; name = name.slice(name.indexOf('.') + 1)) {
      const index = this.#tenantVrf.get(name);
      if (index !== undefined) return index;
      if (!name.includes('.')) return 0;
    }
  }

  get learnedCount(): number {
    let n = 0;
    for (const v of this.#vrfs) n += v.learnedCount;
    return n;
  }

  #vrfOf(table: number | undefined): VrfRib | undefined {
    return table === undefined ? this.#vrfs[0] : this.#byTable.get(table);
  }

  /** The learned routes are now `routes` (zebra's whole table, every VRF's): see VrfRib.replace. Returns how many prefixes changed. */
  replace(routes: readonly LearnedRoute[]): number {
    const split = new Map<VrfRib, LearnedRoute[]>(this.#vrfs.map((v) => [v, []]));
    for (const r of routes) split.get(this.#vrfOf(r.table)!)?.push(r);
    let changed = 0;
    for (const [vrf, list] of split) changed += vrf.replace(list);
    return changed;
  }

  /** Some learned routes changed: `set` new or changed, `removed` the keys (`learnedKey`) withdrawn. Returns how many changed. */
  update(set: readonly LearnedRoute[], removed: readonly string[]): number {
    const sets = new Map<VrfRib, LearnedRoute[]>();
    const gone = new Map<VrfRib, string[]>();
    for (const r of set) {
      const vrf = this.#vrfOf(r.table);
      if (vrf !== undefined) push(sets, vrf, r);
    }
    for (const key of removed) {
      const at = key.indexOf('%');
      const vrf = this.#vrfOf(at === -1 ? undefined : Number(key.slice(at + 1)));
      if (vrf !== undefined) push(gone, vrf, at === -1 ? key : key.slice(0, at));
    }
    let changed = 0;
    for (const vrf of this.#vrfs) changed += vrf.update(sets.get(vrf) ?? [], gone.get(vrf) ?? []);
    return changed;
  }

  /** The learned routes of every VRF. */
  learnedRoutes(): LearnedRoute[] {
    return this.#vrfs.flatMap((v) => v.learnedRoutes());
  }

  /** Every route of every VRF (default first), the selected one of each prefix marked. */
  entries(): readonly RibEntry[] {
    return this.#vrfs.length === 1 ? this.#vrfs[0]!.entries() : this.#vrfs.flatMap((v) => v.entries());
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

function sameRoute(a: LearnedRoute, b: LearnedRoute): boolean {
  return a.gateway === b.gateway && a.protocol === b.protocol && a.distance === b.distance && a.metric === b.metric && a.blackhole === b.blackhole;
}
