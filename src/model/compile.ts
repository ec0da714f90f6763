/**
 * compileRouter: a validated SvrConfig + a router name -> that router's ForwardingTables.
 *
 * 1. Ids in config order: tenants, the services that apply to this router (applies-to.ts), interfaces;
 *    peers are the other routers with at least one path, in config order.
 * 2. Paths from adjacencies or neighborhoods (topology.ts), each with its HMAC key (keys.ts) and the waypoint
 *    ports both ends accept (the intersection of their port-ranges).
 *    BFD/link-test settings come from this router's entry of the path's neighborhood (defaults without one).
 * 3. Lookup structures: tenant members, local routes, remote waypoints per interface (PrefixTrie),
 *    the service FIB with its access table, and byte-name tables.
 * Expects a config from parseConfig; malformed input throws SvrError rather than compiling wrong.
 */
import { SvrError } from '../errors.js';
import { parseAddress, parsePrefix, type ParsedAddress, type ParsedPrefix } from '../packet/addr.js';
import { AccessTable, type AccessRuleSpec, type AccessTableParts } from './access-table.js';
import type { Authority, BfdSettings, Fragmentation, Router, SecurityPolicy, Service, ServicePolicy, ServiceRoute, SvrConfig, TransportProtocol, VectorCost } from './config.js';
import { BFD_DEFAULTS, DEFAULT_FRAGMENTATION, DEFAULT_REASSEMBLY_MEMORY, NAT_KEEP_ALIVE_S, PATH_MTU_DISCOVERY_DEFAULTS, UDP_TRANSFORM_DEFAULTS } from './defaults.js';
import { MetadataCipher, PathHmac, PayloadSecurity, deriveMetadataKey, derivePathKey, derivePayloadKey } from './keys.js';
import { NameTable } from './name-table.js';
import { PrefixTrie } from './prefix-trie.js';
import { RouterTables } from './router-tables.js';
import { buildServiceArrays } from './service-arrays.js';
import { ServiceFib, type FibEntry, type ServiceFibParts } from './service-fib.js';
import { Rib, type LearnedRoute } from './rib.js';
import type { SlicedValue } from '../util/sliced-clone.js';
import type { CompiledBfd, CompiledInterface, CompiledPath, CompiledPeer, CompiledService, CompiledServicePolicy, CompiledServiceRoute, ForwardingTables } from './tables.js';
import { FRAGMENT_ALWAYS, FRAGMENT_NEVER, FRAGMENT_UNLESS_DF, MSS_CLAMP_AUTOMATIC, MSS_CLAMP_DISABLED, NO_TENANT, VECTOR_NEVER } from './tables.js';

const FRAGMENTATION_CODES: Readonly<Record<Fragmentation, number>> = { 'unless-df': FRAGMENT_UNLESS_DF, always: FRAGMENT_ALWAYS, never: FRAGMENT_NEVER };
import { endpointName, peerLinks, type PeerLink } from './topology.js';
import { servicesOf } from './applies-to.js';

export type { SlicedValue } from '../util/sliced-clone.js';

/** IP protocol numbers of the transport protocols a service can name. */
export const IP_PROTOCOL: Readonly<Record<TransportProtocol, number>> = Object.freeze({ icmp: 1, tcp: 6, udp: 17, icmpv6: 58 });

/**
 * The biggest lookup tables of a router, compiled away from the data path's thread (the config thread of a
 * reload: src/node/config-thread.ts) as typed arrays that other threads take without a copy: the access table ((tenants + 1) ×
 * services cells) and the service FIB. compileRouter wraps them instead of building them again.
 */
export interface PreparedTables {
  readonly router: string;
  readonly access: AccessTableParts;
  readonly fib: ServiceFibParts;
  /** the config these tables were made from, in slices over SharedArrayBuffers (util/sliced-clone.ts): each
   *  data-path worker rebuilds it in turns (worker-main.ts), and the node's thread serializes nothing for them.
   *  Handed to the host with the tables (DataPathHost.setTables), not kept by them: ~8 MB at 10,000 services */
  readonly config?: SlicedValue;
}

/** A validated config, with the tables prepareTables made for a router in the thread that read it (when it did). */
export interface LoadedConfig {
  readonly config: SvrConfig;
  readonly prepared?: PreparedTables;
}

