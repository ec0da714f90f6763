/**
 * `svr lab down`: stops what `up` started (link emulators, conductors and etcd members too) and deletes
 * the lab's namespaces by exact name: the four fixed ones, every `<prefix>-link<k>`, `<prefix>-internet`
 * and `<prefix>-fn` of the plugins profile, the N-router lab's `<prefix>-r<i>`, `<prefix>-h<i>` and
 * `<prefix>-wan`, the conductor's, `<prefix>-collector` (nfcapd, stopped by its pid first), and any other `<prefix>-*` namespace state.json recorded (their veths and TUNs go with them). Works after a crash or SIGKILL of a node, without state.json, and twice.
 */
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { unregister } from '../node/registry.js';
import { allLaunches, emulatorSocketPath, iperfPidFile, nodeSocketPath } from './launch.js';
import { deleteNamespace, listNamespaces, namespacePids, type Progress } from './netns.js';
import { checkPrefix } from './options.js';
import { readPidFile, stopPids, type StopTarget } from './processes.js';
import { isRoot, requireRoot } from './run.js';
import { labRunDir, readState, removeLabIndex, removeState, type LabState } from './state.js';
import { allNamespaces, linkRole, MAX_PATHS } from './topology.js';
import { fabricNamespaces, MAX_ROUTERS, routerName } from './fabric.js';

export interface DownOptions {
  dir: string;
  prefix: string;
  progress: Progress;
}

export interface DownResult {
  /** Pids that were signalled. */
  stopped: number[];
  /** Namespaces deleted. */
  deleted: string[];
  /** Nothing of this lab was there. */
  nothing: boolean;
}

/**
 * Recorded processes: from state.json when it is this lab's; from the pid files when there is no
 * state.json; none when the dir belongs to a lab with another prefix.
 */
function recordedTargets(dir: string, prefix: string, state: LabState | undefined): { targets: StopTarget[]; nodes: { name: string; pid: number }[]; runDir: string } {
  if (state !== undefined && state.prefix !== prefix) return { targets: [], nodes: [], runDir: labRunDir() };
  if (state !== undefined) {
    return {
      targets: state.processes.map((p) => ({ pid: p.pid, markers: p.markers })),
      nodes: state.processes.filter((p) => p.kind === 'node').map((p) => ({ name: p.name, pid: p.pid })),
      runDir: state.runDir,
    };
  }
  const runDir = labRunDir();
  const targets: StopTarget[] = [];
  const nodes: { name: string; pid: number }[] = [];
  for (const l of allLaunches(dir, prefix, runDir)) {
    const pid = readPidFile(l.kind === 'iperf3' ? iperfPidFile(dir) : join(dir, `${l.name}.pid`));
    if (pid === undefined) continue;
    targets.push({ pid, markers: l.markers });
    if (l.kind === 'node') nodes.push({ name: l.name, pid });
  }
  return { targets, nodes, runDir };
}

/** Every namespace a lab with this prefix may have (the two-router lab's and the N-router lab's). */
export function labNamespaces(prefix: string): string[] {
  return [...new Set([...allNamespaces(prefix), ...fabricNamespaces(prefix)])];
}

let running: Promise<unknown> = Promise.resolve();

/** Tears the lab down; calls in one process run one after the other (a signal during `up` and its own cleanup). */
export function labDown(opts: DownOptions): Promise<DownResult> {
  const p = running.then(() => down(opts));
  running = p.catch(() => undefined);
  return p;
}

async function down(opts: DownOptions): Promise<DownResult> {
  checkPrefix(opts.prefix);
  const dir = resolve(opts.dir);
  const saved = readState(dir);
  const state = saved !== undefined && saved.prefix === opts.prefix ? saved : undefined;
  // every name this prefix may use, plus whatever state.json recorded under the prefix (exact names only)
  const ours = [...new Set([...labNamespaces(opts.prefix), ...(state?.namespaces ?? []).filter((n) => n.startsWith(`${opts.prefix}-`))])];
  const existing = new Set(await listNamespaces());
  const present = ours.filter((n) => existing.has(n));
  const rec = recordedTargets(dir, opts.prefix, saved);
  if (!isRoot() && (present.length > 0 || rec.targets.length > 0)) requireRoot();

  // 1. the processes we started (nodes stop cleanly on SIGTERM)
  const stopped = await stopPids(rec.targets, 5000);
  if (stopped.length > 0) opts.progress(`stopped ${stopped.length} lab process${stopped.length === 1 ? '' : 'es'} (pids ${stopped.join(' ')})`);

  // 2. whatever else runs inside our namespaces (started by hand, e.g. ip netns exec svr-client ...)
  for (const ns of present) {
    const pids = await namespacePids(ns);
    const more = await stopPids(pids.map((pid) => ({ pid, markers: [] })), 2000);
    if (more.length > 0) opts.progress(`stopped ${more.length} process${more.length === 1 ? '' : 'es'} in ${ns} (pids ${more.join(' ')})`);
    stopped.push(...more);
  }

  // 3. the namespaces, by exact name
  const deleted: string[] = [];
  for (const ns of present) {
    if (await deleteNamespace(ns)) deleted.push(ns);
  }
  if (deleted.length > 0) opts.progress(`deleted namespaces ${deleted.join(' ')} (with their veths and TUN devices)`);

  // 4. files: registry entries of killed nodes, sockets, pid files, state, lab.json
  for (const n of rec.nodes) unregister(rec.runDir, n.name, n.pid);
  if (state !== undefined || saved === undefined) {
    // the dir is this lab's (not another prefix's)
    for (let i = 1; i <= MAX_ROUTERS; i++) {
      rmSync(nodeSocketPath(dir, routerName(i)), { force: true });
      rmSync(join(dir, `${routerName(i)}.pid`), { force: true });
      rmSync(join(dir, `server-h${i}.pid`), { force: true });
    }
    for (const f of ['server.pid', 'server-b.pid', 'internet.pid', 'conductor.pid', 'conductor2.pid', 'nfcapd.pid', ...[1, 2, 3, 4, 5].map((k) => `etcd${k}.pid`)]) rmSync(join(dir, f), { force: true });
    for (let k = 1; k <= MAX_PATHS; k++) {
      rmSync(emulatorSocketPath(dir, k), { force: true });
      rmSync(join(dir, `${linkRole(k)}.pid`), { force: true });
    }
    rmSync(iperfPidFile(dir), { force: true });
    removeState(dir);
  }
  removeLabIndex(opts.prefix, rec.runDir);

  const nothing = stopped.length === 0 && deleted.length === 0 && state === undefined;
  opts.progress(nothing ? `no lab with prefix ${opts.prefix} was up: nothing to do` : 'lab down');
  return { stopped, deleted, nothing };
}
