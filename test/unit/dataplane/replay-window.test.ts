/** RFC 6479 replay windows (src/dataplane/replay-window.ts) against a plain model: a set of seen counters and the top. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPLAY_OK, REPLAY_SEEN, REPLAY_TOO_OLD, ReplayWindows, WINDOW_SIZE } from '../../../src/dataplane/replay-window.js';
import { createReplayMarks, keyHash, mergeFloors, ReplayMarks } from '../../../src/dataplane/replay-marks.js';
import { prng } from '../../support/prng.js';

const TWO32 = 2 ** 32;

/** The verdict a window must give for counter c (a JS number, exact below 2^53). */
class Model {
  top = -1;
  readonly seen = new Set<number>();
  check(c: number): number {
    if (this.top >= 0 && c <= this.top && this.top - c >= WINDOW_SIZE) return REPLAY_TOO_OLD;
    if (this.seen.has(c)) return REPLAY_SEEN;
    this.seen.add(c);
    if (c > this.top) this.top = c;
    return REPLAY_OK;
  }
}

function run(w: ReplayWindows, id: number, m: Model, c: number): void {
  const want = m.check(c);
  const got = w.check(id, Math.floor(c / TWO32), c % TWO32);
  assert.is(got, want, `counter ${c} (hi ${Math.floor(c / TWO32)}, lo ${c % TWO32})`);
}

test('in order, duplicates, reordering within the window, too old, big jumps: the same verdicts as the model', () => {
  const rnd = prng(17);
  for (const start of [0, 5, TWO32 - 3000, 1_700_000_000 * 4194304]) {
    const w = new ReplayWindows();
    const id = w.alloc();
    const m = new Model();
    let c = start;
    for (let i = 0; i < 20_000; i++) {
      const r = rnd();
      if (r < 0.6) c += 1 + Math.floor(rnd() * 3); // forward, small steps
      else if (r < 0.62) c += 1 + Math.floor(rnd() * 5000); // a jump past the whole window
      const probe = r < 0.8 ? c : Math.max(start, c - Math.floor(rnd() * (WINDOW_SIZE + 200))); // late or replayed
      run(w, id, m, probe);
    }
  }
});

test('the low word wraps into the high word: the window slides across it', () => {
  const w = new ReplayWindows();
  const id = w.alloc();
  const m = new Model();
  for (let c = TWO32 - 100; c < TWO32 + 100; c += 3) run(w, id, m, c);
  for (let c = TWO32 - 100; c < TWO32 + 100; c += 1) run(w, id, m, c); // two thirds new, one third seen
  run(w, id, m, TWO32 * 5); // hi moves by 4: everything before is far behind
  run(w, id, m, TWO32 + 50);
});

test('windows are independent, and a released window starts empty when reused', () => {
  const w = new ReplayWindows();
  const a = w.alloc();
  const b = w.alloc();
  assert.is(w.check(a, 0, 7), REPLAY_OK);
  assert.is(w.check(b, 0, 7), REPLAY_OK, 'another sender or key');
  assert.is(w.check(a, 0, 7), REPLAY_SEEN);
  w.release(a);
  const c = w.alloc();
  assert.is(c, a, 'reused');
  assert.is(w.check(c, 0, 7), REPLAY_OK, 'a fresh window');
  assert.is(w.inUse, 2);
  const many = Array.from({ length: 100 }, () => w.alloc()); // the pool grows
  many.forEach((id, i) => assert.is(w.check(id, 1, i), REPLAY_OK));
  many.forEach((id, i) => assert.is(w.check(id, 1, i), REPLAY_SEEN));
  assert.is(w.check(b, 0, 7), REPLAY_SEEN, 'kept across growth');
});

test('a window started from a floor (a dead worker\'s top) refuses every counter up to it and accepts each one above once', () => {
  for (const floor of [31, 32, 1000, TWO32 - 1, TWO32 + 17, 1_700_000_000 * 4194304 + 12345]) {
    const w = new ReplayWindows();
    const id = w.allocFrom(Math.floor(floor / TWO32), floor % TWO32);
    const m = new Model();
    for (let c = Math.max(0, floor - WINDOW_SIZE - 40); c <= floor; c++) m.seen.add(c);
    m.top = floor;
    for (let c = Math.max(0, floor - WINDOW_SIZE - 40); c <= floor + 40; c++) run(w, id, m, c); // all below refused, above accepted
    for (let c = floor - 3; c <= floor + 40; c++) run(w, id, m, c); // the accepted ones are seen now
  }
});

test('marks: a window\'s description and top in the shared buffer, the floors read back, the highest kept when merged', () => {
  const marks = new ReplayMarks(createReplayMarks(4));
  const w = new ReplayWindows();
  w.marks = marks;
  const a = w.alloc();
  marks.describe(a, keyHash('path'), keyHash('key'), 1);
  assert.equal(marks.floors(), [], 'no top before the first counter');
  w.check(a, 2, 10);
  w.check(a, 2, 9);
  assert.equal(marks.floors(), [{ path: keyHash('path'), key: keyHash('key'), sender: 1, hi: 2, lo: 10 }]);
  w.check(a, 3, 0);
  assert.equal(marks.floors().map((f) => [f.hi, f.lo]), [[3, 0]], 'the top moves');
  const read = new ReplayMarks(marks.words.buffer as SharedArrayBuffer); // what the host sees
  assert.is(read.floors().length, 1);
  w.release(a);
  assert.equal(marks.floors(), [], 'a released window has no mark');
  const f = { path: 1, key: 2, sender: 0, hi: 5, lo: 1 };
  assert.equal(mergeFloors([f, { ...f, lo: 7 }], [{ ...f, hi: 4, lo: 99 }, { ...f, sender: 1 }]), [{ ...f, lo: 7 }, { ...f, sender: 1 }]);
});

test.run();