/** The access table and service FIB of `routerName` for `config`, as typed arrays (compileRouter takes them). */
export function prepareTables(config: SvrConfig, routerName: string): PreparedTables {
  const router = routerConfig(config, routerName);
  const services = servicesOf(config.authority, router);
  const access = AccessTable.build(config.authority.tenants.map((t) => t.name), services.map((s) => accessRules(s)));
  return { router: router.name, access: access.parts, fib: ServiceFib.build(fibEntries(services), access).parts };
}

/**
 * `learned`: the routes FRR selected (routing/), added to the RIB next to the static routes; or the router's
 * Rib itself, kept up to date route by route (control/router.ts: a RIB change compiles with it, no rebuild of
 * the RIB; it must have been built from this config's router). `prepared`: prepareTables(config, routerName) of
 * this same config, made in another thread (used when it is this router's and its sizes match).
 */
export function compileRouter(config: SvrConfig, routerName: string, generation: number, learned: readonly LearnedRoute[] | Rib = [], prepared?: PreparedTables): ForwardingTables {
  const steps = compileSteps(config, routerName, generation, learned, prepared);
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
  }
}

/**
 * compileRouter in slices, with `turn()` awaited between them, so that a data path in the same thread forwards
 * meanwhile: a reload of 10,000 services compiled in one turn paused forwarding 63-109 ms (the full bench run
 * of 2026-12-06, target <= 50 ms); a slice is the name tables or SERVICES_PER_SLICE services.
 */
export async function compileRouterInTurns(config: SvrConfig, routerName: string, generation: number, learned: readonly LearnedRoute[] | Rib, prepared: PreparedTables | undefined, turn: () => Promise<unknown>): Promise<ForwardingTables> {
  const steps = compileSteps(config, routerName, generation, learned, prepared);
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
    await turn();
  }
}

/** Services compiled per slice of compileRouterInTurns (1,000 of a 10,000-service config: 2-5 ms warm, in process). */
const SERVICES_PER_SLICE = 1000;

/** compileRouter's work; yields where compileRouterInTurns may let batches run (the config's objects are not changed). */
function* compileSteps(config: SvrConfig, routerName: string, generation: number, learned: readonly LearnedRoute[] | Rib, prepared: PreparedTables | undefined): Generator<void, ForwardingTables, void> {
  const authority = config.authority;
  const router = routerConfig(config, routerName);

  const tenants = new NameTable(authority.tenants.map((t) => t.name));
  const services = servicesOf(authority, router);
  const fits = prepared !== undefined && prepared.router === router.name && prepared.access.services === services.length && prepared.access.tenants === tenants.names.length;
  const serviceNames = new NameTable(services.map((s) => s.name));
  yield;
  const links = peerLinks(authority, router);
  const peerRouters = authority.routers.filter((r) => links.some((l) => l.peer === r));
  const peerNames = new NameTable(peerRouters.map((r) => r.name));
  const ifIndex = new Map(router.interfaces.map((iface, i) => [iface.name, i]));

  const paths = links.map((link, id) => compilePath(authority, router, link, id, peerNames.id(link.peer.name), ifIndex.get(link.local.name)!));
  const interfaces = router.interfaces.map((iface, index): CompiledInterface => {
    const waypoint = iface.kind === 'wan' && iface.waypoint !== undefined ? address(iface.waypoint, `${router.name}/${iface.name} waypoint`) : undefined;
    return Object.freeze({
      index,
      name: iface.name,
      kind: iface.kind,
      tenant: iface.tenant === undefined ? NO_TENANT : tenants.id(iface.tenant),
      waypoint: waypoint?.bytes ?? new Uint8Array(0),
      waypointFamily: waypoint?.family ?? 0,
      paths: Object.freeze(paths.filter((p) => p.localInterface === index).map((p) => p.id)),
      mtu: iface.mtu,
      enforcedMss: iface.enforcedMss === 'automatic' ? MSS_CLAMP_AUTOMATIC : iface.enforcedMss === 'disabled' ? MSS_CLAMP_DISABLED : iface.enforcedMss,
      fragmentation: FRAGMENTATION_CODES[iface.fragmentation ?? DEFAULT_FRAGMENTATION],
    });
  });
  const peers = peerRouters.map(
    (r, id): CompiledPeer =>
      Object.freeze({ id, name: r.name, nameBytes: peerNames.bytes[id]!, paths: Object.freeze(paths.filter((p) => p.peer === id).map((p) => p.id)) }),
  );

  const rib = learned instanceof Rib ? learned : new Rib(router, learned);
  // each service's routes, in config order (one pass: a scan per service was quadratic in big configs)
  const routesOf = new Map<string, ServiceRoute[]>();
  for (const r of router.serviceRoutes) {
    const list = routesOf.get(r.service);
    if (list === undefined) routesOf.set(r.service, [r]);
    else list.push(r);
  }
  // each service-policy compiled once, shared by its services (10,000 services name a handful)
  const policies = new Map(authority.servicePolicies.map((p) => [p.name, { policy: p, compiled: compileServicePolicy(p) }]));
  const access = fits ? new AccessTable(prepared.access) : AccessTable.build(tenants.names, services.map((s) => accessRules(s)));
  const fib = fits ? new ServiceFib(prepared.fib, access, () => fibEntries(services)) : ServiceFib.build(fibEntries(services), access);
  yield;
  const compiledServices = new Array<CompiledService>(services.length);
  for (let id = 0; id < services.length; id++) {
    compiledServices[id] = compileService(authority, router, services[id]!, id, serviceNames, peerNames, ifIndex, routesOf.get(services[id]!.name) ?? [], policies);
    if ((id + 1) % SERVICES_PER_SLICE === 0) yield;
  }
  const serviceArrays = buildServiceArrays(compiledServices, peers);
  yield;
  return new RouterTables({
    generation,
    sessionCapacity: router.sessionCapacity ?? 0,
    reassemblyMemory: router.reassemblyMemory ?? DEFAULT_REASSEMBLY_MEMORY,
    routerName: router.name,
    authority: authority.name,
    tenants,
    services: compiledServices,
    serviceNames,
    interfaces,
    peers,
    peerNames,
    paths,
    serviceArrays,
    members: memberTrie(authority),
    routes: rib.tries,
    vrfOfTenant: Int32Array.from(tenants.names, (name) => rib.vrfIndex(name)),
    vrfNames: rib.vrfNames,
    pathsByRemote: interfaces.map((iface) => remoteWaypointTrie(iface, paths)),
    fib,
    access,
    rib,
  });
}

