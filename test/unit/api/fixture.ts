/**
 * A node's API over a real router without TUN devices: r1 of the in-memory lab (createMemoryLab), its real
 * alarms, events and metrics (startVisibility), its session records in a real LevelDB store (startRecords:
 * the history the node keeps, unless `history: false`), and the node API built from them, with two tokens.
 * The node-only parts of the context (stats' node facts, reload from a file) are as the node's, over this router.
 */
import { fibView, ribView } from '../../../src/routing/views.js';
import { writeFile } from 'node:fs/promises';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Gate, type ApiApp } from '../../../src/api/http/app.js';
import { StaticTokens } from '../../../src/api/http/auth.js';
import type { NodeApiContext } from '../../../src/api/context.js';
import { buildNodeApi } from '../../../src/api/node-api.js';
import type { NodeStats } from '../../../src/api/schemas.js';
import { configToDocument } from '../../../src/model/serialize.js';
import { redactSecrets } from '../../../src/model/validate.js';
import { startVisibility, type NodeVisibility } from '../../../src/node/visibility.js';
import { explainRecorded } from '../../../src/node/explain-session.js';
import { startRecords, type NodeRecords } from '../../../src/node/records.js';
import { refuseRestartOnly } from '../../../src/node/restart-fields.js';
import { Store } from '../../../src/store/store.js';
import { createMemoryLab, type MemoryLab } from '../../../src/sim/memory-lab.js';
import { stringify } from 'yaml';
import { exampleConfig } from '../../support/config.js';

export const ADMIN = 'admin-token-0123456789';
export const READER = 'read-token-0123456789';

export interface ApiFixture {
  lab: MemoryLab;
  visibility: NodeVisibility;
  records: NodeRecords;
  context: Omit<NodeApiContext, 'metricsAuth'>;
  app: ApiApp;
  /** the config file reload reads */
  configFile: string;
  close(): Promise<void>;
}

export async function apiFixture(o: { metricsAuth?: 'token' | 'none'; clients?: string[]; history?: boolean } = {}): Promise<ApiFixture> {
  const config = await exampleConfig();
  config.authority.telemetry.history.enabled = o.history ?? true;
  const lab = createMemoryLab({ config, clients: o.clients ?? ['198.18.1.10'], servers: ['198.18.3.20'] });
  const dir = mkdtempSync(join(tmpdir(), 'svr-api-'));
  const configFile = join(dir, 'authority.yaml');
  await writeFile(configFile, stringify(configToDocument(config)));
  const r1 = lab.r1;
  const visibility = startVisibility(r1, { name: 'r1', version: '0.0.0-test', ports: () => [], alarmEveryMs: 60_000, alarmGraceMs: 0 });
  const store = await Store.open(join(dir, 'state'));
  const records = await startRecords(r1, store, config, 'r1', () => {});
  const startedAt = Date.now();
  const context: Omit<NodeApiContext, 'metricsAuth'> = {
    router: r1,
    node: { name: 'r1', version: '0.0.0-test', startedAt },
    stats: (): NodeStats => {
      const s = r1.status();
      return { ...r1.counters(), 'sessions-active': s.sessionsActive, 'handshakes-in-flight': s.handshakesInFlight, node: { name: 'r1', pid: process.pid, uptimeMs: Date.now() - startedAt, socket: '-', workers: s.workers }, interfaces: [] };
    },
    config: () => configToDocument(redactSecrets(r1.runningConfig)),
    reload: async () => {
      // the router reports config.applied or config.refused; what only a restart applies is refused as the node's check does
      await r1.applyConfigFile(configFile, { check: (c) => refuseRestartOnly(r1.runningConfig, c, 'r1', configFile) });
      return { applied: true };
    },
    history: { query: (q) => records.sessions.query(q), get: (id) => records.sessions.get(id), explain: (id) => explainRecorded(records.sessions, r1, id) },
    alarms: visibility.alarms.registry,
    metrics: visibility.metrics,
    dataPath: new Gate(2, 5_000),
    routing: { rib: () => ribView(r1.tables), fib: () => fibView(r1.tables, r1.runningConfig, (p) => r1.isPathUp(p)), bgp: async () => undefined },
  };
  const auth = new StaticTokens([{ name: 'ops', role: 'admin', value: ADMIN }, { name: 'prometheus', role: 'read-only', value: READER }]);
  const app = await buildNodeApi({ ...context, metricsAuth: o.metricsAuth ?? 'token' }, { auth });
  await app.ready();
  return {
    lab, visibility, records, context, app, configFile,
    async close() {
      await app.close();
      visibility.stop();
      await lab.close();
      await records.close();
      await store.close();
    },
  };
}

export interface Reply {
  status: number;
  body: any; // test replies are read freely
  text: string;
  headers: Record<string, unknown>;
}

/** Each app's replies so far, `METHOD /path STATUS` (the path without its query). */
const replies = new WeakMap<ApiApp, Set<string>>();

/** One request through fastify's inject (no socket); `token` as a bearer token. */
export async function call(app: ApiApp, method: 'GET' | 'POST' | 'DELETE', url: string, token?: string): Promise<Reply> {
  const r = await app.inject({ method, url, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  if (!replies.has(app)) replies.set(app, new Set());
  replies.get(app)!.add(`${method} ${url.split('?')[0]} ${r.statusCode}`);
  let body: unknown;
  try {
    body = JSON.parse(r.body);
  } catch {
    body = undefined;
  }
  return { status: r.statusCode, body, text: r.body, headers: r.headers };
}

/**
 * The replies the OpenAPI document lists for the routes `owned` picks (`METHOD /path/{param} STATUS`) that no
 * request through `call(app, ...)` to one of `apps` got: each route's success and failure codes, checked against what was sent.
 */
export async function repliesNotSeen(apps: readonly ApiApp[], owned: (route: string) => boolean): Promise<string[]> {
  const doc = (await apps[0]!.inject({ method: 'GET', url: '/api/v1/openapi.json' })).json() as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
  const seen = apps.flatMap((app) => [...(replies.get(app) ?? [])]);
  const missing: string[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    const pattern = new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    for (const [method, op] of Object.entries(methods)) {
      const route = `${method.toUpperCase()} ${path}`;
      if (!owned(route)) continue;
      for (const status of Object.keys(op.responses)) {
        const got = seen.some((r) => {
          const [m, p, code] = r.split(' ');
          return m === method.toUpperCase() && code === status && pattern.test(p!);
        });
        if (!got) missing.push(`${route} ${status}`);
      }
    }
  }
  return missing;
}
