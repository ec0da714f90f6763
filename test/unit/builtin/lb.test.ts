import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:net';
import { createMemoryLab, type MemoryLab } from '../../../src/sim/memory-lab.js';
import { PluginOptionsError } from '../../../src/plugins/api.js';
import { checkPluginCompliance } from '../../../src/plugins/compliance.js';
import lb from '../../../src/plugins/builtin/lb/index.js';
import { sleep, until } from '../../support/config.js';
import { builtin, labConfig, pluginCounters } from './services-lab.js';

const LB = 'builtin.lb';
const VIP = '198.18.3.100'; // no host: only the balancer's destination NAT reaches a server

/** Echo on UDP 7 at every server; counts sessions (distinct client ports) per server. */
function servers(lab: MemoryLab): Map<string, Set<number>> {
  const seen = new Map<string, Set<number>>();
  for (const s of lab.servers) {
    seen.set(s.address, new Set());
    s.udpBind(7, (d, f) => {
      seen.get(s.address)!.add(f.port);
      s.udpSend(7, f.address, f.port, d);
    });
  }
  return seen;
}

/** Opens `n` UDP sessions to the VIP from client ports starting at `from`, in waves of 50; resolves with how many got a reply. */
async function sessions(lab: MemoryLab, from: number, n: number, wait = 5000): Promise<number> {
  const c = lab.clients[0]!;
  let replies = 0;
  for (let start = from; start < from + n; start += 50) {
    const end = Math.min(start + 50, from + n);
    for (let p = start; p < end; p++) {
      c.udpBind(p, () => replies++);
      c.udpSend(p, VIP, 7, Buffer.from('x'));
    }
    if (!(await until(() => replies === end - from, wait))) break;
  }
  return replies;
}

function count(seen: Map<string, Set<number>>): number[] {
  return [...seen.values()].map((s) => s.size);
}

