/**
 * `svr lab up --ipv6`: IPv6 beside IPv4 (issue 13 Build 3; docs/wan.md "IPv6"): the client and the server
 * get IPv6 addresses (2001:2::/48, RFC 5180's benchmarking range), and path 1 carries a second, IPv6 peer
 * path: wan interface `wan6` on both routers (TUN svr-wan6) with waypoints 2001:2:12::1 / ::2 over the same
 * veths and link emulator, neighborhood and vector `path1v6`. Services `web6` (http://[2001:2:3::20]/) and
 * `echo6` (UDP echo on [2001:2:3::20]:7) go over it only, so an IPv6 client reaches an IPv6 server over an
 * IPv6 WAN; the IPv4 services keep path 1.
 *
 *   client c-r1 2001:2:1::10 --- r1-c 2001:2:1::1 [r1] r1-r2 2001:2:21::1 --- lk-r1 2001:2:21::fe [link1] lk-r2 2001:2:31::fe --- r2-r1 2001:2:31::2 [r2] r2-s 2001:2:3::1 --- s-r2 2001:2:3::20 server
 */
import { ip } from './run.js';
import { setSysctls, type Progress } from './netns.js';
import { BLACKHOLE_METRIC } from './netns.js';
import { ECHO_PORT, EMU_DEV, EMU_TABLE, LAN_TABLE, LINK_DEV_R1, LINK_DEV_R2, nsName, pathPlan, type Place } from './topology.js';

export const CLIENT6 = '2001:2:1::10';
export const SERVER6 = '2001:2:3::20';
export const CLIENT6_PREFIX = '2001:2:1::/64';
export const SERVER6_PREFIX = '2001:2:3::/64';
export const WAYPOINTS6 = { r1: '2001:2:12::1', r2: '2001:2:12::2' } as const;
/** The IPv6 peer path's config names. */
export const WAN6 = { iface: 'wan6', device: 'svr-wan6', neighborhood: 'path1v6', vector: 'path1v6' } as const;
/** The emulator's route metric (emulator.ts ROUTE_METRIC) for the IPv6 default it does not add itself. */
const EMU_ROUTE_METRIC = 10;

interface V6Address { role: Place; dev: string; address: string }

function plan(prefix: string): { addresses: V6Address[]; devices: Map<Place, string[]> } {
  const p = pathPlan(prefix, 1);
  const addresses: V6Address[] = [
    { role: 'client', dev: 'c-r1', address: `${CLIENT6}/64` },
    { role: 'r1', dev: 'r1-c', address: '2001:2:1::1/64' },
    { role: 'r1', dev: p.r1Dev, address: '2001:2:21::1/64' },
    { role: p.role, dev: LINK_DEV_R1, address: '2001:2:21::fe/64' },
    { role: p.role, dev: LINK_DEV_R2, address: '2001:2:31::fe/64' },
    { role: 'r2', dev: p.r2Dev, address: '2001:2:31::2/64' },
    { role: 'r2', dev: 'r2-s', address: '2001:2:3::1/64' },
    { role: 'server', dev: 's-r2', address: `${SERVER6}/64` },
  ];
  const devices = new Map<Place, string[]>();
  for (const a of addresses) devices.set(a.role, [...(devices.get(a.role) ?? []), a.dev]);
  return { addresses, devices };
}

/** IPv6 on the client, server, both routers and path 1's link namespace (the IPv4 lab must exist). */
export async function addIpv6Network(prefix: string, progress: Progress): Promise<void> {
  const p = pathPlan(prefix, 1);
  const { addresses, devices } = plan(prefix);
  progress(`IPv6: ${CLIENT6} -> ${SERVER6}, peer path ${WAN6.iface} ${WAYPOINTS6.r1} <-> ${WAYPOINTS6.r2} over path 1`);
  for (const [role, devs] of devices) {
    const forwarding = role === 'r1' || role === 'r2' || role === p.role;
    await setSysctls(nsName(prefix, role), [
      'net.ipv6.conf.all.disable_ipv6=0', 'net.ipv6.conf.default.disable_ipv6=0', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0',
      ...devs.flatMap((d) => [`net.ipv6.conf.${d}.disable_ipv6=0`, `net.ipv6.conf.${d}.accept_dad=0`]),
      ...(forwarding ? ['net.ipv6.conf.all.forwarding=1'] : []),
    ]);
  }
  for (const a of addresses) await ip(nsName(prefix, a.role), ['-6', 'addr', 'add', a.address, 'dev', a.dev, 'nodad']);
  const v6 = (role: Place, args: string[]): Promise<unknown> => ip(nsName(prefix, role), ['-6', ...args]);
  await v6('client', ['route', 'add', 'default', 'via', '2001:2:1::1', 'dev', 'c-r1']);
  await v6('server', ['route', 'add', 'default', 'via', '2001:2:3::1', 'dev', 's-r2']);
  await v6('r1', ['route', 'add', `${WAYPOINTS6.r2}/128`, 'via', '2001:2:21::fe', 'dev', p.r1Dev]);
  await v6('r2', ['route', 'add', `${WAYPOINTS6.r1}/128`, 'via', '2001:2:31::fe', 'dev', p.r2Dev]);
  await v6(p.role, ['route', 'add', `${WAYPOINTS6.r1}/128`, 'via', '2001:2:21::1', 'dev', LINK_DEV_R1]);
  await v6(p.role, ['route', 'add', `${WAYPOINTS6.r2}/128`, 'via', '2001:2:31::2', 'dev', LINK_DEV_R2]);
  // the lan veths into the nodes' lan TUNs, as for IPv4 (lab RULES)
  await v6('r1', ['rule', 'add', 'iif', 'r1-c', 'lookup', String(LAN_TABLE), 'pref', '100']);
  await v6('r2', ['rule', 'add', 'iif', 'r2-s', 'lookup', String(LAN_TABLE), 'pref', '100']);
  // the link namespace steers IPv6 into the emulator too, failing closed like IPv4 (netns.ts linkSteering)
  for (const d of ['r1-r2', 'r2-r1'] as const) {
    await v6(p.role, ['route', 'add', 'blackhole', 'default', 'table', String(EMU_TABLE[d]), 'metric', String(BLACKHOLE_METRIC)]);
    await v6(p.role, ['rule', 'add', 'iif', d === 'r1-r2' ? LINK_DEV_R1 : LINK_DEV_R2, 'lookup', String(EMU_TABLE[d]), 'pref', '100']);
  }
}

/** Once path 1's emulator runs: its TUN devices take IPv6 too (the emulator routes only IPv4 itself). */
export async function routeIpv6IntoEmulator(prefix: string): Promise<void> {
  const p = pathPlan(prefix, 1);
  for (const d of ['r1-r2', 'r2-r1'] as const) {
    await setSysctls(p.namespace, [`net.ipv6.conf.${EMU_DEV[d]}.disable_ipv6=0`]);
    await ip(p.namespace, ['-6', 'route', 'replace', 'default', 'dev', EMU_DEV[d], 'table', String(EMU_TABLE[d]), 'metric', String(EMU_ROUTE_METRIC)]);
  }
}

/** `svr lab serve` on the server's IPv6 address (HTTP and the UDP echo). */
export function server6Args(prefix: string): string[] {
  return ['lab', 'serve', '--lab', `${prefix}-v6`, '--http', `${SERVER6}:80`, '--udp', `${SERVER6}:${ECHO_PORT}`, '--stream', 'off'];
}
