/**
 * The lab's topology as data, in one place: namespaces, veth pairs, addresses, routes, rules and the
 * services. Everything lives inside network namespaces `<prefix>-client|r1|r2|server` plus one
 * `<prefix>-link<k>` per WAN path (the link emulator's namespace); all addresses are in 198.18.0.0/15
 * (RFC 2544 benchmarking space).
 *
 *   client            r1                                       link<k>                                   r2                       server
 *   c-r1 198.18.1.10 --- r1-c 198.18.1.1  r1-r2[p<k>] 198.18.2k.1 --- lk-r1 .254 [emulator] lk-r2 .254 --- r2-r1[p<k>] 198.18.3k.2  r2-s 198.18.3.1 --- s-r2 198.18.3.20
 */

export type Role = 'client' | 'r1' | 'r2' | 'server';
export const ROLES: readonly Role[] = ['client', 'r1', 'r2', 'server'];
export const ROUTERS = ['r1', 'r2'] as const;
export type RouterRole = (typeof ROUTERS)[number];
/** The namespace of path k's link emulator: `<prefix>-link<k>`. */
export type LinkRole = `link${number}`;
/** Namespaces only the `--profile plugins` lab has: an "internet" behind r2 and r1's external function. */
export const PLUGIN_ROLES = ['internet', 'fn'] as const;
export type PluginRole = (typeof PLUGIN_ROLES)[number];
/** The namespace of the conductor (`svr lab up --conductor`, lab/conductor.ts). */
export type ConductorRole = 'conductor';
/** The namespace of `svr lab up --collector`'s IPFIX collector (lab/collector.ts). */
export type CollectorPlace = 'collector';
/** The NAT box of `svr lab up --nat` (lab/nat.ts). */
export type NatPlace = 'nat';
/** The firewall of `svr lab up --middlebox` (lab/middlebox.ts). */
export type MiddleboxPlace = 'middlebox';
/** The N-router lab's namespaces (lab/fabric.ts): routers r<i>, their hosts h<i>, the shared WAN. */
export type FabricRole = `r${number}` | `h${number}` | 'wan';
/** `svr lab up --bgp`: the provider edge (lab/bgp.ts) */
export type PePlace = 'pe';
/** The nodes of the pair r1 of `svr lab up --ha` (lab/ha.ts). */
export type HaPlace = 'r1a' | 'r1b';
/** Where a lab process runs. */
export type Place = Role | LinkRole | PluginRole | ConductorRole | FabricRole | CollectorPlace | PePlace | NatPlace | MiddleboxPlace | HaPlace;

export const DEFAULT_PREFIX = 'svr';
export const DEFAULT_DIR = '/tmp/svr-lab';

/** Namespace prefixes: short, lower-case, so `<prefix>-server` stays a tidy name. */
export const PREFIX_PATTERN = /^[a-z][a-z0-9-]{0,19}$/;

/** WAN paths between r1 and r2: 1..MAX_PATHS (each needs its own /24s, see pathPlan). */
export const MAX_PATHS = 8;

export function nsName(prefix: string, role: Place): string {
  return `${prefix}-${role}`;
}

/** The four fixed namespaces (client, r1, r2, server). */
export function namespaces(prefix: string): string[] {
  return ROLES.map((r) => nsName(prefix, r));
}

export function linkRole(k: number): LinkRole {
  return `link${k}`;
}

/** `<prefix>-link1` .. `<prefix>-link<n>`. */
export function linkNamespaces(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => nsName(prefix, linkRole(i + 1)));
}

/** `<prefix>-internet`, `<prefix>-fn` (the `--profile plugins` lab). */
export function pluginNamespaces(prefix: string): string[] {
  return PLUGIN_ROLES.map((r) => nsName(prefix, r));
}

/** Every namespace a lab with this prefix may have (for `down`, which must work without state). */
export function allNamespaces(prefix: string): string[] {
  return [...namespaces(prefix), ...linkNamespaces(prefix, MAX_PATHS), ...pluginNamespaces(prefix), nsName(prefix, 'conductor'), nsName(prefix, 'collector'), nsName(prefix, 'pe'), nsName(prefix, 'nat'), nsName(prefix, 'middlebox'), nsName(prefix, 'r1a'), nsName(prefix, 'r1b')];
}

export interface LinkEnd {
  role: Place;
  dev: string;
  /** CIDR address on this end. */
  address: string;
}

export interface VethLink {
  a: LinkEnd;
  b: LinkEnd;
  mtu: number;
  /** What the link is, for status output. */
  label: string;
}

