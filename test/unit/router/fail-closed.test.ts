/**
 * Fail closed (docs/security.md "Fail closed"): the built-in firewall's stage made to throw drops its
 * traffic (not forwarded, counted, an alarm), also afterwards, until the plugins are loaded again; with
 * `fail-open: true` it is disabled and traffic goes on; its session-open hook made to throw refuses new
 * sessions; a chain naming a missing stage is a fail-closed failure with its field path and its sessions'
 * packets are dropped; a security plugin that does not load is a fail-closed failure.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { PluginStage } from '../../../src/plugins/api.js';
import { sleep, until } from '../../support/config.js';
import { BUILTIN_LAB, builtin, builtinLab, ROOT } from '../builtin/lab.js';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { parseConfig } from '../../../src/model/validate.js';
import { ConfigError } from '../../../src/errors.js';
import { refuseFailClosed } from '../../../src/node/fail-closed.js';

const CHAIN = { services: { echo: ['builtin.firewall/tcp-state'] } };

function recorder() {
  const lines: { event: string; fields: Record<string, string | number | boolean> }[] = [];
  const alarms: { name: string; source: string; active?: boolean; detail?: string }[] = [];
  return {
    lines, alarms,
    router: {
      log: (event: string, fields: Record<string, string | number | boolean>) => void lines.push({ event, fields }),
      observeAlarm: (name: string, source: string, o: { active?: boolean; detail?: string }) => void alarms.push({ name, source, ...o }),
    },
  };
}

/** The loaded stage object of r1 named `full`. */
function stageOf(lab: ReturnType<typeof builtinLab>, full: string): PluginStage {
  return lab.r1.host.dataplane.ctx.chains.stages.find((e) => e.fullName === full)!.stage;
}

/** Sends `count` datagrams to the echo port; waits for `expect` answers (up to 5 s), or 200 ms when none are expected. */
async function echoes(lab: ReturnType<typeof builtinLab>, count: number, port: number, expect = count): Promise<number> {
  let got = 0;
  lab.servers[0]!.udpBind(7, () => got++);
  for (let i = 0; i < count; i++) lab.clients[0]!.udpSend(port, '198.18.3.20', 7, Buffer.from(`m${i}`));
  if (expect > 0) await until(() => got >= expect, 5000);
  else await sleep(200);
  lab.servers[0]!.udpUnbind(7);
  return got;
}

test('the firewall stage made to throw: its traffic is dropped (counted), an alarm, and it stays dropped until the plugins load again', async () => {
  const rec = recorder();
  const lab = builtinLab({ router: rec.router });
  try {
    assert.equal(await lab.r1.applyPlugins([builtin('firewall', {})], CHAIN), []);
    assert.is(await echoes(lab, 5, 40000), 5, 'forwarded through the firewall');
    const stage = stageOf(lab, 'builtin.firewall/tcp-state') as { run: PluginStage['run'] };
    const run = stage.run;
    stage.run = () => {
      throw new Error('tracker state corrupt');
    };
    assert.is(await echoes(lab, 5, 40000, 0), 0, 'nothing forwarded once it threw');
    assert.is(await echoes(lab, 3, 40001, 0), 0, 'nor on a new session of the chain');
    const c = lab.r1.counters();
    assert.is(c['drop-function-failed'], 8, 'every packet counted');
    assert.is(c['plugin-stage-errors'], 1, 'one failure');
    assert.ok(rec.lines.some((l) => l.event === 'plugin.failed-closed' && l.fields['plugin'] === 'builtin.firewall' && String(l.fields['error']).includes('tracker state corrupt')), 'logged');
    assert.equal(rec.alarms.filter((a) => a.name === 'security-function-failed').map((a) => [a.source, a.active]), [['builtin.firewall builtin.firewall/tcp-state', true]]);
    assert.equal(lab.r1.plugins()[0]!.stages, [{ name: 'builtin.firewall/tcp-state', disabled: false }], 'not disabled: failed (closed)');
    stage.run = run;
    assert.equal(await lab.r1.applyPlugins([builtin('firewall', {})], CHAIN), []);
    assert.is(await echoes(lab, 5, 40002), 5, 'loaded again: forwarded');
    assert.equal(rec.alarms.filter((a) => a.name === 'security-function-failed').map((a) => a.active), [true, false], 'alarm cleared');
  } finally {
    await lab.close();
  }
});

test('with fail-open: true the same failure disables the stage and traffic goes on', async () => {
  const rec = recorder();
  const lab = builtinLab({ router: rec.router });
  try {
    assert.equal(await lab.r1.applyPlugins([{ ...builtin('firewall', {}), failOpen: true }], CHAIN), []);
    (stageOf(lab, 'builtin.firewall/tcp-state') as { run: PluginStage['run'] }).run = () => {
      throw new Error('boom');
    };
    assert.is(await echoes(lab, 5, 40010), 5, 'forwarded without the stage');
    assert.is(lab.r1.counters()['drop-function-failed'] ?? 0, 0);
    assert.ok(rec.lines.some((l) => l.event === 'plugin.stage-disabled'));
    assert.equal(lab.r1.plugins()[0]!.stages, [{ name: 'builtin.firewall/tcp-state', disabled: true }]);
  } finally {
    await lab.close();
  }
});

