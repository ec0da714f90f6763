/**
 * `svr explain`: what the router would do now with the first packet of a flow, and why. It calls the
 * first-packet stage's own decisions (dataplane/stages/first-packet.ts) on a packet made of the query:
 *   tenant   tables.classifyTenant          (interface tenant, else longest member prefix)
 *   service  tables.lookupService           (FIB: port-qualified > protocol > address-only, then longest)
 *   access   the same lookup's access rule  (tables.accessDecision names the rule that decided)
 *   TCP      transportStateVerdict          (a SYN is assumed: the first packet of a connection)
 *   route    chooseRoute                    (over the ranking control published to the data path)
 * and adds what the stage does not need to say: which FIB entry and access rule, each candidate path's
 * quality and why it lost, the plugin chain. What it cannot foresee (waypoint ports running out, a
 * plugin's session-open hook refusing or translating) is named, not guessed.
 */
import { SvrError } from '../errors.js';
import { ROUTE_LOCAL, ROUTE_NONE, ROUTE_PEER, ROUTE_REFUSED, TSE_BLOCK, TSE_PASS, TSE_RESET, chooseRoute, routeChoice, transportStateVerdict, usesRib } from '../dataplane/admission.js';
import type { ServicePaths } from '../dataplane/path-choice.js';
import type { CounterName } from '../dataplane/counter-names.js';
import { protocolName } from '../dataplane/views.js';
import type { SvrConfig } from '../model/config.js';
import type { FibEntry } from '../model/service-fib.js';
import { DEFAULT_VRF, type RibEntry } from '../model/rib.js';
import { LOOKUP_ACCESS_DENIED, LOOKUP_NO_SERVICE, NO_TENANT, VECTOR_NEVER, type ForwardingTables } from '../model/tables.js';
import { formatAddress, formatPrefix, parseAddress, parsePrefix, prefixContains } from '../packet/addr.js';
import { PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, TCP_SYN } from '../packet/ip.js';
import { meetsSla } from '../paths/select.js';
import type { PathSummary } from '../paths/supervisor.js';

export interface ExplainQuery {
  src: string;
  dst: string;
  /** tcp, udp, icmp (icmpv6 for IPv6) or an IP protocol number */
  protocol: string;
  /** destination port (tcp, udp); default 0 */
  port?: number;
  /** default 49152 */
  srcPort?: number;
  /** the LAN interface it arrives on; default the one whose route holds the source, else the first lan interface */
  interface?: string;
}

export type Verdict = 'forward' | 'deliver' | 'drop' | 'reset';

export interface ExplainStep {
  step: 'interface' | 'tenant' | 'service' | 'access' | 'transport' | 'route' | 'path' | 'nat' | 'plugins';
  result: string;
  why: string;
}

export interface PathCandidateView {
  path: string;
  peer: string;
  usable: boolean;
  bfd?: string;
  vector: string;
  /** the service-policy's cost of the path's vector */
  cost: number | 'never';
  latencyMs?: number;
  jitterMs?: number;
  lossPercent?: number;
  mos?: number;
  meetsSla: boolean;
  /** 1 = first in the order the data path follows; absent when not in it */
  rank?: number;
  chosen: boolean;
  why: string;
}

export interface Explanation {
  router: string;
  generation: number;
  packet: { interface: string; src: string; dst: string; protocol: string; srcPort: number; dstPort: number };
  verdict: Verdict;
  /** drop and reset: the data path's counter that the packet would count in */
  counter?: CounterName;
  tenant?: string;
  service?: string;
  route?: string;
  peer?: string;
  path?: string;
  candidates: PathCandidateView[];
  /** plugin stages the session would run through, in order */
  chain: string[];
  steps: ExplainStep[];
}

/** What explaining reads of a running router (the same state its data path is given). */
export interface ExplainDeps {
  tables: ForwardingTables;
  config: SvrConfig;
  /** the rankings control published to the data path */
  servicePaths: ServicePaths;
  isPathUp(path: number): boolean;
  pathSummaries: ReadonlyMap<string, PathSummary>;
  /** loaded plugin stages in run order (`<plugin>/<stage>`) */
  stages: readonly { name: string; disabled: boolean }[];
  /** loaded plugins (their session-open hooks may refuse or translate) */
  plugins: readonly string[];
}

const PROTOCOLS: Readonly<Record<string, number>> = { tcp: PROTO_TCP, udp: PROTO_UDP, icmp: PROTO_ICMP, icmpv6: PROTO_ICMPV6 };

