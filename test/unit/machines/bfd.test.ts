/** BFD session machine (RFC 5880 §6.2, §6.5, §6.8): pure transitions. Its timers: test/unit/paths/bfd-schedule.test.ts. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initialTransition, transition, type SnapshotFrom } from 'xstate';
import { bfdMachine, detectionTimeMs, detectionWatched, mayTransmit, type BfdEvent, type BfdInput } from '../../../src/machines/bfd.js';
import type { BfdControlPacket, BfdState } from '../../../src/packet/bfd.js';

const MINE = 0x1111;
const REMOTE = 0x2222;
const INPUT: BfdInput = { myDiscriminator: MINE, desiredMinTxMs: 50, requiredMinRxMs: 40, multiplier: 3, slowTxMs: 1000 };

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

test('starts Down, publishes it, sends nothing at once (the schedule transmits)', () => {
  const [s, actions] = initialTransition(bfdMachine, INPUT);
  assert.is(sessionState(s), 'down');
  assert.equal(published(actions as Action[]), [{ state: 'down', diag: 0 }]);
  assert.equal(sent(actions as Action[]), []);
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

test('§6.8.4 bfd.detectionTimeExpired (from the schedule): Up or Init -> Down with Diag 1, the remote forgotten; Down watching -> quiet', () => {
  for (const from of [inUp(), inInit()]) {
    const [down, a] = step(from, { type: 'bfd.detectionTimeExpired' });
    assert.is(sessionState(down), 'down');
    assert.equal(published(a), [{ state: 'down', diag: 1 }], 'Control Detection Time Expired');
    assert.equal([down.context.remoteDiscr, down.context.remoteMinRxUs], [0, 1], '§6.8.1 RemoteDiscr forgotten, §6.8.18 RemoteMinRxInterval 1');
    assert.not.ok(detectionWatched(down), 'the remote forgotten: nothing to watch');
  }
  const [watching] = step(start(), rx('up')); // Down + rx UP: stays Down, watches the remote
  assert.ok(detectionWatched(watching));
  const [quiet, a2] = step(watching, { type: 'bfd.detectionTimeExpired' });
  assert.equal([sessionState(quiet), detectionWatched(quiet), quiet.context.remoteDiscr], ['down', false, 0], 'Down watching -> quiet, remote forgotten');
  assert.equal(published(a2), [], 'no new state');
  assert.is(sessionState(step(start(), { type: 'bfd.detectionTimeExpired' })[0]), 'down', 'a quiet Down session ignores it');
  assert.not.ok(detectionWatched(start()), 'a fresh session watches nothing');
  assert.ok(detectionWatched(inUp()) && detectionWatched(inInit()));
  const [admin] = step(inUp(), { type: 'bfd.adminDown' });
  assert.not.ok(detectionWatched(admin), 'AdminDown watches nothing');
});

test('§6.8.7 mayTransmit: not when the remote asks for a RequiredMinRx of 0, nor inside a resume window', () => {
  assert.ok(mayTransmit(start().context));
  assert.not.ok(mayTransmit(step(start(), rx('down', { requiredMinRxUs: 0 }))[0].context));
  assert.not.ok(mayTransmit(step(start(), { type: 'bfd.resume' })[0].context));
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

test.run();