test('proportional 1:3 by capacity over two servers behind r2: 200 sessions split within 10 %, replies come from the address the client used', async () => {
  const lab = createMemoryLab({ config: labConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20', '198.18.3.21'] });
  try {
    assert.equal(await lab.r2.applyPlugins([builtin('lb', { services: { echo: { strategy: 'proportional', targets: [
      { address: '198.18.3.20', capacity: 100 },
      { address: '198.18.3.21', capacity: 300 },
    ] } } })]), []);
    const seen = servers(lab);
    const from: string[] = [];
    lab.clients[0]!.udpBind(39999, (_d, f) => from.push(f.address));
    lab.clients[0]!.udpSend(39999, VIP, 7, Buffer.from('one'));
    assert.ok(await until(() => from.length === 1));
    assert.equal(from, [VIP], 'the reply comes from the VIP');
    assert.is(await sessions(lab, 40000, 199), 199);
    const [a, b] = count(seen);
    assert.is(a! + b!, 200);
    assert.ok(Math.abs(b! / 200 - 0.75) <= 0.1 && Math.abs(a! / 200 - 0.25) <= 0.1, `split ${a}:${b}`);
    const c = pluginCounters(lab.r2.counters(), LB);
    assert.equal([c['echo/198.18.3.20.sessions'], c['echo/198.18.3.21.sessions']], [a, b], 'per-target counters');
    assert.equal([c['echo/198.18.3.20.active'], c['echo/198.18.3.21.active']], [a, b], 'live sessions per target');
    // closing sessions at the egress lowers the live counts
    const dp = lab.r2.host.dataplane;
    let closed = 0;
    for (let r = 0; r < dp.sessions.capacity && closed < 20; r++) if (dp.sessions.isActive(r) && dp.removeRow(r, dp.sessions.gen[r]!, 'admin')) closed++;
    const after = pluginCounters(lab.r2.counters(), LB);
    assert.is(after['echo/198.18.3.20.active']! + after['echo/198.18.3.21.active']!, 180);
  } finally {
    await lab.close();
  }
});

test('hunt: highest capacity first until full, then the next; no room anywhere refuses (counted); a closed session makes room again', async () => {
  const lab = createMemoryLab({ config: labConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20', '198.18.3.21'] });
  try {
    assert.equal(await lab.r2.applyPlugins([builtin('lb', { services: { echo: { targets: [
      { address: '198.18.3.20', capacity: 2 },
      { address: '198.18.3.21', capacity: 3 },
    ] } } })]), []);
    const seen = servers(lab);
    for (let i = 0; i < 3; i++) assert.is(await sessions(lab, 41000 + i, 1), 1);
    assert.equal(count(seen), [0, 3], 'the larger target first');
    for (let i = 3; i < 5; i++) assert.is(await sessions(lab, 41000 + i, 1), 1);
    assert.equal(count(seen), [2, 3], 'then the next in order');
    assert.is(await sessions(lab, 41005, 1, 300), 0, 'both full: refused');
    assert.ok((pluginCounters(lab.r2.counters(), LB)['unavailable'] ?? 0) >= 1);
    // the refused session is still alive at r1 and its handshake probes would take a freed place: end it
    const ingress = lab.r1.host.dataplane;
    const refused = [...Array(ingress.sessions.capacity).keys()].find((r) => ingress.sessions.isActive(r) && ingress.sessions.origSrcPort[r] === 41005);
    assert.ok(refused !== undefined);
    ingress.removeRow(refused!, ingress.sessions.gen[refused!]!, 'admin');
    await sleep(50); // a probe already on the link meets a full balancer
    const dp = lab.r2.host.dataplane;
    const t = dp.sessions;
    const at21 = [...Array(t.capacity).keys()].find((r) => t.isActive(r) && t.natDst[r * 4] === ((198 << 24) | (18 << 16) | (3 << 8) | 21) >>> 0);
    assert.ok(at21 !== undefined);
    dp.removeRow(at21!, t.gen[at21!]!, 'admin');
    const before = count(seen);
    assert.is(await sessions(lab, 41010, 1), 1);
    const now = count(seen);
    assert.equal([now[0]! - before[0]!, now[1]! - before[1]!], [0, 1], 'the freed place on the first target is used');
  } finally {
    await lab.close();
  }
});

function listen(port = 0): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer((sock) => sock.destroy());
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

function portOf(s: Server): number {
  return (s.address() as { port: number }).port;
}

test('health checks (TCP connect to listeners on 127.0.0.1): a target whose check fails is taken out, and put back when it answers again', async () => {
  const lab = createMemoryLab({ config: labConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20', '198.18.3.21'] });
  const check20 = await listen();
  let check21 = await listen();
  const port21 = portOf(check21);
  try {
    assert.equal(await lab.r2.applyPlugins([builtin('lb', { services: { echo: {
      health: { interval: 100, timeout: 100 },
      targets: [
        { address: '198.18.3.21', capacity: 1000, 'health-address': `127.0.0.1:${port21}` },
        { address: '198.18.3.20', capacity: 500, 'health-address': `127.0.0.1:${portOf(check20)}` },
      ],
    } } })]), []);
    const up = (t: string) => pluginCounters(lab.r2.counters(), LB)[`echo/198.18.3.${t}.up`];
    const seen = servers(lab);
    assert.ok(await until(() => up('21') === 1 && up('20') === 1));
    assert.is(await sessions(lab, 42000, 5), 5);
    assert.equal(count(seen), [0, 5], 'hunt: .21 while it is healthy');
    const downs = pluginCounters(lab.r2.counters(), LB)['echo/198.18.3.21.down'] ?? 0;
    await new Promise<void>((r) => check21.close(() => r()));
    assert.ok(await until(() => up('21') === 0, 3000), 'the failed check takes .21 out');
    assert.is(pluginCounters(lab.r2.counters(), LB)['echo/198.18.3.21.down'], downs + 1, 'counted');
    assert.is(await sessions(lab, 42100, 5), 5);
    assert.equal(count(seen), [5, 5], 'new sessions go to .20');
    check21 = await listen(port21);
    assert.ok(await until(() => up('21') === 1, 3000), 'a passing check puts it back');
    assert.is(await sessions(lab, 42200, 5), 5);
    assert.equal(count(seen), [5, 10], 'and .21 takes new sessions again');
    // unloading the plugin stops its checks
    await lab.r2.applyPlugins([]);
    let connects = 0;
    check21.on('connection', () => connects++);
    await sleep(150);
    assert.is(connects, 0, 'no checks after unload');
  } finally {
    await lab.close();
    check20.close();
    check21.close();
  }
});

test('options: defaults, errors with field paths', () => {
  const o = lb.options!({ services: { web: { targets: [{ address: '10.0.0.1', port: 8080, capacity: 10 }], health: { 'tcp-connect': 8080 } } } });
  const s = o.services[0]!;
  assert.equal([s.strategy, s.health, s.targets[0]!.label, s.targets[0]!.check], ['hunt', { intervalMs: 5000, timeoutMs: 1000 }, 'web/10.0.0.1:8080', { host: '10.0.0.1', port: 8080 }]);
  const bad: [unknown, string][] = [
    [{ services: { web: { targets: [] } } }, 'services.web.targets'],
    [{ services: { web: { targets: [{ address: '10.0.0.1' }] } } }, 'services.web.targets[0].capacity'],
    [{ services: { web: { targets: [{ address: 'server-a', capacity: 1 }] } } }, 'services.web.targets[0].address'],
    [{ services: { web: { strategy: 'random', targets: [{ address: '10.0.0.1', capacity: 1 }] } } }, 'services.web.strategy'],
    [{ services: { web: { health: {}, targets: [{ address: '10.0.0.1', capacity: 1 }] } } }, 'services.web.targets[0].health-address'],
    [{ services: { web: { health: { 'tcp-connect': 80, interval: 100, timeout: 500 }, targets: [{ address: '10.0.0.1', capacity: 1 }] } } }, 'services.web.health.timeout'],
    [{ services: { web: { targets: [{ address: '10.0.0.1', capacity: 1 }, { address: '10.0.0.1', capacity: 2 }] } } }, 'services.web.targets[1]'],
  ];
  for (const [raw, path] of bad) {
    try {
      lb.options!(raw);
      assert.unreachable(JSON.stringify(raw));
    } catch (e) {
      assert.instance(e, PluginOptionsError);
      assert.is((e as PluginOptionsError).path, path);
    }
  }
});

test('compliance: builtin.lb decides in session hooks only (no stage to check)', async () => {
  const report = await checkPluginCompliance(lb, { services: { s: { targets: [{ address: '198.18.3.20', capacity: 1 }] } } });
  assert.equal(report.failures, []);
  assert.equal(report.stages, []);
});

test.run();
