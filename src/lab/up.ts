/**
 * `svr lab up`: namespaces, veths, addresses, routes, rules and sysctls; the authority config; with
 * --collector an IPFIX collector (nfcapd) in its own namespace; one link emulator per WAN path; the two nodes; the HTTP/UDP echo/stream servers and iperf3 in the server namespace. On failure it tears down what it
 * built (logs stay in the lab dir) and rethrows.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { SvrError } from '../errors.js';
import { parseConfig } from '../model/validate.js';
import { LAB_API_TOKENS, labConfigYaml } from './config.js';
import { COLLECTOR_ADDRESS, COLLECTOR_PORT, COLLECTOR_ROLE, buildCollectorNetwork, collectorDir } from './collector.js';
import { labDown, labNamespaces } from './down.js';
import { allConductorUrls, buildConductorNetwork, conductorSessionPath, CONDUCTOR_ROLE, labConductors, labTokens, writeAdminPassword } from './conductor.js';
import { buildFabricNetwork, describePeers, fabricPlan, type FabricPlan } from './fabric.js';
import { fabricConfigYaml } from './fabric-config.js';
import {
  collectorLaunch, conductorLaunch, configPath, emulatorLaunch, etcdLaunch, haNodeLaunch, internetLaunch, iperfLaunch, iperfPidFile, launchNamespace, nodeLaunch, server6Launch, serverBLaunch, serverLaunch,
  siteServerLaunch, type Launch,
} from './launch.js';
import { buildPluginNetwork, wireFunction } from './plugins-profile.js';
import { PE_ROLE, PE_SERVER, buildBgpNetwork, peFrrDir, peLaunches, peServerLaunch } from './bgp.js';
import { branchServerLaunch, BRANCH_SERVER, buildNatNetwork, NAT_ROLE } from './nat.js';
import { limitWanMtu } from './wan-mtu.js';
import { waitPeersReachable } from './peers-ready.js';
import { buildHaNetwork, HA_NODES, type HaNode } from './ha.js';
import { buildMiddlebox, MIDDLEBOX_ROLE } from './middlebox.js';
import { addIpv6Network, routeIpv6IntoEmulator, SERVER6 } from './ipv6.js';
import { buildNetwork, listNamespaces, type Progress } from './netns.js';
import { logTail, readPidFile, release, spawnInNamespace, waitReady } from './processes.js';
import { run, sleep } from './run.js';
import { readyLabHost } from './setup.js';
import { labRunDir, writeLabIndex, writeState, type LabProcess, type LabState } from './state.js';
import { checkPrefix, downHint, prepareDir } from './options.js';
import { DEFAULT_SHAPE, describeShape, type LabShape } from './shape.js';
import { linkNamespaces, namespaces, nsName, pluginNamespaces, ROUTERS } from './topology.js';

/** How long `up` waits for every router to reach its peers before it returns anyway (with a note). */
const PEERS_WAIT_MS = 10_000;

export interface UpOptions {
  dir: string;
  prefix: string;
  progress: Progress;
  /** How long a starting process may log nothing new (default 60 000 ms: at load average 20-25 a node printed nothing for 20 s); 5x that in all. */
  startTimeoutMs?: number;
  /** Paths, resiliency, SLA, timers (default DEFAULT_SHAPE: one path). */
  shape?: LabShape;
  /** Seed of the link emulators' loss and jitter draws (default 1). */
  seed?: number;
}

function record(l: Launch, prefix: string, pid: number, log: string): LabProcess {
  const p: LabProcess = { name: l.name, kind: l.kind, role: l.role, namespace: launchNamespace(prefix, l), pid, log, markers: l.markers };
  if (l.socket !== undefined) p.socket = l.socket;
  return p;
}

/** Starts a background process and waits until it is ready; records it in the state first. */
async function launch(state: LabState, l: Launch, ready: { line: RegExp; path?: string }, timeoutMs: number, what: string): Promise<LabProcess> {
  if (l.socket !== undefined) rmSync(l.socket, { force: true }); // a stale socket must not look like a ready process
  const bg = spawnInNamespace(state.dir, l.name, launchNamespace(state.prefix, l), l.cmd, l.args);
  const p = record(l, state.prefix, bg.pid, bg.log);
  state.processes.push(p);
  writeState(state);
  await waitReady(bg, { ...ready, timeoutMs, what });
  release(bg);
  return p;
}

