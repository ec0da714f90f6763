/**
 * svr-out's native finish (src/dataplane/steady-send.ts) in a router: a TCP transfer each way through r1 -> r2
 * with it on and off (SVR_NATIVE_STEADY=0), TCP as TCP and as UDP (always-transform), HMAC only and with
 * AES-CBC and AES-GCM payloads; first packets (metadata), data and FIN all go through svr-out, and an
 * oversized UDP datagram (ICMP too big: finished in JS) is mixed in. Golden: every packet r1 sends has a valid
 * IP header checksum, an L4 checksum equal to a recompute and the tag node:crypto computes; the transfer is
 * intact; r1 accounts exactly the packets it sent, and the routers' counters do not depend on the switch.
 * (Byte-for-byte equality of the native and JS steps: test/unit/dataplane/steady-send.test.ts.)
 */
import * as assert from 'uvu/assert';
import { createHmac } from 'node:crypto';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { compileRouter } from '../../../src/model/compile.js';
import { SteadySend } from '../../../src/dataplane/steady-send.js';
import { SteadyReceive } from '../../../src/dataplane/steady-receive.js';
import { finish, sumBytes } from '../../../src/packet/checksum.js';
import { PacketInfo, parsePacket } from '../../../src/packet/ip.js';
import { verifyL4Checksum } from '../../../src/packet/rewrite.js';
import { until } from '../../support/config.js';
import { withSwitch, withSwitchSync } from '../../support/env.js';
import { requires } from '../../support/prerequisites.js';
import { steadyConfig, steadyCounters, steadyTransfer, type SteadyCipher } from '../../support/steady.js';
import { recordWire } from '../../support/wire.js';

const test = requires(import.meta.url); // the addon (skipped without it)
const available = withSwitchSync('SVR_NATIVE_STEADY', true, () => new SteadySend().on);

const TAG = 16; // sha256-128

/** packets the native finish took (SteadySend.finish watched), so a run shows which path it tested */
let finished = 0;
const finishOriginal = SteadySend.prototype.finish;
SteadySend.prototype.finish = function (this: SteadySend, ...args: Parameters<SteadySend['finish']>): void {
  if (!receiving) finished += this.count;
  finishOriginal.apply(this, args);
};
/** svr-in's finish (steady-receive.ts) goes through the same call: not counted here */
let receiving = false;
const receiveOriginal = SteadyReceive.prototype.finish;
SteadyReceive.prototype.finish = function (this: SteadyReceive, data: Uint8Array): void {
  receiving = true;
  try {
    receiveOriginal.call(this, data);
  } finally {
    receiving = false;
  }
};

/** One run: the transfer, the checks of every r1 -> r2 packet; the routers' counters (drops, sessions, sealing, transforms: not the timing-dependent re-signals). */
async function run(cipher: SteadyCipher, asUdp: boolean, on: boolean): Promise<{ r1: Record<string, number>; r2: Record<string, number> }> {
  const cfg = await steadyConfig(cipher, asUdp);
  const lab = await withSwitch('SVR_NATIVE_STEADY', on, async () => createMemoryLab({ config: cfg, clients: ['198.18.1.10'], servers: ['198.18.3.20'] }));
  const wire = recordWire(lab.wan);
  finished = 0;
  await steadyTransfer(lab, 200_000, 50_000);
  // a datagram longer than the path MTU with its trailer: ICMP too big back to the client, finished in JS
  lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.alloc(1500 - 28, 1));
  assert.ok(await until(() => (lab.r1.counters()['drop-exceeds-path-mtu'] ?? 0) + (lab.r1.counters()['packets-fragmented'] ?? 0) >= 1), 'the oversized datagram took the JS path');
  const key = compileRouter(cfg, 'r1', 1).paths[0]!.hmac.key;
  const pi = new PacketInfo();
  const sent = wire.filter((w) => w.dir === 'a->b');
  assert.ok(sent.length > 100, `r1 sent ${sent.length} packets`);
  for (const w of sent) {
    const p = w.bytes;
    assert.is(parsePacket(p, 0, p.length, pi), 0);
    if (pi.family === 4) assert.is(finish(sumBytes(p, pi.l3, pi.l4 - pi.l3, 0)), 0, 'the IPv4 header checksum');
    assert.ok(verifyL4Checksum(p, pi), 'the L4 checksum');
    const tagAt = pi.end - TAG;
    const want = createHmac('sha256', key).update(p.subarray(pi.payload, tagAt)).digest().subarray(0, TAG);
    assert.equal([...p.subarray(tagAt, pi.end)], [...want], 'the tag');
  }
  if (on) assert.ok(finished > sent.length / 2, `the native finish took ${finished} of ${sent.length} packets`);
  else assert.is(finished, 0, 'SVR_NATIVE_STEADY=0: all in JS');
  const tcpSent = sent.filter((w) => w.dport !== 1280 && w.sport !== 1280).length;
  const s1 = (await lab.r1.sessions()).find((s) => s.original.protocol === 'tcp');
  assert.ok(s1 !== undefined);
  assert.ok(s1.packets.forward >= tcpSent - 2 && s1.packets.forward <= tcpSent + 2, `r1 accounted ${s1.packets.forward} of the ~${tcpSent} packets it sent`);
  const out = { r1: steadyCounters(lab.r1.counters()), r2: steadyCounters(lab.r2.counters()) };
  await lab.close();
  return out;
}

for (const asUdp of [false, true]) {
  for (const cipher of ['none', 'aes-cbc-256', 'aes-gcm-256'] as const) {
    test(`TCP as ${asUdp ? 'UDP' : 'TCP'}, ${cipher === 'none' ? 'HMAC only' : cipher}: valid checksums and tags, the same counters with the native finish on and off`, async () => {
      assert.ok(available, 'SVR_NATIVE_STEADY=1 turns the native finish on (the addon has native/steady-send.c: npm run build:native)');
      const on = await run(cipher, asUdp, true);
      const off = await run(cipher, asUdp, false);
      assert.equal(on.r1, off.r1, 'r1 counters');
      assert.equal(on.r2, off.r2, 'r2 counters');
    });
  }
}

test.run();
