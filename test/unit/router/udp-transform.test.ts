/**
 * UDP transform between two routers in memory (docs/wan.md "UDP transform"): a "middlebox" on the wan link
 * (a link filter) that drops TCP; the firewall detector finds it and TCP sessions go as UDP with the TCP
 * header inside, intact end to end; without it TCP stays TCP; always-transform; a malformed transformed
 * packet is dropped and counted.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import type { SvrConfig, UdpTransformSettings } from '../../../src/model/config.js';
import { PacketInfo, parsePacket, PROTO_TCP, PROTO_UDP } from '../../../src/packet/ip.js';
import { readTcpMss } from '../../../src/packet/tcp-mss.js';
import { fillIpv4HeaderChecksum, fillL4Checksum, setIpLength } from '../../../src/packet/rewrite.js';
import { hasCookie } from '../../../src/packet/svr-metadata.js';
import { createMemoryLab, type MemoryLab } from '../../../src/sim/memory-lab.js';
import { MAX_ATTEMPTS, PROBE_WAIT_MS } from '../../../src/machines/firewall-detector.js';
import { exampleConfig, until } from '../../support/config.js';
import { recordWire } from '../../support/wire.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function config(udpTransform: UdpTransformSettings | undefined, wanMtu?: number): Promise<SvrConfig> {
  const c = await exampleConfig();
  if (wanMtu !== undefined) for (const r of c.authority.routers) for (const i of r.interfaces) if (i.kind === 'wan') i.mtu = wanMtu;
  if (udpTransform !== undefined) {
    for (const r of c.authority.routers) for (const i of r.interfaces) for (const n of i.neighborhoods) n.udpTransform = udpTransform;
  }
  return c;
}

/** A stateful middlebox that knows no SVR: every TCP packet on the wan is dropped (UDP passes). */
function dropTcp(): { filter: (p: Uint8Array) => boolean; dropped: () => number } {
  let n = 0;
  return {
    filter: (p) => {
      const pi = new PacketInfo();
      if (parsePacket(p, 0, p.length, pi) === 0 && pi.protocol === PROTO_TCP) {
        n++;
        return false;
      }
      return true;
    },
    dropped: () => n,
  };
}

/** One TCP connection, 200 kB each way through the lab; asserts both directions intact. */
async function transfer(lab: MemoryLab): Promise<void> {
  const up = randomBytes(200_000);
  const down = randomBytes(200_000);
  let serverGot = '';
  lab.servers[0]!.tcpListen(80, (conn) => void conn.readAll().then((d) => { serverGot = sha(d); conn.write(down); conn.end(); }));
  const conn = await lab.clients[0]!.tcpConnect('198.18.3.20', 80);
  conn.write(up);
  conn.end();
  const got = await conn.readAll();
  assert.ok(await until(() => serverGot !== ''), 'the server read the upload');
  assert.is(serverGot, sha(up), 'upload intact');
  assert.is(sha(got), sha(down), 'download intact');
}

const transformOf = (lab: MemoryLab, router: 'r1' | 'r2') => lab[router].peers()[0]!.paths[0]!;

