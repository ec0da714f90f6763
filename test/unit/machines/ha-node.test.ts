/** HA role of a pair's node: election, failover, switchover, preemption, split brain; pure transitions, then timers. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SimulatedClock, createActor, initialTransition, transition, type SnapshotFrom } from 'xstate';
import { deadTimeMs, haNodeMachine, heartbeatOf, outranks, sameHeartbeat, type HaHeartbeat, type HaNodeEvent, type HaNodeInput, type HaRole } from '../../../src/machines/ha-node.js';

const A: HaNodeInput = { node: 'r1a', partner: 'r1b', priority: 100, preempt: false, heartbeatMs: 100, misses: 3, linksUp: 2 };
type Snapshot = SnapshotFrom<typeof haNodeMachine>;
type Action = { type: string; params?: unknown };

const role = (s: Snapshot): string => {
  const r = (s.value as { role: string | Record<string, string> }).role;
  return typeof r === 'string' ? r : Object.entries(r).map(([k, v]) => `${k}.${v}`)[0]!;
};
const params = <T>(actions: readonly Action[], type: string): T[] => actions.filter((a) => a.type === type).map((a) => a.params as T);
const published = (actions: readonly Action[]) => params<{ role: HaRole; forwarding: boolean; reason: string }>(actions, 'publishRole');
const hb = (r: HaRole, over: Partial<HaHeartbeat> = {}): HaNodeEvent => ({
  type: 'ha.heartbeat', heartbeat: { node: 'r1b', role: r, priority: 100, linksUp: 2, wantActive: false, ...over },
});

function start(input: HaNodeInput = A): Snapshot {
  return initialTransition(haNodeMachine, input)[0];
}
function step(s: Snapshot, e: HaNodeEvent): [Snapshot, Action[]] {
  const [next, actions] = transition(haNodeMachine, s, e);
  return [next, actions as Action[]];
}
function steps(s: Snapshot, ...events: HaNodeEvent[]): Snapshot {
  return events.reduce((acc, e) => step(acc, e)[0], s);
}
const lost: HaNodeEvent = { type: 'ha.partnerLost' };

test('the election rule: links up, then priority, then the lower node name; the same answer on both sides', () => {
  const a = { node: 'r1a', priority: 100, linksUp: 2 };
  const b = { node: 'r1b', priority: 200, linksUp: 2 };
  assert.ok(outranks(b, a) && !outranks(a, b), 'priority');
  assert.ok(outranks({ ...a, linksUp: 2 }, { ...b, linksUp: 1 }), 'links before priority');
  assert.ok(outranks(a, { ...b, priority: 100 }) && !outranks({ ...b, priority: 100 }, a), 'equal: lower name');
  assert.is(deadTimeMs(A), 300, 'sub-second by default');
});

test('starts in init, forwarding nothing; a partner already active makes it standby', () => {
  const [s0, a0] = initialTransition(haNodeMachine, A);
  assert.is(role(s0), 'init');
  assert.equal(published(a0 as Action[]), [{ role: 'init', forwarding: false, reason: 'start' }]);
  const [s1, a1] = step(s0, hb('active', { priority: 1 }));
  assert.is(role(s1), 'standby', 'no preemption: a lower-priority active keeps the role');
  assert.equal(published(a1), [{ role: 'standby', forwarding: false, reason: 'partner-active' }]);
  assert.equal(params<HaHeartbeat>(a1, 'sendHeartbeat').map((h) => h.role), ['standby'], 'tells the partner at once');
});

test('no partner heard within the dead time: active (no-partner)', () => {
  const [s, a] = step(start(), lost);
  assert.is(role(s), 'active');
  assert.equal(published(a), [{ role: 'active', forwarding: true, reason: 'no-partner' }]);
});

test('both starting: the rule elects exactly one', () => {
  const [sa] = step(start(), hb('init', { priority: 50 }));
  assert.is(role(sa), 'active', 'r1a (100) beats r1b (50)');
  const b: HaNodeInput = { ...A, node: 'r1b', partner: 'r1a', priority: 50 };
  const [sb] = step(start(b), { type: 'ha.heartbeat', heartbeat: { node: 'r1a', role: 'init', priority: 100, linksUp: 2, wantActive: false } });
  assert.is(role(sb), 'standby');
});

test('failover: the standby takes over when heartbeats stop and the partner is not seen elsewhere', () => {
  const standby = steps(start(), hb('active'));
  const [s, a] = step(standby, lost);
  assert.is(role(s), 'active');
  assert.equal(published(a), [{ role: 'active', forwarding: true, reason: 'partner-lost' }]);
  assert.equal(params(a, 'splitBrain'), [], 'no split brain');
});

test('the partner back: it rejoins as standby, the active stays (no preemption)', () => {
  const active = steps(start(), lost);
  const [s, a] = step(active, hb('init', { priority: 250 }));
  assert.is(role(s), 'active');
  assert.equal(published(a), []);
  const [s2] = step(s, hb('standby', { priority: 250 }));
  assert.is(role(s2), 'active', 'a higher-priority standby without preempt waits');
});

test('preemption: a standby that outranks the active asks for the role; the active hands over', () => {
  const standby = steps(start({ ...A, priority: 200, preempt: true }), hb('active'));
  assert.is(role(standby), 'standby', 'it joins as standby first');
  assert.ok(heartbeatOf(standby.context).wantActive, 'its heartbeats ask for the role');
  assert.not.ok(heartbeatOf(steps(start({ ...A, priority: 200 }), hb('active')).context).wantActive, 'not without preempt');
  assert.not.ok(heartbeatOf(steps(start({ ...A, priority: 50, preempt: true }), hb('active')).context).wantActive, 'not when outranked');
  const [, a] = step(standby, hb('active'));
  assert.equal(published(a), [], 'the standby waits for the active to hand over');
  const active = steps(start(), lost);
  const [s, a2] = step(active, hb('standby', { priority: 200, wantActive: true }));
  assert.is(role(s), 'handingOver.waiting');
  assert.equal(published(a2), [{ role: 'handing-over', forwarding: true, reason: 'preempted' }]);
  assert.equal(params(a2, 'flushSync').length, 1);
});

test('planned switchover, make before break: the old active forwards until the new one is ready and active, then drains', () => {
  const active = steps(start(), lost, hb('standby'));
  const [h, a1] = step(active, { type: 'ha.switchover' });
  assert.is(role(h), 'handingOver.waiting');
  assert.equal(published(a1), [{ role: 'handing-over', forwarding: true, reason: 'switchover' }]);
  assert.ok(a1.findIndex((x) => x.type === 'flushSync') < a1.findIndex((x) => x.type === 'sendHeartbeat'), 'flushes before announcing');
  const [p, ap] = step(h, hb('taking-over'));
  assert.is(role(p), 'handingOver.preparing');
  assert.equal(published(ap), [], 'still forwarding while the partner prepares');
  const [d, a2] = step(p, hb('active'));
  assert.is(role(d), 'handingOver.draining', 'the partner is active: what is on its way here is still forwarded');
  assert.equal(published(a2), []);
  assert.is(role(step(d, hb('active'))[0]), 'handingOver.draining');

  const standby = steps(start(), hb('active'));
  const [t, a3] = step(standby, hb('handing-over'));
  assert.is(role(t), 'takingOver');
  assert.equal(published(a3), [{ role: 'taking-over', forwarding: true, reason: 'switchover' }], 'forwarding: its devices come up, nothing sent to it yet');
  assert.equal(params<HaHeartbeat>(a3, 'sendHeartbeat').map((x) => x.role), ['taking-over'], 'tells the partner it is making its side');
  assert.is(role(step(t, hb('handing-over'))[0]), 'takingOver', 'the partner\'s heartbeats change nothing until it is ready');
  const [r, a4] = step(t, { type: 'ha.ready' });
  assert.is(role(r), 'active');
  assert.equal(published(a4), [{ role: 'active', forwarding: true, reason: 'switchover' }]);
  assert.equal(params<HaHeartbeat>(a4, 'sendHeartbeat').map((x) => x.role), ['active'], 'the old active hears it at once');
  assert.is(role(step(r, hb('handing-over'))[0]), 'active', 'the draining partner is no dual active');
  assert.is(role(step(standby, { type: 'ha.switchover' })[0]), 'standby', 'switchover is asked of the active');
  assert.is(role(step(standby, { type: 'ha.ready' })[0]), 'standby', 'ready means nothing outside a switchover');
});

test('planned switchover: the drain ends in standby; a partner lost or withdrawn leaves the old active forwarding (SimulatedClock)', () => {
  const clock = new SimulatedClock();
  const roles: string[] = [];
  const actor = createActor(haNodeMachine.provide({ actions: { publishRole: (_, p) => roles.push(`${p.role}:${p.reason}`) } }), { input: { ...A, drainMs: 150 }, clock }).start();
  clock.increment(300);
  actor.send(hb('standby'));
  actor.send({ type: 'ha.switchover' });
  actor.send(hb('taking-over'));
  clock.increment(250);
  actor.send(hb('taking-over'));
  clock.increment(250);
  actor.send(hb('taking-over'));
  clock.increment(250);
  assert.is(roles.at(-1), 'handing-over:switchover', 'preparing longer than the dead time: still handing over');
  actor.send(hb('active'));
  clock.increment(149);
  assert.is(roles.at(-1), 'handing-over:switchover', 'draining');
  clock.increment(2);
  assert.is(roles.at(-1), 'standby:switchover', 'after the drain');
  actor.stop();

  const preparing = steps(start(), lost, hb('standby'), { type: 'ha.switchover' }, hb('taking-over'));
  const [l, al] = step(preparing, lost);
  assert.is(role(l), 'active');
  assert.equal(published(al), [{ role: 'active', forwarding: true, reason: 'partner-lost' }]);
  assert.is(role(step(preparing, hb('standby'))[0]), 'active', 'the partner went back to standby: the role stays');
  const taking = steps(start(), hb('active'), hb('handing-over'));
  assert.is(role(step(taking, hb('active'))[0]), 'standby', 'the old active gave up: the new one withdraws');
  assert.is(role(step(taking, lost)[0]), 'active', 'the old active gone: the new one keeps forwarding');
});

test('a switchover nobody answers: back to active after the dead time (SimulatedClock)', () => {
  const clock = new SimulatedClock();
  const roles: string[] = [];
  const actor = createActor(haNodeMachine.provide({ actions: { publishRole: (_, p) => roles.push(`${p.role}:${p.reason}`) } }), { input: A, clock }).start();
  actor.send(lost);
  actor.send({ type: 'ha.switchover' });
  clock.increment(299);
  assert.is(roles.at(-1), 'handing-over:switchover');
  clock.increment(2);
  assert.is(roles.at(-1), 'active:switchover-unanswered');
  actor.stop();
});

test('a standby with fewer links hands the role to a partner with more', () => {
  const active = steps(start(), lost, { type: 'ha.links', up: 1 });
  const [s, a] = step(active, hb('standby', { linksUp: 2 }));
  assert.is(role(s), 'handingOver.waiting');
  assert.is(published(a)[0]!.reason, 'partner-has-more-links');
});

test('link state: a shared link down on the active hands over at once to a standby with all links up; the count goes out at once', () => {
  // r1a (200) active, r1b (100) standby heard with both links up
  const active = steps(start({ ...A, priority: 200 }), hb('init'), hb('standby'));
  assert.is(role(active), 'active');
  const [s, a] = step(active, { type: 'ha.links', up: 1 });
  assert.is(role(s), 'handingOver.waiting', 'no wait for the next heartbeat');
  assert.is(published(a)[0]!.reason, 'partner-has-more-links');
  assert.equal(params<HaHeartbeat>(a, 'sendHeartbeat').map((h) => [h.role, h.linksUp]).at(-1), ['handing-over', 1], 'the partner hears the count at once');
  // the standby takes over (make before break), the old active drains to standby
  const [taken] = step(s, hb('taking-over'));
  assert.is(role(taken), 'handingOver.preparing');
  const standby = steps(taken, hb('active'));
  assert.is(role(standby), 'handingOver.draining');

  // the link back on the old active (now standby): equal links, no preemption: the new active keeps the role
  const b = steps(start({ ...A, node: 'r1b', partner: 'r1a' }), hb('active', { node: 'r1a', priority: 200 }), hb('handing-over', { node: 'r1a', priority: 200, linksUp: 1 }), { type: 'ha.ready' });
  assert.is(role(b), 'active');
  const [b2, ab2] = step(b, hb('standby', { node: 'r1a', priority: 200, linksUp: 2 }));
  assert.is(role(b2), 'active', 'no flap: links equal, no preemption');
  assert.equal(published(ab2), []);
  const [oldActive, ao] = step(steps(start({ ...A, priority: 200 }), hb('active'), { type: 'ha.links', up: 1 }), { type: 'ha.links', up: 2 });
  assert.is(role(oldActive), 'standby');
  assert.equal(params<HaHeartbeat>(ao, 'sendHeartbeat').map((h) => [h.role, h.linksUp, h.wantActive]), [['standby', 2, false]], 'the link back is told at once; no ask for the role');
  const preempting = steps(start({ ...A, priority: 200, preempt: true }), hb('active'), { type: 'ha.links', up: 1 });
  const [, ap] = step(preempting, { type: 'ha.links', up: 2 });
  assert.equal(params<HaHeartbeat>(ap, 'sendHeartbeat').map((h) => h.wantActive), [true], 'with preempt: true it asks for the role back');
});

test('link state: no handover when the standby has no more links, or is lost', () => {
  const active = steps(start(), hb('init', { priority: 50 }), hb('standby', { priority: 50, linksUp: 1 }));
  assert.is(role(active), 'active');
  assert.is(role(step(active, { type: 'ha.links', up: 1 })[0]), 'active', 'equal links: the role stays');
  const alone = steps(start(), hb('init', { priority: 50 }), hb('standby', { priority: 50 }), lost);
  assert.is(role(step(alone, { type: 'ha.links', up: 0 })[0]), 'active', 'the standby lost: nobody to hand to');
  const s = steps(start(), hb('active'));
  const [s2, a2] = step(s, { type: 'ha.links', up: 0 });
  assert.is(role(s2), 'standby');
  assert.is(s2.context.linksUp, 0);
  assert.equal(published(a2), []);
});

test('a heartbeat from a node that is not the partner is discarded and changes nothing', () => {
  const standby = steps(start(), hb('active'));
  const [s, a] = step(standby, hb('handing-over', { node: 'intruder' }));
  assert.is(role(s), 'standby');
  assert.equal(params(a, 'discard'), [{ from: 'intruder' }]);
  assert.is(s.context.heard?.node, 'r1b');
});

test('split brain: heartbeats lost, partner alive elsewhere: the winner is active, the loser fenced; both alarm', () => {
  const probe: HaNodeEvent = { type: 'ha.partnerProbe', alive: true };
  // r1a (100) standby, r1b (50) active: r1a wins the rule
  const a = steps(start(), hb('active', { priority: 50 }), probe);
  const [sa, aa] = step(a, lost);
  assert.is(role(sa), 'active');
  assert.is(published(aa)[0]!.reason, 'split-brain-won');
  const alarmA = params<{ active: boolean; message: string }>(aa, 'splitBrain');
  assert.is(alarmA.length, 1);
  assert.ok(alarmA[0]!.active && /r1a stays active/.test(alarmA[0]!.message), alarmA[0]!.message);

  // r1b's view: it was active, loses the rule -> fenced (stops forwarding)
  const b = steps(start({ ...A, node: 'r1b', partner: 'r1a', priority: 50 }), lost,
    { type: 'ha.heartbeat', heartbeat: { node: 'r1a', role: 'standby', priority: 100, linksUp: 2, wantActive: false } }, probe);
  const [sb, ab] = step(b, lost);
  assert.is(role(sb), 'fenced');
  assert.equal(published(ab), [{ role: 'fenced', forwarding: false, reason: 'split-brain-lost' }]);
  assert.ok(params<{ active: boolean }>(ab, 'splitBrain')[0]!.active);

  // the sync link back: heartbeats from the active partner -> standby, alarm cleared
  const [sb2, ab2] = step(sb, { type: 'ha.heartbeat', heartbeat: { node: 'r1a', role: 'active', priority: 100, linksUp: 2, wantActive: false } });
  assert.is(role(sb2), 'standby');
  assert.equal(params<{ active: boolean }>(ab2, 'splitBrain').map((x) => x.active), [false]);
  // the fenced node's partner gone everywhere: it takes over
  const [sb3] = step(sb, { type: 'ha.partnerProbe', alive: false });
  assert.is(role(sb3), 'active');
});

test('the probe\'s word late: a node that took over hears the partner alive on the probe and lets the rule decide', () => {
  // r1b (lower name loses at equal priority) took over, then the probe says r1a is alive: fenced
  const b = steps(start({ ...A, node: 'r1b', partner: 'r1a' }), { type: 'ha.heartbeat', heartbeat: { node: 'r1a', role: 'active', priority: 100, linksUp: 2, wantActive: false } }, lost);
  assert.is(role(b), 'active');
  const [fb, ab] = step(b, { type: 'ha.partnerProbe', alive: true });
  assert.is(role(fb), 'fenced');
  assert.equal(published(ab), [{ role: 'fenced', forwarding: false, reason: 'split-brain-lost' }]);
  // r1a, the winner, stays active and raises the alarm once
  const a = steps(start(), hb('standby'), lost);
  const [sa, aa] = step(a, { type: 'ha.partnerProbe', alive: true });
  assert.is(role(sa), 'active');
  assert.equal(params<{ active: boolean }>(aa, 'splitBrain').map((x) => x.active), [true]);
  const [, again] = step(sa, { type: 'ha.partnerProbe', alive: true });
  assert.equal(params(again, 'splitBrain'), [], 'decided once');
  // the probe alive while heartbeats flow changes nothing
  assert.is(role(step(steps(start(), lost, hb('standby')), { type: 'ha.partnerProbe', alive: true })[0]), 'active');
});

/** The meeting region's timer firing (a heartbeat interval after two active nodes met). */
const meetingOver: HaNodeEvent = { type: 'xstate.after.heartbeat.haNode.meeting.contested' } as unknown as HaNodeEvent;
const meeting = (s: Snapshot): string => (s.value as { meeting: string }).meeting;

