/**
 * Bytes the JS heap allocates per UDP session over both routers (open and remove), with the listener a node
 * gives its data path (bench/node-listener.ts: handshake episodes, metrics' tallies, session log lines, a
 * subscriber of the other events). With an object per session fact (and an events$ object for the node's
 * readers) it was ~2.3-2.9 KB a session; read in place ~0.7 KB (docs/performance.md "wave 19, rss5").
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { measureGarbage } from '../../../bench/garbage.js';

/** the bound: 0.7 KB measured at load 20, with room for V8's version and the numbers it boxes */
const BOUND = 1200;

const total = (b: { r1Open: number; r2Open: number; r1Remove: number; r2Remove: number }): number => b.r1Open + b.r2Open + b.r1Remove + b.r2Remove;

test('a node\'s listener reads the session facts without an object per fact: garbage per session under the bound', () => {
  const r = measureGarbage(16_384, false, false, 'node');
  assert.is(r.created.r1, 16_384);
  const bytes = total(r.bytesPerSession);
  assert.ok(bytes < BOUND, `${bytes.toFixed(0)} B allocated per session over both routers (bound ${BOUND})`);
});

test('an events$ subscriber that takes per-session events still gets them (objects built for it)', () => {
  const r = measureGarbage(4096, false, false, 'objects');
  assert.ok(total(r.bytesPerSession) > BOUND, `objects for an events$ subscriber: ${total(r.bytesPerSession).toFixed(0)} B a session`);
});

test.run();