test('auto-detect with a middlebox dropping TCP: the path switches to UDP transform by itself, and a TCP transfer goes as UDP, intact', async () => {
  const box = dropTcp();
  // BFD liveness: with static liveness nothing says a path is up, and nothing is probed
  const lab = createMemoryLab({ config: await config({ mode: 'auto-detect', detectInterval: 300 }), clients: ['198.18.1.10'], servers: ['198.18.3.20'], wanFilter: box.filter, router: { liveness: 'bfd' } });
  const wire = recordWire(lab.wan);
  try {
    // r1's own verdict (r2's, told on the control channel, may switch it a moment earlier)
    assert.ok(await until(() => transformOf(lab, 'r1').transport === 'udp-transform' && (transformOf(lab, 'r1').udpTransform?.episodes ?? 0) >= 1, MAX_ATTEMPTS * PROBE_WAIT_MS + 8000), `r1 switched: ${JSON.stringify(transformOf(lab, 'r1'))}`);
    // r2 probes on its own: its last probes would otherwise reach the middlebox during the transfer (seen under load)
    assert.ok(await until(() => transformOf(lab, 'r2').transport === 'udp-transform' && (transformOf(lab, 'r2').udpTransform?.episodes ?? 0) >= 1, MAX_ATTEMPTS * PROBE_WAIT_MS + 8000), `r2 switched: ${JSON.stringify(transformOf(lab, 'r2'))}`);
    const view = transformOf(lab, 'r1').udpTransform!;
    // what the node's alarms observe every second is what `show peers` says of the same fields
    const full = lab.r1.peers()[0]!;
    const p0 = full.paths[0]!;
    assert.equal(lab.r1.peerConditions(), [{ name: full.name, reachable: full.reachable, paths: [{ name: p0.name, up: p0.up, bfd: p0.bfd, mtu: p0.mtu, mtuState: p0.mtuState, transport: p0.transport, udpTransform: p0.udpTransform }] }]);
    assert.is(p0.bfd, 'up');
    assert.is(lab.r1.peerConditions()[0]!.paths[0]!.udpTransform, p0.udpTransform, 'an unchanged path\'s view is not built again');
    assert.equal(view.reasons, ['TCP SYN', 'Mid-flow', 'TCP SYN Jumbo'], 'every probe kind was dropped');
    assert.ok(box.dropped() >= 3 * MAX_ATTEMPTS, `the middlebox dropped the probes (${box.dropped()})`);
    const probesBefore = box.dropped();
    await transfer(lab);
    assert.is(box.dropped() - probesBefore, 0, 'no TCP of the session reached the middlebox');
    const session = wire.filter((w) => w.protocol === PROTO_UDP && w.sport !== 1280 && w.dport !== 1280);
    assert.ok(session.length > 100, `the session crossed the wan as UDP (${session.length} packets)`);
    const pi = new PacketInfo();
    const syn = session.find((w) => w.dir === 'a->b' && w.meta !== null)!;
    assert.ok(syn !== undefined && syn.meta!.tenant !== undefined, 'the first packet carries forward metadata');
    assert.is(syn.meta!.tcpSyn, true, 'TLV 12 on the SYN carried as UDP (wire format §3.3)');
    const withMeta = session.filter((w) => w.meta !== null);
    assert.ok(withMeta.length >= 2 && withMeta.filter((w) => w.meta!.tcpSyn).length === 1, `only the SYN has TLV 12 (${withMeta.length} packets with metadata)`);
    const plain = session.find((w) => w.dir === 'a->b' && w.meta === null)!;
    parsePacket(plain.bytes, 0, plain.bytes.length, pi);
    assert.is(plain.bytes[pi.payload + 2]! * 256 + plain.bytes[pi.payload + 3]!, 80, 'a later packet: the TCP header (original ports) right after the UDP header, no metadata');
    const c1 = lab.r1.counters();
    const c2 = lab.r2.counters();
    assert.is(c1['tcp-sessions-transformed'], 1);
    assert.ok((c1['udp-transform-activations'] ?? 0) >= 1);
    assert.ok((c2['firewall-probes-answered'] ?? 0) === 0, 'r2 never got a probe through the middlebox');
  } finally {
    await lab.close();
  }
});

