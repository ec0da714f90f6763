/** First validation pass for a router: interfaces, neighborhoods, routes, service-routes. */
import { parseAddress, parsePrefix } from '../packet/addr.js';
import type { Adjacency, BfdSettings, EnforcedMss, Fragmentation, Interface, KernelRoute, NeighborhoodRef, NeighborhoodTopology, PathMtuDiscoverySettings, PeerConnectivity, UdpTransformMode, UdpTransformSettings, Route, Router, RouterIdentity, ServiceRoute } from './config.js';
import { BFD_DEFAULTS, BUILTIN_SECURITY_POLICY, NAT_KEEP_ALIVE_S, PATH_MTU_DISCOVERY_DEFAULTS, UDP_TRANSFORM_DEFAULTS, DEFAULT_FRAGMENTATION, DEFAULT_PORT_RANGE, DEFAULT_WAN_ENFORCED_MSS, ENFORCED_MSS_RANGE, MAX_SHAPING_RATE, MIN_SHAPING_RATE, SHAPING_QUEUES } from './defaults.js';
import { readList, type Raw, type ReadContext } from './fields.js';
import { readManagement } from './read-management.js';
import { readPlugins } from './read-plugins.js';
import { checkInterfaceNodes, readRedundancy } from './read-redundancy.js';
import { readRouting } from './read-routing.js';
import { PORT_RANGE_EXPECTED, addressProblem, isBase64Key, parsePortRange, prefixProblem } from './formats.js';
import { NAME_RULES, isDottedName, isPlainName, isRouterName, isTenantName } from './names.js';
import { describe, type FieldPath } from './problems.js';

export const ROUTER_KEYS = ['name', 'interfaces', 'routes', 'service-routes', 'plugins', 'router-groups', 'asset-id', 'identity', 'observation-domain-id', 'management', 'routing', 'session-capacity', 'reassembly-memory', 'redundancy'] as const;
export const IDENTITY_KEYS = ['public-key', 'private-key-file'] as const;
export const INTERFACE_KEYS = ['name', 'kind', 'tenant', 'waypoint', 'neighborhoods', 'adjacencies', 'security', 'port-range', 'device', 'mtu', 'enforced-mss', 'fragmentation', 'kernel-routes', 'shaping-rate', 'shaping-shares', 'node'] as const;
export const KERNEL_ROUTE_KEYS = ['prefix', 'table'] as const;
/** Linux interface names: at most 15 bytes, no slash, colon or whitespace. */
const DEVICE_NAME = /^[A-Za-z0-9_.-]{1,15}$/;
export const NEIGHBORHOOD_KEYS = ['name', 'vector', 'topology', 'bfd', 'peer-connectivity', 'nat-keep-alive', 'path-mtu-discovery', 'udp-transform'] as const;
const PMTUD_KEYS = ['enabled', 'interval'] as const;
const UDP_TRANSFORM_KEYS = ['mode', 'detect-interval'] as const;
const UDP_TRANSFORM_MODES: readonly UdpTransformMode[] = ['auto-detect', 'always-transform', 'disabled'];
const TOPOLOGIES: readonly NeighborhoodTopology[] = ['mesh', 'hub', 'spoke'];
const FRAGMENTATION_MODES: readonly Fragmentation[] = ['unless-df', 'always', 'never'];
const PEER_CONNECTIVITY: readonly PeerConnectivity[] = ['bidirectional', 'outbound-only'];
export const ADJACENCY_KEYS = ['peer', 'interface', 'neighborhood', 'generated'] as const;
export const BFD_KEYS = ['desired-tx-interval', 'required-min-rx-interval', 'multiplier', 'hold-down-time', 'link-test-interval', 'link-test-length'] as const;
export const ROUTE_KEYS = ['prefix', 'interface', 'gateway', 'distance', 'blackhole'] as const;
export const SERVICE_ROUTE_KEYS = ['name', 'service', 'peer', 'next-hop', 'use-learned-routes'] as const;
export const NEXT_HOP_KEYS = ['interface', 'gateway'] as const;
/** Fields that only mean something on a wan interface. */
export const WAN_ONLY_KEYS = ['waypoint', 'neighborhoods', 'adjacencies', 'security', 'port-range', 'enforced-mss', 'fragmentation'] as const;

