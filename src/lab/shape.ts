/**
 * What `svr lab up` can vary: the number of WAN paths, the session resiliency of web/stream, the SLA
 * filter, and the BFD / link-test timers of every path. Checked here, written into the generated config
 * (config.ts) and recorded in state.json.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { SvrError } from '../errors.js';
import { MAX_PATHS } from './topology.js';
import type { UdpTransformMode } from '../model/config.js';

const UDP_TRANSFORM_MODES: readonly UdpTransformMode[] = ['auto-detect', 'always-transform', 'disabled'];
import { checkFabric, MAX_ROUTERS, type FabricTopology } from './fabric.js';
import { checkHaShape } from './ha.js';

export const RESILIENCY_MODES = ['none', 'failover', 'revertible-failover', 'packet-duplication'] as const;
/** `svr lab up --ha --ha-wan`: the pair shares one WAN path (its address moves), or each node has its own */
export const HA_WAN_MODES = ['shared', 'per-node'] as const;
export type LabResiliency = (typeof RESILIENCY_MODES)[number];

/** `off`: no path-quality filter; `best-effort`: filter on, best-effort true; `strict`: best-effort false. */
export const SLA_MODES = ['off', 'best-effort', 'strict'] as const;
export type LabSla = (typeof SLA_MODES)[number];

/** `basic`: the four services; `plugins`: also the built-in plugins, an internet namespace, a second server, an external function. */
export const LAB_PROFILES = ['basic', 'plugins'] as const;
export type LabProfile = (typeof LAB_PROFILES)[number];

export interface LabShape {
  /** WAN paths between r1 and r2, 1..MAX_PATHS; path 1 preferred */
  paths: number;
  /** session-resiliency of web and stream */
  resiliency: LabResiliency;
  sla: LabSla;
  /** BFD desired-tx and required-min-rx interval of every path, ms (detection = 3 x this) */
  bfdIntervalMs: number;
  /** hold-down-time of every path, seconds */
  holdDownS: number;
  /** link-test-interval of every path, seconds */
  linkTestIntervalS: number;
  /** data-path worker threads of each node (`svr node start --workers`) */
  workers: number;
  /** what the lab holds besides the two routers (absent in an older state.json: basic) */
  profile?: LabProfile;
  /** an IPFIX collector (nfcapd) in `<prefix>-collector` that both routers export session records to */
  collector?: boolean;
  /** seconds per nfcapd file (nfdump reads a file once it is complete); default 60 */
  collectorRotateS?: number;
  /** the routers are managed by a conductor in its own namespace (lab/conductor.ts) */
  conductor?: boolean;
  /** high availability: this many etcd members and two conductors (needs `conductor`) */
  etcd?: number;
  /** the N-router lab (lab/fabric.ts) instead of client - r1 - r2 - server */
  fabric?: { routers: number; topology: FabricTopology };
  /** a provider-edge namespace running FRR as both routers' BGP neighbour (lab/bgp.ts, docs/routing.md) */
  bgp?: boolean;
  /** plugins every router loads besides the profile's (`svr lab up --plugin PATH[=JSON]`): absolute paths */
  plugins?: LabPlugin[];
  /** r1 behind an nftables masquerade on path 1 (`<prefix>-nat`, lab/nat.ts); r1 peers outbound-only */
  nat?: boolean;
  /** every WAN path carries at most this many bytes per packet, ICMP filtered (lab/wan-mtu.ts) */
  wanMtu?: number;
  /** a firewall on path 1 that drops mid-flow TCP and SYNs carrying data (`<prefix>-middlebox`, lab/middlebox.ts) */
  middlebox?: boolean;
  /** `udp-transform` mode of every neighborhood entry (detect-interval 10 s); auto-detect with `middlebox` */
  udpTransform?: UdpTransformMode;
  /** IPv6 hosts and an IPv6 peer path over path 1 (lab/ipv6.ts) */
  ipv6?: boolean;
  /** FEC on web and stream (`svr lab up --fec GROUP/PARITY`, docs/wan.md "FEC") */
  fec?: { groupSize: number; parity: number };
  /** r1 is a router pair, nodes r1a and r1b on bridged LAN and WAN segments (`svr lab up --ha`, lab/ha.ts) */
  ha?: boolean;
  /** `--ha-wan per-node`: each node of the pair has its own WAN path (r1a path 1, r1b path 2), not a shared one */
  haWan?: 'per-node';
}

