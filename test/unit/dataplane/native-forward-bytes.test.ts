/**
 * The native steady path of svr-out (native/fwd.c, src/dataplane/native-forward.ts) against the JS path, byte for
 * byte: the same packets, clock and keys through a router pair r1 -> r2 built with SVR_NATIVE_FORWARD=0 and with =1
 * must put the same bytes on the wire each way (IPv4 header, L4 checksum, payload or ciphertext, replay block, tag),
 * deliver the same packets to both LANs and leave the same session columns and counters (but native-forwarded).
 * HMAC only and HMAC + AES-CBC, TCP and UDP, regular and time-based HMAC. The IVs come from seeded streams of each
 * cipher (seedTestIvs: the same in both runs); the clock is simulated, so leases run out and time slots turn mid-run.
 * Some batches carry a packet the native path leaves to JS mid-flow: a bad IPv4 header checksum, a payload that
 * starts with the metadata cookie, TTL 1; one batch is longer than NF_BATCH; 1100 sessions more grow the session
 * table's columns under the marked flow; at the end the path goes down mid-lease (pathUp written, no call).
 * With HA sync on (a pair's active node: collected every 10 steps), the same rows are marked in the same order at the
 * same times; a clock step puts the flow's expiry 60 s (SYNC_EXPIRY_MS) past the synced one in a native batch.
 */
import * as assert from 'uvu/assert';
import { inProcessConfig } from '../../../bench/inprocess-config.js';
import { seedTestIvs } from '../../../src/crypto/native-crypto.js';
import { Dataplane } from '../../../src/dataplane/dataplane.js';
import { NativeForward } from '../../../src/dataplane/native-forward.js';
import { collectChanges } from '../../../src/dataplane/session-rows.js';
import type { SessionTable } from '../../../src/dataplane/session-table.js';
import type { PacketPort } from '../../../src/dataplane/port.js';
import { compileRouter } from '../../../src/model/compile.js';
import { parseConfig } from '../../../src/model/validate.js';
import { parseAddress } from '../../../src/packet/addr.js';
import { buildTcp, buildUdp } from '../../../src/packet/build.js';
import { TCP_ACK, TCP_PSH, TCP_SYN } from '../../../src/packet/ip.js';
import { COOKIE } from '../../../src/packet/svr-metadata.js';
import { prng } from '../../../src/util/prng.js';
import { withSwitchSync } from '../../support/env.js';
import { requires } from '../../support/prerequisites.js';

const test = requires(import.meta.url); // the addon (skipped without it)

const SWITCH = 'SVR_NATIVE_FORWARD';
const available = withSwitchSync(SWITCH, true, () => new NativeForward().on);
/** a TUN slot: the room each received packet has */
const SLOT = 2048;
const LAN = 0, WAN = 1;
const CLIENT = parseAddress('198.18.1.10')!.bytes, SERVER = parseAddress('198.18.3.20')!.bytes;
const SIZES = [0, 1, 15, 16, 17, 31, 32, 33, 100, 511, 1000, 1399, 1400];

/** transform: TCP carried as UDP between the routers (the path's UDP transform on in both) */
interface Case { protocol: 'tcp' | 'udp'; encrypt: boolean; timed: boolean; sync: boolean; transform?: boolean }

/** Keeps a copy of every packet sent; take() hands over those since the last take. */
class Wire implements PacketPort {
  readonly name = 'wire';
  readonly all: Uint8Array[] = [];
  private pending: Uint8Array[] = [];
  start(): void {}
  transmit(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): void {
    for (let i = 0; i < count; i++) {
      const p = data.slice(offsets[i]!, offsets[i]! + lengths[i]!);
      this.all.push(p);
      this.pending.push(p);
    }
  }
  take(): Uint8Array[] {
    const p = this.pending;
    this.pending = [];
    return p;
  }
  close(): void {}
}

