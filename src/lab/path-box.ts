/**
 * A box namespace on path 1 between r1 and the link emulator (the NAT box of `--nat`, the middlebox of
 * `--middlebox`): path 1's r1-side veth is replaced by two, through the box, which routes between them.
 *
 *   r1 r1-r2 198.18.21.1 --- <dev>-r1 198.18.21.254 [<prefix>-<box>] <dev>-wan 198.18.29.1 --- lk-r1 198.18.29.254 [link1] --- r2
 *
 * r1 reaches r2's waypoint through the box; the box reaches the WAN by default and r1's waypoint on its
 * inside. What the box does to packets (masquerade, filter) is its caller's: nftables in the namespace.
 */
import { createNamespace, setSysctls } from './netns.js';
import { ip } from './run.js';
import { nsName, pathPlan, type Place } from './topology.js';

/** The box's address toward the WAN (r2 sees a NAT box's translated packets come from here). */
export const BOX_PUBLIC = '198.18.29.1';
const WAN_MTU = 1700;

const host = (cidr: string): string => cidr.slice(0, cidr.indexOf('/'));

/** The box's devices: `<dev>-wan` toward the link emulator, `<dev>-r1` toward r1. */
export function boxDevices(dev: string): { wan: string; lan: string } {
  return { wan: `${dev}-wan`, lan: `${dev}-r1` };
}

/** Puts `<prefix>-<role>` on path 1 of the built lab; its devices are named `<dev>-wan`, `<dev>-r1`. */
export async function insertPathBox(prefix: string, role: Place, dev: string): Promise<void> {
  const ns = nsName(prefix, role);
  const r1 = nsName(prefix, 'r1');
  const p = pathPlan(prefix, 1);
  const d = boxDevices(dev);
  const wan = { box: d.wan, boxAddress: `${BOX_PUBLIC}/24`, link: 'lk-r1', linkAddress: '198.18.29.254/24' };
  const lan = { router: 'r1-r2', routerAddress: '198.18.21.1/24', box: d.lan, boxAddress: '198.18.21.254/24' };
  await createNamespace(ns);
  await setSysctls(ns, ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1', 'net.ipv4.ip_forward=1',
    'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0', 'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.default.send_redirects=0']);
  // deleting the link's end removes r1's end of the old veth (and the routes through it) too
  await ip(p.namespace, ['link', 'del', wan.link]);
  await ip(r1, ['link', 'add', lan.router, 'mtu', String(WAN_MTU), 'type', 'veth', 'peer', 'name', lan.box, 'mtu', String(WAN_MTU), 'netns', ns]);
  await ip(r1, ['addr', 'add', lan.routerAddress, 'dev', lan.router]);
  await ip(r1, ['link', 'set', 'dev', lan.router, 'up']);
  await ip(ns, ['addr', 'add', lan.boxAddress, 'dev', lan.box]);
  await ip(ns, ['link', 'set', 'dev', lan.box, 'up']);
  await ip(ns, ['link', 'add', wan.box, 'mtu', String(WAN_MTU), 'type', 'veth', 'peer', 'name', wan.link, 'mtu', String(WAN_MTU), 'netns', p.namespace]);
  await ip(ns, ['addr', 'add', wan.boxAddress, 'dev', wan.box]);
  await ip(ns, ['link', 'set', 'dev', wan.box, 'up']);
  await ip(p.namespace, ['addr', 'add', wan.linkAddress, 'dev', wan.link]);
  await ip(p.namespace, ['link', 'set', 'dev', wan.link, 'up']);
  await setSysctls(r1, [`net.ipv4.conf.${lan.router}.rp_filter=0`]);
  await setSysctls(p.namespace, [`net.ipv4.conf.${wan.link}.rp_filter=0`]);
  await setSysctls(ns, [`net.ipv4.conf.${lan.box}.rp_filter=0`, `net.ipv4.conf.${wan.box}.rp_filter=0`]);
  // r1: as before, r2's waypoint and link subnet through its gateway (now the box)
  const gw = host(lan.boxAddress);
  await ip(r1, ['route', 'add', `${p.waypoints.r2}/32`, 'via', gw, 'dev', lan.router]);
  await ip(r1, ['route', 'add', '198.18.31.0/24', 'via', gw, 'dev', lan.router]);
  // the box: the WAN by default, r1's waypoint on its inside
  await ip(ns, ['route', 'add', 'default', 'via', host(wan.linkAddress), 'dev', wan.box]);
  await ip(ns, ['route', 'add', `${p.waypoints.r1}/32`, 'via', host(lan.routerAddress), 'dev', lan.box]);
}
