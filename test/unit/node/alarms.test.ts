/**
 * The node's alarms over a real router (the in-memory lab's r1): the start-up grace for paths that never
 * came up, peer-path-down and peer-unreachable with their severities, the session table at 90 % / 80 % of
 * `management.session-capacity` (read from the running config), plugin-disabled for a plugin that failed to
 * load, alarms of things that left the config cleared, config events; and their counters in /metrics.
 */
import { tmpdir } from 'node:os';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SvrConfig } from '../../../src/model/config.js';
import { NodeAlarms } from '../../../src/node/alarms.js';
import { startVisibility } from '../../../src/node/visibility.js';
import { createMemoryLab, type MemoryLab } from '../../../src/sim/memory-lab.js';
import { exampleConfig, until } from '../../support/config.js';

const PATH = 'wan0->r2/wan0';
const ids = (a: NodeAlarms): string[] => a.registry.active().map((x) => x.id);

const withCapacity = (config: SvrConfig, sessionCapacity: number): SvrConfig => {
  const c = structuredClone(config);
  c.authority.routers[0]!.management = { address: '127.0.0.1', port: 8443, tokens: [], metricsAuth: 'token', sessionCapacity };
  return c;
};

/** `n` UDP sessions through r1 (echo), from client ports 41000.. */
async function sessions(lab: MemoryLab, n: number, from = 41000): Promise<void> {
  const [client] = lab.clients;
  const [server] = lab.servers;
  if (from === 41000) server!.udpBind(7, (data, peer) => server!.udpSend(7, peer.address, peer.port, data));
  let replies = 0;
  for (let i = 0; i < n; i++) {
    client!.udpBind(from + i, () => replies++);
    client!.udpSend(from + i, '198.18.3.20', 7, Buffer.from('x'));
  }
  assert.ok(await until(() => replies === n), `${n} replies`);
}

test('a path that never came up is not alarmed during the grace, then is; one that was up is alarmed at once', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: [], servers: [] });
  lab.r1.setPathUp(PATH, false); // as if BFD had not come up yet
  const a = new NodeAlarms(lab.r1, { sessionCapacity: () => 100, everyMs: 60_000, graceMs: 200 });
  a.observe();
  assert.equal(ids(a), [], 'starting, not down');
  await new Promise((r) => setTimeout(r, 250));
  a.observe();
  assert.equal(ids(a), [`peer-path-down:${PATH}`, 'peer-unreachable:r2']);
  assert.equal(a.registry.active().map((x) => x.severity), ['major', 'critical']);
  lab.r1.setPathUp(PATH, true);
  a.observe();
  assert.equal(ids(a), []);
  const b = new NodeAlarms(lab.r1, { sessionCapacity: () => 100, everyMs: 60_000, graceMs: 60_000 });
  b.observe();
  lab.r1.setPathUp(PATH, false);
  b.observe();
  assert.equal(ids(b), [`peer-path-down:${PATH}`, 'peer-unreachable:r2'], 'seen up once: alarmed within the grace');
  a.stop();
  b.stop();
  await lab.close();
});

test('a pair\'s standby: its paths down by design raise nothing; raised ones are cleared saying why; forwarding again: alarmed again', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: [], servers: [] });
  const a = new NodeAlarms(lab.r1, { sessionCapacity: () => 100, everyMs: 60_000, graceMs: 0 });
  lab.r1.setPathUp(PATH, false);
  a.observe();
  assert.equal(ids(a), [`peer-path-down:${PATH}`, 'peer-unreachable:r2']);
  a.haStandby(true);
  assert.equal(ids(a), [], 'cleared at once');
  assert.match(a.registry.events().filter((e) => e.kind === 'alarm-cleared').map((e) => e.message).join('\n'), /r2: this node is its pair's standby/);
  a.observe();
  a.onRouterEvent({ type: 'path.down', atMs: 0, path: PATH, peer: 'r2', reason: 'detection-time-expired' });
  assert.equal(ids(a), [], 'nothing raised while standby');
  a.haStandby(false);
  assert.equal(ids(a), [`peer-path-down:${PATH}`, 'peer-unreachable:r2'], 'forwarding with the path down: alarmed');
  a.stop();
  await lab.close();
});