test('the firewall session-open hook made to throw: new sessions are refused (counted), existing ones keep going', async () => {
  const rec = recorder();
  const lab = builtinLab({ router: rec.router });
  try {
    assert.equal(await lab.r1.applyPlugins([builtin('firewall', {})], CHAIN), []);
    let got = 0;
    lab.servers[0]!.udpBind(7, () => got++);
    lab.clients[0]!.udpSend(40020, '198.18.3.20', 7, Buffer.from('a'));
    assert.ok(await until(() => got === 1));
    const hook = lab.r1.host.dataplane.ctx.hooks.open.find((h) => h.plugin === 'builtin.firewall')!;
    hook.fn = () => {
      throw new Error('zone table gone');
    };
    lab.clients[0]!.udpSend(40021, '198.18.3.20', 7, Buffer.from('b'));
    lab.clients[0]!.udpSend(40022, '198.18.3.20', 7, Buffer.from('c'));
    await sleep(50);
    assert.is(got, 1, 'no new session opened');
    lab.clients[0]!.udpSend(40020, '198.18.3.20', 7, Buffer.from('d'));
    assert.ok(await until(() => got === 2), 'the existing session still flows');
    assert.is(lab.r1.counters()['drop-function-failed'], 2);
    assert.ok(rec.alarms.some((a) => a.name === 'security-function-failed' && a.source === 'builtin.firewall session-open'));
  } finally {
    await lab.close();
  }
});

test('a chain naming a missing stage: a fail-closed failure with its field path, and its sessions forward nothing; a security plugin that does not load fails closed', async () => {
  const lab = builtinLab();
  try {
    const failures = await lab.r1.applyPlugins([], { services: { echo: ['builtin.firewall/tcp-state'] } });
    assert.equal(failures.map((f) => [f.at, f.failClosed]), [['authority.services[1].service-chain[0]', true]]);
    assert.match(failures[0]!.message, 'names stage "builtin.firewall/tcp-state", which no loaded plugin provides');
    assert.is(await echoes(lab, 4, 40030, 0), 0, 'the chain is incomplete: nothing forwarded');
    assert.is(lab.r1.counters()['drop-chain-incomplete'], 4);
    let web = 0;
    lab.servers[0]!.udpBind(5001, () => web++);
    lab.clients[0]!.udpSend(40031, '198.18.3.20', 5001, Buffer.from('bulk'));
    assert.ok(await until(() => web === 1), 'a service without that chain flows');
    const bad = await lab.r1.applyPlugins([builtin('firewall', { 'tcp-state': 'sideways' })], {});
    assert.equal(bad.map((f) => f.failClosed), [true], 'a security plugin that failed to load');
    const other = await lab.r1.applyPlugins([builtin('qos', { bogus: 1 })], {});
    assert.equal(other.map((f) => f.failClosed ?? false), [false], 'any other plugin: reported, not fail closed');
  } finally {
    await lab.close();
  }
});

test('a node refuses plugins that fail closed at each field path (data.problems): a refused option of a security plugin, a chain naming a missing stage', async () => {
  const config = parseConfig(BUILTIN_LAB);
  config.authority.routers[0]!.plugins = [{ use: 'svrouter/plugins/firewall', with: { 'tcp-state': 'sideways' } }];
  config.authority.services.find((x) => x.name === 'echo')!.serviceChain = ['builtin.firewall/tcp-state'];
  const lab = createMemoryLab({ config, clients: [], servers: [] });
  try {
    const failures = await lab.r1.loadPlugins({ baseDir: ROOT });
    const option = 'authority.routers[0].plugins[0].with.tcp-state';
    assert.equal(failures.map((f) => [f.path ?? f.at, f.failClosed]), [[option, true], ['authority.services[1].service-chain[0]', true]]);
    try {
      refuseFailClosed(failures, 'r1', 'r1.yaml');
      assert.unreachable('plugins that fail closed passed');
    } catch (e) {
      assert.ok(e instanceof ConfigError && e.code === 'SVR_ERR_PLUGIN_FAIL_CLOSED', String(e));
      assert.equal(e.data.problems.map((p) => p.path), [option, 'authority.services[1].service-chain[0]']);
      assert.ok(e.data.problems.every((p) => !p.message.startsWith(p.path)), 'each message says what, its path says where');
      assert.match(e.message, `${option}: `);
      assert.is(e.data.source, 'r1.yaml');
    }
    refuseFailClosed(failures.map((f) => ({ ...f, failClosed: false })), 'r1', 'r1.yaml'); // fail-open: reported, not refused
  } finally {
    await lab.close();
  }
});

/** The built-in lab with echo's chain set and r2 loading the built-in appid (r1 does not). */
function labWithChain(chain: string[]) {
  const config = parseConfig(BUILTIN_LAB);
  config.authority.services.find((x) => x.name === 'echo')!.serviceChain = chain;
  config.authority.routers.find((r) => r.name === 'r2')!.plugins = [{ use: 'svrouter/plugins/appid', with: {} }];
  return createMemoryLab({ config, clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
}

test('a chain stage of a built-in plugin that only other routers load is theirs: this router forwards; a misspelt one still fails closed', async () => {
  const lab = labWithChain(['builtin.appid/classify']);
  try {
    assert.equal(await lab.r1.loadPlugins(), [], 'builtin.appid is r2\'s: no failure on r1');
    assert.is(await echoes(lab, 4, 40040), 4);
    assert.is(lab.r1.counters()['drop-chain-incomplete'], 0);
  } finally {
    await lab.close();
  }
  const typo = labWithChain(['builtin.apid/classify']);
  try {
    const failures = await typo.r1.loadPlugins();
    assert.equal(failures.map((f) => [f.at, f.failClosed]), [['authority.services[1].service-chain[0]', true]]);
    assert.is(await echoes(typo, 4, 40041, 0), 0);
  } finally {
    await typo.close();
  }
});

test.run();
