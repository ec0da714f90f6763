/**
 * `svr lab up --profile plugins`: the basic lab plus what the built-in plugins need to be seen working
 * on real packets (docs/lab.md, "The plugins profile"):
 *
 * - more client addresses: 198.18.1.11 (a flooding source) and 198.18.1.12 (a NAT client), both in
 *   tenant engineering, and 198.18.6.10 in tenant `guest`, which the firewall's zones keep out;
 * - a second server address 198.18.3.21 in `<p>-server` with its own `svr lab serve`: the two targets of
 *   the load-balanced service `web-lb` (virtual address 198.18.4.100);
 * - `<p>-internet` behind r2: veth r2-i (no kernel address) -- i-r2 198.18.40.10/24 with a UDP echo.
 *   r2's address on that link is 198.18.40.1, owned by node r2 as its source-NAT pool address: `ip rule
 *   iif r2-i lookup 100` sends everything arriving from the internet into r2's lan TUN, and the kernel
 *   answers ARP for 198.18.40.1 by proxy (`ip neigh add proxy`, proxy_delay 0);
 * - `<p>-fn`, r1's external function: after node r1 starts, its TUN devices svr-sfc-out and svr-sfc-in
 *   are moved there, and that kernel forwards everything from svr-sfc-out back through svr-sfc-in
 *   (docs/builtin-plugins.md, external-function, option 1).
 */
import { ip } from './run.js';
import { setSysctls, createNamespace, type Progress } from './netns.js';
import { HTTP_PORT, LAN_TABLE, nsName, SERVER, type Place } from './topology.js';

/** Client addresses (all on c-r1 as /32). */
export const FLOOD_SOURCE = '198.18.1.11';
export const NAT_CLIENT = '198.18.1.12';
export const GUEST_CLIENT = '198.18.6.10';
export const GUEST_PREFIX = '198.18.6.0/24';
/** The second server (the LB's second target) and the load-balanced service's virtual address. */
export const SERVER_B = '198.18.3.21';
export const LB_VIP = '198.18.4.100';
/** Capacities (and weights) of the two LB targets: 1:3. */
export const LB_CAPACITY: Record<string, number> = { [SERVER]: 200, [SERVER_B]: 600 };
/** The internet link behind r2. */
export const INTERNET_PREFIX = '198.18.40.0/24';
export const INTERNET_HOST = '198.18.40.10';
/** r2's address on the internet link: the source-NAT address (node-owned, not the kernel's). */
export const INTERNET_NAT = '198.18.40.1';
export const INTERNET_ECHO_PORT = 7;
export const R2_INTERNET_DEV = 'r2-i';
export const INTERNET_DEV = 'i-r2';
/** Services only this profile has. */
export const TLS_PORT = 443;
export const LIMITED_PORT = 5202;
/** qos rate of the service `iperf-limited`, bits/s per direction. */
export const LIMITED_RATE_BPS = 20_000_000;
/** builtin.dos on r1: new sessions per second per source, and the bucket depth. */
export const DOS_PER_SOURCE_RATE = 50;
export const DOS_BURST = 1200;
/** r1's function interfaces (config names) and their TUN devices, moved into `<p>-fn`. */
export const FN_OUT = 'sfc-out';
export const FN_IN = 'sfc-in';
export const FN_OUT_DEV = 'svr-sfc-out';
export const FN_IN_DEV = 'svr-sfc-in';
/** The function's name in builtin.external-function (its stage: builtin.external-function/ids). */
export const FN_NAME = 'ids';
/** Addresses the function namespace gives its two devices (so that its kernel forwards on them). */
export const FN_ADDRESSES: Record<string, string> = { [FN_OUT_DEV]: '198.18.250.1/32', [FN_IN_DEV]: '198.18.250.2/32' };
/** Routing table of the function namespace: everything from svr-sfc-out goes back through svr-sfc-in. */
export const FN_TABLE = 100;

export const EXTRA_CLIENT_ADDRESSES = [FLOOD_SOURCE, NAT_CLIENT, GUEST_CLIENT];

/** The services this profile adds, for status output. */
export const PLUGIN_SERVICE_ADDRESSES = [
  { name: 'tls', url: `tcp ${SERVER}:${TLS_PORT} (no server by default; builtin.appid names the session by its SNI)` },
  { name: 'iperf-limited', url: `${SERVER}:${LIMITED_PORT} (no server by default; builtin.qos: ${LIMITED_RATE_BPS / 1e6} Mbit/s per direction)` },
  { name: 'web-lb', url: `http://${LB_VIP}/ (builtin.lb: ${SERVER} and ${SERVER_B}, capacities 1:3)` },
  { name: 'internet', url: `udp ${INTERNET_HOST}:${INTERNET_ECHO_PORT} (echo in <p>-internet; builtin.nat on r2: source ${INTERNET_NAT})` },
];

