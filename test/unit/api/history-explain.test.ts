/**
 * The session history and `svr explain` over REST: GET /api/v1/sessions/history[/{id}] and
 * GET /api/v1/explain[/session/{id}] over a real router (the in-memory lab's r1) whose session records go to
 * a real LevelDB history: a TCP session closed by FIN, denied first packets (no service, access denied),
 * an open UDP session. Success, filters and paging; 400 naming the parameter; 401; 404; and a node without
 * history (503, explain of a flow still answers). The routes are all read-only: a read-only token is
 * enough (no 403 is possible on them; the role rules are tested on POST /api/v1/config/reload).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { until } from '../../support/config.js';
import { ADMIN, READER, apiFixture, call, repliesNotSeen, type ApiFixture } from './fixture.js';

let f: ApiFixture;
let tcpId = '';
/** the node without history of the 503 test */
let withoutHistory: ApiFixture | undefined;

test.before(async () => {
  f = await apiFixture({ clients: ['198.18.1.10', '198.18.9.10'] });
  const [client, guest] = f.lab.clients;
  const [server] = f.lab.servers;
  // a TCP session to web (port 80), closed by FIN both ways
  server!.tcpListen(80, (c) => void c.readAll().then(() => { c.write(Buffer.from('bye')); c.end(); }));
  const conn = await client!.tcpConnect('198.18.3.20', 80);
  conn.write(Buffer.from('hello'));
  conn.end();
  await conn.readAll();
  // an open UDP session (echo), and denied first packets: no service at port 9001, guest has no access to echo
  server!.udpBind(7, (d, from) => server!.udpSend(7, from.address, from.port, d));
  client!.udpSend(41000, '198.18.3.20', 7, Buffer.from('x'));
  client!.udpSend(41001, '198.18.3.20', 9001, Buffer.from('x'));
  guest!.udpSend(41002, '198.18.3.20', 7, Buffer.from('x'));
  const recorded = async (): Promise<number> => (await f.records.sessions.query({ limit: 10 })).records.length;
  assert.ok(await until(async () => (await recorded()) >= 3, 5000), `records in the history: ${await recorded()}`);
  tcpId = (await f.records.sessions.query({ closeReason: 'fin-rst' })).records[0]!.sessionId;
});
test.after(async () => f.close());

const needsToken = async (url: string): Promise<void> => {
  const none = await call(f.app, 'GET', url);
  assert.is(none.status, 401, `${url} without a token`);
  assert.is(none.body.code, 'SVR_ERR_API_AUTH');
  assert.is((await call(f.app, 'GET', url, 'not-a-token-of-this-node')).status, 401, `${url} with an unknown token`);
};

const badParameter = async (url: string, parameter: string, fragment: RegExp): Promise<void> => {
  const r = await call(f.app, 'GET', url, READER);
  assert.is(r.status, 400, `${url}: ${r.text}`);
  assert.is(r.body.code, 'SVR_ERR_API_REQUEST', url);
  assert.is(r.body.data.parameter, parameter, `${url}: ${r.text}`);
  assert.match(r.body.message, new RegExp(`"${parameter}"`), url);
  assert.match(r.body.message, fragment, url);
};

const sessionIds = (body: { items: { sessionId: string }[] }): string[] => body.items.map((r) => r.sessionId);

