/** The pair node's heartbeat clock on a simulated clock: a beat every interval, `lost` once the dead time passed
 *  since the last heartbeat heard, and again after the partner came back and went quiet. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SimulatedClock } from 'xstate';
import { HeartbeatClock } from '../../../src/ha/heartbeat-clock.js';

/** SimulatedClock.increment(n) fires what is due with the clock already n later: step 1 ms at a time */
const advance = (clock: SimulatedClock, ms: number): void => { for (let i = 0; i < ms; i++) clock.increment(1); };

function make(): { clock: SimulatedClock; hc: HeartbeatClock; beats: number[]; lost: number[]; stalls: number[] } {
  const clock = new SimulatedClock();
  const beats: number[] = [];
  const lost: number[] = [];
  const stalls: number[] = [];
  const hc = new HeartbeatClock({
    heartbeatMs: 100, deadMs: 300, beat: () => beats.push(clock.now()), lost: () => lost.push(clock.now()), stalled: (ms) => stalls.push(ms),
    timers: { now: () => clock.now(), setTimeout: (fn, ms) => clock.setTimeout(fn, ms), clearTimeout: (h) => clock.clearTimeout(h as never) },
  });
  return { clock, hc, beats, lost, stalls };
}

test('a beat every 100 ms; nothing heard within the dead time after the start: lost once', () => {
  const { clock, hc, beats, lost } = make();
  hc.start();
  advance(clock, 299);
  assert.equal(lost, []);
  advance(clock, 1);
  assert.equal(lost, [300]);
  advance(clock, 700);
  assert.equal(lost, [300], 'once per loss');
  assert.equal(beats, [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
  hc.stop();
  advance(clock, 500);
  assert.is(beats.length, 10, 'stopped');
});

test('heartbeats keep the partner alive; lost 300 ms after the last one; heard again, then quiet: lost again', () => {
  const { clock, hc, lost } = make();
  hc.start();
  for (let t = 0; t < 10; t++) {
    advance(clock, 90);
    hc.heard();
  }
  assert.equal(lost, [], 'heard every 90 ms');
  const last = clock.now();
  advance(clock, 299);
  assert.equal(lost, []);
  assert.is(hc.silentMs, 299);
  advance(clock, 1);
  assert.equal(lost, [last + 300], 'the dead time after the last heartbeat, not after the timer was armed');
  advance(clock, 1000);
  hc.heard();
  const back = clock.now();
  advance(clock, 300);
  assert.equal(lost, [last + 300, back + 300]);
  hc.stop();
});

test('a beat a dead time late (the event loop blocked): stalled, with how late', () => {
  const { clock, hc, stalls } = make();
  hc.start();
  advance(clock, 1000);
  assert.equal(stalls, [], 'on time');
  clock.increment(250); // the loop blocked: the beat due at 1100 fires at 1250
  assert.equal(stalls, [], '150 ms late: less than the dead time');
  clock.increment(500); // due at 1350, fires at 1750
  assert.equal(stalls, [400]);
  hc.stop();
});

test.run();
