/**
 * router.events$: the typed events of sessions (created with their tuples, confirmed, migrated with a
 * reason, denied, removed with a close reason, counters), paths, peers, config and plugins, from two
 * routers over memory links (and r1 over worker threads), as an embedder and the telemetry see them.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryLab, type MemoryLab } from '../../../src/sim/memory-lab.js';
import { ROUTER_EVENT_TYPES, type EventOf, type RouterEvent } from '../../../src/control/events.js';
import { Dataplane } from '../../../src/dataplane/dataplane.js';
import { DENIED_PER_BATCH } from '../../../src/dataplane/denied.js';
import type { DpEvent } from '../../../src/dataplane/events.js';
import { deniedEvents } from '../../../src/control/event-fanout.js';
import { compileRouter } from '../../../src/model/compile.js';
import { parseConfig } from '../../../src/model/validate.js';
import { buildUdp } from '../../../src/packet/build.js';
import { parseAddress } from '../../../src/packet/addr.js';
import { isSvrError } from '../../../src/errors.js';
import { createRouter } from '../../../src/control/router.js';
import { MemoryLink } from '../../../src/io/memory/link.js';
import { MemorySegment } from '../../../src/io/memory/segment.js';
import { exampleConfig, until } from '../../support/config.js';
import { twoPathsConfig } from '../../support/two-paths.js';
import { createWorkerLab } from '../../support/worker-lab.js';

const CLIENT = '198.18.1.10';
const SERVER = '198.18.3.20';

/** Every event a router emits, with helpers to pick them by type. */
function record(r: { events$: { subscribe(fn: (e: RouterEvent) => void): unknown } }) {
  const all: RouterEvent[] = [];
  r.events$.subscribe((e) => all.push(e));
  const of = <T extends RouterEvent['type']>(type: T): EventOf<T>[] => all.filter((e): e is EventOf<T> => e.type === type);
  return { all, of };
}

/** A clock the test moves (both routers share it, as HMAC time slots need). */
function simClock(): { now: () => number; advance(ms: number): void } {
  let t = Date.parse('2025-01-01T00:00:00Z');
  return { now: () => t, advance: (ms) => void (t += ms) };
}

async function echoLab(clock = simClock()): Promise<{ lab: MemoryLab; clock: ReturnType<typeof simClock> }> {
  const lab = createMemoryLab({
    config: await exampleConfig(), clients: [CLIENT, '198.18.9.10'], servers: [SERVER], router: { clock: clock.now, sweepIntervalMs: 0 },
  });
  lab.servers[0]!.udpBind(7, (d, from) => lab.servers[0]!.udpSend(7, from.address, from.port, d));
  return { lab, clock };
}

test('the event list names every type of the union', () => {
  const complete: [Exclude<RouterEvent['type'], (typeof ROUTER_EVENT_TYPES)[number]>] extends [never] ? true : false = true;
  assert.ok(complete);
  assert.is(new Set(ROUTER_EVENT_TYPES).size, ROUTER_EVENT_TYPES.length);
});

test('session.created carries both routers\' tuples, interfaces, path and peer; session.confirmed follows', async () => {
  const { lab, clock } = await echoLab();
  const e1 = record(lab.r1);
  const e2 = record(lab.r2);
  let got = 0;
  lab.clients[0]!.udpBind(41000, () => got++);
  lab.clients[0]!.udpSend(41000, SERVER, 7, Buffer.from('hello'));
  assert.ok(await until(() => got === 1));
  assert.ok(await until(() => e1.of('session.confirmed').length === 1), 'the reply confirmed the handshake');
  const [c1] = e1.of('session.created');
  assert.equal(c1, {
    type: 'session.created', atMs: clock.now(), sessionId: c1!.sessionId, role: 'ingress', tenant: 'engineering', service: 'echo', application: '',
    forward: { src: CLIENT, dst: SERVER, srcPort: 41000, dstPort: 7, protocol: 17 },
    waypoint: { src: '198.18.12.1', dst: '198.18.12.2', srcPort: c1!.waypoint!.srcPort, dstPort: c1!.waypoint!.dstPort, protocol: 17 },
    ingressInterface: { name: 'lan0', index: 0 }, egressInterface: { name: 'wan0', index: 1 }, path: 'wan0->r2/wan0', peer: 'r2',
  });
  assert.is(c1!.waypoint!.srcPort % 2, 0, 'the ingress picks an even local waypoint port');
  const [c2] = e2.of('session.created');
  assert.is(c2!.sessionId, c1!.sessionId, 'one session id on both routers');
  assert.equal([c2!.role, c2!.ingressInterface.name, c2!.egressInterface.name, c2!.path, c2!.peer], ['egress', 'wan0', 'lan0', 'wan0->r1/wan0', 'r1']);
  assert.equal(c2!.waypoint, c1!.waypoint, 'the forward waypoint 5-tuple is the same seen from both ends');
  assert.equal(c2!.forward, c1!.forward, 'the egress restores the client\'s own 5-tuple');
  assert.equal(e1.of('session.confirmed').map((e) => [e.sessionId, e.probes]), [[c1!.sessionId, 0]]);
  await lab.close();
});

