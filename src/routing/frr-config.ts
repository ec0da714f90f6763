/**
 * FRR 8.4 configuration files written from a router's `routing` config (docs/routing.md): zebra (FPM to
 * the node's listener, no next-hop groups so every route carries its next hops), bgpd (neighbours, timers,
 * multihop, BFD, maximum-prefix, an accept prefix-list per neighbour, `network` statements for
 * `redistribute service`) and bfdd. Pure text; the files live in the node's own FRR folder, never /etc/frr.
 */
import { parseAddress } from '../packet/addr.js';
import type { Bgp, BgpNeighbor, Routing } from '../model/config.js';

export interface FrrFiles {
  'zebra.conf': string;
  'bgpd.conf': string;
  'bfdd.conf': string;
}

/** The daemons a routing config needs, in start order (zebra first: the others connect to it). */
export function frrDaemons(routing: Routing): ('zebra' | 'bfdd' | 'bgpd')[] {
  const bgp = routing.bgp;
  if (bgp === undefined) return ['zebra'];
  return bgp.neighbors.some((n) => n.bfd) ? ['zebra', 'bfdd', 'bgpd'] : ['zebra', 'bgpd'];
}

export function frrFiles(router: string, routing: Routing, dir: string, announced: readonly string[] = []): FrrFiles {
  const head = (daemon: string): string[] => ['frr defaults traditional', `hostname ${router}`, `log file ${dir}/${daemon}.log informational`];
  return {
    'zebra.conf': lines([...head('zebra'), `fpm address 127.0.0.1 port ${routing.fpmPort}`, 'no fpm use-next-hop-groups']),
    'bgpd.conf': lines([...head('bgpd'), ...(routing.bgp === undefined ? [] : bgpLines(routing.bgp, announced))]),
    'bfdd.conf': lines([...head('bfdd'), 'bfd', 'exit']),
  };
}

/** The prefix-list of neighbour i's accepted prefixes. */
export const acceptList = (i: number): string => `SVR-ACCEPT-${i + 1}`;

function bgpLines(bgp: Bgp, announced: readonly string[]): string[] {
  const out: string[] = [];
  bgp.neighbors.forEach((n, i) => {
    (n.acceptPrefixes ?? []).forEach((p, j) => out.push(`${familyOf(p) === 6 ? 'ipv6' : 'ip'} prefix-list ${acceptList(i)} seq ${(j + 1) * 5} permit ${p} le ${familyOf(p) === 6 ? 128 : 32}`));
  });
  out.push(`router bgp ${bgp.as}`, ` bgp router-id ${bgp.routerId}`, ' no bgp default ipv4-unicast', ' no bgp ebgp-requires-policy', ' no bgp network import-check');
  for (const n of bgp.neighbors) out.push(...neighborLines(n));
  for (const family of [4, 6] as const) {
    const mine = bgp.neighbors.map((n, i) => ({ n, i })).filter(({ n }) => familyOf(n.address) === family);
    const nets = announced.filter((p) => familyOf(p) === family);
    if (mine.length === 0) continue;
    out.push(` address-family ${family === 4 ? 'ipv4' : 'ipv6'} unicast`);
    for (const p of nets) out.push(`  network ${p}`);
    for (const { n, i } of mine) {
      // advertisement-interval 0: an update (a service announced again) goes out at once
      out.push(`  neighbor ${n.address} activate`, `  neighbor ${n.address} advertisement-interval 0`, `  neighbor ${n.address} maximum-prefix ${n.maxPrefix}`);
      if (n.acceptPrefixes !== undefined) out.push(`  neighbor ${n.address} prefix-list ${acceptList(i)} in`);
    }
    out.push(' exit-address-family');
  }
  out.push('exit');
  return out;
}

function neighborLines(n: BgpNeighbor): string[] {
  const out = [` neighbor ${n.address} remote-as ${n.remoteAs}`, ` neighbor ${n.address} timers ${n.keepalive} ${n.hold}`, ` neighbor ${n.address} timers connect 1`];
  if (n.multihop !== undefined) out.push(` neighbor ${n.address} ebgp-multihop ${n.multihop}`);
  if (n.bfd) out.push(` neighbor ${n.address} bfd`);
  return out;
}

function familyOf(text: string): 4 | 6 {
  return parseAddress(text.split('/')[0]!)?.family ?? 4;
}

const lines = (l: string[]): string => `${l.join('\n')}\n`;