export function readRouter(value: unknown, path: FieldPath, ctx: ReadContext): Router | undefined {
  const { r } = ctx;
  const o = r.object(value, path, 'a router mapping', ROUTER_KEYS);
  if (o === undefined) return undefined;
  const name = r.string(o, 'name', path, NAME_RULES.router, isRouterName);
  const assetId = r.optionalString(o, 'asset-id', path, NAME_RULES.plain, isPlainName);
  const sessionCapacity = o['session-capacity'] === undefined ? undefined : r.integer(o, 'session-capacity', path, 16, 1_000_000_000, 0, ' sessions');
  const reassemblyMemory = o['reassembly-memory'] === undefined ? undefined : r.integer(o, 'reassembly-memory', path, 65_536, 268_435_456, 0, ' bytes');
  const routerGroups = o['router-groups'] === undefined || o['router-groups'] === null ? undefined : readNames(o, 'router-groups', path, ctx);
  const interfaces = readList(ctx, o, 'interfaces', path, 'a list of interfaces', (v, p) => readInterface(v, p, ctx), true);
  if (Array.isArray(o['interfaces']) && o['interfaces'].length === 0) {
    r.problems.add([...path, 'interfaces'], 'expected at least one interface, got an empty list');
  }
  const devices = new Map<string, number>();
  interfaces.forEach((iface, i) => {
    const other = devices.get(iface.device);
    if (other !== undefined) r.problems.add([...path, 'interfaces', i, 'device'], `device "${iface.device}" is already used by interfaces[${other}]; give each interface its own TUN device`);
    devices.set(iface.device, i);
  });
  const routes = readList(ctx, o, 'routes', path, 'a list of routes', (v, p) => readRoute(v, p, ctx));
  const serviceRoutes = readList(ctx, o, 'service-routes', path, 'a list of service-routes', (v, p) => readServiceRoute(v, p, ctx));
  const plugins = readPlugins(o, path, ctx);
  const identity = o['identity'] === undefined ? undefined : readIdentity(o['identity'], [...path, 'identity'], ctx);
  const routing = o['routing'] === undefined || o['routing'] === null ? undefined : readRouting(o['routing'], [...path, 'routing'], ctx, readRoute);
  const management = readManagement(o, path, ctx);
  const redundancy = readRedundancy(o, path, ctx);
  checkInterfaceNodes(o, interfaces, redundancy, path, ctx);
  if (name === undefined) return undefined;
  const router: Router = { name, interfaces, routes, serviceRoutes, plugins };
  if (identity !== undefined) router.identity = identity;
  if (routing !== undefined) {
    router.routing = routing;
    ctx.origins.set(routing, [...path, 'routing']);
  }
  if (routerGroups !== undefined) router.routerGroups = routerGroups;
  if (assetId !== undefined) router.assetId = assetId;
  if (sessionCapacity !== undefined) router.sessionCapacity = sessionCapacity;
  if (reassemblyMemory !== undefined) router.reassemblyMemory = reassemblyMemory;
  // RFC 7011 §3.1: 0 means "no specific observation domain"; a router names its own
  if (o['observation-domain-id'] !== undefined) router.observationDomainId = r.integer(o, 'observation-domain-id', path, 1, 0xffffffff, 1);
  if (management !== undefined) router.management = management;
  if (redundancy !== undefined) router.redundancy = redundancy;
  return router;
}

/** `identity`: the router's X25519 public key (base64) and where its node reads the private key. */
function readIdentity(value: unknown, path: FieldPath, { r, origins }: ReadContext): RouterIdentity | undefined {
  const o = r.object(value, path, 'an identity mapping with `public-key`', IDENTITY_KEYS);
  if (o === undefined) return undefined;
  const publicKey = r.string(o, 'public-key', path, 'an X25519 public key: base64 of 32 bytes (44 characters, `svr identity new` makes one)', (s) => isBase64Key(s, 32));
  const file = r.optionalString(o, 'private-key-file', path, 'a file path');
  if (publicKey === undefined) return undefined;
  const identity: RouterIdentity = file === undefined ? { publicKey } : { publicKey, privateKeyFile: file };
  origins.set(identity, path);
  return identity;
}

