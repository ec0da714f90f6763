/**
 * `svr lab up --conductor`: the lab's routers managed by a conductor in its own namespace.
 *
 *   r1  r1-cd 198.18.51.2/24 --- cd-r1 198.18.51.1/24  conductor  cd-r2 198.18.52.1/24 --- r2-cd 198.18.52.2/24  r2
 *
 * The conductor (svr conductor start) owns the lab's authority.yaml as version 1, listens on 4443 and is
 * advertised on both addresses (each router reaches both: the conductor namespace answers for its own
 * addresses on either veth). The lab logs in (session in <dir>/conductor-session.json), creates one
 * one-time token per router, and starts each node with --conductor --asset-id --token: ZTP enrolment,
 * then mutual TLS. Management traffic uses the namespaces' kernel stacks, never the SVR data path.
 */
import { join } from 'node:path';
import { SvrError } from '../errors.js';
import { ip, runIn, svrScript } from './run.js';
import { createNamespace, setSysctls, type Progress } from './netns.js';
import { nsName, type VethLink } from './topology.js';

export const CONDUCTOR_ROLE = 'conductor' as const;
export const CONDUCTOR_PORT = 4443;
export const CONDUCTOR_ADDRESSES = { r1: '198.18.51.1', r2: '198.18.52.1' } as const;

export const CONDUCTOR_LINKS: readonly VethLink[] = [
  { label: 'management (r1 to the conductor)', mtu: 1500, a: { role: 'r1', dev: 'r1-cd', address: '198.18.51.2/24' }, b: { role: CONDUCTOR_ROLE, dev: 'cd-r1', address: `${CONDUCTOR_ADDRESSES.r1}/24` } },
  { label: 'management (r2 to the conductor)', mtu: 1500, a: { role: 'r2', dev: 'r2-cd', address: '198.18.52.2/24' }, b: { role: CONDUCTOR_ROLE, dev: 'cd-r2', address: `${CONDUCTOR_ADDRESSES.r2}/24` } },
];

/** Each router reaches the conductor's other address through its own veth. */
const CONDUCTOR_ROUTES = [
  { role: 'r1' as const, args: ['198.18.52.0/24', 'via', CONDUCTOR_ADDRESSES.r1] },
  { role: 'r2' as const, args: ['198.18.51.0/24', 'via', CONDUCTOR_ADDRESSES.r2] },
];

export function conductorUrls(): string[] {
  return [CONDUCTOR_ADDRESSES.r1, CONDUCTOR_ADDRESSES.r2].map((a) => `https://${a}:${CONDUCTOR_PORT}`);
}

export function conductorDataDir(dir: string): string {
  return join(dir, 'conductor');
}

export function conductorSessionPath(dir: string): string {
  return join(dir, 'conductor-session.json');
}

export async function buildConductorNetwork(prefix: string, progress: Progress): Promise<void> {
  const ns = nsName(prefix, CONDUCTOR_ROLE);
  progress(`creating namespace ${ns} (the conductor)`);
  await createNamespace(ns);
  await setSysctls(ns, ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  for (const l of CONDUCTOR_LINKS) {
    progress(`veth ${nsName(prefix, l.a.role)}/${l.a.dev} ${l.a.address} <-> ${ns}/${l.b.dev} ${l.b.address} (${l.label})`);
    await ip(nsName(prefix, l.a.role), ['link', 'add', l.a.dev, 'mtu', String(l.mtu), 'type', 'veth', 'peer', 'name', l.b.dev, 'mtu', String(l.mtu), 'netns', ns]);
    for (const end of [l.a, l.b]) {
      await ip(nsName(prefix, end.role), ['addr', 'add', end.address, 'dev', end.dev]);
      await ip(nsName(prefix, end.role), ['link', 'set', 'dev', end.dev, 'up']);
    }
  }
  for (const r of CONDUCTOR_ROUTES) await ip(nsName(prefix, r.role), ['route', 'add', ...r.args]);
}

/** `node bin/svr.js conductor start --config <dir>/authority.yaml --data-dir <dir>/conductor --listen 0.0.0.0:4443 --advertise ...`. */
export function conductorArgs(dir: string): string[] {
  return [svrScript(), 'conductor', 'start', '--config', join(dir, 'authority.yaml'), '--data-dir', conductorDataDir(dir), '--listen', `0.0.0.0:${CONDUCTOR_PORT}`, '--advertise', conductorUrls().join(',')];
}

/**
 * Logs in as admin with the CLI inside the conductor's namespace (the session goes to
 * <dir>/conductor-session.json, for `SVR_CONDUCTOR_SESSION=... svr conductor show routers`), then
 * creates one one-time enrolment token per router.
 */
export async function labTokens(dir: string, prefix: string, routers: readonly string[]): Promise<Record<string, string>> {
  const ns = nsName(prefix, CONDUCTOR_ROLE);
  const env = { SVR_CONDUCTOR_SESSION: conductorSessionPath(dir) };
  const svr = (args: string[]) => runIn(ns, process.execPath, [svrScript(), ...args], { env });
  try {
    await svr(['conductor', 'login', '--conductor', `https://127.0.0.1:${CONDUCTOR_PORT}`, '--data-dir', conductorDataDir(dir)]);
    const out: Record<string, string> = {};
    for (const r of routers) out[r] = (await svr(['conductor', 'token', 'create', '--asset-id', r, '--quiet'])).stdout.trim();
    return out;
  } catch (e) {
    throw new SvrError('SVR_ERR_LAB_COMMAND', `the lab could not log in to its conductor or create tokens: ${e instanceof Error ? e.message : String(e)}`);
  }
}