test('session.denied: the 5-tuple, reason, tenant and interface of first packets that open nothing', async () => {
  const { lab } = await echoLab();
  const e1 = record(lab.r1);
  lab.clients[0]!.udpSend(41001, '198.18.7.7', 9, Buffer.from('nowhere')); // no service there
  lab.clients[1]!.udpSend(41002, SERVER, 7, Buffer.from('guest')); // 198.18.9.10: tenant guest, no access to echo
  assert.ok(await until(() => e1.of('session.denied').length === 2));
  const [a, b] = e1.of('session.denied');
  assert.equal([a!.reason, a!.tenant, a!.service, a!.forward, a!.ingressInterface], ['no-service', 'engineering', undefined, { src: CLIENT, dst: '198.18.7.7', srcPort: 41001, dstPort: 9, protocol: 17 }, { name: 'lan0', index: 0 }]);
  assert.equal([b!.reason, b!.tenant, b!.forward.src], ['access-denied', 'guest', '198.18.9.10']);
  assert.is(lab.r1.counters()['drop-no-service'], 1);
  assert.is(e1.of('session.created').length, 0);
  await lab.close();
});

test(`session.denied: at most ${DENIED_PER_BATCH} records per batch, the rest counted as suppressed (no allocation per packet)`, async () => {
  const config = await exampleConfig();
  const facts: DpEvent[] = [];
  const dp = new Dataplane({ tables: compileRouter(config, 'r1', 1), ports: [null, null], onEvents: (ev) => facts.push(...ev) });
  const n = DENIED_PER_BATCH + 8;
  const pkts = Array.from({ length: n }, (_, i) => buildUdp({ src: parseAddress(CLIENT)!.bytes, dst: parseAddress('198.18.7.7')!.bytes, srcPort: 2000 + i, dstPort: 9, payload: new Uint8Array(8) }));
  const data = new Uint8Array(pkts.reduce((x, p) => x + p.length, 0));
  const off = new Uint32Array(n), len = new Uint32Array(n);
  let at = 0;
  pkts.forEach((p, i) => { data.set(p, at); off[i] = at; len[i] = p.length; at += p.length; });
  dp.receive(0, data, off, len, n);
  const denied = facts.filter((f): f is Extract<DpEvent, { kind: 'session.denied' }> => f.kind === 'session.denied');
  assert.is(denied.length, 1, 'one fact for the batch');
  assert.equal([denied[0]!.count, denied[0]!.suppressed], [DENIED_PER_BATCH, 8]);
  const events = deniedEvents(dp.tables, denied[0]!);
  assert.equal(events.map((e) => e.forward.srcPort), Array.from({ length: DENIED_PER_BATCH }, (_, i) => 2000 + i));
  assert.equal(events.map((e) => e.suppressed ?? 0).filter((x) => x > 0), [8], 'the suppressed count rides on the last one');
  assert.is(dp.counters.get('drop-no-service'), n, 'every denied packet is counted');
});