/** The router's entry of the config; SVR_ERR_CONFIG_ROUTER naming the known ones when it is not there. */
export function routerConfig(config: SvrConfig, routerName: string): Router {
  const authority = config.authority;
  const router = authority.routers.find((r) => r.name === routerName);
  if (router !== undefined) return router;
  const known = authority.routers.map((r) => r.name).join(', ') || 'none';
  throw new SvrError('SVR_ERR_CONFIG_ROUTER', `router "${routerName}" is not in the configuration of authority "${authority.name}" (routers: ${known})`, {
    router: routerName,
  });
}

function compilePath(authority: Authority, router: Router, link: PeerLink, id: number, peer: number, localInterface: number): CompiledPath {
  const policy = authority.securityPolicies.find((p) => p.name === link.local.security);
  if (policy === undefined) invalid(`security policy "${link.local.security}" of ${endpointName(router, link.local)} is not defined`);
  const hmac = new PathHmac(policy.hmacMode, policy.hmacCipher, policy.keyVersion, policy.rekeyDelay * 1000, pathKey(authority, policy, router, link));
  const mine = link.local.neighborhoods.find((n) => n.name === link.neighborhood);
  return Object.freeze({
    id,
    name: `${link.local.name}->${link.peer.name}/${link.remote.name}`,
    peer,
    localInterface,
    localWaypoint: link.localAddress.bytes,
    remoteWaypoint: link.remoteAddress.bytes,
    family: link.localAddress.family,
    neighborhood: link.neighborhood,
    vector: link.vector,
    hmac,
    keyExchange: policy.keyExchange,
    rekeyIntervalMs: policy.rekeyInterval * 1000,
    // Both ends must accept the ports: the sender uses the intersection of the two ranges.
    portFrom: Math.max(link.local.portRange.from, link.remote.portRange.from),
    portTo: Math.min(link.local.portRange.to, link.remote.portRange.to),
    bfd: compileBfd(mine?.bfd ?? BFD_DEFAULTS),
    outboundOnly: mine?.peerConnectivity === 'outbound-only',
    peerBehindNat: link.remote.neighborhoods.find((n) => n.name === link.neighborhood)?.peerConnectivity === 'outbound-only',
    natKeepAliveMs: (mine?.natKeepAlive ?? NAT_KEEP_ALIVE_S) * 1000,
    mtuDiscovery: Object.freeze({
      enabled: mine?.pathMtuDiscovery?.enabled ?? PATH_MTU_DISCOVERY_DEFAULTS.enabled,
      intervalMs: (mine?.pathMtuDiscovery?.interval ?? PATH_MTU_DISCOVERY_DEFAULTS.interval) * 1000,
    }),
    udpTransform: Object.freeze({
      mode: mine?.udpTransform?.mode ?? UDP_TRANSFORM_DEFAULTS.mode,
      detectIntervalMs: (mine?.udpTransform?.detectInterval ?? UDP_TRANSFORM_DEFAULTS.detectInterval) * 1000,
    }),
    ...metadataCipher(authority, policy, router, link),
    ...(link.remote.node === undefined ? {} : { remoteNode: link.remote.node }),
    ...(link.local.node === undefined ? {} : { localNode: link.local.node }),
  });
}

