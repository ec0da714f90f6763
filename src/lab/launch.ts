/**
 * The lab's background programs, their command lines and the markers that identify them later
 * (`svr lab down` only signals a recorded pid while these are among its arguments).
 */
import { join } from 'node:path';
import { internetServerArgs, serverBArgs } from './plugins-profile.js';
import { server6Args } from './ipv6.js';
import { collectorDir, nfcapdArgs } from './collector.js';
import { conductorArgs, etcdArgs, labConductors, type ConductorInstance } from './conductor.js';
import { hostRole, MAX_ROUTERS, routerName, FABRIC_ECHO_PORT, FABRIC_HTTP_PORT } from './fabric.js';
import { svrScript } from './run.js';
import { ECHO_PORT, HTTP_PORT, linkRole, MAX_PATHS, nsName, SERVER, STREAM_PORT, type HaPlace, type Place } from './topology.js';
import type { LabProcessKind } from './state.js';

export interface Launch {
  name: string;
  kind: LabProcessKind;
  role: Place;
  cmd: string;
  args: string[];
  markers: string[];
  socket?: string;
}

export function configPath(dir: string): string {
  return join(dir, 'authority.yaml');
}

/** A lab node's state database: `<dir>/data/<name>`. */
export function nodeDataDir(dir: string, name: string): string {
  return join(dir, 'data', name);
}

export function nodeSocketPath(dir: string, name: string): string {
  return join(dir, `${name}.sock`);
}

/**
 * `node bin/svr.js node start --config <dir>/authority.yaml --name r1 --socket <dir>/r1.sock --run-dir RUN
 * --data-dir <dir>/data/r1 [--workers N]`: the state database lives in the lab dir, so two labs (other
 * prefixes and dirs) never contend for one LevelDB.
 */
export function nodeLaunch(dir: string, name: `r${number}`, runDir: string, workers = 1, managed?: { conductors: readonly string[]; token: string }): Launch {
  const socket = nodeSocketPath(dir, name);
  const source = managed === undefined ? ['--config', configPath(dir), '--name', name] : ['--conductor', managed.conductors.join(','), '--asset-id', name, '--token', managed.token];
  const args = [svrScript(), 'node', 'start', ...source, '--socket', socket, '--run-dir', runDir, '--data-dir', nodeDataDir(dir, name)];
  if (workers > 1) args.push('--workers', String(workers));
  return { name, kind: 'node', role: name, cmd: process.execPath, args, markers: ['svr.js', 'start', socket], socket };
}

/** `svr lab up --ha`: `node bin/svr.js node start --config ... --name r1 --ha-node r1a|r1b ...` in `<prefix>-r1a|r1b` (lab/ha.ts). */
export function haNodeLaunch(dir: string, node: HaPlace, runDir: string, workers = 1): Launch {
  const socket = nodeSocketPath(dir, node);
  const args = [svrScript(), 'node', 'start', '--config', configPath(dir), '--name', 'r1', '--ha-node', node, '--socket', socket, '--run-dir', runDir, '--data-dir', nodeDataDir(dir, node)];
  if (workers > 1) args.push('--workers', String(workers));
  return { name: node, kind: 'node', role: node, cmd: process.execPath, args, markers: ['svr.js', 'start', socket], socket };
}

/** `svr lab up --conductor`: `node bin/svr.js conductor start ...` in `<prefix>-conductor` (lab/conductor.ts); `conductor2` is the HA lab's second. */
export function conductorLaunch(dir: string, c: ConductorInstance = labConductors(dir, 2, undefined)[0]!, etcd?: number): Launch {
  return { name: c.k === 1 ? 'conductor' : `conductor${c.k}`, kind: 'conductor', role: 'conductor', cmd: process.execPath, args: conductorArgs(dir, c, etcd), markers: ['svr.js', 'conductor', 'start', c.dataDir] };
}

/** `etcd --name e<k> ...` in `<prefix>-conductor` (the HA lab, lab/conductor.ts). */
export function etcdLaunch(dir: string, prefix: string, k: number, members: number): Launch {
  return { name: `etcd${k}`, kind: 'etcd', role: 'conductor', cmd: 'etcd', args: etcdArgs(dir, prefix, k, members), markers: ['etcd', join(dir, 'etcd', `e${k}`)] };
}

/** The N-router lab: `node bin/svr.js lab serve --lab PREFIX-h<i> --http ADDR:80 --udp ADDR:7 --stream off` in `<prefix>-h<i>`. */
export function siteServerLaunch(prefix: string, i: number, address: string): Launch {
  const args = [svrScript(), 'lab', 'serve', '--lab', `${prefix}-${hostRole(i)}`, '--http', `${address}:${FABRIC_HTTP_PORT}`, '--udp', `${address}:${FABRIC_ECHO_PORT}`, '--stream', 'off'];
  return { name: `server-${hostRole(i)}`, kind: 'server', role: hostRole(i), cmd: process.execPath, args, markers: ['svr.js', 'serve', '--lab', `${prefix}-${hostRole(i)}`] };
}

