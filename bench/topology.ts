/**
 * The benchmark's network: four namespaces in a line, as in ../shared/docs/performance-anchors.md.
 *
 *   svb-client 198.18.1.2 ─ c-r1 ═ r1-c 198.18.1.1  svb-r1  198.18.2.1 r1-r2 ═ r2-r1 198.18.2.2  svb-r2  198.18.3.1 r2-s ═ s-r2 198.18.3.2 svb-server
 *
 * Every address is in 198.18.0.0/15 and exists only inside these namespaces. They are created and
 * deleted by exact name; nothing is created in the root namespace. Modes add their own routes/devices.
 * Every veth runs at MTU 1500 (WAN_MTU) for every mode. The `svb` prefix of the namespaces (and of the
 * tunnels' device names) is `--prefix` / SVR_BENCH_PREFIX, so runs with other prefixes can share a host.
 */
import { ipn, run, runIn } from './exec.js';

/** The MTU of every veth, the r1-r2 WAN included, in every mode. */
export const WAN_MTU = 1500;

/** Namespace names (set by usePrefix before anything is created). */
export const NS = { client: 'svb-client', r1: 'svb-r1', r2: 'svb-r2', server: 'svb-server' };
export type Role = keyof typeof NS;
let prefix = 'svb';

/** Names namespaces and tunnel devices `<p>-...`: a letter, then up to 7 letters, digits or dashes (device names stay <= 15 bytes). */
export function usePrefix(p: string): void {
  if (!/^[a-z][a-z0-9-]{0,7}$/.test(p)) throw new Error(`--prefix "${p}": use a letter and up to 7 more lowercase letters, digits or dashes`);
  prefix = p;
  for (const r of Object.keys(NS) as Role[]) NS[r] = `${p}-${r}`;
}

/** The prefix in use (`svb` unless usePrefix changed it). */
export function namePrefix(): string {
  return prefix;
}

export function allNamespaces(): string[] {
  return [NS.client, NS.r1, NS.r2, NS.server];
}

export const CLIENT = '198.18.1.2';
export const R1_LAN = '198.18.1.1';
export const R1_WAN = '198.18.2.1';
export const R2_WAN = '198.18.2.2';
export const R2_LAN = '198.18.3.1';
export const SERVER = '198.18.3.2';
export const CLIENT_NET = '198.18.1.0/24';
export const SERVER_NET = '198.18.3.0/24';
/** Extra client sources for the session-rate test (distinct 5-tuples). */
export const CLIENT_EXTRA: readonly string[] = Array.from({ length: 16 }, (_, i) => `198.18.1.${100 + i}`);

export const DEV = { clientLan: 'c-r1', r1Lan: 'r1-c', r1Wan: 'r1-r2', r2Wan: 'r2-r1', r2Lan: 'r2-s', serverLan: 's-r2' } as const;

export async function listNamespaces(): Promise<string[]> {
  const { stdout } = await run('ip', ['netns', 'list']);
  return stdout.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter((n) => n !== '');
}

/** Writes /proc/sys entries inside a namespace (device names must not contain dots). */
export async function sysctl(ns: string, settings: readonly string[]): Promise<void> {
  const script = "const fs=require('node:fs');for(const a of process.argv.slice(1)){const i=a.indexOf('=');fs.writeFileSync('/proc/sys/'+a.slice(0,i).replace(/\\./g,'/'),a.slice(i+1));}";
  await runIn(ns, process.execPath, ['-e', script, ...settings]);
}

/** Pids inside a namespace. */
export async function namespacePids(ns: string): Promise<number[]> {
  const { stdout } = await run('ip', ['netns', 'pids', ns]);
  return stdout.split(/\s+/).filter((s) => /^\d+$/.test(s)).map(Number);
}

/** Refuses when our namespaces exist with processes inside (someone else's run); deletes empty leftovers. */
export async function checkLeftovers(progress: (l: string) => void): Promise<void> {
  const existing = (await listNamespaces()).filter((n) => allNamespaces().includes(n));
  for (const ns of existing) {
    const pids = await namespacePids(ns);
    if (pids.length > 0) throw new Error(`namespace ${ns} exists with processes ${pids.join(' ')} (another benchmark running?); stop them and run \`ip netns del ${ns}\``);
    progress(`deleting leftover namespace ${ns}`);
    await run('ip', ['netns', 'del', ns]);
  }
}

