/**
 * builtin.external-function: a service's sessions go through an external network function and back.
 * In-process: r1 (with function interfaces sfc-out / sfc-in) and r2 in memory; the "function" is a pair
 * of memory links with a forwarder between them that decrements the TTL, like a Linux box routing.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { MemoryLink } from '../../../src/io/memory/link.js';
import { MemorySegment } from '../../../src/io/memory/segment.js';
import { parseAddress } from '../../../src/packet/addr.js';
import { parseConfig } from '../../../src/model/validate.js';
import type { ConfigError } from '../../../src/errors.js';
import { buildTcp, buildUdp } from '../../../src/packet/build.js';
import { PacketInfo, parsePacket, PROTO_TCP, PROTO_UDP, TCP_ACK } from '../../../src/packet/ip.js';
import { decrementTtl } from '../../../src/packet/rewrite.js';
import { checkPluginCompliance } from '../../../src/plugins/compliance.js';
import externalFunction from '../../../src/plugins/builtin/external-function/index.js';
import { waitFor } from '../../support/config.js';
import { readExternalFunctionOptions } from '../../../src/plugins/builtin/external-function/options.js';
import { createRouter, type Router } from '../../../src/control/router.js';
import { SimHost } from '../../../src/sim/host.js';
import { HEAP_BUDGET, builtin, settle } from '../builtin/lab.js';
import { SFC_LAB } from './sfc-lab.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const P = 'plugin.builtin.external-function.';
const STAGE = 'builtin.external-function/ids';


interface Seen { proto: number; srcPort: number; dstPort: number; seq: number; len: number; ttl: number }

/** A packet's identity for comparing captures (TTL aside). */
const idOf = (s: Seen) => `${s.proto}:${s.srcPort}>${s.dstPort}:${s.seq}:${s.len}`;

function seen(p: Uint8Array, pi: PacketInfo): Seen | null {
  if (parsePacket(p, 0, p.length, pi) !== 0) return null;
  const seq = pi.protocol === PROTO_TCP ? ((p[pi.l4 + 4]! << 24) | (p[pi.l4 + 5]! << 16) | (p[pi.l4 + 6]! << 8) | p[pi.l4 + 7]!) >>> 0 : 0;
  return { proto: pi.protocol, srcPort: pi.srcPort, dstPort: pi.dstPort, seq, len: pi.end - pi.payload, ttl: pi.ttl };
}

/** Two routers; r1's function interfaces go to an in-process forwarder (TTL - 1, like Linux). */
function sfcLab(o: { drop?: (n: number) => boolean; single?: boolean } = {}) {
  const config = parseConfig(SFC_LAB);
  const wan = new MemoryLink('wan', 'r1.wan0', 'r2.wan0');
  const toFn = new MemoryLink('sfc-out', 'r1.sfc-out', 'fn.rx');
  const fromFn = new MemoryLink('sfc-in', 'r1.sfc-in', 'fn.tx');
  const clientLan = new MemorySegment('client-lan');
  const serverLan = new MemorySegment('server-lan');
  const r1 = createRouter(config, { lan0: clientLan.gatewayPort(), wan0: wan.a, 'sfc-out': toFn.a, 'sfc-in': fromFn.a }, { name: 'r1', liveness: 'static' });
  const r2 = createRouter(config, { lan0: serverLan.gatewayPort(), wan0: wan.b }, { name: 'r2', liveness: 'static' });
  r1.start();
  r2.start();
  const fn: Seen[] = [];
  const pi = new PacketInfo();
  let n = 0;
  toFn.b.start((data, off, len, count) => {
    for (let i = 0; i < count; i++) {
      const p = data.slice(off[i]!, off[i]! + len[i]!);
      const s = seen(p, pi);
      if (s === null) continue;
      fn.push(s);
      if (o.drop?.(n++)) continue; // the function drops it: it never comes back
      decrementTtl(p, pi);
      ((o.single ? toFn.b : fromFn.b) as unknown as { send(p: Uint8Array): void }).send(p);
    }
  });
  const client = new SimHost({ address: '198.18.1.10', port: clientLan.hostPort('198.18.1.10') });
  const server = new SimHost({ address: '198.18.3.20', port: serverLan.hostPort('198.18.3.20') });
  return {
    r1, r2, fn, client, server, clientLan, serverLan, fromFn,
    async close() {
      client.close();
      server.close();
      await r1.stop();
      await r2.stop();
      for (const l of [wan, toFn, fromFn]) l.close();
      clientLan.close();
      serverLan.close();
    },
  };
}

