/**
 * Bounded session state (docs/security.md "Bounded state"): the session table's limit, and its expiry
 * wheel checked against a model (every row expires within a tick after its `expires`, never before),
 * with sweep work that follows the expiries due (not the table's size) and a budget per call.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MAX_ROWS, msSince, msUntil, SEGMENT_ROWS, SESSION_BYTES, SessionTable, WHEEL_TICK_MS, sessionLimit } from '../../../src/dataplane/session-table.js';
import { prng } from '../../support/prng.js';

const T0 = 1_700_000_000_000;

/** A table whose expire callback removes the row and records it. */
function table(): { t: SessionTable; expired: number[]; sweep: (now: number, budget?: number) => boolean } {
  const t = new SessionTable(16);
  const expired: number[] = [];
  return {
    t, expired,
    sweep: (now, budget = 1 << 30) => t.sweep(now, budget, (r) => {
      expired.push(r);
      t.remove(r);
    }),
  };
}

test('the limit: alloc refuses beyond it, a removed row makes room; the arrays grow only up to it', () => {
  const { t } = table();
  t.setLimit(40);
  const rows = Array.from({ length: 40 }, () => t.alloc(T0));
  assert.ok(rows.every((r) => r >= 0));
  assert.is(t.alloc(T0), -1, 'full');
  assert.is(t.capacity, 40, 'grew 16 -> 32 -> 40, not 64');
  t.remove(rows[7]!);
  assert.is(t.alloc(T0), rows[7], 'room again');
  assert.is(t.alloc(T0), -1);
});

test('default limits: a share of the configured capacity per data path, else a quarter of memory', () => {
  assert.is(sessionLimit(1000, 1), 1000);
  assert.is(sessionLimit(1000, 3), 334);
  assert.is(sessionLimit(0, 1, 8 * 2 ** 30), Math.floor((8 * 2 ** 30) / 4 / SESSION_BYTES), '8 GiB: 4 M sessions');
  assert.is(sessionLimit(0, 2, 2 ** 20), 32_768, 'at least 65,536 per router');
  assert.is(sessionLimit(1e9, 1), MAX_ROWS, 'at most what a data path can address');
});

test('the expiry wheel against a model: 20,000 random steps (new rows, packets, closes, removals, sweeps)', () => {
  const rnd = prng(17);
  const { t, expired, sweep } = table();
  const live = new Map<number, number>(); // row -> expires
  let now = T0;
  for (let step = 0; step < 20_000; step++) {
    const x = rnd();
    if (x < 0.3 && live.size < 2000) {
      const r = t.alloc(now);
      t.flags[r] = 1; // SF_ACTIVE (alloc set it)
      const at = now + Math.floor(rnd() * 20_000);
      t.expires[r] = at; // u32: the clock modulo 2^32
      live.set(r, at);
    } else if (x < 0.5 && live.size > 0) {
      const r = [...live.keys()][Math.floor(rnd() * live.size)]!;
      const at = now + Math.floor(rnd() * 20_000); // a packet: later (or, for a close, sooner)
      t.expires[r] = at;
      if (at < live.get(r)!) t.checkBy(r, at);
      live.set(r, at);
    } else if (x < 0.55 && live.size > 0) {
      const r = [...live.keys()][Math.floor(rnd() * live.size)]!;
      t.remove(r);
      live.delete(r);
    } else {
      now += Math.floor(rnd() * 700);
      expired.length = 0;
      sweep(now);
      for (const r of expired) {
        assert.ok(live.get(r)! <= now, `row ${r} expired at ${now - T0}, due ${live.get(r)! - T0}`);
        live.delete(r);
      }
      for (const [r, at] of live) assert.ok(at > now - WHEEL_TICK_MS - 1, `row ${r} due ${at - T0} still live at ${now - T0}`);
    }
  }
  assert.is(t.active, live.size);
});

