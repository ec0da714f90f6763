/**
 * The node's management API over its life (node/management-api.ts) on real sockets: token files read and
 * refused by field path, HTTPS with a certificate made by openssl, tokens swapped in place at a reload, a
 * new listener for a new port (the old one closed), the old API kept when the new port is taken; and
 * `svr show ... --api https://... --ca --token-file` reading it (cli/api-client.ts); the web UI's page at `/`.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { isSvrError } from '../../../src/errors.js';
import type { Management } from '../../../src/model/config.js';
import type { ConfigProblem } from '../../../src/model/problems.js';
import { ManagementApi, prepareManagement } from '../../../src/node/management-api.js';
import { requires } from '../../support/prerequisites.js';
import { WEB_UI_CSP, webUiDir } from '../../../src/conductor/api/web-ui.js';
import { apiFixture, type ApiFixture } from './fixture.js';

const test = requires(import.meta.url);
const SVR = fileURLToPath(new URL('../../../../bin/svr.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'svr-mgmt-'));
const AT = 'authority.routers[0].management';
let f: ApiFixture;
let api: ManagementApi;
const logged: string[] = [];

const run = (cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => new Promise((resolve) => {
  execFile(cmd, args, { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => resolve({ code: err === null ? 0 : Number((err as { code?: number }).code ?? 1), stdout, stderr }));
});

const block = (o: Partial<Management> = {}): Management => ({ address: '127.0.0.1', port: 0, tokens: [], metricsAuth: 'token', sessionCapacity: 1000, ...o });

const get = async (url: string, token?: string): Promise<{ status: number; body: string }> => {
  const r = await fetch(url, { headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });
  return { status: r.status, body: await r.text() };
};
const base = (): string => `http://127.0.0.1:${api.address!.port}`;

test.before(async () => {
  f = await apiFixture();
  api = new ManagementApi(f.context, (e, fields) => logged.push(`${e} ${JSON.stringify(fields)}`));
  writeFileSync(join(dir, 'read.token'), 'read-token-from-a-file-0001\n');
  writeFileSync(join(dir, 'short.token'), 'short\n');
  const ssl = await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'api.key'), '-out', join(dir, 'api.crt'),
    '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
  assert.is(ssl.code, 0, ssl.stderr);
});
test.after(async () => {
  await api.close();
  await f.close();
});

test('files are read relative to the config folder; unreadable or unusable ones refuse the block by field path', async () => {
  const ok = prepareManagement(block({ tokens: [{ name: 'prom', role: 'read-only', tokenFile: 'read.token' }, { name: 'ops', role: 'admin', token: 'inline-admin-token-0001' }] }), AT, dir);
  assert.equal(ok!.tokens, [{ name: 'prom', role: 'read-only', value: 'read-token-from-a-file-0001' }, { name: 'ops', role: 'admin', value: 'inline-admin-token-0001' }]);
  assert.is(prepareManagement(undefined, AT, dir), undefined);
  try {
    prepareManagement(block({ tokens: [{ name: 'a', role: 'admin', tokenFile: 'missing.token' }, { name: 'b', role: 'admin', tokenFile: 'short.token' }], tls: { certificate: 'api.crt', key: 'nokey.pem' } }), AT, dir);
    assert.unreachable('refused');
  } catch (e) {
    assert.ok(isSvrError(e, 'SVR_ERR_CONFIG_INVALID'), String(e));
    const errors = (e.data as { problems: ConfigProblem[] }).problems; // as every config refusal's (REST: data.problems)
    assert.equal(errors.map((x) => x.path), [`${AT}.tokens[0].token-file`, `${AT}.tokens[1].token-file`, `${AT}.tls.key`]);
    assert.match(errors[0]!.message, /cannot read missing\.token: ENOENT/);
    assert.match(errors[1]!.message, /at least 16 characters/);
  }
});

test('plain HTTP: listens, a token works; new tokens swap in place (same listener); a new port moves it', async () => {
  await api.apply(prepareManagement(block({ tokens: [{ name: 'prom', role: 'read-only', tokenFile: 'read.token' }] }), AT, dir));
  const first = api.address!.port;
  assert.is((await get(`${base()}/api/v1/health`)).status, 200);
  assert.is((await get(`${base()}/api/v1/peers`, 'read-token-from-a-file-0001')).status, 200);
  await api.apply(prepareManagement(block({ port: first, tokens: [{ name: 'other', role: 'read-only', token: 'another-token-00000001' }] }), AT, dir));
  assert.is(api.address!.port, first, 'the same listener');
  assert.is((await get(`${base()}/api/v1/peers`, 'read-token-from-a-file-0001')).status, 401, 'the old token is gone');
  assert.is((await get(`${base()}/api/v1/peers`, 'another-token-00000001')).status, 200);
  await api.apply(prepareManagement(block({ tokens: [{ name: 'other', role: 'read-only', token: 'another-token-00000001' }] }), AT, dir));
  assert.not.equal(api.address!.port, first, 'a new port');
  const closed = await fetch(`http://127.0.0.1:${first}/api/v1/health`).then(() => false, () => true);
  assert.ok(closed, 'the old listener is closed');
  assert.ok(logged.some((l) => l.startsWith('api.tokens')), logged.join('\n'));
});

test('the web UI\'s page without a token (its own strict CSP), as the conductor serves it; the API still needs one', async () => {
  const page = await fetch(`${base()}/`);
  const body = await page.text();
  if (existsSync(join(webUiDir(), 'index.html'))) {
    assert.is(page.status, 200, body);
    assert.match(body, '<title>svrouter</title>');
    assert.is(page.headers.get('content-security-policy'), WEB_UI_CSP);
    assert.is((await fetch(`${base()}/app.js`)).status, 200);
  } else {
    assert.is(page.status, 503, 'no built UI in this checkout');
    assert.match(body, 'npm run build');
  }
  assert.is((await get(`${base()}/api/v1/peers`)).status, 401);
});

test('metrics-auth none: /metrics without a token (a new listener), token still needed elsewhere', async () => {
  await api.apply(prepareManagement(block({ metricsAuth: 'none', tokens: [{ name: 'other', role: 'read-only', token: 'another-token-00000001' }] }), AT, dir));
  const m = await get(`${base()}/metrics`);
  assert.is(m.status, 200);
  assert.match(m.body, /^svr_sessions_active 0$/m);
  assert.is((await get(`${base()}/api/v1/stats`)).status, 401);
});

test('a taken port: SVR_ERR_API_START naming the address, the running API stays', async () => {
  const running = api.address!.port;
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const taken = (blocker.address() as { port: number }).port;
  try {
    await api.apply(prepareManagement(block({ port: taken, tokens: [] }), AT, dir));
    assert.unreachable('refused');
  } catch (e) {
    assert.ok(isSvrError(e, 'SVR_ERR_API_START'), String(e));
    assert.match((e as Error).message, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${taken}: .*EADDRINUSE.*change management\\.port`));
  } finally {
    blocker.close();
  }
  assert.is(api.address!.port, running);
  assert.is((await get(`${base()}/metrics`)).status, 200, 'the old API answers, with its old settings');
});

test('HTTPS with the configured certificate; svr show peers|alarms --api https:// --ca --token-file reads it like the socket', async () => {
  await api.apply(prepareManagement(block({ tls: { certificate: 'api.crt', key: 'api.key' }, tokens: [{ name: 'prom', role: 'read-only', tokenFile: 'read.token' }] }), AT, dir));
  const url = `https://127.0.0.1:${api.address!.port}`;
  const peers = await run(process.execPath, [SVR, 'show', 'peers', '--json', '--api', url, '--token-file', join(dir, 'read.token'), '--ca', join(dir, 'api.crt')]);
  assert.is(peers.code, 0, peers.stderr);
  assert.equal(JSON.parse(peers.stdout).map((p: { name: string }) => p.name), f.lab.r1.peers().map((p) => p.name));
  const table = await run(process.execPath, [SVR, 'show', 'alarms', '--api', url, '--token-file', join(dir, 'read.token'), '--ca', join(dir, 'api.crt')]);
  assert.is(table.stdout.trim(), 'no active alarms');
  const untrusted = await run(process.execPath, [SVR, 'show', 'peers', '--api', url, '--token-file', join(dir, 'read.token')]);
  assert.is(untrusted.code, 1);
  assert.match(untrusted.stderr, /SVR_ERR|self.signed|pass --ca/i);
  assert.match(untrusted.stderr, /pass --ca/);
  const noToken = await run(process.execPath, [SVR, 'show', 'stats', '--api', url, '--ca', join(dir, 'api.crt')]);
  assert.is(noToken.code, 1);
  assert.match(noToken.stderr, /HTTP 401: SVR_ERR_API_AUTH: .* \(pass --token or --token-file, or set SVR_API_TOKEN\)/);
  const plain = await run(process.execPath, [SVR, 'show', 'peers', '--api', url.replace('https', 'http'), '--token-file', join(dir, 'read.token')]);
  assert.is(plain.code, 1, 'plain HTTP to an HTTPS listener fails');
});

test.run();