async function chain(r1: Router, options: unknown = { functions: { ids: { out: 'sfc-out', in: 'sfc-in' } } }) {
  assert.equal(await r1.applyPlugins([builtin('external-function', options)], { services: { web: [STAGE] } }), []);
}

/** Client -> server `up` bytes and back `down` bytes over TCP port 80. */
async function transfer(lab: ReturnType<typeof sfcLab>, up: Uint8Array, down: Uint8Array) {
  let serverGot = '';
  const served = new Promise<void>((resolve) => {
    lab.server.tcpListen(80, (conn) => {
      void conn.readAll().then((data) => {
        serverGot = sha(data);
        conn.write(down);
        conn.end();
        resolve();
      });
    });
  });
  const conn = await lab.client.tcpConnect('198.18.3.20', 80, { srcPort: 45000 });
  conn.write(up);
  conn.end();
  const clientGot = sha(await conn.readAll());
  await served;
  lab.server.tcpUnlisten(80);
  return { serverGot, clientGot };
}

test('a TCP transfer through the external function is intact; the function sees every packet of the service both ways and none of another service; TTL is decremented by the function and once by each router', async () => {
  const lab = sfcLab();
  try {
    await chain(lab.r1);
    const pi = new PacketInfo();
    const atClient: { from: string; s: Seen }[] = [];
    lab.clientLan.observe((p, from) => {
      const s = seen(p, pi);
      if (s !== null) atClient.push({ from, s });
    });
    const atServer: Seen[] = [];
    lab.serverLan.observe((p, from) => {
      const s = seen(p, new PacketInfo());
      if (s !== null && from.endsWith('gateway')) atServer.push(s);
    });
    // another service (udp echo) is not chained
    let echoes = 0;
    lab.server.udpBind(7, (data, from) => lab.server.udpSend(7, from.address, from.port, data));
    lab.client.udpBind(41000, () => void echoes++);
    for (let i = 0; i < 5; i++) lab.client.udpSend(41000, '198.18.3.20', 7, new Uint8Array(100).fill(i));

    const up = randomBytes(256 * 1024);
    const down = randomBytes(384 * 1024);
    const r = await transfer(lab, up, down);
    const web = (s: Seen) => s.proto === PROTO_TCP && (s.srcPort === 80 || s.dstPort === 80);
    // the client's last ACK is still on its way to the function when the transfer ends: 8 turns (settle) were
    // not always enough at load 20; a packet the function never gets still fails below
    await waitFor('the function seeing every web packet the client saw', () => lab.fn.filter((s) => s.dstPort === 80).length >= atClient.filter((x) => !x.from.endsWith('gateway') && web(x.s)).length);
    // and what the function sent is back at r1 (one more turn of the link: CI once counted 486 of 487 returned)
    const returned = () => lab.r1.counters()[`${P}ids.returned`] ?? 0;
    await waitFor(() => `every packet the function sent back at r1 (${returned()} of ${lab.fn.length})`, () => returned() >= lab.fn.length);
    assert.is(r.serverGot, sha(up), 'the server got the client bytes intact');
    assert.is(r.clientGot, sha(down), 'the client got the server bytes intact');
    assert.is(echoes, 5, 'the unchained service works');

    const fromClient = atClient.filter((x) => !x.from.endsWith('gateway') && web(x.s)).map((x) => idOf(x.s)).sort();
    const toClient = atClient.filter((x) => x.from.endsWith('gateway') && web(x.s)).map((x) => idOf(x.s)).sort();
    const fnFwd = lab.fn.filter((s) => s.dstPort === 80).map(idOf).sort();
    const fnRev = lab.fn.filter((s) => s.srcPort === 80).map(idOf).sort();
    assert.ok(fromClient.length > 100 && toClient.length > 100, `a real transfer (${fromClient.length} up, ${toClient.length} down)`);
    assert.equal(fnFwd, fromClient, 'the function saw every client -> server packet of web, in its original form');
    assert.equal(fnRev, toClient, 'every server -> client packet of web the client got went through the function');
    assert.is(lab.fn.filter((s) => s.proto === PROTO_UDP).length, 0, 'the function saw nothing of the echo service');
    assert.is(lab.fn.length, fnFwd.length + fnRev.length);
    // original form at the function: client/server addresses, TTL after r1's decrement only
    assert.ok(lab.fn.every((s) => s.dstPort === 80 ? s.ttl === 63 : s.ttl === 62), 'forward: 64 - r1; reverse: 64 - r2 - r1');
    assert.ok(atServer.filter(web).every((s) => s.ttl === 61), 'web at the server: r1, the function and r2 each took one');
    assert.ok(atServer.filter((s) => s.proto === PROTO_UDP).every((s) => s.ttl === 62), 'echo at the server: r1 and r2');
    assert.ok(atClient.filter((x) => x.from.endsWith('gateway') && web(x.s)).every((x) => x.s.ttl === 61), 'web back at the client: r2, r1, the function');

    const c = lab.r1.counters();
    assert.is(c[`${P}ids.diverted`], lab.fn.length, 'diverted = what the function got');
    assert.is(c[`${P}ids.returned`], lab.fn.length, 'every packet came back');
    assert.is(c['function-returned'], lab.fn.length);
    assert.is(c[`${P}ids.no-session`], 0);
    assert.is(c[`${P}ids.not-diverted`], 0);
    assert.is(c['drop-bad-checksum'] ?? 0, 0, 'checksums stay right after the function changed the TTL');
    const view = lab.r1.plugins().find((p) => p.name === 'builtin.external-function')!;
    assert.equal(view.stages.map((s) => s.name), [STAGE]);
    assert.is(view.counters['ids.returned'], lab.fn.length, 'svr show plugins lists the counters');
  } finally {
    await lab.close();
  }
});

