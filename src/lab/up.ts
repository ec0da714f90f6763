/**
 * `svr lab up`: namespaces, veths, addresses, routes, rules and sysctls; the authority config; with
 * --collector an IPFIX collector (nfcapd) in its own namespace; one link emulator per WAN path; the two nodes; the HTTP/UDP echo/stream servers and iperf3 in the server namespace. On failure it tears down what it
 * built (logs stay in the lab dir) and rethrows.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SvrError } from '../errors.js';
import { parseConfig } from '../model/validate.js';
import { labConfigYaml } from './config.js';
import { labDown } from './down.js';
import { COLLECTOR_ADDRESS, COLLECTOR_PORT, COLLECTOR_ROLE, buildCollectorNetwork, collectorDir } from './collector.js';
import { buildConductorNetwork, conductorSessionPath, conductorUrls, CONDUCTOR_ROLE, labTokens } from './conductor.js';
import { collectorLaunch, conductorLaunch, configPath, emulatorLaunch, internetLaunch, iperfLaunch, iperfPidFile, launchNamespace, nodeLaunch, serverBLaunch, serverLaunch, type Launch } from './launch.js';
import { buildPluginNetwork, wireFunction } from './plugins-profile.js';
import { buildNatNetwork, NAT_ROLE } from './nat.js';
import { limitWanMtu } from './wan-mtu.js';
import { buildNetwork, listNamespaces, type Progress } from './netns.js';
import { logTail, readPidFile, release, spawnInNamespace, waitReady } from './processes.js';
import { run, sleep } from './run.js';
import { readyLabHost } from './setup.js';
import { labRunDir, writeLabIndex, writeState, type LabProcess, type LabState } from './state.js';
import { checkPrefix, downHint, prepareDir } from './options.js';
import { DEFAULT_SHAPE, describeShape, type LabShape } from './shape.js';
import { allNamespaces, linkNamespaces, namespaces, nsName, pluginNamespaces, ROUTERS } from './topology.js';

export interface UpOptions {
  dir: string;
  prefix: string;
  progress: Progress;
  /** Per process start (default 20 000 ms). */
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

async function startNode(state: LabState, name: 'r1' | 'r2', timeoutMs: number, progress: Progress, token?: string): Promise<void> {
  const l = nodeLaunch(state.dir, name, state.runDir, state.shape?.workers ?? 1, token === undefined ? undefined : { conductors: conductorUrls(), token });
  rmSync(l.socket!, { force: true }); // a stale socket must not look like a ready node
  const bg = spawnInNamespace(state.dir, l.name, launchNamespace(state.prefix, l), l.cmd, l.args);
  state.processes.push(record(l, state.prefix, bg.pid, bg.log));
  writeState(state);
  await waitReady(bg, { line: /\brunning\b/, path: l.socket!, timeoutMs, what: `node ${name}` });
  release(bg);
  progress(`node ${name} running in ${launchNamespace(state.prefix, l)} (pid ${bg.pid}, socket ${l.socket}, log ${bg.log})${token === undefined ? '' : ', enrolled with the conductor by a one-time token'}`);
}

