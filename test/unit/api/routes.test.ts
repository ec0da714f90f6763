/**
 * Every route of the node API, its success and its failure codes: unknown route 404, bad query 400 naming
 * the parameter, no token 401, a token of the wrong role 403, an unknown resource 404, a refused reload 422,
 * a busy data path 503 (forwarding goes on); the last test checks that every reply the OpenAPI document lists
 * for these routes was seen (the history and explain routes: history-explain.test.ts).
 * Over a real router (the in-memory lab's r1 with sessions through it) and its real alarms and metrics.
 */
import { writeFile } from 'node:fs/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { configToDocument } from '../../../src/model/serialize.js';
import { until } from '../../support/config.js';
import { ADMIN, READER, apiFixture, call, repliesNotSeen, type ApiFixture } from './fixture.js';

let f: ApiFixture;

test.before(async () => {
  f = await apiFixture();
  // three UDP sessions through r1 (echo service): client ports 40001-40003
  const [client] = f.lab.clients;
  const [server] = f.lab.servers;
  server!.udpBind(7, (data, from) => server!.udpSend(7, from.address, from.port, data));
  let replies = 0;
  for (const port of [40001, 40002, 40003]) {
    client!.udpBind(port, () => replies++);
    client!.udpSend(port, '198.18.3.20', 7, Buffer.from(`hello ${port}`));
  }
  assert.ok(await until(() => replies === 3), 'three echo replies');
});
test.after(async () => f.close());

/** The route needs a token: none 401 (with WWW-Authenticate), an unknown one 401, a read-only one works. */
const needsToken = async (method: 'GET' | 'POST', url: string): Promise<void> => {
  const none = await call(f.app, method, url);
  assert.is(none.status, 401, `${method} ${url} without a token`);
  assert.is(none.body.code, 'SVR_ERR_API_AUTH');
  assert.match(String(none.headers['www-authenticate']), /^Bearer/);
  const wrong = await call(f.app, method, url, 'not-a-token-of-this-node');
  assert.is(wrong.status, 401, `${method} ${url} with an unknown token`);
  assert.match(wrong.body.message, /not valid/);
};

const badParameter = async (url: string, parameter: string, fragment: RegExp): Promise<void> => {
  const r = await call(f.app, 'GET', url, READER);
  assert.is(r.status, 400, `${url}: ${r.text}`);
  assert.is(r.body.code, 'SVR_ERR_API_REQUEST');
  assert.is(r.body.data.parameter, parameter, url);
  assert.match(r.body.message, new RegExp(`"${parameter}"`));
  assert.match(r.body.message, fragment);
};

test('GET /api/v1/health: 200 without a token', async () => {
  const r = await call(f.app, 'GET', '/api/v1/health');
  assert.is(r.status, 200);
  assert.is(r.body.status, 'ok');
  assert.is(r.body.router, 'r1');
  assert.ok(r.body.uptimeMs >= 0);
});

test('unknown routes and methods: 404 with a coded body, token or not', async () => {
  for (const [method, url, token] of [['GET', '/api/v1/nothing', undefined], ['GET', '/api/v2/peers', READER], ['DELETE', '/api/v1/peers', ADMIN], ['GET', '/', undefined]] as const) {
    const r = await call(f.app, method, url, token);
    assert.is(r.status, 404, `${method} ${url}`);
    assert.is(r.body.code, 'SVR_ERR_API_NOT_FOUND');
    assert.match(r.body.message, /openapi\.json/);
  }
});