/** Packets in SLOT-sized slots, as a TUN reader hands them over. */
function slots(pkts: readonly Uint8Array[]): { data: Uint8Array; off: Uint32Array; len: Uint32Array; n: number } {
  const n = pkts.length, data = new Uint8Array(SLOT * Math.max(1, n)), off = new Uint32Array(n), len = new Uint32Array(n);
  pkts.forEach((p, i) => { data.set(p, i * SLOT); off[i] = i * SLOT; len[i] = p.length; });
  return { data, off, len, n };
}

interface Outcome {
  r1Wan: Uint8Array[]; r2Wan: Uint8Array[]; r1Lan: Uint8Array[]; r2Lan: Uint8Array[]; columns: number[][]; counters: Record<string, number>[]; native: number;
  /** HA sync: per collection and router, the rows marked (in order) with their marks, then what was collected */
  sync: number[][]; nativeAtStep: number; markedAtStep: number[];
}

/** Table t's marked rows and their mark times, then a collection's row count, bytes and rows left. */
function collect(t: SessionTable, now: number, full: boolean): number[] {
  const rows = [...t.syncDirty.subarray(0, t.syncDirtyTop)];
  const got = collectChanges(t, now, full);
  return [...rows, ...rows.map((r) => t.syncMarkedAt(r)), -1, got.rowCount, got.rows.length, got.left];
}

