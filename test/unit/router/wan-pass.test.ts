/**
 * The steady pass of a WAN queue (native/tun-pass.c running native/fwd-in.c; src/dataplane/steady-pass.ts,
 * SVR_TUN_PASS_IN), golden against the JS path. Two copies of each router built alike on one simulated clock take the
 * same batches: the JS copy every WAN batch through Dataplane.receive (receiveIn: fwd-in.c from JS, then the stages),
 * the pass copy first through tunPassProbe (the pass a poll-mode TUN reader runs on the batch, at the same clock, its
 * egress copied out instead of written to the LAN writer) and then through Dataplane.receive with what the pass left,
 * as tun.c hands it to JS. What each copy delivers on its LAN is byte for byte the same, in the same order, and so are
 * the replay windows, the session columns, the paths' rx counts, every counter (native-received too) and the HA sync
 * marks. In one pass batch a payload that does not decrypt is dropped and counted by the pass, a replay and a tampered
 * tag go to JS and are dropped and counted there, as the JS copy does. TCP carried as UDP (the path's UDP transform on)
 * the same way: the pass sends the segments it took 8 bytes on in their slots, the UDP header gone. After a key installed, svr-out's marks cleared
 * (a path set up), a session opened, or the HA sync arrays started, the next batch is left to JS whole (the words
 * native-receive.ts prepare() saw moved: svr_ni_current), and the batch after it runs in the pass again.
 */
import * as assert from 'uvu/assert';
import { parseConfig } from '../../../src/model/validate.js';
import { compileRouter } from '../../../src/model/compile.js';
import { Dataplane } from '../../../src/dataplane/dataplane.js';
import { NativeReceive } from '../../../src/dataplane/native-receive.js';
import { passIndices } from '../../../src/dataplane/steady-pass.js';
import { INTERFACE_COUNTER_KINDS } from '../../../src/dataplane/counter-names.js';
import { loadNative, type SvrNative } from '../../../src/io/tun/native.js';
import { TCP_ACK, TCP_SYN } from '../../../src/packet/ip.js';
import { inProcessConfig } from '../../../bench/inprocess-config.js';
import { withSwitch } from '../../support/env.js';
import { requires } from '../../support/prerequisites.js';
import { badPadding, badTag, Collect, downBatch, hex, receiveState, syncState, tcp, udp, upBatch } from '../../support/wan-batches.js';

const test = requires(import.meta.url); // the addon (skipped without it)

const available = await withSwitch('SVR_NATIVE_IN', true, async () => new NativeReceive().on);
const addon: SvrNative | null = (() => {
  try {
    const n = loadNative();
    return typeof n.tunPassProbe === 'function' ? n : null;
  } catch {
    return null;
  }
})();
const SLOT = 2048;
const WAN = 1;

interface Node { dp: Dataplane; lan: Collect; wan: Collect; pass: boolean; tally: Float64Array; lastLeft: number }
interface Pair { js: Node; pass: Node }

let now = 1_000_000;

function node(config: ReturnType<typeof parseConfig>, name: 'r1' | 'r2', pass: boolean, transform: boolean): Node {
  const lan = new Collect(), wan = new Collect();
  const dp = new Dataplane({ tables: compileRouter(config, name, 1), ports: [lan, wan], clock: () => now, wallClock: () => 1.7e12 });
  if (transform) dp.setPathTransform(0, true); // TCP carried as UDP (as the firewall detector's actor: always-transform)
  return { dp, lan, wan, pass, tally: new Float64Array(4), lastLeft: -1 };
}

/** The pass on a WAN batch of n's (the counters Dataplane.receive would add, at its clock); returns the egress packets
 *  and leaves the rest in slots 0.. of data (lens). */
