/**
 * The service FIB: destination (+ protocol, port) -> service, filtered by access policy.
 *
 * One entry per (service, address, transport spec), ranked by match class:
 *   port-qualified (tcp/udp with ports) > protocol-qualified (protocol, no ports) > address-only
 *   (service without transport). A higher class wins even with a shorter prefix
 *   (0.0.0.0/0 tcp 80 beats 10.0.0.1/32 with no transport); within a class the longest prefix
 *   wins, then config order.
 *
 * Entries sharing a prefix form a group in a PrefixTrie; within a group they are sorted by class,
 * then config order, so the first usable entry of a group is that group's best. A lookup walks the
 * groups containing the destination from longest to shortest.
 *
 * Tenant view: only entries whose service the tenant may reach (AccessTable) are usable. This is
 * the same as one FIB per tenant holding the services it may reach, without copying the trie per
 * tenant. When no usable entry matches but some entry does, the answer is LOOKUP_ACCESS_DENIED.
 * Lookups are allocation-free; not re-entrant (one scratch array per FIB). Each lookup notes the entry
 * it chose and the first entry access refused (two integers), which `lastLookup()` names for `svr explain`.
 */
import { formatPrefix, maskPrefix, type AddressFamily, type ParsedPrefix } from '../packet/addr.js';
import type { AccessTable } from './access-table.js';
import type { PortRange } from './config.js';
import { PrefixTrie, type PrefixTrieParts } from './prefix-trie.js';
import { LOOKUP_ACCESS_DENIED, LOOKUP_NO_SERVICE } from './tables.js';

export const MATCH_ADDRESS = 0;
export const MATCH_PROTOCOL = 1;
export const MATCH_PORT = 2;

export interface FibEntry {
  readonly service: number;
  readonly prefix: ParsedPrefix;
  /** IP protocol number, or -1 for any protocol. */
  readonly protocol: number;
  /** Empty = any port. */
  readonly ports: readonly PortRange[];
}

/**
 * A ServiceFib as typed arrays (trie of prefix groups, entries sorted by group then class and config order):
 * built once, handed to another thread by transfer and wrapped there without copying.
 */
export interface ServiceFibParts {
  readonly trie: PrefixTrieParts;
  /** per group g: its entries are sorted positions groupStart[g] .. groupStart[g + 1] */
  readonly groupStart: Int32Array;
  /** per sorted position: service id, match class, IP protocol (-1: any), its port ranges ports[portStart, portEnd) */
  readonly service: Int32Array;
  readonly matchClass: Uint8Array;
  readonly protocol: Int32Array;
  readonly portStart: Int32Array;
  readonly portEnd: Int32Array;
  /** from,to pairs */
  readonly ports: Int32Array;
  /** per sorted position: the entry's index in config order */
  readonly order: Int32Array;
}

export class ServiceFib {
  readonly #trie: PrefixTrie;
  readonly #access: AccessTable;
  readonly #scratch = new Int32Array(129);
  readonly #groupStart: Int32Array;
  readonly #service: Int32Array;
  readonly #class: Uint8Array;
  readonly #protocol: Int32Array;
  readonly #portStart: Int32Array;
  readonly #portEnd: Int32Array;
  readonly #ports: Int32Array;
  readonly #order: Int32Array;
  /** the entries in config order, made when `svr explain` first asks (lastLookup) */
  readonly #entriesOf: () => readonly FibEntry[];
  #entries: readonly FibEntry[] | undefined;
  /** the last lookup: sorted positions of the entry chosen and of the first one access refused, -1 when none */
  #lastEntry = -1;
  #lastRefused = -1;
  readonly parts: ServiceFibParts;

  /** Wraps built parts (no copy); `entriesOf()` gives the entries they were built from, in config order. */
  constructor(parts: ServiceFibParts, access: AccessTable, entriesOf: () => readonly FibEntry[]) {
    this.parts = parts;
    this.#trie = PrefixTrie.fromParts(parts.trie);
    this.#access = access;
    this.#groupStart = parts.groupStart;
    this.#service = parts.service;
    this.#class = parts.matchClass;
    this.#protocol = parts.protocol;
    this.#portStart = parts.portStart;
    this.#portEnd = parts.portEnd;
    this.#ports = parts.ports;
    this.#order = parts.order;
    this.#entriesOf = entriesOf;
  }

