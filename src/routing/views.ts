/**
 * `svr show rib` and `svr show fib` (and their REST twins): the RIB the tables were compiled with, and the
 * service FIB: one entry per (service, address, transport) of this router with the tenants its access
 * policy names and the next hops its service-routes give now.
 */
import { parsePrefix, prefixContains, type ParsedPrefix } from '../packet/addr.js';
import type { SvrConfig } from '../model/config.js';
import type { RibEntry } from '../model/rib.js';
import type { ForwardingTables } from '../model/tables.js';

export interface RibView {
  routes: RibEntry[];
  /** selected routes by protocol */
  counts: Record<string, number>;
}

export interface FibRow {
  prefix: string;
  protocol: string;
  ports: string;
  tenants: string[];
  service: string;
  nextHops: string[];
}

export interface FibView {
  /** selected RIB routes the data path follows (static + learned) */
  routes: number;
  entries: FibRow[];
}

export function ribView(t: ForwardingTables): RibView {
  const counts: Record<string, number> = {};
  for (const r of t.rib) if (r.selected) counts[r.protocol] = (counts[r.protocol] ?? 0) + 1;
  return { routes: [...t.rib], counts };
}

/** At most this many RIB routes are named per learned next hop (the rest counted). */
const NAMED_ROUTES = 4;

export function fibView(t: ForwardingTables, config: SvrConfig, isPathUp: (path: number) => boolean): FibView {
  const selected = t.rib.filter((r) => r.selected).map((r) => ({ r, p: parsePrefix(r.prefix)! }));
  const services = new Map(config.authority.services.map((s) => [s.name, s]));
  const entries: FibRow[] = [];
  for (const svc of t.services) {
    const s = services.get(svc.name);
    if (s === undefined) continue;
    const tenants = s.accessPolicy.filter((a) => a.permission === 'allow').map((a) => a.source);
    for (const address of s.addresses) {
      const prefix = parsePrefix(address);
      const nextHops = svc.routes.flatMap((route): string[] => {
        if (route.kind === 'local') return [`${route.name}: ${t.interfaces[route.interface]!.name}`];
        if (route.kind === 'peer') {
          const peer = t.peers[route.peer]!;
          const up = peer.paths.filter(isPathUp).length;
          return [`${route.name}: peer ${peer.name} (${up}/${peer.paths.length} paths up)`];
        }
        const hops = prefix === undefined ? [] : ribRoutesFor(selected, prefix);
        if (hops.length === 0) return [`${route.name}: RIB, no route (new sessions refused: no-route)`];
        const named = hops.slice(0, NAMED_ROUTES).map((h) => `${h.prefix}${h.gateway !== undefined ? ` via ${h.gateway}` : ''} ${h.interface} (${h.protocol})`);
        return [`${route.name}: ${named.join(', ')}${hops.length > NAMED_ROUTES ? ` and ${hops.length - NAMED_ROUTES} more` : ''}`];
      });
      const transports = s.transport.length === 0 ? [{ protocol: 'any', ports: [] as { from: number; to: number }[] }] : s.transport;
      for (const tr of transports) {
        entries.push({
          prefix: address, protocol: tr.protocol, ports: tr.ports.map((p) => (p.from === p.to ? `${p.from}` : `${p.from}-${p.to}`)).join(',') || 'any',
          tenants, service: svc.name, nextHops: nextHops.length > 0 ? nextHops : ['(no service-route: peers that announce it)'],
        });
      }
    }
  }
  return { routes: selected.length, entries };
}

/** The selected routes a service prefix can use: the longest one holding the whole prefix, and every more specific one inside it. */
function ribRoutesFor(selected: readonly { r: RibEntry; p: ParsedPrefix }[], prefix: ParsedPrefix): RibEntry[] {
  let covering: { r: RibEntry; p: ParsedPrefix } | undefined;
  const inside: RibEntry[] = [];
  for (const x of selected) {
    if (x.p.family !== prefix.family) continue;
    if (x.p.length <= prefix.length && prefixContains(x.p, prefix.bytes, 0, prefix.family)) {
      if (covering === undefined || x.p.length > covering.p.length) covering = x;
    } else if (x.p.length > prefix.length && prefixContains(prefix, x.p.bytes, 0, prefix.family)) inside.push(x.r);
  }
  return covering === undefined ? inside : [covering.r, ...inside];
}