test('GET /api/v1/sessions: pages oldest first, cursor, filters; 400 naming the parameter; 401', async () => {
  await needsToken('GET', '/api/v1/sessions');
  const all = await call(f.app, 'GET', '/api/v1/sessions', READER);
  assert.is(all.status, 200);
  assert.is(all.body.items.length, 3);
  assert.is(all.body.next, undefined, 'one page holds them all');
  assert.equal(all.body.items.map((s: { original: { srcPort: number } }) => s.original.srcPort), [40001, 40002, 40003]);
  const s0 = all.body.items[0];
  assert.is(s0.service, 'echo');
  assert.is(s0.tenant, 'engineering');
  assert.is(s0.original.dst, '198.18.3.20');
  assert.ok(s0.waypoint.src === '198.18.12.1', 'waypoint 5-tuple');
  // pages of 2 then 1, following next
  const p1 = await call(f.app, 'GET', '/api/v1/sessions?limit=2', READER);
  assert.is(p1.body.items.length, 2);
  assert.match(p1.body.next, /^[0-9.]+_[0-9]+$/);
  const p2 = await call(f.app, 'GET', `/api/v1/sessions?limit=2&cursor=${p1.body.next}`, READER);
  assert.equal([...p1.body.items, ...p2.body.items].map((s: { id: string }) => s.id), all.body.items.map((s: { id: string }) => s.id));
  assert.is(p2.body.next, undefined);
  assert.is((await call(f.app, 'GET', '/api/v1/sessions?service=echo&tenant=engineering', READER)).body.items.length, 3);
  assert.is((await call(f.app, 'GET', '/api/v1/sessions?service=web', READER)).body.items.length, 0);
  await badParameter('/api/v1/sessions?limit=0', 'limit', />= 1/);
  await badParameter('/api/v1/sessions?limit=1001', 'limit', /<= 1000/);
  await badParameter('/api/v1/sessions?limit=ten', 'limit', /integer/);
  await badParameter('/api/v1/sessions?cursor=yesterday', 'cursor', /pattern/);
  await badParameter('/api/v1/sessions?page=2', 'page', /not known/);
  await badParameter('/api/v1/sessions?tenant=nobody', 'tenant', /no tenant named "nobody" \(tenants: engineering, guest\)/);
  await badParameter('/api/v1/sessions?service=nothing', 'service', /no service named "nothing"/);
});