test('a router pair\'s node watches no path of its partner\'s own interface (never up here), and does watch its own', async () => {
  const config = await exampleConfig();
  const wan = config.authority.routers[0]!.interfaces.find((i) => i.kind === 'wan')!;
  wan.node = 'r1b'; // r1's wan0 is r1b's own: its path is never up on r1a
  config.authority.routers[0]!.redundancy = {
    nodes: [{ name: 'r1a', priority: 200, syncAddress: '127.0.0.1' }, { name: 'r1b', priority: 100, syncAddress: '127.0.0.2' }],
    preempt: false, heartbeatInterval: 100, heartbeatMisses: 3, syncPort: 4797, sharedKey: Buffer.alloc(32, 1).toString('base64'), sharedAddresses: [],
  };
  const lab = createMemoryLab({ config, clients: [], servers: [] });
  lab.r1.setPathUp(PATH, false);
  const onR1a = new NodeAlarms(lab.r1, { sessionCapacity: () => 100, everyMs: 60_000, graceMs: 0, haNode: 'r1a' });
  const onR1b = new NodeAlarms(lab.r1, { sessionCapacity: () => 100, everyMs: 60_000, graceMs: 0, haNode: 'r1b' });
  onR1a.observe();
  onR1b.observe();
  assert.equal(ids(onR1a), ['peer-unreachable:r2'], 'r1a: no peer-path-down for r1b\'s path');
  assert.equal(ids(onR1b), [`peer-path-down:${PATH}`, 'peer-unreachable:r2'], 'r1b: its own path is down');
  onR1a.stop();
  onR1b.stop();
  await lab.close();
});

test('session table: raised at >= 90 % of the configured capacity, kept between 80 and 90 %, cleared at <= 80 % (a reload that changes the capacity)', async () => {
  const config = withCapacity(await exampleConfig(), 10);
  const lab = createMemoryLab({ config, clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  const v = startVisibility(lab.r1, { name: 'r1', version: 't', ports: () => [], alarmEveryMs: 60_000, alarmGraceMs: 60_000 });
  await sessions(lab, 8);
  v.alarms.observe();
  assert.equal(ids(v.alarms), [], '80 %');
  await sessions(lab, 1, 42000);
  v.alarms.observe();
  const raised = v.alarms.registry.active();
  assert.equal(raised.map((x) => x.id), ['session-table-full:session table']);
  assert.match(raised[0]!.message, /session table is 90 % full \(alarm at 90 %, clears at 80 %\)/);
  lab.r1.applyConfig(withCapacity(config, 11)); // 9 of 11 = 82 %: between the thresholds, stays
  v.alarms.observe();
  assert.equal(ids(v.alarms), ['session-table-full:session table']);
  lab.r1.applyConfig(withCapacity(config, 12)); // 75 %
  v.alarms.observe();
  assert.equal(ids(v.alarms), []);
  const metrics = await v.metrics.metrics();
  assert.match(metrics, /^svr_alarm_raised_total\{alarm="session-table-full",source="session table"\} 1$/m);
  v.stop();
  await lab.close();
});

test('plugin-disabled while a plugin failed to load; cleared (as no longer configured) when it is gone', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: [], servers: [] });
  const a = new NodeAlarms(lab.r1, { sessionCapacity: () => 100, everyMs: 60_000 });
  const failures = await lab.r1.applyPlugins([{ use: './no-such-plugin.js', baseDir: tmpdir(), at: 'authority.plugins[0]' }]);
  assert.is(failures.length, 1);
  a.observe();
  const [alarm] = a.registry.active();
  assert.is(alarm?.id, 'plugin-disabled:./no-such-plugin.js');
  assert.match(alarm!.message, /plugin \.\/no-such-plugin\.js was disabled: it failed to load/);
  await lab.r1.applyPlugins([]);
  a.observe();
  assert.equal(ids(a), []);
  const events = a.registry.events();
  assert.equal(events.map((e) => `${e.kind} ${e.category} ${e.severity}`), ['alarm-raised plugin major', 'alarm-cleared plugin major']);
  assert.is(events[1]!.message, './no-such-plugin.js is no longer in the config');
  a.stop();
  await lab.close();
});