/** The whole exchange of case c through a fresh pair with the switch on or off. */
function run(c: Case, on: boolean): Outcome {
  let text = inProcessConfig(c.encrypt);
  if (c.timed) text = text.replace('{ name: internal, hmac-mode: regular }', '{ name: internal, hmac-mode: time-based }');
  const config = parseConfig(text);
  let now = 1_000_000;
  const clock = (): number => now, wallClock = (): number => 1_800_000_000_000 + now;
  const [lan1, wan1, lan2, wan2] = [new Wire(), new Wire(), new Wire(), new Wire()];
  seedTestIvs(0x5eed);
  try {
    const [r1, r2] = withSwitchSync(SWITCH, on, (): [Dataplane, Dataplane] => [
      new Dataplane({ tables: compileRouter(config, 'r1', 1), ports: [lan1, wan1], clock, wallClock }),
      new Dataplane({ tables: compileRouter(config, 'r2', 1), ports: [lan2, wan2], clock, wallClock }),
    ]);
    if (c.transform === true) for (const r of [r1, r2]) r.setPathTransform(0, true); // as the firewall detector's actor (always-transform)
    const rnd = prng(c.protocol === 'tcp' ? 11 : 7);
    let upSeq = 1000, downSeq = 5000;
    /** the next packet up (client -> server) or down; `cookie`: its payload starts with the metadata cookie */
    const packet = (up: boolean, size: number, { flags = size > 0 ? TCP_ACK | TCP_PSH : TCP_ACK, ttl = 64, cookie = false } = {}): Uint8Array => {
      const base = Math.floor(rnd() * 0x10000), payload = new Uint8Array(size);
      for (let i = 0; i < size; i++) payload[i] = (base + i * 167 + (i >> 3) * 29) & 0xff; // cheap, and differs per packet
      if (cookie) payload.set(COOKIE);
      const a = up ? { src: CLIENT, dst: SERVER, srcPort: 40000, dstPort: 5000 } : { src: SERVER, dst: CLIENT, srcPort: 5000, dstPort: 40000 };
      if (c.protocol === 'udp') return buildUdp({ ...a, ttl, payload });
      const seq = up ? upSeq : downSeq;
      if (up) upSeq += Math.max(1, size);
      else downSeq += Math.max(1, size);
      return buildTcp({ ...a, ttl, seq, ack: up ? downSeq : upSeq, flags, payload });
    };
    /** a batch into r1's LAN (up) or r2's LAN (down), and what that router sent on into the other's WAN */
    const send = (up: boolean, pkts: Uint8Array[]): void => {
      const [a, b, out] = up ? ([r1, r2, wan1] as const) : ([r2, r1, wan2] as const);
      const s = slots(pkts);
      a.receive(LAN, s.data, s.off, s.len, s.n, SLOT);
      const w = slots(out.take());
      b.receive(WAN, w.data, w.off, w.len, w.n);
    };
    if (c.protocol === 'tcp') {
      send(true, [packet(true, 0, { flags: TCP_SYN })]);
      send(false, [packet(false, 0, { flags: TCP_SYN | TCP_ACK })]);
      send(true, [packet(true, 0)]);
    } else {
      send(true, [packet(true, 100)]);
      send(false, [packet(false, 50)]);
      send(true, [packet(true, 100)]);
    }
    const setup = [wan1.all.length, wan2.all.length];
    const sync: number[][] = [];
    let synced = now, nativeAtStep = 0, markedAtStep: number[] = [];
    const forwarded = (): number => r1.ctx.nativeForward.forwarded + r2.ctx.nativeForward.forwarded;
    if (c.sync) for (const r of [r1, r2]) sync.push(collect(r.ctx.sessions, now, true));
    for (let step = 0; step < 150; step++) {
      now += 37; // a lease (250 ms) runs out every 7 steps, a time slot (2 s) turns every 54
      // HA sync: the flow's expiry 59.95 s past the synced one (JS marks the flow again), then 60.05 s (native, c.sync)
      if (c.sync && step === 120) now = synced + 59_950;
      if (c.sync && step === 121) now = synced + 60_050;
      const before = forwarded();
      if (step === 146) for (const r of [r1, r2]) r.ctx.pathUp[0] = 0; // as a worker's control does: no call, mid-lease
      const n = step === 60 ? 300 : 1 + Math.floor(rnd() * 48);
      const sizes = Array.from({ length: n }, () => (rnd() < 0.5 ? SIZES[Math.floor(rnd() * SIZES.length)]! : Math.floor(rnd() * 1401)));
      const pkts = sizes.map((s) => packet(true, s));
      const at = Math.floor(rnd() * n);
      if (step % 11 === 5) pkts[at]![10]! ^= 0x01; // a bad IPv4 header checksum: decode drops it
      if (step % 13 === 7) pkts[at] = packet(true, 200, { cookie: true }); // a false-positive header: JS's case
      if (step % 17 === 3) pkts[at] = packet(true, 64, { ttl: 1 }); // time exceeded
      send(true, pkts);
      if (step === 90) { // 1100 more sessions: the table's columns grow under the marked flow (native/fwd.c must follow)
        for (let k = 0; k < 1100; k += 220) send(true, Array.from({ length: 220 }, (_, i) => buildUdp({ src: CLIENT, dst: SERVER, srcPort: 20000 + k + i, dstPort: 6000, payload: new Uint8Array(40) })));
      }
      if (step % 3 === 0) send(false, Array.from({ length: 1 + Math.floor(rnd() * 16) }, () => packet(false, rnd() < 0.5 ? 0 : Math.floor(rnd() * 1401))));
      if (step === 121) {
        nativeAtStep = forwarded() - before;
        markedAtStep = [r1, r2].map((r) => r.ctx.sessions.syncDirtyTop);
      }
      if (c.sync && (step % 10 === 9 || step === 121)) {
        for (const r of [r1, r2]) sync.push(collect(r.ctx.sessions, now, step === 119)); // 119: every row synced (the step below)
        synced = now;
      }
    }
    const columns = [r1, r2].map((r) => {
      const t = r.ctx.sessions, out: number[] = [];
      for (let row = 0; row < t.capacity; row++) if (t.isActive(row)) out.push(row, t.pktsFwd[row]!, t.pktsRev[row]!, t.bytesFwd[row]!, t.bytesRev[row]!, t.lastSeen[row]!, t.expires[row]!);
      return out;
    });
    const counters = [r1, r2].map((r) => r.counters.snapshot());
    const native = (counters[0]!['native-forwarded'] ?? 0) + (counters[1]!['native-forwarded'] ?? 0);
    for (const k of counters) delete k['native-forwarded'];
    // the flow's packets on the wire (the other sessions' first packets carry random session ids)
    const flow = (pkts: Uint8Array[]) => pkts.filter((p) => p[20] === pkts[0]![20] && p[21] === pkts[0]![21] && p[22] === pkts[0]![22] && p[23] === pkts[0]![23]);
    return { r1Wan: flow(wan1.all.slice(setup[0])), r2Wan: flow(wan2.all.slice(setup[1])), r1Lan: lan1.all, r2Lan: lan2.all, columns, counters, native, sync, nativeAtStep, markedAtStep };
  } finally {
    seedTestIvs(0);
  }
}

