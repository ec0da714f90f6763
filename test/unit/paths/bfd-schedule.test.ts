/**
 * The BFD schedule (paths/bfd-schedule.ts) with real session machines (machines/bfd.ts), wired as
 * PathSupervisor wires them, on virtual time: the timers of RFC 5880 §6.8.4/§6.8.7 and the steady-state
 * fast path (a state or parameter change still reaches the machine; detection exact from the last packet).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor } from 'xstate';
import { bfdMachine, controlPacket, detectionWatched, discardReason, type BfdEvent, type BfdInput } from '../../../src/machines/bfd.js';
import { decodeBfdControl, encodeBfdControl, type BfdControlPacket, type BfdState } from '../../../src/packet/bfd.js';
import { BfdSchedule } from '../../../src/paths/bfd-schedule.js';
import { VirtualTime } from './virtual-time.js';

const MINE = 0x1111;
const REMOTE = 0x2222;
const INPUT: BfdInput = { myDiscriminator: MINE, desiredMinTxMs: 50, requiredMinRxMs: 40, multiplier: 3, slowTxMs: 1000 };

function packet(state: BfdState, over: Partial<BfdControlPacket> = {}): BfdControlPacket {
  return {
    diag: 0, state, poll: false, final: false, controlPlaneIndependent: false, demand: false, detectMult: 3,
    myDiscriminator: REMOTE, yourDiscriminator: state === 'down' || state === 'adminDown' ? 0 : MINE,
    desiredMinTxUs: 100_000, requiredMinRxUs: 60_000, requiredMinEchoRxUs: 0, ...over,
  };
}

type Actor = ReturnType<typeof createActor<typeof bfdMachine>>;

/** Sessions sharing one schedule and one virtual clock, as a supervisor's paths do. */
class Rig {
  readonly vt = new VirtualTime();
  readonly actors: Actor[] = [];
  readonly slots: number[] = [];
  /** what each session sent, with the virtual time */
  readonly log: { at: number; packet: BfdControlPacket }[][] = [];
  readonly states: { at: number; state: BfdState; diag: number }[][] = [];
  /** packets the fast path took / the machine got, per session */
  readonly steady: number[] = [];
  readonly toMachine: number[] = [];
  batches: number[] = [];
  /** where a session's packets go (another session of the rig), if anywhere */
  wire: ((from: number, p: BfdControlPacket) => void) | null = null;
  readonly schedule = new BfdSchedule(this.vt, {
    expire: (slot) => this.send(this.slots.indexOf(slot), { type: 'bfd.detectionTimeExpired' }),
    // the schedule's bytes are what the session's machine would send now (same bytes on the wire)
    transmit: (slot, bytes) => {
      const i = this.slots.indexOf(slot);
      const p = decodeBfdControl(bytes);
      assert.ok(p.ok, 'the schedule\'s periodic packet decodes');
      assert.equal([...bytes], [...encodeBfdControl(controlPacket(this.actors[i]!.getSnapshot().context, false))], 'the schedule\'s bytes are the machine\'s periodic packet');
      this.sent(i, p.packet);
    },
    batch: (fn) => {
      this.batches.push(0);
      fn();
    },
  });

  add(input: BfdInput = INPUT, seed = 7): number {
    const i = this.actors.length;
    this.log.push([]);
    this.states.push([]);
    this.steady.push(0);
    this.toMachine.push(0);
    const actor = createActor(bfdMachine.provide({
      actions: {
        sendControl: (_, p) => this.sent(i, p),
        publishState: (_, p) => this.states[i]!.push({ at: this.vt.now(), ...p }),
      },
    }), { clock: this.vt, input });
    this.actors.push(actor);
    this.slots.push(this.schedule.add(seed));
    actor.subscribe(() => this.sync(i)); // every snapshot, also after the machine's own resume-window timer
    actor.start();
    return i;
  }

  sent(i: number, p: BfdControlPacket): void {
    this.log[i]!.push({ at: this.vt.now(), packet: p });
    if (this.batches.length > 0) this.batches[this.batches.length - 1]!++;
    this.wire?.(i, p);
  }

  send(i: number, e: BfdEvent): void {
    this.actors[i]!.send(e);
  }

  sync(i: number): void {
    const snap = this.actors[i]!.getSnapshot();
    this.schedule.sync(this.slots[i]!, snap.context, detectionWatched(snap));
  }

