import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor, initialTransition, transition, SimulatedClock } from 'xstate';
import { sessionEpisode } from '../../../src/machines/session-episode.js';

const input = { row: 7, gen: 3, sessionId: '3f2a1c9e-5b7d-4e8f-a1b2-c3d4e5f60718' };
const named = (actions: { type: string }[]) => actions.map((a) => a.type).filter((t) => !t.startsWith('xstate.'));

test('starts awaiting reverse metadata and schedules the first retry', () => {
  const [s, actions] = initialTransition(sessionEpisode, input);
  assert.is(s.value, 'awaitingReverse');
  assert.is(s.context.tries, 0);
  assert.ok(actions.some((a) => a.type === 'xstate.raise' || a.type === 'xstate.sendTo' || a.type.startsWith('xstate.')), 'a delayed event is scheduled');
});

test('reverse metadata confirms the session and records it', () => {
  const [s0] = initialTransition(sessionEpisode, input);
  const [s1, actions] = transition(sessionEpisode, s0, { type: 'session.reverseSeen' });
  assert.is(s1.value, 'confirmed');
  assert.is(s1.status, 'done');
  assert.equal(named(actions), ['record']);
  assert.equal((actions.find((a) => a.type === 'record') as unknown as { params: unknown }).params, { row: 7, sessionId: input.sessionId, outcome: 'confirmed', tries: 0 });
});

test('removal of the session ends the episode without teardown', () => {
  const [s0] = initialTransition(sessionEpisode, input);
  const [s1, actions] = transition(sessionEpisode, s0, { type: 'session.removed' });
  assert.is(s1.value, 'gone');
  assert.equal(named(actions), ['record']);
});

test('with a simulated clock: probes back off 200, 400, 800, 1600 ms, then the session is torn down', () => {
  const clock = new SimulatedClock();
  const probes: number[] = [];
  const torn: number[] = [];
  const outcomes: string[] = [];
  const actor = createActor(sessionEpisode.provide({
    actions: {
      resendMetadata: (_, p) => probes.push(clock.now()) && assert.equal(p, { row: 7, gen: 3 }),
      teardown: (_, p) => torn.push(p.row),
      record: (_, p) => outcomes.push(`${p.outcome}/${p.tries}`),
    },
  }), { input, clock });
  actor.start();
  clock.increment(199);
  assert.equal(probes, []);
  clock.increment(1);
  assert.equal(probes, [200]);
  clock.increment(400);
  clock.increment(800);
  clock.increment(1600);
  assert.equal(probes, [200, 600, 1400, 3000]);
  assert.equal(torn, []);
  clock.increment(3200);
  assert.equal(torn, [7], 'torn down after the last retry');
  assert.equal(outcomes, ['failed/4']);
  assert.is(actor.getSnapshot().status, 'done');
});

test('spawned after the supervisor\'s first probe: the second retry comes 400 ms after it, less the time waited', () => {
  const clock = new SimulatedClock();
  const probes: number[] = [];
  const outcomes: string[] = [];
  const actor = createActor(sessionEpisode.provide({
    actions: {
      resendMetadata: () => probes.push(clock.now()),
      record: (_, p) => outcomes.push(`${p.outcome}/${p.tries}`),
    },
  }), { input: { ...input, tries: 1, waitedMs: 150 }, clock });
  actor.start();
  assert.is(actor.getSnapshot().context.tries, 1);
  clock.increment(249);
  assert.equal(probes, []);
  clock.increment(1);
  assert.equal(probes, [250]);
  actor.send({ type: 'session.reverseSeen' });
  assert.equal(outcomes, ['confirmed/2']);
});

test('a reverse packet after two probes confirms without teardown', () => {
  const clock = new SimulatedClock();
  const probes: number[] = [];
  const outcomes: string[] = [];
  const actor = createActor(sessionEpisode.provide({
    actions: { resendMetadata: () => probes.push(clock.now()), teardown: () => outcomes.push('teardown'), record: (_, p) => outcomes.push(`${p.outcome}/${p.tries}`) },
  }), { input, clock });
  actor.start();
  clock.increment(200);
  clock.increment(400);
  actor.send({ type: 'session.reverseSeen' });
  clock.increment(10_000);
  assert.equal(probes, [200, 600]);
  assert.equal(outcomes, ['confirmed/2']);
});

test('spawned late (waitedMs): the wait already spent counts against the first retry only', () => {
  const clock = new SimulatedClock();
  const probes: number[] = [];
  const actor = createActor(sessionEpisode.provide({
    actions: { resendMetadata: () => probes.push(clock.now()), teardown: () => {}, record: () => {} },
  }), { input: { ...input, waitedMs: 150 }, clock });
  actor.start();
  clock.increment(49);
  assert.equal(probes, []);
  clock.increment(1);
  assert.equal(probes, [50], 'first probe 200 ms after the handshake began');
  clock.increment(400);
  assert.equal(probes, [50, 450], 'then the full 400 ms');
  actor.stop();
});

test.run();