/** A list of plain names without duplicates (router-groups). */
function readNames(o: Raw, key: string, path: FieldPath, { r }: ReadContext): string[] {
  const names: string[] = [];
  for (const [item, at] of r.list(o, key, path, `a list of names (${NAME_RULES.plain})`)) {
    if (typeof item !== 'string' || !isPlainName(item)) r.problems.expected(at, NAME_RULES.plain, item);
    else if (names.includes(item)) r.problems.add(at, `duplicate ${describe(item)} in ${key}`);
    else names.push(item);
  }
  return names;
}

function readInterface(value: unknown, path: FieldPath, ctx: ReadContext): Interface | undefined {
  const { r } = ctx;
  const o = r.object(value, path, 'an interface mapping', INTERFACE_KEYS);
  if (o === undefined) return undefined;
  const name = r.string(o, 'name', path, NAME_RULES.plain, isPlainName);
  const kind = r.oneOf(o, 'kind', path, ['lan', 'wan', 'function'] as const, undefined);
  const tenant = r.optionalString(o, 'tenant', path, NAME_RULES.tenant, isTenantName);
  if (kind === 'lan' || kind === 'function') {
    for (const key of WAN_ONLY_KEYS) {
      if (o[key] !== undefined) r.problems.add([...path, key], `only wan interfaces have \`${key}\`; remove it or set \`kind: wan\``);
    }
  }
  if (kind === 'function' && o['tenant'] !== undefined) {
    r.problems.add([...path, 'tenant'], 'a function interface opens no sessions, so it has no tenant; remove `tenant` (the session keeps the tenant it has)');
  }
  const isWan = kind === 'wan';
  const waypoint = isWan ? r.string(o, 'waypoint', path, 'the waypoint IPv4 or IPv6 address of a wan interface', (s) => addressProblem(s) === undefined) : undefined;
  const neighborhoods = isWan ? readNeighborhoods(o, path, ctx) : [];
  const adjacencies = isWan && o['adjacencies'] !== undefined && o['adjacencies'] !== null
    ? readList(ctx, o, 'adjacencies', path, 'a list of adjacencies ({ peer, interface, neighborhood, generated })', (v, p) => readAdjacency(v, p, ctx))
    : undefined;
  const security = (isWan ? r.optionalString(o, 'security', path, NAME_RULES.plain, isPlainName) : undefined) ?? BUILTIN_SECURITY_POLICY;
  let portRange = { ...DEFAULT_PORT_RANGE };
  if (isWan && o['port-range'] !== undefined) {
    const range = parsePortRange(o['port-range']);
    if (range === undefined) r.problems.expected([...path, 'port-range'], PORT_RANGE_EXPECTED, o['port-range']);
    else portRange = range;
  }
  const device = r.optionalString(o, 'device', path, 'a Linux interface name of at most 15 characters [A-Za-z0-9_.-]', (s) => DEVICE_NAME.test(s))
    ?? (name === undefined ? '' : `svr-${name}`);
  if (name !== undefined && o['device'] === undefined && !DEVICE_NAME.test(device)) {
    r.problems.add([...path, 'device'], `the default device name "${device}" is longer than 15 characters; set \`device\` to a shorter TUN name`);
  }
  const mtu = r.integer(o, 'mtu', path, 576, 65535, kind === 'wan' ? 1700 : 1500, ' bytes');
  const enforcedMss = isWan ? readEnforcedMss(o, path, ctx) : 'disabled';
  const fragmentation = isWan && o['fragmentation'] !== undefined && o['fragmentation'] !== null ? r.oneOf(o, 'fragmentation', path, FRAGMENTATION_MODES, DEFAULT_FRAGMENTATION) : undefined;
  const kernelRoutes = readList(ctx, o, 'kernel-routes', path, 'a list of kernel routes ({ prefix, table })', (v, p) => readKernelRoute(v, p, ctx));
  const shaping = readShaping(o, path, ctx);
  const node = r.optionalString(o, 'node', path, `the name of the pair's node that owns this interface (redundancy.nodes; ${NAME_RULES.plain})`, isPlainName);
  if (name === undefined || kind === undefined) return undefined;
  const iface: Interface = { name, kind, neighborhoods, security, portRange, device, mtu, enforcedMss, kernelRoutes };
  if (fragmentation !== undefined) iface.fragmentation = fragmentation;
  if (shaping !== undefined) iface.shapingRate = shaping.rate;
  if (shaping?.shares !== undefined) iface.shapingShares = shaping.shares;
  if (tenant !== undefined) iface.tenant = tenant;
  if (waypoint !== undefined) iface.waypoint = waypoint;
  if (adjacencies !== undefined) iface.adjacencies = adjacencies;
  if (node !== undefined) iface.node = node;
  return iface;
}