test('a firewall that drops only the peer\'s TCP (r2 -> r1): r2 finds it and tells r1 (0xd1), r1 carries its TCP sessions as UDP too, and a transfer opened by r1\'s client is intact', async () => {
  let dropped = 0;
  const oneWay = (p: Uint8Array, dir: string): boolean => {
    const pi = new PacketInfo();
    if (dir !== 'b->a' || parsePacket(p, 0, p.length, pi) !== 0 || pi.protocol !== PROTO_TCP) return true;
    dropped++;
    return false;
  };
  const lab = createMemoryLab({ config: await config({ mode: 'auto-detect', detectInterval: 300 }), clients: ['198.18.1.10'], servers: ['198.18.3.20'], wanFilter: oneWay, router: { liveness: 'bfd' } });
  try {
    assert.ok(await until(() => transformOf(lab, 'r2').transport === 'udp-transform', MAX_ATTEMPTS * PROBE_WAIT_MS + 8000), `r2 found its direction blocked: ${JSON.stringify(transformOf(lab, 'r2'))}`);
    assert.ok(await until(() => transformOf(lab, 'r1').transport === 'udp-transform' && (transformOf(lab, 'r1').udpTransform?.episodes ?? 0) >= 1, 4000), `r1 follows r2's verdict: ${JSON.stringify(transformOf(lab, 'r1'))}`);
    const r1 = transformOf(lab, 'r1').udpTransform!;
    assert.equal(r1.reasons, [], 'r1\'s own probes got through');
    assert.equal(r1.peerReasons, ['TCP SYN', 'Mid-flow', 'TCP SYN Jumbo'], 'what r2 found, as r2 told it');
    assert.is(r1.active, true);
    assert.ok((lab.r1.counters()['firewall-verdicts-received'] ?? 0) >= 1 && (lab.r2.counters()['firewall-verdicts-sent'] ?? 0) >= 1);
    const before = dropped;
    await transfer(lab);
    assert.is(dropped - before, 0, 'none of the session\'s packets met the firewall: r2\'s replies went as UDP');
    assert.is(lab.r1.counters()['tcp-sessions-transformed'], 1);
  } finally {
    await lab.close();
  }
});

test('auto-detect without a middlebox: probes answered, TCP stays TCP', async () => {
  const lab = createMemoryLab({ config: await config({ mode: 'auto-detect', detectInterval: 300 }), clients: ['198.18.1.10'], servers: ['198.18.3.20'], router: { liveness: 'bfd' } });
  const wire = recordWire(lab.wan);
  try {
    assert.ok(await until(() => (transformOf(lab, 'r1').udpTransform?.episodes ?? 0) >= 1, MAX_ATTEMPTS * PROBE_WAIT_MS + 8000), 'r1 reached a verdict');
    assert.is(transformOf(lab, 'r1').transport, 'tcp');
    assert.ok((lab.r2.counters()['firewall-probes-answered'] ?? 0) >= 3, 'r2 answered the probes');
    await transfer(lab);
    assert.ok(wire.some((w) => w.protocol === PROTO_TCP && w.dport !== 1283 && w.payloadLength > 1000), 'the session crossed the wan as TCP');
    assert.ok(wire.some((w) => w.meta?.forward !== undefined) && wire.every((w) => w.meta === null || !w.meta.tcpSyn), 'no TLV 12 on a TCP SYN that stays TCP');
    assert.is(lab.r1.counters()['tcp-sessions-transformed'] ?? 0, 0);
  } finally {
    await lab.close();
  }
});

