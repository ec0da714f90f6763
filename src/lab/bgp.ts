/**
 * `svr lab up --bgp` (docs/routing.md): a provider-edge namespace `<prefix>-pe` running its own FRR
 * (zebra, bgpd, bfdd) as both routers' eBGP neighbour, and serving 198.18.60.20 (HTTP and UDP echo) in the
 * prefix it announces:
 *
 *   r1 r1-pe 198.18.61.2/24 --- pe-r1 198.18.61.1 [<prefix>-pe AS 65100: lo 198.18.60.20, announces 198.18.60.0/24] pe-r2 198.18.62.1 --- r2-pe 198.18.62.2/24 r2
 *      AS 65001: service bgp-web (198.18.60.0/24) follows the learned route      AS 65002: redistribute service (announces clients 198.18.1.0/24 while a path to r1 is up)
 *
 * r1 steers the PE's replies (`from 198.18.60.0/24 iif r1-pe`) into its lan TUN, as it does the client's
 * traffic; the PE routes the clients back to r1 (a kernel route, distance 0, beats what r2 announces).
 * The PE's FRR runs from `<dir>/pe-frr`; its daemons are lab processes (stopped by pid at `lab down`).
 */
import { chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ip, run } from './run.js';
import { createNamespace, setSysctls, type Progress } from './netns.js';
import { LAN_TABLE, nsName } from './topology.js';
import type { Launch } from './launch.js';
import { svrScript } from './run.js';

export const PE_ROLE = 'pe' as const;
export const PE_AS = 65100;
export const ROUTER_AS = { r1: 65001, r2: 65002 } as const;
export const PE_PREFIX = '198.18.60.0/24';
export const PE_SERVER = '198.18.60.20';
/** where the PE announces a route flood (`svr lab bgp flood`): /30s of 198.19.0.0/16 */
export const FLOOD_RANGE = '198.19.0.0/16';
export const PE_LINKS = {
  r1: { router: 'r1-pe', pe: 'pe-r1', routerAddress: '198.18.61.2', peAddress: '198.18.61.1' },
  r2: { router: 'r2-pe', pe: 'pe-r2', routerAddress: '198.18.62.2', peAddress: '198.18.62.1' },
} as const;
const PE_DAEMONS = ['zebra', 'bfdd', 'bgpd'] as const;
const FRR_BIN = process.env['SVR_FRR_DIR'] ?? '/usr/lib/frr';

export function peFrrDir(dir: string): string {
  return join(dir, 'pe-frr');
}

