/**
 * `svr lab up --ha`: r1 as a router pair (docs/lab.md "A router pair", docs/high-availability.md). The
 * namespace `<prefix>-r1` becomes the pair's two segments: bridges `br-lan` (the client's veth r1-c) and
 * `br-wan` (path 1's veth r1-r2 toward the link emulator). The nodes r1a and r1b run in `<prefix>-r1a` and
 * `<prefix>-r1b`, each with its own veths on both bridges (named r1-c and r1-r2 there too, so every host
 * rule of the one-node lab applies), its own address on each segment, a sync veth `r1-sync` between them,
 * and the probe heartbeats over the LAN. The shared addresses 198.18.1.1/24 (the client's gateway) and
 * 198.18.21.1/24 (the link's next hop to r1's waypoint) are held by the active node only, which announces
 * them; r2 sees one r1 with the same waypoint whichever node is active.
 *
 *   client 198.18.1.10 -- [br-lan in <p>-r1] --+-- r1-c 198.18.1.2 [r1a] r1-r2 198.18.21.2 --+-- [br-wan in <p>-r1] -- lk-r1 [<p>-link1] ...
 *                                              +-- r1-c 198.18.1.3 [r1b] r1-r2 198.18.21.3 --+
 *                                                     r1a r1-sync 198.18.250.1/30 --- 198.18.250.2/30 r1-sync r1b
 *
 * `--ha-wan per-node` (docs/high-availability.md "Per-node WAN interfaces"): no WAN bridge; each node has its own
 * WAN path, r1a path 1 (its veth r1-r2 198.18.21.1, interface wan0, waypoint 198.18.12.1) and r1b path 2 (r1-r2p2
 * 198.18.22.1, wan1, 198.18.13.1), each through its own link emulator to r2. r2 has one peer r1 with two paths, one
 * to each node; only the LAN address is shared.
 */
import { randomBytes } from 'node:crypto';
import { SvrError } from '../errors.js';
import { createNamespace, setSysctls, type Progress } from './netns.js';
import { ip } from './run.js';
import type { LabShape } from './shape.js';
import { LAN_TABLE, nsName, pathPlan, pathRoutes, WAN_MTU } from './topology.js';

export const HA_NODES = ['r1a', 'r1b'] as const;
export type HaNode = (typeof HA_NODES)[number];

interface HaNodePlan {
  lan: string;
  wan: string;
  sync: string;
  priority: number;
  /** its veths' ends on the bridges, in `<prefix>-r1` */
  lanPort: string;
  wanPort: string;
}

export const HA_PLAN: Readonly<Record<HaNode, HaNodePlan>> = {
  r1a: { lan: '198.18.1.2/24', wan: '198.18.21.2/24', sync: '198.18.250.1/30', priority: 200, lanPort: 'a-lan', wanPort: 'a-wan' },
  r1b: { lan: '198.18.1.3/24', wan: '198.18.21.3/24', sync: '198.18.250.2/30', priority: 100, lanPort: 'b-lan', wanPort: 'b-wan' },
};
const LAN_DEV = 'r1-c';
const SYNC_DEV = 'r1-sync';
/** a jumbo sync link: a 32,000-byte sync datagram in 4 frames, not 22 (docs/high-availability.md "Sync link") */
const SYNC_MTU = 9000;
const BRIDGES = { lan: 'br-lan', wan: 'br-wan' } as const;

const host = (cidr: string): string => cidr.slice(0, cidr.indexOf('/'));

/** `--ha-wan per-node`: the WAN path of each node (path k's r1 end moves into the node's namespace). */
export const HA_OWN_PATH: Readonly<Record<HaNode, number>> = { r1a: 1, r1b: 2 };

/** `--ha-wan per-node`: the node whose own path is path k. */
export function haNodeOfPath(k: number): HaNode {
  return HA_NODES.find((n) => HA_OWN_PATH[n] === k) ?? 'r1a';
}

/** The pair's shared addresses: the one-node lab's r1 addresses on the LAN and (shared WAN) path 1's WAN veth. */
export function haSharedAddresses(perNode: boolean): { device: string; address: string }[] {
  const p1 = pathPlan('<prefix>', 1);
  return [{ device: LAN_DEV, address: '198.18.1.1/24' }, ...(perNode ? [] : [{ device: p1.r1Dev, address: p1.r1Address }])];
}

/** Refuses the lab options `--ha` does not combine with (one WAN path, or one per node; the basic two-router lab). */
export function checkHaShape(s: LabShape): void {
  const paths = s.haWan === 'per-node' ? 2 : 1;
  const clash = [
    s.paths !== paths ? `--paths ${s.paths}` : '', s.fabric !== undefined ? '--routers/--topology' : '', s.conductor === true ? '--conductor' : '', s.profile === 'plugins' ? '--profile plugins' : '',
    s.bgp === true ? '--bgp' : '', s.nat === true ? '--nat' : '', s.middlebox === true ? '--middlebox' : '', s.ipv6 === true ? '--ipv6' : '', s.wanMtu !== undefined ? '--wan-mtu' : '',
  ].filter((x) => x !== '');
  if (clash.length > 0) throw new SvrError('SVR_ERR_LAB_OPTION', `--ha with ${clash.join(', ')}: the pair lab has one WAN path (with --ha-wan per-node one per node) in the basic two-router lab (r1 a pair, r2 one node); drop ${clash.length === 1 ? 'it' : 'them'}`);
}