/** `shaping-rate` (bits/s: a number or text with k, M or G) and `shaping-shares` ([high, medium, low, best-effort] percent, sum 100). */
function readShaping(o: Raw, path: FieldPath, { r }: ReadContext): { rate: number; shares?: number[] } | undefined {
  const raw = o['shaping-rate'];
  if (raw === undefined || raw === null) {
    if (o['shaping-shares'] !== undefined) r.problems.add([...path, 'shaping-shares'], 'shaping-shares needs shaping-rate (the rate the shares divide)');
    return undefined;
  }
  const rate = parseRate(raw);
  if (rate === undefined) {
    r.problems.expected([...path, 'shaping-rate'], `a rate in bits/s from ${MIN_SHAPING_RATE} to ${MAX_SHAPING_RATE}, a number or text with k, M or G ("50M")`, raw);
    return undefined;
  }
  const shares = o['shaping-shares'];
  if (shares === undefined || shares === null) return { rate };
  const ok = Array.isArray(shares) && shares.length === SHAPING_QUEUES.length && shares.every((x) => Number.isInteger(x) && x >= 0 && x <= 100);
  if (!ok) {
    r.problems.expected([...path, 'shaping-shares'], `a list of ${SHAPING_QUEUES.length} whole percentages for ${SHAPING_QUEUES.join(', ')} ([40, 30, 20, 10])`, shares);
    return { rate };
  }
  const list = shares as number[];
  const sum = list.reduce((a, b) => a + b, 0);
  if (sum !== 100) r.problems.add([...path, 'shaping-shares'], `must sum to 100, got ${sum} (${SHAPING_QUEUES.map((q, i) => `${q} ${list[i]}`).join(', ')})`);
  return { rate, shares: [...list] };
}

/** bits/s from a number or text with an SI suffix ("50M", "2.5G"); undefined when out of range. */
function parseRate(v: unknown): number | undefined {
  const SI: Readonly<Record<string, number>> = { '': 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6, g: 1e9, G: 1e9 };
  let n = Number.NaN;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)\s*$/.exec(v);
    if (m) n = Number(m[1]) * SI[m[2]!]!;
  }
  return Number.isFinite(n) && n >= MIN_SHAPING_RATE && n <= MAX_SHAPING_RATE ? Math.round(n) : undefined;
}

/** One adjacency of a wan interface; its references are checked across routers later (check-references.ts). */
function readAdjacency(value: unknown, path: FieldPath, { r }: ReadContext): Adjacency | undefined {
  const o = r.object(value, path, 'an adjacency mapping ({ peer, interface, neighborhood, generated })', ADJACENCY_KEYS);
  if (o === undefined) return undefined;
  const peer = r.string(o, 'peer', path, NAME_RULES.router, isRouterName);
  const iface = r.string(o, 'interface', path, 'the name of a wan interface of the peer router', isPlainName);
  const neighborhood = r.string(o, 'neighborhood', path, 'the name of one of this interface\'s neighborhoods', isPlainName);
  const generated = r.boolean(o, 'generated', path, false);
  if (peer === undefined || iface === undefined || neighborhood === undefined) return undefined;
  return { peer, interface: iface, neighborhood, generated };
}

