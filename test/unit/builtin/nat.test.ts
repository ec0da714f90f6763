import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryLab, type MemoryLab } from '../../../src/sim/memory-lab.js';
import { parseAddress } from '../../../src/packet/addr.js';
import { buildIcmpEcho } from '../../../src/packet/build.js';
import { PluginOptionsError } from '../../../src/plugins/api.js';
import { checkPluginCompliance } from '../../../src/plugins/compliance.js';
import nat from '../../../src/plugins/builtin/nat/index.js';
import { AddressPorts } from '../../../src/plugins/builtin/nat/ports.js';
import { sleep, until } from '../../support/config.js';
import { builtin, labConfig, pluginCounters } from './services-lab.js';

const NAT = 'builtin.nat';

function echoServer(lab: MemoryLab, i: number, port: number, seen: string[]): void {
  const h = lab.servers[i]!;
  h.udpBind(port, (d, f) => {
    seen.push(`${f.address}:${f.port}`);
    h.udpSend(port, f.address, f.port, d);
  });
}

test('source NAT of 1,000 concurrent UDP sessions: the server sees pool addresses, replies return, the second address takes over when the first is out of ports, freed ports are reused, then exhaustion refuses', async () => {
  const lab = createMemoryLab({ config: labConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  try {
    const failures = await lab.r2.applyPlugins([builtin('nat', {
      pools: [{ name: 'public', addresses: ['198.18.3.1', '198.18.3.2'], type: 'dynamic' }],
      'port-range': '20000-20499', // 500 ports per address
    })]);
    assert.equal(failures, []);
    const seen: string[] = [];
    echoServer(lab, 0, 7, seen);
    const client = lab.clients[0]!;
    let replies = 0;
    const fromServer = new Set<string>();
    // in waves of 50 (all stay open): one burst of 1,000 first packets can outlast the time-based
    // HMAC window on a loaded machine, which is not what this test is about
    for (let wave = 0; wave < 20; wave++) {
      for (let p = 30000 + wave * 50; p < 30050 + wave * 50; p++) {
        client.udpBind(p, (_d, f) => { replies++; fromServer.add(`${f.address}:${f.port}`); });
        client.udpSend(p, '198.18.3.20', 7, Buffer.from(`s${p}`));
      }
      assert.ok(await until(() => replies === (wave + 1) * 50, 10000), `wave ${wave}: every session got its reply (${replies})`);
    }
    assert.is((await lab.r2.sessions()).length, 1000, '1,000 concurrent sessions at the egress');
    assert.equal([...fromServer], ['198.18.3.20:7'], 'replies come from the server address the client used');
    const byAddress = new Map<string, number>();
    for (const s of seen) byAddress.set(s.split(':')[0]!, (byAddress.get(s.split(':')[0]!) ?? 0) + 1);
    assert.equal(Object.fromEntries(byAddress), { '198.18.3.1': 500, '198.18.3.2': 500 }, 'first address filled, then the next');
    assert.is(new Set(seen).size, 1000, 'one distinct address:port per session');
    assert.ok(seen.every((s) => { const port = Number(s.split(':')[1]); return port >= 20000 && port <= 20499; }), 'ports within the range');
    let c = pluginCounters(lab.r2.counters(), NAT);
    assert.equal([c['translations'], c['ports-in-use'], c['spilled'], c['exhausted']], [1000, 1000, 500, 0]);
    assert.is(pluginCounters(lab.r1.counters(), NAT)['translations'], undefined, 'nothing loaded at the ingress');

    // close 10 egress sessions: their ports come free and new sessions get exactly those
    const dp = lab.r2.host.dataplane;
    let removed = 0;
    for (let r = 0; r < dp.sessions.capacity && removed < 10; r++) {
      if (dp.sessions.isActive(r) && dp.removeRow(r, dp.sessions.gen[r]!, 'admin')) removed++;
    }
    assert.is(pluginCounters(lab.r2.counters(), NAT)['ports-in-use'], 990, 'the close hook freed 10 ports');
    const before = new Set(seen);
    const seenBefore = seen.length;
    for (let p = 31000; p < 31010; p++) {
      client.udpBind(p, () => replies++);
      client.udpSend(p, '198.18.3.20', 7, Buffer.from('again'));
    }
    assert.ok(await until(() => replies === 1010, 5000), 'the new sessions work');
    const reused = seen.slice(seenBefore);
    assert.is(reused.length, 10);
    assert.ok(reused.every((s) => before.has(s)), 'every new session got a freed address:port (all others are in use)');
    assert.is(pluginCounters(lab.r2.counters(), NAT)['ports-in-use'], 1000);

    // every port of both addresses in use: the next session is refused and counted
    client.udpBind(31100, () => replies++);
    client.udpSend(31100, '198.18.3.20', 7, Buffer.from('no room'));
    assert.ok(await until(() => (pluginCounters(lab.r2.counters(), NAT)['exhausted'] ?? 0) >= 1, 3000), 'exhaustion counted');
    await sleep(50);
    assert.is(replies, 1010, 'the refused session got no reply');
    assert.is(seen.length, seenBefore + 10, 'and reached nothing');
    c = pluginCounters(lab.r2.counters(), NAT);
    assert.ok((lab.r2.counters()['plugin.builtin.nat.refused'] ?? 0) >= 1, 'the core counts the refusal per plugin');
    assert.is(c['ports-in-use'], 1000, 'a refused session holds no port');
  } finally {
    await lab.close();
  }
});

test('destination NAT per service (address only, or address and port); the client still talks to the address it chose', async () => {
  const lab = createMemoryLab({ config: labConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20', '198.18.3.21'] });
  try {
    assert.equal(await lab.r2.applyPlugins([builtin('nat', { targets: { echo: '198.18.3.21', discard: '198.18.3.21:7' } })]), []);
    const at20: string[] = [];
    const at21: string[] = [];
    echoServer(lab, 0, 7, at20);
    echoServer(lab, 1, 7, at21);
    const client = lab.clients[0]!;
    const from: string[] = [];
    client.udpBind(40000, (_d, f) => from.push(`${f.address}:${f.port}`));
    client.udpSend(40000, '198.18.3.99', 7, Buffer.from('vip'));
    assert.ok(await until(() => from.length === 1));
    client.udpSend(40000, '198.18.3.20', 9, Buffer.from('port change'));
    assert.ok(await until(() => from.length === 2));
    assert.equal(at21, ['198.18.1.10:40000', '198.18.1.10:40000'], 'both reached the target, with the client\'s own source');
    assert.equal(at20, [], 'nothing reached the address the client named');
    assert.equal(from, ['198.18.3.99:7', '198.18.3.20:9'], 'replies come from the original destination and port');
    assert.is(pluginCounters(lab.r2.counters(), NAT)['translations'], 2);
  } finally {
    await lab.close();
  }
});

test('ICMP echo: the address is translated, the identifier kept; static pools keep each source on one address; a pool\'s tenant filter refuses other tenants (counted)', async () => {
  const clients = ['198.18.1.10', '198.18.1.11', '198.18.1.12', '198.18.1.13', '198.18.9.10'];
  const lab = createMemoryLab({ config: labConfig(), clients, servers: ['198.18.3.20'] });
  try {
    assert.equal(await lab.r2.applyPlugins([builtin('nat', {
      pools: [
        { name: 'pings', addresses: ['198.18.3.64/31'], services: ['ping'] },
        { name: 'eng', addresses: ['198.18.3.128/30'], type: 'static', tenant: 'engineering', services: ['echo'] },
      ],
    })]), []);
    // ICMP: the server sees a pool address and the client's identifier; the reply returns
    const atServer: string[] = [];
    lab.serverLan.observe((p, from) => {
      if (from.endsWith('gateway') && p[9] === 1 && p[20] === 8) atServer.push(`${p[12]}.${p[13]}.${p[14]}.${p[15]} id ${(p[24]! << 8) | p[25]!}`);
    });
    const replies: number[] = [];
    lab.clientLan.observe((p, from) => { if (from.endsWith('gateway') && p[9] === 1 && p[20] === 0) replies.push((p[24]! << 8) | p[25]!); });
    const src = parseAddress('198.18.1.10')!.bytes;
    const dst = parseAddress('198.18.3.20')!.bytes;
    lab.clients[0]!.transmit(buildIcmpEcho({ src, dst, request: true, id: 77, seq: 1, payload: Buffer.from('ping') }));
    assert.ok(await until(() => replies.length === 1));
    assert.equal(atServer, ['198.18.3.64 id 77']);
    assert.equal(replies, [77]);
    // a second client with the same identifier cannot share 198.18.3.64: it gets the next address
    lab.clients[1]!.transmit(buildIcmpEcho({ src: parseAddress('198.18.1.11')!.bytes, dst, request: true, id: 77, seq: 1, payload: Buffer.from('ping') }));
    assert.ok(await until(() => replies.length === 2));
    assert.equal(atServer[1], '198.18.3.65 id 77');

    // static: every session of one source uses one pool address; sources spread over the pool
    const perClient = new Map<string, Set<string>>();
    const server = lab.servers[0]!;
    server.udpBind(7, (d, f) => {
      const who = Buffer.from(d).toString();
      perClient.set(who, (perClient.get(who) ?? new Set()).add(f.address));
      server.udpSend(7, f.address, f.port, d);
    });
    let got = 0;
    for (let i = 0; i < 4; i++) {
      for (let p = 41000; p < 41005; p++) {
        lab.clients[i]!.udpBind(p, () => got++);
        lab.clients[i]!.udpSend(p, '198.18.3.20', 7, Buffer.from(clients[i]!));
      }
    }
    assert.ok(await until(() => got === 20, 5000));
    assert.is(perClient.size, 4);
    for (const [who, addrs] of perClient) assert.is(addrs.size, 1, `${who}: all five sessions on one pool address`);
    const used = new Set([...perClient.values()].map((a) => [...a][0]!));
    assert.ok(used.size >= 2, `sources spread over the pool (${[...used].join(', ')})`);
    assert.ok([...used].every((a) => /^198\.18\.3\.1(28|29|30|31)$/.test(a)), 'addresses of the static pool');

    // guest is not admitted by the engineering pool: refused, counted
    let guestReplies = 0;
    lab.clients[4]!.udpBind(42000, () => guestReplies++);
    lab.clients[4]!.udpSend(42000, '198.18.3.20', 7, Buffer.from('guest'));
    assert.ok(await until(() => (pluginCounters(lab.r2.counters(), NAT)['refused-tenant'] ?? 0) >= 1));
    await sleep(30);
    assert.is(guestReplies, 0);
  } finally {
    await lab.close();
  }
});

test('options are validated with field paths; a bad field fails the load with its config path', async () => {
  const bad: [unknown, string][] = [
    [{ pools: [{ name: 'p', addresses: ['198.18.3.999'] }] }, 'pools[0].addresses[0]'],
    [{ pools: [{ name: 'p', addresses: ['10.0.0.0/8'] }] }, 'pools[0].addresses[0]'],
    [{ pools: [{ name: 'p', addresses: [] }] }, 'pools[0].addresses'],
    [{ pools: [{ name: 'p', addresses: ['10.0.0.1'], type: 'sticky' }] }, 'pools[0].type'],
    [{ pools: [{ name: 'p', addresses: ['10.0.0.1'] }, { name: 'p', addresses: ['10.0.0.2'] }] }, 'pools[1].name'],
    [{ targets: { web: '198.18.3.20:0' } }, 'targets.web'],
    [{ 'port-range': '100-200' }, 'port-range'],
    [{ pool: [] }, 'pool'],
  ];
  for (const [raw, path] of bad) {
    try {
      nat.options!(raw);
      assert.unreachable(`${JSON.stringify(raw)} was accepted`);
    } catch (e) {
      assert.instance(e, PluginOptionsError, JSON.stringify(raw));
      assert.is((e as PluginOptionsError).path, path);
    }
  }
  const o = nat.options!({ pools: [{ name: 'p', addresses: ['10.0.0.4/30'] }] });
  assert.equal([o.pools[0]!.addresses.length, o.pools[0]!.type, o.portFirst, o.portLast], [4, 'static', 16384, 65534], 'defaults');
  const lab = createMemoryLab({ config: labConfig(), clients: [], servers: [] });
  try {
    const failures = await lab.r2.applyPlugins([builtin('nat', { pools: [{ name: 'p', addresses: ['x'] }] })]);
    assert.is(failures.length, 1);
    assert.match(failures[0]!.message, 'plugins[nat].with.pools[0].addresses[0]');
  } finally {
    await lab.close();
  }
});

test('port map: 49,151 ports per address by default, rotating reuse of freed ports, full words skipped, a given port taken', () => {
  const a = new AddressPorts(16384, 65534);
  const taken = new Set<number>();
  for (let i = 0; i < 49151; i++) taken.add(a.take());
  assert.is(taken.size, 49151);
  assert.is(Math.min(...taken), 16384);
  assert.is(Math.max(...taken), 65534);
  assert.ok(a.full);
  assert.is(a.take(), -1);
  a.release(20000);
  a.release(20000); // twice: no effect
  assert.is(a.inUse, 49150);
  assert.is(a.take(), 20000, 'the only free port');
  const b = new AddressPorts(100, 109);
  assert.equal([b.take(), b.take(), b.take()], [100, 101, 102]);
  b.release(100);
  assert.is(b.take(), 103, 'the cursor moves on before reusing a freed port');
  assert.ok(b.takeIdentifier(77));
  assert.not.ok(b.takeIdentifier(77));
  b.releaseIdentifier(77);
  assert.ok(b.takeIdentifier(77));
  // a port bound elsewhere (a row from the HA partner): taken as such, and the cursor passes over it
  assert.ok(b.takePort(104));
  assert.not.ok(b.takePort(104), 'held already');
  assert.not.ok(b.takePort(110), 'out of range');
  assert.equal([b.covers(99), b.covers(100), b.covers(109), b.covers(110)], [false, true, true, false]);
  assert.is(b.inUse, 4);
  assert.is(b.take(), 105, 'the cursor skips the taken port');
});

test('compliance: builtin.nat works in session hooks only (no stage to check)', async () => {
  const report = await checkPluginCompliance(nat, { pools: [{ name: 'p', addresses: ['198.18.3.1'] }], targets: { s: '198.18.3.30' } });
  assert.equal(report.failures, []);
  assert.equal(report.stages, []);
});

test.run();
