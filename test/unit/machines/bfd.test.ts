/** BFD session machine (RFC 5880 §6.2, §6.5, §6.8): pure transitions, then timers with SimulatedClock. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SimulatedClock, createActor, initialTransition, transition, type SnapshotFrom } from 'xstate';
import { bfdMachine, detectionTimeMs, type BfdEvent, type BfdInput } from '../../../src/machines/bfd.js';
import type { BfdControlPacket, BfdState } from '../../../src/packet/bfd.js';

const MINE = 0x1111;
const REMOTE = 0x2222;
const INPUT: BfdInput = { myDiscriminator: MINE, desiredMinTxMs: 50, requiredMinRxMs: 40, multiplier: 3, slowTxMs: 1000, jitterSeed: 7 };

type Snapshot = SnapshotFrom<typeof bfdMachine>;
type Action = { type: string; params?: unknown };

/** A packet from the remote: Your Discriminator is ours unless the remote is Down/AdminDown (then 0). */
function packet(state: BfdState, over: Partial<BfdControlPacket> = {}): BfdControlPacket {
  return {
    diag: 0, state, poll: false, final: false, controlPlaneIndependent: false, demand: false, detectMult: 3,
    myDiscriminator: REMOTE, yourDiscriminator: state === 'down' || state === 'adminDown' ? 0 : MINE,
    desiredMinTxUs: 100_000, requiredMinRxUs: 60_000, requiredMinEchoRxUs: 0, ...over,
  };
}
const rx = (state: BfdState, over: Partial<BfdControlPacket> = {}): BfdEvent => ({ type: 'bfd.rx', packet: packet(state, over) });

function sessionState(s: Snapshot): string {
  const v = (s.value as { session: string | Record<string, unknown> }).session;
  return typeof v === 'string' ? v : Object.keys(v)[0]!;
}
const params = <T>(actions: readonly Action[], type: string): T[] => actions.filter((a) => a.type === type).map((a) => a.params as T);
const published = (actions: readonly Action[]) => params<{ state: BfdState; diag: number }>(actions, 'publishState');
const sent = (actions: readonly Action[]) => params<BfdControlPacket>(actions, 'sendControl');

function start(input: BfdInput = INPUT): Snapshot {
  return initialTransition(bfdMachine, input)[0];
}
function step(s: Snapshot, e: BfdEvent): [Snapshot, Action[]] {
  const [next, actions] = transition(bfdMachine, s, e);
  return [next, actions as Action[]];
}
/** Down -> Init -> Up by pure transitions. */
function inInit(): Snapshot {
  return step(start(), rx('down'))[0];
}
function inUp(): Snapshot {
  return step(inInit(), rx('up'))[0];
}

test('starts Down, publishes it, sends nothing at once and arms the transmit timer', () => {
  const [s, actions] = initialTransition(bfdMachine, INPUT);
  assert.is(sessionState(s), 'down');
  assert.equal(published(actions as Action[]), [{ state: 'down', diag: 0 }]);
  assert.equal(sent(actions as Action[]), []);
  assert.ok((actions as Action[]).some((a) => a.type === 'xstate.raise'), 'transmit timer scheduled');
});

test('§6.2 Down: rx DOWN -> Init; rx INIT -> Up; rx UP or ADMIN DOWN -> stays Down', () => {
  const [init, a1] = step(start(), rx('down'));
  assert.is(sessionState(init), 'init');
  assert.equal(published(a1), [{ state: 'init', diag: 0 }]);
  assert.is(init.context.remoteDiscr, REMOTE, 'bfd.RemoteDiscr from My Discriminator (§6.8.6)');

  const [up, a2] = step(start(), rx('init'));
  assert.is(sessionState(up), 'up');
  assert.equal(published(a2), [{ state: 'up', diag: 0 }]);

  for (const remote of ['up', 'adminDown'] as const) {
    const [still, a3] = step(start(), rx(remote));
    assert.is(sessionState(still), 'down', `rx ${remote}`);
    assert.equal(published(a3), [], 'no state change, nothing published');
    assert.is(still.context.diag, 0);
  }
});

