/**
 * End to end, the plugin SDK as a plugin author tries it: `svr lab up --workers 2 --plugin <copy of
 * examples/plugin-session-guard>='{"ports":[5201]}'`, then TCP connects from the client to the server's
 * port 5201: r1 refuses each (a TCP reset), and the plugin's data-path parts in both workers send one record
 * per refused session to its control part, which stores it: refused == records-stored == connects, and
 * `svr inspect plugin` lists them. Then the plugin file changes and `svr node reload` runs the new code.
 * Needs root and ip/curl/iperf3 (test/support/prerequisites.ts); otherwise its tests count as skipped.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { e2eDir, E2E_PREFIX, inNs, pollUntil, show, svr, SVR, LAB_UP_MS } from './support.js';
import { requires } from '../support/prerequisites.js';

const PREFIX = `${E2E_PREFIX}g`;
const CLIENT_NS = `${PREFIX}-client`;
const SERVER = '198.18.3.20';
const NAME = 'example.session-guard';
const CONNECTS = 30;
const TOOLS = fileURLToPath(new URL('./plugins-tools.js', import.meta.url));
const GUARD = fileURLToPath(new URL('../../../examples/plugin-session-guard', import.meta.url));

const test = requires(import.meta.url);

const dir = e2eDir(test, `${PREFIX}-e2e-plugin-sdk`, () => downSync());
const env = { SVR_RUN_DIR: join(dir, 'run') };
const labArgs = ['--prefix', PREFIX, '--dir', dir];
const r1 = ['--socket', join(dir, 'r1.sock')];
const plugin = join(dir, 'guard');
const downSync = (): void => {
  spawnSync(process.execPath, [SVR, 'lab', 'down', ...labArgs], { env: { ...process.env, ...env }, stdio: 'ignore' });
};

interface PluginJson { name: string; version: string; counters: Record<string, number> }

const guardView = async (): Promise<PluginJson> => {
  const r = await svr(['show', 'plugins', '--json', ...r1], env);
  assert.is(r.code, 0, show(r));
  const p = (JSON.parse(r.stdout) as PluginJson[]).find((x) => x.name === NAME);
  assert.ok(p !== undefined, r.stdout);
  return p!;
};

/** `n` TCP connects from the client to the guarded port; how the client saw them. */
const connects = async (n: number): Promise<{ closed: number; open: number; filtered: number }> => {
  const opts = { source: '198.18.1.10', targets: [{ host: SERVER, tcp: Array<number>(n).fill(5201), udp: [] }], timeoutMs: 3000, concurrency: 3 };
  const r = await inNs(CLIENT_NS, process.execPath, [TOOLS, 'scan', JSON.stringify(opts)], 120_000);
  assert.is(r.code, 0, show(r));
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { closed: number; open: number; filtered: number };
};

test.after(() => {
  downSync();
  // e2eDir removes the directory when every test passed (kept with the logs otherwise)
});

test('svr lab up --workers 2 --plugin: every refused session has its record (counted equal), svr inspect plugin shows them', async () => {
  downSync(); // left by an aborted run (this prefix only)
  mkdirSync(plugin, { recursive: true });
  for (const f of ['index.js', 'package.json']) copyFileSync(join(GUARD, f), join(plugin, f));
  const up = await svr(['lab', 'up', ...labArgs, '--workers', '2', '--plugin', `${plugin}={"ports":[5201]}`], env, LAB_UP_MS);
  assert.is(up.code, 0, show(up));
  assert.match(up.stdout, new RegExp(`plugin ${plugin}`));
  const seen = await connects(CONNECTS);
  assert.equal([seen.closed, seen.open], [CONNECTS, 0], 'every connect is refused with a reset at once');
  const view = await pollUntil('records stored', 10_000, async () => {
    const p = await guardView();
    return p.counters['records-stored'] === p.counters['refused'] && (p.counters['refused'] ?? 0) >= CONNECTS ? p : undefined;
  });
  console.log(`  [plugin-sdk] ${CONNECTS} connects: refused ${view.counters['refused']}, records stored ${view.counters['records-stored']}, lost ${view.counters['records-lost'] ?? 0}`);
  assert.is(view.counters['refused'], CONNECTS, 'one refused session per connect');
  assert.is(view.counters['records-lost'] ?? 0, 0);
  const inspect = await svr(['inspect', 'plugin', NAME, '--json', '--prefix', 'refused/', ...r1], env);
  assert.is(inspect.code, 0, show(inspect));
  const records = JSON.parse(inspect.stdout) as { key: string; value: { src: string; dst: string; protocol: string } }[];
  assert.is(records.length, CONNECTS, 'svr inspect plugin lists one record per refused session');
  assert.ok(records.every((r) => r.value.dst === `${SERVER}:5201` && r.value.protocol === 'tcp' && r.value.src.startsWith('198.18.1.10:')), inspect.stdout.slice(0, 500));
  assert.is(new Set(records.map((r) => r.value.src)).size, CONNECTS, 'each from its own source port');
  const table = await svr(['inspect', 'plugin', NAME, ...r1], env);
  assert.match(table.stdout, /^KEY\s+VALUE/m);
});

test('the plugin file changes and svr node reload runs the new code (in both workers)', async () => {
  const file = join(plugin, 'index.js');
  const text = readFileSync(file, 'utf8');
  const changed = text
    .replace("version: '1.0.0'", "version: '2.0.0'")
    .replace('const record = { at:', "const record = { version: 2, at:");
  assert.ok(changed !== text && changed.includes('version: 2, at:'));
  writeFileSync(file, changed);
  const reload = await svr(['node', 'reload', ...r1], env);
  assert.is(reload.code, 0, show(reload));
  assert.is((await guardView()).version, '2.0.0', 'svr show plugins: the new version');
  const seen = await connects(4);
  assert.is(seen.closed, 4);
  const records = await pollUntil('new records', 10_000, async () => {
    const r = await svr(['inspect', 'plugin', NAME, '--json', '--limit', '1000', ...r1], env);
    const rows = JSON.parse(r.stdout) as { value: { version?: number } }[];
    const v2 = rows.filter((x) => x.value.version === 2);
    return v2.length === 4 ? rows : undefined;
  });
  assert.is(records.length, CONNECTS + 4, 'the old records stay, four new ones from the new code');
  const log = readFileSync(join(dir, 'r1.log'), 'utf8');
  assert.match(log, /plugin\.loaded plugin=example\.session-guard version=2\.0\.0/);
});

test.run();