test('GET /api/v1/peers and /peers/:name: 200, unknown peer 404, 401', async () => {
  await needsToken('GET', '/api/v1/peers');
  const r = await call(f.app, 'GET', '/api/v1/peers', READER);
  assert.is(r.status, 200);
  assert.equal(r.body.map((p: { name: string }) => p.name), ['r2']);
  assert.is(r.body[0].paths[0].name, 'wan0->r2/wan0');
  assert.is(r.body[0].paths[0].up, true);
  const one = await call(f.app, 'GET', '/api/v1/peers/r2', READER);
  assert.is(one.status, 200);
  const timeless = (p: { paths: Record<string, unknown>[] }) => ({ ...p, paths: p.paths.map(({ keyAgeMs: _, ...rest }) => rest) }); // the key ages a little between two calls
  assert.equal(timeless(one.body), timeless(r.body[0]));
  const missing = await call(f.app, 'GET', '/api/v1/peers/r9', READER);
  assert.is(missing.status, 404);
  assert.is(missing.body.code, 'SVR_ERR_API_NOT_FOUND');
  assert.match(missing.body.message, /no peer named "r9"; peers: r2/);
  await needsToken('GET', '/api/v1/peers/r2');
  await badParameter(`/api/v1/peers/${'p'.repeat(256)}`, 'name', /more than 255 characters/);
  // longer than the router takes, or a bad %-escape: a coded 400 too, before the token is looked at
  for (const url of [`/api/v1/peers/${'p'.repeat(5000)}`, '/api/v1/peers/%E0%A4%A']) {
    const r = await call(f.app, 'GET', url);
    assert.is(r.status, 400, `${url.slice(0, 40)}: ${r.text.slice(0, 200)}`);
    assert.is(r.body.code, 'SVR_ERR_API_REQUEST');
    assert.match(r.body.message, /^the request's path (has a path parameter longer than 256 characters|is not a valid URL path)/);
  }
});

test('GET /api/v1/security: the keys of each peer path, as svr show security; 401', async () => {
  await needsToken('GET', '/api/v1/security');
  const r = await call(f.app, 'GET', '/api/v1/security', READER);
  assert.is(r.status, 200);
  assert.equal(r.body.paths.map((p: { path: string; keyExchange: string }) => [p.path, p.keyExchange]), [['wan0->r2/wan0', 'static']]);
  assert.ok(r.body.paths[0].tx.keyId > 0 && r.body.paths[0].rx.length >= 1, JSON.stringify(r.body.paths[0]));
  assert.type(r.body.counters, 'object');
});

test('GET /api/v1/services[/:name]: 200, 404, 401', async () => {
  await needsToken('GET', '/api/v1/services');
  const r = await call(f.app, 'GET', '/api/v1/services', READER);
  assert.is(r.status, 200);
  assert.equal(r.body.map((s: { name: string }) => s.name).sort(), ['echo', 'web']);
  const echo = await call(f.app, 'GET', '/api/v1/services/echo', READER);
  assert.is(echo.body.sessions, 3);
  assert.equal(echo.body.paths, ['wan0->r2/wan0']);
  assert.is((await call(f.app, 'GET', '/api/v1/services/ftp', READER)).status, 404);
  await needsToken('GET', '/api/v1/services/echo');
  await badParameter(`/api/v1/services/${'s'.repeat(256)}`, 'name', /more than 255 characters/);
});

test('GET /api/v1/tenants[/:name]: 200, 404, 401', async () => {
  await needsToken('GET', '/api/v1/tenants');
  const r = await call(f.app, 'GET', '/api/v1/tenants', READER);
  assert.equal(r.body.map((t: { name: string; sessions: number }) => [t.name, t.sessions]), [['engineering', 3], ['guest', 0]]);
  assert.is((await call(f.app, 'GET', '/api/v1/tenants/engineering', READER)).body.sessions, 3);
  assert.is((await call(f.app, 'GET', '/api/v1/tenants/engineering', READER)).body.vrf, 'default');
  assert.is((await call(f.app, 'GET', '/api/v1/tenants/dev', READER)).status, 404);
  await needsToken('GET', '/api/v1/tenants/engineering');
  await badParameter(`/api/v1/tenants/${'t'.repeat(256)}`, 'name', /more than 255 characters/);
});

test('GET /api/v1/stats: counters by name and per interface; 401', async () => {
  await needsToken('GET', '/api/v1/stats');
  const r = await call(f.app, 'GET', '/api/v1/stats', READER);
  assert.is(r.status, 200);
  assert.is(r.body['sessions-active'], 3);
  assert.is(r.body['interface.lan0.rx-packets'], 3, 'three datagrams in from the client');
  assert.ok(r.body['interface.lan0.rx-bytes'] >= 3 * 28);
  assert.is(r.body['interface.lan0.tx-packets'], 3, 'three replies out to the client');
  assert.is(r.body.node.name, 'r1');
});

test('GET /api/v1/plugins: 200, 401', async () => {
  await needsToken('GET', '/api/v1/plugins');
  const r = await call(f.app, 'GET', '/api/v1/plugins', READER);
  assert.is(r.status, 200);
  assert.equal(r.body, []);
});

test('GET /api/v1/rib, /fib: the RIB and the service FIB as svr show rib|fib; /bgp without routing: 404; 401', async () => {
  for (const url of ['/api/v1/rib', '/api/v1/fib', '/api/v1/bgp']) await needsToken('GET', url);
  const rib = await call(f.app, 'GET', '/api/v1/rib', READER);
  assert.is(rib.status, 200, rib.text);
  assert.ok(rib.body.routes.some((r: { protocol: string; selected: boolean }) => r.protocol === 'static' && r.selected), rib.text);
  const fib = await call(f.app, 'GET', '/api/v1/fib', READER);
  assert.is(fib.status, 200, fib.text);
  assert.ok(fib.body.entries.some((e: { service: string; nextHops: string[] }) => e.service === 'echo' && e.nextHops.length > 0), fib.text);
  const one = await call(f.app, 'GET', '/api/v1/rib?vrf=default', READER);
  assert.is(one.status, 200, one.text);
  assert.equal(one.body.vrfs, ['default']);
  assert.ok(one.body.routes.length > 0 && one.body.routes.every((r: { vrf: string }) => r.vrf === 'default'), one.text);
  for (const url of ['/api/v1/rib?vrf=blue', '/api/v1/fib?vrf=blue']) {
    const unknown = await call(f.app, 'GET', url, READER);
    assert.is(unknown.status, 404, unknown.text);
    assert.ok(unknown.body.message.includes('no VRF named "blue"; VRFs: default'), unknown.text);
  }
  await badParameter('/api/v1/rib?vrfs=default', 'vrfs', /not known/);
  await badParameter('/api/v1/fib?table=254', 'table', /not known/);
  const bgp = await call(f.app, 'GET', '/api/v1/bgp', READER);
  assert.is(bgp.status, 404, bgp.text);
  assert.is(bgp.body.code, 'SVR_ERR_API_NOT_FOUND');
});

test('GET /api/v1/alarms and /api/v1/events: a path down raises peer-path-down and peer-unreachable, its return clears them; since/after; 400; 401', async () => {
  await needsToken('GET', '/api/v1/alarms');
  await needsToken('GET', '/api/v1/events');
  const before = Date.now();
  f.lab.r1.setPathUp('wan0->r2/wan0', false);
  f.visibility.alarms.observe();
  const raised = await call(f.app, 'GET', '/api/v1/alarms', READER);
  assert.is(raised.status, 200);
  assert.equal(raised.body.map((a: { id: string; severity: string }) => [a.id, a.severity]), [['peer-path-down:wan0->r2/wan0', 'major'], ['peer-unreachable:r2', 'critical']]);
  assert.match(raised.body[0].message, /peer path wan0->r2\/wan0 is down/);
  f.lab.r1.setPathUp('wan0->r2/wan0', true);
  f.visibility.alarms.observe();
  assert.equal((await call(f.app, 'GET', '/api/v1/alarms', READER)).body, []);
  const since = new Date(before - 1).toISOString();
  const ev = await call(f.app, 'GET', `/api/v1/events?since=${since}`, READER);
  assert.is(ev.status, 200);
  assert.equal(ev.body.items.map((e: { kind: string; alarmId: string }) => `${e.kind} ${e.alarmId}`), [
    'alarm-raised peer-path-down:wan0->r2/wan0', 'alarm-raised peer-unreachable:r2', 'alarm-cleared peer-path-down:wan0->r2/wan0', 'alarm-cleared peer-unreachable:r2',
  ]);
  const page = await call(f.app, 'GET', `/api/v1/events?since=${since}&limit=3`, READER);
  assert.is(page.body.items.length, 3);
  const rest = await call(f.app, 'GET', `/api/v1/events?since=${since}&limit=3&after=${page.body.next}`, READER);
  assert.equal(rest.body.items.map((e: { seq: number }) => e.seq), [ev.body.items[3].seq]);
  assert.is(rest.body.next, undefined);
  const future = new Date(Date.now() + 60_000).toISOString();
  assert.equal((await call(f.app, 'GET', `/api/v1/events?since=${future}`, READER)).body.items, []);
  await badParameter('/api/v1/events?since=yesterday', 'since', /date-time/);
  await badParameter('/api/v1/events?after=-1', 'after', />= 0/);
  await badParameter('/api/v1/events?sinc=2026-01-01T00:00:00Z', 'sinc', /not known/);
});

test('GET /api/v1/config: the running config, secrets redacted; 401', async () => {
  await needsToken('GET', '/api/v1/config');
  const r = await call(f.app, 'GET', '/api/v1/config', READER);
  assert.is(r.status, 200);
  assert.is(r.body.authority.name, 'demo');
  assert.is(r.body.authority.secret, '<redacted>');
  assert.equal(r.body.authority.routers.map((x: { name: string }) => x.name), ['r1', 'r2']);
});

test('POST /api/v1/config/reload: admin only (403 for read-only, 401 without), 200 applied, 422 for a bad file (running config stays), events for both', async () => {
  await needsToken('POST', '/api/v1/config/reload');
  const forbidden = await call(f.app, 'POST', '/api/v1/config/reload', READER);
  assert.is(forbidden.status, 403);
  assert.is(forbidden.body.code, 'SVR_ERR_API_FORBIDDEN');
  assert.match(forbidden.body.message, /needs an admin token; token "prometheus" is read-only/);
  const ok = await call(f.app, 'POST', '/api/v1/config/reload', ADMIN);
  assert.is(ok.status, 200, ok.text);
  assert.equal(ok.body, { applied: true });
  await writeFile(f.configFile, 'authority:\n  name: demo\n  routers: []\n');
  const bad = await call(f.app, 'POST', '/api/v1/config/reload', ADMIN);
  assert.is(bad.status, 422);
  assert.is(bad.body.code, 'SVR_ERR_CONFIG_INVALID');
  assert.ok(bad.body.data.problems.some((e: { path: string }) => e.path === 'authority.routers'), JSON.stringify(bad.body.data));
  assert.is(f.lab.r1.runningConfig.authority.routers.length, 2, 'the running config stays');
  // what only a restart applies (node/restart-fields.ts): 422 with the field's path
  const doc = configToDocument(f.lab.r1.runningConfig) as { authority: { routers: { name: string; interfaces: { mtu?: number }[] }[] } };
  const at = doc.authority.routers.findIndex((r) => r.name === 'r1');
  doc.authority.routers[at]!.interfaces[0]!.mtu = 1300;
  await writeFile(f.configFile, stringify(doc));
  const restart = await call(f.app, 'POST', '/api/v1/config/reload', ADMIN);
  assert.is(restart.status, 422, restart.text);
  assert.equal(restart.body.data.problems.map((e: { path: string }) => e.path), [`authority.routers[${at}].interfaces[0].mtu`]);
  assert.match(restart.body.message, /interfaces\[0\]\.mtu: changed from 1500 to 1300: restart the node/);
  const events = (await call(f.app, 'GET', '/api/v1/events', READER)).body.items.filter((e: { category: string }) => e.category === 'config');
  assert.equal(events.map((e: { severity: string; source: string }) => `${e.severity} ${e.source}`), [`info ${f.configFile}`, `major ${f.configFile}`, `major ${f.configFile}`]);
  assert.match(events[0].message, /^config applied \(generation 2\)$/);
  assert.match(events[1].message, /^config refused, the running config stays: [\s\S]*authority\.routers/);
});

test('GET /metrics: Prometheus text with path, session, interface, drop and alarm series; 401 without a token', async () => {
  await needsToken('GET', '/metrics');
  const r = await call(f.app, 'GET', '/metrics', READER);
  assert.is(r.status, 200);
  assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  const line = (re: RegExp): string => r.text.split('\n').find((l) => re.test(l)) ?? '';
  assert.is(line(/^svr_path_up\{/), 'svr_path_up{peer="r2",path="wan0->r2/wan0"} 1');
  assert.is(line(/^svr_path_bfd_state\{.*state="static"/), 'svr_path_bfd_state{peer="r2",path="wan0->r2/wan0",state="static"} 1');
  assert.is(line(/^svr_sessions_active /), 'svr_sessions_active 3');
  assert.is(line(/^svr_service_sessions_active\{service="echo"/), 'svr_service_sessions_active{service="echo"} 3');
  assert.is(line(/^svr_sessions_created_total\{.*role="ingress"/), 'svr_sessions_created_total{tenant="engineering",service="echo",role="ingress"} 3');
  assert.is(line(/^svr_interface_packets_total\{interface="lan0",direction="rx"/), 'svr_interface_packets_total{interface="lan0",direction="rx"} 3');
  assert.match(line(/^svr_alarm_raised_total\{alarm="peer-path-down"/), /^svr_alarm_raised_total\{alarm="peer-path-down",source="wan0->r2\/wan0"\} [1-9]/);
  assert.match(line(/^svr_worker_busy_seconds_total\{worker="0"\}/), /^svr_worker_busy_seconds_total\{worker="0"\} [0-9.e-]+$/);
  assert.match(r.text, /^svr_node_info\{router="r1",version="0\.0\.0-test"\} 1$/m);
  assert.match(r.text, /^svr_process_cpu_seconds_total /m);
  // bounded labels: no session id anywhere
  for (const s of (await call(f.app, 'GET', '/api/v1/sessions', READER)).body.items) assert.not.ok(r.text.includes(s.id), 'no per-session label');
});

test('GET /api/v1/sessions and /metrics while the data path\'s gate is full: 503 SVR_ERR_API_BUSY with Retry-After at once; forwarding goes on; 200 again after', async () => {
  let release: () => void = () => {};
  const held = new Promise<void>((r) => { release = r; });
  const holders = [f.context.dataPath.run('held 1', () => held), f.context.dataPath.run('held 2', () => held)];
  try {
    for (const url of ['/api/v1/sessions', '/metrics']) {
      const busy = await call(f.app, 'GET', url, READER);
      assert.is(busy.status, 503, `${url}: ${busy.text}`);
      assert.is(busy.body.code, 'SVR_ERR_API_BUSY');
      assert.match(busy.body.message, /such requests are running already; retry in a second/);
      assert.is(busy.headers['retry-after'], '1');
    }
    // the data path forwards meanwhile: a new echo session through r1 is answered
    const [client] = f.lab.clients;
    let answered = false;
    client!.udpBind(40009, () => { answered = true; });
    client!.udpSend(40009, '198.18.3.20', 7, Buffer.from('while busy'));
    assert.ok(await until(() => answered), 'the echo reply while the API was busy');
  } finally {
    release();
    await Promise.all(holders);
  }
  assert.is((await call(f.app, 'GET', '/api/v1/sessions', READER)).status, 200);
  assert.is((await call(f.app, 'GET', '/metrics', READER)).status, 200);
});

test('the OpenAPI document and /documentation are public (the API described, no node data)', async () => {
  const doc = await call(f.app, 'GET', '/api/v1/openapi.json');
  assert.is(doc.status, 200);
  assert.is(doc.body.openapi, '3.1.0');
  const ui = await call(f.app, 'GET', '/documentation/');
  assert.is(ui.status, 200);
  assert.match(ui.text, /Swagger UI/);
  // a browser on a plain-HTTP node must load the UI's assets over HTTP, and needs nothing from outside
  const csp = String(ui.headers['content-security-policy']);
  assert.match(csp, /script-src 'self'/);
  assert.not.match(csp, /upgrade-insecure-requests|https:|validator\.swagger\.io/);
  assert.is((await call(f.app, 'GET', '/documentation/static/swagger-ui-bundle.js')).status, 200);
});

test('every reply the OpenAPI document lists for these routes was seen above (BGP\'s 200 needs FRR: test/e2e/routing.test.ts)', async () => {
  const elsewhere = (route: string): boolean => /^GET \/api\/v1\/(sessions\/history|explain)/.test(route);
  const missing = (await repliesNotSeen([f.app], (route) => !elsewhere(route))).filter((r) => r !== 'GET /api/v1/bgp 200');
  assert.equal(missing, []);
});

test.run();