test('§6.2 Init: rx INIT or UP -> Up; rx DOWN -> stays Init; rx ADMIN DOWN -> Down with Diag 3', () => {
  for (const remote of ['init', 'up'] as const) {
    const [s, a] = step(inInit(), rx(remote));
    assert.is(sessionState(s), 'up', `rx ${remote}`);
    assert.equal(published(a), [{ state: 'up', diag: 0 }]);
  }
  const [stay, a1] = step(inInit(), rx('down'));
  assert.is(sessionState(stay), 'init');
  assert.equal(published(a1), []);
  const [down, a2] = step(inInit(), rx('adminDown'));
  assert.is(sessionState(down), 'down');
  assert.equal(published(a2), [{ state: 'down', diag: 3 }], 'Neighbor Signaled Session Down');
});

test('§6.2 Up: rx INIT or UP -> stays Up; rx DOWN or ADMIN DOWN -> Down with Diag 3', () => {
  for (const remote of ['init', 'up'] as const) {
    const [s, a] = step(inUp(), rx(remote));
    assert.is(sessionState(s), 'up');
    assert.equal(published(a), [], `rx ${remote}: nothing published`);
  }
  for (const remote of ['down', 'adminDown'] as const) {
    const [s, a] = step(inUp(), rx(remote));
    assert.is(sessionState(s), 'down', `rx ${remote}`);
    assert.equal(published(a), [{ state: 'down', diag: 3 }]);
  }
});

test('§6.8.16 AdminDown: Diag 7, received packets change no state and get no Final; enabling -> Down', () => {
  const [admin, a1] = step(inUp(), { type: 'bfd.adminDown' });
  assert.is(sessionState(admin), 'adminDown');
  assert.equal(published(a1), [{ state: 'adminDown', diag: 7 }]);
  for (const remote of ['down', 'init', 'up'] as const) {
    const [s, a] = step(admin, rx(remote, { poll: true }));
    assert.is(sessionState(s), 'adminDown', `rx ${remote}`);
    assert.equal(sent(a), [], 'discarded after the variable updates: no Final either');
  }
  assert.is(step(admin, rx('down', { myDiscriminator: 0x9999 }))[0].context.remoteDiscr, 0x9999, 'remote variables still updated');
  const [down, a2] = step(admin, { type: 'bfd.adminUp' });
  assert.is(sessionState(down), 'down');
  assert.equal(published(a2), [{ state: 'down', diag: 0 }]);
  // from Down and Init too
  assert.is(sessionState(step(start(), { type: 'bfd.adminDown' })[0]), 'adminDown');
  assert.is(sessionState(step(inInit(), { type: 'bfd.adminDown' })[0]), 'adminDown');
  assert.is(sessionState(step(admin, { type: 'bfd.adminDown' })[0]), 'adminDown');
});

test('§6.8.6 discriminator checks: a foreign Your Discriminator, or zero while the remote is not Down, is discarded', () => {
  const [s1, a1] = step(inUp(), rx('down', { yourDiscriminator: 0x5555 }));
  assert.is(sessionState(s1), 'up');
  assert.equal(params(a1, 'discard'), [{ reason: 'unknown-discriminator' }]);
  const [s2, a2] = step(start(), rx('init', { yourDiscriminator: 0 }));
  assert.is(sessionState(s2), 'down');
  assert.equal(params(a2, 'discard'), [{ reason: 'no-your-discriminator' }]);
  assert.is(s2.context.remoteDiscr, 0, 'nothing recorded from a discarded packet');
  const [, a3] = step(start(), rx('down'));
  assert.equal(params(a3, 'discard'), []);
});

