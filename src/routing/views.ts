/**
 * `svr show rib` and `svr show fib` (and their REST twins): the RIB the tables were compiled with, and the
 * service FIB: one entry per (service, address, transport) of this router with the tenants its access
 * policy names and the next hops its service-routes give now. With VRFs (`routing.vrfs`) both are per VRF:
 * `vrf` narrows them to one (`--vrf`, REST `?vrf=`); a service with `use-learned-routes` gets a row per VRF.
 */
import { parsePrefix, prefixContains, type ParsedPrefix } from '../packet/addr.js';
import type { SvrConfig } from '../model/config.js';
import { DEFAULT_VRF, type RibEntry } from '../model/rib.js';
import { SvrError } from '../errors.js';
import type { ForwardingTables } from '../model/tables.js';

export interface RibView {
  /** the router's VRFs (DEFAULT_VRF first) */
  vrfs: string[];
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
  /** the VRF whose RIB gave the learned next hops (a service with `use-learned-routes`), else absent */
  vrf?: string;
  nextHops: string[];
}

export interface FibView {
  vrfs: string[];
  /** selected RIB routes the data path follows (static + learned) */
  routes: number;
  entries: FibRow[];
}

/** The VRFs of the RIB (DEFAULT_VRF first); `vrf`, when given, must be one of them. */
function vrfsOf(t: ForwardingTables, vrf: string | undefined): string[] {
  const vrfs = [...new Set([DEFAULT_VRF, ...t.rib.map((r) => r.vrf)])];
  if (vrf !== undefined && !vrfs.includes(vrf)) throw new SvrError('SVR_ERR_CONTROL_REQUEST', `no VRF named "${vrf}" on ${t.routerName}; VRFs: ${vrfs.join(', ')} (routing.vrfs)`, { vrf });
  return vrfs;
}

export function ribView(t: ForwardingTables, vrf?: string): RibView {
  const vrfs = vrfsOf(t, vrf);
  const routes = vrf === undefined ? [...t.rib] : t.rib.filter((r) => r.vrf === vrf);
  const counts: Record<string, number> = {};
  for (const r of routes) if (r.selected) counts[r.protocol] = (counts[r.protocol] ?? 0) + 1;
  return { vrfs, routes, counts };
}

/** At most this many RIB routes are named per learned next hop (the rest counted). */
const NAMED_ROUTES = 4;

export function fibView(t: ForwardingTables, config: SvrConfig, isPathUp: (path: number) => boolean, vrf?: string): FibView {
  const vrfs = vrfsOf(t, vrf);
  const shown = vrf === undefined ? vrfs : [vrf];
  const all = t.rib.filter((r) => r.selected && shown.includes(r.vrf)).map((r) => ({ r, p: parsePrefix(r.prefix)! }));
  const selectedIn = new Map(shown.map((v) => [v, all.filter((x) => x.r.vrf === v)]));
  const services = new Map(config.authority.services.map((s) => [s.name, s]));
  const entries: FibRow[] = [];
  for (const svc of t.services) {
    const s = services.get(svc.name);
    if (s === undefined) continue;
    const tenants = s.accessPolicy.filter((a) => a.permission === 'allow').map((a) => a.source);
    const learnedVrfs: (string | undefined)[] = svc.routes.some((r) => r.kind === 'learned') ? shown : [undefined];
    for (const address of s.addresses) for (const inVrf of learnedVrfs) {
      const prefix = parsePrefix(address);
      const selected = selectedIn.get(inVrf ?? DEFAULT_VRF) ?? [];
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
          tenants, service: svc.name, ...(inVrf !== undefined ? { vrf: inVrf } : {}), nextHops: nextHops.length > 0 ? nextHops : ['(no service-route: peers that announce it)'],
        });
      }
    }
  }
  return { vrfs, routes: all.length, entries };
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
