/** Path lifecycle: usable = BFD up, and after a flap, up for the whole hold-down time. Pure transitions. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initialTransition, transition, type SnapshotFrom } from 'xstate';
import { holdDownRemainingMs, pathMachine, uptimeMs, type PathEvent } from '../../../src/machines/path.js';

type Snapshot = SnapshotFrom<typeof pathMachine>;
type Action = { type: string; params?: unknown };

const HOLD = 5000;
const up = (atMs: number): PathEvent => ({ type: 'bfd.up', atMs });
const down = (atMs: number): PathEvent => ({ type: 'bfd.down', atMs });

/** The hold-down timer the machine armed (an `xstate.raise` with a delay), as an event to fire. */
function armed(actions: readonly Action[]): { delay: number; event: { type: string } } | undefined {
  const a = actions.find((x) => x.type === 'xstate.raise');
  return a === undefined ? undefined : (a.params as { delay: number; event: { type: string } });
}
const announced = (actions: readonly Action[]) => actions.filter((a) => a.type === 'announce').map((a) => a.params as { usable: boolean; reason: string });

/** Runs events from the start; returns the last snapshot, every announcement and the last armed timer. */
function run(events: PathEvent[]): { s: Snapshot; changes: string[]; timer?: { delay: number; event: { type: string } } } {
  let [s] = initialTransition(pathMachine, { holdDownMs: HOLD });
  const changes: string[] = [];
  let timer: { delay: number; event: { type: string } } | undefined;
  for (const e of events) {
    const [next, actions] = transition(pathMachine, s, e);
    s = next;
    for (const a of announced(actions as Action[])) changes.push(`${a.usable ? '+' : '-'}${a.reason}`);
    timer = armed(actions as Action[]) ?? timer;
  }
  return { s, changes, ...(timer ? { timer } : {}) };
}

test('starts down; the first BFD up is usable at once; down makes it unusable and counts a flap', () => {
  const [s0, a0] = initialTransition(pathMachine, { holdDownMs: HOLD });
  assert.is(s0.value, 'down');
  assert.equal(announced(a0 as Action[]), [], 'nothing to announce at start: unusable already');
  const r = run([up(100), down(900)]);
  assert.equal(r.changes, ['+bfd-up', '-bfd-down']);
  assert.is(r.s.value, 'down');
  assert.is(r.s.context.flaps, 1);
});

test('after a flap, up again holds down for holdDownMs, then is usable (hold-down-over)', () => {
  const r = run([up(0), down(1000), up(2000)]);
  assert.is(r.s.value, 'holdingDown');
  assert.equal(r.changes, ['+bfd-up', '-bfd-down'], 'no announcement while held down');
  assert.is(r.timer?.delay, HOLD, 'the hold-down timer is armed for the hold-down time');
  assert.is(holdDownRemainingMs(r.s.context, 3000), 4000);
  const [over, actions] = transition(pathMachine, r.s, r.timer!.event as never);
  assert.is(over.value, 'usable');
  assert.equal(announced(actions as Action[]), [{ usable: true, reason: 'hold-down-over', upSinceMs: 2000 }], 'usable, up since 2000');
  assert.is(holdDownRemainingMs(over.context, 7000), 0);
});

test('a path that goes down during its hold-down starts the hold-down over when it is back', () => {
  const r = run([up(0), down(1000), up(2000), down(4000)]);
  assert.is(r.s.value, 'down', 'down again before the hold-down ended');
  assert.equal(r.changes, ['+bfd-up', '-bfd-down'], 'never usable in between');
  const [back, actions] = transition(pathMachine, r.s, up(5000));
  assert.is(back.value, 'holdingDown');
  assert.is(armed(actions as Action[])?.delay, HOLD, 'a full hold-down again');
  assert.is(holdDownRemainingMs(back.context, 5000), HOLD);
  assert.is(back.context.flaps, 2);
});