/** `enforced-mss` of a wan interface: `disabled`, `automatic` (default) or an MSS in bytes. */
function readEnforcedMss(o: Raw, path: FieldPath, { r }: ReadContext): EnforcedMss {
  const value = o['enforced-mss'];
  if (value === undefined || value === null) return DEFAULT_WAN_ENFORCED_MSS;
  if (value === 'disabled' || value === 'automatic') return value;
  const { min, max } = ENFORCED_MSS_RANGE;
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
  r.problems.expected([...path, 'enforced-mss'], `disabled, automatic or a whole number ${min}-${max} (bytes)`, value);
  return DEFAULT_WAN_ENFORCED_MSS;
}

function readKernelRoute(value: unknown, path: FieldPath, { r }: ReadContext): KernelRoute | undefined {
  const o = r.object(value, path, 'a kernel route mapping ({ prefix, table })', KERNEL_ROUTE_KEYS);
  if (o === undefined) return undefined;
  const prefix = r.string(o, 'prefix', path, '`default` or a destination prefix like 198.18.3.0/24');
  if (prefix !== undefined && prefix !== 'default') {
    const problem = prefixProblem(prefix);
    if (problem !== undefined) r.problems.add([...path, 'prefix'], problem);
  }
  const table = o['table'] === undefined ? undefined : r.integer(o, 'table', path, 1, 4294967295, 254);
  if (prefix === undefined) return undefined;
  return table === undefined ? { prefix } : { prefix, table };
}

function readNeighborhoods(o: Raw, path: FieldPath, ctx: ReadContext): NeighborhoodRef[] {
  const { r } = ctx;
  const what = 'a list of neighborhoods ({ name, vector })';
  const list = readList(ctx, o, 'neighborhoods', path, what, (v, p) => readNeighborhood(v, p, ctx));
  if (o['neighborhoods'] === undefined || o['neighborhoods'] === null) {
    r.problems.missing([...path, 'neighborhoods'], `${what}; a wan interface reaches peers through at least one neighborhood`);
  } else if (Array.isArray(o['neighborhoods']) && o['neighborhoods'].length === 0) {
    r.problems.add([...path, 'neighborhoods'], 'expected at least one neighborhood for a wan interface, got an empty list');
  }
  const seen = new Set<string>();
  list.forEach((n, i) => {
    if (seen.has(n.name)) r.problems.add([...path, 'neighborhoods', i, 'name'], `duplicate neighborhood ${describe(n.name)} on this interface`);
    seen.add(n.name);
  });
  return list;
}

function readNeighborhood(value: unknown, path: FieldPath, ctx: ReadContext): NeighborhoodRef | undefined {
  const { r } = ctx;
  const o = r.object(value, path, 'a neighborhood mapping ({ name, vector, topology, bfd, peer-connectivity, nat-keep-alive, path-mtu-discovery, udp-transform })', NEIGHBORHOOD_KEYS);
  if (o === undefined) return undefined;
  const name = r.string(o, 'name', path, NAME_RULES.plain, isPlainName);
  const vector = r.optionalString(o, 'vector', path, NAME_RULES.plain, isPlainName);
  const topology = o['topology'] === undefined || o['topology'] === null ? undefined : r.oneOf(o, 'topology', path, TOPOLOGIES, 'mesh');
  const bfd = o['bfd'] === undefined || o['bfd'] === null ? undefined : readBfd(o['bfd'], [...path, 'bfd'], ctx);
  const connectivity = o['peer-connectivity'] === undefined || o['peer-connectivity'] === null ? undefined : r.oneOf(o, 'peer-connectivity', path, PEER_CONNECTIVITY, 'bidirectional');
  const keepAlive = o['nat-keep-alive'] === undefined || o['nat-keep-alive'] === null ? undefined : r.integer(o, 'nat-keep-alive', path, 1, 3600, NAT_KEEP_ALIVE_S, ' (seconds)');
  const pmtud = o['path-mtu-discovery'] === undefined || o['path-mtu-discovery'] === null ? undefined : readPathMtuDiscovery(o['path-mtu-discovery'], [...path, 'path-mtu-discovery'], ctx);
  const udpt = o['udp-transform'] === undefined || o['udp-transform'] === null ? undefined : readUdpTransform(o['udp-transform'], [...path, 'udp-transform'], ctx);
  if (name === undefined) return undefined;
  const entry: NeighborhoodRef = vector === undefined ? { name } : { name, vector };
  if (topology !== undefined) entry.topology = topology;
  if (bfd !== undefined) entry.bfd = bfd;
  if (connectivity !== undefined) entry.peerConnectivity = connectivity;
  if (keepAlive !== undefined) entry.natKeepAlive = keepAlive;
  if (pmtud !== undefined) entry.pathMtuDiscovery = pmtud;
  if (udpt !== undefined) entry.udpTransform = udpt;
  return entry;
}

