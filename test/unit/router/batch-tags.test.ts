/**
 * HMAC tags a batch at a time (src/dataplane/batch-tags.ts): r1 signs a batch's packets in one native call per
 * key, r2 checks a frame's tags in one call before its per-packet pass. Golden: every signed packet r1 sends
 * equals what signing it alone gives (the tag node:crypto computes over its payload and replay block, the L4
 * checksum recomputed from scratch); a frame mixing good, tampered and replayed packets gets the verdicts one
 * packet at a time gives. Both with the batch path on and off (SVR_BATCH_HMAC=0).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHmac } from 'node:crypto';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { compileRouter } from '../../../src/model/compile.js';
import { PacketInfo, parsePacket } from '../../../src/packet/ip.js';
import { fillL4Checksum } from '../../../src/packet/rewrite.js';
import { REPLAY_BLOCK_LENGTH } from '../../../src/packet/svr-trailer.js';
import type { SvrConfig } from '../../../src/model/config.js';
import { exampleConfig, sleep, until } from '../../support/config.js';
import { withSwitch } from '../../support/env.js';
import { heldBurst } from '../../support/held-burst.js';

const TAG = 16; // sha256-128

/** The example config; its path policy (`internal`) in hmac mode `mode`. */
async function signingConfig(mode: 'regular' | 'time-based'): Promise<SvrConfig> {
  const config = await exampleConfig();
  const policy = config.authority.securityPolicies.find((p) => p.name === 'internal')!;
  policy.hmacMode = mode;
  return config;
}

/** After one exchange, 40 datagrams in one turn (one batch at r1) after the session is up; the r1->r2 data packets r2 never got (filtered). */
async function burst(config: SvrConfig): Promise<{ lab: ReturnType<typeof createMemoryLab>; sent: Uint8Array[]; delivered: () => number }> {
  const lab = createMemoryLab({ config, clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  let delivered = 0;
  let answered = 0;
  lab.servers[0]!.udpBind(7, (d, from) => { if (delivered++ === 0) lab.servers[0]!.udpSend(7, from.address, from.port, d); });
  lab.clients[0]!.udpBind(41000, () => answered++);
  lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from('open the session'));
  assert.ok(await until(() => answered === 1), 'the session is open both ways (no metadata on what follows)');
  const sent = await heldBurst(lab);
  return { lab, sent, delivered: () => delivered };
}

for (const on of [true, false]) {
  test(`golden (batch tags ${on ? 'on' : 'off'}): each signed packet carries the tag node:crypto computes for it and a checksum equal to a recompute; counters one apart`, async () => {
    const config = await signingConfig('regular');
    const { lab, sent } = await withSwitch('SVR_BATCH_HMAC', on, () => burst(config));
    const tables = compileRouter(config, 'r1', 1);
    const key = tables.paths[0]!.hmac.key;
    assert.is(tables.paths[0]!.hmac.mode, 'regular');
    const pi = new PacketInfo();
    let counter = -1;
    for (const p of sent) {
      assert.is(parsePacket(p, 0, p.length, pi), 0);
      const tagAt = pi.end - TAG;
      const want = createHmac('sha256', key).update(p.subarray(pi.payload, tagAt)).digest().subarray(0, TAG);
      assert.equal([...p.subarray(tagAt, pi.end)], [...want], 'the tag');
      const again = p.slice();
      fillL4Checksum(again, pi);
      assert.equal([...again.subarray(pi.l4 + 6, pi.l4 + 8)], [...p.subarray(pi.l4 + 6, pi.l4 + 8)], 'the UDP checksum');
      const block = tagAt - REPLAY_BLOCK_LENGTH;
      const c = Buffer.from(p.subarray(block + 2, block + REPLAY_BLOCK_LENGTH)).readUIntBE(2, 6);
      if (counter >= 0) assert.is(c, counter + 1, 'replay counters in send order');
      counter = c;
    }
    await lab.close();
  });

  test(`one frame of good, tampered and replayed packets (time-based, batch tags ${on ? 'on' : 'off'}): verdicts as one at a time`, async () => {
    const { lab, sent, delivered } = await withSwitch('SVR_BATCH_HMAC', on, async () => burst(await signingConfig('time-based')));
    const before = delivered();
    const tampered = sent[1]!.slice();
    tampered[tampered.length - TAG - REPLAY_BLOCK_LENGTH - 3]! ^= 0x40;
    // one send = one batch at r2: good, tampered, its good original, a replay of the first, the rest
    lab.wan.a.send(sent[0]!, tampered, sent[1]!, sent[0]!, ...sent.slice(2));
    assert.ok(await until(() => delivered() === before + 40), `delivered ${delivered() - before} of 40`);
    await sleep(20);
    const c = lab.r2.counters();
    assert.is(c['drop-bad-hmac'], 1, 'the tampered one');
    assert.is(c['replay-seen'], 1, 'the replay');
    assert.is(delivered(), before + 40);
    await lab.close();
  });
}

test.run();
