import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import type { EnforcedMss, SvrConfig } from '../../../src/model/config.js';
import { PacketInfo, parsePacket, TCP_ACK, TCP_SYN } from '../../../src/packet/ip.js';
import { readTcpMss } from '../../../src/packet/tcp-mss.js';
import { fillIpv4HeaderChecksum } from '../../../src/packet/rewrite.js';
import { createMemoryLab, type MemoryLab } from '../../../src/sim/memory-lab.js';
import { exampleConfig, sleep, until } from '../../support/config.js';
import { recordWire, type WirePacket } from '../../support/wire.js';

/** A lone UDP first packet is not retried: under load the lab's paths may not be up yet when a test starts. */
const pathUp = (lab: MemoryLab) => until(() => lab.r1.peers().some((p) => p.paths.some((q) => q.up)), 10_000);

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** The simulated hosts offer MSS 1400 (src/sim/tcp-types.ts). */
const HOST_MSS = 1400;

/** The example config with each router's wan0 MTU (and optionally enforced-mss, and payload encryption). */
async function config(mtu: { r1: number; r2: number }, o: { encrypt?: 'aes-cbc-256' | 'aes-gcm-256'; enforcedMss?: EnforcedMss } = {}): Promise<SvrConfig> {
  const c = await exampleConfig();
  for (const r of c.authority.routers) {
    const wan = r.interfaces.find((i) => i.kind === 'wan')!;
    wan.mtu = mtu[r.name as 'r1' | 'r2'];
    if (o.enforcedMss !== undefined) wan.enforcedMss = o.enforcedMss;
  }
  if (o.encrypt !== undefined) {
    c.authority.securityPolicies.push({
      name: 'sealed', hmacMode: 'time-based', hmacCipher: 'sha256-128', encrypt: true, encryptionCipher: o.encrypt,
      adaptiveEncryption: false, keyVersion: 1, rekeyDelay: 30, keyExchange: 'static', rekeyInterval: 120,
    });
    for (const s of c.authority.services) s.security = 'sealed';
  }
  return c;
}

const mssOf = (w: WirePacket): number => {
  const pi = new PacketInfo();
  parsePacket(w.bytes, 0, w.bytes.length, pi);
  return readTcpMss(w.bytes, pi);
};