test('two active nodes meeting again: the one that loses the rule becomes standby a heartbeat interval later, the other stays', () => {
  const a = steps(start(), lost); // r1a active, priority 100
  assert.equal([role(step(a, hb('active', { priority: 50 }))[0]), meeting(step(a, hb('active', { priority: 50 }))[0])], ['active', 'none']);
  const [met, aMet] = step(a, hb('active', { priority: 150 }));
  assert.equal([role(met), meeting(met), published(aMet)], ['active', 'contested', []], 'still active: the partner\'s word may be old');
  const [gone, aGone] = step(met, meetingOver);
  assert.equal([role(gone), published(aGone)], ['standby', [{ role: 'standby', forwarding: false, reason: 'dual-active-lost' }]]);
  assert.is(role(step(steps(met, hb('active', { priority: 150 })), meetingOver)[0]), 'standby', 'still winning: yields');
});

test('a dual-active meeting the partner backs off from (fenced on a late probe, standby) costs no role change', () => {
  const a = steps(start(), lost);
  for (const back of ['fenced', 'standby', 'init'] as const) {
    const s = steps(a, hb('active', { priority: 150, tookOver: true }), hb(back, { priority: 150 }));
    assert.equal([role(s), meeting(s)], ['active', 'none'], back);
    assert.is(role(step(s, meetingOver)[0]), 'active', `${back}: the old timer changes nothing`);
  }
});