test("the router's events: config applied and refused are events; a path going down is alarmed at once, not at the next observation", async () => {
  const config = await exampleConfig();
  const lab = createMemoryLab({ config, clients: [], servers: [] });
  const v = startVisibility(lab.r1, { name: 'r1', version: 't', ports: () => [], alarmEveryMs: 60_000, alarmGraceMs: 60_000 });
  v.alarms.observe(); // the path was up: watched
  lab.r1.applyConfig(config);
  const bad = structuredClone(config);
  bad.authority.routers[0]!.serviceRoutes[0]!.peer = 'r9';
  assert.throws(() => lab.r1.applyConfig(bad));
  lab.r1.setPathUp(PATH, false); // path.down and peer.unreachable: observed at once (that path and peer alone)
  assert.equal(ids(v.alarms), [`peer-path-down:${PATH}`, 'peer-unreachable:r2']);
  const config_ = v.alarms.registry.events().filter((e) => e.category === 'config');
  assert.equal(config_.map((e) => `${e.severity} ${e.message.split(':')[0]}`), ['info config applied (generation 2)', 'major config refused, the running config stays']);
  assert.match(config_[1]!.message, /r9/);
  v.stop();
  await lab.close();
});

test("the router's own alarms reach the registry (a worker replaced, a security function failed, a path without keys); the node's own are not doubled; without a management capacity the table alarm uses the router's limit", async () => {
  const config = await exampleConfig();
  config.authority.routers.find((r) => r.name === 'r1')!.sessionCapacity = 20;
  const lab = createMemoryLab({ config, clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  const v = startVisibility(lab.r1, { name: 'r1', version: 'test', ports: () => [], alarmEveryMs: 60_000 });
  try {
    v.alarms.routerAlarm('worker-restarted', 'worker 1', { active: true, detail: 'its thread ended' });
    v.alarms.routerAlarm('security-function-failed', 'builtin.firewall builtin.firewall/tcp-state', { active: true, detail: 'threw' });
    v.alarms.routerAlarm('session-table-full', 'sessions', { active: true, value: 95 }); // the node observes the table itself
    assert.equal(ids(v.alarms), ['worker-restarted:worker 1', 'security-function-failed:builtin.firewall builtin.firewall/tcp-state']);
    assert.equal(v.alarms.registry.active().map((x) => x.severity), ['major', 'critical']);
    v.alarms.routerAlarm('worker-restarted', 'worker 1', { active: false });
    assert.equal(ids(v.alarms), ['security-function-failed:builtin.firewall builtin.firewall/tcp-state']);
    await sessions(lab, 19);
    v.alarms.observe();
    assert.ok(ids(v.alarms).includes('session-table-full:session table'), '19 of the router\'s 20 sessions: 95 %');
  } finally {
    v.stop();
    await lab.close();
  }
});

test('the periodic observation looks again only at paths whose conditions changed (a hub: 2,000 paths a second), at an event\'s path, and at all of them after a reload', async () => {
  const config = await exampleConfig();
  const lab = createMemoryLab({ config, clients: [], servers: [] });
  const a = new NodeAlarms(lab.r1, { sessionCapacity: () => 100, everyMs: 60_000, graceMs: 60_000 });
  try {
    a.observe();
    assert.equal(a.changedPaths, 1, 'the first observation looks at every path');
    a.observe();
    assert.equal(a.changedPaths, 0, 'nothing changed: no path looked at');
    lab.r1.setPathUp(PATH, false);
    a.observe();
    assert.equal([a.changedPaths, ids(a)], [1, [`peer-path-down:${PATH}`, 'peer-unreachable:r2']]);
    lab.r1.setPathUp(PATH, true);
    a.observe();
    assert.equal([a.changedPaths, ids(a)], [1, []]);
    // an event that says more than the router's state (a path.down the periodic view does not show): the next
    // periodic observation looks at that path again and clears what the event raised
    a.onRouterEvent({ type: 'path.down', atMs: 0, path: PATH, peer: 'r2', reason: 'detection-time-expired' });
    assert.equal(ids(a), [`peer-path-down:${PATH}`]);
    a.observe();
    assert.equal([a.changedPaths, ids(a)], [1, []]);
    lab.r1.applyConfig(config); // new tables: every path again
    a.observe();
    assert.equal(a.changedPaths, 1);
  } finally {
    a.stop();
    await lab.close();
  }
});

test.run();
