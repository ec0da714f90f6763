/** Firewall detector of a peer path: probe rounds, verdicts, retries, always/disabled. Pure transitions. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initialTransition, transition, type SnapshotFrom } from 'xstate';
import { ALL_KINDS, MAX_ATTEMPTS, PROBE_WAIT_MS, firewallDetectorMachine, type DetectorEvent, type DetectorInput, type DetectorVerdict } from '../../../src/machines/firewall-detector.js';

type Snapshot = SnapshotFrom<typeof firewallDetectorMachine>;
type Action = { type: string; params?: unknown };
type Timer = { delay: number; event: { type: string } };

const AUTO: DetectorInput = { mode: 'auto-detect', detectIntervalMs: 300_000 };
const SYN = 0, MID = 1, JUMBO = 2;

interface Run {
  s: Snapshot;
  /** rounds sent, in order */
  sent: number[];
  verdicts: DetectorVerdict[];
  /** the timers armed by the last step that armed any */
  timers: Timer[];
}

function step(r: Run, e: DetectorEvent | Timer['event']): Run {
  const [s, actions] = transition(firewallDetectorMachine, r.s, e as DetectorEvent);
  const as = actions as Action[];
  return {
    s,
    sent: [...r.sent, ...as.filter((a) => a.type === 'sendProbes').map((a) => (a.params as { round: number }).round)],
    verdicts: [...r.verdicts, ...as.filter((a) => a.type === 'verdict').map((a) => a.params as DetectorVerdict)],
    timers: as.some((a) => a.type === 'xstate.raise') ? as.filter((a) => a.type === 'xstate.raise').map((a) => a.params as Timer) : r.timers,
  };
}

function start(input: DetectorInput = AUTO): Run {
  const [s, actions] = initialTransition(firewallDetectorMachine, input);
  const as = actions as Action[];
  return { s, sent: [], verdicts: as.filter((a) => a.type === 'verdict').map((a) => a.params as DetectorVerdict), timers: [] };
}

/** Fires the timer armed for `delay` ms (fails when none is armed for it). */
function fire(r: Run, delay: number): Run {
  const t = r.timers.find((x) => x.delay === delay);
  assert.ok(t !== undefined, `a timer of ${delay} ms is armed (armed: ${JSON.stringify(r.timers.map((x) => x.delay))})`);
  return step(r, t!.event);
}

const answer = (r: Run, kind: number, round = r.s.context.round): Run => step(r, { type: 'probe.answered', round, kind });

test('auto-detect: waits for the path, then probes every kind; all answered = no transform, next episode after the interval', () => {
  let r = start();
  assert.is(r.s.value, 'down');
  assert.equal(r.sent, [], 'nothing sent while the path is down');
  r = step(r, { type: 'path.up' });
  assert.is(r.s.value, 'probing');
  assert.equal(r.sent, [1]);
  assert.ok(r.timers.some((t) => t.delay === PROBE_WAIT_MS), 'the answer wait is armed');
  r = answer(answer(answer(r, SYN), MID), JUMBO);
  assert.is(r.s.value, 'waiting');
  assert.equal(r.verdicts, [{ transform: false, blocked: 0, changed: false }]);
  assert.ok(r.timers.some((t) => t.delay === AUTO.detectIntervalMs), 'the next episode is armed for detect-interval');
  r = fire(r, AUTO.detectIntervalMs);
  assert.is(r.s.value, 'probing');
  assert.equal(r.sent, [1, 2], 'a new episode probes again with a new round');
});

test('a middlebox drops SYN-with-data and mid-flow TCP: unanswered in every attempt -> transform on, reasons named', () => {
  let r = step(start(), { type: 'path.up' });
  for (let k = 1; k <= MAX_ATTEMPTS; k++) {
    r = answer(r, JUMBO); // only one kind gets through (say, a SYN the firewall takes for a new flow)
    r = fire(r, PROBE_WAIT_MS);
  }
  assert.equal(r.sent, [1, 2, 3], `${MAX_ATTEMPTS} attempts, each its own round`);
  assert.is(r.s.value, 'waiting');
  assert.equal(r.verdicts, [{ transform: true, blocked: ALL_KINDS & ~(1 << JUMBO), changed: true }]);
  assert.is(r.s.context.transform, true);
  // the next episode finds the path clean: transform off again, announced as a change
  r = fire(r, AUTO.detectIntervalMs);
  r = answer(answer(answer(r, SYN), MID), JUMBO);
  assert.equal(r.verdicts.at(-1), { transform: false, blocked: 0, changed: true });
  assert.is(r.s.context.transform, false);
  assert.is(r.s.context.episodes, 2);
});

test('a lost probe or answer is not a firewall: a kind answered in any attempt is not blocked', () => {
  let r = step(start(), { type: 'path.up' });
  r = answer(answer(r, SYN), JUMBO); // mid-flow lost once
  r = fire(r, PROBE_WAIT_MS);
  assert.is(r.s.value, 'probing', 'retried');
  r = answer(r, MID); // the retry's mid-flow arrives: nothing is missing in every attempt
  assert.is(r.s.value, 'probing', 'not complete by itself (the round had only one answer)');
  r = fire(r, PROBE_WAIT_MS);
  assert.is(r.s.value, 'waiting');
  assert.equal(r.verdicts, [{ transform: false, blocked: 0, changed: false }]);
  assert.equal(r.sent.length, 2, 'no third attempt once every kind got through once');
});

