/**
 * GraphQL on a real conductor (HTTPS, LevelDB) with routers that speak the real channel protocol
 * (ConductorAgent over mutual TLS): the same login and JWT as REST, queries over the same model,
 * mutations through the lifecycle (a read-only user gets 403 and a coded GraphQL error, every write is an
 * audit event with its diff), and subscriptions over WebSocket (graphql-transport-ws) that see a router's
 * state change, its path quality samples and session counts, alarms raised and cleared, and versions.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { request } from 'node:https';
import { WebSocket } from 'ws';
import { stringify } from 'yaml';
import type { AuditEvent } from '../../../src/conductor/store/authority-store.js';
import type { RouterReport } from '../../../src/conductor/channel/protocol.js';
import { baseAuthority } from '../model/helpers.js';
import { RecordingHost, startTestConductor, startTestRouter, type TestConductor, type TestRouter } from '../../support/conductor.js';
import { waitFor } from '../../support/config.js';

const SEED = stringify({ authority: baseAuthority() });
const READER_PASSWORD = 'reader-password-1';

let t: TestConductor;
let r1: TestRouter;
let reader = '';

/** A router host whose reports carry one peer with one measured path and a session count. */
class ReportingHost extends RecordingHost {
  sessions = 3;
  latencyMs = 12.5;
  override report(): Omit<RouterReport, 'version'> {
    return { health: 'ok', uptimeS: 5, sessions: this.sessions, peers: [{ name: 'r2', reachable: true, paths: [{ name: 'wan0->r2/wan0', up: true, latencyMs: this.latencyMs, jitterMs: 0.4, lossPercent: 0, mos: 4.4 }] }], alarms: [] };
  }
}

interface GqlReply<T> {
  status: number;
  body: { data?: T | null; errors?: { message: string; extensions?: { code?: string } }[] } | { code?: string; message?: string };
}

/** POST /api/v1/graphql; `token` '' sends none. */
function gql<T>(query: string, variables: Record<string, unknown> = {}, token = t.admin): Promise<GqlReply<T>> {
  return new Promise((resolve, reject) => {
    const body = Buffer.from(JSON.stringify({ query, variables }));
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (token !== '') headers['authorization'] = `Bearer ${token}`;
    const req = request(`https://127.0.0.1:${t.c.port}/api/v1/graphql`, { method: 'POST', headers, ca: t.ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as GqlReply<T>['body'] }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function data<T>(r: GqlReply<T>): T {
  assert.is(r.status, 200, JSON.stringify(r.body));
  const b = r.body as { data?: T; errors?: unknown[] };
  assert.is(b.errors, undefined, JSON.stringify(b.errors));
  return b.data!;
}

/** A graphql-transport-ws subscription: collects every `next` payload's data. */
interface Sub {
  events: Record<string, unknown>[];
  closed: Promise<{ code: number; reason: string }>;
  ack: Promise<void>;
  close(): void;
}

/** `token` '' sends none. */
function subscribe(query: string, token = t.admin): Sub {
  const ws = new WebSocket(`wss://127.0.0.1:${t.c.port}/api/v1/graphql`, 'graphql-transport-ws', { ca: t.ca });
  const events: Record<string, unknown>[] = [];
  let acked: () => void = () => {};
  const ack = new Promise<void>((r) => (acked = r));
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
  ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: token === '' ? {} : { authorization: `Bearer ${token}` } })));
  ws.on('message', (raw) => {
    const m = JSON.parse(raw.toString()) as { type: string; payload?: { data?: Record<string, unknown> } };
    if (m.type === 'connection_ack') {
      acked();
      ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query } }));
    }
    if (m.type === 'next' && m.payload?.data !== undefined) events.push(m.payload.data);
  });
  return { events, closed, ack, close: () => ws.close() };
}