test('session.removed: idle, path-lost, config and shutdown, with final figures', async () => {
  const { lab, clock } = await echoLab();
  const e1 = record(lab.r1);
  let got = 0;
  lab.clients[0]!.udpBind(41000, () => got++);
  const send = async (port: number): Promise<void> => {
    const before = got;
    lab.clients[0]!.udpBind(port, () => got++);
    lab.clients[0]!.udpSend(port, SERVER, 7, Buffer.from('x'));
    assert.ok(await until(() => got === before + 1));
  };
  await send(41010);
  clock.advance(31_000); // echo's udp timeout is 30 s
  lab.r1.sweep();
  const idle = e1.of('session.removed')[0]!;
  assert.equal([idle.reason, idle.service, idle.tenant, idle.role, idle.path, idle.packets, idle.atMs], ['idle', 'echo', 'engineering', 'ingress', 'wan0->r2/wan0', [1, 1], clock.now()]);
  assert.is(idle.bytes[0], 29, 'bytes forward: the client\'s 1-byte datagram');
  await send(41011);
  lab.r1.setPathUp('wan0->r2/wan0', false);
  clock.advance(31_000);
  lab.r1.sweep();
  assert.is(e1.of('session.removed')[1]!.reason, 'path-lost', 'it idled out while its path was down');
  lab.r1.setPathUp('wan0->r2/wan0', true);
  await send(41012);
  const config = await exampleConfig();
  config.authority.services = config.authority.services.filter((s) => s.name !== 'echo');
  config.authority.routers.forEach((r) => { r.serviceRoutes = r.serviceRoutes.filter((x) => x.service !== 'echo'); });
  lab.r1.applyConfig(config);
  const byConfig = e1.of('session.removed')[2]!;
  assert.equal([byConfig.reason, byConfig.service, byConfig.tenant, byConfig.path], ['config', 'echo', 'engineering', 'wan0->r2/wan0'], 'its service is gone; the event names it');
  lab.r1.applyConfig(await exampleConfig());
  await send(41013);
  await lab.close();
  const last = e1.of('session.removed').at(-1)!;
  assert.equal([last.reason, last.packets], ['shutdown', [1, 1]], 'stop() ends the remaining sessions');
});

test('session.removed: fin and rst for TCP', async () => {
  const { lab, clock } = await echoLab();
  const e1 = record(lab.r1);
  lab.servers[0]!.tcpListen(80, (conn) => { conn.write(Buffer.from('hi')); conn.end(); });
  const conn = await lab.clients[0]!.tcpConnect(SERVER, 80);
  conn.end();
  await conn.readAll();
  assert.ok(await until(async () => (await lab.r1.sessions())[0]?.state === 'closing'));
  clock.advance(3000);
  lab.r1.sweep();
  assert.equal(e1.of('session.removed').map((e) => e.reason), ['fin']);
  const conn2 = await lab.clients[0]!.tcpConnect(SERVER, 80);
  conn2.destroy(); // a reset
  assert.ok(await until(async () => (await lab.r1.sessions())[0]?.state === 'closing'));
  clock.advance(3000);
  lab.r1.sweep();
  assert.equal(e1.of('session.removed').map((e) => e.reason), ['fin', 'rst']);
  await lab.close();
});

test('session.migrated: path-down at the ingress, peer-moved at the egress; path and peer events', async () => {
  const lab = createMemoryLab({ config: twoPathsConfig('failover'), clients: [CLIENT], servers: [SERVER], paths: 2 });
  const e1 = record(lab.r1);
  const e2 = record(lab.r2);
  let got = 0;
  lab.servers[0]!.udpBind(5000, (d, from) => lab.servers[0]!.udpSend(5000, from.address, from.port, d));
  lab.clients[0]!.udpBind(42000, () => got++);
  lab.clients[0]!.udpSend(42000, SERVER, 5000, Buffer.from('one'));
  assert.ok(await until(() => got === 1));
  lab.r1.setPathUp('wan0->r2/wan0', false);
  lab.clients[0]!.udpSend(42000, SERVER, 5000, Buffer.from('two'));
  assert.ok(await until(() => got === 2));
  const [m1] = e1.of('session.migrated');
  assert.equal([m1!.from, m1!.to, m1!.reason, m1!.service, m1!.waypoint.src], ['wan0->r2/wan0', 'wan1->r2/wan1', 'path-down', 'stream', '198.18.13.1']);
  assert.equal(e2.of('session.migrated').map((e) => [e.from, e.to, e.reason]), [['wan0->r1/wan0', 'wan1->r1/wan1', 'peer-moved']]);
  assert.equal(e1.of('path.down').map((e) => [e.path, e.peer, e.reason]), [['wan0->r2/wan0', 'r2', 'set']]);
  lab.r1.setPathUp('wan1->r2/wan1', false);
  assert.equal(e1.of('peer.unreachable').map((e) => e.peer), ['r2'], 'no path left to r2');
  lab.r1.setPathUp('wan1->r2/wan1', true);
  assert.equal(e1.of('peer.reachable').map((e) => e.peer), ['r2'], 'reachable again');
  assert.equal(e1.of('path.up').map((e) => [e.path, e.reason]), [['wan1->r2/wan1', 'set']]);
  await lab.close();
});

