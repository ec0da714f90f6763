/**
 * svr-in's native steady path (SVR_NATIVE_IN=1; src/dataplane/native-receive.ts, native/fwd-in.c), golden against the
 * JS path. Two copies of each router built alike on one simulated clock, one with the switch off and one on, take the
 * same batches: the client's and server's packets on their LANs, and on the WAN what the off copy of the other router
 * sent, in slots that may be written in place (as a TUN reader hands them over). Established TCP (segments of varied,
 * odd and even sizes) and UDP (empty payloads too) both ways, HMAC only and AES-CBC: every batch each copy delivers on
 * its LAN is byte for byte the same, and so are the replay windows, the session columns and every counter but
 * native-received. Then, in one native batch: a payload that does not decrypt (re-signed: native/fwd-in.c drops and
 * counts it), a replayed packet and a tampered tag (to JS, dropped and counted there), as the JS copy does. With HA
 * sync on (a pair's active node, collected after every round) both copies mark the same rows at the same times, and a
 * clock step puts the flow's expiry 60 s (SYNC_EXPIRY_MS) past the synced one in a native batch. TCP carried as UDP
 * (the path's UDP transform on in every copy: the TCP segments cross the WAN after a UDP header) the same way, and with
 * SVR_NATIVE_TRANSFORM_IN=0 only its UDP flows go native; an inner TCP header cut off goes to JS, which drops it. A lab transfer with the switch on and off: intact, the same
 * drop/session counters, and most packets native.
 */
import * as assert from 'uvu/assert';
import { parseConfig } from '../../../src/model/validate.js';
import { compileRouter } from '../../../src/model/compile.js';
import { Dataplane } from '../../../src/dataplane/dataplane.js';
import { NativeReceive } from '../../../src/dataplane/native-receive.js';
import { TCP_ACK, TCP_SYN } from '../../../src/packet/ip.js';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { inProcessConfig } from '../../../bench/inprocess-config.js';
import { withSwitch } from '../../support/env.js';
import { badPadding, badTag, Collect, cutInnerHeader, downBatch, hex, receiveState, syncState, tcp, udp, upBatch } from '../../support/wan-batches.js';
import { requires } from '../../support/prerequisites.js';
import { steadyConfig, steadyCounters, steadyTransfer } from '../../support/steady.js';

const test = requires(import.meta.url); // the addon (skipped without it)

const SWITCH = 'SVR_NATIVE_IN';
const TRANSFORM_SWITCH = 'SVR_NATIVE_TRANSFORM_IN';
const available = await withSwitch(SWITCH, true, async () => new NativeReceive().on); // read per data path
const SLOT = 2048;

interface Node { dp: Dataplane; lan: Collect; wan: Collect }
interface Pair { off: Node; on: Node }

let now = 1_000_000;

/** transform: the path's UDP transform on (TCP carried as UDP); transformIn: SVR_NATIVE_TRANSFORM_IN's value */
async function pair(config: ReturnType<typeof parseConfig>, name: 'r1' | 'r2', transform = false, transformIn = true): Promise<Pair> {
  const node = (on: boolean) => withSwitch(SWITCH, on, () => withSwitch(TRANSFORM_SWITCH, transformIn, async () => {
    const lan = new Collect(), wan = new Collect();
    const dp = new Dataplane({ tables: compileRouter(config, name, 1), ports: [lan, wan], clock: () => now, wallClock: () => 1.7e12 });
    if (transform) dp.setPathTransform(0, true); // as the firewall detector's actor (always-transform)
    return { dp, lan, wan };
  }));
  return { off: await node(false), on: await node(true) };
}

/** Both copies take `pkts` on interface ifx, in SLOT-byte slots (room to write in place). */
function feed(p: Pair, ifx: number, pkts: readonly Uint8Array[]): void {
  for (const n of [p.off, p.on]) {
    const data = new Uint8Array(new SharedArrayBuffer(SLOT * Math.max(1, pkts.length)));
    const off = new Uint32Array(pkts.length), len = new Uint32Array(pkts.length);
    pkts.forEach((k, i) => { data.set(k, i * SLOT); off[i] = i * SLOT; len[i] = k.length; });
    n.dp.receive(ifx, data, off, len, pkts.length, SLOT);
  }
  now += 10; // past a lease (250 ms) every 25 batches: marks expire and are made again
}

/** `from`'s LAN takes pkts; what its off copy sends on the WAN goes to `to`; both copies of `to` deliver the same. */
function through(from: Pair, to: Pair, pkts: readonly Uint8Array[], alter?: (wan: Uint8Array[]) => Uint8Array[]): Uint8Array[] {
  feed(from, 0, pkts);
  let wan = from.off.wan.take();
  from.on.wan.take();
  wire.push(...wan);
  if (alter !== undefined) wan = alter(wan);
  feed(to, 1, wan);
  const off = to.off.lan.take(), on = to.on.lan.take();
  assert.equal(hex(on), hex(off), 'the same packets, byte for byte, in the same order');
  return off;
}

