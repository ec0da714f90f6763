/**
 * Session migration of one service, through pure transitions: failover, confirmation, revert after the
 * hold-down, a path that comes back during its hold-down, damping of a flapping path, failed moves.
 * Paths are ids 0 (preferred), 1 and 2; hold-down 5 s; default damping (1000 per withdrawal, suppressed
 * at 1500, reused below 750, half-life 15 s).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initialTransition, transition, type SnapshotFrom } from 'xstate';
import { migrationMachine, penaltyAt, type MigrationEvent, type MigrationRecord } from '../../../src/machines/migration.js';

type Snapshot = SnapshotFrom<typeof migrationMachine>;
type Action = { type: string; params?: unknown };

const HOLD = 5000;
const ranked = (atMs: number, ...paths: number[]): MigrationEvent => ({ type: 'paths.ranked', ranked: paths, atMs });
const down = (atMs: number, path: number): MigrationEvent => ({ type: 'path.down', path, atMs });
/** path `path` came up at `atMs` (a path without a BFD hold-down of its own: up since now) */
const up = (atMs: number, path: number, upSinceMs = atMs): MigrationEvent => ({ type: 'path.up', path, upSinceMs, atMs });

interface Step {
  s: Snapshot;
  /** orders published by this step */
  published: number[][];
  records: MigrationRecord[];
  /** delayed events armed by this step, by delay */
  timers: { delay: number; event: { type: string } }[];
  cancels: number;
}

function step(s: Snapshot, e: MigrationEvent | { type: string }): Step {
  const [next, actions] = transition(migrationMachine, s, e as MigrationEvent);
  const a = actions as Action[];
  return {
    s: next,
    published: a.filter((x) => x.type === 'publish').map((x) => (x.params as { order: number[] }).order),
    records: a.filter((x) => x.type === 'record').map((x) => x.params as MigrationRecord),
    timers: a.filter((x) => x.type === 'xstate.raise' && (x.params as { delay?: number }).delay !== undefined).map((x) => x.params as { delay: number; event: { type: string } }),
    cancels: a.filter((x) => x.type === 'xstate.cancel').length,
  };
}

/** Runs events in order; returns the last step and everything published and recorded on the way. */
interface Run extends Step {
  allPublished: number[][];
  allRecords: MigrationRecord[];
  allCancels: number;
}

function run(s: Snapshot, events: MigrationEvent[]): Run {
  let last: Step = { s, published: [], records: [], timers: [], cancels: 0 };
  const all: Run = { ...last, allPublished: [], allRecords: [], allCancels: 0 };
  for (const e of events) {
    last = step(last.s, e);
    all.allPublished.push(...last.published);
    all.allRecords.push(...last.records);
    all.allCancels += last.cancels;
  }
  return { ...all, ...last };
}

const route = (s: Snapshot): string => (s.value as { route: string }).route;
const confirm = (s: Snapshot): string => (s.value as { confirm: string }).confirm;
const moved = (r: MigrationRecord[]) => r.filter((x) => x.kind === 'moved').map((x) => x.kind === 'moved' && `${x.from}->${x.to} ${x.reason}`);

/** A service on path 0 of paths 0 and 1, both up for long. */
function onPath0(): Snapshot {
  const [s0] = initialTransition(migrationMachine, { service: 'web', holdDownMs: HOLD });
  const r = step(s0, ranked(1000, 0, 1));
  assert.equal(r.published, [[0, 1]], 'the first ranking is published as is');
  assert.equal(r.records, [], 'the first choice moves nothing: there are no sessions yet');
  assert.is(route(r.s), 'steady');
  assert.is(confirm(r.s), 'idle');
  return r.s;
}

test('failover: the active path goes down -> sessions move to the next path at once; the move is confirmed by reverse metadata', () => {
  const r = step(onPath0(), down(2000, 0));
  assert.equal(r.published, [[1]], 'path 1 first (path 0 is not usable)');
  assert.equal(moved(r.records), ['0->1 failover']);
  assert.is(route(r.s), 'steady');
  assert.is(confirm(r.s), 'awaiting', 'the move waits for its confirmation');
  const ok = step(r.s, { type: 'move.confirmed', path: 1, atMs: 2100 });
  assert.is(confirm(ok.s), 'idle');
  assert.equal(ok.records, [{ kind: 'confirmed', service: 'web', path: 1 }]);
  assert.equal(ok.published, [], 'a confirmation publishes nothing');
});