async function startNode(state: LabState, name: `r${number}`, timeoutMs: number, progress: Progress, token?: string): Promise<void> {
  const conductors = allConductorUrls(state.shape?.fabric?.routers ?? ROUTERS.length, state.shape?.etcd !== undefined);
  const l = nodeLaunch(state.dir, name, state.runDir, state.shape?.workers ?? 1, token === undefined ? undefined : { conductors, token });
  const p = await launch(state, l, { line: /\brunning\b/, path: l.socket! }, timeoutMs, `node ${name}`);
  progress(`node ${name} running in ${p.namespace} (pid ${p.pid}, socket ${l.socket}, log ${p.log})${token === undefined ? '' : ', enrolled with the conductor by a one-time token'}`);
}

/** `--ha`: one node of the pair r1; r1a (started first, higher priority) becomes active, r1b standby. */
async function startHaNode(state: LabState, node: HaNode, timeoutMs: number, progress: Progress): Promise<void> {
  const l = haNodeLaunch(state.dir, node, state.runDir, state.shape?.workers ?? 1);
  const p = await launch(state, l, { line: /\brunning\b/, path: l.socket! }, timeoutMs, `node ${node} (pair r1)`);
  progress(`node ${node} of the pair r1 running in ${p.namespace} (pid ${p.pid}, socket ${l.socket}, log ${p.log}): svr show ha --node ${node}`);
}

/** `--conductor`: the conductor (with `--etcd`: the etcd members and two conductors), then one enrolment token per router. */
async function startConductors(state: LabState, routers: readonly string[], timeoutMs: number, progress: Progress): Promise<Record<string, string>> {
  const etcd = state.shape?.etcd;
  if (etcd !== undefined) {
    writeAdminPassword(state.dir);
    // the members wait for each other before they serve: start all, then wait for each
    const members = [];
    for (let k = 1; k <= etcd; k++) {
      const l = etcdLaunch(state.dir, state.prefix, k, etcd);
      const bg = spawnInNamespace(state.dir, l.name, launchNamespace(state.prefix, l), l.cmd, l.args);
      state.processes.push(record(l, state.prefix, bg.pid, bg.log));
      writeState(state);
      members.push(bg);
    }
    for (const bg of members) {
      await waitReady(bg, { line: /ready to serve client requests/, timeoutMs, what: `etcd member ${bg.name}` });
      release(bg);
      progress(`etcd member ${bg.name} running in ${nsName(state.prefix, CONDUCTOR_ROLE)} (pid ${bg.pid}, log ${bg.log})`);
    }
  }
  for (const c of labConductors(state.dir, routers.length, etcd)) {
    const l = conductorLaunch(state.dir, c, etcd);
    const p = await launch(state, l, { line: /conductor\.running/ }, timeoutMs, `the conductor ${l.name}`);
    progress(`${l.name} running in ${p.namespace} at ${c.urls.join(', ')} (pid ${p.pid}, log ${p.log})${etcd === undefined ? '' : `, store: etcd (${etcd} member${etcd === 1 ? '' : 's'})`}`);
  }
  const tokens = await labTokens(state.dir, state.prefix, routers, etcd !== undefined);
  progress(`logged in as admin (SVR_CONDUCTOR_SESSION=${conductorSessionPath(state.dir)}); one-time enrolment tokens for ${routers.join(', ')}`);
  return tokens;
}

async function startEmulator(state: LabState, k: number, seed: number, timeoutMs: number, progress: Progress): Promise<void> {
  const l = emulatorLaunch(state.dir, k, seed);
  rmSync(l.socket!, { force: true });
  const bg = spawnInNamespace(state.dir, l.name, launchNamespace(state.prefix, l), l.cmd, l.args);
  state.processes.push(record(l, state.prefix, bg.pid, bg.log));
  writeState(state);
  await waitReady(bg, { line: /\brunning\b/, path: l.socket!, timeoutMs, what: `the link emulator of path ${k}` });
  release(bg);
  if (k === 1 && state.shape?.ipv6 === true) await routeIpv6IntoEmulator(state.prefix);
  progress(`link emulator of path ${k} running in ${launchNamespace(state.prefix, l)} (pid ${bg.pid}, socket ${l.socket}, log ${bg.log})`);
}