test('§6.5/§6.8.7 a Poll is answered at once with a Final (P clear) that carries the new state', () => {
  const [s, a] = step(start(), rx('down', { poll: true }));
  assert.is(sessionState(s), 'init');
  const finals = sent(a);
  assert.is(finals.length, 1);
  assert.equal([finals[0]!.final, finals[0]!.poll, finals[0]!.state, finals[0]!.yourDiscriminator, finals[0]!.myDiscriminator], [true, false, 'init', REMOTE, MINE]);
});

test('§6.8.3 coming Up lowers DesiredMinTx from the slow 1 s and starts a Poll Sequence; a Final ends it', () => {
  const init = inInit();
  assert.equal([init.context.desiredMinTxUs, init.context.polling], [1_000_000, false], 'slow rate while not Up');
  const up = step(init, rx('up'))[0];
  assert.equal([up.context.desiredMinTxUs, up.context.txInUseUs, up.context.polling], [50_000, 50_000, true]);
  const done = step(up, rx('up', { final: true }))[0];
  assert.is(done.context.polling, false);
  const down = step(done, rx('down'))[0];
  assert.equal([down.context.desiredMinTxUs, down.context.txInUseUs], [1_000_000, 1_000_000], 'back to the slow rate at once (not Up)');
});

test('§6.8.3 while Up: a larger TX and a smaller RX take effect only when the Poll Sequence ends', () => {
  const up = step(step(inUp(), rx('up', { final: true }))[0], rx('up'))[0];
  assert.is(up.context.polling, false);
  const [changed] = step(up, { type: 'bfd.configure', desiredMinTxMs: 200, requiredMinRxMs: 20, multiplier: 4 });
  const c = changed.context;
  assert.equal([c.desiredMinTxUs, c.requiredMinRxUs, c.multiplier, c.polling], [200_000, 20_000, 4, true], 'advertised at once, with P');
  assert.equal([c.txInUseUs, c.rxInUseUs], [50_000, 40_000], 'old values still in use');
  assert.is(detectionTimeMs(c), 300, '3 x max(old 40 ms, remote 100 ms)');
  const [final] = step(changed, rx('up', { final: true, desiredMinTxUs: 10_000 }));
  assert.equal([final.context.txInUseUs, final.context.rxInUseUs, final.context.polling], [200_000, 20_000, false]);
  assert.is(detectionTimeMs(final.context), 60, '3 x max(20 ms, remote 10 ms)');
});

// ---- timers (SimulatedClock) ----

interface Run {
  actor: ReturnType<typeof createActor<typeof bfdMachine>>;
  clock: SimulatedClock;
  log: { at: number; packet: BfdControlPacket }[];
  states: { at: number; state: BfdState; diag: number }[];
  advance(ms: number): void;
}

function run(input: BfdInput = INPUT): Run {
  const clock = new SimulatedClock();
  const log: Run['log'] = [];
  const states: Run['states'] = [];
  const machine = bfdMachine.provide({
    actions: {
      sendControl: (_, packet) => log.push({ at: clock.now(), packet }),
      publishState: (_, p) => states.push({ at: clock.now(), ...p }),
    },
  });
  const actor = createActor(machine, { clock, input });
  actor.start();
  // SimulatedClock fires due timers once per increment: step 1 ms at a time so re-armed timers fire too
  const advance = (ms: number): void => {
    for (let i = 0; i < ms; i++) clock.increment(1);
  };
  return { actor, clock, log, states, advance };
}

const current = (r: Run): string => sessionState(r.actor.getSnapshot());

