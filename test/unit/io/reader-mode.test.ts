/** The adaptive TUN reader policy (src/io/tun/reader-mode.ts): ticks in, modes out. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AdaptiveReaderMode } from '../../../src/io/tun/reader-mode.js';

test('starts polling and stays there while batches are small or absent', () => {
  const p = new AdaptiveReaderMode();
  assert.is(p.mode, 'poll');
  for (const [packets, batches] of [[0, 0], [10, 10], [700, 100], [5000, 1000]] as const) assert.is(p.tick(packets, batches), 'poll');
});

test('poll -> thread on the first tick whose batches average toThread packets', () => {
  const p = new AdaptiveReaderMode({ toThread: 8 });
  assert.is(p.tick(799, 100), 'poll');
  assert.is(p.tick(800, 100), 'thread');
});

test('thread -> poll only after calmTicks calm ticks in a row', () => {
  const p = new AdaptiveReaderMode({ toThread: 8, toPoll: 2, calmTicks: 3 });
  p.tick(6400, 100);
  assert.is(p.mode, 'thread');
  assert.is(p.tick(100, 100), 'thread');
  assert.is(p.tick(0, 0), 'thread');
  assert.is(p.tick(500, 100), 'thread', 'a busy tick (5/batch) resets the count');
  assert.is(p.tick(100, 100), 'thread');
  assert.is(p.tick(100, 100), 'thread');
  assert.is(p.tick(150, 100), 'poll', 'third calm tick in a row');
  assert.is(p.tick(150, 100), 'poll');
});

test('idle: a tick without a batch in poll mode (the caller may stop ticking until the next batch), not in thread mode', () => {
  const p = new AdaptiveReaderMode({ toThread: 8, toPoll: 2, calmTicks: 2 });
  assert.is(p.idle, false, 'before any tick');
  p.tick(0, 0);
  assert.ok(p.idle, 'poll, no batch');
  p.tick(3, 3);
  assert.is(p.idle, false, 'poll with batches');
  p.tick(800, 100);
  assert.is(p.mode, 'thread');
  p.tick(0, 0);
  assert.is(p.idle, false, 'thread, no batch: one calm tick, the mode may still change');
  assert.is(p.tick(0, 0), 'poll', 'second calm tick');
  assert.ok(p.idle, 'back in poll with no batch');
});

test('in between (toPoll <= average < toThread) the mode holds either way', () => {
  const polling = new AdaptiveReaderMode();
  const threaded = new AdaptiveReaderMode();
  threaded.tick(1000, 10);
  for (let i = 0; i < 20; i++) {
    assert.is(polling.tick(400, 100), 'poll');
    assert.is(threaded.tick(400, 100), 'thread');
  }
});

test.run();
