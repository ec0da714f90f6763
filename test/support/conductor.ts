/**
 * Conductor test support: a conductor on loopback (LevelDB or etcd), logged in as admin, plus managed
 * routers whose host validates and compiles every config with the router's compiler and records what
 * it activates (the node's TUN devices are for the end-to-end tests).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConductorAgent, type ManagedHost } from '../../src/conductor/agent/agent.js';
import { loadCredentials, type AgentStore } from '../../src/conductor/agent/credentials.js';
import { enrolRouter } from '../../src/conductor/agent/enrol.js';
import { httpsJson, type HttpsOptions } from '../../src/conductor/agent/https.js';
import type { RouterReport } from '../../src/conductor/channel/protocol.js';
import { checkSlice } from '../../src/conductor/config/slice.js';
import { startConductor, type ConductorOptions, type RunningConductor } from '../../src/conductor/conductor.js';
import type { SvrConfig } from '../../src/model/config.js';
import { ConfigError } from '../../src/errors.js';

export const ADMIN_PASSWORD = 'admin-secret-1';

export interface TestConductor {
  c: RunningConductor;
  url: string;
  dir: string;
  ca: string;
  admin: string;
  logs: string[];
  api<T>(method: string, path: string, body?: unknown, token?: string): Promise<T>;
  stop(): Promise<void>;
}

export async function startTestConductor(seed: string | undefined, more: Partial<ConductorOptions> = {}, dir = mkdtempSync(join(tmpdir(), 'svr-cond-'))): Promise<TestConductor> {
  const logs: string[] = [];
  if (seed !== undefined) writeFileSync(join(dir, 'authority.yaml'), seed);
  const c = await startConductor({
    configPath: seed === undefined ? undefined : join(dir, 'authority.yaml'), dataDir: join(dir, 'data'), host: '127.0.0.1', port: 0, adminPassword: ADMIN_PASSWORD,
    log: (e, f) => logs.push(`${e} ${JSON.stringify(f)}`), ...more,
  });
  const url = more.advertise?.[0] ?? `https://127.0.0.1:${c.port}`;
  const ca = (await httpsJson<{ certificate: string }>(`https://127.0.0.1:${c.port}/api/v1/ca`, 'GET', undefined, { insecure: true })).certificate;
  const o: HttpsOptions = { ca };
  const api = <T>(method: string, path: string, body?: unknown, token?: string) => httpsJson<T>(`https://127.0.0.1:${c.port}${path}`, method, body, { ...o, token: token ?? admin });
  let admin = '';
  if (c.leadership.isLeader || more.etcd === undefined) admin = (await api<{ token: string }>('POST', '/api/v1/login', { user: 'admin', password: ADMIN_PASSWORD }, '')).token;
  return {
    c, url, dir, ca, admin, logs, api,
    stop: async () => {
      await c.stop();
      if (more.etcd === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A map as the agent's store (a node gives its LevelDB sublevel). */
export class MemoryAgentStore implements AgentStore {
  readonly data = new Map<string, unknown>();
  async get(key: string): Promise<unknown> {
    return structuredClone(this.data.get(key));
  }
  async put(key: string, value: unknown): Promise<void> {
    this.data.set(key, structuredClone(value));
  }
}

/** A router host that compiles every config as the router does and records what it runs. */
export class RecordingHost implements ManagedHost {
  readonly activated: Array<{ version: number; config: SvrConfig }> = [];
  refuseService: string | undefined;

  check(text: string, router: string): SvrConfig {
    const config = checkSlice(text, router);
    const i = config.authority.services.findIndex((s) => s.name === this.refuseService);
    if (i >= 0) {
      throw new ConfigError('SVR_ERR_CONFIG_INVALID', `router ${router} cannot run service ${this.refuseService}`, { source: router, problems: [{ path: `authority.services[${i}].name`, message: 'this router refuses this service' }] });
    }
    return config;
  }

  async activate(config: SvrConfig, _router: string, version: number): Promise<void> {
    this.activated.push({ version, config });
  }

  report(): Omit<RouterReport, 'version'> {
    return { health: 'ok', uptimeS: 1, sessions: 0, peers: [], alarms: [] };
  }
}

export interface TestRouter {
  agent: ConductorAgent;
  host: RecordingHost;
  store: MemoryAgentStore;
  logs: string[];
}

/** Enrol `assetId` with a fresh token (unless the store has credentials) and start its agent. */
export async function startTestRouter(t: TestConductor, assetId: string, store = new MemoryAgentStore(), host = new RecordingHost()): Promise<TestRouter> {
  const logs: string[] = [];
  const log = (e: string, f: Record<string, unknown>) => logs.push(`${e} ${JSON.stringify(f)}`);
  let creds = await loadCredentials(store);
  if (creds === undefined) {
    const { token } = await t.api<{ token: string }>('POST', '/api/v1/tokens', { assetId });
    creds = await enrolRouter(store, { assetId, conductors: [t.url], token, log });
  }
  const agent = new ConductorAgent(store, creds, host, log);
  await agent.start();
  return { agent, host, store, logs };
}