function probe(n: Node, data: Uint8Array, lens: Uint32Array, count: number): { out: Uint8Array[]; left: number } {
  const dp = n.dp, c = dp.counters;
  const ifs = dp.tables.interfaces;
  const ifIds = new Int32Array(ifs.length * INTERFACE_COUNTER_KINDS.length);
  ifs.forEach((i, x) => INTERFACE_COUNTER_KINDS.forEach((k, j) => { ifIds[x * INTERFACE_COUNTER_KINDS.length + j] = c.id(`interface.${i.name}.${k}`); }));
  const idx = passIndices(WAN, ifs.length, {
    rxBatches: c.id('rx-batches'), rx: c.id('rx-packets'), native: c.id('native-received'), tx: c.id('tx-packets'), noPort: c.id('drop-no-port'),
    badPayload: c.id('drop-bad-payload'), ifIds, stride: INTERFACE_COUNTER_KINDS.length,
  });
  const out = new Uint8Array(SLOT * Math.max(1, count)), outLens = new Uint32Array(count), outIf = new Uint32Array(count);
  const left = addon!.tunPassProbe(dp.ctx.nativeReceive.handle, WAN, c.values, idx, n.tally, now, data, lens, count, SLOT, out, outLens, outIf);
  const got: Uint8Array[] = [];
  for (let i = 0, at = 0; i < n.tally[3]!; at += outLens[i]!, i++) {
    assert.is(outIf[i], 0, 'the pass sends to the LAN');
    got.push(out.slice(at, at + outLens[i]!));
  }
  return { out: got, left };
}

/** Both copies take `pkts` on interface ifx, in SLOT-byte slots; the pass copy's WAN batches through the pass first. */
function feed(p: Pair, ifx: number, pkts: readonly Uint8Array[]): void {
  for (const n of [p.js, p.pass]) {
    const data = new Uint8Array(SLOT * Math.max(1, pkts.length));
    const off = Uint32Array.from(pkts, (_, i) => i * SLOT), len = Uint32Array.from(pkts, (k) => k.length);
    pkts.forEach((k, i) => data.set(k, i * SLOT));
    let count = pkts.length, first: Uint8Array[] = [];
    if (n.pass && ifx === WAN && addon !== null && n.dp.ctx.nativeReceive.on) {
      const r = probe(n, data, len, count);
      first = r.out;
      count = n.lastLeft = r.left;
    }
    if (count > 0) n.dp.receive(ifx, data, off, len, count, SLOT);
    n.lan.before(first);
  }
  now += 10; // past a lease (250 ms) every 25 batches: marks expire and are made again
}

/** `from`'s LAN takes pkts; what its JS copy sends on the WAN goes to `to`; both copies of `to` deliver the same. */
function through(from: Pair, to: Pair, pkts: readonly Uint8Array[], alter?: (wan: Uint8Array[]) => Uint8Array[]): Uint8Array[] {
  feed(from, 0, pkts);
  let wan = from.js.wan.take();
  from.pass.wan.take(); // (its metadata carries its own session ids)
  if (alter !== undefined) wan = alter(wan);
  feed(to, WAN, wan);
  const js = to.js.lan.take(), pass = to.pass.lan.take();
  assert.equal(hex(pass), hex(js), 'the same packets, byte for byte, in the same order');
  return js;
}

/** What the pass must leave as JS leaves it: replay windows, session columns, paths' rx counts, every counter. */
const state = (n: Node) => receiveState(n.dp);
const collect = (n: Node) => syncState(n.dp, now);

async function pairs(encrypt: boolean, transform = false): Promise<{ r1: Pair; r2: Pair; config: ReturnType<typeof parseConfig> }> {
  const config = parseConfig(inProcessConfig(encrypt));
  return withSwitch('SVR_NATIVE_IN', true, async () => ({
    config,
    r1: { js: node(config, 'r1', false, transform), pass: node(config, 'r1', true, transform) },
    r2: { js: node(config, 'r2', false, transform), pass: node(config, 'r2', true, transform) },
  }));
}

function open(r1: Pair, r2: Pair): void {
  through(r1, r2, [tcp(true, TCP_SYN, 100)]);
  through(r2, r1, [tcp(false, TCP_SYN | TCP_ACK, 900)]);
  through(r1, r2, [tcp(true, TCP_ACK, 101)]);
  through(r1, r2, [udp(true, 100)]);
  through(r2, r1, [udp(false, 50)]);
}

const taken = (n: Node) => n.tally[0]!;

