import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { parseConfig } from '../../../src/model/validate.js';
import { parseAddress } from '../../../src/packet/addr.js';
import { buildIcmpEcho } from '../../../src/packet/build.js';
import { PROTO_UDP } from '../../../src/packet/ip.js';
import { exampleConfig, sleep, until, waitFor } from '../../support/config.js';
import { SIGNED_TRAILER, recordWire } from '../../support/wire.js';

test('ICMP echo crosses r1 and r2 as UDP between the routers, with metadata on every packet', async () => {
  const config = await exampleConfig();
  config.authority.services.push({
    name: 'ping', addresses: ['198.18.3.0/24'], transport: [{ protocol: 'icmp', ports: [] }],
    accessPolicy: [{ source: 'engineering', tenant: 'engineering', permission: 'allow' }], servicePolicy: 'default',
    timeouts: { tcpInitial: 10, tcp: 1900, udp: 180, icmp: 10, other: 180 }, serviceChain: [],
  });
  config.authority.routers[0]!.serviceRoutes.push({ name: 'ping-r2', service: 'ping', peer: 'r2' });
  config.authority.routers[1]!.serviceRoutes.push({ name: 'ping-local', service: 'ping', nextHop: { interface: 'lan0' } });
  const lab = createMemoryLab({ config, clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  const wire = recordWire(lab.wan);
  const replies: number[] = [];
  lab.clientLan.observe((p, from) => { if (from.endsWith('gateway') && p[9] === 1 && p[20] === 0) replies.push((p[26]! << 8) | p[27]!); });
  const src = parseAddress('198.18.1.10')!.bytes;
  const dst = parseAddress('198.18.3.20')!.bytes;
  for (let seq = 1; seq <= 3; seq++) {
    lab.clients[0]!.transmit(buildIcmpEcho({ src, dst, request: true, id: 77, seq, payload: Buffer.from('abcdefgh') }));
    await waitFor(`echo reply ${seq}`, () => replies.length === seq);
  }
  assert.equal(replies, [1, 2, 3], 'echo replies come back in order');
  assert.ok(wire.length === 6 && wire.every((w) => w.protocol === PROTO_UDP), 'ICMP is UDP between routers');
  assert.ok(wire.every((w) => w.meta !== null && w.meta.malformed === undefined), 'converted packets always carry metadata');
  assert.equal(wire[0]!.meta!.forward, { src: '198.18.1.10', dst: '198.18.3.20', srcPort: 77, dstPort: 77, protocol: 1 });
  const s = (await lab.r1.sessions());
  assert.is(s.length, 1, 'one session for the echo identifier');
  assert.is(s[0]!.handshake, 'always');
  await lab.close();
});

const V6 = `
authority:
  name: v6
  secret: 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
  security-policies:
    - name: internal
      hmac-mode: metadata-only
  tenants:
    - name: lab
      members: ["2001:db8:1::/64"]
  services:
    - name: svc
      addresses: ["2001:db8:3::/64"]
      transport: [{ protocol: udp, ports: [9000] }, { protocol: tcp, ports: [443] }]
      access-policy: [{ source: lab }]
  routers:
    - name: r1
      interfaces:
        - { name: lan0, kind: lan }
        - { name: wan0, kind: wan, waypoint: "2001:db8:12::1", neighborhoods: [{ name: core }] }
      routes: [{ prefix: "2001:db8:1::/64", interface: lan0 }]
      service-routes: [{ name: to-r2, service: svc, peer: r2 }]
    - name: r2
      interfaces:
        - { name: lan0, kind: lan }
        - { name: wan0, kind: wan, waypoint: "2001:db8:12::2", neighborhoods: [{ name: core }] }
      routes: [{ prefix: "2001:db8:3::/64", interface: lan0 }]
      service-routes: [{ name: local, service: svc, next-hop: { interface: lan0 } }]
`;

test('IPv6 end to end; hmac-mode metadata-only signs the metadata packets and the one that ends the handshake', async () => {
  const lab = createMemoryLab({ config: parseConfig(V6), clients: ['2001:db8:1::10'], servers: ['2001:db8:3::20'] });
  const wireSigned = recordWire(lab.wan, SIGNED_TRAILER);
  const wireBare = recordWire(lab.wan, 0);
  const [client] = lab.clients;
  const [server] = lab.servers;
  const seen: string[] = [];
  server!.udpBind(9000, (d, from) => { seen.push(`${from.address}:${from.port}`); server!.udpSend(9000, from.address, from.port, d); });
  let got = 0;
  client!.udpBind(5000, () => got++);
  for (let i = 1; i <= 3; i++) {
    client!.udpSend(5000, '2001:db8:3::20', 9000, Buffer.from(`datagram ${i}`));
    await waitFor(`datagram ${i} answered`, () => got === i);
  }
  assert.is(seen[0], '2001:db8:1::10:5000');
  assert.equal(wireSigned[0]!.meta!.forward, { src: '2001:db8:1::10', dst: '2001:db8:3::20', srcPort: 5000, dstPort: 9000, protocol: 17 });
  assert.ok(wireSigned[0]!.src === '2001:db8:12::1' && wireSigned[0]!.dst === '2001:db8:12::2');
  // later packets: exactly the original payload, no trailer ...
  const later = wireBare.filter((w) => w.meta === null);
  assert.ok(later.length >= 2 && later.every((w) => w.payloadLength === 'datagram 1'.length), 'no trailer without metadata');
  // ... except the first forward packet after reverse metadata: it ends the egress's REV_SIGNAL, so it is
  // signed, behind a bare 12-byte header that tells the egress a trailer follows
  const firstReverse = wireSigned.findIndex((w) => w.dir === 'b->a' && w.meta !== null);
  const ack = wireSigned.slice(firstReverse).find((w) => w.dir === 'a->b')!;
  assert.ok(ack.meta?.falsePositive, 'bare header');
  assert.is(ack.payloadLength, 12 + 'datagram 2'.length + SIGNED_TRAILER);
  // TCP over IPv6 too
  server!.tcpListen(443, (c) => { c.write(Buffer.from('v6 ok')); c.end(); });
  const conn = await client!.tcpConnect('2001:db8:3::20', 443);
  conn.end();
  assert.is(Buffer.from(await conn.readAll()).toString(), 'v6 ok');
  await lab.close();
});

test('waypoint ports: even local / odd peer per path, exhaustion is counted, ports are reused after a session ends', async () => {
  const config = await exampleConfig();
  for (const r of config.authority.routers) r.interfaces.find((i) => i.kind === 'wan')!.portRange = { from: 16384, to: 16387 };
  for (const s of config.authority.services) s.timeouts.udp = 1;
  const lab = createMemoryLab({ config, clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  lab.servers[0]!.udpBind(7, () => {});
  for (let i = 0; i < 5; i++) lab.clients[0]!.udpSend(42000 + i, '198.18.3.20', 7, Buffer.from('x'));
  await sleep(30);
  const s = (await lab.r1.sessions());
  assert.is(s.length, 4, '2 even x 2 odd port pairs');
  const pairs = s.map((x) => `${x.waypoint!.srcPort}-${x.waypoint!.dstPort}`).sort();
  assert.equal(pairs, ['16384-16385', '16384-16387', '16386-16385', '16386-16387']);
  assert.is(lab.r1.counters()['drop-waypoint-ports-exhausted'], 1);
  // idle timeout (udp: 1 s) frees them
  assert.ok(await until(async () => { lab.r1.sweep(); lab.r2.sweep(); return (await lab.r1.sessions()).length === 0; }, 3000), 'sessions expire after their UDP timeout');
  assert.is(lab.r1.counters()['sessions-expired'], 4);
  lab.clients[0]!.udpSend(43000, '198.18.3.20', 7, Buffer.from('again'));
  assert.ok(await until(async () => (await lab.r1.sessions()).length === 1), 'a freed pair is used again');
  await lab.close();
});

test.run();
