/**
 * A router's `routing` section (docs/routing.md): the lan interface learned routes deliver through, the
 * FPM listener's port, the stale hold, and BGP (through FRR). Everything here must be expressible in an
 * FRR 8.4 config (routing/frr-config.ts): what is not is refused here, with the field path.
 */
import { parseAddress, parsePrefix } from '../packet/addr.js';
import type { Bgp, BgpNeighbor, Route, Routing, Vrf } from './config.js';
import { readList, type ReadContext } from './fields.js';
import { addressProblem, prefixProblem } from './formats.js';
import { isPlainName, isTenantName } from './names.js';
import type { FieldPath } from './problems.js';

export const ROUTING_KEYS = ['interface', 'fpm-port', 'stale-hold', 'bgp', 'vrfs'] as const;
export const VRF_KEYS = ['name', 'table', 'tenants', 'routes'] as const;
/** Linux's reserved tables: unspec 0, default 253, main 254 (the default VRF's), local 255. */
const RESERVED_TABLES = new Set([0, 253, 254, 255]);
export const BGP_KEYS = ['as', 'router-id', 'redistribute-service', 'neighbors'] as const;
export const BGP_NEIGHBOR_KEYS = ['address', 'remote-as', 'multihop', 'keepalive', 'hold', 'bfd', 'max-prefix', 'accept-prefixes'] as const;
export const DEFAULT_FPM_PORT = 2620;
const AS_MAX = 0xffffffff;

/** A route reader (read-router.ts's, passed in: the VRFs' static routes are read as the router's). */
export type ReadRoute = (value: unknown, path: FieldPath, ctx: ReadContext) => Route | undefined;

export function readRouting(value: unknown, path: FieldPath, ctx: ReadContext, readRoute: ReadRoute): Routing | undefined {
  const { r } = ctx;
  const o = r.object(value, path, 'a routing mapping (interface, fpm-port, stale-hold, bgp, vrfs)', ROUTING_KEYS);
  if (o === undefined) return undefined;
  const iface = r.string(o, 'interface', path, 'the name of the lan interface learned routes deliver through', isPlainName);
  const fpmPort = r.integer(o, 'fpm-port', path, 1, 65535, DEFAULT_FPM_PORT);
  const staleHold = r.integer(o, 'stale-hold', path, 0, 3600, 30, ' (seconds)');
  const bgp = o['bgp'] === undefined || o['bgp'] === null ? undefined : readBgp(o['bgp'], [...path, 'bgp'], ctx);
  const vrfs = readVrfs(o, path, ctx, readRoute);
  if (iface === undefined) return undefined;
  const routing: Routing = { interface: iface, fpmPort, staleHold, vrfs };
  if (bgp !== undefined) routing.bgp = bgp;
  return routing;
}

/** `vrfs`: unique names and table ids, each tenant in one VRF at most (that the tenants exist: check-references.ts). */
function readVrfs(o: Record<string, unknown>, path: FieldPath, ctx: ReadContext, readRoute: ReadRoute): Vrf[] {
  const { r } = ctx;
  const vrfs = readList(ctx, o, 'vrfs', path, 'a list of VRFs (name, table, tenants, routes)', (v, p) => readVrf(v, p, ctx, readRoute));
  const names = new Map<string, number>();
  const tables = new Map<number, number>();
  const tenants = new Map<string, string>();
  vrfs.forEach((vrf, i) => {
    const at = [...path, 'vrfs', i] as FieldPath;
    if (vrf.name === 'default') r.problems.add([...at, 'name'], '"default" is the VRF of tenants in no VRF (the router\'s `routes`); choose another name');
    if (names.has(vrf.name)) r.problems.add([...at, 'name'], `duplicate VRF ${vrf.name} (also vrfs[${names.get(vrf.name)}])`);
    names.set(vrf.name, i);
    if (tables.has(vrf.table)) r.problems.add([...at, 'table'], `table ${vrf.table} is already the table of vrfs[${tables.get(vrf.table)}]; each VRF has its own table`);
    tables.set(vrf.table, i);
    vrf.tenants.forEach((tenant, j) => {
      const other = tenants.get(tenant);
      if (other !== undefined) r.problems.add([...at, 'tenants', j], `tenant ${tenant} is already in VRF ${other}; a tenant routes in one VRF`);
      else tenants.set(tenant, vrf.name);
    });
  });
  return vrfs;
}