async function veth(nsA: string, devA: string, addrA: string, nsB: string, devB: string, addrB: string): Promise<void> {
  await ipn(nsA, ['link', 'add', devA, 'mtu', String(WAN_MTU), 'type', 'veth', 'peer', 'name', devB, 'mtu', String(WAN_MTU), 'netns', nsB]);
  await ipn(nsA, ['addr', 'add', `${addrA}/24`, 'dev', devA]);
  await ipn(nsB, ['addr', 'add', `${addrB}/24`, 'dev', devB]);
  await ipn(nsA, ['link', 'set', devA, 'up']);
  await ipn(nsB, ['link', 'set', devB, 'up']);
}

export async function createTopology(progress: (l: string) => void): Promise<void> {
  progress(`creating namespaces ${allNamespaces().join(' ')}`);
  for (const ns of allNamespaces()) {
    await run('ip', ['netns', 'add', ns]);
    await ipn(ns, ['link', 'set', 'lo', 'up']);
    await sysctl(ns, ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  }
  for (const ns of [NS.r1, NS.r2]) {
    await sysctl(ns, ['net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0',
      'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.default.send_redirects=0']);
  }
  await veth(NS.client, DEV.clientLan, CLIENT, NS.r1, DEV.r1Lan, R1_LAN);
  await veth(NS.r1, DEV.r1Wan, R1_WAN, NS.r2, DEV.r2Wan, R2_WAN);
  await veth(NS.r2, DEV.r2Lan, R2_LAN, NS.server, DEV.serverLan, SERVER);
  for (const [ns, devs] of [[NS.r1, [DEV.r1Lan, DEV.r1Wan]], [NS.r2, [DEV.r2Lan, DEV.r2Wan]]] as const) {
    await sysctl(ns, devs.map((d) => `net.ipv4.conf.${d}.rp_filter=0`));
  }
  for (const a of CLIENT_EXTRA) await ipn(NS.client, ['addr', 'add', `${a}/32`, 'dev', DEV.clientLan]);
  await ipn(NS.client, ['route', 'add', 'default', 'via', R1_LAN]);
  await ipn(NS.server, ['route', 'add', 'default', 'via', R2_LAN]);
}

/** The MTU of the r1-r2 veth as the kernel reports it (recorded per mode: the run checks they all match). */
export async function wanMtu(): Promise<number> {
  const [link] = JSON.parse((await ipn(NS.r1, ['-j', 'link', 'show', DEV.r1Wan])).stdout) as { mtu?: number }[];
  return link?.mtu ?? NaN;
}

/**
 * Forgets what the namespaces learned from the previous mode: path MTUs from ICMP fragmentation-needed (a
 * tunnel's 1420 would otherwise shrink the next mode's TCP segments) and other route exceptions.
 */
export async function flushRouteCaches(): Promise<void> {
  for (const ns of allNamespaces()) await ipn(ns, ['route', 'flush', 'cache']);
}

/** The HA case's namespace of the standby r1b (ha.ts), which a run stopped midway can leave behind. */
export const standbyNamespace = (): string => `${namePrefix()}-r1b`;

/** Deletes our four namespaces, and the HA case's standby's when there, by exact name (veths and TUN devices go with them). Never throws. */
export async function deleteTopology(progress: (l: string) => void): Promise<void> {
  const ours = [...allNamespaces(), standbyNamespace()];
  let existing: string[] = [];
  try {
    existing = (await listNamespaces()).filter((n) => ours.includes(n));
  } catch {
    existing = allNamespaces();
  }
  for (const ns of existing) {
    try {
      await run('ip', ['netns', 'del', ns]);
    } catch (e) {
      progress(`could not delete ${ns}: ${(e as Error).message}`);
    }
  }
  if (existing.length > 0) progress(`deleted namespaces ${existing.join(' ')}`);
}
