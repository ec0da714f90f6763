/**
 * What a running lab leaves on disk:
 * - `<dir>/state.json`: everything `svr lab down` and `status` need (namespaces, processes, pids, logs);
 * - `<run-dir>/lab.json`: where the lab's nodes are, so `svr show` without `--node` finds r1
 *   (`labNodeSocket`). Run dir: $SVR_RUN_DIR, else /run/svrouter (as for `svr node`).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runDir } from '../node/registry.js';
import { nodeDataDir } from './launch.js';
import type { LabShape } from './shape.js';
import type { Place } from './topology.js';

export type LabProcessKind = 'node' | 'server' | 'iperf3' | 'emulator' | 'conductor' | 'etcd' | 'collector';

export interface LabProcess {
  /** link1.., r1, r2, server, iperf3 */
  name: string;
  kind: LabProcessKind;
  role: Place;
  namespace: string;
  pid: number;
  log: string;
  /** Nodes and emulators: the control socket. */
  socket?: string;
  /** Arguments that identify the process (down signals the pid only while they match). */
  markers: string[];
}

export interface LabState {
  prefix: string;
  dir: string;
  runDir: string;
  config: string;
  startedAt: string;
  namespaces: string[];
  processes: LabProcess[];
  /** What `up` was asked for (absent in a state.json of an older lab: one path, the defaults). */
  shape?: LabShape;
}

export interface LabNodeEntry {
  name: string;
  namespace: string;
  socket: string;
  pid: number;
}

/** `<run-dir>/lab.json` */
export interface LabIndex {
  prefix: string;
  dir: string;
  startedAt: string;
  nodes: LabNodeEntry[];
}

export function labRunDir(): string {
  return runDir();
}

function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  renameSync(tmp, path);
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function statePath(dir: string): string {
  return join(dir, 'state.json');
}

export function readState(dir: string): LabState | undefined {
  return readJson<LabState>(statePath(dir));
}

export function writeState(state: LabState): void {
  writeJson(statePath(state.dir), state);
}

export function removeState(dir: string): void {
  rmSync(statePath(dir), { force: true });
}

export function labIndexPath(dir: string = labRunDir()): string {
  return join(dir, 'lab.json');
}

export function readLabIndex(dir: string = labRunDir()): LabIndex | undefined {
  return readJson<LabIndex>(labIndexPath(dir));
}

/** Writes `<run-dir>/lab.json` from the lab state (its nodes and sockets). */
export function writeLabIndex(state: LabState): void {
  const nodes = state.processes
    .filter((p) => p.kind === 'node' && p.socket !== undefined)
    .map((p) => ({ name: p.name, namespace: p.namespace, socket: p.socket!, pid: p.pid }));
  writeJson(labIndexPath(state.runDir), { prefix: state.prefix, dir: state.dir, startedAt: state.startedAt, nodes });
}

/** Removes `<run-dir>/lab.json` if it belongs to the lab with this prefix. */
export function removeLabIndex(prefix: string, dir: string = labRunDir()): void {
  const idx = readLabIndex(dir);
  if (idx !== undefined && idx.prefix === prefix) rmSync(labIndexPath(dir), { force: true });
}

/** Lab node `name` (r1, r2) of the lab in <run-dir>/lab.json: its socket, pid and state database. */
export function labNode(name: string): (LabNodeEntry & { dataDir: string }) | undefined {
  const idx = existsSync(labIndexPath()) ? readLabIndex() : undefined;
  const n = idx?.nodes.find((x) => x.name === name);
  return idx === undefined || n === undefined ? undefined : { ...n, dataDir: nodeDataDir(idx.dir, name) };
}

/** The control socket of lab node `name` (r1, r2) when a lab is up, else undefined. Used by `svr show`. */
export function labNodeSocket(name: string): string | undefined {
  const p = labIndexPath();
  if (!existsSync(p)) return undefined;
  return readLabIndex()?.nodes.find((n) => n.name === name)?.socket;
}
