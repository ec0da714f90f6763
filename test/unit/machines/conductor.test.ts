import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor, initialTransition, transition, SimulatedClock, type AnyMachineSnapshot } from 'xstate';
import { routerSyncMachine, SYNC_STATUS, type RouterSyncEvent } from '../../../src/machines/router-sync.js';
import { enrolmentBackoffMs, enrolmentMachine } from '../../../src/machines/enrolment.js';
import { conductorLinkMachine, linkBackoffMs } from '../../../src/machines/conductor-link.js';

type Action = { type: string; params?: unknown };
const named = (actions: Action[]) => actions.filter((a) => !a.type.startsWith('xstate.')).map((a) => (a.params === undefined ? a.type : `${a.type} ${JSON.stringify(a.params)}`));

/** Runs events through the router-sync machine; returns the final state and the named actions of each step. */
function sync(input: { head: number; running: number | null }, events: RouterSyncEvent[]): { state: AnyMachineSnapshot; steps: string[][] } {
  let [state] = initialTransition(routerSyncMachine, { router: 'r1', assetId: 'a1', ...input });
  const steps: string[][] = [];
  for (const e of events) {
    const [next, actions] = transition(routerSyncMachine, state, e);
    state = next;
    steps.push(named(actions as Action[]));
  }
  return { state, steps };
}

test('router sync: a router at the head connects and is synchronized', () => {
  const { state, steps } = sync({ head: 3, running: 3 }, [{ type: 'channel.opened' }, { type: 'router.hello', running: 3 }]);
  assert.is(state.value, 'synchronized');
  assert.is(SYNC_STATUS[state.value as string], 'synchronized');
  assert.equal(steps[1], ['clearAlarm {"router":"r1","alarm":"out-of-sync"}']);
});

test('router sync: a router behind says hello, is pushed the head, activates it', () => {
  const { state, steps } = sync({ head: 3, running: 3 }, [
    { type: 'channel.opened' }, { type: 'version.committed', version: 4, activating: false }, { type: 'router.hello', running: 3 }, { type: 'router.activated', version: 4 },
  ]);
  assert.equal(steps[2], ['pushVersion {"router":"r1","version":4}'], 'the head at hello time is pushed');
  assert.is(state.value, 'synchronized');
  assert.is(state.context.running, 4);
});

test('router sync: offline at commit time -> out of sync (alarm); back: pushed, activated, synchronized (alarm cleared)', () => {
  const { state, steps } = sync({ head: 3, running: 3 }, [
    { type: 'version.committed', version: 4, activating: false },
    { type: 'channel.opened' },
    { type: 'router.hello', running: 3 },
    { type: 'router.activated', version: 4 },
  ]);
  assert.equal(steps[0], ['raiseAlarm {"router":"r1","alarm":"out-of-sync","message":"offline when version 4 was committed; it gets it when it reconnects"}']);
  assert.equal(steps[2], ['pushVersion {"router":"r1","version":4}']);
  assert.ok(steps[3]!.includes('clearAlarm {"router":"r1","alarm":"out-of-sync"}'));
  assert.is(state.value, 'synchronized');
});

test('router sync: in a commit the router is activated by the commit (no push); outside one it is pushed', () => {
  const a = sync({ head: 3, running: 3 }, [{ type: 'channel.opened' }, { type: 'router.hello', running: 3 }, { type: 'version.committed', version: 4, activating: true }, { type: 'router.activated', version: 4 }]);
  assert.equal(a.steps[2], [], 'the commit sends activate itself');
  assert.is(a.state.value, 'synchronized');
  const b = sync({ head: 3, running: 3 }, [{ type: 'channel.opened' }, { type: 'router.hello', running: 3 }, { type: 'version.committed', version: 4, activating: false }]);
  assert.equal(b.steps[2], ['pushVersion {"router":"r1","version":4}']);
  assert.is(b.state.value, 'synchronizing');
});

test('router sync: a refused push is out of sync with an alarm; a later version is pushed again', () => {
  const { state, steps } = sync({ head: 4, running: 3 }, [
    { type: 'channel.opened' }, { type: 'router.hello', running: 3 }, { type: 'router.refused', version: 4, message: 'bad field' },
    { type: 'version.committed', version: 5, activating: false }, { type: 'router.activated', version: 5 },
  ]);
  assert.equal(steps[2], ['raiseAlarm {"router":"r1","alarm":"refused","message":"refused version 4: bad field"}']);
  assert.equal(steps[3], ['pushVersion {"router":"r1","version":5}']);
  assert.is(state.value, 'synchronized');
  assert.is(state.context.lastError, undefined);
});