async function startCollector(state: LabState, timeoutMs: number, progress: Progress): Promise<void> {
  const l = collectorLaunch(state.dir, state.shape?.collectorRotateS);
  mkdirSync(collectorDir(state.dir), { recursive: true });
  const bg = spawnInNamespace(state.dir, l.name, launchNamespace(state.prefix, l), l.cmd, l.args);
  state.processes.push(record(l, state.prefix, bg.pid, bg.log));
  writeState(state);
  await waitReady(bg, { line: /Startup nfcapd/, timeoutMs, what: 'the IPFIX collector (nfcapd)' });
  release(bg);
  progress(`IPFIX collector nfcapd on ${COLLECTOR_ADDRESS}:${COLLECTOR_PORT}/udp in ${launchNamespace(state.prefix, l)} (pid ${bg.pid}), files in ${collectorDir(state.dir)}: nfdump -R ${collectorDir(state.dir)}`);
}

/** `--bgp`: the provider edge's FRR (zebra first: bfdd and bgpd connect to its API socket). */
async function startPe(state: LabState, timeoutMs: number, progress: Progress): Promise<void> {
  for (const l of peLaunches(state.dir)) {
    const bg = spawnInNamespace(state.dir, l.name, launchNamespace(state.prefix, l), l.cmd, l.args);
    state.processes.push(record(l, state.prefix, bg.pid, bg.log));
    writeState(state);
    if (l.name === 'pe-zebra') await waitReady(bg, { line: /(?:)/, path: join(peFrrDir(state.dir), 'zserv.api'), timeoutMs, what: 'the PE\'s zebra' });
    release(bg);
  }
  progress(`provider edge FRR (zebra, bfdd, bgpd) running in ${nsName(state.prefix, PE_ROLE)}, files in ${peFrrDir(state.dir)}: ip netns exec ${nsName(state.prefix, PE_ROLE)} vtysh --vty_socket ${peFrrDir(state.dir)}`);
}

async function startServe(state: LabState, l: Launch, timeoutMs: number, what: string, progress: Progress): Promise<void> {
  const bg = spawnInNamespace(state.dir, l.name, launchNamespace(state.prefix, l), l.cmd, l.args);
  state.processes.push(record(l, state.prefix, bg.pid, bg.log));
  writeState(state);
  await waitReady(bg, { line: /\blistening http /, timeoutMs, what: `the lab servers (svr lab serve: ${what})` });
  release(bg);
  progress(`${what} listening in ${launchNamespace(state.prefix, l)} (pid ${bg.pid}, log ${bg.log})`);
}

async function startServers(state: LabState, timeoutMs: number, progress: Progress): Promise<void> {
  await startServe(state, serverLaunch(state.prefix), timeoutMs, 'http, udp echo and udp stream servers', progress);
  if (state.shape?.profile === 'plugins') {
    await startServe(state, serverBLaunch(state.prefix), timeoutMs, 'second http server 198.18.3.21:80 (web-lb target)', progress);
    await startServe(state, internetLaunch(state.prefix), timeoutMs, 'internet udp echo 198.18.40.10:7', progress);
  }
  if (state.shape?.ipv6 === true) await startServe(state, server6Launch(state.prefix), timeoutMs, `http server [${SERVER6}]:80 (web6)`, progress);
  if (state.shape?.nat === true) await startServe(state, branchServerLaunch(state.prefix), timeoutMs, `branch http and udp stream servers ${BRANCH_SERVER} (service branch, opened by r2 toward r1 behind the NAT)`, progress);

  const ip = iperfLaunch(state.dir);
  rmSync(iperfPidFile(state.dir), { force: true });
  await run('ip', ['netns', 'exec', launchNamespace(state.prefix, ip), ip.cmd, ...ip.args]);
  const deadline = Date.now() + timeoutMs;
  let pid = readPidFile(iperfPidFile(state.dir));
  while (pid === undefined && Date.now() < deadline) {
    await sleep(50);
    pid = readPidFile(iperfPidFile(state.dir));
  }
  const log = `${state.dir}/iperf3.log`;
  if (pid === undefined) throw new SvrError('SVR_ERR_LAB_PROCESS', `iperf3 -s wrote no pid file ${iperfPidFile(state.dir)}; log ${log}:\n${logTail(log)}`);
  state.processes.push(record(ip, state.prefix, pid, log));
  writeState(state);
  progress(`iperf3 server on ${launchNamespace(state.prefix, ip)} 198.18.3.20:5201 (pid ${pid})`);
}

