/**
 * `svr lab up --collector`: an IPFIX collector (nfcapd, Debian nfdump) in its own namespace
 * `<prefix>-collector`, reachable from both routers, which export their session records to it:
 *
 *   r1 r1-col 198.18.9.1/30 --- col-r1 198.18.9.2/30 [<prefix>-collector: lo 198.18.9.10, nfcapd :4739] col-r2 198.18.9.6/30 --- r2-col 198.18.9.5/30 r2
 *
 * Each router routes 198.18.9.10/32 over its veth; the node process sends from its veth address (the main
 * table: only traffic from the lan veths is steered into the lan TUN). nfcapd writes `<dir>/ipfix/nfcapd.*`
 * (a new file every --collector-rotate seconds, default 60; nfdump reads a file once it is complete, not
 * `nfcapd.current.<pid>`) and is stopped by pid at `lab down`.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { IPFIX_PORT } from '../model/read-telemetry.js';
import { ip } from './run.js';
import { createNamespace, setSysctls, type Progress } from './netns.js';
import { nsName, type CollectorPlace, type RouterRole } from './topology.js';

export const COLLECTOR_ROLE: CollectorPlace = 'collector';
/** nfcapd's address (on lo of `<prefix>-collector`) and port */
export const COLLECTOR_ADDRESS = '198.18.9.10';
export const COLLECTOR_PORT = IPFIX_PORT;
/** nfcapd's UDP socket buffer (the kernel caps it at net.core.rmem_max) */
export const COLLECTOR_BUFFER_BYTES = 4 << 20;
/** the collector's name in the lab config's `telemetry` block */
export const COLLECTOR_NAME = 'nfcapd';

/** Per router: its veth end, the collector's end (/30 each). */
export const COLLECTOR_LINKS: Readonly<Record<RouterRole, { router: string; collector: string; routerAddress: string; collectorAddress: string }>> = {
  r1: { router: 'r1-col', collector: 'col-r1', routerAddress: '198.18.9.1/30', collectorAddress: '198.18.9.2/30' },
  r2: { router: 'r2-col', collector: 'col-r2', routerAddress: '198.18.9.5/30', collectorAddress: '198.18.9.6/30' },
};

const host = (cidr: string): string => cidr.slice(0, cidr.indexOf('/'));

/** Where nfcapd writes: `<dir>/ipfix`. */
export function collectorDir(dir: string): string {
  return join(dir, 'ipfix');
}

/** The namespace, its two veths to the routers, the collector's address and the routers' routes to it. */
export async function buildCollectorNetwork(prefix: string, progress: Progress): Promise<void> {
  const ns = nsName(prefix, COLLECTOR_ROLE);
  progress(`collector namespace ${ns}: nfcapd on ${COLLECTOR_ADDRESS}:${COLLECTOR_PORT}/udp, a veth to each router`);
  await createNamespace(ns);
  await setSysctls(ns, ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  await ip(ns, ['addr', 'add', `${COLLECTOR_ADDRESS}/32`, 'dev', 'lo']);
  for (const r of ['r1', 'r2'] as const) {
    const l = COLLECTOR_LINKS[r];
    const routerNs = nsName(prefix, r);
    await ip(routerNs, ['link', 'add', l.router, 'type', 'veth', 'peer', 'name', l.collector, 'netns', ns]);
    await ip(routerNs, ['addr', 'add', l.routerAddress, 'dev', l.router]);
    await ip(routerNs, ['link', 'set', 'dev', l.router, 'up']);
    await ip(ns, ['addr', 'add', l.collectorAddress, 'dev', l.collector]);
    await ip(ns, ['link', 'set', 'dev', l.collector, 'up']);
    await ip(routerNs, ['route', 'add', `${COLLECTOR_ADDRESS}/32`, 'via', host(l.collectorAddress), 'dev', l.router]);
  }
}

/** The arguments of nfcapd for the lab (foreground: the lab keeps its pid); a new file every `rotateS` seconds. */
export function nfcapdArgs(dir: string, rotateS: number): string[] {
  // -B: a socket buffer for both routers' bursts (a few hundred messages when many sessions end together)
  return ['-w', collectorDir(dir), '-p', String(COLLECTOR_PORT), '-b', COLLECTOR_ADDRESS, '-t', String(rotateS), '-B', String(COLLECTOR_BUFFER_BYTES)];
}

/** nfcapd's files so far (completed ones and the one being written). */
export function collectorFiles(dir: string): string[] {
  try {
    return readdirSync(collectorDir(dir)).filter((f) => f.startsWith('nfcapd.')).sort();
  } catch {
    return [];
  }
}
