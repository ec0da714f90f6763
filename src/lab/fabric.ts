/**
 * The N-router lab (`svr lab up --routers N --topology hub-spoke|mesh|chain`): routers r1..rN, each
 * with a host behind it, all on one shared WAN (a routing namespace, like the internet between sites).
 * Which routers peer is not wired but configured: every router's wan0 is in neighborhoods whose
 * topologies give the peers (a conductor writes them out as generated adjacencies; without one, each
 * node derives them from the same neighborhoods).
 *
 *   <p>-h<i>                     <p>-r<i>                                      <p>-wan
 *   h-r 198.18.(100+i).10/24 --- r-h 198.18.(100+i).1/24  [node r<i>]  wan 198.19.i.1/24 --- r<i> 198.19.i.254/24
 *                                lan0 (svr-lan0)              wan0 (svr-wan0) waypoint 198.19.(100+i).1
 *
 * - hub-spoke: r1 is the hub (neighborhood `fabric`, topology hub), the others spokes: only hub<->spoke
 *   paths; a spoke reaches another spoke's site through the hub (multi-hop SVR).
 * - mesh: neighborhood `fabric`, topology mesh: every pair peers.
 * - chain: r<i>'s wan0 is in neighborhoods `c<i-1>-<i>` and `c<i>-<i+1>`: r1 - r2 - ... - rN.
 * Each router delivers one service, `site<i>` (its host's HTTP and UDP echo); the others learn by STEP
 * which router delivers it and through which peer (no service-routes toward peers).
 * All addresses are in 198.18.0.0/15 and exist only inside the namespaces.
 */
import { SvrError } from '../errors.js';
import { createNamespace, setSysctls, type Progress } from './netns.js';
import { ip } from './run.js';
import { nsName, LAN_TABLE, WAN_MTU } from './topology.js';

export const FABRIC_TOPOLOGIES = ['hub-spoke', 'mesh', 'chain'] as const;
export type FabricTopology = (typeof FABRIC_TOPOLOGIES)[number];
export const MAX_ROUTERS = 8;

/** Namespace of the shared WAN. */
export const WAN_ROLE = 'wan' as const;
export const FABRIC_HTTP_PORT = 80;
export const FABRIC_ECHO_PORT = 7;
/** tenant `engineering`: every site's host */
export const FABRIC_TENANT_PREFIX = '198.18.96.0/19';

export interface FabricRouter {
  index: number;
  name: string;
  namespace: string;
  /** the host behind it */
  hostNamespace: string;
  host: string;
  lanGateway: string;
  lanPrefix: string;
  /** the router's address on the shared WAN, and the WAN namespace's address toward it */
  wanAddress: string;
  wanGateway: string;
  waypoint: string;
  /** its wan0 entries: neighborhood name and topology */
  neighborhoods: { name: string; topology: 'hub' | 'spoke' | 'mesh' }[];
  service: string;
}

export interface FabricPlan {
  prefix: string;
  topology: FabricTopology;
  routers: FabricRouter[];
  wanNamespace: string;
}

/** Devices: in r<i> `r-h` (lan) and `wan`; in h<i> `h-r`; in the WAN namespace `r<i>`. */
export const FABRIC_DEV = { lan: 'r-h', host: 'h-r', wan: 'wan' } as const;

export function hostRole(i: number): `h${number}` {
  return `h${i}`;
}

export function routerName(i: number): `r${number}` {
  return `r${i}`;
}

export function checkFabric(routers: number, topology: string): FabricTopology {
  if (!Number.isInteger(routers) || routers < 2 || routers > MAX_ROUTERS) {
    throw new SvrError('SVR_ERR_LAB_OPTION', `--routers ${routers}: expected a whole number 2-${MAX_ROUTERS}`);
  }
  if (!(FABRIC_TOPOLOGIES as readonly string[]).includes(topology)) {
    throw new SvrError('SVR_ERR_LAB_OPTION', `--topology ${JSON.stringify(topology)}: expected one of ${FABRIC_TOPOLOGIES.join(', ')}`);
  }
  return topology as FabricTopology;
}

function neighborhoodsOf(topology: FabricTopology, i: number, n: number): FabricRouter['neighborhoods'] {
  if (topology === 'mesh') return [{ name: 'fabric', topology: 'mesh' }];
  if (topology === 'hub-spoke') return [{ name: 'fabric', topology: i === 1 ? 'hub' : 'spoke' }];
  const out: FabricRouter['neighborhoods'] = [];
  if (i > 1) out.push({ name: `c${i - 1}-${i}`, topology: 'mesh' });
  if (i < n) out.push({ name: `c${i}-${i + 1}`, topology: 'mesh' });
  return out;
}

