/**
 * `svr node start --conductor URL --asset-id ID [--token T]`: a router whose config comes from its
 * conductor (no local config file).
 * 1. Open the node's state store; its `conductor` sublevel keeps the enrolment credentials and the last
 *    activated config. Not enrolled yet: enrol with the one-time token (ZTP).
 * 2. The conductor agent runs the last activated config at once (forwarding does not wait for a
 *    conductor), then connects and follows the conductor's versions.
 * 3. Each version: validated and compiled (prepare), then applied live, or, when this router's
 *    interfaces or the STEP mode changed, the router is restarted on it (activate). With
 *    `step: { mode: conductor }` the router's STEP agent publishes to and learns from the conductor's
 *    repository through the agent's channel.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SvrError } from '../errors.js';
import type { SvrConfig } from '../model/config.js';
import { ConductorAgent, type ManagedHost } from '../conductor/agent/agent.js';
import { loadCredentials, type AgentStore } from '../conductor/agent/credentials.js';
import { enrolRouter } from '../conductor/agent/enrol.js';
import type { AlarmReport, RouterQuery, RouterReport } from '../conductor/channel/protocol.js';
import { checkSlice } from '../conductor/config/slice.js';
import { Store } from '../store/store.js';
import { answerQuery } from './conductor-queries.js';
import { NodeLog } from './log.js';
import { startNode, type NodeOptions, type RunningNode } from './node.js';

export interface ManagedNodeOptions extends Omit<NodeOptions, 'configPath' | 'name' | 'config' | 'store' | 'conductor'> {
  conductors: string[];
  assetId: string;
  /** one-time enrolment token; needed only until the node is enrolled */
  token?: string;
}