/** One TCP connection with 300 kB each way; returns the wire, the MSS of the SYN the server got, and the counters. */
async function transfer(c: SvrConfig) {
  const lab = createMemoryLab({ config: c, clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  const wire = recordWire(lab.wan);
  let synAtServer = -1;
  lab.serverLan.observe((p, from) => {
    const pi = new PacketInfo();
    if (from.endsWith('gateway') && parsePacket(p, 0, p.length, pi) === 0 && (pi.tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN) synAtServer = readTcpMss(p, pi);
  });
  const up = randomBytes(300_000);
  const down = randomBytes(300_000);
  let serverGot = '';
  lab.servers[0]!.tcpListen(80, (conn) => void conn.readAll().then((d) => { serverGot = sha(d); conn.write(down); conn.end(); }));
  const conn = await lab.clients[0]!.tcpConnect('198.18.3.20', 80);
  const clientSendMss = conn.sendMss;
  conn.write(up);
  conn.end();
  const got = await conn.readAll();
  assert.ok(await until(() => serverGot !== ''));
  assert.is(serverGot, sha(up), 'upload intact');
  assert.is(sha(got), sha(down), 'download intact');
  const counters = { r1: lab.r1.counters(), r2: lab.r2.counters() };
  await lab.close();
  const syn = wire.find((w) => w.dir === 'a->b' && (w.tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN)!;
  const synAck = wire.find((w) => w.dir === 'b->a' && (w.tcpFlags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK))!;
  return { wire, synMss: mssOf(syn), synAckMss: mssOf(synAck), synAtServer, clientSendMss, counters, largest: Math.max(...wire.map((w) => w.bytes.length)) };
}

test('wan MTU 1400, HMAC on every packet: SYN and SYN-ACK clamped to 1400 - 40 - 26 (replay block 10 + HMAC 16) - 12 (false-positive room) = 1322; no packet on the wan exceeds 1400', async () => {
  const r = await transfer(await config({ r1: 1400, r2: 1400 }));
  assert.is(r.synMss, 1322, 'r1 clamps the SYN it sends');
  assert.is(r.synAckMss, 1322, 'r2 clamps the SYN-ACK it sends');
  assert.is(r.synAtServer, 1322);
  assert.is(r.clientSendMss, 1322);
  assert.is(r.largest, 1322 + 40 + 26, 'full-size segments: MSS + IP/TCP headers + trailer, 12 B left for a false-positive header');
  // one SYN each way, or more when the simulated host retransmits it under load (each copy is clamped)
  assert.ok(r.counters.r1['tcp-mss-clamped']! >= 1, 'r1 clamped the SYN');
  assert.ok(r.counters.r2['tcp-mss-clamped']! >= 1, 'r2 clamped the SYN-ACK');
});

test('payload encryption: room for the cipher too (CBC 33 B: MSS 1301; GCM 29 B: MSS 1305), and the sealed segments fit', async () => {
  for (const [cipher, mss] of [['aes-cbc-256', 1301], ['aes-gcm-256', 1305]] as const) {
    const r = await transfer(await config({ r1: 1400, r2: 1400 }, { encrypt: cipher }));
    assert.is(r.synMss, mss, cipher);
    assert.is(r.synAckMss, mss, cipher);
    assert.ok(r.largest <= 1400, `${cipher}: largest packet on the wan: ${r.largest} B`);
  }
});

test('different MTUs at the two ends: each router bounds what it sends itself (r2 clamps the SYN it receives)', async () => {
  const r = await transfer(await config({ r1: 1500, r2: 1300 }));
  assert.is(r.synMss, HOST_MSS, 'r1 (MTU 1500, limit 1422) leaves the host MSS 1400 on the SYN it sends');
  assert.is(r.synAtServer, 1222, 'r2 (MTU 1300) lowers it before the server sees it: the server sends segments that fit r2s wan');
  assert.is(r.synAckMss, 1222, 'and the SYN-ACK r2 sends');
  assert.ok(r.wire.filter((w) => w.dir === 'b->a').every((w) => w.bytes.length <= 1300), 'r2 sends nothing larger than its MTU');
});

test('enforced-mss: a number sets the limit; disabled leaves the hosts MSS, and the segments that then exceed the MTU are dropped at r1 and counted', async () => {
  const fixed = await transfer(await config({ r1: 1400, r2: 1400 }, { enforcedMss: 1000 }));
  assert.is(fixed.synMss, 1000);
  assert.is(fixed.synAckMss, 1000);
  const lab = createMemoryLab({ config: await config({ r1: 1400, r2: 1400 }, { enforcedMss: 'disabled' }), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  const wire = recordWire(lab.wan);
  lab.servers[0]!.tcpListen(80, (conn) => void conn.readAll().catch(() => undefined));
  const conn = await lab.clients[0]!.tcpConnect('198.18.3.20', 80);
  assert.is(conn.sendMss, HOST_MSS, 'nothing lowered the MSS');
  conn.write(randomBytes(20_000));
  assert.ok(await until(() => (lab.r1.counters()['drop-exceeds-path-mtu'] ?? 0) > 0));
  const syn = wire.find((w) => w.dir === 'a->b' && (w.tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN)!;
  assert.is(mssOf(syn), HOST_MSS);
  assert.is(lab.r1.counters()['tcp-mss-clamped'] ?? 0, 0);
  assert.ok(wire.every((w) => w.bytes.length <= 1400), 'nothing larger than the MTU reached the wan');
  conn.destroy();
  await lab.close();
});

test('UDP longer than the path MTU after svrouter bytes: dropped at r1 and counted, never put on the wan; one byte less passes', async () => {
  const lab = createMemoryLab({ config: await config({ r1: 1500, r2: 1500 }), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  const wire = recordWire(lab.wan);
  const got: number[] = [];
  lab.servers[0]!.udpBind(7, (data, from) => { got.push(data.length); lab.servers[0]!.udpSend(7, from.address, from.port, Uint8Array.of(1)); });
  const client = lab.clients[0]!;
  client.udpBind(40000, () => undefined);
  assert.ok(await pathUp(lab), 'r1 has a usable path before the one UDP packet that opens the session');
  client.udpSend(40000, '198.18.3.20', 7, new Uint8Array(10)); // the session's first packet carries metadata
  assert.ok(await until(() => got.length === 1, 10_000));
  // 28 B of IPv4/UDP headers + 26 B of trailer (replay block 10 + HMAC 16): 1446 B of payload make a 1500 B packet on the wan
  client.udpSend(40000, '198.18.3.20', 7, new Uint8Array(1446));
  client.udpSend(40000, '198.18.3.20', 7, new Uint8Array(1447));
  assert.ok(await until(() => got.length === 2));
  await sleep(50);
  assert.equal(got, [10, 1446]);
  assert.is(lab.r1.counters()['drop-exceeds-path-mtu'], 1);
  assert.is(Math.max(...wire.map((w) => w.bytes.length)), 1500);
  await lab.close();
});

test('UDP that does not fit: the client gets ICMP fragmentation needed (type 3 code 4) quoting its packet, with the MTU that fits', async () => {
  const lab = createMemoryLab({ config: await config({ r1: 1500, r2: 1500 }), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  const icmp: Uint8Array[] = [];
  lab.clientLan.observe((p, from) => {
    if (from.endsWith('gateway') && p[9] === 1) icmp.push(p.slice());
  });
  const got: number[] = [];
  lab.servers[0]!.udpBind(7, (data, from) => { got.push(data.length); lab.servers[0]!.udpSend(7, from.address, from.port, Uint8Array.of(1)); });
  const client = lab.clients[0]!;
  let replies = 0;
  client.udpBind(40000, () => void replies++);
  assert.ok(await pathUp(lab), 'r1 has a usable path before the one UDP packet that opens the session');
  client.udpSend(40000, '198.18.3.20', 7, new Uint8Array(10));
  assert.ok(await until(() => replies === 1, 10_000), 'the handshake is done: no more metadata on this session');
  client.udpSend(40000, '198.18.3.20', 7, new Uint8Array(1447));
  assert.ok(await until(() => icmp.length === 1));
  const e = icmp[0]!;
  assert.equal([...e.subarray(12, 16)], [198, 18, 3, 20], 'from the destination');
  assert.equal([...e.subarray(16, 20)], [198, 18, 1, 10], 'to the sender');
  assert.equal([e[20], e[21]], [3, 4], 'fragmentation needed and DF set');
  assert.is((e[26]! << 8) | e[27]!, 1500 - 26, 'the path MTU less this packet\'s growth (the trailer)');
  assert.equal([...e.subarray(28 + 12, 28 + 20)], [198, 18, 1, 10, 198, 18, 3, 20], 'quotes the original header');
  assert.is((e[28 + 20]! << 8) | e[28 + 21]!, 40000, 'and its UDP ports');
  assert.is(e.length, 28 + 20 + 8);
  assert.is(lab.r1.counters()['icmp-too-big-sent'], 1);
  await lab.close();
});

test('an encrypted UDP packet that does not fit: the MTU in the ICMP counts its whole growth (IV, padding, key id, trailer)', async () => {
  const lab = createMemoryLab({ config: await config({ r1: 1500, r2: 1500 }, { encrypt: 'aes-cbc-256' }), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  const icmp: Uint8Array[] = [];
  lab.clientLan.observe((p, from) => {
    if (from.endsWith('gateway') && p[9] === 1) icmp.push(p.slice());
  });
  lab.servers[0]!.udpBind(7, (_data, from) => lab.servers[0]!.udpSend(7, from.address, from.port, Uint8Array.of(1)));
  const client = lab.clients[0]!;
  let replies = 0;
  client.udpBind(40000, () => void replies++);
  assert.ok(await pathUp(lab), 'r1 has a usable path before the one UDP packet that opens the session');
  client.udpSend(40000, '198.18.3.20', 7, new Uint8Array(10));
  assert.ok(await until(() => replies === 1, 10_000), 'the handshake is done: no more metadata on this session');
  // 1460 B of payload (a 1488 B packet) seal into IV 16 + 1472 B of CBC + key id 1, then the trailer 26: 1543 B
  client.udpSend(40000, '198.18.3.20', 7, new Uint8Array(1460));
  assert.ok(await until(() => icmp.length === 1));
  const e = icmp[0]!;
  assert.equal([e[20], e[21]], [3, 4], 'fragmentation needed and DF set');
  assert.is((e[26]! << 8) | e[27]!, 1500 - (1543 - 1488), 'the path MTU less this packet\'s growth (sealing and trailer)');
  assert.equal([...e.subarray(28 + 12, 28 + 20)], [198, 18, 1, 10, 198, 18, 3, 20], 'quotes the original header');
  assert.is((e[28 + 2]! << 8) | e[28 + 3]!, 1488, 'with its original length');
  assert.is(lab.r1.counters()['icmp-too-big-sent'], 1);
  await lab.close();
});

test('a discovered path MTU below the interface MTU: the SYN is clamped to it and no packet on the wan exceeds it', async () => {
  const lab = createMemoryLab({ config: await config({ r1: 1700, r2: 1700 }), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  lab.r1.host.dataplane.setPathMtu(0, 1300);
  lab.r2.host.dataplane.setPathMtu(0, 1300);
  const wire = recordWire(lab.wan);
  const down = randomBytes(200_000);
  lab.servers[0]!.tcpListen(80, (conn) => void conn.readAll().then(() => { conn.write(down); conn.end(); }));
  const conn = await lab.clients[0]!.tcpConnect('198.18.3.20', 80);
  conn.write(Uint8Array.of(1));
  conn.end();
  const got = await conn.readAll();
  assert.is(sha(got), sha(down));
  const syn = wire.find((w) => w.dir === 'a->b' && (w.tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN)!;
  assert.is(mssOf(syn), 1300 - 40 - 26 - 12);
  assert.ok(wire.every((w) => w.bytes.length <= 1300), `largest ${Math.max(...wire.map((w) => w.bytes.length))}`);
  await lab.close();
});

test('an ICMP "fragmentation needed" on the wan (forged or real) changes no path MTU: dropped and counted', async () => {
  const lab = createMemoryLab({ config: await config({ r1: 1500, r2: 1500 }), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  const before = lab.r1.counters()['drop-not-for-waypoint'] ?? 0;
  // 198.18.12.2 -> r1's waypoint 198.18.12.1: type 3 code 4, next-hop MTU 300, quoting an SVR packet
  const icmp = new Uint8Array(56);
  icmp.set([0x45, 0, 0, 56, 0, 0, 0x40, 0, 64, 1, 0, 0, 198, 18, 12, 2, 198, 18, 12, 1]);
  icmp.set([3, 4, 0, 0, 0, 0, 0x01, 0x2c], 20);
  icmp.set([0x45, 0, 0x05, 0xdc, 0, 0, 0x40, 0, 64, 17, 0, 0, 198, 18, 12, 1, 198, 18, 12, 2, 0x40, 0x00, 0x40, 0x01, 0x05, 0xc8, 0, 0], 28);
  fillIpv4HeaderChecksum(icmp, 0);
  fillIpv4HeaderChecksum(icmp, 28);
  lab.wan.b.send(icmp);
  assert.ok(await until(() => (lab.r1.counters()['drop-not-for-waypoint'] ?? 0) > before), 'dropped at the waypoint');
  assert.is(lab.r1.host.dataplane.ctx.pathMtu[0], 1500, 'the path MTU is what the interface (or probing) says');
  await lab.close();
});

test.run();