test('sweep work follows the expiries due: 200,000 long-lived rows cost nothing per tick; 100,000 due at once go in budgeted steps', () => {
  const { t, expired, sweep } = table();
  const add = (now: number, expires: number) => {
    const r = t.alloc(now); // first: alloc may grow (replace) the columns
    t.expires[r] = expires;
  };
  for (let i = 0; i < 200_000; i++) add(T0, T0 + 600_000);
  sweep(T0 + WHEEL_TICK_MS); // the first look at every new row (one tick after it was made) moves it to its expiry
  // the work counted, not timed (a wall-clock bound failed at load 25): a budget of 0 rows per call
  // returns true as soon as a sweep would look at one row
  let looked = 0;
  const start = performance.now();
  for (let k = 2; k < 400; k++) if (t.sweep(T0 + k * WHEEL_TICK_MS, 0, () => assert.unreachable('nothing is due'))) looked++; // 100 s of ticks
  console.log(`    400 ticks over 200,000 rows: ${(performance.now() - start).toFixed(1)} ms`);
  assert.is(looked, 0, 'no tick looked at a row');
  // 100,000 new rows, all due 5 s later: a budget of 16,384 per call takes 7 calls
  for (let i = 0; i < 100_000; i++) add(T0 + 100_000, T0 + 105_000);
  sweep(T0 + 100_000 + WHEEL_TICK_MS);
  let calls = 0;
  expired.length = 0;
  while (sweep(T0 + 105_000, 16_384)) calls++;
  assert.is(calls + 1, 7);
  assert.is(expired.length, 100_000);
  assert.is(t.active, 200_000);
});

test('a clock jump (or a long pause) visits every slot once, then goes on', () => {
  const { t, expired, sweep } = table();
  const r = t.alloc(T0);
  t.expires[r] = T0 + 5000;
  sweep(T0 + 10 * 3600_000);
  assert.equal(expired, [r]);
});

test('lastSeen and expires are u32 ms (the clock modulo 2^32): a row due across the wrap expires on time', () => {
  const wrap = 2 ** 32 * 400; // the clock's low 32 bits roll over here (about 2024-05-23)
  assert.is(msUntil(wrap - 1000, wrap + 4000), 5000);
  assert.is(msSince(wrap + 250, wrap - 750), 1000);
  assert.is(msUntil(wrap + 10, wrap - 10), -20, 'passed: negative');
  assert.is(msSince(wrap, wrap - 2_147_483_000), 2_147_483_000, 'the longest idle timeout (config.md) reads right');
  const { t, expired, sweep } = table();
  const r = t.alloc(wrap - 1000);
  t.expires[r] = wrap + 4000;
  for (let now = wrap - 1000; now <= wrap + 3750; now += WHEEL_TICK_MS) sweep(now);
  assert.equal(expired, [], 'not before');
  sweep(wrap + 4000 + WHEEL_TICK_MS);
  assert.equal(expired, [r], 'within a tick after');
  const later = wrap + 2 ** 31 + 10_000; // row r's old expiry would read as 24 days ahead
  const idle = t.alloc(later);
  assert.is(idle, r, 'row r again');
  sweep(later + 2 * WHEEL_TICK_MS);
  assert.equal(expired, [r, idle], 'a row no packet gave an expiry is due from its creation, whatever it held');
});


test('segments: rows handed out lowest first; a segment emptied and used again gives newer generations and clean rows', () => {
  const t = new SessionTable(16);
  t.setLimit(3 * SEGMENT_ROWS);
  const rows: number[] = [];
  for (let i = 0; i < 2 * SEGMENT_ROWS; i++) rows.push(t.alloc(T0));
  assert.equal(rows.slice(0, 3), [0, 1, 2]);
  assert.is(t.capacity, 2 * SEGMENT_ROWS, 'rows written so far');
  const before = t.gen[5]!;
  t.setTag(5, 77);
  for (let r = 0; r < SEGMENT_ROWS; r++) t.remove(r); // segment 0 all free: its memory goes back (with the addon)
  const again = t.alloc(T0);
  assert.ok(again < SEGMENT_ROWS, `the lowest segment with room (${again})`);
  for (let i = 1; i < SEGMENT_ROWS; i++) assert.ok(t.alloc(T0) < SEGMENT_ROWS, 'segment 0 fills before segment 2');
  assert.ok(t.gen[5]! > before, `a stale reference to row 5 (generation ${before}) no longer matches (${t.gen[5]})`);
  assert.is(t.tagOf(5), 0, 'a fresh row');
  assert.is(t.dueSlot[5]! >= 0, true, 'on the expiry wheel');
  assert.is(t.active, 2 * SEGMENT_ROWS);
});

test.run();
