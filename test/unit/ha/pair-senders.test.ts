/**
 * A pair's nodes sign with their own replay-block senders (node/ha.ts pairRouterOptions): the first node 0..,
 * the second 128.., so the peer keeps a replay window per node and accepts both while both forward during a
 * planned switchover (the old active's counters are far below the new active's, raised to the time << 22).
 * Here: both routers of a memory lab built with sender base 128: their packets carry sender 128 and the peer
 * accepts them (the echo comes back, nothing refused as a replay).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { pairRouterOptions, PAIR_SENDER_STRIDE } from '../../../src/node/ha.js';
import { replaySender } from '../../../src/packet/svr-trailer.js';
import type { Redundancy } from '../../../src/model/config.js';
import { recordWire, SIGNED_TRAILER } from '../../support/wire.js';
import { exampleConfig, until } from '../../support/config.js';

test('the second node of a pair signs as sender 128; the peer accepts it', async () => {
  const config = await exampleConfig();
  const lab = createMemoryLab({ config, clients: ['198.18.1.10'], servers: ['198.18.3.20'], router: { replaySenderBase: PAIR_SENDER_STRIDE } });
  try {
    const wire = recordWire(lab.wan);
    const replies: string[] = [];
    lab.servers[0]!.udpBind(7, (data, from) => lab.servers[0]!.udpSend(7, from.address, from.port, data));
    lab.clients[0]!.udpBind(40000, (data) => replies.push(Buffer.from(data).toString()));
    for (let i = 0; i < 3; i++) {
      lab.clients[0]!.udpSend(40000, '198.18.3.20', 7, Buffer.from(`ping ${i}`));
      assert.ok(await until(() => replies.length === i + 1), `reply ${i}`);
    }
    const senders = (dir: string) => [...new Set(wire.filter((w) => w.dir === dir && w.protocol === 17).map((w) => replaySender(w.bytes, w.bytes.length - SIGNED_TRAILER)))];
    const [out, back] = [senders('a->b'), senders('b->a')];
    assert.equal(out, [128], 'r1 -> r2');
    assert.equal(back, [128], 'r2 -> r1');
    assert.is((await lab.r2.counters())['drop-replay'] ?? 0, 0);
  } finally {
    await lab.close();
  }
});

test('pairRouterOptions: the nodes\' senders start at 0 and 128, the BFD discriminators are the same on both', async () => {
  const config = await exampleConfig();
  const r1 = config.authority.routers.find((r) => r.name === 'r1')!;
  const redundancy: Redundancy = {
    nodes: [{ name: 'r1a', priority: 200, syncAddress: '198.18.250.1' }, { name: 'r1b', priority: 100, syncAddress: '198.18.250.2' }],
    preempt: false, heartbeatInterval: 100, heartbeatMisses: 3, syncPort: 1, sharedKey: '', sharedAddresses: [],
  };
  const me = { ...r1, redundancy };
  const [a, b] = [pairRouterOptions(me, 'r1a'), pairRouterOptions(me, 'r1b')];
  assert.equal([a.replaySenderBase, b.replaySenderBase], [0, 128]);
  assert.is(a.bfd.discriminator('wan0->r2/wan0'), b.bfd.discriminator('wan0->r2/wan0'));
});

test.run();
