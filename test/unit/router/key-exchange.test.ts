/**
 * The key exchange driving two routers' data paths (what wave 2 wires into path control): handshake
 * messages over the path control channel (UDP 1280), keys installed with Dataplane.setPathKeys. A UDP
 * stream keeps flowing across several rekeys with nothing lost; a key retired after its overlap is refused.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { identity, peerKey } from '../../../src/crypto/handshake.js';
import { generateKeyPair } from '../../../src/crypto/noise.js';
import { PathKeyExchange } from '../../../src/paths/key-exchange.js';
import { pathMessageKind } from '../../../src/paths/messages.js';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import type { Router } from '../../../src/control/router.js';
import type { InThreadHost } from '../../../src/control/in-thread-host.js';
import { exampleConfig, sleep, until } from '../../support/config.js';
import { SIGNED_TRAILER } from '../../support/wire.js';
import { decodeMetadata } from '../../../src/packet/svr-metadata-decode.js';

function exchangeFor(router: Router<InThreadHost>, self: ReturnType<typeof identity>, peer: Uint8Array): PathKeyExchange {
  const ex = new PathKeyExchange(self, [{ path: 0, name: router.tables.paths[0]!.name, peer: peerKey(peer), metaLength: 0 }], {
    send: (path, bytes) => router.sendPathMessage(path, bytes),
    setKeys: (path, keys, activeAt, overlapMs) => router.host.dataplane.setPathKeys(path, keys, activeAt, overlapMs),
    dropKeys: (path) => router.host.dataplane.dropPathKeys(path),
    now: Date.now,
  }, { timings: { rekeyAfterMs: 400, retryMs: 200, overlapMs: 300, confirmTimeoutMs: 400 } });
  router.pathMessages$.subscribe((m) => {
    if (pathMessageKind(m.payload) === 'handshake') ex.onMessage(m.path, m.payload);
  });
  return ex;
}

test('exchanged keys carry a UDP stream across several rekeys: nothing lost, new key ids on the wire, old keys refused later', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  const id1 = identity(generateKeyPair());
  const id2 = identity(generateKeyPair());
  const ex1 = exchangeFor(lab.r1, id1, id2.keys.publicKey);
  const ex2 = exchangeFor(lab.r2, id2, id1.keys.publicKey);
  const wire: Uint8Array[] = [];
  lab.wan.observe((pkt, dir) => { if (dir === 'a->b' && pkt[20] !== 0x05) wire.push(pkt.slice()); }); // not the control channel (port 1280)
  const keyIdOf = (p: Uint8Array) => p[p.length - SIGNED_TRAILER]!;
  const seen = new Set<number>();
  lab.servers[0]!.udpBind(7, (d) => seen.add(Number(Buffer.from(d).toString().split(' ')[1])));
  let seq = 0;
  const timer = setInterval(() => lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from(`n ${seq++}`)), 5);
  await sleep(100);
  ex1.start(0);
  assert.ok(await until(() => ex1.counters['handshake-rekeyed'] >= 3, 5000), `rekeyed ${ex1.counters['handshake-rekeyed']} times`);
  clearInterval(timer);
  await sleep(50);
  assert.equal([...Array(seq).keys()].filter((n) => !seen.has(n)), [], `all ${seq} datagrams arrived`);
  for (const r of [lab.r1, lab.r2]) {
    const c = r.counters();
    assert.equal([c['drop-unknown-key'] ?? 0, c['drop-bad-hmac'] ?? 0, c['drop-replay'] ?? 0], [0, 0, 0], 'no key trouble on the way');
  }
  const ids = [...new Set(wire.map(keyIdOf))];
  assert.ok(ids.length >= 4, `the static key, then one key id per exchange (${ids.join(', ')})`);
  assert.ok(ex1.counters['handshake-established'] + ex2.counters['handshake-established'] >= 1);
  // a new session's metadata names the exchanged key: Security ID = the receiver's index, its low byte the key id
  lab.clients[0]!.udpSend(41999, '198.18.3.20', 7, Buffer.from('n 999999'));
  assert.ok(await until(() => seen.has(999999)));
  const first = wire.at(-1)!;
  const meta = decodeMetadata(first, 28, first.length - 28 - SIGNED_TRAILER)!;
  assert.is((meta.securityId! & 0xff), keyIdOf(first), `TLV 16 ${meta.securityId} ends in the trailer's key id`);
  assert.is.not(meta.securityId, 1, 'not the static key-version');
  // a packet under the first exchanged key, long after its overlap: its key id is unknown to r2 now
  const old = wire.find((p) => keyIdOf(p) === ids[1])!;
  lab.wan.a.send(old);
  assert.ok(await until(() => (lab.r2.counters()['drop-unknown-key'] ?? 0) === 1), 'retired');
  ex1.stop();
  ex2.stop();
  await lab.close();
});

test.run();
