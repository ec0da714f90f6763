/**
 * Network namespaces with ip(8): create and delete by exact name (both idempotent), and build the lab's
 * links, addresses, routes, rules and sysctls inside them (including one link namespace per WAN path). Nothing is created in the root namespace:
 * veth pairs are created inside a lab namespace with their peer placed directly into the other one.
 */
import { ip, run } from './run.js';
import {
  DIRECTIONS, EMU_IN_DEV, EMU_TABLE, EXTRA_ADDRESSES, LINK_DEV_R1, LINK_DEV_R2, LINKS, namespaces, nsName, pathLinks, pathPlans, pathRoutes, ROUTERS, ROUTES,
  RULES, devicesOf, type Place, type VethLink,
} from './topology.js';

/** Names of the existing network namespaces (`ip netns list`). */
export async function listNamespaces(): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list']);
  return stdout.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter((n) => n !== '');
}

export async function namespaceExists(name: string): Promise<boolean> {
  return (await listNamespaces()).includes(name);
}

/** Creates `name` unless it exists; brings `lo` up. */
export async function createNamespace(name: string): Promise<void> {
  if (!(await namespaceExists(name))) await run('ip', ['netns', 'add', name]);
  await ip(name, ['link', 'set', 'lo', 'up']);
}

/** Deletes the namespace called exactly `name` if it exists (its veths and TUNs go with it). */
export async function deleteNamespace(name: string): Promise<boolean> {
  if (!(await namespaceExists(name))) return false;
  await run('ip', ['netns', 'del', name]);
  return true;
}

/** Pids of the processes inside a namespace (`ip netns pids`); [] when it does not exist. */
export async function namespacePids(name: string): Promise<number[]> {
  if (!(await namespaceExists(name))) return [];
  const { stdout } = await run('ip', ['netns', 'pids', name]);
  return stdout.split(/\s+/).filter((s) => /^\d+$/.test(s)).map(Number);
}

// Writes /proc/sys entries from inside the namespace (no sysctl(8) or shell needed).
const SYSCTL_SCRIPT = `const fs = require('node:fs');
for (const a of process.argv.slice(1)) {
  const i = a.indexOf('=');
  fs.writeFileSync('/proc/sys/' + a.slice(0, i).replace(/\\./g, '/'), a.slice(i + 1));
}`;

/** Sets sysctls (`net.ipv4.ip_forward=1` ...) inside a namespace. Device names must not contain dots. */
export async function setSysctls(ns: string, settings: readonly string[]): Promise<void> {
  await run('ip', ['netns', 'exec', ns, process.execPath, '-e', SYSCTL_SCRIPT, ...settings]);
}

export type Progress = (line: string) => void;

/** Builds the whole lab network; the namespaces must not exist yet (checked by the caller). */
export async function buildNetwork(prefix: string, paths: number, progress: Progress): Promise<void> {
  const ns = (r: Place): string => nsName(prefix, r);
  const plans = pathPlans(prefix, paths);
  const all = [...namespaces(prefix), ...plans.map((p) => p.namespace)];

  progress(`creating namespaces ${all.join(' ')}`);
  for (const name of all) await createNamespace(name);

  // no IPv6 in the lab (no link-local chatter on the wire); set before the devices exist so they inherit it
  progress('disabling IPv6 in the namespaces; enabling IPv4 forwarding on the routers and links');
  for (const name of all) {
    await setSysctls(name, ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  }
  for (const name of [ns('r1'), ns('r2'), ...plans.map((p) => p.namespace)]) {
    await setSysctls(name, ['net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0',
      'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.default.send_redirects=0']);
  }

  const veth = async (l: VethLink): Promise<void> => {
    progress(`veth ${ns(l.a.role)}/${l.a.dev} ${l.a.address} <-> ${ns(l.b.role)}/${l.b.dev} ${l.b.address}, mtu ${l.mtu} (${l.label})`);
    await ip(ns(l.a.role), ['link', 'add', l.a.dev, 'mtu', String(l.mtu), 'type', 'veth', 'peer', 'name', l.b.dev, 'mtu', String(l.mtu), 'netns', ns(l.b.role)]);
    for (const end of [l.a, l.b]) {
      await ip(ns(end.role), ['addr', 'add', end.address, 'dev', end.dev]);
      await ip(ns(end.role), ['link', 'set', 'dev', end.dev, 'up']);
    }
  };
  for (const l of LINKS) await veth(l);
  for (const p of plans) for (const l of pathLinks(p)) await veth(l);
  for (const a of EXTRA_ADDRESSES) {
    progress(`address ${a.address} on ${ns(a.role)}/${a.dev} (a source in no tenant)`);
    await ip(ns(a.role), ['addr', 'add', a.address, 'dev', a.dev]);
  }
  for (const r of ROUTERS) {
    await setSysctls(ns(r), devicesOf(r, plans).map((d) => `net.ipv4.conf.${d}.rp_filter=0`));
  }
  for (const p of plans) await setSysctls(p.namespace, [LINK_DEV_R1, LINK_DEV_R2].map((d) => `net.ipv4.conf.${d}.rp_filter=0`));

  progress('routes and rules');
  for (const r of ROUTES) await ip(ns(r.role), ['route', 'add', ...r.args]);
  for (const r of RULES) await ip(ns(r.role), ['rule', 'add', ...r.args]);
  for (const p of plans) {
    for (const r of pathRoutes(p)) await ip(ns(r.role), ['route', 'add', ...r.args]);
    await linkSteering(p.namespace);
  }
}

/**
 * In a link namespace: packets arriving on lk-r1 (lk-r2) are looked up in table 201 (202), where the
 * emulator routes `default dev emu-to-r2` (`emu-to-r1`) once it runs. Below that route sits a blackhole
 * with a worse metric, so a link whose emulator is not running (or crashed) carries nothing, rather than
 * silently becoming a perfect wire.
 */
async function linkSteering(linkNs: string): Promise<void> {
  for (const d of DIRECTIONS) {
    await ip(linkNs, ['route', 'add', 'blackhole', 'default', 'table', String(EMU_TABLE[d]), 'metric', String(BLACKHOLE_METRIC)]);
    await ip(linkNs, ['rule', 'add', 'iif', EMU_IN_DEV[d], 'lookup', String(EMU_TABLE[d]), 'pref', '100']);
  }
}

/** Metric of the fallback blackhole in the emulator tables (the emulator's own route uses a lower one). */
export const BLACKHOLE_METRIC = 1000;

export interface InterfaceInfo {
  name: string;
  state: string;
  mtu: number;
  addresses: string[];
}

interface IpAddrJson {
  ifname?: string;
  operstate?: string;
  mtu?: number;
  addr_info?: { local?: string; prefixlen?: number; family?: string }[];
}

/** Interfaces of a namespace with their IPv4 addresses (`ip -j addr`), lo left out. */
export async function interfacesOf(ns: string): Promise<InterfaceInfo[]> {
  const { stdout } = await ip(ns, ['-j', 'addr', 'show']);
  const list = JSON.parse(stdout || '[]') as IpAddrJson[];
  return list
    .filter((i) => i.ifname !== undefined && i.ifname !== 'lo')
    .map((i) => ({
      name: i.ifname!,
      state: (i.operstate ?? 'UNKNOWN').toLowerCase(),
      mtu: i.mtu ?? 0,
      addresses: (i.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
    }));
}