export class ManagedNode implements ManagedHost {
  #node: RunningNode | undefined;
  #agent: ConductorAgent | undefined;
  #stopping: Promise<void> | undefined;
  readonly #startedAt = Date.now();
  /** when each reported alarm was first seen (alarm id -> ISO time) */
  readonly #alarmSince = new Map<string, string>();
  #markDone: () => void = () => {};
  readonly done = new Promise<void>((r) => (this.#markDone = r));

  constructor(private readonly o: ManagedNodeOptions, private readonly store: Store, private readonly log: NodeLog) {}

  attach(agent: ConductorAgent): void {
    this.#agent = agent;
  }

  get node(): RunningNode | undefined {
    return this.#node;
  }

  check(text: string, router: string): SvrConfig {
    return checkSlice(text, router);
  }

  async activate(config: SvrConfig, router: string, version: number): Promise<void> {
    const label = `conductor version ${version}`;
    if (this.#node !== undefined && this.#node.name === router && this.#node.sameInterfaces(config) && this.#node.sameStepMode(config)) {
      await this.#node.apply(config);
      return;
    }
    if (this.#node !== undefined) {
      const what = this.#node.sameStepMode(config) ? `the interfaces of ${router}` : 'how STEP documents travel (authority.step.mode)';
      this.log.info('node.restarting', { reason: `version ${version} changes ${what}` });
      await this.#node.stop(`version ${version} changes ${what}`);
      this.#node = undefined;
    }
    const repository = config.authority.step?.mode === 'conductor' ? this.#agent?.stepRepository : undefined;
    const node = await startNode({
      ...this.o, configPath: label, config, name: router, store: this.store, conductor: this.o.conductors.join(','), ...(repository === undefined ? {} : { stepRepository: repository }),
    });
    this.#node = node;
    // a node stopped through its control socket (svr node stop) stops the managed node too
    void node.done.then(() => {
      if (this.#node === node && this.#stopping === undefined) void this.stop('the node stopped');
    });
  }

  report(): Omit<RouterReport, 'version'> {
    const node = this.#node;
    if (node === undefined) return { health: 'starting', uptimeS: Math.round((Date.now() - this.#startedAt) / 1000), sessions: 0, peers: [], alarms: [] };
    const peers = node.router.peers().map((p) => ({
      name: p.name,
      reachable: p.reachable,
      paths: p.paths.map((x) => {
        const path: RouterReport['peers'][number]['paths'][number] = { name: x.name, up: x.up };
        if (x.latencyMs !== undefined) path.latencyMs = x.latencyMs;
        if (x.jitterMs !== undefined) path.jitterMs = x.jitterMs;
        if (x.lossPct !== undefined) path.lossPercent = x.lossPct;
        if (x.mos !== undefined) path.mos = x.mos;
        return path;
      }),
    }));
    const alarms: AlarmReport[] = peers.filter((p) => !p.reachable).map((p) => ({ id: `peer-unreachable/${p.name}`, severity: 'major', message: `peer ${p.name} is unreachable (no path up)`, since: '' }));
    for (const p of peers) {
      for (const x of p.paths) if (!x.up) alarms.push({ id: `path-down/${p.name}/${x.name}`, severity: 'minor', message: `path ${x.name} to peer ${p.name} is down`, since: '' });
    }
    for (const id of [...this.#alarmSince.keys()]) if (!alarms.some((a) => a.id === id)) this.#alarmSince.delete(id);
    for (const a of alarms) {
      if (!this.#alarmSince.has(a.id)) this.#alarmSince.set(a.id, new Date().toISOString());
      a.since = this.#alarmSince.get(a.id)!;
    }
    return { health: alarms.length === 0 ? 'ok' : 'degraded', uptimeS: Math.round((Date.now() - node.startedAt) / 1000), sessions: node.router.status().sessionsActive, peers, alarms };
  }

  query(q: RouterQuery): Promise<unknown> {
    return answerQuery(this.#node, q);
  }

  stop(reason: string): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#agent?.stop();
      await this.#node?.stop(reason);
      await this.store.close();
      this.#markDone();
    })();
    return this.#stopping;
  }
}

/** The node's store as the agent's: sublevel `conductor`. */
function agentStore(store: Store): AgentStore {
  const sub = store.sublevel('conductor');
  return { get: async (k) => sub.get(k), put: (k, v) => sub.put(k, v) };
}

export async function startManagedNode(o: ManagedNodeOptions): Promise<ManagedNode> {
  const log = new NodeLog(o.assetId, o.logFormat, o.write);
  const dataDir = o.dataDir ?? join(process.env['SVR_DATA_DIR'] ?? '/var/lib/svrouter', o.assetId);
  mkdirSync(dataDir, { recursive: true });
  const store = await Store.open(dataDir);
  try {
    const as = agentStore(store);
    let creds = await loadCredentials(as);
    if (creds !== undefined && creds.assetId !== o.assetId) {
      throw new SvrError('SVR_ERR_CONDUCTOR_ENROL', `${dataDir} holds the enrolment of asset ${creds.assetId}, not ${o.assetId}: use another --data-dir`);
    }
    if (creds === undefined) {
      if (o.token === undefined) throw new SvrError('SVR_ERR_CONDUCTOR_ENROL', `asset ${o.assetId} is not enrolled yet (no credentials in ${dataDir}): pass --token (svr conductor token create --asset-id ${o.assetId} prints one)`);
      creds = await enrolRouter(as, { assetId: o.assetId, conductors: o.conductors, token: o.token, log: (e, f) => log.info(e, f) });
    }
    const managed = new ManagedNode({ ...o, dataDir }, store, log);
    const agent = new ConductorAgent(as, { ...creds, conductors: [...new Set([...o.conductors, ...creds.conductors])] }, managed, (e, f) => log.info(e, f));
    managed.attach(agent);
    await agent.start();
    log.info('node.managed', { asset: o.assetId, conductors: o.conductors.join(','), version: agent.version ?? 'none', dataDir });
    return managed;
  } catch (e) {
    await store.close();
    throw e;
  }
}
