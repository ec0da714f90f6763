/**
 * `svr lab up --conductor`: the lab's routers managed by a conductor in its own namespace.
 *
 *   r<i>  r<i>-cd 198.18.(50+i).2/24 --- cd-r<i> 198.18.(50+i).1/24  <prefix>-conductor   (one veth per router)
 *
 * The conductor (svr conductor start) owns the lab's authority.yaml as version 1, listens on 4443 and is
 * advertised on every router-facing address (each router reaches all of them: 198.18.48.0/20 via its own
 * veth). The lab logs in (session in <dir>/conductor-session.json), creates one one-time token per
 * router, and starts each node with --conductor --asset-id --token: ZTP enrolment, then mutual TLS.
 *
 * `--etcd N` (high availability): N etcd members (127.0.0.1, client ports 2379, 2381, ...) and two
 * conductors (4443 and 4444) in the conductor namespace share the store; one leads, the other stands
 * by, each names the other as a peer, and the routers know all of their URLs. Both get the admin
 * password from <dir>/admin-password.
 * Management traffic uses the namespaces' kernel stacks, never the SVR data path.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SvrError } from '../errors.js';
import { ip, runIn, svrScript } from './run.js';
import { createNamespace, setSysctls, type Progress } from './netns.js';
import { nsName } from './topology.js';

export const CONDUCTOR_ROLE = 'conductor' as const;
export const CONDUCTOR_PORT = 4443;
/** the second conductor of the HA lab */
export const STANDBY_PORT = 4444;
/** first client and peer port of the HA lab's etcd members (member k: +2k) */
export const ETCD_CLIENT_PORT = 2379;

/** The conductor's address toward router i (1-based). */
export function conductorAddress(i: number): string {
  return `198.18.${50 + i}.1`;
}

/** URLs of the conductor on `port` at every router-facing address. */
export function conductorUrls(routers = 2, port = CONDUCTOR_PORT): string[] {
  return Array.from({ length: routers }, (_, i) => `https://${conductorAddress(i + 1)}:${port}`);
}

/** Every conductor URL the routers get (both conductors with etcd). */
export function allConductorUrls(routers: number, ha: boolean): string[] {
  return ha ? [...conductorUrls(routers, CONDUCTOR_PORT), ...conductorUrls(routers, STANDBY_PORT)] : conductorUrls(routers);
}

export function conductorDataDir(dir: string, k = 1): string {
  return join(dir, k === 1 ? 'conductor' : `conductor${k}`);
}

export function conductorSessionPath(dir: string): string {
  return join(dir, 'conductor-session.json');
}

export function adminPasswordPath(dir: string): string {
  return join(dir, 'admin-password');
}

export function etcdEndpoints(members: number): string[] {
  return Array.from({ length: members }, (_, k) => `http://127.0.0.1:${ETCD_CLIENT_PORT + 2 * k}`);
}