test.before(async () => {
  t = await startTestConductor(SEED);
  r1 = await startTestRouter(t, 'r1', undefined, new ReportingHost());
  await t.api('POST', '/api/v1/users', { name: 'reader', role: 'read-only', password: READER_PASSWORD });
  reader = (await t.api<{ token: string }>('POST', '/api/v1/login', { user: 'reader', password: READER_PASSWORD }, '')).token;
});

test.after(async () => {
  await r1?.agent.stop();
  await t?.stop();
});

test('the same login as REST: no token is 401, a token reads the fabric (routers, versions, status, me)', async () => {
  const none = await gql('{ routers { name } }', {}, '');
  assert.is(none.status, 401);
  assert.is((none.body as { code: string }).code, 'SVR_ERR_CONDUCTOR_AUTH');
  const bad = await gql('{ routers { name } }', {}, 'not-a-token');
  assert.is(bad.status, 401);
  await waitFor('r1 synchronized', async () => data<{ router: { status: string } | null }>(await gql('{ router(name: "r1") { status } }')).router?.status === 'synchronized', 10_000);
  const d = data<{ status: { role: string; version: number }; routers: { name: string; status: string; version: number }[]; versions: { version: number; author: string }[]; me: { user: string; role: string } }>(
    await gql('{ status { role version } routers { name status version } versions { version author } me { user role } }', {}, reader));
  assert.equal(d.status, { role: 'leader', version: 1 });
  assert.equal(d.routers.find((r) => r.name === 'r1'), { name: 'r1', status: 'synchronized', version: 1 });
  assert.equal(d.versions, [{ version: 1, author: 'conductor' }]);
  assert.equal(d.me, { user: 'reader', role: 'read-only' });
  await waitFor('a report', async () => data<{ peers: { name: string; paths: { latencyMs: number }[] }[] }>(await gql('{ peers(router: "r1") { name paths { latencyMs } } }')).peers.length === 1, 10_000);
});

test('a read-only user cannot write: HTTP 403 with SVR_ERR_CONDUCTOR_FORBIDDEN, nothing changes, nothing is audited', async () => {
  const before = await t.api<AuditEvent[]>('GET', '/api/v1/audit');
  for (const m of ['mutation { commit(message: "x") { version } }', 'mutation { setConfig(path: "services[web].addresses", value: ["10.9.0.0/16"]) { revision } }', 'mutation { rollback(version: 1) { version } }']) {
    const r = await gql(m, {}, reader);
    assert.is(r.status, 403, `${m}: ${JSON.stringify(r.body)}`);
    const b = r.body as { data: null; errors: { message: string; extensions: { code: string } }[] };
    assert.is(b.data, null);
    assert.is(b.errors[0]!.extensions.code, 'SVR_ERR_CONDUCTOR_FORBIDDEN');
    assert.match(b.errors[0]!.message, 'user reader is read-only');
  }
  const after = await t.api<AuditEvent[]>('GET', '/api/v1/audit');
  assert.is(after.length, before.length, 'no write, no audit event');
  assert.is(data<{ status: { version: number } }>(await gql('{ status { version } }')).status.version, 1);
});