/**
 * Fresh state for a fresh lab: the conductors' stores, the etcd members' data and the nodes' data
 * (enrolment credentials are for the previous lab's CA). Logs are overwritten as processes start.
 */
function clearData(dir: string): void {
  for (const d of ['data', 'etcd', 'conductor', 'conductor2']) rmSync(join(dir, d), { recursive: true, force: true });
}

/** The N-router lab's sites: `svr lab serve` (HTTP and UDP echo) in every host namespace. */
async function startSites(state: LabState, plan: FabricPlan, timeoutMs: number, progress: Progress): Promise<void> {
  for (const r of plan.routers) {
    await startServe(state, siteServerLaunch(state.prefix, r.index, r.host), timeoutMs, `site ${r.service}: http ${r.host}:80 and udp echo :7 behind ${r.name}`, progress);
  }
}

/** Brings the lab up; resolves with its state. */
export async function labUp(opts: UpOptions): Promise<LabState> {
  checkPrefix(opts.prefix);
  const shape = opts.shape ?? DEFAULT_SHAPE;
  readyLabHost(['ip', 'iperf3', ...(shape.etcd !== undefined ? ['etcd' as const] : []), ...(shape.collector === true ? ['nfcapd' as const] : []), ...(shape.bgp === true ? ['vtysh' as const] : []), ...(shape.nat === true ? ['nft' as const, 'conntrack' as const] : []), ...((shape.wanMtu !== undefined || shape.middlebox === true) && shape.nat !== true ? ['nft' as const] : [])], opts.progress);
  const dir = resolve(opts.dir);
  const timeoutMs = opts.startTimeoutMs ?? 60_000;
  const seed = opts.seed ?? 1;
  const existing = (await listNamespaces()).filter((n) => labNamespaces(opts.prefix).includes(n));
  if (existing.length > 0) {
    throw new SvrError('SVR_ERR_LAB_STATE', `namespace${existing.length > 1 ? 's' : ''} ${existing.join(', ')} already exist${existing.length > 1 ? '' : 's'}: `
      + `a lab is up or was left behind; run \`${downHint(dir, opts.prefix)}\` first`, { existing });
  }
  const t0 = Date.now();
  prepareDir(dir);
  clearData(dir);
  const plan = shape.fabric === undefined ? undefined : fabricPlan(opts.prefix, shape.fabric.routers, shape.fabric.topology);
  const config = configPath(dir);
  const yaml = plan === undefined ? labConfigYaml(shape, undefined, dir) : fabricConfigYaml(plan, shape);
  parseConfig(yaml, config); // a lab bug if this throws: better here than in every node
  writeFileSync(config, yaml, { mode: 0o600 });
  for (const file of Object.values(LAB_API_TOKENS)) writeFileSync(join(dir, file), `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  opts.progress(`config ${config}: ${describeShape(shape)}${plan === undefined ? '' : `; ${describePeers(plan)}`}`);

  const routers: Array<`r${number}`> = plan === undefined ? [...ROUTERS] : plan.routers.map((r) => r.name as `r${number}`);
  const labNs = plan === undefined
    ? [...namespaces(opts.prefix), ...linkNamespaces(opts.prefix, shape.paths), ...(shape.profile === 'plugins' ? pluginNamespaces(opts.prefix) : []), ...(shape.ha === true ? HA_NODES.map((n) => nsName(opts.prefix, n)) : [])]
    : [plan.wanNamespace, ...plan.routers.flatMap((r) => [r.namespace, r.hostNamespace])];
  const state: LabState = {
    prefix: opts.prefix, dir, runDir: labRunDir(), config, startedAt: new Date().toISOString(),
    namespaces: [...labNs, ...(shape.conductor === true ? [nsName(opts.prefix, CONDUCTOR_ROLE)] : []), ...(shape.collector === true ? [nsName(opts.prefix, COLLECTOR_ROLE)] : []), ...(shape.bgp === true ? [nsName(opts.prefix, PE_ROLE)] : []), ...(shape.nat === true ? [nsName(opts.prefix, NAT_ROLE)] : []), ...(shape.middlebox === true ? [nsName(opts.prefix, MIDDLEBOX_ROLE)] : [])], processes: [], shape: { ...shape },
  };
  writeState(state); // from here on, `svr lab down` finds everything
  try {
    if (plan === undefined) {
      await buildNetwork(opts.prefix, shape.paths, opts.progress);
      if (shape.nat === true) await buildNatNetwork(opts.prefix, opts.progress);
      if (shape.middlebox === true) await buildMiddlebox(opts.prefix, opts.progress);
      if (shape.wanMtu !== undefined) await limitWanMtu(opts.prefix, shape.paths, shape.wanMtu, opts.progress);
      if (shape.ipv6 === true) await addIpv6Network(opts.prefix, opts.progress);
      if (shape.ha === true) await buildHaNetwork(opts.prefix, opts.progress, shape.haWan === 'per-node');
      if (shape.profile === 'plugins') await buildPluginNetwork(opts.prefix, opts.progress);
    } else {
      await buildFabricNetwork(plan, opts.progress);
    }
    if (shape.conductor === true) await buildConductorNetwork(opts.prefix, routers, opts.progress);
    if (shape.collector === true) {
      await buildCollectorNetwork(opts.prefix, opts.progress);
      await startCollector(state, timeoutMs, opts.progress);
    }
    if (shape.bgp === true) {
      await buildBgpNetwork(opts.prefix, opts.progress);
      await startPe(state, timeoutMs, opts.progress);
    }
    if (plan === undefined) for (let k = 1; k <= shape.paths; k++) await startEmulator(state, k, seed, timeoutMs, opts.progress);
    const tokens = shape.conductor === true ? await startConductors(state, routers, timeoutMs, opts.progress) : undefined;
    for (const r of routers) {
      if (r === 'r1' && shape.ha === true) for (const n of HA_NODES) await startHaNode(state, n, timeoutMs, opts.progress);
      else await startNode(state, r, timeoutMs, opts.progress, tokens?.[r]);
    }
    if (plan === undefined) {
      if (shape.profile === 'plugins') await wireFunction(opts.prefix, opts.progress);
      await startServers(state, timeoutMs, opts.progress);
      if (shape.bgp === true) await startServe(state, peServerLaunch(opts.prefix), timeoutMs, `the PE's http and udp echo servers on ${PE_SERVER}`, opts.progress);
    } else {
      await startSites(state, plan, timeoutMs, opts.progress);
    }
    writeLabIndex(state);
    // the lab is up when it carries sessions: a first packet sent right after must not meet a path still coming up
    const nodes = state.processes.filter((p) => p.kind === 'node' && p.socket !== undefined).map((p) => ({ name: p.name, socket: p.socket! }));
    await waitPeersReachable(nodes, PEERS_WAIT_MS, opts.progress);
  } catch (e) {
    opts.progress('failed; tearing down what was built (logs stay in the lab dir)');
    await labDown({ dir, prefix: opts.prefix, progress: () => undefined }).catch(() => undefined);
    if (e instanceof SvrError) throw new SvrError(e.code, `${e.message}${existsSync(dir) ? `\n(lab dir: ${dir})` : ''}`, e.data);
    throw e;
  }
  const tryLine = plan === undefined
    ? `try \`ip netns exec ${opts.prefix}-client curl http://198.18.3.20/\`, \`svr lab status\`, \`svr show sessions\`, \`svr lab impair --path 1 --delay 50ms\``
    : `try \`ip netns exec ${plan.routers[1]!.hostNamespace} curl http://${plan.routers[plan.routers.length - 1]!.host}/\`, \`svr lab status\`, \`svr show peers --node r1\``;
  opts.progress(`lab up in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${tryLine}`);
  return state;
}