/** The conductor namespace and one veth per router (`routers` named r1..rN). */
export async function buildConductorNetwork(prefix: string, routers: readonly string[], progress: Progress): Promise<void> {
  const ns = nsName(prefix, CONDUCTOR_ROLE);
  progress(`creating namespace ${ns} (the conductor)`);
  await createNamespace(ns);
  await setSysctls(ns, ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  for (const [n, name] of routers.entries()) {
    const i = n + 1;
    const rns = nsName(prefix, name as `r${number}`);
    const routerEnd = `198.18.${50 + i}.2/24`;
    const conductorEnd = `${conductorAddress(i)}/24`;
    progress(`veth ${rns}/${name}-cd ${routerEnd} <-> ${ns}/cd-${name} ${conductorEnd} (management (${name} to the conductor))`);
    await ip(rns, ['link', 'add', `${name}-cd`, 'mtu', '1500', 'type', 'veth', 'peer', 'name', `cd-${name}`, 'mtu', '1500', 'netns', ns]);
    for (const [where, dev, address] of [[rns, `${name}-cd`, routerEnd], [ns, `cd-${name}`, conductorEnd]] as const) {
      await ip(where, ['addr', 'add', address, 'dev', dev]);
      await ip(where, ['link', 'set', 'dev', dev, 'up']);
    }
    // the conductor's other addresses through this router's own veth
    await ip(rns, ['route', 'add', '198.18.48.0/20', 'via', conductorAddress(i)]);
  }
}

export interface ConductorInstance {
  /** 1 or 2 */
  k: number;
  port: number;
  dataDir: string;
  /** what it advertises */
  urls: string[];
  /** the other conductor's URLs (HA) */
  peers: string[];
}

/** The lab's conductors: one, or two sharing etcd. */
export function labConductors(dir: string, routers: number, etcd: number | undefined): ConductorInstance[] {
  const one: ConductorInstance = { k: 1, port: CONDUCTOR_PORT, dataDir: conductorDataDir(dir), urls: conductorUrls(routers, CONDUCTOR_PORT), peers: [] };
  if (etcd === undefined) return [one];
  const two: ConductorInstance = { k: 2, port: STANDBY_PORT, dataDir: conductorDataDir(dir, 2), urls: conductorUrls(routers, STANDBY_PORT), peers: one.urls };
  one.peers = two.urls;
  return [one, two];
}

/** `node bin/svr.js conductor start --config <dir>/authority.yaml --data-dir ... --listen 0.0.0.0:PORT --advertise ... [--peer ... --etcd ...]`. */
export function conductorArgs(dir: string, c: ConductorInstance = labConductors(dir, 2, undefined)[0]!, etcd?: number): string[] {
  const args = [svrScript(), 'conductor', 'start', '--config', join(dir, 'authority.yaml'), '--data-dir', c.dataDir, '--listen', `0.0.0.0:${c.port}`, '--advertise', c.urls.join(',')];
  if (etcd !== undefined) {
    args.push('--peer', c.peers.join(','), '--etcd', etcdEndpoints(etcd).join(','), '--etcd-prefix', '/svrouter-lab/', '--admin-password-file', adminPasswordPath(dir));
  }
  return args;
}

/** `etcd` member k (1-based) of `members`, on loopback in the conductor namespace, its data in <dir>/etcd/e<k>. */
export function etcdArgs(dir: string, prefix: string, k: number, members: number): string[] {
  const client = (j: number) => `http://127.0.0.1:${ETCD_CLIENT_PORT + 2 * (j - 1)}`;
  const peer = (j: number) => `http://127.0.0.1:${ETCD_CLIENT_PORT + 2 * (j - 1) + 1}`;
  const cluster = Array.from({ length: members }, (_, j) => `e${j + 1}=${peer(j + 1)}`).join(',');
  return [
    '--name', `e${k}`, '--data-dir', join(dir, 'etcd', `e${k}`),
    '--listen-client-urls', client(k), '--advertise-client-urls', client(k),
    '--listen-peer-urls', peer(k), '--initial-advertise-peer-urls', peer(k),
    '--initial-cluster', cluster, '--initial-cluster-state', 'new', '--initial-cluster-token', `${prefix}-lab`,
    '--heartbeat-interval', '100', '--election-timeout', '1000',
  ];
}

/** A fresh admin password for the HA lab's conductors (mode 0600). */
export function writeAdminPassword(dir: string): void {
  writeFileSync(adminPasswordPath(dir), `${randomBytes(12).toString('base64url')}\n`, { mode: 0o600 });
}

/**
 * Logs in as admin with the CLI inside the conductor's namespace (the session goes to
 * <dir>/conductor-session.json, for `SVR_CONDUCTOR_SESSION=... svr conductor show routers`), then
 * creates one one-time enrolment token per router.
 */
export async function labTokens(dir: string, prefix: string, routers: readonly string[], ha: boolean): Promise<Record<string, string>> {
  const ns = nsName(prefix, CONDUCTOR_ROLE);
  const env = { SVR_CONDUCTOR_SESSION: conductorSessionPath(dir) };
  const svr = (args: string[]) => runIn(ns, process.execPath, [svrScript(), ...args], { env });
  const local = (ha ? [CONDUCTOR_PORT, STANDBY_PORT] : [CONDUCTOR_PORT]).map((p) => `https://127.0.0.1:${p}`).join(',');
  try {
    await svr(['conductor', 'login', '--conductor', local, '--data-dir', conductorDataDir(dir), ...(ha ? ['--password-file', adminPasswordPath(dir)] : [])]);
    const out: Record<string, string> = {};
    for (const r of routers) out[r] = (await svr(['conductor', 'token', 'create', '--asset-id', r, '--quiet'])).stdout.trim();
    return out;
  } catch (e) {
    throw new SvrError('SVR_ERR_LAB_COMMAND', `the lab could not log in to its conductor or create tokens: ${e instanceof Error ? e.message : String(e)}`);
  }
}