test('router sync: channel closes: disconnected at the head, out of sync when behind; a new router starts out of sync', () => {
  assert.is(sync({ head: 3, running: 3 }, [{ type: 'channel.opened' }, { type: 'router.hello', running: 3 }, { type: 'channel.closed' }]).state.value, 'disconnected');
  const mid = sync({ head: 3, running: 2 }, [{ type: 'channel.opened' }, { type: 'router.hello', running: 2 }, { type: 'channel.closed' }]);
  assert.is(mid.state.value, 'outOfSync');
  assert.is(mid.state.context.connected, false);
  assert.is(sync({ head: 3, running: null }, []).state.value, 'outOfSync');
  assert.is(sync({ head: 3, running: 3 }, []).state.value, 'disconnected');
});

test('enrolment: CA fetched and pinned, token accepted -> enrolled (credentials stored)', () => {
  const [s0, a0] = initialTransition(enrolmentMachine, { assetId: 'r1', conductors: ['https://c1', 'https://c2'] });
  assert.equal(named(a0 as Action[]), ['fetchCa {"url":"https://c1"}']);
  const [s1, a1] = transition(enrolmentMachine, s0, { type: 'ca.fetched', pinMatches: true });
  assert.equal(named(a1 as Action[]), ['sendEnrolment {"url":"https://c1"}']);
  const [s2, a2] = transition(enrolmentMachine, s1, { type: 'enrol.accepted' });
  assert.is(s2.value, 'enrolled');
  assert.is(s2.status, 'done');
  assert.equal(named(a2 as Action[]), ['storeCredentials', 'report {"outcome":"enrolled","message":""}']);
});

test('enrolment: a refused token is final; a CA that does not match the pin is never sent the token', () => {
  const [s0] = initialTransition(enrolmentMachine, { assetId: 'r1', conductors: ['https://c1'] });
  const [s1] = transition(enrolmentMachine, s0, { type: 'ca.fetched', pinMatches: true });
  const [s2, a2] = transition(enrolmentMachine, s1, { type: 'enrol.refused', message: 'token already used' });
  assert.is(s2.value, 'refused');
  assert.equal(named(a2 as Action[]), ['report {"outcome":"refused","message":"token already used"}']);
  const [s3, a3] = transition(enrolmentMachine, s0, { type: 'ca.fetched', pinMatches: false });
  assert.is(s3.value, 'waiting');
  assert.not.ok(named(a3 as Action[]).some((a) => a.startsWith('sendEnrolment')));
  assert.match(s3.context.lastError!, /does not match the pin/);
});

test('enrolment: failures back off (0.5 s doubling) and try the next conductor', () => {
  const clock = new SimulatedClock();
  const fetched: string[] = [];
  const actor = createActor(enrolmentMachine.provide({ actions: { fetchCa: (_, p) => void fetched.push(`${clock.now()} ${p.url}`) } }), { input: { assetId: 'r1', conductors: ['https://c1', 'https://c2'] }, clock });
  actor.start();
  actor.send({ type: 'request.failed', message: 'ECONNREFUSED' });
  clock.increment(499);
  assert.equal(fetched, ['0 https://c1']);
  clock.increment(1);
  actor.send({ type: 'request.failed', message: 'ECONNREFUSED' });
  clock.increment(1000);
  assert.equal(fetched, ['0 https://c1', '500 https://c2', '1500 https://c1']);
  assert.equal([0, 1, 2, 10].map(enrolmentBackoffMs), [500, 1000, 2000, 30000]);
  actor.stop();
});

test('conductor link: dial, connect, lose it, back off, dial the next; a standby\'s leader is dialled at once', () => {
  const [s0, a0] = initialTransition(conductorLinkMachine, { conductors: ['https://c1', 'https://c2'] });
  assert.equal(named(a0 as Action[]), ['dial {"url":"https://c1"}']);
  const [s1, a1] = transition(conductorLinkMachine, s0, { type: 'channel.redirected', leader: 'https://c2' });
  assert.equal(named(a1 as Action[]), ['dial {"url":"https://c2"}']);
  const [s2] = transition(conductorLinkMachine, s1, { type: 'channel.opened' });
  assert.is(s2.value, 'connected');
  const [s3, a3] = transition(conductorLinkMachine, s2, { type: 'channel.closed', message: 'conductor gone' });
  assert.is(s3.value, 'waiting');
  assert.equal(named(a3 as Action[]), ['report {"state":"disconnected","message":"conductor gone"}']);
  assert.is(s3.context.index, 1);
  const [s4] = transition(conductorLinkMachine, s1, { type: 'channel.redirected', leader: 'https://c1' });
  assert.is(s4.value, 'waiting', 'a second redirect in a row waits');
  assert.equal([0, 1, 4, 20].map(linkBackoffMs), [250, 500, 4000, 5000]);
});

test.run();