test('a packet back from the function for no session is dropped and counted; it never opens a session', async () => {
  const lab = sfcLab();
  try {
    await chain(lab.r1);
    const c0 = parseAddress('198.18.1.10')!.bytes;
    const s0 = parseAddress('198.18.3.20')!.bytes;
    const send = (p: Uint8Array) => (lab.fromFn.b as unknown as { send(p: Uint8Array): void }).send(p);
    send(buildTcp({ src: c0, dst: s0, srcPort: 46000, dstPort: 80, seq: 1, ack: 1, flags: TCP_ACK, payload: new Uint8Array(10) }));
    send(buildUdp({ src: c0, dst: s0, srcPort: 46001, dstPort: 7, payload: new Uint8Array(10) }));
    await settle();
    const c = lab.r1.counters();
    assert.is(c['drop-function-no-session'], 2);
    assert.is(c[`${P}ids.no-session`], 2);
    assert.is((await lab.r1.sessions()).length, 0, 'no session from a function interface');
  } finally {
    await lab.close();
  }
});

test('packets the function drops never come back; TCP recovers and the transfer is still intact', async () => {
  const lab = sfcLab({ drop: (n) => n % 37 === 20 });
  try {
    await chain(lab.r1);
    const up = randomBytes(128 * 1024);
    const down = randomBytes(128 * 1024);
    const r = await transfer(lab, up, down);
    assert.is(r.serverGot, sha(up));
    assert.is(r.clientGot, sha(down));
    // the last packets the function passed are still on their way back (turns of the links): wait for them
    const dropped = () => lab.fn.filter((_, i) => i % 37 === 20).length;
    const inFlight = () => lab.r1.counters()[`${P}ids.diverted`]! - lab.r1.counters()[`${P}ids.returned`]! - dropped();
    await waitFor(() => `every diverted packet back or dropped (${inFlight()} in flight)`, () => inFlight() === 0);
    const c = lab.r1.counters();
    assert.ok(dropped() > 0);
    assert.is(c[`${P}ids.diverted`]! - c[`${P}ids.returned`]!, dropped(), 'diverted - returned = what the function dropped');
  } finally {
    await lab.close();
  }
});

