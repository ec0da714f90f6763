import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import type { PathMessage } from '../../../src/control/router.js';
import { exampleConfig, until, waitFor } from '../../support/config.js';
import { SIGNED_TRAILER, recordWire } from '../../support/wire.js';
import { twoPathsConfig } from '../../support/two-paths.js';
import { PacketInfo, parsePacket } from '../../../src/packet/ip.js';
import { fillL4Checksum } from '../../../src/packet/rewrite.js';
import { withSwitch } from '../../support/env.js';

test('path control channel: UDP 1280 between the waypoints, signed (replay block + HMAC), delivered to the peer as a message', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: [], servers: [] });
  const wire = recordWire(lab.wan);
  const got: PathMessage[] = [];
  lab.r2.pathMessages$.subscribe((m) => got.push(m));
  assert.ok(lab.r1.sendPathMessage(0, Buffer.from('hello peer')));
  assert.ok(await until(() => got.length === 1));
  assert.is(Buffer.from(got[0]!.payload).toString(), 'hello peer');
  assert.is(got[0]!.pathName, 'wan0->r1/wan0');
  assert.equal([wire[0]!.src, wire[0]!.dst, wire[0]!.sport, wire[0]!.dport], ['198.18.12.1', '198.18.12.2', 1280, 1280]);
  assert.is(wire[0]!.payloadLength, 'hello peer'.length + SIGNED_TRAILER, 'replay block and HMAC trailer');
  // a forged message is dropped
  const forged = wire[0]!.bytes.slice();
  forged[forged.length - 20]! ^= 1;
  lab.wan.a.send(forged);
  await waitFor('drop-bad-hmac', () => (lab.r2.counters()['drop-bad-hmac'] ?? 0) === 1);
  assert.is(lab.r2.counters()['drop-bad-hmac'], 1);
  assert.is(got.length, 1);
  // a replayed message is dropped too (its counter was seen)
  lab.wan.a.send(wire[0]!.bytes);
  await waitFor('drop-replay', () => (lab.r2.counters()['drop-replay'] ?? 0) === 1);
  assert.is(lab.r2.counters()['drop-replay'], 1);
  assert.is(got.length, 1);
  await lab.close();
});

test('batchPathMessages: the messages sent inside leave in one transmit of the wan port, each signed, in order', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: [], servers: [] });
  const got: string[] = [];
  lab.r2.pathMessages$.subscribe((m) => got.push(Buffer.from(m.payload).toString()));
  const port = lab.wan.a; // r1's side of the wan link
  const transmits: number[] = [];
  const transmit = port.transmit.bind(port);
  port.transmit = (data, offsets, lengths, count) => {
    transmits.push(count);
    transmit(data, offsets, lengths, count);
  };
  const sent: string[] = Array.from({ length: 300 }, (_, i) => `message ${i}`);
  lab.r1.batchPathMessages(() => {
    for (const m of sent) assert.ok(lab.r1.sendPathMessage(0, Buffer.from(m)));
    assert.equal(transmits, [256], 'while held: only a full batch (256) is written');
  });
  assert.equal(transmits, [256, 44], 'one transmit per 256 held packets (a batch), then the rest when the hold ends');
  assert.ok(await until(() => got.length === sent.length));
  assert.equal(got, sent, 'all arrived, verified by r2, in order');
  lab.r1.sendPathMessage(0, Buffer.from('alone'));
  assert.equal(transmits, [256, 44, 1], 'outside a hold: at once');
  await lab.close();
});

for (const many of [true, false]) {
  test(`held messages on two paths (two keys, SVR_HMAC_MANY ${many ? 'on' : 'off'}): tagged together at the flush, each verified by the peer, checksums right`, async () => {
    const lab = await withSwitch('SVR_HMAC_MANY', many, async () => createMemoryLab({ config: twoPathsConfig(), clients: [], servers: [], paths: 2 }));
    const got: string[] = [];
    lab.r2.pathMessages$.subscribe((m) => got.push(`${m.pathName} ${Buffer.from(m.payload).toString()}`));
    const wires = [recordWire(lab.wans[0]!), recordWire(lab.wans[1]!)];
    const sent: string[] = [];
    lab.r1.batchPathMessages(() => {
      for (let i = 0; i < 40; i++) assert.ok(lab.r1.sendPathMessage(i % 2, Buffer.from(`message ${i}`)));
    });
    assert.ok(await until(() => got.length === 40), `${got.length} of 40 arrived`);
    for (let i = 0; i < 40; i++) sent.push(`message ${i}`);
    assert.equal(got.map((g) => g.split(' ').slice(1).join(' ')).sort(), [...sent].sort(), 'every message arrived once');
    assert.equal(new Set(got.map((g) => g.split(' ')[0])).size, 2, 'on both paths');
    assert.is(lab.r2.counters()['drop-bad-hmac'] ?? 0, 0);
    const pi = new PacketInfo();
    for (const w of wires.flat().filter((x) => x.dir === 'a->b' && x.dport === 1280)) {
      assert.is(parsePacket(w.bytes, 0, w.bytes.length, pi), 0);
      const again = w.bytes.slice();
      fillL4Checksum(again, pi);
      assert.equal([...again.subarray(pi.l4 + 6, pi.l4 + 8)], [...w.bytes.subarray(pi.l4 + 6, pi.l4 + 8)], 'the UDP checksum');
    }
    await lab.close();
  });
}

test.run();