test('mutations take the lifecycle path: set, validate, commit (routers activate it); every write is audited with its diff; a bad value is refused with the field path', async () => {
  const versions = subscribe('subscription { versionCommitted { version author message } }');
  await versions.ack;
  const set = data<{ setConfig: { changed: boolean; updatedBy: string } }>(await gql('mutation($v: JSON!) { setConfig(path: "services[web].addresses", value: $v) { changed updatedBy } }', { v: ['10.77.0.0/16'] }));
  assert.equal(set.setConfig, { changed: true, updatedBy: 'admin' });
  const v = data<{ validate: { valid: boolean; routers: string[] } }>(await gql('mutation { validate { valid routers } }'));
  assert.equal(v.validate, { valid: true, routers: ['r1', 'r2'] });
  const c = data<{ commit: { version: number; diff: string; routers: { router: string; status: string }[] } }>(await gql('mutation { commit(message: "web moves to 10.77", basedOn: 1) { version diff routers { router status } } }'));
  assert.is(c.commit.version, 2);
  assert.match(c.commit.diff, '+        - 10.77.0.0/16');
  assert.equal(c.commit.routers.find((x) => x.router === 'r1'), { router: 'r1', status: 'synchronized' });
  await waitFor('r1 activated version 2', () => r1.host.activated.at(-1)?.version === 2, 5000);
  const audit = await t.api<AuditEvent[]>('GET', '/api/v1/audit');
  const setEvent = audit.find((e) => e.action === 'config.candidate.set' && e.target === 'services[web].addresses');
  assert.ok(setEvent?.diff?.includes('+        - 10.77.0.0/16'), `the set is audited with its diff: ${JSON.stringify(setEvent)}`);
  const commitEvent = audit.find((e) => e.action === 'config.commit' && e.version === 2);
  assert.is(commitEvent?.user, 'admin');
  assert.ok(commitEvent?.diff?.includes('10.77.0.0/16'), 'the commit is audited with its diff');
  await waitFor('the versionCommitted subscription', () => versions.events.length === 1, 5000);
  assert.equal(versions.events[0], { versionCommitted: { version: 2, author: 'admin', message: 'web moves to 10.77' } });
  versions.close();
  const bad = await gql('mutation { deleteConfig(path: "services[nope]") { revision } }');
  assert.is(bad.status, 400);
  assert.is((bad.body as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code, 'SVR_ERR_CONDUCTOR_PATH');
});

test('a subscription sees a router\'s state change (disconnected, then synchronized on the head), its path samples, session counts and alarms', async () => {
  const states = subscribe('subscription { routerChanged(router: "r1") { name status connected version } }', reader);
  const samples = subscribe('subscription { pathSamples(router: "r1") { router peer path up latencyMs mos } }', reader);
  const counts = subscribe('subscription { sessionCounts { router sessions } }', reader);
  const alarms = subscribe('subscription { alarmChanged { change alarm { id severity } } }', reader);
  await Promise.all([states.ack, samples.ack, counts.ack, alarms.ack]);
  (r1.host as ReportingHost).latencyMs = 48;
  await waitFor('a path sample with the new latency', () => samples.events.some((e) => (e['pathSamples'] as { latencyMs: number }).latencyMs === 48), 6000);
  assert.equal(samples.events.at(-1), { pathSamples: { router: 'r1', peer: 'r2', path: 'wan0->r2/wan0', up: true, latencyMs: 48, mos: 4.4 } });
  await waitFor('a session count', () => counts.events.some((e) => (e['sessionCounts'] as { router: string; sessions: number }).sessions === 3), 6000);
  await r1.agent.stop();
  await waitFor('r1 disconnected', () => states.events.some((e) => (e['routerChanged'] as { status: string }).status === 'disconnected'), 6000);
  await waitFor('the disconnected alarm raised', () => alarms.events.some((e) => JSON.stringify(e).includes('"r1/disconnected"')), 6000);
  r1 = await startTestRouter(t, 'r1', r1.store, r1.host);
  await waitFor('r1 synchronized again', () => states.events.some((e, i) => i > 0 && JSON.stringify(e['routerChanged']) === JSON.stringify({ name: 'r1', status: 'synchronized', connected: true, version: 2 })), 8000);
  await waitFor('the alarm cleared', () => alarms.events.some((e) => JSON.stringify(e) === JSON.stringify({ alarmChanged: { change: 'cleared', alarm: { id: 'r1/disconnected', severity: 'major' } } })), 6000);
  for (const s of [states, samples, counts, alarms]) s.close();
});

test('a subscription without a valid token is refused', async () => {
  for (const token of ['', 'not-a-token']) {
    const s = subscribe('subscription { auditAppended { seq } }', token);
    const closed = await Promise.race([s.closed, new Promise<undefined>((r) => setTimeout(() => r(undefined), 5000))]);
    assert.ok(closed !== undefined, 'the connection is closed');
    assert.is(s.events.length, 0);
  }
});

test.run();