test('a path flapping every 2 s with a 5 s hold-down is never usable; every up -> down counts', () => {
  const events: PathEvent[] = [up(0), down(2000)];
  for (let t = 4000; t < 40000; t += 4000) events.push(up(t), down(t + 2000));
  const r = run(events);
  assert.equal(r.changes, ['+bfd-up', '-bfd-down'], 'one change each way, then nothing while flapping');
  assert.is(r.s.context.flaps, 10);
});

test('repeated events change nothing; path.configure takes the new hold-down from the next one', () => {
  const r = run([up(0), up(10), down(20), down(30)]);
  assert.equal(r.changes, ['+bfd-up', '-bfd-down']);
  const [configured] = transition(pathMachine, r.s, { type: 'path.configure', holdDownMs: 1000 });
  const [held, actions] = transition(pathMachine, configured, up(50));
  assert.is(held.value, 'holdingDown');
  assert.is(armed(actions as Action[])?.delay, 1000);
});

test('a pair\'s node taking over (path.resume): down as a standby is no flap, the next up is usable at once; a running hold-down ends', () => {
  const r = run([up(100), down(900), { type: 'path.resume' }, up(2000)]);
  assert.equal(r.changes, ['+bfd-up', '-bfd-down', '+bfd-up'], 'no hold-down after the takeover');
  assert.is(r.s.value, 'usable');
  assert.is(r.s.context.flaps, 1, 'the flap is still counted');
  const again = run([up(100), down(900), { type: 'path.resume' }, up(2000), down(3000), up(4000)]);
  assert.is(again.s.value, 'holdingDown', 'only the first up after the takeover: a flap later is held down again');
  const held = run([up(100), down(900), up(2000), { type: 'path.resume' }]);
  assert.equal(held.changes, ['+bfd-up', '-bfd-down', '+bfd-up']);
  assert.is(held.s.value, 'usable');
  assert.is(holdDownRemainingMs(held.s.context, 2500), 0);
});

const standby = (on: boolean): PathEvent => ({ type: 'path.peerStandby', standby: on });

test('the far end a pair\'s standby node (path.peerStandby): Up but not usable; its takeover makes the path usable at once, no hold-down', () => {
  const r = run([standby(true), up(100)]);
  assert.is(r.s.value, 'standby', 'BFD up with a standby far end: standby, not usable');
  assert.equal(r.changes, [], 'never announced usable');
  const active = run([standby(true), up(100), standby(false)]);
  assert.is(active.s.value, 'usable');
  assert.equal(active.changes, ['+peer-active']);
  assert.is(uptimeMs(active.s.context, 600), 500, 'up since BFD came up, not since the takeover');
  const back = run([up(100), standby(true), standby(true), standby(false), standby(true)]);
  assert.equal(back.changes, ['+bfd-up', '-peer-standby', '+peer-active', '-peer-standby'], 'each change announced once; repeats change nothing');
  assert.is(back.s.value, 'standby');
});

test('a standby far end: a flap is counted and held down as usual; the hold-down ends in standby while the far end still is', () => {
  const r = run([standby(true), up(0), down(1000)]);
  assert.is(r.s.value, 'down');
  assert.is(r.s.context.flaps, 1);
  const held = run([up(0), down(1000), standby(true), up(2000)]);
  assert.is(held.s.value, 'holdingDown');
  const [over, actions] = transition(pathMachine, held.s, held.timer!.event as never);
  assert.is(over.value, 'standby', 'after the hold-down: standby, not usable');
  assert.equal(announced(actions as Action[]), []);
  const [usable, a2] = transition(pathMachine, over, standby(false));
  assert.is(usable.value, 'usable');
  assert.equal(announced(a2 as Action[]).map((a) => a.reason), ['peer-active']);
  const resumed = run([up(0), down(1000), up(2000), standby(true), { type: 'path.resume' }]);
  assert.is(resumed.s.value, 'standby', 'a takeover of our own (path.resume) does not make a standby far end usable');
});

test('uptime counts from BFD up; zero while down', () => {
  const r = run([up(0), down(100), up(1000)]);
  assert.is(uptimeMs(r.s.context, 3000), 2000);
  assert.is(uptimeMs(run([up(0), down(100)]).s.context, 3000), 0);
});

test.run();