  /** `entries` in config order (services, then their addresses, then their transport specs). */
  static build(entries: readonly FibEntry[], access: AccessTable): ServiceFib {
    const trie = new PrefixTrie();
    const groups = new Map<string, { prefix: ParsedPrefix; members: number[] }>();
    entries.forEach((entry, order) => {
      const prefix = maskPrefix(entry.prefix);
      const key = formatPrefix(prefix);
      const group = groups.get(key) ?? { prefix, members: [] };
      group.members.push(order);
      groups.set(key, group);
    });

    const sorted: number[] = [];
    const groupStart = new Int32Array(groups.size + 1);
    let g = 0;
    for (const { prefix, members } of groups.values()) {
      members.sort((a, b) => matchClass(entries[b]!) - matchClass(entries[a]!) || a - b);
      groupStart[g] = sorted.length;
      sorted.push(...members);
      trie.insert(prefix.bytes, prefix.length, g++);
    }
    groupStart[g] = sorted.length;

    const n = sorted.length;
    const p = { service: new Int32Array(n), matchClass: new Uint8Array(n), protocol: new Int32Array(n), portStart: new Int32Array(n), portEnd: new Int32Array(n) };
    const ports: number[] = [];
    sorted.forEach((order, i) => {
      const e = entries[order]!;
      p.service[i] = e.service;
      p.matchClass[i] = matchClass(e);
      p.protocol[i] = e.protocol;
      p.portStart[i] = ports.length;
      for (const r of e.ports) ports.push(r.from, r.to);
      p.portEnd[i] = ports.length;
    });
    return new ServiceFib({ ...p, trie: trie.parts, groupStart, ports: Int32Array.from(ports), order: Int32Array.from(sorted) }, access, () => entries);
  }

  /** The entries the last lookup chose and (first) found refused by access policy. */
  lastLookup(): { chosen?: FibEntry; refused?: FibEntry } {
    const entries = (this.#entries ??= this.#entriesOf());
    const at = (sorted: number): FibEntry => entries[this.#order[sorted]!]!;
    return {
      ...(this.#lastEntry >= 0 ? { chosen: at(this.#lastEntry) } : {}),
      ...(this.#lastRefused >= 0 ? { refused: at(this.#lastRefused) } : {}),
    };
  }

  /**
   * Best service for `tenant` (or -1 = no tenant) sending from buf[srcOff] to buf[dstOff] with IP
   * `protocol` and destination `port`: a service id, LOOKUP_ACCESS_DENIED or LOOKUP_NO_SERVICE.
   */
  lookup(tenant: number, buf: Uint8Array, srcOff: number, dstOff: number, family: AddressFamily, protocol: number, port: number): number {
    const groups = this.#scratch;
    const n = this.#trie.matches(buf, dstOff, family, groups);
    const start = this.#groupStart;
    const cls = this.#class;
    let best = LOOKUP_NO_SERVICE;
    let bestClass = -1;
    let matched = false;
    this.#lastEntry = -1;
    this.#lastRefused = -1;
    for (let i = 0; i < n && bestClass !== MATCH_PORT; i++) {
      const g = groups[i]!;
      const end = start[g + 1]!;
      for (let e = start[g]!; e < end; e++) {
        // Groups come longest first: an equal class from a shorter prefix cannot win.
        if (cls[e]! <= bestClass) break;
        if (!this.#transportMatches(e, protocol, port)) continue;
        matched = true;
        const service = this.#service[e]!;
        if (!this.#access.allows(tenant, service, buf, srcOff, family)) {
          if (this.#lastRefused < 0) this.#lastRefused = e;
          continue;
        }
        best = service;
        bestClass = cls[e]!;
        this.#lastEntry = e;
        break;
      }
    }
    return best !== LOOKUP_NO_SERVICE ? best : matched ? LOOKUP_ACCESS_DENIED : LOOKUP_NO_SERVICE;
  }

  #transportMatches(e: number, protocol: number, port: number): boolean {
    const p = this.#protocol[e]!;
    if (p === -1) return true;
    if (p !== protocol) return false;
    const end = this.#portEnd[e]!;
    let i = this.#portStart[e]!;
    if (i === end) return true;
    const ports = this.#ports;
    for (; i < end; i += 2) if (port >= ports[i]! && port <= ports[i + 1]!) return true;
    return false;
  }
}

function matchClass(e: FibEntry): number {
  if (e.protocol === -1) return MATCH_ADDRESS;
  return e.ports.length === 0 ? MATCH_PROTOCOL : MATCH_PORT;
}