export function fabricPlan(prefix: string, routers: number, topology: FabricTopology): FabricPlan {
  const list: FabricRouter[] = [];
  for (let i = 1; i <= routers; i++) {
    list.push({
      index: i,
      name: routerName(i),
      namespace: nsName(prefix, routerName(i)),
      hostNamespace: nsName(prefix, hostRole(i)),
      host: `198.18.${100 + i}.10`,
      lanGateway: `198.18.${100 + i}.1`,
      lanPrefix: `198.18.${100 + i}.0/24`,
      wanAddress: `198.19.${i}.1`,
      wanGateway: `198.19.${i}.254`,
      waypoint: `198.19.${100 + i}.1`,
      neighborhoods: neighborhoodsOf(topology, i, routers),
      service: `site${i}`,
    });
  }
  return { prefix, topology, routers: list, wanNamespace: nsName(prefix, WAN_ROLE) };
}

/** Which routers peer (what the neighborhoods give): pairs [a, b] with a < b. */
export function fabricPeers(plan: FabricPlan): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const rs = plan.routers;
  for (let a = 0; a < rs.length; a++) {
    for (let b = a + 1; b < rs.length; b++) {
      const peer = rs[a]!.neighborhoods.some((x) => rs[b]!.neighborhoods.some((y) => x.name === y.name && (x.topology === 'mesh' || y.topology === 'mesh' || x.topology !== y.topology)));
      if (peer) out.push([rs[a]!.name, rs[b]!.name]);
    }
  }
  return out;
}

/** Every namespace an N-router lab with this prefix may have (for `down`). */
export function fabricNamespaces(prefix: string): string[] {
  const out = [nsName(prefix, WAN_ROLE)];
  for (let i = 1; i <= MAX_ROUTERS; i++) out.push(nsName(prefix, routerName(i)), nsName(prefix, hostRole(i)));
  return out;
}

const FORWARDING = ['net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0', 'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.default.send_redirects=0'];
const NO_IPV6 = ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1'];

async function veth(ns: string, dev: string, address: string, peerNs: string, peerDev: string, peerAddress: string, mtu: number): Promise<void> {
  await ip(ns, ['link', 'add', dev, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', peerDev, 'mtu', String(mtu), 'netns', peerNs]);
  for (const [n, d, a] of [[ns, dev, address], [peerNs, peerDev, peerAddress]] as const) {
    await ip(n, ['addr', 'add', a, 'dev', d]);
    await ip(n, ['link', 'set', 'dev', d, 'up']);
  }
}

/** Builds the namespaces, veths, addresses, routes and rules; the namespaces must not exist yet. */
export async function buildFabricNetwork(plan: FabricPlan, progress: Progress): Promise<void> {
  const all = [plan.wanNamespace, ...plan.routers.flatMap((r) => [r.namespace, r.hostNamespace])];
  progress(`creating namespaces ${all.join(' ')}`);
  for (const ns of all) {
    await createNamespace(ns);
    await setSysctls(ns, NO_IPV6);
  }
  await setSysctls(plan.wanNamespace, FORWARDING);
  for (const r of plan.routers) {
    await setSysctls(r.namespace, FORWARDING);
    progress(`veth ${r.hostNamespace}/${FABRIC_DEV.host} ${r.host}/24 <-> ${r.namespace}/${FABRIC_DEV.lan} ${r.lanGateway}/24 (lan of ${r.name})`);
    await veth(r.hostNamespace, FABRIC_DEV.host, `${r.host}/24`, r.namespace, FABRIC_DEV.lan, `${r.lanGateway}/24`, 1500);
    progress(`veth ${r.namespace}/${FABRIC_DEV.wan} ${r.wanAddress}/24 <-> ${plan.wanNamespace}/${r.name} ${r.wanGateway}/24, mtu ${WAN_MTU} (wan of ${r.name}; waypoint ${r.waypoint})`);
    await veth(r.namespace, FABRIC_DEV.wan, `${r.wanAddress}/24`, plan.wanNamespace, r.name, `${r.wanGateway}/24`, WAN_MTU);
    await setSysctls(r.namespace, [FABRIC_DEV.lan, FABRIC_DEV.wan].map((d) => `net.ipv4.conf.${d}.rp_filter=0`));
    await setSysctls(plan.wanNamespace, [`net.ipv4.conf.${r.name}.rp_filter=0`]);
  }
  progress('routes and rules: hosts via their router; routers reach every waypoint through the WAN namespace; lan traffic into each node');
  for (const r of plan.routers) {
    await ip(r.hostNamespace, ['route', 'add', 'default', 'via', r.lanGateway]);
    await ip(r.namespace, ['route', 'add', '198.19.0.0/16', 'via', r.wanGateway, 'dev', FABRIC_DEV.wan]);
    await ip(r.namespace, ['rule', 'add', 'iif', FABRIC_DEV.lan, 'lookup', String(LAN_TABLE), 'pref', '100']);
    await ip(plan.wanNamespace, ['route', 'add', `${r.waypoint}/32`, 'via', r.wanAddress, 'dev', r.name]);
  }
}

/** `peers r1-r2 r1-r3 ...`, for progress. */
export function describePeers(plan: FabricPlan): string {
  return `peers ${fabricPeers(plan).map(([a, b]) => `${a}-${b}`).join(' ')}`;
}