test('§6.8.4 Up -> Down when a Detection Time (remote mult x max(our RequiredMinRx, remote DesiredMinTx)) passes in silence', () => {
  const r = run();
  r.actor.send(rx('init', { detectMult: 3, desiredMinTxUs: 100_000 }));
  assert.is(current(r), 'up');
  r.advance(299);
  assert.is(current(r), 'up', 'still up 1 ms before 3 x 100 ms');
  r.advance(1);
  assert.is(current(r), 'down');
  assert.equal(r.states.at(-1), { at: 300, state: 'down', diag: 1 }, 'Control Detection Time Expired');
  assert.is(r.actor.getSnapshot().context.remoteDiscr, 0, '§6.8.1 RemoteDiscr forgotten');

  const r2 = run();
  r2.actor.send(rx('init', { detectMult: 5, desiredMinTxUs: 10_000 }));
  r2.advance(199);
  assert.is(current(r2), 'up');
  r2.advance(1);
  assert.is(current(r2), 'down', '5 x our 40 ms RequiredMinRx (larger than the remote 10 ms)');
});

test('§6.8.4 each accepted packet restarts detection; Init -> Down on timeout too', () => {
  const r = run();
  r.actor.send(rx('init'));
  for (let i = 0; i < 10; i++) {
    r.advance(250);
    r.actor.send(rx('up'));
  }
  assert.is(current(r), 'up', '2.5 s of packets every 250 ms < 300 ms detection');
  const r2 = run();
  r2.actor.send(rx('down'));
  assert.is(current(r2), 'init');
  r2.advance(300);
  assert.is(current(r2), 'down');
  assert.equal(r2.states.at(-1)!.diag, 1);
});

test('bfd.trafficSeen (authenticated data on the path) restarts detection while Up; in Init it changes nothing', () => {
  const r = run();
  r.actor.send(rx('init'));
  for (let i = 0; i < 10; i++) {
    r.advance(250);
    r.actor.send({ type: 'bfd.trafficSeen' });
  }
  assert.is(current(r), 'up', '2.5 s of data every 250 ms, no control packet after Up');
  r.advance(300);
  assert.is(current(r), 'down', 'no data, no packets: detection expires');
  assert.equal(r.states.at(-1)!.diag, 1);
  const r2 = run();
  r2.actor.send(rx('down'));
  assert.is(current(r2), 'init');
  for (let i = 0; i < 3; i++) {
    r2.advance(100);
    r2.actor.send({ type: 'bfd.trafficSeen' });
  }
  assert.is(current(r2), 'down', 'Init times out at 300 ms regardless of data');
});

test('§6.8.7 periodic transmission: max(DesiredMinTx, remote RequiredMinRx) minus 0-25 % jitter; 1 s until Up (§6.8.3)', () => {
  const r = run();
  r.advance(5000);
  const slowGaps = r.log.slice(1).map((e, i) => e.at - r.log[i]!.at);
  assert.ok(slowGaps.length >= 4, `${slowGaps.length} slow packets`);
  for (const g of slowGaps) assert.ok(g >= 750 && g <= 1000, `slow gap ${g}`);
  assert.ok(r.log.every((e) => e.packet.state === 'down' && e.packet.desiredMinTxUs === 1_000_000));

  r.actor.send(rx('init', { requiredMinRxUs: 60_000 })); // Up; remote accepts one packet per 60 ms
  r.log.length = 0;
  for (let i = 0; i < 20; i++) {
    r.advance(100);
    r.actor.send(rx('up', { requiredMinRxUs: 60_000, final: i === 0 }));
  }
  const gaps = r.log.slice(1).map((e, i) => e.at - r.log[i]!.at);
  for (const g of gaps) assert.ok(g >= 45 && g <= 60, `gap ${g} within 60 ms - 25 %`);
  assert.ok(Math.min(...gaps) < Math.max(...gaps), 'jittered per packet');
  assert.ok(r.log[0]!.packet.poll && !r.log.at(-1)!.packet.poll, 'P until the Final arrived');
});

test('§6.8.7 a remote RequiredMinRx of zero stops periodic transmission', () => {
  const r = run();
  for (let i = 0; i < 15; i++) {
    r.actor.send(rx('down', { requiredMinRxUs: 0 }));
    r.advance(200);
  }
  assert.equal(r.log, [], 'nothing in 3 s');
  r.advance(1000); // §6.8.18: silence for a Detection Time resets RemoteMinRxInterval to 1
  assert.ok(r.log.length > 0, 'transmits again once the remote is forgotten');
});