/** `node bin/svr.js lab serve --lab PREFIX --http 198.18.3.20:80 --udp 198.18.3.20:7 --stream 198.18.3.20:5000`. */
export function serverLaunch(prefix: string): Launch {
  const args = [svrScript(), 'lab', 'serve', '--lab', prefix, '--http', `${SERVER}:${HTTP_PORT}`, '--udp', `${SERVER}:${ECHO_PORT}`, '--stream', `${SERVER}:${STREAM_PORT}`];
  return { name: 'server', kind: 'server', role: 'server', cmd: process.execPath, args, markers: ['svr.js', 'serve', '--lab', prefix] };
}

/** `--profile plugins`: `svr lab serve` on the second server address 198.18.3.21 (HTTP only) in <prefix>-server. */
/** `--ipv6`: `svr lab serve` on the server's IPv6 address (HTTP only) in <prefix>-server. */
export function server6Launch(prefix: string): Launch {
  return { name: 'server-v6', kind: 'server', role: 'server', cmd: process.execPath, args: [svrScript(), ...server6Args(prefix)], markers: ['svr.js', 'serve', '--lab', `${prefix}-v6`] };
}

export function serverBLaunch(prefix: string): Launch {
  return { name: 'server-b', kind: 'server', role: 'server', cmd: process.execPath, args: [svrScript(), ...serverBArgs(prefix)], markers: ['svr.js', 'serve', '--lab', `${prefix}-b`] };
}

/** `--profile plugins`: `svr lab serve` as the UDP echo of the internet host 198.18.40.10 in <prefix>-internet. */
export function internetLaunch(prefix: string): Launch {
  return { name: 'internet', kind: 'server', role: 'internet', cmd: process.execPath, args: [svrScript(), ...internetServerArgs(prefix)], markers: ['svr.js', 'serve', '--lab', `${prefix}-internet`] };
}

export function emulatorSocketPath(dir: string, k: number): string {
  return join(dir, `link${k}.sock`);
}

/** `node bin/svr.js lab emulate --path K --socket <dir>/link<K>.sock --seed S` inside `<prefix>-link<K>`. */
export function emulatorLaunch(dir: string, k: number, seed: number): Launch {
  const socket = emulatorSocketPath(dir, k);
  const args = [svrScript(), 'lab', 'emulate', '--path', String(k), '--socket', socket, '--seed', String(seed)];
  return { name: linkRole(k), kind: 'emulator', role: linkRole(k), cmd: process.execPath, args, markers: ['svr.js', 'emulate', socket], socket };
}

/** `nfcapd -w <dir>/ipfix -p 4739 -b 198.18.9.10 -t 60` inside `<prefix>-collector` (in the foreground: the lab keeps its pid). */
export function collectorLaunch(dir: string, rotateS = 60): Launch {
  const args = nfcapdArgs(dir, rotateS);
  return { name: 'nfcapd', kind: 'collector', role: 'collector', cmd: 'nfcapd', args, markers: ['nfcapd', collectorDir(dir)] };
}

export function iperfPidFile(dir: string): string {
  return join(dir, 'iperf3.pid');
}

/** `iperf3 -s -D -B 198.18.3.20 -I <dir>/iperf3.pid --logfile <dir>/iperf3.log` (daemonizes itself). */
export function iperfLaunch(dir: string): Launch {
  const args = ['-s', '-D', '-B', SERVER, '-I', iperfPidFile(dir), '--logfile', join(dir, 'iperf3.log')];
  return { name: 'iperf3', kind: 'iperf3', role: 'server', cmd: 'iperf3', args, markers: ['iperf3', iperfPidFile(dir)] };
}

/**
 * Every program a lab with this dir and prefix may run (for `down` when state.json is gone); emulators
 * are matched by their socket, whatever their seed was.
 */
export function allLaunches(dir: string, prefix: string, runDir: string): Launch[] {
  const emulators = Array.from({ length: MAX_PATHS }, (_, i) => emulatorLaunch(dir, i + 1, 0));
  const nodes = Array.from({ length: MAX_ROUTERS }, (_, i) => nodeLaunch(dir, routerName(i + 1), runDir));
  const sites = Array.from({ length: MAX_ROUTERS }, (_, i) => siteServerLaunch(prefix, i + 1, ''));
  const etcds = Array.from({ length: 5 }, (_, k) => etcdLaunch(dir, prefix, k + 1, 5));
  const pair = (['r1a', 'r1b'] as const).map((n) => haNodeLaunch(dir, n, runDir));
  return [...emulators, ...nodes, ...pair, serverLaunch(prefix), iperfLaunch(dir), serverBLaunch(prefix), internetLaunch(prefix), ...labConductors(dir, 2, 3).map((c) => conductorLaunch(dir, c)), ...etcds, ...sites, collectorLaunch(dir)];
}

export function launchNamespace(prefix: string, l: Launch): string {
  return nsName(prefix, l.role);
}