  /** A packet from the wire, as PathSupervisor takes it: the fast path, else decode -> machine. */
  rx(i: number, p: BfdControlPacket): void {
    if (this.schedule.steady(this.slots[i]!, encodeBfdControl(p))) {
      this.steady[i]!++;
      return;
    }
    this.toMachine[i]!++;
    const c = this.actors[i]!.getSnapshot().context;
    if (discardReason(c, p) === undefined && c.state !== 'adminDown') this.schedule.accepted(this.slots[i]!);
    this.send(i, { type: 'bfd.rx', packet: p });
  }

  state(i: number): string {
    const v = (this.actors[i]!.getSnapshot().value as { session: string | Record<string, unknown> }).session;
    return typeof v === 'string' ? v : Object.keys(v)[0]!;
  }

  advance(ms: number): void {
    this.vt.runFor(ms);
  }
}

const gaps = (log: readonly { at: number }[]): number[] => log.slice(1).map((e, i) => e.at - log[i]!.at);

test('§6.8.4 Up -> Down when a Detection Time (remote mult x max(our RequiredMinRx, remote DesiredMinTx)) passes in silence: exact', () => {
  const r = new Rig();
  r.add();
  r.rx(0, packet('init', { detectMult: 3, desiredMinTxUs: 100_000 }));
  assert.is(r.state(0), 'up');
  r.advance(299.9);
  assert.is(r.state(0), 'up', 'still up just before 3 x 100 ms');
  r.advance(0.1);
  assert.is(r.state(0), 'down');
  assert.equal(r.states[0]!.at(-1), { at: 300, state: 'down', diag: 1 }, 'Control Detection Time Expired, at 300 ms exactly');
  assert.is(r.actors[0]!.getSnapshot().context.remoteDiscr, 0, '§6.8.1 RemoteDiscr forgotten');

  const r2 = new Rig();
  r2.add();
  r2.rx(0, packet('init', { detectMult: 5, desiredMinTxUs: 10_000 }));
  r2.advance(199.9);
  assert.is(r2.state(0), 'up');
  r2.advance(0.1);
  assert.is(r2.state(0), 'down', '5 x our 40 ms RequiredMinRx (larger than the remote 10 ms)');
});

test('fast path: steady packets restart detection without an event; the silent path is down exactly detect-mult x interval after the last one', () => {
  const r = new Rig();
  r.add();
  r.rx(0, packet('init'));
  r.rx(0, packet('up', { final: true })); // ends our Poll (Up changed our timers)
  assert.is(r.toMachine[0], 2);
  for (let i = 0; i < 40; i++) {
    r.advance(250);
    r.rx(0, packet('up'));
  }
  assert.is(r.state(0), 'up', '10 s of packets every 250 ms < 300 ms detection');
  assert.equal([r.steady[0], r.toMachine[0]], [40, 2], 'every steady packet on the fast path, none to the machine');
  const last = r.vt.now();
  r.advance(299.5);
  assert.is(r.state(0), 'up');
  r.advance(1);
  assert.is(r.state(0), 'down');
  assert.equal(r.states[0]!.at(-1), { at: last + 300, state: 'down', diag: 1 }, 'down 3 x 100 ms after the last (fast-path) packet');
});

test('fast path: a state change, a Poll, a Final, new timers, another discriminator or Detect Mult all reach the machine', () => {
  const up = (): Rig => {
    const r = new Rig();
    r.add();
    r.rx(0, packet('init'));
    r.rx(0, packet('up', { final: true }));
    r.rx(0, packet('up'));
    assert.equal([r.steady[0], r.toMachine[0]], [1, 2]);
    return r;
  };
  const cases: [string, BfdControlPacket][] = [
    ['poll', packet('up', { poll: true })],
    ['final', packet('up', { final: true })],
    ['desired tx', packet('up', { desiredMinTxUs: 200_000 })],
    ['required rx', packet('up', { requiredMinRxUs: 0 })],
    ['detect mult', packet('up', { detectMult: 4 })],
    ['my discriminator', packet('up', { myDiscriminator: 0x3333 })],
    ['your discriminator', packet('up', { yourDiscriminator: 0x4444 })],
  ];
  for (const [what, p] of cases) {
    const r = up();
    r.rx(0, p);
    assert.is(r.toMachine[0], 3, what);
  }
  const r = up();
  r.rx(0, packet('down'));
  assert.is(r.toMachine[0], 3);
  assert.is(r.state(0), 'down', 'the remote going Down reaches the machine: Down, Diag 3');
  assert.equal(r.states[0]!.at(-1)!.diag, 3);
  const p = up();
  p.rx(0, packet('up', { poll: true }));
  assert.ok(p.log[0]!.at(-1)!.packet.final, 'a Poll is answered with a Final at once');
  const t = up();
  t.rx(0, packet('up', { requiredMinRxUs: 0 }));
  t.log[0]!.length = 0;
  t.advance(300);
  assert.equal(t.log[0], [], 'a remote RequiredMinRx of 0 stops periodic transmission (§6.8.7)');
  const adm = up();
  adm.rx(0, packet('adminDown'));
  assert.equal(adm.states[0]!.at(-1), { at: 0, state: 'down', diag: 3 });
  const local = up();
  local.send(0, { type: 'bfd.adminDown' });
  local.rx(0, packet('up'));
  assert.is(local.toMachine[0], 3, 'nothing is steady while our session is not Up');
});