export async function buildBgpNetwork(prefix: string, progress: Progress): Promise<void> {
  const ns = nsName(prefix, PE_ROLE);
  progress(`provider edge ${ns}: FRR bgpd AS ${PE_AS} announcing ${PE_PREFIX} (server ${PE_SERVER}), a veth to each router`);
  await createNamespace(ns);
  await setSysctls(ns, ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  await ip(ns, ['addr', 'add', `${PE_SERVER}/32`, 'dev', 'lo']);
  for (const r of ['r1', 'r2'] as const) {
    const l = PE_LINKS[r];
    const routerNs = nsName(prefix, r);
    await ip(routerNs, ['link', 'add', l.router, 'type', 'veth', 'peer', 'name', l.pe, 'netns', ns]);
    await ip(routerNs, ['addr', 'add', `${l.routerAddress}/24`, 'dev', l.router]);
    await ip(routerNs, ['link', 'set', 'dev', l.router, 'up']);
    await ip(ns, ['addr', 'add', `${l.peAddress}/24`, 'dev', l.pe]);
    await ip(ns, ['link', 'set', 'dev', l.pe, 'up']);
  }
  // the clients are behind r1: replies go back that way whatever r2 announces
  await ip(ns, ['route', 'add', '198.18.1.0/24', 'via', PE_LINKS.r1.routerAddress, 'dev', PE_LINKS.r1.pe]);
  await ip(nsName(prefix, 'r1'), ['rule', 'add', 'from', PE_PREFIX, 'iif', PE_LINKS.r1.router, 'lookup', String(LAN_TABLE), 'pref', '100']);
}

/** The PE's FRR files: every neighbour with 1 s keepalives, 3 s hold, BFD. */
export function peFrrFiles(dir: string): Record<string, string> {
  const head = (d: string): string[] => ['frr defaults traditional', 'hostname pe', `log file ${dir}/${d}.log informational`];
  const neighbors = (['r1', 'r2'] as const).map((r) => ({ address: PE_LINKS[r].routerAddress, as: ROUTER_AS[r] }));
  const bgpd = [
    ...head('bgpd'), `router bgp ${PE_AS}`, ` bgp router-id ${PE_LINKS.r1.peAddress}`, ' no bgp default ipv4-unicast', ' no bgp ebgp-requires-policy', ' no bgp network import-check',
    ...neighbors.flatMap((n) => [` neighbor ${n.address} remote-as ${n.as}`, ` neighbor ${n.address} timers 1 3`, ` neighbor ${n.address} timers connect 1`, ` neighbor ${n.address} bfd`]),
    ' address-family ipv4 unicast', `  network ${PE_PREFIX}`,
    ...neighbors.flatMap((n) => [`  neighbor ${n.address} activate`, `  neighbor ${n.address} advertisement-interval 0`]),
    ' exit-address-family', 'exit',
  ];
  return {
    'zebra.conf': [...head('zebra')].join('\n') + '\n',
    'bfdd.conf': [...head('bfdd'), 'bfd', 'exit'].join('\n') + '\n',
    'bgpd.conf': bgpd.join('\n') + '\n',
  };
}

/** The PE's daemons as lab processes (zebra first; its API socket must exist before the others start). */
export function peLaunches(dir: string): Launch[] {
  const frr = peFrrDir(dir);
  const owner = frrOwner();
  mkdirSync(frr, { recursive: true });
  for (const [name, text] of Object.entries(peFrrFiles(frr))) writeFileSync(join(frr, name), text);
  if (owner !== undefined) for (const f of ['', ...Object.keys(peFrrFiles(frr))]) chownSync(join(frr, f), owner.uid, owner.gid);
  return PE_DAEMONS.map((d) => ({
    name: `pe-${d}`, kind: 'frr', role: PE_ROLE, cmd: join(FRR_BIN, d),
    args: [
      '-f', join(frr, `${d}.conf`), '-i', join(frr, `${d}.pid`), '-z', join(frr, 'zserv.api'), '--vty_socket', frr,
      ...(owner !== undefined ? ['-u', 'frr', '-g', 'frr'] : []), ...(d === 'bfdd' ? ['--bfdctl', join(frr, 'bfdd.sock')] : []),
    ],
    markers: [d, join(frr, `${d}.conf`)],
  }));
}

/** `svr lab serve` on the PE's server address: HTTP :80 and UDP echo :7. */
export function peServerLaunch(prefix: string): Launch {
  return {
    name: 'pe-server', kind: 'server', role: PE_ROLE, cmd: process.execPath,
    args: [svrScript(), 'lab', 'serve', '--lab', `${prefix}-pe`, '--http', `${PE_SERVER}:80`, '--udp', `${PE_SERVER}:7`, '--stream', 'off'],
    markers: ['svr.js', 'serve', '--lab', `${prefix}-pe`],
  };
}

/** Runs vtysh against the PE's FRR; resolves with its output. */
export async function peVtysh(dir: string, prefix: string, commands: readonly string[]): Promise<string> {
  const r = await run('ip', ['netns', 'exec', nsName(prefix, PE_ROLE), 'vtysh', '--vty_socket', peFrrDir(dir), ...commands.flatMap((c) => ['-c', c])]);
  return r.stdout;
}

/** The PE announces (true) or withdraws its server prefix. */
export function peAnnounce(dir: string, prefix: string, announce: boolean, prefixes: readonly string[] = [PE_PREFIX]): Promise<string> {
  return peVtysh(dir, prefix, ['configure terminal', `router bgp ${PE_AS}`, 'address-family ipv4 unicast', ...prefixes.map((p) => `${announce ? '' : 'no '}network ${p}`)]);
}

/** `count` /30 prefixes of FLOOD_RANGE (at most 16384), for a route flood. */
export function floodPrefixes(count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < Math.min(count, 16384); i++) out.push(`198.19.${i >> 6}.${(i & 63) * 4}/30`);
  return out;
}

function frrOwner(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('frr:'));
  if (line === undefined) return undefined;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}