function readVrf(value: unknown, path: FieldPath, ctx: ReadContext, readRoute: ReadRoute): Vrf | undefined {
  const { r } = ctx;
  const o = r.object(value, path, 'a VRF mapping (name, table, tenants, routes)', VRF_KEYS);
  if (o === undefined) return undefined;
  const name = r.string(o, 'name', path, 'the VRF\'s name (letters, digits, - and _)', isPlainName);
  const table = r.integer(o, 'table', path, 1, 0xffffffff, 0, ' (routing table id)');
  if (o['table'] === undefined) r.problems.missing([...path, 'table'], 'the VRF\'s routing table id (1-4294967295, not 253-255)');
  else if (RESERVED_TABLES.has(table)) r.problems.add([...path, 'table'], `table ${table} is reserved (253 default, 254 main: the default VRF's, 255 local); choose another id`);
  const tenants: string[] = [];
  for (const [item, at] of r.list(o, 'tenants', path, 'a list of tenant names')) {
    if (typeof item === 'string' && isTenantName(item)) tenants.push(item);
    else r.problems.add(at, 'expected a tenant name');
  }
  const routes = readList(ctx, o, 'routes', path, 'a list of static routes of this VRF', (v, p) => readRoute(v, p, ctx));
  if (name === undefined || table === 0) return undefined;
  return { name, table, tenants, routes };
}

function readBgp(value: unknown, path: FieldPath, ctx: ReadContext): Bgp | undefined {
  const { r } = ctx;
  const o = r.object(value, path, 'a bgp mapping (as, router-id, redistribute-service, neighbors)', BGP_KEYS);
  if (o === undefined) return undefined;
  const as = r.integer(o, 'as', path, 1, AS_MAX, 0);
  if (o['as'] === undefined) r.problems.missing([...path, 'as'], 'this router\'s AS number (1-4294967295)');
  const routerId = r.string(o, 'router-id', path, 'an IPv4 address (the BGP router id)', (s) => parseAddress(s)?.family === 4);
  const redistributeService = r.boolean(o, 'redistribute-service', path, false);
  const neighbors = readList(ctx, o, 'neighbors', path, 'a list of BGP neighbors', (v, p) => readNeighbor(v, p, ctx));
  const seen = new Set<string>();
  neighbors.forEach((n, i) => {
    if (seen.has(n.address)) r.problems.add([...path, 'neighbors', i, 'address'], `duplicate neighbor ${n.address}`);
    seen.add(n.address);
  });
  if (routerId === undefined || as === 0) return undefined;
  return { as, routerId, redistributeService, neighbors };
}

function readNeighbor(value: unknown, path: FieldPath, ctx: ReadContext): BgpNeighbor | undefined {
  const { r } = ctx;
  const o = r.object(value, path, 'a BGP neighbor mapping (address, remote-as, ...)', BGP_NEIGHBOR_KEYS);
  if (o === undefined) return undefined;
  const address = r.string(o, 'address', path, 'the neighbor\'s IPv4 or IPv6 address', (s) => addressProblem(s) === undefined);
  const remoteAs = r.integer(o, 'remote-as', path, 1, AS_MAX, 0);
  if (o['remote-as'] === undefined) r.problems.missing([...path, 'remote-as'], 'the neighbor\'s AS number (1-4294967295)');
  const keepalive = r.integer(o, 'keepalive', path, 0, 65535, 3, ' (seconds)');
  const hold = r.integer(o, 'hold', path, 0, 65535, 9, ' (seconds)');
  // RFC 4271 §4.2: a hold time is 0 or at least 3 seconds; FRR keeps keepalive below hold.
  if (hold !== 0 && hold < 3) r.problems.add([...path, 'hold'], `a hold time is 0 or 3-65535 seconds (RFC 4271 §4.2), got ${hold}`);
  else if (hold !== 0 && keepalive >= hold) r.problems.add([...path, 'keepalive'], `keepalive (${keepalive} s) must be less than hold (${hold} s)`);
  const neighbor: BgpNeighbor = {
    address: address ?? '',
    remoteAs,
    keepalive,
    hold,
    bfd: r.boolean(o, 'bfd', path, false),
    maxPrefix: r.integer(o, 'max-prefix', path, 1, 4294967295, 20000, ' (prefixes)'),
  };
  if (o['multihop'] !== undefined && o['multihop'] !== null) neighbor.multihop = r.integer(o, 'multihop', path, 1, 255, 1, ' (TTL)');
  if (o['accept-prefixes'] !== undefined && o['accept-prefixes'] !== null) {
    const prefixes: string[] = [];
    for (const [item, at] of r.list(o, 'accept-prefixes', path, 'a list of prefixes')) {
      const problem = typeof item === 'string' ? prefixProblem(item) : 'expected a prefix like 198.18.50.0/24';
      if (problem !== undefined) r.problems.add(at, problem);
      else if (parsePrefix(item as string)?.family !== parseAddress(neighbor.address)?.family) r.problems.add(at, `a prefix of the neighbor's address family (${neighbor.address})`);
      else prefixes.push(item as string);
    }
    neighbor.acceptPrefixes = prefixes;
  }
  if (address === undefined || remoteAs === 0) return undefined;
  return neighbor;
}