test('static liveness: every path comes up at start (path.up) and its peer with it (peer.reachable)', async () => {
  const wan = new MemoryLink('wan');
  const lan = new MemorySegment('lan');
  const r1 = createRouter(await exampleConfig(), { lan0: lan.gatewayPort(), wan0: wan.a }, { name: 'r1', liveness: 'static' });
  const e1 = record(r1);
  await r1.start();
  assert.equal(e1.all.map((e) => e.type), ['path.up', 'peer.reachable']);
  assert.equal(e1.of('path.up').map((e) => [e.path, e.peer, e.reason]), [['wan0->r2/wan0', 'r2', 'set']]);
  await r1.stop();
  wan.close();
  lan.close();
});

test('BFD: path.up with its reason once BFD is up, then path.quality-changed from a link test', async () => {
  const config = await exampleConfig();
  for (const r of config.authority.routers) for (const i of r.interfaces) for (const n of i.neighborhoods) {
    n.bfd = { desiredTxInterval: 50, requiredMinRxInterval: 50, multiplier: 3, holdDownTime: 1, linkTestInterval: 1, linkTestLength: 3 };
  }
  const lab = createMemoryLab({ config, clients: [], servers: [], router: { liveness: 'bfd', bfd: { slowStartMs: 50, linkTestSpacingMs: 10 } } });
  const e1 = record(lab.r1);
  try {
    assert.ok(await until(() => e1.of('path.quality-changed').length > 0, 4000), 'a link test measured the path');
    assert.equal(e1.of('path.up').map((e) => [e.path, e.peer, e.reason]), [['wan0->r2/wan0', 'r2', 'bfd-up']]);
    assert.equal(e1.of('peer.reachable').map((e) => e.peer), ['r2']);
    const q = e1.of('path.quality-changed')[0]!;
    assert.equal([q.path, q.peer, q.lossPercent], ['wan0->r2/wan0', 'r2', 0]);
    assert.ok(q.latencyMs >= 0 && q.latencyMs < 50 && q.mos > 4, JSON.stringify(q));
  } finally {
    await lab.close();
  }
});

