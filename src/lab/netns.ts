/**
 * Network namespaces with ip(8): create and delete by exact name (both idempotent), and build the lab's
 * links, addresses, routes, rules and sysctls inside them. Nothing is created in the root namespace:
 * veth pairs are created inside a lab namespace with their peer placed directly into the other one.
 */
import { ip, run } from './run.js';
import { EXTRA_ADDRESSES, LINKS, namespaces, nsName, ROUTERS, ROUTES, RULES, devicesOf, type Role } from './topology.js';

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
export async function buildNetwork(prefix: string, progress: Progress): Promise<void> {
  const ns = (r: Role): string => nsName(prefix, r);

  progress(`creating namespaces ${namespaces(prefix).join(' ')}`);
  for (const name of namespaces(prefix)) await createNamespace(name);

  // no IPv6 in the lab (no link-local chatter on the wire); set before the devices exist so they inherit it
  progress('disabling IPv6 in the namespaces; enabling IPv4 forwarding on the routers');
  for (const name of namespaces(prefix)) {
    await setSysctls(name, ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  }
  for (const r of ROUTERS) {
    await setSysctls(ns(r), ['net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0']);
  }

  for (const l of LINKS) {
    progress(`veth ${ns(l.a.role)}/${l.a.dev} ${l.a.address} <-> ${ns(l.b.role)}/${l.b.dev} ${l.b.address}, mtu ${l.mtu} (${l.label})`);
    await ip(ns(l.a.role), ['link', 'add', l.a.dev, 'mtu', String(l.mtu), 'type', 'veth', 'peer', 'name', l.b.dev, 'mtu', String(l.mtu), 'netns', ns(l.b.role)]);
    for (const end of [l.a, l.b]) {
      await ip(ns(end.role), ['addr', 'add', end.address, 'dev', end.dev]);
      await ip(ns(end.role), ['link', 'set', 'dev', end.dev, 'up']);
    }
  }
  for (const a of EXTRA_ADDRESSES) {
    progress(`address ${a.address} on ${ns(a.role)}/${a.dev} (a source in no tenant)`);
    await ip(ns(a.role), ['addr', 'add', a.address, 'dev', a.dev]);
  }
  for (const r of ROUTERS) {
    await setSysctls(ns(r), devicesOf(r).map((d) => `net.ipv4.conf.${d}.rp_filter=0`));
  }

  progress('routes and rules');
  for (const r of ROUTES) await ip(ns(r.role), ['route', 'add', ...r.args]);
  for (const r of RULES) await ip(ns(r.role), ['rule', 'add', ...r.args]);
}

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
