/**
 * The node API's OpenAPI document: valid OpenAPI 3.1 by a real validator (@seriousme/openapi-schema-validator,
 * the specification's JSON schemas), every route in it with its role and error replies, and the shared
 * schemas referenced by name; docs/visibility.md's route table is the document's routes with their query parameters.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Validator } from '@seriousme/openapi-schema-validator';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findPackageRoot } from '../../../src/native/addon.js';
import { ADMIN, apiFixture, call, type ApiFixture } from './fixture.js';

let f: ApiFixture;
let doc: any; // the document is read freely

test.before(async () => {
  f = await apiFixture();
  doc = (await call(f.app, 'GET', '/api/v1/openapi.json')).body;
});
test.after(async () => f.close());

test('the document validates as OpenAPI 3.1', async () => {
  const v = new Validator();
  const r = await v.validate(doc);
  assert.ok(r.valid, JSON.stringify(r.errors, null, 2));
  assert.is(v.version, '3.1');
  // the validator does reject: a document without info, and one whose parameter has no `in`
  assert.not.ok((await new Validator().validate({ ...doc, info: undefined })).valid, 'no info');
  const broken = JSON.parse(JSON.stringify(doc));
  delete broken.paths['/api/v1/sessions'].get.parameters[0].in;
  assert.not.ok((await new Validator().validate(broken)).valid, 'a parameter without in');
});

test('every route is described, with its role, and the token-free ones say so', () => {
  const ops = Object.entries(doc.paths as Record<string, Record<string, { description: string; security?: unknown[]; responses: Record<string, unknown> }>>)
    .flatMap(([path, methods]) => Object.entries(methods).map(([m, op]) => ({ route: `${m.toUpperCase()} ${path}`, op })));
  assert.equal(ops.map((o) => o.route).sort(), [
    'GET /api/v1/alarms', 'GET /api/v1/bgp', 'GET /api/v1/config', 'GET /api/v1/events', 'GET /api/v1/explain', 'GET /api/v1/explain/session/{id}', 'GET /api/v1/fib', 'GET /api/v1/health',
    'GET /api/v1/peers', 'GET /api/v1/peers/{name}', 'GET /api/v1/plugins', 'GET /api/v1/rib', 'GET /api/v1/security', 'GET /api/v1/services', 'GET /api/v1/services/{name}', 'GET /api/v1/sessions',
    'GET /api/v1/sessions/history', 'GET /api/v1/sessions/history/{id}', 'GET /api/v1/stats', 'GET /api/v1/tenants',
    'GET /api/v1/tenants/{name}', 'GET /metrics', 'POST /api/v1/config/reload',
  ]);
  for (const { route, op } of ops) {
    const publicRoute = route === 'GET /api/v1/health';
    assert.match(op.description, publicRoute ? /No token needed/ : /bearer token/, route);
    if (publicRoute) assert.equal(op.security, [], route);
    else assert.ok(op.responses['401'] !== undefined, `${route} documents its 401`);
  }
  assert.match(ops.find((o) => o.route === 'POST /api/v1/config/reload')!.op.description, /Needs an admin bearer token/);
  assert.equal(doc.security, [{ bearer: [] }]);
  assert.equal(doc.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer' });
});

test('shared schemas are components referenced by name', () => {
  for (const name of ['Error', 'Session', 'SessionPage', 'Peer', 'Path', 'Service', 'Tenant', 'Plugin', 'Stats', 'Alarm', 'Event', 'EventPage', 'Health', 'Config',
    'SessionRecord', 'RecordTuple', 'HistoryPage', 'Explanation', 'SessionExplanation']) {
    assert.ok(doc.components.schemas[name] !== undefined, `components.schemas.${name}`);
  }
  const sessions = doc.paths['/api/v1/sessions'].get;
  assert.equal(sessions.responses['200'].content['application/json'].schema, { $ref: '#/components/schemas/SessionPage' });
  assert.equal(sessions.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`), ['query:limit', 'query:cursor', 'query:tenant', 'query:service']);
});

test('a route added by a module shows up in the document (the same schemas build both)', async () => {
  const r = await call(f.app, 'GET', '/documentation/json', ADMIN);
  assert.is(r.status, 200);
  assert.equal(Object.keys(r.body.paths).sort(), Object.keys(doc.paths).sort());
});

/**
 * The routes of docs/visibility.md's table as `METHOD /path?query&...`: each first cell's backticked routes
 * (`GET /api/v1/peers`, `/peers/{name}`: a bare path is under /api/v1); the API's description and the UI left out.
 */
function documentedRoutes(markdown: string): string[] {
  const out: string[] = [];
  for (const row of markdown.split('\n').filter((l) => /^\| `(GET|POST) \//.test(l))) {
    const items = [...row.split(' | ')[0]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    const method = items[0]!.split(' ')[0]!;
    for (const item of items) {
      const path = item.startsWith(method) ? item.slice(method.length + 1) : `/api/v1${item}`;
      if (!/openapi\.json|\/documentation|^\/$|^\/api\/v1\/$/.test(path.split('?')[0]!)) out.push(`${method} ${path}`);
    }
  }
  return out.sort();
}

test('docs/visibility.md lists every route of the document with its query parameters, and no other', () => {
  const md = readFileSync(join(findPackageRoot(), 'docs', 'visibility.md'), 'utf8');
  assert.equal(documentedRoutes('| `GET /api/v1/peers`, `/peers/{name}` | r |\n| `GET /api/v1/events?since&limit` | r |\n| `GET /` | none |'), ['GET /api/v1/events?since&limit', 'GET /api/v1/peers', 'GET /api/v1/peers/{name}']);
  const routes = Object.entries(doc.paths as Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>).flatMap(([path, methods]) => Object.entries(methods).map(([m, op]) => {
    const query = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
    return `${m.toUpperCase()} ${path}${query.length === 0 ? '' : `?${query.join('&')}`}`;
  }));
  assert.equal(documentedRoutes(md), routes.sort());
});

test.run();