test('config.applied and config.refused (every bad field by path); the running config stays', async () => {
  const { lab } = await echoLab();
  const e1 = record(lab.r1);
  const config = await exampleConfig();
  lab.r1.applyConfig(config);
  const bad = await exampleConfig();
  bad.authority.services[0]!.addresses = ['198.18.300.0/24'];
  assert.throws(() => lab.r1.applyConfig(bad), (e: unknown) => isSvrError(e, 'SVR_ERR_CONFIG_INVALID'));
  assert.equal(e1.of('config.applied').map((e) => [e.generation, e.source]), [[2, '<config object>']]);
  const [refused] = e1.of('config.refused');
  assert.equal([refused!.code, refused!.problems.map((p) => p.path)], ['SVR_ERR_CONFIG_INVALID', ['authority.services[0].addresses[0]']]);
  const dir = mkdtempSync(join(tmpdir(), 'sf-events-'));
  try {
    writeFileSync(join(dir, 'bad.yaml'), 'authority: [');
    await lab.r1.applyConfigFile(join(dir, 'bad.yaml')).then(() => assert.unreachable('a broken file applied'), () => undefined);
    assert.equal(e1.of('config.refused').map((e) => [e.source.endsWith('bad.yaml'), e.code]).at(-1), [true, 'SVR_ERR_CONFIG_PARSE']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.is(lab.r1.runningConfig.authority.services[0]!.addresses[0], '198.18.3.0/24');
  await lab.close();
});

test('plugin.loaded, plugin.failed and plugin.disabled (once, though the stage kept failing)', async () => {
  const { lab } = await echoLab();
  const e1 = record(lab.r1);
  const dir = mkdtempSync(join(tmpdir(), 'sf-plugin-'));
  try {
    writeFileSync(join(dir, 'bad.js'), `export default {
      name: 'test.thrower', version: '1.0.0', api: '^1',
      dataplane(ctx) { ctx.addStage({ name: 'boom', run() { throw new Error('boom'); } }); },
    };`);
    const failures = await lab.r1.applyPlugins([
      { use: './bad.js', baseDir: dir, at: 'authority.plugins[0]' },
      { use: './missing.js', baseDir: dir, at: 'authority.plugins[1]' },
    ], { services: { echo: ['test.thrower/boom'] } });
    assert.is(failures.length, 1);
    assert.equal(e1.of('plugin.loaded').map((e) => [e.plugin, e.version, e.stages]), [['test.thrower', '1.0.0', ['test.thrower/boom']]]);
    assert.equal(e1.of('plugin.failed').map((e) => e.at), ['authority.plugins[1]']);
    let got = 0;
    lab.clients[0]!.udpBind(41020, () => got++);
    for (let i = 0; i < 3; i++) lab.clients[0]!.udpSend(41020, SERVER, 7, Buffer.from('through'));
    assert.ok(await until(() => got === 3), 'packets go on without the disabled stage');
    assert.equal(e1.of('plugin.disabled').map((e) => [e.plugin, e.stage]), [['test.thrower', 'test.thrower/boom']]);
  } finally {
    await lab.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('session.counters: totals of long sessions, about once per interval', async () => {
  const clock = simClock();
  const lab = createMemoryLab({
    config: await exampleConfig(), clients: [CLIENT], servers: [SERVER], router: { clock: clock.now, sweepIntervalMs: 0, sessionCountersMs: 10_000 },
  });
  lab.servers[0]!.udpBind(7, (d, from) => lab.servers[0]!.udpSend(7, from.address, from.port, d));
  const e1 = record(lab.r1);
  let got = 0;
  lab.clients[0]!.udpBind(41030, () => got++);
  lab.clients[0]!.udpSend(41030, SERVER, 7, Buffer.from('abc'));
  assert.ok(await until(() => got === 1));
  lab.r1.sweep();
  assert.is(e1.of('session.counters').length, 0, 'a young session is not reported');
  for (let i = 0; i < 4; i++) {
    clock.advance(5_000);
    lab.r1.sweep();
  }
  const reports = e1.of('session.counters').flatMap((e) => e.sessions);
  const id = e1.of('session.created')[0]!.sessionId;
  assert.ok(reports.length >= 1 && reports.length <= 2, `${reports.length} reports over 20 s at a 10 s interval`);
  const live = (await lab.r1.sessions())[0]!;
  assert.equal(reports[0], { sessionId: id, packets: [1, 1], bytes: [live.bytes.forward, live.bytes.reverse] });
  assert.is(live.bytes.forward, 31, 'the client\'s datagram: 20 + 8 + 3 bytes');
  await lab.close();
});

test('session.counters go to events$ only: with only eventsWithoutSessions$ subscribed none is built (1 M sessions: 16,700 objects a second)', async () => {
  const clock = simClock();
  const lab = createMemoryLab({
    config: await exampleConfig(), clients: [CLIENT], servers: [SERVER], router: { clock: clock.now, sweepIntervalMs: 0, sessionCountersMs: 10_000 },
  });
  try {
    lab.servers[0]!.udpBind(7, (d, from) => lab.servers[0]!.udpSend(7, from.address, from.port, d));
    const seen: string[] = [];
    const sub = lab.r1.eventsWithoutSessions$.subscribe((e) => seen.push(e.type));
    let got = 0;
    lab.clients[0]!.udpBind(41031, () => got++);
    lab.clients[0]!.udpSend(41031, SERVER, 7, Buffer.from('abc'));
    assert.ok(await until(() => got === 1));
    for (let i = 0; i < 4; i++) {
      clock.advance(5_000);
      lab.r1.sweep();
    }
    assert.not.ok(seen.includes('session.counters'), `without sessions: ${[...new Set(seen)].join(', ')}`);
    const e1 = record(lab.r1);
    for (let i = 0; i < 4; i++) {
      clock.advance(5_000);
      lab.r1.sweep();
    }
    assert.ok(e1.of('session.counters').length >= 1, 'events$ still has them');
    assert.not.ok(seen.includes('session.counters'));
    sub.unsubscribe();
  } finally {
    await lab.close();
  }
});

test('session.counters: the data path builds no event while nobody takes them (1 M sessions: a copy of 4,200 totals a sweep)', async () => {
  const clock = simClock();
  const facts: DpEvent[] = [];
  let wanted = false;
  const dp = new Dataplane({
    tables: compileRouter(await exampleConfig(), 'r1', 1), ports: [null, null], clock: clock.now, sessionCountersMs: 1_000,
    onEvents: (ev) => facts.push(...ev), countersWanted: () => wanted,
  });
  const p = buildUdp({ src: parseAddress(CLIENT)!.bytes, dst: parseAddress(SERVER)!.bytes, srcPort: 41032, dstPort: 7, payload: new Uint8Array(8) });
  dp.receive(0, p, Uint32Array.of(0), Uint32Array.of(p.length), 1);
  assert.is(dp.sessions.active, 1);
  const counters = (): number => facts.filter((f) => f.kind === 'session.counters').length;
  for (let i = 0; i < 8; i++) {
    clock.advance(500);
    dp.sweep();
  }
  assert.is(counters(), 0, 'nobody takes them: none built');
  wanted = true;
  for (let i = 0; i < 8; i++) {
    clock.advance(500);
    dp.sweep();
  }
  assert.ok(counters() >= 1, 'wanted again: reported');
});

test('worker threads: denied first packets and the shutdown of remaining sessions reach events$', async () => {
  const config = parseConfig(`
authority:
  name: w
  secret: 5f2c8e1a9b3d4f6071829a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f
  tenants: [{ name: t, members: [198.18.1.0/24] }]
  services: [{ name: echo, addresses: [198.18.3.0/24], transport: [{ protocol: udp, ports: [7] }], access-policy: [{ source: t }] }]
  routers:
    - { name: r1, interfaces: [{ name: lan0, kind: lan }, { name: wan0, kind: wan, waypoint: 198.18.12.1, neighborhoods: [{ name: n }] }], service-routes: [{ name: e, service: echo, peer: r2 }] }
    - { name: r2, interfaces: [{ name: lan0, kind: lan }, { name: wan0, kind: wan, waypoint: 198.18.12.2, neighborhoods: [{ name: n }] }], service-routes: [{ name: e, service: echo, next-hop: { interface: lan0 } }] }
`, 'w.yaml');
  const lab = await createWorkerLab(config, 2);
  const e1 = record(lab.r1);
  try {
    let got = 0;
    lab.server.udpBind(7, (d, from) => lab.server.udpSend(7, from.address, from.port, d));
    for (let p = 0; p < 6; p++) {
      lab.client.udpBind(43000 + p, () => got++);
      lab.client.udpSend(43000 + p, SERVER, 7, Buffer.from('w'));
    }
    lab.client.udpSend(43100, '198.18.7.7', 9, Buffer.from('denied'));
    assert.ok(await until(() => got === 6 && e1.of('session.denied').length === 1, 5000));
    assert.is(e1.of('session.denied')[0]!.forward.dst, '198.18.7.7');
  } finally {
    await lab.close();
  }
  const removed = e1.of('session.removed');
  assert.equal([removed.length, [...new Set(removed.map((e) => e.reason))]], [6, ['shutdown']], 'every worker ended its sessions before stopping');
});

test.run();