/** The optional `udp-transform` block of a neighborhood entry (SSR's `mode`, `detect-interval` 300 s). */
function readUdpTransform(value: unknown, path: FieldPath, { r }: ReadContext): UdpTransformSettings | undefined {
  const o = r.object(value, path, 'a udp-transform mapping (mode, detect-interval)', UDP_TRANSFORM_KEYS);
  if (o === undefined) return undefined;
  const d = UDP_TRANSFORM_DEFAULTS;
  return { mode: r.oneOf(o, 'mode', path, UDP_TRANSFORM_MODES, d.mode), detectInterval: r.integer(o, 'detect-interval', path, 10, 86400, d.detectInterval, ' (seconds)') };
}

/** The optional `path-mtu-discovery` block of a neighborhood entry (SSR's defaults: on, every 600 s). */
function readPathMtuDiscovery(value: unknown, path: FieldPath, { r }: ReadContext): PathMtuDiscoverySettings | undefined {
  const o = r.object(value, path, 'a path-mtu-discovery mapping (enabled, interval)', PMTUD_KEYS);
  if (o === undefined) return undefined;
  const d = PATH_MTU_DISCOVERY_DEFAULTS;
  return { enabled: r.boolean(o, 'enabled', path, d.enabled), interval: r.integer(o, 'interval', path, 60, 86400, d.interval, ' (seconds)') };
}

/** The optional `bfd` block of a neighborhood entry; every field has its SSR default (ssr-reference §1.3). */
function readBfd(value: unknown, path: FieldPath, { r }: ReadContext): BfdSettings | undefined {
  const o = r.object(value, path, 'a bfd mapping (desired-tx-interval, required-min-rx-interval, multiplier, hold-down-time, link-test-interval, link-test-length)', BFD_KEYS);
  if (o === undefined) return undefined;
  const d = BFD_DEFAULTS;
  return {
    desiredTxInterval: r.integer(o, 'desired-tx-interval', path, 50, 600000, d.desiredTxInterval, ' (ms)'),
    requiredMinRxInterval: r.integer(o, 'required-min-rx-interval', path, 50, 600000, d.requiredMinRxInterval, ' (ms)'),
    multiplier: r.integer(o, 'multiplier', path, 3, 20, d.multiplier),
    holdDownTime: r.integer(o, 'hold-down-time', path, 1, 300, d.holdDownTime, ' (seconds)'),
    linkTestInterval: r.integer(o, 'link-test-interval', path, 1, 86400, d.linkTestInterval, ' (seconds)'),
    linkTestLength: r.integer(o, 'link-test-length', path, 1, 100, d.linkTestLength, ' (packets)'),
  };
}