test('a stalled active node that comes back yields to the node that took over: one role change, not two', () => {
  // r1a took over from a lost r1b; r1b (priority 200: it would win the rule) comes back active, not having taken over
  const [took, aTook] = step(steps(start(), hb('active', { priority: 200 })), lost);
  assert.equal([role(took), params<HaHeartbeat>(aTook, 'sendHeartbeat').map((h) => h.tookOver)], ['active', [true]], 'says it took over');
  const [kept, aKept] = step(took, hb('active', { priority: 200 }));
  assert.equal([role(kept), published(aKept)], ['active', []], 'the node that took over stays');
  assert.is(heartbeatOf(step(kept, hb('standby', { priority: 200 }))[0].context).tookOver, false, 'the partner heard standby: no longer');
  // the other side: r1a active all along (elected), stalled; r1b took over meanwhile
  const elected = steps(start(), hb('init', { priority: 50 }));
  assert.equal([role(elected), heartbeatOf(elected.context).tookOver], ['active', false]);
  const [yielded, aYielded] = step(steps(elected, hb('active', { priority: 50, tookOver: true })), meetingOver);
  assert.equal(published(aYielded), [{ role: 'standby', forwarding: false, reason: 'dual-active-lost' }], 'yields although it wins the rule');
  assert.is(role(yielded), 'standby');
  // both took over (each lost the other): the rule decides, as before
  assert.is(role(steps(took, hb('active', { priority: 200, tookOver: true }), meetingOver)), 'standby');
  assert.is(role(steps(took, hb('active', { priority: 50, tookOver: true }), meetingOver)), 'active');
  // more links up wins first: a node with a link down that took over for a moment yields to the healthier one
  assert.is(role(steps(took, hb('active', { priority: 200, linksUp: 3 }), meetingOver)), 'standby');
  assert.is(role(steps(elected, hb('active', { priority: 50, linksUp: 1, tookOver: true }), meetingOver)), 'active');
  // a failover long ago (the partner rejoined as standby since) does not count
  const rejoined = steps(took, hb('standby', { priority: 200 }));
  assert.is(role(steps(rejoined, hb('active', { priority: 200, tookOver: true }), meetingOver)), 'standby');
  assert.is(role(steps(rejoined, hb('active', { priority: 50 }), meetingOver)), 'active', 'neither took over: the rule');
});