export const CLIENT = '198.18.1.10';
/** A second client address in no tenant: r1 drops its packets (drop-no-tenant). */
export const CLIENT_NO_TENANT = '198.18.5.10';
export const SERVER = '198.18.3.20';
/** Waypoints of path 1 (kept from the one-path lab). */
export const WAYPOINT_R1 = '198.18.12.1';
export const WAYPOINT_R2 = '198.18.12.2';

/** wan: 1700 leaves room for SVR metadata and the HMAC trailer on top of a 1500-byte lan packet */
export const WAN_MTU = 1700;

/** The two lan links (the wan links are per path, see pathPlan). */
export const LINKS: readonly VethLink[] = [
  { label: 'lan (client side)', mtu: 1500, a: { role: 'client', dev: 'c-r1', address: `${CLIENT}/24` }, b: { role: 'r1', dev: 'r1-c', address: '198.18.1.1/24' } },
  { label: 'lan (server side)', mtu: 1500, a: { role: 'r2', dev: 'r2-s', address: '198.18.3.1/24' }, b: { role: 'server', dev: 's-r2', address: `${SERVER}/24` } },
];

/** Addresses beyond the link addresses. */
export const EXTRA_ADDRESSES: readonly { role: Role; dev: string; address: string }[] = [
  { role: 'client', dev: 'c-r1', address: `${CLIENT_NO_TENANT}/32` },
];

/** `ip route add <args>` per namespace (the per-path routes come from pathPlan). */
export const ROUTES: readonly { role: Role; args: readonly string[] }[] = [
  { role: 'client', args: ['default', 'via', '198.18.1.1'] },
  { role: 'server', args: ['default', 'via', '198.18.3.1'] },
];

/** Routing table the lan veths are steered into; the node puts `default dev svr-lan0` there. */
export const LAN_TABLE = 100;

/** `ip rule add <args>` per namespace: traffic from the lan veth goes to the node's lan TUN. */
export const RULES: readonly { role: Role; args: readonly string[] }[] = [
  { role: 'r1', args: ['iif', 'r1-c', 'lookup', String(LAN_TABLE), 'pref', '100'] },
  { role: 'r2', args: ['iif', 'r2-s', 'lookup', String(LAN_TABLE), 'pref', '100'] },
];

/** The two directions of a link, named by the router each packet leaves. */
export const DIRECTIONS = ['r1-r2', 'r2-r1'] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** Inside `<prefix>-link<k>`: the veth toward r1, toward r2, and the emulator's TUN per direction. */
export const LINK_DEV_R1 = 'lk-r1';
export const LINK_DEV_R2 = 'lk-r2';
export const EMU_DEV: Record<Direction, string> = { 'r1-r2': 'emu-to-r2', 'r2-r1': 'emu-to-r1' };
/** Tables the link namespace steers arriving packets into (`ip rule iif lk-r1 lookup 201`). */
export const EMU_TABLE: Record<Direction, number> = { 'r1-r2': 201, 'r2-r1': 202 };
/** The veth a direction's packets arrive on in the link namespace. */
export const EMU_IN_DEV: Record<Direction, string> = { 'r1-r2': LINK_DEV_R1, 'r2-r1': LINK_DEV_R2 };

/**
 * WAN path k (1..MAX_PATHS) between r1 and r2:
 * - r1 `r1-r2` (k = 1) or `r1-r2p<k>`, 198.18.(20+k).1/24  ---  `lk-r1` 198.18.(20+k).254/24 in `<prefix>-link<k>`
 * - r2 `r2-r1` (k = 1) or `r2-r1p<k>`, 198.18.(30+k).2/24  ---  `lk-r2` 198.18.(30+k).254/24 in `<prefix>-link<k>`
 * - waypoints r1 198.18.(11+k).1 (interface wan<k-1>), r2 198.18.(11+k).2; neighborhood and vector `path<k>`.
 */
export interface PathPlan {
  k: number;
  namespace: string;
  role: LinkRole;
  /** veth ends on the routers */
  r1Dev: string;
  r2Dev: string;
  r1Address: string;
  r2Address: string;
  /** veth ends in the link namespace, toward r1 and toward r2 */
  linkR1Address: string;
  linkR2Address: string;
  waypoints: Record<RouterRole, string>;
  /** config names: interface wan<k-1> on both routers, device svr-wan<k-1>, neighborhood/vector path<k> */
  iface: string;
  device: string;
  neighborhood: string;
  vector: string;
}