function readRoute(value: unknown, path: FieldPath, { r }: ReadContext): Route | undefined {
  const o = r.object(value, path, 'a route mapping (prefix, interface, gateway, distance, blackhole)', ROUTE_KEYS);
  if (o === undefined) return undefined;
  const prefix = r.string(o, 'prefix', path, 'a destination prefix like 198.18.1.0/24');
  if (prefix !== undefined) {
    const problem = prefixProblem(prefix);
    if (problem !== undefined) r.problems.add([...path, 'prefix'], problem);
  }
  const blackhole = r.boolean(o, 'blackhole', path, false);
  if (blackhole) for (const key of ['interface', 'gateway']) {
    if (o[key] !== undefined) r.problems.add([...path, key], `a blackhole route has no \`${key}\`; remove it or \`blackhole\``);
  }
  const iface = blackhole ? undefined : r.string(o, 'interface', path, 'the name of a lan interface of this router (or `blackhole: true`)');
  const gateway = blackhole ? undefined : readGateway(o, path, prefix, r);
  const distance = r.integer(o, 'distance', path, 1, 255, 1, ' (administrative distance)');
  if (prefix === undefined || (iface === undefined && !blackhole)) return undefined;
  const route: Route = { prefix, distance };
  if (iface !== undefined) route.interface = iface;
  if (blackhole) route.blackhole = true;
  if (gateway !== undefined) route.gateway = gateway;
  return route;
}

function readGateway(o: Raw, path: FieldPath, prefix: string | undefined, r: ReadContext['r']): string | undefined {
  const gateway = r.optionalString(o, 'gateway', path, 'a gateway IPv4 or IPv6 address', (s) => addressProblem(s) === undefined);
  const family = prefix === undefined ? undefined : parsePrefix(prefix)?.family;
  const gwFamily = gateway === undefined ? undefined : parseAddress(gateway)?.family;
  if (family !== undefined && gwFamily !== undefined && family !== gwFamily) {
    r.problems.expected([...path, 'gateway'], `an IPv${family} gateway for an IPv${family} prefix`, gateway);
  }
  return gateway;
}

function readServiceRoute(value: unknown, path: FieldPath, { r }: ReadContext): ServiceRoute | undefined {
  const o = r.object(value, path, 'a service-route mapping (name, service, peer | next-hop)', SERVICE_ROUTE_KEYS);
  if (o === undefined) return undefined;
  const name = r.string(o, 'name', path, NAME_RULES.plain, isPlainName);
  const service = r.string(o, 'service', path, NAME_RULES.service, isDottedName);
  const peer = r.optionalString(o, 'peer', path, NAME_RULES.router, isRouterName);
  let nextHop: ServiceRoute['nextHop'];
  if (o['next-hop'] !== undefined && o['next-hop'] !== null) {
    const at = [...path, 'next-hop'];
    const hop = r.object(o['next-hop'], at, 'a next-hop mapping (interface, gateway)', NEXT_HOP_KEYS);
    const iface = hop === undefined ? undefined : r.string(hop, 'interface', at, 'the name of a lan interface of this router');
    const gateway = hop === undefined ? undefined : r.optionalString(hop, 'gateway', at, 'a gateway IPv4 or IPv6 address', (s) => addressProblem(s) === undefined);
    if (iface !== undefined) nextHop = gateway === undefined ? { interface: iface } : { interface: iface, gateway };
  }
  const learned = r.boolean(o, 'use-learned-routes', path, false);
  const hasPeer = o['peer'] !== undefined && o['peer'] !== null;
  const hasNextHop = o['next-hop'] !== undefined && o['next-hop'] !== null;
  const kinds = [hasPeer, hasNextHop, learned].filter(Boolean).length;
  if (kinds > 1) {
    r.problems.add([...path, learned ? 'use-learned-routes' : 'next-hop'], 'a service-route has exactly one of `peer`, `next-hop` and `use-learned-routes: true`; remove the others');
  } else if (kinds === 0) {
    r.problems.add(path, 'a service-route needs exactly one of `peer` (send to a peer router), `next-hop` (deliver through a lan interface) or `use-learned-routes: true` (deliver along the RIB)');
  }
  if (name === undefined || service === undefined) return undefined;
  const route: ServiceRoute = { name, service };
  if (learned) route.useLearnedRoutes = true;
  if (peer !== undefined) route.peer = peer;
  if (nextHop !== undefined) route.nextHop = nextHop;
  return route;
}