function metadataCipher(authority: Authority, policy: SecurityPolicy, router: Router, link: PeerLink): { metadataCipher?: MetadataCipher } {
  if (!policy.encrypt) return {};
  const material = policy.key ?? authority.secret;
  if (material === undefined) invalid(`security policy "${policy.name}" encrypts metadata but has no key and the authority has no secret`);
  const bytes = policy.encryptionCipher === 'aes-cbc-128' ? 16 : 32;
  const key = deriveMetadataKey(Buffer.from(material, 'hex'), endpointName(router, link.local), endpointName(link.peer, link.remote), bytes);
  return { metadataCipher: new MetadataCipher(policy.encryptionCipher, key) };
}

function compileBfd(b: BfdSettings): CompiledBfd {
  return Object.freeze({
    desiredTxMs: b.desiredTxInterval,
    requiredMinRxMs: b.requiredMinRxInterval,
    multiplier: b.multiplier,
    holdDownMs: b.holdDownTime * 1000,
    linkTestIntervalMs: b.linkTestInterval * 1000,
    linkTestLength: b.linkTestLength,
  });
}

/**
 * A service-policy for path selection (ssr-reference §1.4): `vector-order` becomes costs 1, 10, 100, ...
 * by position; a vector the policy does not list costs 0; `never` costs VECTOR_NEVER (excluded).
 */
export function compileServicePolicy(policy: ServicePolicy): CompiledServicePolicy {
  const vectors = policy.vectorOrder.length > 0
    ? policy.vectorOrder.map((vector, i) => Object.freeze({ vector, cost: 10 ** i as VectorCost }))
    : policy.vectors.map((v) => Object.freeze({ vector: v.name, cost: v.cost }));
  const costs = new Map(vectors.map((v) => [v.vector, v.cost === 'never' ? VECTOR_NEVER : v.cost]));
  const compiled: CompiledServicePolicy = {
    name: policy.name,
    vectors: Object.freeze(vectors),
    costOf: (vector: string) => costs.get(vector) ?? 0,
    pathQualityFilter: policy.pathQualityFilter,
    maxLatencyMs: policy.maxLatency,
    maxJitterMs: policy.maxJitter,
    maxLossPercent: policy.maxLoss,
    bestEffort: policy.bestEffort,
    bestPathCriteria: policy.bestPathCriteria,
    sessionResiliency: policy.sessionResiliency,
    fec: Object.freeze({ groupSize: policy.fec.enabled ? policy.fec.groupSize : 0, parity: policy.fec.parity, flushMs: policy.fec.flushMs }),
  };
  return Object.freeze(policy.minMos === undefined ? compiled : { ...compiled, minMos: policy.minMos });
}

function pathKey(authority: Authority, policy: SecurityPolicy, router: Router, link: PeerLink): Uint8Array {
  if (policy.hmacMode === 'disabled') return new Uint8Array(0);
  const material = policy.key ?? authority.secret;
  if (material === undefined) invalid(`security policy "${policy.name}" signs packets but has no key and the authority has no secret`);
  return derivePathKey(Buffer.from(material, 'hex'), endpointName(router, link.local), endpointName(link.peer, link.remote));
}