/** A plugin `svr lab up --plugin` adds to the authority: an absolute path and its options. */
export interface LabPlugin {
  use: string;
  with?: unknown;
}

export const DEFAULT_SHAPE: Readonly<LabShape> = Object.freeze({
  paths: 1,
  resiliency: 'failover',
  sla: 'off',
  bfdIntervalMs: 1000,
  holdDownS: 5,
  linkTestIntervalS: 10,
  workers: 1,
  profile: 'basic',
});

/** The max-latency of `--sla` (ms). */
export const SLA_MAX_LATENCY_MS = 250;

function int(value: string | number | undefined, dflt: number, min: number, max: number, option: string, unit: string): number {
  if (value === undefined) return dflt;
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new SvrError('SVR_ERR_LAB_OPTION', `${option} ${JSON.stringify(String(value))}: expected a whole number ${min}-${max}${unit}`);
  }
  return n;
}

function oneOf<T extends string>(value: string | undefined, dflt: T, all: readonly T[], option: string): T {
  if (value === undefined) return dflt;
  if (!(all as readonly string[]).includes(value)) {
    throw new SvrError('SVR_ERR_LAB_OPTION', `${option} ${JSON.stringify(value)}: expected one of ${all.join(', ')}`);
  }
  return value as T;
}

export interface ShapeInput {
  paths?: string | number;
  resiliency?: string;
  /** true (a bare `--sla`) = best-effort */
  sla?: string | boolean;
  bfdIntervalMs?: string | number;
  holdDownS?: string | number;
  linkTestIntervalS?: string | number;
  workers?: string | number;
  profile?: string;
  collector?: boolean;
  collectorRotateS?: string | number;
  conductor?: boolean;
  /** etcd members (HA: two conductors share them) */
  etcd?: string | number;
  /** N routers in a topology (either one makes it the N-router lab) */
  routers?: string | number;
  topology?: string;
  bgp?: boolean;
  /** `--plugin PATH[=JSON]` values (relative paths from the working directory) */
  plugins?: readonly string[];
  nat?: boolean;
  wanMtu?: string | number;
  ipv6?: boolean;
  middlebox?: boolean;
  udpTransform?: string;
  /** `--fec GROUP/PARITY`, e.g. 10/3 */
  fec?: string;
  /** `--ha`: r1 as a router pair */
  ha?: boolean;
  /** `--ha-wan shared|per-node` */
  haWan?: string;
}

