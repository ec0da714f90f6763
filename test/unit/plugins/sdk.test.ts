/**
 * The plugin SDK (API 1.2) end to end with the example plugin (examples/plugin-session-guard): records from the
 * data-path part reach the control part in the router's thread and from worker threads (one per refused
 * session, counted equal), counter() on the control context, refuse(reply) answering with a TCP reset or an
 * ICMP unreachable, a changed plugin file loaded anew on the next apply, and the compliance suite on hooks.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMemoryLab, type MemoryLab } from '../../../src/sim/memory-lab.js';
import type { RouterEvent } from '../../../src/control/events.js';
import { parseConfig } from '../../../src/model/validate.js';
import { Store } from '../../../src/store/store.js';
import { checkPluginCompliance } from '../../../src/plugins/compliance.js';
import { definePlugin, type RouterPlugin } from '../../../src/plugins/api.js';
import { isSvrError } from '../../../src/errors.js';
import { createWorkerLab } from '../../support/worker-lab.js';
import { sleep, until } from '../../support/config.js';

const GUARD_DIR = fileURLToPath(new URL('../../../../examples/plugin-session-guard', import.meta.url));
const NAME = 'example.session-guard';
const CONFIG = parseConfig(`
authority:
  name: sdk
  secret: 5f2c8e1a9b3d4f6071829a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f
  tenants: [{ name: lab, members: [198.18.1.0/24] }]
  services:
    - { name: telnet, addresses: [198.18.3.0/24], transport: [{ protocol: tcp, ports: [23] }, { protocol: udp, ports: [23] }], access-policy: [{ source: lab }] }
    - { name: echo, addresses: [198.18.3.0/24], transport: [{ protocol: udp, ports: [7] }], access-policy: [{ source: lab }] }
  routers:
    - name: r1
      interfaces: [{ name: lan0, kind: lan }, { name: wan0, kind: wan, waypoint: 198.18.12.1, neighborhoods: [{ name: n }] }]
      service-routes: [{ name: telnet, service: telnet, peer: r2 }, { name: echo, service: echo, peer: r2 }]
    - name: r2
      interfaces: [{ name: lan0, kind: lan }, { name: wan0, kind: wan, waypoint: 198.18.12.2, neighborhoods: [{ name: n }] }]
      service-routes: [{ name: telnet, service: telnet, next-hop: { interface: lan0 } }, { name: echo, service: echo, next-hop: { interface: lan0 } }]
`, 'sdk.yaml');
const CLIENT = '198.18.1.10';
const SERVER = '198.18.3.20';

const guard = (dir: string, opts: unknown) => [{ use: dir, with: opts, baseDir: dir, at: 'authority.plugins[0]' }];

async function withStore<T>(fn: (store: Store) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'sf-sdk-'));
  const store = await Store.open(dir);
  try {
    return await fn(store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('in the router\'s thread: a TCP reset per refused session, one record per refusal stored by the control part, counter() counted', async () => {
  await withStore(async (store) => {
    const lab = createMemoryLab({ config: CONFIG, clients: [CLIENT], servers: [SERVER], router: { store } });
    const events: RouterEvent[] = [];
    lab.r1.events$.subscribe((e) => events.push(e));
    try {
      assert.equal(await lab.r1.applyPlugins(guard(GUARD_DIR, { ports: [23], reply: 'reset' })), []);
      const n = 5;
      for (let i = 0; i < n; i++) {
        const refused = await lab.clients[0]!.tcpConnect(SERVER, 23).then(() => false, (e: unknown) => isSvrError(e, 'SVR_ERR_SIM_TCP_RESET'));
        assert.ok(refused, 'the connect is answered with a reset at once');
      }
      assert.ok(await until(() => lab.r1.counters()[`plugin.${NAME}.records-stored`] === n), `stored ${lab.r1.counters()[`plugin.${NAME}.records-stored`]}`);
      const c = lab.r1.counters();
      assert.equal([c[`plugin.${NAME}.refused`], c['drop-refused-by-plugin'], c['tcp-resets-sent']], [n, n, n]);
      const records = await store.pluginEntries(NAME);
      assert.is(records.length, n, 'one record per refused session');
      assert.match(JSON.stringify(records[0]!.value), /"src":"198\.18\.1\.10:\d+","dst":"198\.18\.3\.20:23","protocol":"tcp"/);
      assert.is(events.filter((e) => e.type === 'session.denied' && e.reason === 'refused-by-plugin').length, n);
      const view = lab.r1.plugins().find((p) => p.name === NAME)!;
      assert.equal([view.counters['refused'], view.counters['records-stored']], [n, n], 'svr show plugins shows both parts\' counters');
    } finally {
      await lab.close();
    }
  });
});

test('refuse(\'unreachable\'): an ICMP destination unreachable (administratively prohibited) quoting the refused packet', async () => {
  const lab: MemoryLab = createMemoryLab({ config: CONFIG, clients: [CLIENT], servers: [SERVER] });
  const icmp: Uint8Array[] = [];
  lab.clientLan.observe((pkt, from) => { if (from !== CLIENT && pkt[9] === 1) icmp.push(pkt.slice()); });
  try {
    await lab.r1.applyPlugins(guard(GUARD_DIR, { ports: [23], reply: 'unreachable' }));
    lab.clients[0]!.udpSend(40023, SERVER, 23, Buffer.from('hello'));
    assert.ok(await until(() => icmp.length === 1));
    const p = icmp[0]!;
    assert.equal([p[20], p[21]], [3, 13], 'type 3 code 13');
    assert.equal([...p.subarray(12, 16)].join('.'), SERVER, 'from the refused destination');
    assert.equal([...p.subarray(16, 20)].join('.'), CLIENT, 'to the client');
    assert.equal([...p.subarray(28 + 16, 28 + 20)].join('.'), SERVER, 'quotes the refused packet\'s header');
    assert.is(p.length, 20 + 8 + 20 + 8, 'IP header + ICMP header + the quoted IP header + 8 bytes');
    assert.is(lab.r1.counters()['icmp-unreachables-sent'], 1);
  } finally {
    await lab.close();
  }
});

test('with two data-path worker threads every refused session has its record (counted equal)', async () => {
  await withStore(async (store) => {
    const lab = await createWorkerLab(CONFIG, 2, { store });
    try {
      const failures = await lab.r1.applyPlugins(guard(GUARD_DIR, { ports: [23], reply: 'drop' }));
      assert.equal(failures, []);
      const n = 40;
      for (let i = 0; i < n; i++) lab.client.udpSend(41000 + i, SERVER, 23, Buffer.from(`knock ${i}`));
      assert.ok(await until(() => lab.r1.counters()[`plugin.${NAME}.refused`] === n, 5000), `refused ${lab.r1.counters()[`plugin.${NAME}.refused`]}`);
      assert.ok(await until(() => lab.r1.counters()[`plugin.${NAME}.records-stored`] === n, 5000), `stored ${lab.r1.counters()[`plugin.${NAME}.records-stored`]}`);
      assert.is((await store.pluginEntries(NAME, { prefix: 'refused/' })).length, n);
      assert.is(lab.r1.counters()[`plugin.${NAME}.records-lost`] ?? 0, 0);
      const perWorker = new Set((await store.pluginEntries(NAME)).map((e) => (e.value as { src: string }).src));
      assert.is(perWorker.size, n, 'every source port once');
    } finally {
      await lab.close();
    }
  });
});

/** A copy of the example plugin whose version and default reply a test can change. */
function pluginCopy(dir: string, version: string): string {
  const text = readFileSync(join(GUARD_DIR, 'index.js'), 'utf8').replace("version: '1.0.0'", `version: '${version}'`);
  writeFileSync(join(dir, 'index.js'), text);
  copyFileSync(join(GUARD_DIR, 'package.json'), join(dir, 'package.json'));
  return dir;
}