function bad(parameter: string, message: string): never {
  throw new SvrError('SVR_ERR_EXPLAIN_QUERY', `${parameter}: ${message}`, { parameter });
}

function protocolOf(q: ExplainQuery): number {
  const named = PROTOCOLS[q.protocol];
  if (named !== undefined) return named;
  const n = Number(q.protocol);
  if (/^\d+$/.test(q.protocol) && n >= 0 && n <= 255) return n;
  return bad('protocol', `expected tcp, udp, icmp, icmpv6 or a protocol number 0-255, got "${q.protocol}"`);
}

function portOf(v: number | undefined, parameter: string, fallback: number): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v < 0 || v > 65535) bad(parameter, `expected a port 0-65535, got ${v}`);
  return v;
}

const fibText = (e: FibEntry): string =>
  `${formatPrefix(e.prefix)}${e.protocol < 0 ? ' (any protocol)' : ` ${protocolName(e.protocol)}`}${e.ports.length > 0 ? ` ${e.ports.map((r) => (r.from === r.to ? r.from : `${r.from}-${r.to}`)).join(',')}` : ''}`;

/** Explains the first packet of the query's flow on this router now. Throws SVR_ERR_EXPLAIN_QUERY naming a bad parameter. */
export function explainFirstPacket(q: ExplainQuery, d: ExplainDeps): Explanation {
  const t = d.tables;
  const src = parseAddress(q.src) ?? bad('src', `expected an IPv4 or IPv6 address, got "${q.src}"`);
  const dst = parseAddress(q.dst) ?? bad('dst', `expected an IPv4 or IPv6 address, got "${q.dst}"`);
  if (src.family !== dst.family) bad('dst', `${q.dst} is not of the source's address family (IPv${src.family})`);
  const family = src.family;
  const protocol = protocolOf(q);
  const ported = protocol === PROTO_TCP || protocol === PROTO_UDP;
  const dstPort = ported ? portOf(q.port, 'port', 0) : 0;
  const srcPort = ported ? portOf(q.srcPort, 'srcPort', 49152) : 0;
  const buf = new Uint8Array(32);
  buf.set(src.bytes, 0);
  buf.set(dst.bytes, 16);

  const steps: ExplainStep[] = [];
  const ifx = ingressInterface(q, t, buf, family, steps);
  const iface = t.interfaces[ifx]!;
  const out: Explanation = {
    router: t.routerName, generation: t.generation,
    packet: { interface: iface.name, src: q.src, dst: q.dst, protocol: protocolName(protocol), srcPort, dstPort },
    verdict: 'drop', candidates: [], chain: [], steps,
  };
  const drop = (counter: CounterName): Explanation => Object.assign(out, { verdict: 'drop' as const, counter });

  // 1. tenant
  const tenant = t.classifyTenant(ifx, buf, 0, family);
  if (tenant === NO_TENANT) {
    steps.push({ step: 'tenant', result: 'none', why: `${iface.name} names no tenant and no tenant's members contain ${q.src}` });
    return drop('drop-no-tenant');
  }
  out.tenant = t.tenants[tenant]!;
  steps.push({ step: 'tenant', result: out.tenant, why: iface.tenant === tenant ? `interface ${iface.name} names tenant ${out.tenant}` : `member prefix ${memberPrefix(d.config, out.tenant, src.bytes, family)} of tenant ${out.tenant} (longest match; ${iface.name} names no tenant)` });

  // 2. service and access
  const service = t.lookupService(tenant, buf, 0, 16, family, protocol, dstPort);
  const fib = t.lastServiceLookup();
  const flow = `${q.dst}${ported ? ` ${protocolName(protocol)} ${dstPort}` : ` ${protocolName(protocol)}`}`;
  if (service === LOOKUP_NO_SERVICE) {
    steps.push({ step: 'service', result: 'none', why: `no service of the authority has ${flow}` });
    return drop('drop-no-service');
  }
  if (service === LOOKUP_ACCESS_DENIED) {
    const e = fib.refused!;
    const name = t.services[e.service]!.name;
    steps.push({ step: 'service', result: name, why: `FIB entry ${fibText(e)} of service ${name}` });
    steps.push({ step: 'access', result: 'denied', why: accessWhy(d, tenant, e.service, buf, family, q.src) });
    out.service = name;
    return drop('drop-access-denied');
  }
  const svc = t.services[service]!;
  out.service = svc.name;
  const passed = fib.refused !== undefined && fib.refused.service !== service ? `; ${fibText(fib.refused)} of service ${t.services[fib.refused.service]!.name} matched first but its access policy refuses ${out.tenant}` : '';
  steps.push({ step: 'service', result: svc.name, why: `FIB entry ${fibText(fib.chosen!)}${passed}` });
  steps.push({ step: 'access', result: 'allowed', why: accessWhy(d, tenant, service, buf, family, q.src) });

  // 3. transport-state enforcement (ssr-reference §1.4)
  if (protocol === PROTO_TCP) {
    const verdict = transportStateVerdict(svc, protocol, TCP_SYN);
    steps.push({ step: 'transport', result: verdict === TSE_PASS ? 'SYN opens a session' : 'refused', why: `a SYN is assumed; a segment without a session that is not a SYN would be ${svc.transportStateEnforcement === 'reset' ? 'answered with an RST' : svc.transportStateEnforcement === 'block' ? 'dropped' : 'let through'} (transport-state-enforcement ${svc.transportStateEnforcement})` });
    if (verdict === TSE_RESET) return Object.assign(out, { verdict: 'reset' as const, counter: 'drop-tcp-no-session' });
    if (verdict === TSE_BLOCK) return drop('drop-tcp-no-session');
  }

  // 4. route and path
  const pathUp = Uint8Array.from(t.paths, (p) => (d.isPathUp(p.id) ? 1 : 0));
  const ribIf = usesRib(svc) ? t.routeLocal(tenant, buf, 16, family) : -1;
  const route = chooseRoute(svc, service, d.servicePaths, pathUp, routeChoice(), ribIf);
  out.candidates = candidates(d, service, route.kind === ROUTE_PEER ? route.path : -1);
  if (route.kind === ROUTE_NONE || route.kind === ROUTE_REFUSED) {
    const why = route.kind === ROUTE_REFUSED
      ? `no path meets service-policy ${svc.policy.name}'s SLA and best-effort is off: new sessions are refused`
      : svc.routes.length === 0 ? 'the service has no service-route here and no peer announced it (STEP), or none of those paths is usable'
      : `no service-route can carry it now: ${svc.routes.map((r) => (r.kind === 'peer' ? `${r.name} (peer ${t.peers[r.peer]!.name}: no usable path)` : r.kind === 'learned' ? `${r.name} (use-learned-routes: the RIB has no route to ${q.dst})` : r.name)).join(', ')}`;
    steps.push({ step: 'route', result: 'none', why });
    return drop(route.kind === ROUTE_REFUSED ? 'drop-no-path-meets-sla' : 'drop-no-route');
  }
  out.chain = chainOf(d, out.tenant, svc.name);
  if (route.kind === ROUTE_LOCAL) {
    const r = svc.routes.find((x) => x.kind === 'local' || (x.kind === 'learned' && ribIf >= 0))!;
    out.route = r.name;
    const via = r.kind === 'learned' ? ` along the RIB's route ${ribRouteText(t, t.vrfName(tenant), q.dst)}` : r.kind === 'local' && r.gateway !== undefined ? ' via its gateway' : '';
    steps.push({ step: 'route', result: r.name, why: `deliver here through ${t.interfaces[route.localInterface]!.name}${via} (first service-route that can carry it)` });
    steps.push({ step: 'nat', result: 'none by the core', why: natWhy(d) });
    steps.push({ step: 'plugins', result: out.chain.join(', ') || 'none', why: pluginsWhy(d, out) });
    return Object.assign(out, { verdict: 'deliver' as const });
  }
  const path = t.paths[route.path]!;
  const peer = t.peers[path.peer]!;
  const r = svc.routes.find((x) => x.kind === 'peer' && x.peer === path.peer);
  out.route = r?.name ?? `learned from ${peer.name} (STEP)`;
  out.peer = peer.name;
  out.path = path.name;
  steps.push({ step: 'route', result: out.route, why: `peer ${peer.name}${r === undefined ? ' announced the service (STEP); no service-route here' : ' (first service-route with a usable path)'}` });
  steps.push({ step: 'path', result: path.name, why: out.candidates.find((c) => c.chosen)!.why });
  if (path.family !== family) {
    steps.push({ step: 'path', result: 'refused', why: `the path is IPv${path.family} and the packet IPv${family}` });
    return drop('drop-family-mismatch');
  }
  steps.push({ step: 'nat', result: 'waypoints', why: `SVR: addresses become waypoints ${formatAddress(path.localWaypoint, 0, path.family)} -> ${formatAddress(path.remoteWaypoint, 0, path.family)} with ports in ${path.portFrom}-${path.portTo} (even here, odd at the peer); ${peer.name} restores the original 5-tuple. ${natWhy(d)}` });
  steps.push({ step: 'plugins', result: out.chain.join(', ') || 'none', why: pluginsWhy(d, out) });
  return Object.assign(out, { verdict: 'forward' as const });
}