test('heartbeats that change nothing: the same heartbeat again leaves the machine as it was (the pair node passes on only what can change it)', () => {
  const standby = steps(start(), hb('active'), hb('active'));
  const [again, actions] = step(standby, hb('active'));
  assert.equal(again.value, standby.value);
  assert.equal({ ...again.context, heard: undefined }, { ...standby.context, heard: undefined }, 'only the record of the heartbeat');
  assert.equal(actions.filter((a) => !a.type.startsWith('xstate.')).map((a) => a.type), [], 'nothing to do');
  assert.ok(sameHeartbeat(standby.context.heard!, { node: 'r1b', role: 'active', priority: 100, linksUp: 2, wantActive: false, released: true }), '`released` is the host\'s');
  assert.not.ok(sameHeartbeat(standby.context.heard!, { ...standby.context.heard!, linksUp: 1 }));
  assert.not.ok(sameHeartbeat(standby.context.heard!, { ...standby.context.heard!, tookOver: true }));
});

test('the partner lost, then heard again: region partner lost -> alive (the heartbeat clock says lost; the machine keeps no timer of it)', () => {
  const [l] = step(steps(start(), hb('active')), lost);
  assert.equal([(l.value as { partner: string }).partner, l.context.partnerLost], ['lost', true]);
  const [back] = step(l, hb('standby'));
  assert.equal([(back.value as { partner: string }).partner, back.context.partnerLost], ['alive', false]);
});

test.run();
