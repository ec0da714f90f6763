/**
 * `svr lab status`: namespaces (exist?), their interfaces and addresses, the services, the nodes' control
 * sockets and every lab process with its pid and whether it is alive.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { renderTable } from '../cli/table.js';
import { interfacesOf, listNamespaces, type InterfaceInfo } from './netns.js';
import { checkPrefix } from './options.js';
import { isOurs } from './processes.js';
import { readLabIndex, readState, type LabState } from './state.js';
import { nsName, ROLES, SERVICE_ADDRESSES, type Role, type ServiceAddress } from './topology.js';

export interface NamespaceStatus {
  name: string;
  role: Role;
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
  const nss: NamespaceStatus[] = [];
  for (const role of ROLES) {
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
  const out: LabStatus = { prefix, dir, up, namespaces: nss, services: SERVICE_ADDRESSES, processes };
  if (state !== undefined) {
    out.startedAt = state.startedAt;
    out.config = state.config;
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
  if (s.up) lines.push(`try: ip netns exec ${nsName(s.prefix, 'client')} curl http://198.18.3.20/    svr show sessions --node r1`);
  return lines.join('\n').trimEnd() + '\n';
}