/** The selected RIB route of VRF `vrf` holding `dst` (the longest), as `prefix via gateway (protocol)`, with the VRF outside the default. */
function ribRouteText(t: ForwardingTables, vrf: string, dst: string): string {
  const address = parseAddress(dst);
  let best: RibEntry | undefined;
  for (const r of t.rib) {
    const p = r.selected && r.vrf === vrf && address !== undefined ? parsePrefix(r.prefix) : undefined;
    if (p === undefined || p.family !== address!.family || (best !== undefined && parsePrefix(best.prefix)!.length >= p.length)) continue;
    if (prefixContains(p, address!.bytes, 0, p.family)) best = r;
  }
  const inVrf = vrf === DEFAULT_VRF ? '' : ` in VRF ${vrf}`;
  return best === undefined ? '?' : `${best.prefix}${best.gateway !== undefined ? ` via ${best.gateway}` : ''} (${best.protocol}, distance ${best.distance})${inVrf}`;
}

function ingressInterface(q: ExplainQuery, t: ForwardingTables, buf: Uint8Array, family: 4 | 6, steps: ExplainStep[]): number {
  const lans = t.interfaces.filter((i) => i.kind === 'lan');
  if (q.interface !== undefined) {
    const i = t.interfaceIndex(q.interface);
    if (i < 0) bad('interface', `no interface "${q.interface}" on ${t.routerName} (${t.interfaces.map((x) => x.name).join(', ')})`);
    if (t.interfaces[i]!.kind !== 'lan') bad('interface', `${q.interface} is a ${t.interfaces[i]!.kind} interface; sessions open on lan interfaces`);
    steps.push({ step: 'interface', result: q.interface, why: 'as asked' });
    return i;
  }
  const routed = t.routeLocal(NO_TENANT, buf, 0, family);
  if (routed >= 0 && t.interfaces[routed]!.kind === 'lan') {
    steps.push({ step: 'interface', result: t.interfaces[routed]!.name, why: `the route to ${q.src} leaves through it (pass --interface to choose)` });
    return routed;
  }
  if (lans.length === 0) bad('interface', `${t.routerName} has no lan interface`);
  steps.push({ step: 'interface', result: lans[0]!.name, why: `no route holds ${q.src}: the first lan interface (pass --interface to choose)` });
  return lans[0]!.index;
}

