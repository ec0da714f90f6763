import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { Store } from '../../../src/store/store.js';
import { exampleConfig, sleep, until, waitFor } from '../../support/config.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const TAGGER = { use: './examples/plugin-session-tagger', with: { tag: 42 }, baseDir: ROOT, at: 'routers[0].plugins[0]' };

async function echoOnce(lab: ReturnType<typeof createMemoryLab>, port: number): Promise<boolean> {
  let got = false;
  lab.clients[0]!.udpBind(port, () => { got = true; });
  lab.clients[0]!.udpSend(port, '198.18.3.20', 7, Buffer.from('hi'));
  const ok = await until(() => got, 1000);
  lab.clients[0]!.udpUnbind(port);
  return ok;
}

test('the example plugin, loaded from its folder: its stage counts and tags a service\'s sessions, its hook stores a record per session; unloading it by a config change leaves the router forwarding', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svr-store-'));
  const store = await Store.open(dir);
  const lines: string[] = [];
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'], router: { store, log: (e, f) => lines.push(`${e} ${JSON.stringify(f)}`) } });
  try {
    lab.servers[0]!.udpBind(7, (d, f) => lab.servers[0]!.udpSend(7, f.address, f.port, d));
    const failures = await lab.r1.applyPlugins([TAGGER], { services: { echo: ['example.session-tagger/tag'] } });
    assert.equal(failures, []);
    assert.ok(lines.some((l) => l.startsWith('plugin.loaded') && l.includes('example.session-tagger/tag')));
    assert.ok(await echoOnce(lab, 41000));
    assert.ok(await echoOnce(lab, 41001));
    const c = lab.r1.counters();
    assert.is(c['plugin.example.session-tagger.sessions-tagged'], 2, 'two sessions tagged');
    assert.ok(c['plugin.example.session-tagger.packets']! >= 4, 'both directions pass the stage');
    assert.is(lab.r1.host.dataplane.sessions.tagOf(0), 42);
    await sleep(20);
    const records: [string, unknown][] = [];
    for await (const e of store.pluginStore('example.session-tagger').entries()) records.push(e);
    assert.is(records.length, 2, 'one record per session in the sublevel');
    assert.is((records[0]![1] as { service: string }).service, 'echo');
    const view = lab.r1.plugins();
    assert.equal(view.map((p) => [p.name, p.version, p.state, p.stages[0]!.name]), [['example.session-tagger', '1.0.0', 'loaded', 'example.session-tagger/tag']]);
    // unload
    assert.equal(await lab.r1.applyPlugins([], {}), []);
    assert.ok(lines.some((l) => l.startsWith('plugin.unloaded')));
    assert.ok(await echoOnce(lab, 41002), 'still forwarding without the plugin');
    assert.is(lab.r1.counters()['plugin.example.session-tagger.sessions-tagged'], 2, 'the stage is gone');
  } finally {
    await lab.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

function tempPlugin(dir: string, name: string, body: string): string {
  const file = join(dir, `${name}.mjs`);
  writeFileSync(file, body);
  return file;
}

test('a stage that throws is disabled and counted; traffic continues', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svr-plugin-'));
  const file = tempPlugin(dir, 'boom', `
    let batches = 0;
    export default { name: 'test.boom', version: '0.0.1', api: '^1',
      dataplane(ctx) { ctx.addStage({ name: 'explode', run(b, f, rt) {
        if (++batches === 2) throw new Error('kaboom');
        for (let k = 0; k < f.n; k++) rt.next[f.slot[k]] = ctx.PASS;
      } }); } };`);
  const lines: string[] = [];
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'], router: { log: (e, f) => lines.push(`${e} ${JSON.stringify(f)}`) } });
  try {
    lab.servers[0]!.udpBind(7, (d, f) => lab.servers[0]!.udpSend(7, f.address, f.port, d));
    assert.equal(await lab.r1.applyPlugins([{ use: file, baseDir: dir, at: 'plugins[0]' }], { services: { echo: ['test.boom/explode'] } }), []);
    for (let i = 0; i < 5; i++) assert.ok(await echoOnce(lab, 42000 + i), `exchange ${i} works`);
    assert.is(lab.r1.counters()['plugin-stage-errors'], 1);
    assert.ok(lines.some((l) => l.startsWith('plugin.stage-disabled') && l.includes('test.boom') && l.includes('kaboom')));
    assert.equal(lab.r1.plugins()[0]!.stages, [{ name: 'test.boom/explode', disabled: true }]);
  } finally {
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('load failures are reported with the plugin and the field, and isolated: bad options, API range, missing dependency, no module', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svr-plugin-'));
  const future = tempPlugin(dir, 'future', `export default { name: 'test.future', version: '1.0.0', api: '^2' };`);
  const needy = tempPlugin(dir, 'needy', `export default { name: 'test.needy', version: '1.0.0', api: '^1', dependsOn: ['test.absent'] };`);
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  try {
    lab.servers[0]!.udpBind(7, (d, f) => lab.servers[0]!.udpSend(7, f.address, f.port, d));
    const failures = await lab.r1.applyPlugins([
      { ...TAGGER, with: { tag: 'gold' }, at: 'plugins[0]' },
      { use: future, baseDir: dir, at: 'plugins[1]' },
      { use: needy, baseDir: dir, at: 'plugins[2]' },
      { use: './no-such-plugin.mjs', baseDir: dir, at: 'plugins[3]' },
      { ...TAGGER, at: 'plugins[4]' },
    ], { services: { echo: ['example.session-tagger/tag'] } });
    assert.is(failures.length, 4);
    assert.match(failures[0]!.message, /plugins\[0\]\.with\.tag: expected a whole number/);
    assert.match(failures[1]!.message, /test\.future supports plugin API \^2/);
    assert.match(failures[2]!.message, /depends on test\.absent/);
    assert.match(failures[3]!.message, /plugins\[3\]: cannot import/);
    assert.ok(await echoOnce(lab, 43000), 'the router forwards, with the good plugin');
    assert.is(lab.r1.counters()['plugin.example.session-tagger.sessions-tagged'], 1);
  } finally {
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('dynamic chaining: a classifier stage adds another plugin\'s stage to a live session', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svr-plugin-'));
  const file = tempPlugin(dir, 'dyn', `
    export default { name: 'test.dyn', version: '1.0.0', api: '^1',
      dataplane(ctx) {
        ctx.addStage({ name: 'classify', counters: ['seen'], run(b, f, rt) {
          for (let k = 0; k < f.n; k++) {
            const s = f.slot[k];
            const pi = b.info[s];
            if (pi.payload < pi.end && b.data[pi.payload] === 0x21) ctx.sessions.addToChain(b.session[s], 'test.dyn/inspect'); // '!' marks it
            rt.next[s] = ctx.PASS;
          }
          rt.count(0, f.n);
        } });
        ctx.addStage({ name: 'inspect', runsAfter: ['test.dyn/classify'], counters: ['inspected'], run(b, f, rt) {
          for (let k = 0; k < f.n; k++) rt.next[f.slot[k]] = ctx.PASS;
          rt.count(0, f.n);
        } });
      } };`);
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  try {
    let got = 0;
    lab.servers[0]!.udpBind(7, () => got++);
    assert.equal(await lab.r1.applyPlugins([{ use: file, baseDir: dir, at: 'plugins[0]' }], { services: { echo: ['test.dyn/classify'] } }), []);
    const send = async (text: string) => {
      lab.clients[0]!.udpSend(44000, '198.18.3.20', 7, Buffer.from(text));
      const want = got + 1;
      await waitFor(`echo ${want}`, () => got === want);
    };
    await send('plain');
    assert.is(lab.r1.counters()['plugin.test.dyn.inspected'] ?? 0, 0);
    await send('!mark');
    assert.is(lab.r1.counters()['plugin.test.dyn.inspected'] ?? 0, 0, 'the change applies from the next packet');
    await send('after');
    await send('again');
    assert.is(lab.r1.counters()['plugin.test.dyn.inspected'], 2, 'later packets of the session are inspected');
  } finally {
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