test('§6.8.4 each accepted packet restarts detection; Init -> Down on timeout too; a discarded one does not restart it', () => {
  const r = new Rig();
  r.add();
  r.rx(0, packet('down'));
  assert.is(r.state(0), 'init');
  r.advance(200);
  r.rx(0, packet('down', { yourDiscriminator: 0x5555 })); // §6.8.6: discarded
  r.advance(100);
  assert.is(r.state(0), 'down', 'Init times out 300 ms after the last accepted packet');
  assert.equal(r.states[0]!.at(-1)!.diag, 1);
});

test('data on an Up path (traffic) restarts detection; in Init it changes nothing', () => {
  const r = new Rig();
  r.add();
  r.rx(0, packet('init'));
  for (let i = 0; i < 10; i++) {
    r.advance(250);
    assert.ok(r.schedule.traffic(r.slots[0]!));
  }
  assert.is(r.state(0), 'up', '2.5 s of data every 250 ms, no control packet after Up');
  r.advance(300);
  assert.is(r.state(0), 'down', 'no data, no packets: detection expires');
  assert.equal(r.states[0]!.at(-1)!.diag, 1);
  const r2 = new Rig();
  r2.add();
  r2.rx(0, packet('down'));
  for (let i = 0; i < 3; i++) {
    r2.advance(100);
    assert.not.ok(r2.schedule.traffic(r2.slots[0]!));
  }
  assert.is(r2.state(0), 'down', 'Init times out at 300 ms regardless of data');
});

test('§6.8.7 periodic transmission: max(DesiredMinTx, remote RequiredMinRx) minus 0-25 % jitter; 1 s until Up (§6.8.3)', () => {
  const r = new Rig();
  r.add();
  r.advance(5000);
  const slow = gaps(r.log[0]!);
  assert.ok(slow.length >= 4, `${slow.length} slow packets`);
  for (const g of slow) assert.ok(g >= 750 && g <= 1000, `slow gap ${g}`);
  assert.ok(r.log[0]!.every((e) => e.packet.state === 'down' && e.packet.desiredMinTxUs === 1_000_000));

  r.rx(0, packet('init', { requiredMinRxUs: 60_000 })); // Up; remote accepts one packet per 60 ms
  r.log[0]!.length = 0;
  for (let i = 0; i < 20; i++) {
    r.advance(100);
    r.rx(0, packet('up', { requiredMinRxUs: 60_000, final: i === 0 }));
  }
  const g = gaps(r.log[0]!);
  for (const x of g) assert.ok(x >= 45 - 1e-9 && x <= 60 + 1e-9, `gap ${x} within 60 ms - 25 %`);
  assert.ok(Math.min(...g) < Math.max(...g), 'jittered per packet');
  assert.ok(r.log[0]![0]!.packet.poll && !r.log[0]!.at(-1)!.packet.poll, 'P until the Final arrived');
});

test('§6.8.7 a remote RequiredMinRx of zero stops periodic transmission; forgotten after a Detection Time, it transmits again', () => {
  const r = new Rig();
  r.add();
  for (let i = 0; i < 15; i++) {
    r.rx(0, packet('down', { requiredMinRxUs: 0 }));
    r.advance(200);
  }
  assert.equal(r.log[0], [], 'nothing in 3 s');
  r.advance(1000); // §6.8.18: silence for a Detection Time resets RemoteMinRxInterval to 1
  assert.ok(r.log[0]!.length > 0, 'transmits again once the remote is forgotten');
});

