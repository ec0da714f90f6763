/**
 * A real conductor (HTTPS API, WebSocket channel on mutual TLS, LevelDB) with managed routers enrolled by
 * ZTP over loopback: login and roles, commits that reach both routers, refusals, out-of-sync routers,
 * bad tokens and certificates, configs not signed by the conductor, the audit log; docs/conductor.md's route table
 * against the OpenAPI document.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { stringify } from 'yaml';
import { isSvrError } from '../../../src/errors.js';
import { findPackageRoot } from '../../../src/native/addon.js';
import { ConductorAgent } from '../../../src/conductor/agent/agent.js';
import { enrolRouter } from '../../../src/conductor/agent/enrol.js';
import { ConductorApiError } from '../../../src/conductor/agent/https.js';
import { loadCredentials } from '../../../src/conductor/agent/credentials.js';
import { createCa, issueCertificate, newKeyPair, signVersion } from '../../../src/conductor/pki/certificates.js';
import type { RouterStatus } from '../../../src/conductor/fleet.js';
import { baseAuthority } from '../model/helpers.js';
import { MemoryAgentStore, RecordingHost, startTestConductor, startTestRouter, type TestConductor, type TestRouter } from '../../support/conductor.js';
import { waitFor } from '../../support/config.js';

const SEED = `# two routers\n${stringify({ authority: baseAuthority() })}`;

let t: TestConductor;
let r1: TestRouter;
let r2: TestRouter;

const routers = () => t.api<RouterStatus[]>('GET', '/api/v1/routers');
const statusOf = async () => Object.fromEntries((await routers()).map((r) => [r.router, `${r.status}@${r.version}`]));

async function apiError(p: Promise<unknown>): Promise<ConductorApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ConductorApiError) return e;
    throw e;
  }
  assert.unreachable('expected an API error');
  throw new Error('unreachable');
}

test.before(async () => {
  t = await startTestConductor(SEED);
  r1 = await startTestRouter(t, 'r1');
  r2 = await startTestRouter(t, 'r2');
});

test.after(async () => {
  await r1?.agent.stop();
  await r2?.agent.stop();
  await t?.stop();
});

test('two routers enrolled by ZTP are synchronized on version 1', async () => {
  await waitFor('both synchronized', async () => JSON.stringify(await statusOf()) === JSON.stringify({ r1: 'synchronized@1', r2: 'synchronized@1' }), 10_000);
  assert.equal(r1.host.activated.map((a) => a.version), [1]);
  assert.equal(r1.host.activated[0]!.config.authority.routers.map((r) => r.name), ['r1', 'r2'], 'r1 got its slice');
  const assets = await t.api<Array<{ assetId: string; router: string; connected: boolean }>>('GET', '/api/v1/assets');
  assert.equal(assets.map((a) => [a.assetId, a.router, a.connected]), [['r1', 'r1', true], ['r2', 'r2', true]]);
});

test('login and roles: wrong password 401 (audited); read-only reads but cannot commit (403)', async () => {
  const bad = await apiError(t.api('POST', '/api/v1/login', { user: 'admin', password: 'nope' }, ''));
  assert.is(bad.status, 401);
  assert.is(bad.code, 'SVR_ERR_CONDUCTOR_AUTH');
  assert.is((await apiError(t.api('GET', '/api/v1/routers', undefined, 'garbage'))).status, 401);
  await t.api('POST', '/api/v1/users', { name: 'viewer', role: 'read-only', password: 'viewer-pass-1' });
  const viewer = (await t.api<{ token: string }>('POST', '/api/v1/login', { user: 'viewer', password: 'viewer-pass-1' }, '')).token;
  assert.is((await t.api<RouterStatus[]>('GET', '/api/v1/routers', undefined, viewer)).length, 2);
  const no = await apiError(t.api('POST', '/api/v1/config/commit', { message: 'x' }, viewer));
  assert.is(no.status, 403);
  assert.match(no.message, /viewer is read-only/);
  const log = await t.api<Array<{ action: string; result: string; user: string }>>('GET', '/api/v1/audit');
  assert.ok(log.some((e) => e.action === 'login' && e.result === 'refused' && e.user === 'admin'));
  assert.ok(log.some((e) => e.action === 'user.create' && e.result === 'ok'));
  const doc = await t.api<{ paths: Record<string, unknown> }>('GET', '/api/v1/openapi.json');
  assert.ok('/api/v1/config/commit' in doc.paths && '/api/v1/enrol' in doc.paths, 'OpenAPI from the route schemas');
});

test('a service added at the conductor reaches both routers (two-phase commit); audit has the diff', async () => {
  const cand = await t.api<{ base: number }>('GET', '/api/v1/config/candidate');
  await t.api('PATCH', '/api/v1/config/candidate', { set: 'services[db]', value: { addresses: ['10.9.9.0/24'], 'access-policy': [{ source: 'engineering' }] } });
  const res = await t.api<{ version: number; routers: Record<string, string> }>('POST', '/api/v1/config/commit', { message: 'add db', basedOn: cand.base });
  assert.is(res.version, 2);
  assert.equal(res.routers, { r1: 'synchronized', r2: 'synchronized' }, 'the commit waits for the activations');
  for (const r of [r1, r2]) assert.equal(r.host.activated.at(-1)!.config.authority.services.map((s) => s.name), ['web', 'db']);
  assert.equal(await statusOf(), { r1: 'synchronized@2', r2: 'synchronized@2' });
  const log = await t.api<Array<{ action: string; version?: number; diff?: string; user: string }>>('GET', '/api/v1/audit');
  const commit = log.find((e) => e.action === 'config.commit' && e.version === 2)!;
  assert.is(commit.user, 'admin');
  assert.match(commit.diff!, /\+\s+- name: db/);
  assert.ok(log.some((e) => e.action === 'config.candidate.set'), 'the edit is audited too');
});

test('a bad commit is refused with the field path; nothing changes on the routers', async () => {
  await t.api('PATCH', '/api/v1/config/candidate', { set: 'services[db].access-policy[0].source', value: 'nobody' });
  const e = await apiError(t.api('POST', '/api/v1/config/commit', { message: 'bad' }));
  assert.is(e.status, 422);
  assert.is(e.code, 'SVR_ERR_CONFIG_INVALID');
  assert.match(e.message, /authority\.services\[1\]\.access-policy\[0\]\.source: unknown tenant "nobody"/);
  assert.equal(await statusOf(), { r1: 'synchronized@2', r2: 'synchronized@2' });
  assert.equal([r1.host.activated.length, r2.host.activated.length], [2, 2]);
  await t.api('POST', '/api/v1/config/candidate/revert');
});

test('a router that refuses the version aborts the commit for all; the error names the router and the field', async () => {
  r2.host.refuseService = 'unsupported';
  await t.api('PATCH', '/api/v1/config/candidate', { set: 'services[unsupported]', value: { addresses: ['10.9.8.0/24'] } });
  const e = await apiError(t.api('POST', '/api/v1/config/commit', { message: 'r2 refuses' }));
  assert.is(e.code, 'SVR_ERR_CONDUCTOR_ROUTER_REFUSED');
  assert.match(e.message, /router r2 refused version 3, so no router activated it/);
  assert.match(e.message, /authority\.services\[2\]\.name: this router refuses this service/);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(r1.host.activated.map((a) => a.version), [1, 2], 'r1 prepared but did not activate');
  assert.is((await t.api<{ version: number }>('GET', '/api/v1/status')).version, 2);
  r2.host.refuseService = undefined;
  await t.api('POST', '/api/v1/config/candidate/revert');
});

test('concurrent commits: one wins, the other gets SVR_ERR_CONDUCTOR_CONFLICT naming its base', async () => {
  await t.api('PATCH', '/api/v1/config/candidate', { set: 'services[web].addresses', value: ['10.9.0.0/16', '10.10.0.0/16'] });
  const results = await Promise.allSettled([
    t.api('POST', '/api/v1/config/commit', { message: 'a', basedOn: 2 }),
    t.api('POST', '/api/v1/config/commit', { message: 'b', basedOn: 2 }),
  ]);
  const lost = results.filter((x): x is PromiseRejectedResult => x.status === 'rejected');
  assert.is(lost.length, 1);
  assert.is((lost[0]!.reason as ConductorApiError).status, 409);
  assert.match((lost[0]!.reason as Error).message, /based on version 2, but version 3 is running now/);
  await waitFor('both on 3', async () => JSON.stringify(await statusOf()) === JSON.stringify({ r1: 'synchronized@3', r2: 'synchronized@3' }), 5000);
});

test('a router down during a commit is out of sync (alarm) and gets the version when it is back', async () => {
  await r2.agent.stop();
  await waitFor('r2 disconnected', async () => (await routers()).find((r) => r.router === 'r2')!.connected === false, 5000);
  await t.api('PATCH', '/api/v1/config/candidate', { set: 'services[web].addresses', value: ['10.9.0.0/16'] });
  const res = await t.api<{ version: number; routers: Record<string, string> }>('POST', '/api/v1/config/commit', { message: 'while r2 is away' });
  assert.equal(res.routers, { r1: 'synchronized', r2: 'out of sync' });
  const alarms = await t.api<Array<{ id: string; message: string }>>('GET', '/api/v1/alarms');
  assert.ok(alarms.some((a) => a.id === 'r2/out-of-sync' && a.message.includes(`version ${res.version}`)), JSON.stringify(alarms));
  r2 = await startTestRouter(t, 'r2', r2.store, r2.host);
  assert.is(r2.agent.version, 3, 'r2 restarts on its last activated version (from its store)');
  await waitFor('r2 resynchronised', async () => (await statusOf())['r2'] === `synchronized@${res.version}`, 10_000);
  assert.is(r2.host.activated.at(-1)!.version, res.version);
  assert.not.ok((await t.api<Array<{ id: string }>>('GET', '/api/v1/alarms')).some((a) => a.id === 'r2/out-of-sync'), 'alarm cleared');
});

test('rollback restores the previous config as a new version on both routers', async () => {
  const before = (await t.api<Array<{ version: number }>>('GET', '/api/v1/config/versions')).length;
  const res = await t.api<{ version: number }>('POST', '/api/v1/config/rollback', { version: 1 });
  assert.is(res.version, before + 1);
  await waitFor('rolled back', async () => JSON.stringify(await statusOf()) === JSON.stringify({ r1: `synchronized@${res.version}`, r2: `synchronized@${res.version}` }), 5000);
  assert.equal(r1.host.activated.at(-1)!.config.authority.services.map((s) => s.name), ['web'], 'db is gone again');
  const { diff } = await t.api<{ diff: string }>('GET', `/api/v1/config/compare?a=1&b=${res.version}`);
  assert.is(diff, '');
});

test('bad enrolments are refused, audited and alarmed: reused, expired, foreign token', async () => {
  const { token } = await t.api<{ token: string }>('POST', '/api/v1/tokens', { assetId: 'r9' });
  await enrolRouter(new MemoryAgentStore(), { assetId: 'r9', conductors: [t.url], token, log: () => undefined });
  const again = await enrolRouter(new MemoryAgentStore(), { assetId: 'r9', conductors: [t.url], token, log: () => undefined }).catch((e: unknown) => e);
  assert.ok(isSvrError(again, 'SVR_ERR_CONDUCTOR_ENROL'));
  assert.match((again as Error).message, /already used/);
  const other = await t.api<{ token: string }>('POST', '/api/v1/tokens', { assetId: 'r8' });
  const foreign = await enrolRouter(new MemoryAgentStore(), { assetId: 'r7', conductors: [t.url], token: other.token, log: () => undefined }).catch((e: unknown) => e);
  assert.match((foreign as Error).message, /is for asset r8, not r7/);
  const short = await t.api<{ token: string; id: string }>('POST', '/api/v1/tokens', { assetId: 'r6', ttlMinutes: 1 });
  const rec = (await t.c.store.token(short.id))!;
  await t.c.store.kv.txn([], [{ key: `tokens/${short.id}`, value: JSON.stringify({ ...rec, expiresAt: new Date(Date.now() - 1000).toISOString() }) }]);
  assert.match(String(await enrolRouter(new MemoryAgentStore(), { assetId: 'r6', conductors: [t.url], token: short.token, log: () => undefined }).catch((e: unknown) => e)), /expired/);
  const log = await t.api<Array<{ action: string; result: string; target?: string }>>('GET', '/api/v1/audit');
  assert.equal(log.filter((e) => e.action === 'enrol' && e.result === 'refused').map((e) => e.target), ['r9', 'r7', 'r6']);
  const alarms = await t.api<Array<{ id: string }>>('GET', '/api/v1/alarms');
  for (const a of ['r9', 'r7', 'r6']) assert.ok(alarms.some((x) => x.id === `enrol:${a}/enrolment-refused`), a);
  const assets = await t.api<Array<{ assetId: string; router: string | null; status: string }>>('GET', '/api/v1/assets');
  assert.equal(assets.find((a) => a.assetId === 'r9'), { ...assets.find((a) => a.assetId === 'r9')!, router: null, status: 'unassigned' });
});

test('channels: an unknown certificate and a router claiming another asset id are refused, audited, alarmed', async () => {
  const rogueCa = createCa('rogue');
  const k = newKeyPair();
  const creds = await loadCredentials(r1.store);
  const rogueStore = new MemoryAgentStore();
  const rogue = new ConductorAgent(rogueStore, { ...creds!, assetId: 'r1', keyPem: k.keyPem, certPem: issueCertificate(rogueCa, { publicKeyPem: k.publicKeyPem, commonName: 'r1', role: 'client', assetId: 'r1' }) }, new RecordingHost(), () => undefined);
  await rogue.start();
  // r2's certificate, claiming to be r1
  const r2creds = await loadCredentials(r2.store);
  const liar = new ConductorAgent(new MemoryAgentStore(), { ...r2creds!, assetId: 'r1' }, new RecordingHost(), () => undefined);
  await liar.start();
  await waitFor('both refusals alarmed', async () => {
    const ids = (await t.api<Array<{ id: string }>>('GET', '/api/v1/alarms')).map((a) => a.id);
    return ids.includes('channel:r1/unknown-certificate') && ids.includes('channel:r2/asset-mismatch');
  }, 5000);
  await rogue.stop();
  await liar.stop();
  const log = await t.api<Array<{ action: string; result: string; detail?: string }>>('GET', '/api/v1/audit');
  assert.ok(log.some((e) => e.action === 'channel' && e.result === 'refused' && /claims asset r1 with the certificate of asset r2/.test(e.detail ?? '')));
  assert.ok(log.some((e) => e.action === 'channel' && e.result === 'refused' && /no client certificate from this authority's CA/.test(e.detail ?? '')));
  assert.equal((await statusOf())['r1'], `synchronized@${(await t.api<{ version: number }>('GET', '/api/v1/status')).version}`, 'the real r1 is unaffected');
});

test('a config pushed by anyone but its conductor is refused (a TLS server the router trusts, without the CA key)', async () => {
  // an impostor holds a server certificate from the authority CA (say, a stolen conductor key) but not the CA key
  const ca = (await t.c.store.once<{ keyPem: string; certPem: string }>('ca', () => { throw new Error('no CA'); }));
  const k = newKeyPair();
  const server = createServer({ key: k.keyPem, cert: issueCertificate(ca, { publicKeyPem: k.publicKeyPem, commonName: 'impostor', role: 'server', ipAddresses: ['127.0.0.1'] }) });
  const wss = new WebSocketServer({ server });
  const answers: unknown[] = [];
  const impostorKey = createCa('impostor').keyPem;
  wss.on('connection', (ws) => {
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString()) as { type: string; version?: number };
      answers.push(m);
      if (m.type !== 'hello') return;
      ws.send(JSON.stringify({ type: 'welcome', router: 'r1', conductors: [] }));
      const text = JSON.stringify({ authority: { name: 'evil' } });
      ws.send(JSON.stringify({ type: 'sync', version: 99, config: text, signature: signVersion(impostorKey, 'r1', 99, text) }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const creds = (await loadCredentials(r1.store))!;
  const host = new RecordingHost();
  const victim = new ConductorAgent(new MemoryAgentStore(), { ...creds, conductors: [`https://127.0.0.1:${(server.address() as AddressInfo).port}`] }, host, () => undefined);
  await victim.start();
  await waitFor('the refusal', () => answers.some((a) => (a as { type: string }).type === 'refused'), 5000);
  const refusal = answers.find((a) => (a as { type: string }).type === 'refused') as { message: string; version: number };
  assert.is(refusal.version, 99);
  assert.match(refusal.message, /not signed by this router's conductor/);
  assert.equal(host.activated, [], 'nothing activated');
  await victim.stop();
  wss.close();
  await new Promise<void>((r) => server.close(() => r()));
});

/**
 * The routes of docs/conductor.md's API table as `METHOD /path?query,...` (path parameters `{}`, queries only where
 * the table gives them): `POST`/`GET /x` is both methods, a bare `/x` after a route is under /api/v1, `[/:n]` an
 * optional parameter.
 */