test('bfd.resume (a pair node taking over): silent while Down; the remote\'s Up with our discriminator continues the session Up at once, with a packet', () => {
  const [resuming, a0] = step(start(), { type: 'bfd.resume' });
  assert.is(sessionState(resuming), 'down');
  assert.ok(resuming.context.resuming);
  assert.equal(published(a0), [], 'still Down, nothing published');
  const [up, a1] = step(resuming, rx('up'));
  assert.is(sessionState(up), 'up', 'Down + rx UP continues the session (§6.2 would stay Down)');
  assert.equal(published(a1), [{ state: 'up', diag: 0 }]);
  assert.not.ok(up.context.resuming);
  assert.is(up.context.remoteDiscr, REMOTE);
  const [, a2] = step(up, { type: 'bfd.sendNow' });
  assert.equal(sent(a2).map((p) => [p.state, p.yourDiscriminator, p.myDiscriminator]), [['up', REMOTE, MINE]], 'tells the remote at once');
  // any other packet: §6.2 as usual
  assert.is(sessionState(step(step(start(), { type: 'bfd.resume' })[0], rx('down'))[0]), 'init');
  assert.is(sessionState(step(step(start(), { type: 'bfd.resume' })[0], rx('init'))[0]), 'up');
  // without bfd.resume, Down + rx UP stays Down (unchanged)
  assert.is(sessionState(step(start(), rx('up'))[0]), 'down');
});

test('bfd.resume sends nothing for one Detection Time of ours (3 x 40 ms), then transmits as before; the first Up packet is sent at once', () => {
  const r = run();
  r.advance(1500);
  const before = r.log.length;
  assert.ok(before > 0, 'a Down node transmits (slowly)');
  r.actor.send({ type: 'bfd.resume' });
  r.advance(119);
  assert.is(r.log.length, before, 'silent inside the window');
  r.advance(1);
  assert.not.ok(r.actor.getSnapshot().context.resuming, 'the window ends after 120 ms');
  r.advance(1100);
  assert.ok(r.log.length > before, 'transmits again after the window');

  const r2 = run();
  r2.actor.send({ type: 'bfd.resume' });
  r2.advance(10);
  r2.actor.send(rx('up'));
  assert.is(current(r2), 'up');
  assert.equal(r2.log.map((x) => [x.at, x.packet.state]), [[10, 'up']], 'one Up packet at once');
});

test('the full three-way handshake between two machines, then silence brings both down', () => {
  const clock = new SimulatedClock();
  const pending: Array<() => void> = [];
  const actors: ReturnType<typeof createActor<typeof bfdMachine>>[] = [];
  const states: string[] = [];
  const make = (me: number, discr: number) => createActor(bfdMachine.provide({
    actions: {
      sendControl: (_, p) => { pending.push(() => actors[1 - me]!.send({ type: 'bfd.rx', packet: p })); },
      publishState: (_, p) => { states.push(`${me}:${p.state}`); },
    },
  }), { clock, input: { ...INPUT, myDiscriminator: discr, jitterSeed: discr } });
  actors.push(make(0, 0xa), make(1, 0xb));
  actors.forEach((a) => a.start());
  let linkUp = true;
  const advance = (ms: number) => {
    for (let i = 0; i < ms; i++) {
      clock.increment(1);
      const due = pending.splice(0);
      if (linkUp) due.forEach((f) => f());
    }
  };
  advance(3000);
  assert.equal(actors.map((a) => sessionState(a.getSnapshot())), ['up', 'up']);
  assert.ok(states.includes('0:init') || states.includes('1:init'), 'one side went through Init');
  linkUp = false;
  advance(200);
  assert.equal(actors.map((a) => sessionState(a.getSnapshot())), ['down', 'down'], 'both detect within 3 x 50 ms (+ a tx gap)');
});

test.run();