/** r1's `redundancy` block in the lab config (a fresh sync key per lab). */
export function haRedundancyYaml(perNode: boolean, key: string = randomBytes(32).toString('base64')): string {
  const node = (n: HaNode): string => `          - { name: ${n}, priority: ${HA_PLAN[n].priority}, sync-address: ${host(HA_PLAN[n].sync)}, probe-address: ${host(HA_PLAN[n].lan)} }   # in <prefix>-${n}\n`;
  return `      redundancy:                    # svr lab up --ha: r1 is a pair, r1a and r1b (docs/high-availability.md)
        nodes:
${node('r1a')}${node('r1b')}        heartbeat-misses: 5          # 500 ms: the lab shares its cores with everything else
        shared-key: ${key}
        shared-addresses:            # held and announced by the active node only
${haSharedAddresses(perNode).map((a) => `          - { device: ${a.device}, address: ${a.address} }\n`).join('')}`;
}

/**
 * After buildNetwork (one path, or two with `perNode`): `<prefix>-r1` becomes the pair's bridges (LAN and the
 * shared WAN; per node: the LAN only, each node's own path veth moves into its namespace), the nodes' namespaces join them.
 */
export async function buildHaNetwork(prefix: string, progress: Progress, perNode: boolean): Promise<void> {
  const sw = nsName(prefix, 'r1');
  const p1 = pathPlan(prefix, 1);
  const bridged = perNode ? [[BRIDGES.lan, LAN_DEV, 1500] as const] : [[BRIDGES.lan, LAN_DEV, 1500] as const, [BRIDGES.wan, p1.r1Dev, WAN_MTU] as const];
  progress(`--ha: ${sw} becomes the pair's segments: ${bridged.map(([b, port]) => `bridge ${b} (${port})`).join(' and ')}`);
  await ip(sw, ['rule', 'del', 'iif', LAN_DEV, 'lookup', String(LAN_TABLE), 'pref', '100']);
  await setSysctls(sw, ['net.ipv4.ip_forward=0']);
  for (const [bridge, port, mtu] of bridged) {
    await ip(sw, ['addr', 'flush', 'dev', port]);
    await ip(sw, ['link', 'add', bridge, 'mtu', String(mtu), 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0']);
    await ip(sw, ['link', 'set', port, 'master', bridge]);
    await ip(sw, ['link', 'set', bridge, 'up']);
  }
  for (const n of HA_NODES) {
    const ns = nsName(prefix, n);
    const plan = HA_PLAN[n];
    await createNamespace(ns);
    await setSysctls(ns, ['net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1', 'net.ipv4.ip_forward=1', 'net.ipv4.conf.all.rp_filter=0',
      'net.ipv4.conf.default.rp_filter=0', 'net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.default.send_redirects=0']);
    const segments = perNode ? [[LAN_DEV, plan.lanPort, BRIDGES.lan, plan.lan, 1500] as const] : [[LAN_DEV, plan.lanPort, BRIDGES.lan, plan.lan, 1500] as const, [p1.r1Dev, plan.wanPort, BRIDGES.wan, plan.wan, WAN_MTU] as const];
    for (const [dev, port, bridge, address, mtu] of segments) {
      progress(`veth ${ns}/${dev} ${address} <-> ${sw}/${port} (${bridge}), mtu ${mtu}`);
      await ip(ns, ['link', 'add', dev, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', port, 'mtu', String(mtu), 'netns', sw]);
      await ip(ns, ['addr', 'add', address, 'dev', dev]);
      await ip(ns, ['link', 'set', dev, 'up']);
      await ip(sw, ['link', 'set', port, 'master', bridge]);
      await ip(sw, ['link', 'set', port, 'up']);
    }
    const own = perNode ? pathPlan(prefix, HA_OWN_PATH[n]) : p1;
    if (perNode) {
      progress(`path ${own.k}'s veth ${sw}/${own.r1Dev} ${own.r1Address} moves into ${ns}: ${n}'s own WAN path`);
      await ip(sw, ['link', 'set', own.r1Dev, 'netns', ns]);
      await ip(ns, ['addr', 'add', own.r1Address, 'dev', own.r1Dev]);
      await ip(ns, ['link', 'set', own.r1Dev, 'up']);
    }
    await setSysctls(ns, [LAN_DEV, own.r1Dev].map((d) => `net.ipv4.conf.${d}.rp_filter=0`));
    await ip(ns, ['rule', 'add', 'iif', LAN_DEV, 'lookup', String(LAN_TABLE), 'pref', '100']);
    for (const r of pathRoutes(own)) if (r.role === 'r1') await ip(ns, ['route', 'add', ...r.args]);
  }
  const [a, b] = [nsName(prefix, 'r1a'), nsName(prefix, 'r1b')];
  progress(`sync veth ${a}/${SYNC_DEV} ${HA_PLAN.r1a.sync} <-> ${b}/${SYNC_DEV} ${HA_PLAN.r1b.sync}, MTU ${SYNC_MTU}`);
  await ip(a, ['link', 'add', SYNC_DEV, 'mtu', String(SYNC_MTU), 'type', 'veth', 'peer', 'name', SYNC_DEV, 'netns', b, 'mtu', String(SYNC_MTU)]);
  for (const n of HA_NODES) {
    await ip(nsName(prefix, n), ['addr', 'add', HA_PLAN[n].sync, 'dev', SYNC_DEV]);
    await ip(nsName(prefix, n), ['link', 'set', SYNC_DEV, 'up']);
  }
}
