/**
 * The native steady path of svr-out (SVR_NATIVE_FORWARD=1; src/dataplane/native-forward.ts, native/fwd.c) in a
 * router pair: a TCP transfer each way through r1 -> r2, HMAC only and with AES-CBC and AES-GCM payloads (GCM is
 * never marked: all JS), regular HMAC and AES-CBC with time-based HMAC (the default), on and off. Golden, for every packet r1 sends: the IPv4 header checksum, the L4
 * checksum, the tag node:crypto computes (time-based: of this slot or the one before), replay counters strictly
 * increasing per key (JS and native share them); r2 accepts every packet (no drops) and the transfer is intact.
 * r1 accounts every packet it sent in the session's columns, and the routers' counters do not depend on the switch.
 */
import * as assert from 'uvu/assert';
import { createHmac } from 'node:crypto';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { compileRouter } from '../../../src/model/compile.js';
import { NativeForward } from '../../../src/dataplane/native-forward.js';
import { finish, readU32, sumBytes } from '../../../src/packet/checksum.js';
import { PacketInfo, parsePacket } from '../../../src/packet/ip.js';
import { verifyL4Checksum } from '../../../src/packet/rewrite.js';
import { timeSlot } from '../../../src/crypto/hmac.js';
import { withSwitch, withSwitchSync } from '../../support/env.js';
import { steadyConfig, steadyCounters, steadyTransfer, type SteadyCipher } from '../../support/steady.js';
import { recordWire } from '../../support/wire.js';
import { requires } from '../../support/prerequisites.js';

const test = requires(import.meta.url); // the addon (skipped without it)

const TAG = 16; // sha256-128
const available = withSwitchSync('SVR_NATIVE_FORWARD', true, () => new NativeForward().on);

async function run(cipher: SteadyCipher, on: boolean, timed: boolean): Promise<{ r1: Record<string, number>; r2: Record<string, number>; native: number }> {
  const cfg = await steadyConfig(cipher, false);
  if (timed) cfg.authority.securityPolicies.find((p) => p.name === 'internal')!.hmacMode = 'time-based'; // the default: tags cover the time slot
  const lab = await withSwitch('SVR_NATIVE_FORWARD', on, async () => createMemoryLab({ config: cfg, clients: ['198.18.1.10'], servers: ['198.18.3.20'] }));
  const wire = recordWire(lab.wan);
  await steadyTransfer(lab, 300_000, 100_000);
  const key = compileRouter(cfg, 'r1', 1).paths[0]!.hmac.key;
  const pi = new PacketInfo();
  const sent = wire.filter((w) => w.dir === 'a->b');
  assert.ok(sent.length > 100, `r1 sent ${sent.length} packets`);
  const last = new Map<number, bigint>();
  for (const w of sent) {
    const p = w.bytes;
    assert.is(parsePacket(p, 0, p.length, pi), 0);
    assert.is(finish(sumBytes(p, pi.l3, pi.l4 - pi.l3, 0)), 0, 'the IPv4 header checksum');
    assert.ok(verifyL4Checksum(p, pi), 'the L4 checksum');
    const tagAt = pi.end - TAG;
    const tag = [...p.subarray(tagAt, pi.end)];
    const slot = timeSlot(true, Date.now());
    const tags = (timed ? [slot, slot - 1] : [-1]).map((s) => {
      const h = createHmac('sha256', key).update(p.subarray(pi.payload, tagAt));
      if (s >= 0) h.update(Uint8Array.of(s >>> 24, (s >>> 16) & 0xff, (s >>> 8) & 0xff, s & 0xff));
      return [...h.digest().subarray(0, TAG)];
    });
    assert.ok(tags.some((t) => t.join() === tag.join()), 'the tag');
    const block = tagAt - 10;
    const id = p[block]! << 8 | p[block + 1]!;
    const ctr = (BigInt(readU32(p, block + 2)) << 32n) | BigInt(readU32(p, block + 6));
    assert.ok(ctr > (last.get(id) ?? -1n), 'replay counters only grow');
    last.set(id, ctr);
  }
  const tcpSent = sent.filter((w) => w.dport !== 1280 && w.sport !== 1280).length;
  const s1 = (await lab.r1.sessions()).find((s) => s.original.protocol === 'tcp');
  assert.ok(s1 !== undefined);
  assert.ok(s1.packets.forward >= tcpSent - 2 && s1.packets.forward <= tcpSent + 2, `r1 accounted ${s1.packets.forward} of the ~${tcpSent} packets it sent`);
  const native = lab.r1.counters()['native-forwarded'] ?? 0;
  const out = { r1: steadyCounters(lab.r1.counters()), r2: steadyCounters(lab.r2.counters()), native };
  await lab.close();
  return out;
}

for (const [cipher, timed] of [['none', false], ['aes-cbc-256', false], ['aes-gcm-256', false], ['aes-cbc-256', true]] as const) {
  test(`${cipher === 'none' ? 'HMAC only' : cipher}${timed ? ', time-based HMAC' : ''}: valid checksums, tags and counters, the same router counters with SVR_NATIVE_FORWARD on and off`, async () => {
    assert.ok(available, 'SVR_NATIVE_FORWARD=1 turns native forwarding on (the addon has native/fwd.c: npm run build:native)');
    const on = await run(cipher, true, timed);
    const off = await run(cipher, false, timed);
    assert.is(off.native, 0, 'off: nothing native');
    if (cipher !== 'aes-gcm-256') assert.ok(on.native > 50, `on: ${on.native} packets native`);
    if (cipher === 'aes-gcm-256') assert.is(on.native, 0, 'GCM payloads are not in this slice');
    assert.equal(on.r1, off.r1, 'r1 counters');
    assert.equal(on.r2, off.r2, 'r2 counters');
  });
}

test.run();