test('a removed session takes its return keys with it; unloading the plugin stops the diverting', async () => {
  const lab = sfcLab();
  try {
    await chain(lab.r1);
    const r = await transfer(lab, randomBytes(2000), randomBytes(2000));
    assert.is(r.clientGot.length, 64);
    await settle();
    const dp = (lab.r1.host as unknown as { dataplane: { sessions: { v4: { size: number }; active: number } } }).dataplane;
    assert.is(dp.sessions.active, 1);
    assert.is(dp.sessions.v4.size, 3, 'LAN key, waypoint key and one return key');
    await new Promise((res) => setTimeout(res, 2600)); // the closed session's linger (2 s)
    lab.r1.sweep();
    assert.is(dp.sessions.active, 0);
    assert.is(dp.sessions.v4.size, 0, 'all three keys gone');
    assert.equal(await lab.r1.applyPlugins([], {}), []);
    const before = lab.fn.length;
    const r2 = await transfer(lab, randomBytes(5000), randomBytes(5000));
    assert.is(r2.serverGot.length, 64);
    assert.is(lab.fn.length, before, 'no function any more: nothing diverted');
  } finally {
    await lab.close();
  }
});

test('one interface both ways: the function sends packets back on the interface they left by', async () => {
  const lab = sfcLab({ single: true });
  try {
    await chain(lab.r1, { functions: { ids: { out: 'sfc-out' } } });
    const up = randomBytes(64 * 1024);
    const down = randomBytes(64 * 1024);
    const r = await transfer(lab, up, down);
    assert.is(r.serverGot, sha(up));
    assert.is(r.clientGot, sha(down));
    await waitFor(() => `every diverted packet back (${lab.r1.counters()[`${P}ids.returned`]} of ${lab.fn.length})`, () => lab.r1.counters()[`${P}ids.returned`] === lab.fn.length); // the last ones still on their way back
    const c = lab.r1.counters();
    assert.ok(lab.fn.length > 50);
    assert.is(c[`${P}ids.returned`], lab.fn.length);
    assert.is(c['drop-function-no-session'], 0);
  } finally {
    await lab.close();
  }
});

test('options: field paths in errors; compliance', async () => {
  const bad = (raw: unknown, path: string, re: RegExp) => {
    try {
      readExternalFunctionOptions(raw);
      assert.unreachable('accepted');
    } catch (e) {
      assert.is((e as { path: string }).path, path);
      assert.match((e as Error).message, re);
    }
  };
  bad({}, 'functions', /got nothing/);
  bad({ functions: { ids: {} } }, 'functions.ids.out', /kind: function/);
  bad({ functions: { ids: { out: 'a', 'on-failure': 'maybe' } } }, 'functions.ids.on-failure', /drop \| bypass/);
  bad({ functions: { a: { out: 'x' }, b: { out: 'y', in: 'x' } } }, 'functions.b.in', /already returns/);
  bad({ functions: { 'a b': { out: 'x' } } }, 'functions.a b', /stage name/);
  assert.equal(readExternalFunctionOptions({ functions: { ids: { out: 'f0' } } }).functions[0], { name: 'ids', out: 'f0', in: 'f0', onFailure: 'drop' });
  const report = await checkPluginCompliance(externalFunction, { functions: { ids: { out: 'sfc-out', in: 'sfc-in' } } }, HEAP_BUDGET);
  assert.equal(report.failures, []);
  assert.equal(report.stages, [STAGE]);
});

test('config: kind function is validated with field paths', () => {
  const cfg = (iface: string, extra = '') => `
authority:
  name: x
  tenants: [{ name: t, members: [198.18.1.0/24] }]
  services: [{ name: s, addresses: [198.18.3.0/24], access-policy: [{ source: t }] }]
  routers:
    - name: r
      interfaces: [{ name: lan0, kind: lan }, ${iface}]
      service-routes: [{ name: s, service: s, next-hop: { interface: ${extra || 'lan0'} } }]
`;
  const problems = (text: string): string[] => {
    try {
      parseConfig(text);
      return [];
    } catch (e) {
      return (e as ConfigError).data.problems.map((p) => `${p.path}: ${p.message}`);
    }
  };
  assert.equal(problems(cfg('{ name: f0, kind: function }')), []);
  assert.ok(problems(cfg('{ name: f0, kind: function, tenant: t }')).some((p) => p.startsWith('authority.routers[0].interfaces[1].tenant: a function interface')));
  assert.ok(problems(cfg('{ name: f0, kind: function, waypoint: 198.18.12.1 }')).some((p) => p.startsWith('authority.routers[0].interfaces[1].waypoint: only wan')));
  assert.ok(problems(cfg('{ name: f0, kind: function }', 'f0')).some((p) => p.includes('next-hop.interface: expected a lan interface, got function interface "f0"')), problems(cfg('{ name: f0, kind: function }', 'f0')).join('\n'));
});

test.run();