function compileService(
  authority: Authority,
  router: Router,
  service: Service,
  id: number,
  names: NameTable,
  peers: NameTable,
  ifIndex: ReadonlyMap<string, number>,
  serviceRoutes: readonly ServiceRoute[],
  policies: ReadonlyMap<string, { policy: ServicePolicy; compiled: CompiledServicePolicy }>,
): CompiledService {
  const { policy, compiled } = policies.get(service.servicePolicy) ?? {};
  if (policy === undefined || compiled === undefined) invalid(`service-policy "${service.servicePolicy}" of service "${service.name}" is not defined`);
  const routes = serviceRoutes.map((r): CompiledServiceRoute => {
      if (r.useLearnedRoutes === true) return Object.freeze({ kind: 'learned', name: r.name });
      if (r.peer !== undefined) return Object.freeze({ kind: 'peer', name: r.name, peer: peers.id(r.peer) });
      const hop = r.nextHop;
      const index = hop === undefined ? undefined : ifIndex.get(hop.interface);
      if (hop === undefined || index === undefined) invalid(`service-route "${r.name}" of router "${router.name}" has no usable next-hop`);
      const local = { kind: 'local' as const, name: r.name, interface: index };
      return Object.freeze(hop.gateway === undefined ? local : { ...local, gateway: address(hop.gateway, `service-route ${r.name} gateway`).bytes });
    });
  const t = service.timeouts;
  return Object.freeze({
    id,
    name: service.name,
    nameBytes: names.bytes[id]!,
    timeouts: Object.freeze({ tcpInitial: t.tcpInitial * 1000, tcp: t.tcp * 1000, udp: t.udp * 1000, icmp: t.icmp * 1000, other: t.other * 1000 }),
    transportStateEnforcement: policy.transportStateEnforcement,
    policy: compiled,
    security: service.security ?? '',
    routes: Object.freeze(routes),
    ...payloadSecurity(authority, service),
  });
}

function payloadSecurity(authority: Authority, service: Service): { payload?: PayloadSecurity } {
  const policy = service.security === undefined ? undefined : authority.securityPolicies.find((p) => p.name === service.security);
  if (policy === undefined || !policy.encrypt) return {};
  const material = policy.key ?? authority.secret;
  if (material === undefined) invalid(`security policy "${policy.name}" encrypts service "${service.name}" but has no key and the authority has no secret`);
  const bytes = policy.encryptionCipher === 'aes-cbc-128' ? 16 : 32;
  const key = derivePayloadKey(Buffer.from(material, 'hex'), policy.name, policy.keyVersion, bytes);
  return { payload: new PayloadSecurity(policy.name, policy.encryptionCipher, policy.adaptiveEncryption, policy.keyVersion, policy.rekeyDelay * 1000, key) };
}

function accessRules(service: Service): AccessRuleSpec[] {
  return service.accessPolicy.map((rule) => {
    const spec: { allow: boolean; tenant?: string; prefix?: ParsedPrefix } = { allow: rule.permission === 'allow' };
    if (rule.tenant !== undefined) spec.tenant = rule.tenant;
    if (rule.prefix !== undefined) spec.prefix = prefix(rule.prefix, `access rule "${rule.source}" of service "${service.name}"`);
    if (rule.tenant === undefined && rule.prefix === undefined) invalid(`access rule source "${rule.source}" of service "${service.name}" is malformed`);
    return spec;
  });
}

/** Entries in config order: services, their addresses, their transport specs (none = any). */
function fibEntries(services: readonly Service[]): FibEntry[] {
  const entries: FibEntry[] = [];
  services.forEach((service, id) => {
    for (const text of service.addresses) {
      const p = prefix(text, `address of service "${service.name}"`);
      if (service.transport.length === 0) entries.push({ service: id, prefix: p, protocol: -1, ports: [] });
      for (const t of service.transport) entries.push({ service: id, prefix: p, protocol: IP_PROTOCOL[t.protocol], ports: t.ports });
    }
  });
  return entries;
}

function memberTrie(authority: Authority): PrefixTrie {
  const trie = new PrefixTrie();
  authority.tenants.forEach((tenant, id) => {
    for (const member of tenant.members) {
      const p = prefix(member, `member of tenant "${tenant.name}"`);
      if (trie.get(p.bytes, p.length) === -1) trie.insert(p.bytes, p.length, id);
    }
  });
  return trie;
}

function remoteWaypointTrie(iface: CompiledInterface, paths: readonly CompiledPath[]): PrefixTrie | undefined {
  if (iface.paths.length === 0) return undefined;
  const trie = new PrefixTrie();
  for (const id of iface.paths) {
    const remote = paths[id]!.remoteWaypoint;
    trie.insert(remote, remote.length * 8, id);
  }
  return trie;
}

function prefix(text: string, what: string): ParsedPrefix {
  return parsePrefix(text) ?? invalid(`${what}: "${text}" is not a prefix`);
}

function address(text: string, what: string): ParsedAddress {
  return parseAddress(text) ?? invalid(`${what}: "${text}" is not an address`);
}

function invalid(message: string): never {
  throw new SvrError('SVR_ERR_CONFIG_INVALID', `cannot compile: ${message} (validate the config with parseConfig first)`);
}