/** The member prefix that classified the source: the longest of the tenant's members that holds it. */
function memberPrefix(config: SvrConfig, tenant: string, src: Uint8Array, family: 4 | 6): string {
  const members = config.authority.tenants.find((x) => x.name === tenant)?.members ?? [];
  let best: string | undefined;
  let length = -1;
  for (const m of members) {
    const p = parsePrefix(m);
    if (p !== undefined && p.family === family && p.length > length && prefixContains(p, src, 0, family)) {
      best = formatPrefix(p);
      length = p.length;
    }
  }
  return best ?? '?';
}

function accessWhy(d: ExplainDeps, tenant: number, service: number, buf: Uint8Array, family: 4 | 6, src: string): string {
  const dec = d.tables.accessDecision(tenant, service, buf, 0, family);
  const svc = d.config.authority.services[service]!;
  const rule = (i: number): string => `access-policy[${i}] (${svc.accessPolicy[i]!.permission} ${svc.accessPolicy[i]!.source})`;
  const tenantName = d.tables.tenants[tenant]!;
  if (dec.allowed) return `${rule(dec.allow)} of service ${svc.name} allows tenant ${tenantName} from ${src}`;
  if (dec.allow >= 0 && dec.deny >= 0) return `${rule(dec.deny)} beats ${rule(dec.allow)}: an allow wins only when it is more specific (deny by default)`;
  return `no allow rule of service ${svc.name} matches tenant ${tenantName} from ${src} (deny by default${svc.accessPolicy.length > 0 ? `; rules: ${svc.accessPolicy.map((a) => `${a.permission} ${a.source}`).join(', ')}` : ''})`;
}

