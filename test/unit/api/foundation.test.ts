/**
 * The HTTP foundation on its own (src/api/http): an app with a public, a read-only, an admin and a slow
 * route; a custom authenticator (as the conductor's JWTs would plug in); the gate's 503s (too many at once,
 * too slow) with Retry-After; a body over the limit; the app's own error codes mapped to statuses.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Type } from '@sinclair/typebox';
import { ConfigError, SvrError } from '../../../src/errors.js';
import { Gate, createApiApp, type ApiApp } from '../../../src/api/http/app.js';
import { StaticTokens, principalOf, type Authenticator } from '../../../src/api/http/auth.js';
import type { TypeBoxProvider } from '../../../src/api/http/typebox.js';
import { call } from './fixture.js';

let app: ApiApp;
const gate = new Gate(1, 200);
let release: () => void = () => {};

/** Tokens `user:<name>:<role>`: any verify() function plugs in. */
const custom: Authenticator = {
  async verify(token) {
    const m = /^user:([a-z]+):(admin|read-only)$/.exec(token);
    return m === null ? undefined : { name: m[1]!, role: m[2] as 'admin' | 'read-only' };
  },
};

test.before(async () => {
  app = await createApiApp({ title: 'test', version: '1', auth: custom, bodyLimit: 64, statusOf: { SVR_ERR_CONFIG_ROUTER: 409 } });
  const api = app.withTypeProvider<TypeBoxProvider>();
  api.get('/api/v1/who', { schema: { response: { 200: Type.Object({ name: Type.String(), role: Type.String() }) } } }, async (req) => principalOf(req)!);
  api.post('/api/v1/echo', { config: { access: 'admin' }, schema: { body: Type.Object({ n: Type.Integer({ maximum: 9 }) }, { additionalProperties: false }) } }, async (req) => ({ n: req.body.n }));
  api.get('/api/v1/slow', { config: { access: 'public' } }, async () => gate.run('GET /api/v1/slow', () => new Promise<{ ok: boolean }>((r) => { release = () => r({ ok: true }); })));
  api.get('/api/v1/conflict', { config: { access: 'public' } }, async () => { throw new SvrError('SVR_ERR_CONFIG_ROUTER', 'no router r9'); });
  api.get('/api/v1/bug', { config: { access: 'public' } }, async () => { throw new Error('boom'); });
  api.get('/api/v1/refused/:code', { config: { access: 'public' } }, async (req) => {
    const code = (req.params as { code: 'SVR_ERR_IDENTITY_KEY' | 'SVR_ERR_PLUGIN_FAIL_CLOSED' }).code;
    throw new ConfigError(code, 'x.yaml: refused', { source: 'x.yaml', problems: [{ path: 'authority.routers[0]', message: 'refused' }] });
  });
  await app.ready();
});
test.after(async () => app.close());

test('a custom authenticator: its principal reaches the handler; roles are enforced', async () => {
  assert.equal((await call(app, 'GET', '/api/v1/who', 'user:ann:read-only')).body, { name: 'ann', role: 'read-only' });
  assert.is((await call(app, 'GET', '/api/v1/who', 'user:ann')).status, 401);
  assert.is((await call(app, 'POST', '/api/v1/echo', 'user:ann:read-only')).status, 403);
});

test('bodies: validated (400 naming the field), limited in size (413)', async () => {
  const post = (payload: string) => app.inject({ method: 'POST', url: '/api/v1/echo', payload, headers: { 'content-type': 'application/json', authorization: 'Bearer user:bob:admin' } });
  assert.equal(JSON.parse((await post('{"n":3}')).body), { n: 3 });
  const bad = JSON.parse((await post('{"n":30}')).body);
  assert.equal([bad.code, bad.data], ['SVR_ERR_API_REQUEST', { parameter: 'n', in: 'body' }]);
  assert.match(bad.message, /body field "n" must be <= 9/);
  const extra = JSON.parse((await post('{"n":3,"m":1}')).body);
  assert.is(extra.data.parameter, 'm');
  const big = await post(JSON.stringify({ n: 1, pad: 'x'.repeat(100) }));
  assert.is(big.statusCode, 413);
  assert.is(JSON.parse(big.body).code, 'SVR_ERR_API_REQUEST');
});

test('the gate: a second request while one runs is 503 at once; a slow one is 503 after its time; Retry-After', async () => {
  const first = call(app, 'GET', '/api/v1/slow');
  await new Promise((r) => setTimeout(r, 20));
  const second = await call(app, 'GET', '/api/v1/slow');
  assert.is(second.status, 503);
  assert.is(second.body.code, 'SVR_ERR_API_BUSY');
  assert.is(second.headers['retry-after'], '1');
  const late = await first;
  assert.is(late.status, 503, 'no answer within 200 ms');
  assert.match(late.body.message, /no answer within 200 ms/);
  const third = await call(app, 'GET', '/api/v1/slow');
  assert.is(third.status, 503, 'the slot is held until the work itself ends');
  release();
  await new Promise((r) => setTimeout(r, 10));
  const fourth = call(app, 'GET', '/api/v1/slow');
  await new Promise((r) => setTimeout(r, 20));
  release();
  assert.equal((await fourth).body, { ok: true });
});

test('error codes: the app maps its own (409), unknown failures are 500 SVR_ERR_API_INTERNAL, a config refused at a field 422', async () => {
  const c = await call(app, 'GET', '/api/v1/conflict');
  assert.equal([c.status, c.body.code, c.body.message], [409, 'SVR_ERR_CONFIG_ROUTER', 'no router r9']);
  const b = await call(app, 'GET', '/api/v1/bug');
  assert.equal([b.status, b.body.code], [500, 'SVR_ERR_API_INTERNAL']);
  for (const code of ['SVR_ERR_IDENTITY_KEY', 'SVR_ERR_PLUGIN_FAIL_CLOSED']) {
    const r = await call(app, 'GET', `/api/v1/refused/${code}`);
    assert.equal([r.status, r.body.code, r.body.data.problems[0].path], [422, code, 'authority.routers[0]'], 'a config refused at a field, as SVR_ERR_CONFIG_INVALID');
  }
});

test('StaticTokens: exact matches only, replaced as a whole', () => {
  const t = new StaticTokens([{ name: 'a', role: 'admin', value: 'aaaaaaaaaaaaaaaa' }]);
  assert.equal(t.verify('aaaaaaaaaaaaaaaa'), { name: 'a', role: 'admin' });
  assert.is(t.verify('aaaaaaaaaaaaaaa'), undefined);
  assert.is(t.verify('aaaaaaaaaaaaaaaaa'), undefined);
  t.replace([{ name: 'b', role: 'read-only', value: 'bbbbbbbbbbbbbbbb' }]);
  assert.is(t.verify('aaaaaaaaaaaaaaaa'), undefined);
  assert.equal(t.verify('bbbbbbbbbbbbbbbb'), { name: 'b', role: 'read-only' });
});

test.run();