/** `--plugin PATH[=JSON]`: the plugin's file or folder (it must exist) and its options as JSON. */
export function parseLabPlugin(value: string): LabPlugin {
  const eq = value.indexOf('=');
  const path = resolve(eq < 0 ? value : value.slice(0, eq));
  if (!existsSync(path)) throw new SvrError('SVR_ERR_LAB_OPTION', `--plugin ${value}: ${path} does not exist (give the plugin's file or folder, then =JSON options if any)`);
  if (eq < 0) return { use: path };
  try {
    return { use: path, with: JSON.parse(value.slice(eq + 1)) as unknown };
  } catch (e) {
    throw new SvrError('SVR_ERR_LAB_OPTION', `--plugin ${value}: the options after '=' are not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Checks command-line values; throws SVR_ERR_LAB_OPTION naming the option. */
export function checkShape(i: ShapeInput): LabShape {
  const d = DEFAULT_SHAPE;
  const sla = i.sla === true ? 'best-effort' : i.sla === false || i.sla === undefined ? d.sla : i.sla;
  const shape: LabShape = {
    paths: int(i.paths, d.paths, 1, MAX_PATHS, '--paths', ''),
    resiliency: oneOf(i.resiliency, d.resiliency, RESILIENCY_MODES, '--resiliency'),
    sla: oneOf(sla, d.sla, SLA_MODES, '--sla'),
    bfdIntervalMs: int(i.bfdIntervalMs, d.bfdIntervalMs, 50, 600000, '--bfd-interval', ' (ms)'),
    holdDownS: int(i.holdDownS, d.holdDownS, 1, 300, '--hold-down', ' (seconds)'),
    linkTestIntervalS: int(i.linkTestIntervalS, d.linkTestIntervalS, 1, 86400, '--link-test-interval', ' (seconds)'),
    workers: int(i.workers, d.workers, 1, 64, '--workers', ''),
    profile: oneOf(i.profile, 'basic', LAB_PROFILES, '--profile'),
    ...(i.collector === true ? { collector: true, collectorRotateS: int(i.collectorRotateS, 60, 2, 3600, '--collector-rotate', ' (seconds)') } : {}),
    ...(i.conductor === true ? { conductor: true } : {}),
    ...(i.bgp === true ? { bgp: true } : {}),
    ...(i.plugins !== undefined && i.plugins.length > 0 ? { plugins: i.plugins.map(parseLabPlugin) } : {}),
    ...(i.nat === true ? { nat: true } : {}),
    ...(i.wanMtu !== undefined ? { wanMtu: int(i.wanMtu, 1700, 576, 1700, '--wan-mtu', ' (bytes)') } : {}),
    ...(i.ipv6 === true ? { ipv6: true } : {}),
    ...middleboxOf(i),
    ...fecOf(i),
    ...etcdOf(i),
    ...fabricOf(i),
    ...(i.ha === true ? { ha: true } : {}),
    ...haWanOf(i),
  };
  if (shape.ha === true) checkHaShape(shape);
  return shape;
}

/** `--ha-wan per-node` (with `--ha` only): two paths, one per node, unless `--paths` says otherwise (refused then). */
function haWanOf(i: ShapeInput): { haWan?: 'per-node'; paths?: number } {
  const mode = oneOf(i.haWan, 'shared', HA_WAN_MODES, '--ha-wan');
  if (mode === 'shared') return {};
  if (i.ha !== true) throw new SvrError('SVR_ERR_LAB_OPTION', '--ha-wan per-node: only with --ha (it says how the pair r1 reaches the WAN); add --ha or drop --ha-wan');
  return { haWan: 'per-node', ...(i.paths === undefined || Number(i.paths) === 1 ? { paths: 2 } : {}) };
}

function middleboxOf(i: ShapeInput): { middlebox?: true; udpTransform?: UdpTransformMode } {
  if (i.middlebox === true && i.nat === true) throw new SvrError('SVR_ERR_LAB_OPTION', '--middlebox and --nat both sit on path 1 between r1 and the link: use one of them');
  const mode = i.udpTransform === undefined ? (i.middlebox === true ? 'auto-detect' : undefined) : oneOf(i.udpTransform, 'auto-detect', UDP_TRANSFORM_MODES, '--udp-transform');
  return { ...(i.middlebox === true ? { middlebox: true as const } : {}), ...(mode !== undefined ? { udpTransform: mode } : {}) };
}

function fecOf(i: ShapeInput): { fec?: LabShape['fec'] } {
  if (i.fec === undefined) return {};
  const m = /^(\d+)\/(\d+)$/.exec(i.fec);
  if (m === null) throw new SvrError('SVR_ERR_LAB_OPTION', `--fec ${JSON.stringify(i.fec)}: expected GROUP/PARITY, data packets per group (2-64) and parity packets per group (1-4), e.g. 10/3`);
  return { fec: { groupSize: int(m[1], 8, 2, 64, '--fec (group size)', ''), parity: int(m[2], 2, 1, 4, '--fec (parity)', '') } };
}

function etcdOf(i: ShapeInput): { etcd?: number } {
  if (i.etcd === undefined) return {};
  const n = int(i.etcd, 3, 1, 5, '--etcd', ' (members)');
  if (n % 2 === 0) throw new SvrError('SVR_ERR_LAB_OPTION', `--etcd ${n}: expected an odd number of members (1, 3 or 5), so a majority survives a failure`);
  if (i.conductor !== true) throw new SvrError('SVR_ERR_LAB_OPTION', '--etcd needs --conductor (two conductors share the etcd members)');
  return { etcd: n };
}

function fabricOf(i: ShapeInput): { fabric?: LabShape['fabric'] } {
  if (i.routers === undefined && i.topology === undefined) return {};
  const routers = int(i.routers, 3, 2, MAX_ROUTERS, '--routers', '');
  const topology = checkFabric(routers, i.topology ?? 'mesh');
  const paths = int(i.paths, 1, 1, MAX_PATHS, '--paths', '');
  if (paths !== 1) throw new SvrError('SVR_ERR_LAB_OPTION', `--paths ${paths} with --routers/--topology: the N-router lab has one WAN interface per router (its peers come from the topology)`);
  if (i.profile !== undefined && i.profile !== 'basic') throw new SvrError('SVR_ERR_LAB_OPTION', `--profile ${i.profile} with --routers/--topology: the plugins profile is a two-router lab`);
  if (i.bgp === true) throw new SvrError('SVR_ERR_LAB_OPTION', '--bgp with --routers/--topology: the provider edge joins the two-router lab (r1 and r2)');
  return { fabric: { routers, topology } };
}

/** One line for progress and status output. */
export function describeShape(s: LabShape): string {
  const sla = s.sla === 'off' ? 'no SLA filter' : `SLA max-latency ${SLA_MAX_LATENCY_MS} ms${s.sla === 'strict' ? ' (strict: no best effort)' : ' (best effort)'}`;
  const head = s.fabric !== undefined ? `${s.fabric.routers} routers, ${s.fabric.topology}${s.fabric.topology === 'hub-spoke' ? ' (r1 is the hub)' : ''}` : `${s.paths} path${s.paths === 1 ? '' : 's'}, web/stream ${s.resiliency}, ${sla}`;
  return `${head}, BFD ${s.bfdIntervalMs} ms (detection ${3 * s.bfdIntervalMs} ms), hold-down ${s.holdDownS} s, link test every ${s.linkTestIntervalS} s${s.workers > 1 ? `, ${s.workers} data-path workers per node` : ''}${s.profile === 'plugins' ? ', profile plugins (firewall, dos, qos, appid, external-function on r1; nat, lb on r2; namespaces internet and fn)' : ''}${s.conductor === true ? `, routers managed by ${s.etcd === undefined ? 'a conductor' : `two conductors sharing ${s.etcd} etcd member${s.etcd === 1 ? '' : 's'}`} (ZTP)` : ''}${s.collector === true ? ', IPFIX collector nfcapd' : ''}${s.bgp === true ? ', BGP with a provider edge (FRR)' : ''}${(s.plugins ?? []).map((p) => `, plugin ${p.use}`).join('')}${s.nat === true ? ', r1 behind NAT on path 1 (nftables masquerade, outbound-only)' : ''}${s.wanMtu !== undefined ? `, WAN path MTU ${s.wanMtu} with ICMP filtered` : ''}${s.ipv6 === true ? ', IPv6 hosts and an IPv6 peer path (wan6) over path 1' : ''}${s.middlebox === true ? ', a middlebox on path 1 dropping mid-flow TCP and SYNs with data' : ''}${s.udpTransform !== undefined ? `, udp-transform ${s.udpTransform}` : ''}${s.ha === true ? `, r1 a router pair (r1a active, r1b standby; ${s.haWan === 'per-node' ? 'a shared LAN address, each node its own WAN path: r1a path 1, r1b path 2' : 'shared LAN and WAN addresses'})` : ''}`;

}