test('failover on an SLA miss: the active path leaves the ranking while still up', () => {
  const r = step(onPath0(), ranked(2000, 1));
  assert.equal(moved(r.records), ['0->1 failover']);
  assert.equal(r.published, [[1]]);
});

test('a move nobody confirms settles after confirmTimeoutMs', () => {
  const r = step(onPath0(), down(2000, 0));
  const timeout = r.timers.find((t) => t.delay === 5000 && t.event.type.includes('confirmTimeout'));
  assert.ok(timeout, `confirm timer armed: ${JSON.stringify(r.timers)}`);
  const settled = step(r.s, timeout!.event);
  assert.is(confirm(settled.s), 'idle');
  assert.equal(settled.records, [{ kind: 'unconfirmed', service: 'web', path: 1 }]);
});

test('revert after hold-down: the preferred path back is used only once it has been up for the hold-down', () => {
  const failed = step(onPath0(), down(2000, 0));
  const r = run(failed.s, [up(10_000, 0), ranked(10_000, 0, 1)]);
  assert.is(route(r.s), 'holdingDown', 'path 0 is better, but just came up');
  assert.equal(r.allPublished, [[1, 0]], 'sessions stay on path 1; path 0 second');
  assert.equal(r.allRecords, []);
  assert.is(r.timers[0]?.delay, HOLD, 'hold-down armed for the full hold-down');
  // the periodic ranking 2 s later: still holding down, the timer re-armed for what is left
  const mid = step(r.s, ranked(12_000, 0, 1));
  assert.is(route(mid.s), 'holdingDown');
  assert.equal(mid.published, [], 'nothing new to publish');
  assert.is(mid.timers[0]?.delay, 3000);
  const over = step(mid.s, mid.timers[0]!.event);
  assert.equal(moved(over.records), ['1->0 revert']);
  assert.equal(over.published, [[0, 1]]);
  assert.is(route(over.s), 'steady');
  assert.is(confirm(over.s), 'awaiting');
});

test('a better path that never went down is taken as soon as it is up (nothing to damp: paths coming up at start)', () => {
  const [s0] = initialTransition(migrationMachine, { service: 'web', holdDownMs: HOLD });
  const r = run(s0, [up(1000, 1), ranked(1000, 1), up(1500, 0), ranked(1500, 0, 1)]);
  assert.equal(r.allPublished, [[], [1], [0, 1]], 'nothing usable, then path 1 (the only one), then path 0 at once');
  assert.is(route(r.s), 'steady');
});

test('a path back from a BFD flap already waited its hold-down: the revert happens as soon as it is usable', () => {
  const failed = step(onPath0(), down(2000, 0));
  // BFD up at 5000, usable (path hold-down over) at 10000: the lifecycle reports it up since 5000
  const r = run(failed.s, [up(10_000, 0, 5000), ranked(10_000, 0, 1)]);
  assert.equal(moved(r.allRecords), ['1->0 revert']);
  assert.is(route(r.s), 'steady');
});

test('a path that comes back during its hold-down: the hold-down starts over, no revert until it holds', () => {
  // the failover at 2 s; path 0 back at 40 s (its one withdrawal has decayed: no suppression here)
  const failed = step(onPath0(), down(2000, 0));
  const r = run(failed.s, [up(40_000, 0), ranked(40_000, 0, 1)]);
  assert.is(route(r.s), 'holdingDown');
  // down again 3 s into the hold-down
  const again = run(r.s, [down(43_000, 0), ranked(43_000, 1)]);
  assert.is(route(again.s), 'steady', 'no candidate while it is down');
  assert.ok(again.allCancels > 0, 'the hold-down timer is cancelled');
  assert.equal(again.s.context.suppressed, [], 'two withdrawals 41 s apart do not suppress');
  assert.equal(moved(again.allRecords), [], 'sessions never left path 1');
  // back at 44 s: a full hold-down from 44 s, so nothing at 45 s (when the first one would have ended)
  const back = run(again.s, [up(44_000, 0), ranked(44_000, 0, 1)]);
  assert.is(route(back.s), 'holdingDown');
  assert.is(back.timers[0]?.delay, HOLD, 'the hold-down starts over');
  const at45 = step(back.s, ranked(45_000, 0, 1));
  assert.is(route(at45.s), 'holdingDown');
  assert.equal(moved(at45.records), [], 'no revert at 45 s');
  assert.is(at45.timers[0]?.delay, 4000, '4 s left');
  const over = step(at45.s, at45.timers[0]!.event);
  assert.equal(moved(over.records), ['1->0 revert'], 'reverted once up 5 s in a row (at 49 s)');
  assert.is(over.s.context.nowMs, 49_000);
});

