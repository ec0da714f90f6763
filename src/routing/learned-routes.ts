/**
 * The routes zebra sent over FPM, by prefix: what the node's RIB learns (docs/routing.md). Only the main
 * table's unicast routes with a next hop or an interface, and its blackhole routes, enter; each gets the administrative distance of
 * its protocol. Bounded: at most `maxRoutes` prefixes (a flood beyond that is counted, not learned).
 * Stale handling: when zebra's connection is lost the routes stay for `staleHoldMs` (sessions keep their
 * routes through an FRR restart); when it comes back, zebra sends its table again, and routes it did not
 * send again within `staleHoldMs` go.
 */
import type { LearnedRoute } from '../model/rib.js';
import type { RouteMessage } from './netlink.js';
import { RTN_BLACKHOLE, RTN_UNICAST } from './netlink.js';

/** Administrative distances by protocol (FRR's defaults; zebra does not send iBGP/eBGP apart: BGP is eBGP's 20). */
export const DISTANCE: Readonly<Record<string, number>> = { connected: 0, kernel: 0, static: 1, bgp: 20, ospf: 110, isis: 115, rip: 120 };
const OTHER_DISTANCE = 200;
const MAIN_TABLE = 254;
/** Default bound of the learned table: 200,000 prefixes (about 60 MB of RIB and trie, docs/routing.md). */
export const MAX_LEARNED_ROUTES = 200_000;

export interface LearnedCounters {
  added: number;
  withdrawn: number;
  /** other tables, unreachable/prohibit routes, routes without a next hop */
  skipped: number;
  /** beyond maxRoutes */
  overflow: number;
  /** removed by the stale hold */
  aged: number;
}

interface Held {
  route: LearnedRoute;
  epoch: number;
}

export class LearnedRoutes {
  readonly counters: LearnedCounters = { added: 0, withdrawn: 0, skipped: 0, overflow: 0, aged: 0 };
  readonly #routes = new Map<string, Held>();
  /** prefixes added, changed or removed since the last `takeChanges` */
  readonly #dirty = new Set<string>();
  #epoch = 0;

  constructor(private readonly maxRoutes = MAX_LEARNED_ROUTES) {}

  get size(): number {
    return this.#routes.size;
  }

  list(): LearnedRoute[] {
    return [...this.#routes.values()].map((h) => h.route);
  }

  /** What changed since the last call: the routes of the prefixes added or changed, and the prefixes removed. */
  takeChanges(): { set: LearnedRoute[]; removed: string[] } {
    const set: LearnedRoute[] = [];
    const removed: string[] = [];
    for (const prefix of this.#dirty) {
      const h = this.#routes.get(prefix);
      if (h === undefined) removed.push(prefix);
      else set.push(h.route);
    }
    this.#dirty.clear();
    return { set, removed };
  }

  /** Applies zebra's messages; true when the table changed. */
  apply(messages: readonly RouteMessage[]): boolean {
    let changed = false;
    for (const m of messages) {
      if (m.table !== MAIN_TABLE) {
        this.counters.skipped++;
        continue;
      }
      if (m.op === 'del') {
        if (this.#routes.delete(m.prefix)) {
          this.#dirty.add(m.prefix);
          this.counters.withdrawn++;
          changed = true;
        }
        continue;
      }
      const blackhole = m.type === RTN_BLACKHOLE;
      if (!blackhole && (m.type !== RTN_UNICAST || m.nextHops.length === 0)) {
        this.counters.skipped++;
        if (this.#routes.delete(m.prefix)) { // replaced by an unreachable/prohibit route: gone
          this.#dirty.add(m.prefix);
          changed = true;
        }
        continue;
      }
      if (!this.#routes.has(m.prefix) && this.#routes.size >= this.maxRoutes) {
        this.counters.overflow++;
        continue;
      }
      const gateway = m.nextHops.find((h) => h.gateway !== undefined)?.gateway;
      const route: LearnedRoute = {
        prefix: m.prefix, protocol: m.protocol, distance: DISTANCE[m.protocol] ?? OTHER_DISTANCE, metric: m.metric,
        ...(gateway !== undefined ? { gateway } : {}), ...(blackhole ? { blackhole: true } : {}),
      };
      this.#routes.set(m.prefix, { route, epoch: this.#epoch });
      this.#dirty.add(m.prefix);
      this.counters.added++;
      changed = true;
    }
    return changed;
  }

  /** zebra connected again: routes it does not send again before `ageOut()` are dropped then. */
  newEpoch(): void {
    this.#epoch++;
  }

  /** Drops routes older than the current epoch (stale hold over); true when any went. */
  ageOut(): boolean {
    let gone = 0;
    for (const [prefix, h] of this.#routes) {
      if (h.epoch < this.#epoch) {
        this.#routes.delete(prefix);
        this.#dirty.add(prefix);
        gone++;
      }
    }
    this.counters.aged += gone;
    return gone > 0;
  }
}