test('bfd.resume sends nothing for one Detection Time of ours (3 x 40 ms), then transmits as before; the first Up packet is sent at once', () => {
  const r = new Rig();
  r.add();
  r.advance(1500);
  const before = r.log[0]!.length;
  assert.ok(before > 0, 'a Down node transmits (slowly)');
  r.send(0, { type: 'bfd.resume' });
  r.advance(119);
  assert.is(r.log[0]!.length, before, 'silent inside the window');
  r.advance(1);
  assert.not.ok(r.actors[0]!.getSnapshot().context.resuming, 'the window ends after 120 ms');
  r.advance(1100);
  assert.ok(r.log[0]!.length > before, 'transmits again after the window');

  const r2 = new Rig();
  r2.add();
  r2.send(0, { type: 'bfd.resume' });
  r2.advance(10);
  r2.rx(0, packet('up'));
  assert.is(r2.state(0), 'up');
  assert.equal(r2.log[0]!.map((x) => [x.at, x.packet.state]), [[10, 'up']], 'one Up packet at once');
});

test('the full three-way handshake between two sessions over the fast path, then silence brings both down', () => {
  const r = new Rig();
  r.add({ ...INPUT, myDiscriminator: 0xa }, 0xa);
  r.add({ ...INPUT, myDiscriminator: 0xb }, 0xb);
  let linkUp = true;
  const pending: (() => void)[] = [];
  r.wire = (from, p) => pending.push(() => r.rx(1 - from, p));
  const advance = (ms: number): void => {
    for (let i = 0; i < ms; i++) {
      r.advance(1);
      const due = pending.splice(0);
      if (linkUp) due.forEach((f) => f());
    }
  };
  advance(3000);
  assert.equal([r.state(0), r.state(1)], ['up', 'up']);
  assert.ok(r.states.some((s) => s.some((x) => x.state === 'init')), 'one side went through Init');
  const steadyBefore = r.steady[0]! + r.steady[1]!;
  advance(2000);
  assert.ok(r.steady[0]! + r.steady[1]! - steadyBefore > 60, 'steady Up: the packets take the fast path');
  linkUp = false;
  advance(200);
  assert.equal([r.state(0), r.state(1)], ['down', 'down'], 'both detect within 3 x 50 ms (+ a tx gap)');
});

test('§6.8.4 a Detection Time the remote shortens ends exactly, though the last scan saw a later deadline', () => {
  const r = new Rig();
  r.add();
  r.rx(0, packet('init'));
  r.rx(0, packet('up', { final: true }));
  for (let i = 0; i < 4; i++) {
    r.advance(100);
    r.rx(0, packet('up'));
  }
  // the scans so far saw deadlines 300 ms after the packets; now the remote sends every 20 ms: 3 x max(our 40 ms, 20 ms)
  r.advance(50);
  r.rx(0, packet('up', { desiredMinTxUs: 20_000 }));
  const last = r.vt.now();
  r.advance(119.9);
  assert.is(r.state(0), 'up', 'still up just before the new 120 ms');
  r.advance(0.1);
  assert.is(r.state(0), 'down');
  assert.equal(r.states[0]!.at(-1), { at: last + 120, state: 'down', diag: 1 }, 'at the new Detection Time exactly, not the old bound');
});

test('one tick sends every path due then in one batch; paths with the same timers fall due together', () => {
  const r = new Rig();
  for (let i = 0; i < 200; i++) r.add({ ...INPUT, myDiscriminator: 0x100 + i }, 0x100 + i);
  r.batches = [];
  r.advance(10_000);
  const sent = r.log.reduce((n, l) => n + l.length, 0);
  const used = r.batches.filter((n) => n > 0);
  assert.ok(sent >= 200 * 9, `${sent} packets in 10 s from 200 slow (1 s) sessions`);
  // due times on a 10 ms grid: at most 100 batches a second, ~2 packets each for 200 paths (~20 for 2,000)
  assert.ok(used.length <= 10 * 100 + 1, `${used.length} batches in 10 s`);
  assert.ok(sent / used.length >= 1.5, `${(sent / used.length).toFixed(1)} packets per batch`);
  for (const l of r.log) for (const g of gaps(l)) assert.ok(g >= 750 - 1e-9 && g <= 1000 + 1e-9, `gap ${g}`);
  r.schedule.stop();
  assert.is(r.vt.pending, 0, 'stop() leaves no timer behind');
});

test.run();