test('damping: a flapping path is suppressed (ranked last, not reverted to) until its penalty decays below the reuse limit', () => {
  // down and up every 2 s (the first flap at 2 s: the failover)
  const r = run(onPath0(), [
    down(2000, 0), ranked(2000, 1),
    up(4000, 0), ranked(4000, 0, 1),
    down(6000, 0), ranked(6000, 1),
    up(8000, 0), ranked(8000, 0, 1),
  ]);
  assert.equal(r.allRecords.filter((x) => x.kind === 'suppressed'), [{ kind: 'suppressed', service: 'web', path: 0 }], 'suppressed at its second withdrawal');
  assert.equal(r.s.context.suppressed, [0]);
  const figure = penaltyAt(r.s.context, 0, 6000);
  assert.ok(figure > 1800 && figure < 1850, `two withdrawals 4 s apart: ${figure.toFixed(0)}`);
  assert.is(route(r.s), 'steady', 'no hold-down toward a suppressed path');
  assert.equal(moved(r.allRecords), ['0->1 failover'], 'never moved back while flapping');
  assert.equal(r.allPublished.at(-1), [1, 0], 'path 0 up again, but ranked last');
  // stable from 8 s on: still suppressed 18 s after the last withdrawal (1831 -> ~797), though up for long
  const t24 = step(r.s, ranked(24_000, 0, 1));
  assert.equal(t24.s.context.suppressed, [0]);
  assert.equal(moved(t24.records), []);
  // 20 s after it the figure is below 750 (~727): reused, and (up for more than the hold-down) taken at once
  const t26 = step(t24.s, ranked(26_000, 0, 1));
  assert.equal(t26.records.map((x) => x.kind), ['reused', 'moved']);
  assert.equal(moved(t26.records), ['1->0 revert']);
  assert.equal(t26.published, [[0, 1]]);
});

test('a suppressed path is still used when nothing else is up', () => {
  const r = run(onPath0(), [down(2000, 0), up(2500, 0), ranked(2500, 0, 1), down(3000, 0), up(3500, 0), ranked(3500, 0, 1)]);
  assert.equal(r.s.context.suppressed, [0]);
  const lost = run(r.s, [down(4000, 1), ranked(4000, 0)]);
  assert.equal(moved(lost.allRecords), ['1->0 failover'], 'the suppressed path is the last resort');
  assert.equal(lost.allPublished.at(-1), [0]);
});

test('a move whose handshakes fail penalizes the path; two failures suppress it and sessions move on', () => {
  const [s0] = initialTransition(migrationMachine, { service: 'web', holdDownMs: HOLD });
  const first = step(s0, ranked(1000, 0, 1, 2));
  const r = step(first.s, down(2000, 0));
  assert.equal(moved(r.records), ['0->1 failover']);
  const once = step(r.s, { type: 'move.failed', path: 1, atMs: 3000 });
  assert.equal(once.records.map((x) => x.kind), ['failed']);
  assert.is(confirm(once.s), 'idle');
  assert.equal(moved(once.records), [], 'one failure: path 1 is still the best');
  const twice = step(once.s, { type: 'move.failed', path: 1, atMs: 3500 });
  assert.equal(twice.records.map((x) => x.kind), ['failed', 'suppressed', 'moved']);
  assert.equal(moved(twice.records), ['1->2 revert'], 'path 2 is better than a suppressed path 1');
  assert.equal(twice.published, [[2, 1]]);
});

test('no usable path: sessions stay put, recorded once; the first path back takes them (restored)', () => {
  const r = run(onPath0(), [down(2000, 0), down(2100, 1), ranked(2100)]);
  assert.is(route(r.s), 'noPath');
  assert.equal(r.allRecords.filter((x) => x.kind === 'no-path'), [{ kind: 'no-path', service: 'web', path: 1 }]);
  assert.equal(r.allPublished.at(-1), [], 'an empty order');
  const back = run(r.s, [up(3000, 1), ranked(3000, 1)]);
  assert.equal(moved(back.allRecords), ['1->1 restored'], 'the sessions left on path 1 take it again');
  assert.equal(back.allPublished, [[1]]);
});

test.run();