function conductorDocRoutes(markdown: string): string[] {
  const table = markdown.slice(markdown.indexOf('## API'));
  const out: string[] = [];
  for (const row of table.split('\n').filter((l) => /^\| `(GET|POST|PUT|PATCH|DELETE)/.test(l))) {
    let methods: string[] = [];
    let pending: string[] = [];
    for (const [, item] of row.split(' | ')[0]!.matchAll(/`([^`]+)`/g)) {
      const m = /^(GET|POST|PUT|PATCH|DELETE)(?: (\S+))?$/.exec(item!);
      if (m !== null && m[2] === undefined) {
        pending.push(m[1]!);
        continue;
      }
      if (m !== null) [methods, pending] = [[...pending, m[1]!], []];
      const raw = m !== null ? m[2]! : `/api/v1${item!}`;
      const [path, query] = raw.split('?') as [string, string | undefined];
      const names = query === undefined ? '' : `?${[...query.matchAll(/([A-Za-z]+)=/g)].map((q) => q[1]).join(',')}`;
      const paths = path.includes('[/:') ? [path.replace(/\[\/:\w+\]/, ''), path.replace(/\[\/:\w+\]/, '/{}')] : [path.replace(/:\w+/g, '{}')];
      for (const method of methods) for (const p of paths) if (p !== '/' && p !== '/api/v1/routers/channel') out.push(`${method} ${p}${names}`);
    }
  }
  return out.sort();
}

test('docs/conductor.md lists every route of the OpenAPI document, with the query parameters it gives', async () => {
  assert.equal(conductorDocRoutes('## API\n| `POST`/`GET /api/v1/graphql` | r |\n| `GET /api/v1/a`, `/b?x=&y=` | r |\n| `GET /api/v1/v[/:n]` | r |'), [
    'GET /api/v1/a', 'GET /api/v1/b?x,y', 'GET /api/v1/graphql', 'GET /api/v1/v', 'GET /api/v1/v/{}', 'POST /api/v1/graphql',
  ]);
  const doc = await t.api<{ paths: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>> }>('GET', '/api/v1/openapi.json');
  const documented = conductorDocRoutes(readFileSync(join(findPackageRoot(), 'docs', 'conductor.md'), 'utf8'));
  const routes = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path.replace(/\{\w+\}/g, '{}')}`));
  assert.equal(documented.map((r) => r.split('?')[0]).sort(), routes.sort(), 'the same routes');
  for (const r of documented.filter((x) => x.includes('?'))) {
    const [route, query] = r.split('?') as [string, string];
    const [method, path] = route.split(' ') as [string, string];
    const op = Object.entries(doc.paths).find(([p]) => p.replace(/\{\w+\}/g, '{}') === path)![1][method.toLowerCase()]!;
    assert.equal(query.split(','), (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name), `${route}: its query parameters`);
  }
});

test.run();
