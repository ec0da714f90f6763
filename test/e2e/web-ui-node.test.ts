/**
 * The web UI of a single node, without a conductor: `svr lab up --paths 1` (no --conductor), whose routers
 * serve their management API on 0.0.0.0:8443 in their namespaces. r1's API serves the page too; Debian's
 * chromium, headless through playwright-core, runs in r1's namespace (as an operator's browser on its
 * management network would), logs in with the lab's read-only token and sees r1 alone: a one-router
 * fabric with its path to r2, a download in its live sessions and then in its session history, and the
 * path's latency samples.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { chromium, type Browser, type Page } from 'playwright-core';
import { LAB_API_TOKENS } from '../../src/lab/config.js';
import { e2eDir, E2E_PREFIX, exec, show, svr, SVR, LAB_UP_MS } from './support.js';
import { waitFor, waitForValue } from '../support/config.js';
import { requires } from '../support/prerequisites.js';

const PREFIX = E2E_PREFIX;
const NS = { client: `${PREFIX}-client`, r1: `${PREFIX}-r1` };
const BASE = 'http://127.0.0.1:8443';
const PATH = 'r1/r2/wan0->r2/wan0';

const test = requires(import.meta.url);
/** ms between two looks at the page while waiting (each look is a round trip to the browser) */
const POLL_MS = 150;
const dir = e2eDir(test, `${PREFIX}-e2e-web-ui-node`, () => downSync());
const env = { SVR_RUN_DIR: join(dir, 'run') };
const labArgs = ['--prefix', PREFIX, '--dir', dir];

const downSync = (): void => {
  spawnSync(process.execPath, [SVR, 'lab', 'down', ...labArgs], { env: { ...process.env, ...env }, stdio: 'ignore' });
};

let browser: Browser;
let page: Page;

test.before(async () => {
  downSync();
  const r = await svr(['lab', 'up', '--paths', '1', '--link-test-interval', '2', ...labArgs], env, LAB_UP_MS);
  assert.is(r.code, 0, show(r));
  const wrapper = join(dir, 'chromium-in-r1-ns');
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${NS.r1} /usr/bin/chromium "$@"\n`);
  chmodSync(wrapper, 0o755);
  browser = await chromium.launch({
    executablePath: wrapper,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  page.setDefaultTimeout(15_000);
});

test.after(async () => {
  await browser?.close().catch(() => undefined);
  const r = await svr(['lab', 'down', ...labArgs], env);
  if (r.code !== 0) console.error(`svr lab down failed: ${show(r)}`);
  // e2eDir removes the directory when every test passed (kept with the logs otherwise)
});

test('the node serves the page; a wrong token is refused; its read-only token shows r1 alone, its path to r2 up', async () => {
  const res = await page.goto(`${BASE}/`);
  assert.is(res?.status(), 200);
  assert.match(res?.headers()['content-security-policy'] ?? '', "default-src 'none'");
  await page.waitForSelector('input[name=token]');
  assert.match(await page.locator('main.login h1').innerText(), 'svrouter node');
  await page.fill('input[name=token]', 'not-a-token-of-this-node');
  await page.click('button[type=submit]');
  assert.match(await page.locator('[data-testid=login-error]').innerText(), 'This token is not valid here.');
  await page.fill('input[name=token]', readFileSync(join(dir, LAB_API_TOKENS.read), 'utf8').trim());
  await page.click('button[type=submit]');
  await waitFor('r1 with its path to r2 up', async () => (await page.locator(`.graph [data-path="${PATH}"]`).getAttribute('data-state', { timeout: 1000 }).catch(() => null)) === 'good', 30_000, POLL_MS);
  const routers = await page.locator('[data-testid=routers] tr[data-router]').evaluateAll((els) => els.map((e) => e.getAttribute('data-router')));
  assert.equal(routers, ['r1'], 'only this node');
  assert.is(await page.locator('[data-testid=live-feed]').getAttribute('data-state'), 'polling', 'a node has no push feed: the views poll');
});

test('a download shows in the node\'s live sessions with its tenant, service and path, then in its history; the path\'s latency is charted', async () => {
  const download = exec('ip', ['netns', 'exec', NS.client, 'curl', '-s', '-o', '/dev/null', '--limit-rate', '1M', '-w', '%{http_code}', 'http://198.18.3.20/bytes/4000000'], { timeoutMs: 60_000 });
  await page.goto(`${BASE}/#/sessions?service=web`);
  const row = await waitForValue('the download in the live sessions', async () => {
    const text = await page.locator('[data-testid=live-sessions] tbody tr').first().innerText({ timeout: 1000 }).catch(() => '');
    return text.includes('engineering') ? text : undefined;
  }, 15_000, POLL_MS);
  assert.match(row, /r1\s+\S+\s+ingress\s+engineering\s+web/, 'the node names itself');
  assert.match(row, 'r2 wan0->r2/wan0');
  assert.match(row, 'tcp 198.18.1.10:');
  const id = await page.locator('[data-testid=live-sessions] tbody tr').first().getAttribute('data-session');
  const done = await download;
  assert.is(done.stdout, '200', show(done));
  await page.goto(`${BASE}/#/sessions?tab=history&service=web&range=10m`);
  const ended = await waitForValue('the ended download in the node\'s history', async () => (await page.locator(`[data-testid=history-sessions] tr[data-session="${id}"]`).innerText({ timeout: 1000 }).catch(() => '')) || undefined, 30_000, POLL_MS);
  assert.match(ended, /r1\s+\S+\s+ingress\s+engineering\s+web/);
  assert.match(ended, 'fin-rst');
  await page.goto(`${BASE}/#/paths`);
  const latency = await waitForValue('a latency sample of the path', async () => {
    const v = await page.locator(`[data-testid=chart-latencyMs] [data-series="${PATH}"]`).getAttribute('data-value', { timeout: 1000 }).catch(() => null);
    return v === null || v === '' ? undefined : Number(v);
  }, 15_000, POLL_MS);
  // the lab adds no delay, but the link test's answer waits in loaded event loops (22.68 ms at load 20): a sane sample
  assert.ok(latency >= 0 && latency < 1000, `latency ${latency} ms`);
});

test.run();