/** The state the switch must not change: replay windows, session columns, counters (native-received aside). */
const state = (n: Node) => receiveState(n.dp, ['native-received']);
const collect = (n: Node, full = false) => syncState(n.dp, now, full);
/** every WAN packet `through` handed on (a case checks what crossed the WAN) */
let wire: Uint8Array[] = [];

/** Both copies of each pair marked the same rows; collected. */
function sameMarks(pairs: readonly Pair[], full = false): void {
  for (const p of pairs) assert.equal(collect(p.on, full), collect(p.off, full), 'HA sync: the rows marked, their marks, the collection');
}

for (const [encrypt, sync, transform] of [[false, false, false], [true, false, false], [true, true, false], [false, false, true], [true, false, true]]) {
  test(`golden, ${encrypt ? 'HMAC + AES-256-CBC' : 'HMAC only'}${sync ? ', HA sync on' : ''}${transform ? ', TCP carried as UDP' : ''}: the same deliveries, windows, columns and counters with ${SWITCH} off and on`, async () => {
    assert.ok(available, `${SWITCH}=1 turns the native path on (the addon has native/fwd-in.c: npm run build:native)`);
    const config = parseConfig(inProcessConfig(encrypt));
    const r1 = await pair(config, 'r1', transform), r2 = await pair(config, 'r2', transform);
    wire = [];
    through(r1, r2, [tcp(true, TCP_SYN, 100)]);
    through(r2, r1, [tcp(false, TCP_SYN | TCP_ACK, 900)]);
    through(r1, r2, [tcp(true, TCP_ACK, 101)]);
    through(r1, r2, [udp(true, 100)]);
    through(r2, r1, [udp(false, 50)]);
    if (sync) sameMarks([r1, r2], true);
    for (let round = 0; round < 12; round++) {
      assert.is(through(r1, r2, upBatch(round)).length, 65, 'r2 delivers every packet');
      assert.is(through(r2, r1, downBatch()).length, 32, 'r1 delivers every packet');
      if (sync) sameMarks([r1, r2]);
    }
    const native = (n: Node) => n.dp.counters.snapshot()['native-received'] ?? 0;
    assert.ok(native(r2.on) > 400, `r2 (egress): ${native(r2.on)} packets native`);
    assert.ok(native(r1.on) > 150, `r1 (ingress): ${native(r1.on)} packets native`);
    assert.is(native(r2.off) + native(r1.off), 0, 'off: nothing native');
    for (const p of [r1, r2]) assert.equal(state(p.on), state(p.off), 'windows, session columns and counters');
    if (transform) assert.equal(new Set(wire.filter((w) => w.length >= 1000).map((w) => w[9])), new Set([17]), 'the TCP segments crossed the WAN as UDP');
    if (sync) { // r2's flow 59.83 s past its synced expiry (JS marks the flow again, no sync mark), then on past 60 s natively
      sameMarks([r1, r2], true); // every row synced now: its expiry is the one sent
      now += 59_800;
      const before = native(r2.on);
      for (let i = 0; i < 12; i++) through(r1, r2, [tcp(true, TCP_ACK, 300 + i, 100)]);
      assert.ok(native(r2.on) - before >= 10, `r2: ${native(r2.on) - before} of 12 native`);
      assert.is(r2.on.dp.sessions.syncDirtyTop, 1, 'the flow marked');
      sameMarks([r1, r2]);
    }

    // one batch the marked flow's packets start: a payload that does not decrypt, then a replay and a tampered tag
    const key = compileRouter(config, 'r1', 1).paths[0]!.hmac;
    const seg = () => Array.from({ length: 16 }, (_, i) => tcp(true, TCP_ACK, 400 + i, 1400));
    now += 1000; // every mark past its lease: this batch goes through JS and marks the flow again
    through(r1, r2, seg());
    const before = native(r2.on);
    const got = through(r1, r2, seg(), (w) => {
      assert.is(w.length, 16, 'r1 sent the 16 segments');
      return [w[0]!, encrypt ? badPadding(w[1]!, 1400, key.key, key.tagLength) : w[1]!, w[2]!, w[3]!, w[2]!, w[4]!, badTag(w[5]!), ...w.slice(6)];
    });
    assert.is(got.length, 16 - 1 - (encrypt ? 1 : 0), 'the replay, the tampered tag and the bad payload are not delivered');
    const c = r2.off.dp.counters.snapshot();
    assert.is(c['drop-replay'], 1);
    assert.is(c['drop-bad-hmac'], 1);
    assert.is(c['drop-bad-payload'] ?? 0, encrypt ? 1 : 0);
    assert.is(native(r2.on) - before, encrypt ? 3 : 4, 'the packets before the replay were native; the bad payload dropped in C');
    assert.equal(state(r2.on), state(r2.off), 'windows, session columns and counters after the drops');
  });
}

