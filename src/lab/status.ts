/**
 * `svr lab status`: namespaces (exist?), their interfaces and addresses, the services, the WAN paths with
 * what their link emulators currently do, the nodes' and emulators' control sockets and every lab
 * process with its pid and whether it is alive.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { renderTable } from '../util/text-table.js';
import { interfacesOf, listNamespaces, type InterfaceInfo } from './netns.js';
import { checkPrefix } from './options.js';
import { isOurs } from './processes.js';
import { emulatorRequest, type EmulatorStatus, type FlapStatus } from './emulator-protocol.js';
import type { Impairment, LineStats } from './delay-line.js';
import { renderEmulator } from './impair.js';
import { emulatorSocketPath } from './launch.js';
import { COLLECTOR_ADDRESS, COLLECTOR_PORT, COLLECTOR_ROLE, collectorDir, collectorFiles } from './collector.js';
import { describeShape, type LabShape } from './shape.js';
import { PLUGIN_SERVICE_ADDRESSES } from './plugins-profile.js';
import { readLabIndex, readState, type LabState } from './state.js';
import { fabricPlan, hostRole, WAN_ROLE } from './fabric.js';
import { DIRECTIONS, linkRole, MAX_PATHS, nsName, pathPlan, PLUGIN_ROLES, ROLES, SERVICE_ADDRESSES, type Direction, type Place, type ServiceAddress } from './topology.js';

export interface NamespaceStatus {
  name: string;
  role: Place;
  exists: boolean;
  interfaces: InterfaceInfo[];
}

export interface ProcessStatus {
  name: string;
  kind: string;
  namespace: string;
  pid: number;
  alive: boolean;
  log: string;
  socket?: string;
  socketExists?: boolean;
}

export interface PathStatus {
  path: number;
  /** the link emulator's namespace */
  namespace: string;
  /** veth ends on r1 and r2 */
  r1Device: string;
  r2Device: string;
  waypoints: { r1: string; r2: string };
  /** the emulator process (from state.json) */
  emulator?: { pid: number; alive: boolean; socket: string };
  /** what the emulator does now, per direction (absent when it does not answer: see `error`) */
  directions?: Record<Direction, { impairment: Impairment; stats: LineStats }>;
  flap?: FlapStatus;
  error?: string;
}

export interface LabStatus {
  prefix: string;
  dir: string;
  /** Every namespace exists and every process is alive. */
  up: boolean;
  startedAt?: string;
  config?: string;
  namespaces: NamespaceStatus[];
  services: readonly ServiceAddress[];
  processes: ProcessStatus[];
  /** WAN paths between r1 and r2, each through its link emulator */
  paths: PathStatus[];
  /** what `up` was asked for */
  shape?: LabShape;
  /** `up --collector`: the IPFIX collector and what it has written */
  collector?: CollectorStatus;
}

export interface CollectorStatus {
  address: string;
  port: number;
  namespace: string;
  pid?: number;
  alive: boolean;
  /** where nfcapd writes, and its files so far */
  dir: string;
  files: string[];
}

async function pathStatus(prefix: string, k: number, state: LabState | undefined, processes: readonly ProcessStatus[]): Promise<PathStatus> {
  const p = pathPlan(prefix, k);
  const out: PathStatus = { path: k, namespace: p.namespace, r1Device: p.r1Dev, r2Device: p.r2Dev, waypoints: { ...p.waypoints } };
  const proc = processes.find((x) => x.kind === 'emulator' && x.name === linkRole(k));
  const socket = state !== undefined ? emulatorSocketPath(state.dir, k) : undefined;
  if (proc !== undefined) out.emulator = { pid: proc.pid, alive: proc.alive, socket: proc.socket ?? socket ?? '' };
  if (socket === undefined || proc?.alive !== true) {
    out.error = 'no link emulator running';
    return out;
  }
  try {
    const st: EmulatorStatus = await emulatorRequest(socket, k, { method: 'status' }, 1500);
    const dirs = {} as Record<Direction, { impairment: Impairment; stats: LineStats }>;
    for (const d of DIRECTIONS) dirs[d] = { impairment: st.directions[d].impairment, stats: st.directions[d].stats };
    out.directions = dirs;
    if (st.flap !== undefined) out.flap = st.flap;
  } catch (e) {
    out.error = e instanceof Error ? e.message : String(e);
  }
  return out;
}

