/**
 * The lab's topology as data, in one place: namespaces, veth pairs, addresses, routes, rules and the
 * services. Everything lives inside four network namespaces `<prefix>-client|r1|r2|server`; all
 * addresses are in 198.18.0.0/15 (RFC 2544 benchmarking space).
 *
 *   client            r1                                  r2                            server
 *   c-r1 198.18.1.10 --- r1-c 198.18.1.1   r1-r2 198.18.2.1 --- r2-r1 198.18.2.2   r2-s 198.18.3.1 --- s-r2 198.18.3.20
 */

export type Role = 'client' | 'r1' | 'r2' | 'server';
export const ROLES: readonly Role[] = ['client', 'r1', 'r2', 'server'];
export const ROUTERS = ['r1', 'r2'] as const;
export type RouterRole = (typeof ROUTERS)[number];

export const DEFAULT_PREFIX = 'svr';
export const DEFAULT_DIR = '/tmp/svr-lab';

/** Namespace prefixes: short, lower-case, so `<prefix>-server` stays a tidy name. */
export const PREFIX_PATTERN = /^[a-z][a-z0-9-]{0,19}$/;

export function nsName(prefix: string, role: Role): string {
  return `${prefix}-${role}`;
}

export function namespaces(prefix: string): string[] {
  return ROLES.map((r) => nsName(prefix, r));
}

export interface LinkEnd {
  role: Role;
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
export const WAYPOINT_R1 = '198.18.12.1';
export const WAYPOINT_R2 = '198.18.12.2';

export const LINKS: readonly VethLink[] = [
  { label: 'lan (client side)', mtu: 1500, a: { role: 'client', dev: 'c-r1', address: `${CLIENT}/24` }, b: { role: 'r1', dev: 'r1-c', address: '198.18.1.1/24' } },
  // wan: 1700 leaves room for SVR metadata and the HMAC trailer on top of a 1500-byte lan packet
  { label: 'wan (SVR)', mtu: 1700, a: { role: 'r1', dev: 'r1-r2', address: '198.18.2.1/24' }, b: { role: 'r2', dev: 'r2-r1', address: '198.18.2.2/24' } },
  { label: 'lan (server side)', mtu: 1500, a: { role: 'r2', dev: 'r2-s', address: '198.18.3.1/24' }, b: { role: 'server', dev: 's-r2', address: `${SERVER}/24` } },
];

/** Addresses beyond the link addresses. */
export const EXTRA_ADDRESSES: readonly { role: Role; dev: string; address: string }[] = [
  { role: 'client', dev: 'c-r1', address: `${CLIENT_NO_TENANT}/32` },
];

/** `ip route add <args>` per namespace. */
export const ROUTES: readonly { role: Role; args: readonly string[] }[] = [
  { role: 'client', args: ['default', 'via', '198.18.1.1'] },
  { role: 'server', args: ['default', 'via', '198.18.3.1'] },
  // the peer's waypoint is reached over the veth; the own waypoint is routed into svr-wan0 by the node
  { role: 'r1', args: [`${WAYPOINT_R2}/32`, 'via', '198.18.2.2', 'dev', 'r1-r2'] },
  { role: 'r2', args: [`${WAYPOINT_R1}/32`, 'via', '198.18.2.1', 'dev', 'r2-r1'] },
];

/** Routing table the lan veths are steered into; the node puts `default dev svr-lan0` there. */
export const LAN_TABLE = 100;

/** `ip rule add <args>` per namespace: traffic from the lan veth goes to the node's lan TUN. */
export const RULES: readonly { role: Role; args: readonly string[] }[] = [
  { role: 'r1', args: ['iif', 'r1-c', 'lookup', String(LAN_TABLE), 'pref', '100'] },
  { role: 'r2', args: ['iif', 'r2-s', 'lookup', String(LAN_TABLE), 'pref', '100'] },
];

/** Devices of a role (veth ends), in link order. */
export function devicesOf(role: Role): string[] {
  const out: string[] = [];
  for (const l of LINKS) {
    if (l.a.role === role) out.push(l.a.dev);
    if (l.b.role === role) out.push(l.b.dev);
  }
  return out;
}

/** The TUN devices each node creates (from the generated config). */
export const NODE_DEVICES: readonly string[] = ['svr-lan0', 'svr-wan0'];

export const WAYPOINTS: Record<RouterRole, string> = { r1: WAYPOINT_R1, r2: WAYPOINT_R2 };

export const HTTP_PORT = 80;
export const ECHO_PORT = 7;
export const IPERF_PORT = 5201;

export interface ServiceAddress {
  name: string;
  url: string;
}

export const SERVICE_ADDRESSES: readonly ServiceAddress[] = [
  { name: 'web', url: `http://${SERVER}/` },
  { name: 'echo', url: `udp ${SERVER}:${ECHO_PORT}` },
  { name: 'iperf', url: `${SERVER}:${IPERF_PORT} (tcp and udp, iperf3 -c ${SERVER})` },
];