test('GET /api/v1/sessions/history: the recorded sessions newest first, the filters of svr inspect sessions, paging', async () => {
  await needsToken('/api/v1/sessions/history');
  const all = await call(f.app, 'GET', '/api/v1/sessions/history', READER);
  assert.is(all.status, 200, all.text);
  assert.is(all.body.items.length, 3, all.text);
  assert.is(all.body.next, undefined);
  assert.ok(all.body.scanned >= 3);
  const ends = all.body.items.map((r: { endMs: number }) => r.endMs);
  assert.equal(ends, [...ends].sort((a: number, b: number) => b - a), 'newest first');
  const tcp = all.body.items.find((r: { closeReason?: string }) => r.closeReason === 'fin-rst');
  assert.is(tcp.sessionId, tcpId);
  assert.equal(tcp.forward, { src: '198.18.1.10', dst: '198.18.3.20', srcPort: tcp.forward.srcPort, dstPort: 80, protocol: 6 });
  assert.is(tcp.tenant, 'engineering');
  assert.is(tcp.service, 'web');
  assert.equal(tcp.paths, ['wan0->r2/wan0']);
  assert.ok(tcp.packets[0] >= 3 && tcp.bytes[1] > 0, JSON.stringify(tcp));
  assert.is(tcp.router, 'r1');

  const denied = await call(f.app, 'GET', '/api/v1/sessions/history?denied=true', READER);
  assert.equal(denied.body.items.map((r: { deniedReason: string }) => r.deniedReason).sort(), ['access-denied', 'no-service']);
  const guest = await call(f.app, 'GET', '/api/v1/sessions/history?source=198.18.9.0%2F24', ADMIN);
  assert.equal(guest.body.items.map((r: { deniedReason: string }) => r.deniedReason), ['access-denied'], 'a prefix filter; an admin token reads too');
  assert.equal(sessionIds((await call(f.app, 'GET', '/api/v1/sessions/history?reason=fin-rst&port=80&tenant=engineering&service=web', READER)).body), [tcpId]);
  assert.is((await call(f.app, 'GET', '/api/v1/sessions/history?port=8080', READER)).body.items.length, 0);
  assert.is((await call(f.app, 'GET', '/api/v1/sessions/history?live=true', READER)).body.items.length, 0, 'no interim records yet');
  const future = new Date(Date.now() + 3_600_000).toISOString();
  assert.is((await call(f.app, 'GET', `/api/v1/sessions/history?since=${future}`, READER)).body.items.length, 0);
  assert.is((await call(f.app, 'GET', `/api/v1/sessions/history?until=${future}`, READER)).body.items.length, 3);

  // pages of one, oldest first, following next
  const seen: string[] = [];
  let url = '/api/v1/sessions/history?limit=1&order=oldest';
  for (let i = 0; i < 5; i++) {
    const page = await call(f.app, 'GET', url, READER);
    assert.is(page.status, 200, page.text);
    seen.push(...sessionIds(page.body));
    if (page.body.next === undefined) break;
    url = `/api/v1/sessions/history?limit=1&order=oldest&cursor=${encodeURIComponent(page.body.next)}`;
  }
  assert.equal(seen, [...sessionIds(all.body)].reverse(), 'three pages, oldest first');
});

test('GET /api/v1/sessions/history: 400 naming the parameter', async () => {
  await badParameter('/api/v1/sessions/history?limit=0', 'limit', />= 1/);
  await badParameter('/api/v1/sessions/history?limit=1001', 'limit', /<= 1000/);
  await badParameter('/api/v1/sessions/history?port=70000', 'port', /<= 65535/);
  await badParameter('/api/v1/sessions/history?since=yesterday', 'since', /date-time/);
  await badParameter('/api/v1/sessions/history?reason=bored', 'reason', /./);
  await badParameter('/api/v1/sessions/history?source=not-an-address', 'source', /198\.18\.1\.0\/24/);
  await badParameter(`/api/v1/sessions/history?since=${new Date(Date.now() + 60_000).toISOString()}&until=${new Date().toISOString()}`, 'since', /after/);
  await badParameter('/api/v1/sessions/history?cursor=garbage', 'cursor', /previous page/);
  await badParameter('/api/v1/sessions/history?denied=true&reason=idle', 'reason', /different close reasons/);
  await badParameter('/api/v1/sessions/history?tennant=engineering', 'tennant', /not known/);
  // a cursor of other filters
  const page = await call(f.app, 'GET', '/api/v1/sessions/history?limit=1', READER);
  await badParameter(`/api/v1/sessions/history?limit=1&tenant=engineering&cursor=${encodeURIComponent(page.body.next)}`, 'cursor', /other filters/);
});

test('GET /api/v1/sessions/history/{id}: one record; 404 for a session without one; 400 for a malformed id', async () => {
  await needsToken(`/api/v1/sessions/history/${tcpId}`);
  const r = await call(f.app, 'GET', `/api/v1/sessions/history/${tcpId}`, READER);
  assert.is(r.status, 200, r.text);
  assert.is(r.body.sessionId, tcpId);
  assert.is(r.body.kind, 'end');
  assert.is(r.body.closeReason, 'fin-rst');
  assert.equal(r.body.pathChanges, []);
  const missing = await call(f.app, 'GET', '/api/v1/sessions/history/00000000-0000-4000-8000-000000000000', READER);
  assert.is(missing.status, 404);
  assert.is(missing.body.code, 'SVR_ERR_API_NOT_FOUND');
  assert.match(missing.body.message, /no record of session 00000000-0000-4000-8000-000000000000 in the history of r1/);
  await badParameter('/api/v1/sessions/history/not_a%20uuid', 'id', /pattern/);
});