/** The state of the lab with this prefix; the dir falls back to the one in <run-dir>/lab.json. */
export async function labStatus(dirOpt: string, prefix: string): Promise<LabStatus> {
  checkPrefix(prefix);
  let dir = resolve(dirOpt);
  let state: LabState | undefined = readState(dir);
  if (state?.prefix !== prefix) {
    const idx = readLabIndex();
    const other = idx !== undefined && idx.prefix === prefix ? readState(idx.dir) : undefined;
    if (other !== undefined) dir = idx!.dir;
    state = other;
  }
  const present = new Set(await listNamespaces());
  // the lab's paths: from state.json, else whatever link namespaces are left
  // the N-router lab has no link emulators
  let paths = state?.shape?.fabric !== undefined ? 0 : state?.shape?.paths ?? (state !== undefined ? 1 : 0);
  for (let k = MAX_PATHS; k > paths; k--) if (present.has(nsName(prefix, linkRole(k)))) paths = k;
  const nss: NamespaceStatus[] = [];
  const fabric = state?.shape?.fabric === undefined ? undefined : fabricPlan(prefix, state.shape.fabric.routers, state.shape.fabric.topology);
  const places: Place[] = fabric !== undefined
    ? [WAN_ROLE, ...fabric.routers.flatMap((r) => [r.name as `r${number}`, hostRole(r.index)])]
    : [...ROLES, ...Array.from({ length: paths }, (_, i) => linkRole(i + 1))];
  // the plugins profile's namespaces: when the lab has that profile, or when they are left over
  if (fabric === undefined) for (const r of PLUGIN_ROLES) if (state?.shape?.profile === 'plugins' || present.has(nsName(prefix, r))) places.push(r);
  if (state?.shape?.conductor === true || present.has(nsName(prefix, 'conductor'))) places.push('conductor');
  if (state?.shape?.collector === true || present.has(nsName(prefix, COLLECTOR_ROLE))) places.push(COLLECTOR_ROLE);
  for (const role of places) {
    const name = nsName(prefix, role);
    const exists = present.has(name);
    nss.push({ name, role, exists, interfaces: exists ? await interfacesOf(name).catch(() => []) : [] });
  }
  const processes: ProcessStatus[] = (state?.processes ?? []).map((p) => {
    const s: ProcessStatus = { name: p.name, kind: p.kind, namespace: p.namespace, pid: p.pid, alive: isOurs(p.pid, p.markers), log: p.log };
    if (p.socket !== undefined) {
      s.socket = p.socket;
      s.socketExists = existsSync(p.socket);
    }
    return s;
  });
  const up = nss.every((n) => n.exists) && processes.length > 0 && processes.every((p) => p.alive);
  const pathList: PathStatus[] = [];
  for (let k = 1; k <= paths; k++) pathList.push(await pathStatus(prefix, k, state, processes));
  const services = fabric !== undefined ? fabric.routers.map((r) => ({ name: r.service, url: `http://${r.host}/ and udp ${r.host}:7 (behind ${r.name})` }))
    : state?.shape?.profile === 'plugins' ? [...SERVICE_ADDRESSES, ...PLUGIN_SERVICE_ADDRESSES] : SERVICE_ADDRESSES;
  const out: LabStatus = { prefix, dir, up, namespaces: nss, services, processes, paths: pathList };
  if (state !== undefined) {
    out.startedAt = state.startedAt;
    out.config = state.config;
    if (state.shape !== undefined) out.shape = state.shape;
    if (state.shape?.collector === true) {
      const p = processes.find((x) => x.kind === 'collector');
      out.collector = {
        address: COLLECTOR_ADDRESS, port: COLLECTOR_PORT, namespace: nsName(prefix, COLLECTOR_ROLE), alive: p?.alive === true,
        ...(p !== undefined ? { pid: p.pid } : {}), dir: collectorDir(dir), files: collectorFiles(dir),
      };
    }
  }
  return out;
}

