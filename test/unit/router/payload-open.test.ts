/**
 * Encrypted payloads a frame at a time on receive (src/dataplane/payload-open.ts): r2 decrypts the frame's
 * established-session payloads in one native call per cipher before svr-in's per-packet pass. Golden, with
 * the batch path on and off (SVR_BATCH_OPEN=0): one frame at r2 mixing good packets, a replay, a ciphertext
 * tampered and re-signed (bad padding), an unknown key id, and a broken L4 checksum gets the same verdicts
 * and counters, and every packet delivered is byte for byte the one the client sent (TTL and IP checksum aside).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHmac } from 'node:crypto';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { compileRouter } from '../../../src/model/compile.js';
import { PacketInfo, parsePacket, PROTO_UDP } from '../../../src/packet/ip.js';
import { fillL4Checksum } from '../../../src/packet/rewrite.js';
import { REPLAY_BLOCK_LENGTH } from '../../../src/packet/svr-trailer.js';
import type { SvrConfig } from '../../../src/model/config.js';
import { exampleConfig, sleep, until } from '../../support/config.js';
import { withSwitch } from '../../support/env.js';
import { heldBurst } from '../../support/held-burst.js';

const TAG = 16; // sha256-128
const COUNTED = ['drop-bad-payload', 'drop-bad-checksum', 'drop-bad-hmac', 'replay-seen', 'drop-replay'] as const;

type Cipher = 'aes-cbc-256' | 'aes-gcm-256';

/** The example config, every packet signed (regular), every service's payload encrypted with `cipher`. */
async function encryptingConfig(cipher: Cipher): Promise<SvrConfig> {
  const config = await exampleConfig();
  config.authority.securityPolicies.find((p) => p.name === 'internal')!.hmacMode = 'regular';
  config.authority.securityPolicies.push({
    name: 'secret-payload', hmacMode: 'regular', hmacCipher: 'sha256-128', encrypt: true, encryptionCipher: cipher,
    adaptiveEncryption: false, keyVersion: 1, rekeyDelay: 30, keyExchange: 'static', rekeyInterval: 120,
  });
  for (const s of config.authority.services) s.security = 'secret-payload';
  return config;
}

/** p with TTL and IPv4 header checksum zeroed (what a router may change on the way). */
function sansTtl(p: Uint8Array): string {
  const q = Buffer.from(p);
  q[8] = 0;
  q[10] = 0;
  q[11] = 0;
  return q.toString('hex');
}

/** Re-signs p (regular mode: HMAC over payload and replay block) and recomputes its UDP checksum unless told not to. */
function resign(p: Uint8Array, key: Uint8Array, checksum: boolean): void {
  const pi = new PacketInfo();
  assert.is(parsePacket(p, 0, p.length, pi), 0);
  const tagAt = pi.end - TAG;
  p.set(createHmac('sha256', key).update(p.subarray(pi.payload, tagAt)).digest().subarray(0, TAG), tagAt);
  if (checksum) fillL4Checksum(p, pi);
}

interface Outcome {
  /** the client's datagrams (by fill byte) that came out at the server, in order */
  delivered: number[];
  counters: Record<string, number>;
}

/**
 * After one exchange opens the session, 40 datagrams in one turn, held back on the wire; then r2 gets them in
 * one frame with a replay, a tampered ciphertext, an unknown key id and a broken checksum among them.
 */
async function mixedFrame(cipher: Cipher, on: boolean): Promise<Outcome> {
  const config = await encryptingConfig(cipher);
  const key = compileRouter(config, 'r1', 1).paths[0]!.hmac.key;
  const lab = await withSwitch('SVR_BATCH_OPEN', on, async () => createMemoryLab({ config, clients: ['198.18.1.10'], servers: ['198.18.3.20'] }));
  const sentByClient = new Map<number, string>();
  const delivered: number[] = [];
  const pi = new PacketInfo();
  lab.clientLan.observe((p) => {
    if (parsePacket(p, 0, p.length, pi) === 0 && pi.protocol === PROTO_UDP && pi.dstPort === 7 && pi.end - pi.payload >= 100) sentByClient.set(p[pi.payload]!, sansTtl(p));
  });
  lab.serverLan.observe((p, from) => {
    if (!from.endsWith(':gateway') || parsePacket(p, 0, p.length, pi) !== 0 || pi.dstPort !== 7 || pi.end - pi.payload < 100) return;
    const fill = p[pi.payload]!;
    assert.is(sansTtl(p), sentByClient.get(fill), `datagram ${fill} came out as the client sent it`);
    delivered.push(fill);
  });
  let answered = 0;
  lab.servers[0]!.udpBind(7, (d, from) => { if (d.length < 100) lab.servers[0]!.udpSend(7, from.address, from.port, d); });
  lab.clients[0]!.udpBind(41000, () => answered++);
  lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from('open the session'));
  assert.ok(await until(() => answered === 1), 'the session is open both ways (no metadata on what follows)');
  const sent = await heldBurst(lab);
  const before = lab.r2.counters();

  const kidAt = (p: Uint8Array): number => p.length - TAG - REPLAY_BLOCK_LENGTH - 1;
  const tampered = sent[5]!.slice();
  tampered[kidAt(tampered) - 17]! ^= 0x40; // CBC: the last byte of the next-to-last block, so the padding byte flips; GCM: the tag
  resign(tampered, key, true);
  const unknownKey = sent[6]!.slice();
  unknownKey[kidAt(unknownKey)] = 9; // no key version 9
  resign(unknownKey, key, true);
  const badChecksum = sent[7]!.slice();
  badChecksum[kidAt(badChecksum) - 40]! ^= 0x01;
  resign(badChecksum, key, false); // authentic, but its UDP checksum no longer matches
  lab.wan.a.send(...sent.slice(0, 5), tampered, unknownKey, badChecksum, sent[0]!, ...sent.slice(8));
  assert.ok(await until(() => delivered.length === 37), `delivered ${delivered.length} of 37`);
  await sleep(20);
  const after = lab.r2.counters();
  const counters = Object.fromEntries(COUNTED.map((n) => [n, (after[n] ?? 0) - (before[n] ?? 0)]));
  await lab.close();
  return { delivered, counters };
}

for (const cipher of ['aes-cbc-256', 'aes-gcm-256'] as const) test(`a mixed frame (${cipher}): the same deliveries, bytes and counters with the batch path on and off (SVR_BATCH_OPEN=0)`, async () => {
  const batched = await mixedFrame(cipher, true);
  const single = await mixedFrame(cipher, false);
  const want = [0, 1, 2, 3, 4, ...Array.from({ length: 32 }, (_, i) => i + 8)];
  assert.equal(batched.delivered, want, 'batch on: the good ones, once, in order');
  assert.equal(single.delivered, want, 'batch off: the good ones, once, in order');
  assert.equal(batched.counters, { 'drop-bad-payload': 2, 'drop-bad-checksum': 1, 'drop-bad-hmac': 0, 'replay-seen': 1, 'drop-replay': 1 });
  assert.equal(single.counters, batched.counters);
});

test.run();