/** `--conductor`: the conductor in its namespace, then one enrolment token per router. */
async function startConductor(state: LabState, timeoutMs: number, progress: Progress): Promise<Record<string, string>> {
  const l = conductorLaunch(state.dir);
  const bg = spawnInNamespace(state.dir, l.name, launchNamespace(state.prefix, l), l.cmd, l.args);
  state.processes.push(record(l, state.prefix, bg.pid, bg.log));
  writeState(state);
  await waitReady(bg, { line: /conductor\.running/, timeoutMs, what: 'the conductor' });
  release(bg);
  progress(`conductor running in ${launchNamespace(state.prefix, l)} at ${conductorUrls().join(', ')} (pid ${bg.pid}, log ${bg.log})`);
  const tokens = await labTokens(state.dir, state.prefix, ROUTERS);
  progress(`logged in as admin (SVR_CONDUCTOR_SESSION=${conductorSessionPath(state.dir)}); one-time enrolment tokens for ${ROUTERS.join(', ')}`);
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

/** Brings the lab up; resolves with its state. */
export async function labUp(opts: UpOptions): Promise<LabState> {
  checkPrefix(opts.prefix);
  readyLabHost(['ip', 'iperf3', ...(opts.shape?.collector === true ? ['nfcapd' as const] : []), ...(opts.shape?.nat === true ? ['nft' as const, 'conntrack' as const] : []), ...(opts.shape?.wanMtu !== undefined && opts.shape.nat !== true ? ['nft' as const] : [])], opts.progress);
  const dir = resolve(opts.dir);
  const timeoutMs = opts.startTimeoutMs ?? 20_000;
  const shape = opts.shape ?? DEFAULT_SHAPE;
  const seed = opts.seed ?? 1;
  const existing = (await listNamespaces()).filter((n) => allNamespaces(opts.prefix).includes(n));
  if (existing.length > 0) {
    throw new SvrError('SVR_ERR_LAB_STATE', `namespace${existing.length > 1 ? 's' : ''} ${existing.join(', ')} already exist${existing.length > 1 ? '' : 's'}: `
      + `a lab is up or was left behind; run \`${downHint(dir, opts.prefix)}\` first`, { existing });
  }
  const t0 = Date.now();
  prepareDir(dir);
  const config = configPath(dir);
  const yaml = labConfigYaml(shape);
  parseConfig(yaml, config); // a lab bug if this throws: better here than in both nodes
  writeFileSync(config, yaml, { mode: 0o600 });
  opts.progress(`config ${config}: ${describeShape(shape)}`);

  const state: LabState = {
    prefix: opts.prefix, dir, runDir: labRunDir(), config, startedAt: new Date().toISOString(), namespaces: [...namespaces(opts.prefix), ...linkNamespaces(opts.prefix, shape.paths), ...(shape.profile === 'plugins' ? pluginNamespaces(opts.prefix) : []), ...(shape.conductor === true ? [nsName(opts.prefix, CONDUCTOR_ROLE)] : []), ...(shape.collector === true ? [nsName(opts.prefix, COLLECTOR_ROLE)] : []), ...(shape.nat === true ? [nsName(opts.prefix, NAT_ROLE)] : [])], processes: [], shape: { ...shape },
  };
  writeState(state); // from here on, `svr lab down` finds everything
  try {
    await buildNetwork(opts.prefix, shape.paths, opts.progress);
    if (shape.nat === true) await buildNatNetwork(opts.prefix, opts.progress);
    if (shape.wanMtu !== undefined) await limitWanMtu(opts.prefix, shape.paths, shape.wanMtu, opts.progress);
    if (shape.profile === 'plugins') await buildPluginNetwork(opts.prefix, opts.progress);
    if (shape.conductor === true) await buildConductorNetwork(opts.prefix, opts.progress);
    if (shape.collector === true) {
      await buildCollectorNetwork(opts.prefix, opts.progress);
      await startCollector(state, timeoutMs, opts.progress);
    }
    for (let k = 1; k <= shape.paths; k++) await startEmulator(state, k, seed, timeoutMs, opts.progress);
    const tokens = shape.conductor === true ? await startConductor(state, timeoutMs, opts.progress) : undefined;
    for (const r of ROUTERS) await startNode(state, r, timeoutMs, opts.progress, tokens?.[r]);
    if (shape.profile === 'plugins') await wireFunction(opts.prefix, opts.progress);
    await startServers(state, timeoutMs, opts.progress);
    writeLabIndex(state);
  } catch (e) {
    opts.progress('failed; tearing down what was built (logs stay in the lab dir)');
    await labDown({ dir, prefix: opts.prefix, progress: () => undefined }).catch(() => undefined);
    if (e instanceof SvrError) throw new SvrError(e.code, `${e.message}${existsSync(dir) ? `\n(lab dir: ${dir})` : ''}`, e.data);
    throw e;
  }
  opts.progress(`lab up in ${((Date.now() - t0) / 1000).toFixed(1)} s: try \`ip netns exec ${opts.prefix}-client curl http://198.18.3.20/\`, \`svr lab status\`, \`svr show sessions\`, \`svr lab impair --path 1 --delay 50ms\``);
  return state;
}