/** Packet lists equal byte for byte; the message names the first packet and byte that differ. */
function sameBytes(js: Uint8Array[], nat: Uint8Array[], what: string): void {
  for (let i = 0; i < Math.min(js.length, nat.length); i++) {
    const a = js[i]!, b = nat[i]!;
    let k = 0;
    while (k < a.length && k < b.length && a[k] === b[k]) k++;
    if (k < a.length || k < b.length) assert.unreachable(`${what}: packet ${i} of ${js.length} differs at byte ${k} (lengths ${a.length} / ${b.length})`);
  }
  assert.is(nat.length, js.length, `${what}: packets`);
}

const cases: Case[] = [];
for (const protocol of ['udp', 'tcp'] as const) {
  for (const encrypt of [false, true]) for (const timed of [false, true]) cases.push({ protocol, encrypt, timed, sync: false });
  cases.push({ protocol, encrypt: protocol === 'tcp', timed: protocol === 'tcp', sync: true });
}
for (const encrypt of [false, true]) cases.push({ protocol: 'tcp', encrypt, timed: encrypt, sync: false, transform: true });
for (const c of cases) {
  const { protocol, encrypt, timed } = c;
  test(`${protocol.toUpperCase()}, ${encrypt ? 'HMAC + AES-CBC' : 'HMAC only'}, ${timed ? 'time-based' : 'regular'} HMAC${c.sync ? ', HA sync on' : ''}${c.transform === true ? ', carried as UDP' : ''}: the native path sends the JS path's bytes`, () => {
    assert.ok(available, `${SWITCH}=1 turns native forwarding on (the addon has native/fwd.c: npm run build:native)`);
    const js = run(c, false), nat = run(c, true);
    assert.is(js.native, 0, 'off: nothing native');
    assert.ok(nat.native > js.r1Wan.length / 2, `on: ${nat.native} packets native of ${js.r1Wan.length + js.r2Wan.length}`);
    if (c.transform === true) assert.equal([...new Set([...js.r1Wan, ...js.r2Wan].map((p) => p[9]))], [17], "TCP carried as UDP between the routers");
    sameBytes(js.r1Wan, nat.r1Wan, 'r1 -> r2 on the wire');
    sameBytes(js.r2Wan, nat.r2Wan, 'r2 -> r1 on the wire');
    sameBytes(js.r2Lan, nat.r2Lan, 'delivered by r2');
    sameBytes(js.r1Lan, nat.r1Lan, 'delivered by r1');
    assert.equal(nat.columns, js.columns, 'session rows: packets, bytes, last seen, expiry');
    assert.equal(nat.counters, js.counters, 'counters');
    assert.equal(nat.sync, js.sync, 'HA sync: the rows marked, their marks, the collections');
    if (c.sync) {
      assert.ok(nat.nativeAtStep > 0, 'the step past SYNC_EXPIRY_MS went native');
      assert.equal(nat.markedAtStep, [1, 1], 'that step marked the flow on both routers');
    }
  });
}

test.run();