test('always-transform: TCP as UDP from the start, no probes; the SYN MSS leaves room for the 8-byte UDP header', async () => {
  const plain = createMemoryLab({ config: await config(undefined, 1400), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  const mss = async (lab: MemoryLab): Promise<number> => {
    const wire = recordWire(lab.wan);
    await transfer(lab);
    const syn = wire.find((w) => w.dir === 'a->b' && w.meta !== null)!;
    const pi = new PacketInfo();
    parsePacket(syn.bytes, 0, syn.bytes.length, pi);
    if (pi.protocol === PROTO_UDP) {
      // the TCP header follows the metadata: parse it as the packet the peer restores
      const at = pi.payload + syn.meta!.headerLength + syn.meta!.payloadLength;
      return readTcpMss(syn.bytes, Object.assign(new PacketInfo(), { ...pi, l4: at, protocol: PROTO_TCP, payload: at + (syn.bytes[at + 12]! >> 4) * 4, tcpFlags: syn.bytes[at + 13]! }));
    }
    return readTcpMss(syn.bytes, pi);
  };
  const always = createMemoryLab({ config: await config({ mode: 'always-transform', detectInterval: 300 }, 1400), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  try {
    const before = await mss(plain);
    assert.ok(await until(() => transformOf(always, 'r1').transport === 'udp-transform', 2000));
    const after = await mss(always);
    assert.is(after, before - 8, `MSS ${after} = ${before} - 8`);
    assert.is(always.r1.counters()['firewall-probes-sent'] ?? 0, 0, 'no probes with always-transform');
    assert.is(always.r1.counters()['tcp-sessions-transformed'], 1);
  } finally {
    await plain.close();
    await always.close();
  }
});

test('a transformed packet whose inner TCP header does not fit is dropped and counted (drop-bad-transformed); TCP retransmits, the transfer is intact', async () => {
  const c = await config({ mode: 'always-transform', detectInterval: 300 });
  // no HMAC on the path, so the damaged packet reaches the transform (a signed one would fail its HMAC first)
  c.authority.securityPolicies.push({
    name: 'open', hmacMode: 'disabled', hmacCipher: 'sha256-128', encrypt: false, encryptionCipher: 'aes-cbc-256',
    adaptiveEncryption: false, keyVersion: 1, rekeyDelay: 30, keyExchange: 'static', rekeyInterval: 120,
  });
  for (const r of c.authority.routers) for (const i of r.interfaces) if (i.kind === 'wan') i.security = 'open';
  const lab = createMemoryLab({ config: c, clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  try {
    assert.ok(await until(() => transformOf(lab, 'r1').transport === 'udp-transform', 2000));
    let damaged = 0;
    lab.wan.setFilter((p, dir) => {
      const pi = new PacketInfo();
      if (damaged > 0 || dir !== 'a->b' || parsePacket(p, 0, p.length, pi) !== 0 || pi.protocol !== PROTO_UDP || pi.dstPort === 1280) return true;
      if (hasCookie(p, pi.payload, pi.end - pi.payload) || pi.end - pi.payload < 1000) return true;
      p[pi.payload + 12] = 0xf0; // the data offset says 60 bytes of TCP header ...
      const cut = pi.payload + 50; // ... and the packet ends inside them
      pi.end = cut;
      setIpLength(p, pi, cut);
      fillIpv4HeaderChecksum(p, pi.l3);
      fillL4Checksum(p, pi);
      damaged++;
      return true;
    });
    await transfer(lab);
    assert.is(damaged, 1);
    assert.is(lab.r2.counters()['drop-bad-transformed'], 1, 'the damaged packet was dropped at the transform');
  } finally {
    await lab.close();
  }
});

test('the transform turning on moves open TCP sessions to UDP: a connection half-way through continues through a TCP-dropping middlebox, intact', async () => {
  let middlebox = false;
  const box = dropTcp();
  const lab = createMemoryLab({ config: await config(undefined), clients: ['198.18.1.10'], servers: ['198.18.3.20'], wanFilter: (p) => !middlebox || box.filter(p) });
  try {
    const first = randomBytes(100_000);
    const second = randomBytes(100_000);
    let serverGot = '';
    lab.servers[0]!.tcpListen(80, (conn) => void conn.readAll().then((d) => { serverGot = sha(d); conn.write(Buffer.from('done')); conn.end(); }));
    const conn = await lab.clients[0]!.tcpConnect('198.18.3.20', 80);
    conn.write(first);
    assert.ok(await until(() => (lab.r2.counters()['rx-packets'] ?? 0) > 60), 'the first half is on its way as TCP');
    // a firewall appears; the detector's verdict turns the transform on (here directly, as its verdict does)
    middlebox = true;
    lab.r1.host.setPathTransform(0, true);
    conn.write(second);
    conn.end();
    const reply = await conn.readAll();
    assert.ok(await until(() => serverGot !== ''), 'the server read everything');
    assert.is(serverGot, sha(Buffer.concat([first, second])), 'both halves intact');
    assert.is(Buffer.from(reply).toString(), 'done');
    assert.is(lab.r1.counters()['tcp-sessions-moved-to-udp'], 1);
    assert.ok((lab.r2.counters()['sessions-migrated'] ?? 0) >= 1, 'r2 followed the session to its UDP waypoint ports');
  } finally {
    await lab.close();
  }
});

test.run();
