/**
 * The key exchange wired into two routers (`key-exchange: handshake`): handshake messages travel unsigned
 * on the path control channel and nothing else does, keys reach the data path, a UDP stream keeps flowing
 * across several rekeys with nothing lost, a rekey also follows the packet count, old keys are refused
 * after their overlap, `security()` and `peers()` show key status, a router without its private key
 * refuses to start, and a config whose key file cannot be used is refused at that field.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { INITIATION_LENGTH, MSG_INITIATION } from '../../../src/crypto/handshake.js';
import { createRouter } from '../../../src/control/router.js';
import { MemoryLink } from '../../../src/io/memory/link.js';
import { MemorySegment } from '../../../src/io/memory/segment.js';
import { isSvrError, type ConfigErrorData } from '../../../src/errors.js';
import type { EventOf } from '../../../src/control/events.js';
import { createMemoryLab, type MemoryLab } from '../../../src/sim/memory-lab.js';
import { decodeMetadata } from '../../../src/packet/svr-metadata-decode.js';
import { buildUdp } from '../../../src/packet/build.js';
import { exampleConfig, sleep, until } from '../../support/config.js';
import { handshakeConfig } from '../../support/handshake-config.js';
import { SIGNED_TRAILER } from '../../support/wire.js';

const dir = mkdtempSync(join(tmpdir(), 'svr-kx-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

// rekey on count, not on time, and retry/confirmation waits far beyond any event-loop lag (the memory link loses
// nothing): at load 13-27 a 200 ms retry replaced an initiation before its response came, and with a 400 ms key
// period the keys were not agreed in 3 s or a rekey dropped datagrams (4 of 20 runs)
const REKEY_PACKETS = 60;
const TIMINGS = { rekeyAfterMs: 600_000, rekeyAfterPackets: REKEY_PACKETS, retryMs: 20_000, overlapMs: 300, confirmTimeoutMs: 20_000 };
const USAGE = { usageIntervalMs: 50 };
const PATH = 'wan0->r2/wan0';
const R1_WP = Uint8Array.of(198, 18, 12, 1);
const R2_WP = Uint8Array.of(198, 18, 12, 2);
const CONTROL = 1280;
const dport = (p: Uint8Array) => (p[22]! << 8) | p[23]!;
const payloadOf = (p: Uint8Array) => p.subarray(28);
const keyIdOf = (p: Uint8Array) => p[p.length - SIGNED_TRAILER]!;
const established = (lab: MemoryLab) => [lab.r1, lab.r2].every((r) => r.security().paths[0]!.tx !== undefined);

async function handshakeLab(timings: Record<string, number>, extra: { usageIntervalMs?: number } = {}): Promise<MemoryLab> {
  const { config } = handshakeConfig(await exampleConfig(), dir);
  return createMemoryLab({ config, clients: ['198.18.1.10'], servers: ['198.18.3.20'], router: { keyExchange: { timings, ...extra } } });
}

test('exchanged keys carry a UDP stream across several rekeys: handshakes unsigned, nothing lost, new key ids, old keys refused later', async () => {
  const lab = await handshakeLab(TIMINGS, USAGE);
  const wire: Uint8Array[] = [];
  const handshakes: Uint8Array[] = [];
  lab.wan.observe((pkt, d) => {
    if (dport(pkt) === CONTROL && pkt[28]! >= 0xc8 && pkt[28]! <= 0xcb) handshakes.push(pkt.slice());
    else if (dport(pkt) !== CONTROL && d === 'a->b') wire.push(pkt.slice());
  });
  assert.ok(await until(() => established(lab)), 'both routers have keys');
  const seen = new Set<number>();
  lab.servers[0]!.udpBind(7, (d) => seen.add(Number(Buffer.from(d).toString().split(' ')[1])));
  let seq = 0;
  const streamAt = performance.now();
  const timer = setInterval(() => lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from(`n ${seq++}`)), 5);
  const rekeys = () => lab.r1.security().paths[0]!.rekeys!; // one per handshake (r2 counts the same ones)
  const before = rekeys();
  assert.ok(await until(() => rekeys() >= before + 3, 30_000), `three rekeys, one per ${REKEY_PACKETS} packets (${rekeys() - before} after ${seq})`);
  await sleep(100); // packets under the newest key too
  clearInterval(timer);
  await sleep(50);
  assert.equal([...Array(seq).keys()].filter((n) => !seen.has(n)), [], `all ${seq} datagrams arrived`);
  for (const r of [lab.r1, lab.r2]) {
    const c = r.counters();
    assert.equal([c['drop-unknown-key'] ?? 0, c['drop-bad-hmac'] ?? 0, c['drop-replay'] ?? 0], [0, 0, 0], 'no key trouble on the way');
  }
  const init = handshakes.find((p) => p[28] === MSG_INITIATION)!;
  assert.is(payloadOf(init).length, INITIATION_LENGTH, 'an initiation travels unsigned: no replay block, no tag');
  const ids = [...new Set(wire.map(keyIdOf))];
  assert.ok(ids.length >= 3, `one key id per exchange (${ids.join(', ')})`);
  // r1 -> r2 and r2 -> r1 use different keys: a packet of one direction does not verify in the other
  const view = lab.r1.security().paths[0]!;
  assert.ok(view.tx!.keyId !== lab.r2.security().paths[0]!.tx!.keyId || view.tx!.securityId !== lab.r2.security().paths[0]!.tx!.securityId, 'distinct keys per direction');
  assert.is(view.keyExchange, 'handshake');
  const sinceStream = performance.now() - streamAt;
  assert.ok(view.lastHandshakeAgoMs! < sinceStream && view.nextRekeyInMs! <= 600_000 + 30_000, `a rekey during the stream: ${JSON.stringify(view)}`);
  assert.ok(view.tx!.packets >= 0 && view.rx.length >= 1);
  const peers = lab.r1.peers()[0]!.paths[0]!;
  assert.ok(peers.keyAgeMs! < sinceStream && peers.rekeys! >= 1, JSON.stringify(peers));
  // a new session's metadata names the exchanged key: Security ID = the receiver's index, its low byte the key id
  lab.clients[0]!.udpSend(41999, '198.18.3.20', 7, Buffer.from('n 999999'));
  assert.ok(await until(() => seen.has(999999)));
  const first = wire.filter((p) => dport(p) !== CONTROL).at(-1)!;
  const meta = decodeMetadata(first, 28, first.length - 28 - SIGNED_TRAILER)!;
  assert.is(meta.securityId! & 0xff, keyIdOf(first), `TLV 16 ${meta.securityId} ends in the trailer's key id`);
  // a packet under the first exchanged key, long after its overlap: its key id is unknown to r2 now
  const old = wire.find((p) => keyIdOf(p) === ids[0])!;
  const unknownBefore = lab.r2.counters()['drop-unknown-key'] ?? 0;
  lab.wan.a.send(old);
  assert.ok(await until(() => (lab.r2.counters()['drop-unknown-key'] ?? 0) === unknownBefore + 1), 'retired');
  await lab.close();
});

test('only handshake messages travel unsigned: an unsigned BFD packet and a handshake-shaped packet on a static path are dropped', async () => {
  const lab = await handshakeLab(TIMINGS);
  assert.ok(await until(() => established(lab)));
  const consumed = () => lab.r2.counters()['consumed-path-messages'] ?? 0;
  const refused = () => (lab.r2.counters()['drop-bad-hmac'] ?? 0) + (lab.r2.counters()['drop-unknown-key'] ?? 0);
  const before = [consumed(), refused()];
  const bfd = Uint8Array.of(0x20, 0x40, 3, 24, ...new Array(20).fill(1));
  lab.wan.a.send(buildUdp({ src: R1_WP, dst: R2_WP, srcPort: CONTROL, dstPort: CONTROL, payload: bfd }));
  assert.ok(await until(() => refused() === before[1]! + 1), 'unsigned BFD refused');
  assert.is(consumed(), before[0], 'nothing reached control');
  await lab.close();
  // a static path: a handshake-shaped control packet is not a handshake there
  const staticLab = createMemoryLab({ config: await exampleConfig(), clients: [], servers: [] });
  const shaped = new Uint8Array(INITIATION_LENGTH);
  shaped[0] = MSG_INITIATION;
  assert.is(staticLab.r1.sendPathMessage(0, shaped), false, 'not sent on a static path');
  staticLab.wan.a.send(buildUdp({ src: R1_WP, dst: R2_WP, srcPort: CONTROL, dstPort: CONTROL, payload: shaped }));
  const trailer = () => (staticLab.r2.counters()['drop-bad-hmac'] ?? 0) + (staticLab.r2.counters()['drop-unknown-key'] ?? 0);
  assert.ok(await until(() => trailer() === 1), 'refused by the trailer check');
  assert.is(staticLab.r2.counters()['consumed-path-messages'] ?? 0, 0);
  await staticLab.close();
});

test('a rekey also follows the packet count of the tx key (summed over the data path)', async () => {
  const lab = await handshakeLab({ ...TIMINGS, rekeyAfterPackets: 100 }, USAGE);
  assert.ok(await until(() => established(lab)));
  const rekeys = () => lab.r1.security().paths[0]!.rekeys! + lab.r2.security().paths[0]!.rekeys!;
  await sleep(300);
  assert.is(rekeys(), 0, 'no rekey on time (every 10 min)');
  lab.servers[0]!.udpBind(7, () => {});
  for (let i = 0; i < 150; i++) lab.clients[0]!.udpSend(42000 + i, '198.18.3.20', 7, Buffer.from('x'));
  assert.ok(await until(() => rekeys() >= 1), `rekeyed after 100 packets (${rekeys()})`);
  await lab.close();
});

test('a router whose handshake paths have no private key does not start; a config change keeping the paths keeps their keys', async () => {
  const { config } = handshakeConfig(await exampleConfig(), dir);
  const noFile = structuredClone(config);
  delete noFile.authority.routers[0]!.identity!.privateKeyFile;
  const link = new MemoryLink('w');
  const lan = new MemorySegment('l');
  try {
    createRouter(noFile, { lan0: lan.gatewayPort(), wan0: link.a }, { name: 'r1' });
    assert.unreachable('started without a private key');
  } catch (e) {
    assert.ok(isSvrError(e) && e.code === 'SVR_ERR_IDENTITY_KEY' && e.message.includes('private-key-file'), String(e));
  }
  const wrong = structuredClone(config);
  wrong.authority.routers[0]!.identity!.privateKeyFile = config.authority.routers[1]!.identity!.privateKeyFile!;
  assert.throws(() => createRouter(wrong, { lan0: lan.gatewayPort(), wan0: link.a }, { name: 'r1' }), /does not belong to identity.public-key/);
  link.close();
  lan.close();

  const lab = createMemoryLab({ config, clients: [], servers: [], router: { keyExchange: { timings: TIMINGS } } });
  assert.ok(await until(() => established(lab)));
  const key = lab.r1.security().paths[0]!.tx!;
  const more = structuredClone(config);
  more.authority.services[1]!.timeouts.udp = 99;
  lab.r1.applyConfig(more);
  assert.equal(lab.r1.security().paths[0]!.tx!.securityId, key.securityId, 'same keys after an unrelated change');
  const rotated = structuredClone(config);
  rotated.authority.routers[0]!.identity!.publicKey = Buffer.alloc(32, 7).toString('base64'); // a new identity, but the old key file
  assert.throws(() => lab.r1.applyConfig(rotated), /does not belong to identity.public-key/, 'a config whose handshake path cannot get keys is refused');
  assert.equal(lab.r1.security().paths[0]!.tx!.securityId, key.securityId, 'and the running one stays');
  assert.equal(lab.r1.security().paths[0]!.path, PATH);
  await lab.close();
});

test('an identity key file that cannot be used is refused at its field path (data.problems, config.refused), the running config and keys stay', async () => {
  const { config } = handshakeConfig(await exampleConfig(), dir);
  const lab = createMemoryLab({ config, clients: [], servers: [], router: { keyExchange: { timings: TIMINGS } } });
  try {
    const refused: EventOf<'config.refused'>[] = [];
    lab.r1.events$.subscribe((e) => { if (e.type === 'config.refused') refused.push(e); });
    assert.ok(await until(() => established(lab)));
    const key = lab.r1.security().paths[0]!.tx!.securityId;
    const notAKey = join(dir, 'not-a-key');
    writeFileSync(notAKey, 'hello\n');
    const rotated = structuredClone(config);
    rotated.authority.routers[0]!.identity = { publicKey: Buffer.alloc(32, 7).toString('base64'), privateKeyFile: notAKey }; // a new identity, its file broken
    const gone = structuredClone(config);
    gone.authority.routers[0]!.identity = { publicKey: Buffer.alloc(32, 8).toString('base64'), privateKeyFile: join(dir, 'missing.key') };
    const other = structuredClone(config);
    other.authority.routers[0]!.identity = { publicKey: Buffer.alloc(32, 9).toString('base64'), privateKeyFile: config.authority.routers[1]!.identity!.privateKeyFile! };
    const path = 'authority.routers[0].identity.private-key-file';
    for (const [bad, what] of [[rotated, /not an X25519 private key/], [gone, /cannot read/], [other, /does not belong to identity.public-key/]] as const) {
      try {
        lab.r1.applyConfig(bad, { source: 'next.yaml' });
        assert.unreachable(`applied without a usable key (${what})`);
      } catch (e) {
        assert.ok(isSvrError(e, 'SVR_ERR_IDENTITY_KEY'), String(e));
        assert.ok(e.message.startsWith(`next.yaml: ${path}: `), e.message);
        assert.equal((e.data as ConfigErrorData).problems.map((p) => p.path), [path]);
        assert.match((e.data as ConfigErrorData).problems[0]!.message, what);
      }
      assert.equal(refused.at(-1)!.problems.map((p) => p.path), [path], 'config.refused names the field');
    }
    assert.is(refused.length, 3);
    assert.equal(lab.r1.runningConfig.authority.routers[0]!.identity, config.authority.routers[0]!.identity, 'the running config stays');
    assert.equal(lab.r1.security().paths[0]!.tx!.securityId, key, 'and its keys');
  } finally {
    await lab.close();
  }
});

test.run();