for (const where of ['in-thread', 'worker threads'] as const) {
  test(`a changed plugin file runs its new code on the next apply (svr node reload), ${where}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sf-reload-'));
    const lab = where === 'in-thread'
      ? { r1: createMemoryLab({ config: CONFIG, clients: [], servers: [] }).r1, close: async () => {} }
      : await createWorkerLab(CONFIG, 2);
    try {
      const specs = guard(pluginCopy(dir, '1.0.0'), { ports: [23] });
      await lab.r1.applyPlugins(specs);
      assert.equal(lab.r1.plugins().map((p) => [p.name, p.version]), [[NAME, '1.0.0']]);
      await lab.r1.applyPlugins(specs);
      assert.equal(lab.r1.plugins().map((p) => p.version), ['1.0.0'], 'an unchanged file stays loaded');
      pluginCopy(dir, '2.0.0');
      await lab.r1.applyPlugins(specs);
      assert.equal(lab.r1.plugins().map((p) => [p.name, p.version, p.state]), [[NAME, '2.0.0', 'loaded']], 'the new code is loaded');
    } finally {
      await lab.r1.stop();
      await lab.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('compliance: meaningful for hook-only plugins (the example passes; a hook that throws or keeps what it took fails)', async () => {
  const mod = (await import(new URL('../../../../examples/plugin-session-guard/index.js', import.meta.url).href)) as { default: RouterPlugin<unknown> };
  const report = await checkPluginCompliance(mod.default, { ports: [23] });
  assert.ok(report.ok, report.failures.join('\n'));
  assert.equal(report.checked, [`${NAME}/session-hooks`]);
  const thrower = definePlugin({ name: 'test.thrower', version: '1.0.0', api: '^1', dataplane(ctx) { ctx.onSessionOpen((s) => { if (s.dstPort === 443) throw new Error('boom'); }); } });
  const r1 = await checkPluginCompliance(thrower);
  assert.not.ok(r1.ok);
  assert.match(r1.failures.join('\n'), /test\.thrower\/session-open: threw: boom/);
  const installThrower = definePlugin({ name: 'test.install-thrower', version: '1.0.0', api: '^1.4', dataplane(ctx) { ctx.onSessionInstalled(() => { throw new Error('bang'); }); } });
  const r4 = await checkPluginCompliance(installThrower);
  assert.equal(r4.checked, ['test.install-thrower/session-hooks'], 'an installed hook alone is checked');
  assert.match(r4.failures.join('\n'), /test\.install-thrower\/session-installed: threw: bang/);
  const keep = new Map<number, Uint8Array>();
  const leaky = definePlugin({ name: 'test.leaky', version: '1.0.0', api: '^1', dataplane(ctx) { ctx.onSessionOpen((s) => void keep.set(keep.size, new Uint8Array(64).fill(s.dstPort))); } });
  const r2 = await checkPluginCompliance(leaky);
  assert.match(r2.failures.join('\n'), /test\.leaky\/session-hooks: the heap kept \d+ bytes after 100,000 sessions/);
  const quiet = definePlugin({ name: 'test.control-only', version: '1.0.0', api: '^1', control() {} });
  const r3 = await checkPluginCompliance(quiet);
  assert.equal([r3.ok, r3.checked], [true, []], 'a control-only plugin: nothing to check here, and the report says so');
  await sleep(0);
});

test.run();