test('TCP carried as UDP, an inner TCP header cut off (re-signed): to JS, dropped and counted there as the JS copy does', async () => {
  assert.ok(available, `${SWITCH}=1 turns the native path on`);
  const config = parseConfig(inProcessConfig(false));
  const r1 = await pair(config, 'r1', true), r2 = await pair(config, 'r2', true);
  through(r1, r2, [tcp(true, TCP_SYN, 100)]);
  through(r2, r1, [tcp(false, TCP_SYN | TCP_ACK, 900)]);
  const acks = () => Array.from({ length: 8 }, (_, i) => tcp(true, TCP_ACK, 101 + i));
  for (let k = 0; k < 3; k++) through(r1, r2, acks()); // REV_SIGNAL cleared, then marked: the third native
  const native = () => r2.on.dp.counters.snapshot()['native-received'] ?? 0;
  const key = compileRouter(config, 'r1', 1).paths[0]!.hmac;
  const before = native();
  assert.ok(before >= 8, `the flow native before: ${before}`);
  const got = through(r1, r2, acks(), (w) => [w[0]!, cutInnerHeader(w[1]!, key.key, key.tagLength), ...w.slice(2)]);
  assert.is(got.length, 7, 'the cut one is not delivered');
  assert.is(r2.off.dp.counters.snapshot()['drop-bad-transformed'], 1);
  assert.is(r2.on.dp.counters.snapshot()['drop-bad-transformed'], 1);
  assert.is(native(), before, 'the flow lost its mark: the batch went to JS whole');
  now += 200; // past half a lease since the flow was last marked (native-mark-in.ts): JS marks it again
  through(r1, r2, acks());
  through(r1, r2, acks());
  assert.is(native() - before, 8, 'then native again');
  assert.equal(state(r2.on), state(r2.off), 'windows, session columns and counters');
});

test(`${TRANSFORM_SWITCH}=0: TCP carried as UDP stays in JS, its UDP flows go native, the same deliveries`, async () => {
  assert.ok(available, `${SWITCH}=1 turns the native path on`);
  const config = parseConfig(inProcessConfig(true));
  const r1 = await pair(config, 'r1', true, false), r2 = await pair(config, 'r2', true, false);
  through(r1, r2, [tcp(true, TCP_SYN, 100)]);
  through(r2, r1, [tcp(false, TCP_SYN | TCP_ACK, 900)]);
  through(r1, r2, [tcp(true, TCP_ACK, 101)]);
  through(r1, r2, [udp(true, 100)]);
  through(r2, r1, [udp(false, 50)]);
  for (let round = 0; round < 4; round++) {
    through(r1, r2, Array.from({ length: 8 }, (_, i) => tcp(true, TCP_ACK, 200 + i, 1000)));
    through(r1, r2, [udp(true, 100)]);
  }
  const native = r2.on.dp.counters.snapshot()['native-received'] ?? 0;
  assert.ok(native >= 1 && native <= 4, `r2: ${native} packets native (of the 4 UDP datagrams; 32 TCP segments in JS)`);
  assert.equal(state(r2.on), state(r2.off), 'windows, session columns and counters');
});

test(`a lab transfer each way with ${SWITCH} on and off: intact, the same drop and session counters, most packets native`, async () => {
  const run = async (on: boolean) => {
    const cfg = await steadyConfig('aes-cbc-256', false);
    const lab = await withSwitch(SWITCH, on, async () => createMemoryLab({ config: cfg, clients: ['198.18.1.10'], servers: ['198.18.3.20'] }));
    await steadyTransfer(lab, 300_000, 300_000);
    const out = { r1: steadyCounters(lab.r1.counters()), r2: steadyCounters(lab.r2.counters()), native: (lab.r1.counters()['native-received'] ?? 0) + (lab.r2.counters()['native-received'] ?? 0) };
    await lab.close();
    return out;
  };
  const on = await run(true), off = await run(false);
  assert.is(off.native, 0);
  assert.ok(available, `${SWITCH}=1 turns the native path on`);
  assert.ok(on.native > 100, `on: ${on.native} packets native`);
  assert.equal(on.r1, off.r1, 'r1 counters');
  assert.equal(on.r2, off.r2, 'r2 counters');
});

test.run();
