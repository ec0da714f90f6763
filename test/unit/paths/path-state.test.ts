/** Usable = BFD up, and after a flap, up for the whole hold-down time. Table of inputs -> status and changes. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { INITIAL_PATH_STATUS, holdDownRemainingMs, nextPathStatus, uptimeMs, type PathStateInput, type PathStatus } from '../../../src/paths/path-state.js';

const HOLD = 5000;
const up = (atMs: number): PathStateInput => ({ type: 'bfd', up: true, atMs });
const down = (atMs: number): PathStateInput => ({ type: 'bfd', up: false, atMs });
const tick = (atMs: number): PathStateInput => ({ type: 'tick', atMs });

/** Runs inputs from the initial status; returns every change ("+reason" / "-reason") and the last status. */
function run(inputs: PathStateInput[]): { changes: string[]; status: PathStatus; wake: (number | undefined)[] } {
  let status = INITIAL_PATH_STATUS;
  const changes: string[] = [];
  const wake: (number | undefined)[] = [];
  for (const input of inputs) {
    const r = nextPathStatus(status, input, HOLD);
    status = r.status;
    wake.push(r.wakeAtMs);
    if (r.change) changes.push(`${r.change.usable ? '+' : '-'}${r.change.reason}@${input.atMs}`);
  }
  return { changes, status, wake };
}

test('the first BFD up after start is usable at once; down makes it unusable', () => {
  const r = run([up(100), down(900)]);
  assert.equal(r.changes, ['+bfd-up@100', '-bfd-down@900']);
  assert.equal([r.status.usable, r.status.flaps, r.status.bfdUp], [false, 1, false]);
});

test('after a flap, up again is usable only once it stayed up for the hold-down time', () => {
  const r = run([up(0), down(1000), up(2000), tick(6999), tick(7000)]);
  assert.equal(r.changes, ['+bfd-up@0', '-bfd-down@1000', '+hold-down-over@7000']);
  assert.equal(r.wake, [undefined, undefined, 7000, 7000, undefined], 'asks to be woken at the end of hold-down');
});

test('a path flapping every 2 s with a 5 s hold-down is never usable; every up -> down counts', () => {
  const inputs: PathStateInput[] = [up(0), down(2000)];
  for (let t = 4000; t < 40000; t += 4000) inputs.push(up(t), tick(t + 1999), down(t + 2000));
  const r = run(inputs);
  assert.equal(r.changes, ['+bfd-up@0', '-bfd-down@2000'], 'one change each way, then nothing while flapping');
  assert.is(r.status.flaps, 10);
  const after = nextPathStatus(r.status, up(40000), HOLD);
  assert.is(after.status.usable, false);
  assert.is(nextPathStatus(after.status, tick(45000), HOLD).change?.reason, 'hold-down-over', 'stable at last');
});

test('a stale hold-down tick after going down again does nothing; repeated inputs change nothing', () => {
  const r = run([up(0), down(10), up(20), down(30), tick(5020), down(40), up(50), up(60), tick(5049)]);
  assert.equal(r.changes, ['+bfd-up@0', '-bfd-down@10']);
  assert.equal([r.status.usable, r.status.holdDownUntilMs, r.status.upSinceMs], [false, 5050, 50]);
});

test('uptime and hold-down remaining', () => {
  const { status } = run([up(0), down(100), up(1000)]);
  assert.is(uptimeMs(status, 3000), 2000);
  assert.is(holdDownRemainingMs(status, 3000), 3000);
  assert.is(holdDownRemainingMs(status, 9000), 0);
  assert.equal([uptimeMs(INITIAL_PATH_STATUS, 50), holdDownRemainingMs(INITIAL_PATH_STATUS, 50)], [0, 0]);
});

test.run();