test('GET /api/v1/explain: allowed, denied and unroutable flows with the reason the data path applies', async () => {
  await needsToken('/api/v1/explain?source=198.18.1.10&destination=198.18.3.20&port=80');
  const ok = await call(f.app, 'GET', '/api/v1/explain?source=198.18.1.10&destination=198.18.3.20&protocol=tcp&port=80', READER);
  assert.is(ok.status, 200, ok.text);
  assert.is(ok.body.verdict, 'forward');
  assert.is(ok.body.tenant, 'engineering');
  assert.is(ok.body.service, 'web');
  assert.is(ok.body.path, 'wan0->r2/wan0');
  assert.ok(ok.body.candidates.some((c: { chosen: boolean }) => c.chosen));
  assert.equal(ok.body.steps.map((s: { step: string }) => s.step).slice(0, 3), ['interface', 'tenant', 'service']);
  const denied = await call(f.app, 'GET', '/api/v1/explain?source=198.18.9.10&destination=198.18.3.20&protocol=udp&port=7&interface=lan0', READER);
  assert.is(denied.body.verdict, 'drop');
  assert.is(denied.body.counter, 'drop-access-denied');
  assert.is(denied.body.tenant, 'guest');
  // the data path counted the guest's packet in that counter (sent in before())
  assert.ok((f.lab.r1.counters()['drop-access-denied'] ?? 0) >= 1);
  const noService = await call(f.app, 'GET', '/api/v1/explain?source=198.18.1.10&destination=198.18.3.20&protocol=udp&port=9001', READER);
  assert.is(noService.body.verdict, 'drop');
  assert.is(noService.body.counter, 'drop-no-service');
});

test('GET /api/v1/explain: 400 naming the parameter', async () => {
  await badParameter('/api/v1/explain?destination=198.18.3.20', 'source', /required/);
  await badParameter('/api/v1/explain?source=198.18.1.10&destination=nowhere', 'destination', /IPv4 or IPv6 address/);
  await badParameter('/api/v1/explain?source=198.18.1.10&destination=2001:db8::1', 'destination', /address family/);
  await badParameter('/api/v1/explain?source=198.18.1.10&destination=198.18.3.20&protocol=sctpx', 'protocol', /tcp, udp/);
  await badParameter('/api/v1/explain?source=198.18.1.10&destination=198.18.3.20&port=65536', 'port', /<= 65535/);
  await badParameter('/api/v1/explain?source=198.18.1.10&destination=198.18.3.20&interface=eth9', 'interface', /no interface "eth9" on r1/);
  await badParameter('/api/v1/explain?source=198.18.1.10&destination=198.18.3.20&interface=wan0', 'interface', /sessions open on lan interfaces/);
});

test('GET /api/v1/explain/session/{id}: the recorded session then and now; 404; 400', async () => {
  await needsToken(`/api/v1/explain/session/${tcpId}`);
  const r = await call(f.app, 'GET', `/api/v1/explain/session/${tcpId}`, READER);
  assert.is(r.status, 200, r.text);
  assert.is(r.body.record.sessionId, tcpId);
  assert.is(r.body.now.verdict, 'forward');
  assert.match(r.body.story.join('\n'), /then: tenant engineering, service web, path wan0->r2\/wan0/);
  assert.match(r.body.story.join('\n'), /now: the same decision/);
  const missing = await call(f.app, 'GET', '/api/v1/explain/session/00000000-0000-4000-8000-000000000000', READER);
  assert.is(missing.status, 404);
  assert.is(missing.body.code, 'SVR_ERR_API_NOT_FOUND');
  await badParameter('/api/v1/explain/session/x!y', 'id', /pattern/);
});

test('a node without session history (telemetry.history.enabled false): 503 naming the setting; explain of a flow still answers', async () => {
  const g = await apiFixture({ history: false });
  withoutHistory = g;
  try {
    for (const url of ['/api/v1/sessions/history', `/api/v1/sessions/history/${tcpId}`, `/api/v1/explain/session/${tcpId}`]) {
      const r = await call(g.app, 'GET', url, READER);
      assert.is(r.status, 503, `${url}: ${r.text}`);
      assert.is(r.body.code, 'SVR_ERR_HISTORY_STORE');
      assert.match(r.body.message, /keeps no session history \(telemetry\.history\.enabled is false\)/);
    }
    assert.is((await call(g.app, 'GET', '/api/v1/explain?source=198.18.1.10&destination=198.18.3.20&port=80', READER)).body.verdict, 'forward');
  } finally {
    await g.close();
  }
});

test('every reply the OpenAPI document lists for the history and explain routes was seen above', async () => {
  const missing = await repliesNotSeen([f.app, withoutHistory!.app], (route) => /^GET \/api\/v1\/(sessions\/history|explain)/.test(route));
  assert.equal(missing, []);
});

test.run();