const host = (cidr: string): string => cidr.slice(0, cidr.indexOf('/'));

export function pathPlan(prefix: string, k: number): PathPlan {
  const role = linkRole(k);
  return {
    k,
    namespace: nsName(prefix, role),
    role,
    r1Dev: k === 1 ? 'r1-r2' : `r1-r2p${k}`,
    r2Dev: k === 1 ? 'r2-r1' : `r2-r1p${k}`,
    r1Address: `198.18.${20 + k}.1/24`,
    r2Address: `198.18.${30 + k}.2/24`,
    linkR1Address: `198.18.${20 + k}.254/24`,
    linkR2Address: `198.18.${30 + k}.254/24`,
    waypoints: { r1: `198.18.${11 + k}.1`, r2: `198.18.${11 + k}.2` },
    iface: `wan${k - 1}`,
    device: `svr-wan${k - 1}`,
    neighborhood: `path${k}`,
    vector: `path${k}`,
  };
}

export function pathPlans(prefix: string, n: number): PathPlan[] {
  return Array.from({ length: n }, (_, i) => pathPlan(prefix, i + 1));
}

/** The two veth pairs of path k (router side first). */
export function pathLinks(p: PathPlan): VethLink[] {
  return [
    { label: `wan path ${p.k} (r1 side)`, mtu: WAN_MTU, a: { role: 'r1', dev: p.r1Dev, address: p.r1Address }, b: { role: p.role, dev: LINK_DEV_R1, address: p.linkR1Address } },
    { label: `wan path ${p.k} (r2 side)`, mtu: WAN_MTU, a: { role: 'r2', dev: p.r2Dev, address: p.r2Address }, b: { role: p.role, dev: LINK_DEV_R2, address: p.linkR2Address } },
  ];
}

/**
 * `ip route add <args>` for path k: each router reaches the peer's waypoint (and the far side's link
 * subnet, for probes that bypass the routers) through the link namespace, which routes both waypoints
 * back out of the right veth once the emulator has written a packet into its TUN.
 */
export function pathRoutes(p: PathPlan): { role: Place; args: string[] }[] {
  const viaR1 = host(p.linkR1Address);
  const viaR2 = host(p.linkR2Address);
  const net = (cidr: string): string => `${host(cidr).replace(/\.\d+$/, '.0')}/24`;
  return [
    { role: 'r1', args: [`${p.waypoints.r2}/32`, 'via', viaR1, 'dev', p.r1Dev] },
    { role: 'r1', args: [net(p.r2Address), 'via', viaR1, 'dev', p.r1Dev] },
    { role: 'r2', args: [`${p.waypoints.r1}/32`, 'via', viaR2, 'dev', p.r2Dev] },
    { role: 'r2', args: [net(p.r1Address), 'via', viaR2, 'dev', p.r2Dev] },
    { role: p.role, args: [`${p.waypoints.r1}/32`, 'via', host(p.r1Address), 'dev', LINK_DEV_R1] },
    { role: p.role, args: [`${p.waypoints.r2}/32`, 'via', host(p.r2Address), 'dev', LINK_DEV_R2] },
  ];
}

/** Devices of a router role (veth ends), lan links and the given paths. */
export function devicesOf(role: RouterRole, paths: readonly PathPlan[]): string[] {
  const out: string[] = [];
  for (const l of LINKS) {
    if (l.a.role === role) out.push(l.a.dev);
    if (l.b.role === role) out.push(l.b.dev);
  }
  for (const p of paths) out.push(role === 'r1' ? p.r1Dev : p.r2Dev);
  return out;
}

export const WAYPOINTS: Record<RouterRole, string> = { r1: WAYPOINT_R1, r2: WAYPOINT_R2 };

export const HTTP_PORT = 80;
export const ECHO_PORT = 7;
export const STREAM_PORT = 5000;
export const IPERF_PORT = 5201;

export interface ServiceAddress {
  name: string;
  url: string;
}

export const SERVICE_ADDRESSES: readonly ServiceAddress[] = [
  { name: 'web', url: `http://${SERVER}/` },
  { name: 'stream', url: `udp ${SERVER}:${STREAM_PORT} (svr lab send-stream; counts at http://${SERVER}/stream-stats)` },
  { name: 'echo', url: `udp ${SERVER}:${ECHO_PORT}` },
  { name: 'iperf', url: `${SERVER}:${IPERF_PORT} (tcp and udp, iperf3 -c ${SERVER})` },
];