function ifaceText(i: InterfaceInfo): string {
  return `${i.name} ${i.addresses.length > 0 ? i.addresses.join(',') : '-'} mtu ${i.mtu} ${i.state}`;
}

/** The human form: a headline and three tables. */
export function renderStatus(s: LabStatus): string {
  const any = s.namespaces.some((n) => n.exists) || s.processes.length > 0;
  const head = s.up
    ? `lab ${s.prefix}: up since ${s.startedAt} (dir ${s.dir}, config ${s.config})`
    : any ? `lab ${s.prefix}: PARTLY UP (dir ${s.dir}); \`svr lab down\` cleans up` : `lab ${s.prefix}: down (start it with \`svr lab up\`)`;
  const lines = [head, ''];
  const nsRows: string[][] = [];
  for (const n of s.namespaces) {
    const ifs = n.interfaces.length > 0 ? n.interfaces : [undefined];
    ifs.forEach((i, k) => nsRows.push([k === 0 ? n.name : '', k === 0 ? (n.exists ? 'yes' : 'no') : '', i === undefined ? '-' : ifaceText(i)]));
  }
  lines.push(renderTable(['namespace', 'exists', 'interfaces (address mtu state)'], nsRows), '');
  lines.push(renderTable(['service', 'address'], s.services.map((v) => [v.name, v.url])), '');
  if (s.processes.length > 0) {
    const rows = s.processes.map((p) => [p.name, p.namespace, p.pid, p.alive ? 'yes' : 'NO', p.socket === undefined ? '-' : `${p.socket}${p.socketExists === true ? '' : ' (missing)'}`, p.log]);
    lines.push(renderTable(['process', 'namespace', 'pid', 'alive', 'control socket', 'log'], rows), '');
  }
  if (s.paths.length > 0) {
    lines.push(s.shape !== undefined ? `paths (${describeShape(s.shape)}):` : 'paths:');
    for (const p of s.paths) {
      if (p.directions !== undefined) {
        const st: EmulatorStatus = { path: p.path, pid: p.emulator?.pid ?? 0, startedAt: '', seed: 0, directions: {
          'r1-r2': { device: '', ...p.directions['r1-r2'] }, 'r2-r1': { device: '', ...p.directions['r2-r1'] } } };
        if (p.flap !== undefined) st.flap = p.flap;
        lines.push(renderEmulator(s.prefix, st));
      } else {
        lines.push(`path ${p.path}: r1 ${p.r1Device} <-> ${p.namespace} <-> ${p.r2Device} r2: ${p.error ?? 'unknown'}`);
      }
      lines.push(`  waypoints r1 ${p.waypoints.r1}, r2 ${p.waypoints.r2}`);
    }
    lines.push('');
  }
  if (s.collector !== undefined) {
    const c = s.collector;
    lines.push(`IPFIX collector: nfcapd ${c.address}:${c.port}/udp in ${c.namespace} (pid ${c.pid ?? '-'}, ${c.alive ? 'alive' : 'NOT RUNNING'}), ${c.files.length} file${c.files.length === 1 ? '' : 's'} in ${c.dir}; read: nfdump -R ${c.dir}`, '');
  }
  if (s.up && s.shape?.fabric === undefined) lines.push(`try: ip netns exec ${nsName(s.prefix, 'client')} curl http://198.18.3.20/    svr show sessions --node r1`);
  if (s.up && s.shape?.fabric !== undefined) lines.push(`try: ip netns exec ${nsName(s.prefix, 'h2')} curl http://198.18.${100 + s.shape.fabric.routers}.10/    svr show peers --node r1`);
  return lines.join('\n').trimEnd() + '\n';
}
