import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import type { PathMessage } from '../../../src/control/router.js';
import { exampleConfig, until } from '../../support/config.js';
import { SIGNED_TRAILER, recordWire } from '../../support/wire.js';

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
  await until(() => (lab.r2.counters()['drop-bad-hmac'] ?? 0) === 1);
  assert.is(lab.r2.counters()['drop-bad-hmac'], 1);
  assert.is(got.length, 1);
  // a replayed message is dropped too (its counter was seen)
  lab.wan.a.send(wire[0]!.bytes);
  await until(() => (lab.r2.counters()['drop-replay'] ?? 0) === 1);
  assert.is(lab.r2.counters()['drop-replay'], 1);
  assert.is(got.length, 1);
  await lab.close();
});

test.run();