/** Every path the service could use now, with why it was chosen or lost. */
function candidates(d: ExplainDeps, service: number, chosen: number): PathCandidateView[] {
  const t = d.tables;
  const svc = t.services[service]!;
  const order = d.servicePaths.list(service);
  const configured = svc.routes.flatMap((r) => (r.kind === 'peer' ? t.peers[r.peer]!.paths : []));
  const ids = [...new Set([...configured, ...order])];
  const policy = svc.policy;
  const chosenName = chosen >= 0 ? t.paths[chosen]!.name : '';
  return ids.map((id) => {
    const p = t.paths[id]!;
    const s = d.pathSummaries.get(p.name);
    const cost = policy.costOf(p.vector);
    const quality = s?.latencyMs !== undefined ? { latencyMs: s.latencyMs, jitterMs: s.jitterMs ?? 0, lossPercent: s.lossPercent ?? 0, mos: s.mos ?? 0 } : undefined;
    const sla = meetsSla(policy, quality);
    const rank = order.indexOf(id);
    const usable = d.isPathUp(id);
    const v: PathCandidateView = {
      path: p.name, peer: t.peers[p.peer]!.name, usable, vector: p.vector || '-', cost: cost === VECTOR_NEVER ? 'never' : cost, meetsSla: sla, chosen: id === chosen,
      why: '',
      ...(s !== undefined ? { bfd: s.bfdState } : {}),
      ...(quality !== undefined ? quality : {}),
      ...(rank >= 0 ? { rank: rank + 1 } : {}),
    };
    const q = quality === undefined ? 'not measured yet' : `latency ${quality.latencyMs.toFixed(1)} ms, jitter ${quality.jitterMs.toFixed(1)} ms, loss ${quality.lossPercent.toFixed(2)} %, MOS ${quality.mos.toFixed(2)}`;
    if (id === chosen) v.why = `rank ${rank + 1}: the first usable path of the ranking (best-path-criteria ${policy.bestPathCriteria}; vector ${v.vector} cost ${v.cost}; ${q})`;
    else if (!usable) v.why = `not usable: ${s === undefined ? 'down' : s.holdDownRemainingMs > 0 ? `hold-down, ${Math.ceil(s.holdDownRemainingMs / 1000)} s left` : `BFD ${s.bfdState}`}`;
    else if (cost === VECTOR_NEVER) v.why = `vector ${v.vector} costs never in service-policy ${policy.name}`;
    else if (policy.pathQualityFilter && !sla) v.why = `breaches the SLA of ${policy.name} (${q}; limits latency ${policy.maxLatencyMs} ms, jitter ${policy.maxJitterMs} ms, loss ${policy.maxLossPercent} %${policy.minMos !== undefined ? `, MOS ${policy.minMos}` : ''})`;
    else if (rank < 0) v.why = `not in the order the data path follows (best-effort keeps the best path only, or the migration of ${svc.name} holds it back)`;
    else v.why = `rank ${rank + 1}, behind ${chosenName || 'a better path'} (best-path-criteria ${policy.bestPathCriteria}; vector ${v.vector} cost ${v.cost}; ${q})`;
    return v;
  });
}

/** The stages of the tenant's and the service's `service-chain` that are loaded, in run order (dataplane/chain.ts). */
function chainOf(d: ExplainDeps, tenant: string, service: string): string[] {
  const a = d.config.authority;
  const wanted = new Set([...(a.tenants.find((x) => x.name === tenant)?.serviceChain ?? []), ...(a.services.find((x) => x.name === service)?.serviceChain ?? [])]);
  return d.stages.filter((s) => wanted.has(s.name) && !s.disabled).map((s) => s.name);
}

function natWhy(d: ExplainDeps): string {
  return d.plugins.length === 0 ? 'No plugin is loaded: nothing else translates or refuses it.' : `Loaded plugins (${d.plugins.join(', ')}) may still refuse or translate it in their session-open hooks.`;
}

function pluginsWhy(d: ExplainDeps, e: Explanation): string {
  if (e.chain.length > 0) return `the service-chain of tenant ${e.tenant} and service ${e.service}, in run order`;
  return d.stages.length === 0 ? 'no plugin stage is loaded' : `neither tenant ${e.tenant} nor service ${e.service} names a loaded stage in its service-chain`;
}