test('answers of an old round, or of an unknown kind, count for nothing', () => {
  let r = step(start(), { type: 'path.up' });
  r = fire(r, PROBE_WAIT_MS); // round 1 unanswered
  r = answer(r, SYN, 1);
  r = answer(r, MID, 1);
  r = answer(r, JUMBO, 1);
  r = answer(r, 7);
  assert.is(r.s.context.answered, 0, 'late answers of round 1 and kind 7 ignored in round 2');
  assert.is(r.s.value, 'probing');
});

test('nothing answered at all (every TCP probe dropped): transform on after the last attempt', () => {
  let r = step(start(), { type: 'path.up' });
  for (let k = 0; k < MAX_ATTEMPTS; k++) r = fire(r, PROBE_WAIT_MS);
  assert.equal(r.verdicts, [{ transform: true, blocked: ALL_KINDS, changed: true }]);
});

test('the path going down stops an episode without a verdict, and keeps the last one; up again probes again', () => {
  let r = step(start(), { type: 'path.up' });
  for (let k = 0; k < MAX_ATTEMPTS; k++) r = fire(r, PROBE_WAIT_MS);
  assert.is(r.s.context.transform, true);
  r = step(r, { type: 'path.down' });
  assert.is(r.s.value, 'down');
  assert.is(r.s.context.transform, true, 'kept while down');
  r = step(r, { type: 'path.up' });
  assert.is(r.s.value, 'probing');
  r = step(r, { type: 'path.down' });
  assert.is(r.s.value, 'down');
  assert.equal(r.verdicts.length, 1, 'an interrupted episode has no verdict');
});

test('always-transform: transform at once, never probes; disabled: never probes, never transforms', () => {
  let r = start({ mode: 'always-transform', detectIntervalMs: 1000 });
  assert.is(r.s.value, 'transforming');
  assert.equal(r.verdicts, [{ transform: true, blocked: 0, changed: true }]);
  r = step(r, { type: 'path.up' });
  assert.equal(r.sent, []);
  let d = start({ mode: 'disabled', detectIntervalMs: 1000 });
  assert.is(d.s.value, 'off');
  d = step(d, { type: 'path.up' });
  assert.equal(d.sent, []);
  assert.equal(d.verdicts, []);
});

test('the peer\'s verdict: a firewall it found in its direction turns the transform on here too, while our own episodes find our direction clean; its clean verdict turns it off', () => {
  const peer = (r: Run, blocked: number): Run => step(r, { type: 'peer.verdict', blocked });
  let r = step(start(), { type: 'path.up' });
  r = answer(answer(answer(r, SYN), MID), JUMBO);
  assert.equal(r.verdicts, [{ transform: false, blocked: 0, changed: false }], 'our direction is clean');
  r = peer(r, 1 << MID);
  assert.equal(r.verdicts.at(-1), { transform: true, blocked: 0, changed: true }, 'the peer\'s mid-flow finding turns it on (our blocked kinds stay none)');
  assert.is(r.s.context.peerBlocked, 1 << MID);
  r = peer(r, 1 << MID);
  assert.is(r.verdicts.length, 2, 'the same finding repeated is no new verdict');
  r = fire(r, AUTO.detectIntervalMs);
  r = answer(answer(answer(r, SYN), MID), JUMBO);
  assert.equal(r.verdicts.at(-1), { transform: true, blocked: 0, changed: false }, 'our clean episode keeps it on while the peer\'s firewall stands');
  r = peer(r, 0);
  assert.equal(r.verdicts.at(-1), { transform: false, blocked: 0, changed: true }, 'the peer found its direction clean: off');
  // our own firewall and the peer's together: the peer's clean verdict leaves ours on
  r = peer(r, ALL_KINDS);
  r = fire(r, AUTO.detectIntervalMs);
  for (let k = 0; k < MAX_ATTEMPTS; k++) r = fire(r, PROBE_WAIT_MS);
  assert.equal(r.verdicts.at(-1), { transform: true, blocked: ALL_KINDS, changed: false });
  const n = r.verdicts.length;
  r = peer(r, 0);
  assert.is(r.verdicts.length, n, 'still on: no verdict');
  assert.is(r.s.context.peerBlocked, 0);
});

test('a peer verdict before our first one (path still down or probing) counts; under always-transform or disabled it changes nothing', () => {
  let r = start();
  r = step(r, { type: 'peer.verdict', blocked: 1 << SYN });
  assert.equal(r.verdicts, [{ transform: true, blocked: 0, changed: true }], 'while down');
  r = step(r, { type: 'path.up' });
  r = step(r, { type: 'peer.verdict', blocked: 0 });
  assert.equal(r.verdicts.at(-1), { transform: false, blocked: 0, changed: true }, 'while probing');
  assert.is(r.s.value, 'probing', 'the episode goes on');
  for (const mode of ['always-transform', 'disabled'] as const) {
    let o = start({ mode, detectIntervalMs: 1000 });
    const before = o.verdicts.length;
    o = step(o, { type: 'peer.verdict', blocked: ALL_KINDS });
    assert.is(o.verdicts.length, before, mode);
    assert.is(o.s.context.peerBlocked, 0, mode);
  }
});

test.run();