/** Extends the basic lab network (already built) with the profile's namespaces, link and addresses. */
export async function buildPluginNetwork(prefix: string, progress: Progress): Promise<void> {
  const ns = (r: Place): string => nsName(prefix, r);
  const inet = ns('internet');
  const fn = ns('fn');
  progress(`profile plugins: creating namespaces ${inet} ${fn}`);
  for (const name of [inet, fn]) {
    await createNamespace(name);
    await setSysctls(name, ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1',
      'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0']);
  }
  await setSysctls(fn, ['net.ipv4.ip_forward=1']);

  progress(`addresses ${EXTRA_CLIENT_ADDRESSES.map((a) => `${a}/32`).join(' ')} on ${ns('client')}/c-r1 (flood source, NAT client, guest); ${SERVER_B}/32 on ${ns('server')}/s-r2 (second server)`);
  for (const a of EXTRA_CLIENT_ADDRESSES) await ip(ns('client'), ['addr', 'add', `${a}/32`, 'dev', 'c-r1']);
  await ip(ns('server'), ['addr', 'add', `${SERVER_B}/32`, 'dev', 's-r2']);

  progress(`veth ${ns('r2')}/${R2_INTERNET_DEV} (no kernel address; node r2 owns ${INTERNET_NAT}) <-> ${inet}/${INTERNET_DEV} ${INTERNET_HOST}/24, mtu 1500 (internet)`);
  await ip(ns('r2'), ['link', 'add', R2_INTERNET_DEV, 'mtu', '1500', 'type', 'veth', 'peer', 'name', INTERNET_DEV, 'mtu', '1500', 'netns', inet]);
  await ip(inet, ['addr', 'add', `${INTERNET_HOST}/24`, 'dev', INTERNET_DEV]);
  await ip(inet, ['link', 'set', 'dev', INTERNET_DEV, 'up']);
  await ip(ns('r2'), ['link', 'set', 'dev', R2_INTERNET_DEV, 'up']);
  await setSysctls(ns('r2'), [`net.ipv4.conf.${R2_INTERNET_DEV}.rp_filter=0`, `net.ipv4.neigh.${R2_INTERNET_DEV}.proxy_delay=0`]);
  await ip(ns('r2'), ['route', 'add', INTERNET_PREFIX, 'dev', R2_INTERNET_DEV]);
  // everything from the internet goes into node r2 (its NAT sessions), and ARP for the NAT address is answered
  await ip(ns('r2'), ['rule', 'add', 'iif', R2_INTERNET_DEV, 'lookup', String(LAN_TABLE), 'pref', '100']);
  await ip(ns('r2'), ['neigh', 'add', 'proxy', INTERNET_NAT, 'dev', R2_INTERNET_DEV]);
}

/**
 * After node r1 started: moves its function TUN devices into `<p>-fn` and makes that namespace's kernel
 * forward everything arriving on svr-sfc-out back through svr-sfc-in.
 */
export async function wireFunction(prefix: string, progress: Progress): Promise<void> {
  const fn = nsName(prefix, 'fn');
  const r1 = nsName(prefix, 'r1');
  for (const dev of [FN_OUT_DEV, FN_IN_DEV]) await ip(r1, ['link', 'set', 'dev', dev, 'netns', fn]);
  await setSysctls(fn, [FN_OUT_DEV, FN_IN_DEV].map((d) => `net.ipv4.conf.${d}.rp_filter=0`));
  for (const dev of [FN_OUT_DEV, FN_IN_DEV]) {
    await ip(fn, ['addr', 'add', FN_ADDRESSES[dev]!, 'dev', dev]);
    await ip(fn, ['link', 'set', 'dev', dev, 'up']);
  }
  await ip(fn, ['rule', 'add', 'iif', FN_OUT_DEV, 'lookup', String(FN_TABLE), 'pref', '100']);
  await ip(fn, ['route', 'add', 'default', 'dev', FN_IN_DEV, 'table', String(FN_TABLE)]);
  progress(`external function: moved r1's ${FN_OUT_DEV} and ${FN_IN_DEV} into ${fn}; it forwards everything from ${FN_OUT_DEV} back through ${FN_IN_DEV} (ip rule iif ${FN_OUT_DEV} lookup ${FN_TABLE})`);
}

/** `svr lab serve` for the second server (HTTP only) and for the internet host (UDP echo only). */
export function serverBArgs(prefix: string): string[] {
  return ['lab', 'serve', '--lab', `${prefix}-b`, '--http', `${SERVER_B}:${HTTP_PORT}`, '--udp', 'off', '--stream', 'off'];
}

export function internetServerArgs(prefix: string): string[] {
  return ['lab', 'serve', '--lab', `${prefix}-internet`, '--http', 'off', '--udp', `${INTERNET_HOST}:${INTERNET_ECHO_PORT}`, '--stream', 'off'];
}