for (const [encrypt, transform] of [[false, false], [true, false], [true, true]]) {
  test(`golden, ${encrypt ? 'HMAC + AES-256-CBC' : 'HMAC only'}${transform ? ', TCP carried as UDP' : ''}: the pass delivers, drops and counts as JS does`, async () => {
    assert.ok(addon !== null && available, 'the addon has tunPassProbe and native/fwd-in.c (npm run build:native)');
    const { r1, r2, config } = await pairs(encrypt, transform);
    open(r1, r2);
    for (let round = 0; round < 12; round++) {
      assert.is(through(r1, r2, upBatch(round)).length, 65, 'r2 delivers every packet');
      assert.is(through(r2, r1, downBatch()).length, 32, 'r1 delivers every packet');
    }
    assert.ok(taken(r2.pass) > 400, `r2: the pass took ${taken(r2.pass)} packets`);
    assert.ok(taken(r1.pass) > 150, `r1: the pass took ${taken(r1.pass)} packets`);
    for (const p of [r1, r2]) assert.equal(state(p.pass), state(p.js), 'windows, session columns, rx counts and counters');

    // one pass batch: a payload that does not decrypt, a replay and a tampered tag among the marked flow's segments
    const key = compileRouter(config, 'r1', 1).paths[0]!.hmac;
    const seg = () => Array.from({ length: 16 }, (_, i) => tcp(true, TCP_ACK, 400 + i, 1400));
    now += 1000; // every mark past its lease: this batch goes through JS and marks the flow again
    through(r1, r2, seg());
    const before = taken(r2.pass);
    const got = through(r1, r2, seg(), (w) => [w[0]!, encrypt ? badPadding(w[1]!, 1400, key.key, key.tagLength) : w[1]!, w[2]!, w[3]!, w[2]!, w[4]!, badTag(w[5]!), ...w.slice(6)]);
    assert.is(got.length, 16 - 1 - (encrypt ? 1 : 0), 'the replay, the tampered tag and the bad payload are not delivered');
    const c = r2.pass.dp.counters.snapshot();
    assert.is(c['drop-replay'], 1);
    assert.is(c['drop-bad-hmac'], 1);
    assert.is(c['drop-bad-payload'] ?? 0, encrypt ? 1 : 0);
    assert.is(taken(r2.pass) - before, 4, 'the pass took the packets before the replay (the bad payload dropped there)');
    assert.equal(state(r2.pass), state(r2.js), 'windows, session columns, rx counts and counters after the drops');
  });
}

test('a key installed, svr-out\'s marks cleared, a session opened, HA sync started: the next WAN batch is left to JS whole', async () => {
  assert.ok(addon !== null && available, 'the addon has tunPassProbe and native/fwd-in.c (npm run build:native)');
  const { r1, r2 } = await pairs(false);
  open(r1, r2);
  const batch = () => Array.from({ length: 8 }, (_, i) => tcp(true, TCP_ACK, 500 + i, 200));
  const steady = (what: string) => {
    through(r1, r2, batch()); // JS marks the flow (again)
    const before = taken(r2.pass);
    through(r1, r2, batch());
    assert.is(r2.pass.lastLeft, 0, `${what}: the pass took the whole batch`);
    assert.is(taken(r2.pass) - before, 8);
  };
  const leftToJs = (what: string, change: (n: Node) => void, both?: () => void) => {
    steady(`before ${what}`);
    for (const n of [r2.js, r2.pass]) change(n);
    both?.();
    const before = taken(r2.pass);
    through(r1, r2, batch());
    assert.is(r2.pass.lastLeft, 8, `after ${what}: the batch left to JS`);
    assert.is(taken(r2.pass), before, `after ${what}: nothing taken`);
    steady(`after ${what}`);
    assert.equal(state(r2.pass), state(r2.js), `${what}: windows, session columns, rx counts and counters`);
  };
  leftToJs('a key installed', (n) => n.dp.setPathKeys(0, { rx: { keyId: 77, securityId: 1, hmacKey: new Uint8Array(32).fill(7) } }, now, 10_000));
  leftToJs('svr-out\'s marks cleared', (n) => n.dp.setPathUp(0, true));
  leftToJs('a session opened', () => {}, () => through(r1, r2, [udp(true, 10, 41000)]));
  leftToJs('HA sync started', (n) => n.dp.sessions.startSync());
  through(r1, r2, batch());
  assert.equal(collect(r2.pass), collect(r2.js), 'HA sync: the rows marked, their marks, the collection');
  assert.equal(state(r2.pass), state(r2.js), 'windows, session columns, rx counts and counters');
});

test.run();
