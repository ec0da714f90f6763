/** Alarms: the raise/clear machine (pure transitions, hold timers on a simulated clock), the registry and its event log. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SimulatedClock, createActor, initialTransition, transition, type SnapshotFrom } from 'xstate';
import { alarmMachine, type AlarmEvent, type AlarmInput } from '../../../src/machines/alarm.js';
import { AlarmRegistry } from '../../../src/telemetry/alarms/registry.js';
import { AlarmWatch } from '../../../src/telemetry/alarms/watch.js';
import { isSvrError } from '../../../src/errors.js';

type Snapshot = SnapshotFrom<typeof alarmMachine>;
type Action = { type: string; params?: unknown };

function run(input: AlarmInput, events: AlarmEvent[]): { states: string[]; actions: string[] } {
  let [s] = initialTransition(alarmMachine, input) as [Snapshot, unknown];
  const states: string[] = [];
  const actions: string[] = [];
  for (const e of events) {
    const [next, acts] = transition(alarmMachine, s, e);
    s = next;
    states.push(String(s.value));
    for (const a of acts as Action[]) {
      if (a.type === 'raise' || a.type === 'clear') actions.push(`${a.type} ${(a.params as { value: number }).value}`);
    }
  }
  return { states, actions };
}
const level = (value: number): AlarmEvent => ({ type: 'alarm.observe', value });
const active = (on: boolean, detail?: string): AlarmEvent => ({ type: 'alarm.observe', active: on, ...(detail !== undefined ? { detail } : {}) });

test('level with hysteresis: raises at >= 90, stays raised down to 81, clears at <= 80, then needs 90 again', () => {
  const r = run({ raiseAt: 90, clearAt: 80 }, [level(50), level(89), level(90), level(95), level(85), level(81), level(80), level(85), level(89), level(91)]);
  assert.equal(r.states, ['clear', 'clear', 'raised', 'raised', 'raised', 'raised', 'clear', 'clear', 'clear', 'raised']);
  assert.equal(r.actions, ['raise 90', 'clear 80', 'raise 91'], 'one raise and one clear per crossing');
});

test('condition: raised at once while active, cleared at once when not; repeats change nothing', () => {
  const r = run({}, [active(false), active(true, 'BFD timeout'), active(true), active(false), active(false), active(true)]);
  assert.equal(r.states, ['clear', 'raised', 'raised', 'clear', 'clear', 'raised']);
  assert.equal(r.actions, ['raise 1', 'clear 0', 'raise 1']);
});

test('a definition with clearAt above raiseAt, or an unknown alarm, is refused with a coded error', () => {
  const watch = new AlarmWatch(new AlarmRegistry(), { odd: { category: 'system', severity: 'minor', raiseAt: 80, clearAt: 90, message: () => '', cleared: () => '' } });
  assert.throws(() => watch.observe('odd', 'x', { value: 1 }), (e: unknown) => isSvrError(e, 'SVR_ERR_TELEMETRY_OPTIONS') && /clearAt \(90\) must not be above raiseAt \(80\)/.test((e as Error).message));
  assert.throws(() => watch.observe('nope', 'x', { active: true }), (e: unknown) => isSvrError(e, 'SVR_ERR_TELEMETRY_OPTIONS') && /no alarm named nope/.test((e as Error).message));
});

test('hold times: raised only when the condition lasted raiseAfterMs; cleared only after clearAfterMs', () => {
  const clock = new SimulatedClock();
  const seen: string[] = [];
  const machine = alarmMachine.provide({
    actions: {
      raise: (_, p) => void seen.push(`raise ${p.value} at ${clock.now()}`),
      clear: (_, p) => void seen.push(`clear ${p.value} at ${clock.now()}`),
    },
  });
  const actor = createActor(machine, { input: { raiseAt: 85, clearAt: 85, raiseAfterMs: 30_000, clearAfterMs: 5_000 }, clock }).start();
  actor.send(level(90));
  clock.increment(20_000);
  actor.send(level(70)); // gone before 30 s: no alarm
  assert.is(String(actor.getSnapshot().value), 'clear');
  actor.send(level(95));
  clock.increment(29_999);
  assert.is(String(actor.getSnapshot().value), 'pending');
  actor.send(level(96));
  clock.increment(1);
  assert.is(String(actor.getSnapshot().value), 'raised');
  actor.send(level(10));
  clock.increment(4_000);
  actor.send(level(99)); // back up before the clear hold ended: still raised, no second raise
  clock.increment(10_000);
  assert.is(String(actor.getSnapshot().value), 'raised');
  actor.send(level(10));
  clock.increment(5_000);
  assert.equal(seen, ['raise 96 at 50000', 'clear 10 at 69000']);
  actor.stop();
});

test('registry: active alarms, one event per raise and clear, events since a time or after a sequence number', () => {
  let now = 1000;
  const reg = new AlarmRegistry({ now: () => now });
  const a = reg.raise({ id: 'peer-path-down:r2/wan1', category: 'peer', severity: 'major', source: 'r2/wan1', message: 'down' });
  assert.is(a.raisedAt, 1000);
  now = 2000;
  assert.is(reg.raise({ id: 'peer-path-down:r2/wan1', category: 'peer', severity: 'major', source: 'r2/wan1', message: 'still down' }), a, 'raising again is a no-op');
  reg.event({ category: 'config', severity: 'info', source: 'config', message: 'config applied (version 3)' });
  now = 3000;
  assert.equal(reg.active().map((x) => x.id), ['peer-path-down:r2/wan1']);
  const cleared = reg.clear('peer-path-down:r2/wan1', 'up');
  assert.is(cleared?.clearedAt, 3000);
  assert.is(reg.clear('peer-path-down:r2/wan1'), undefined);
  assert.equal(reg.active(), []);
  assert.equal(reg.events().map((e) => [e.seq, e.at, e.kind, e.message]), [[1, 1000, 'alarm-raised', 'down'], [2, 2000, 'event', 'config applied (version 3)'], [3, 3000, 'alarm-cleared', 'up']]);
  assert.equal(reg.events({ since: 2000 }).map((e) => e.seq), [2, 3]);
  assert.equal(reg.events({ afterSeq: 2 }).map((e) => e.seq), [3]);
  assert.equal(reg.events({ since: 5000 }), []);
  reg.raise({ id: 'peer-path-down:r2/wan1', category: 'peer', severity: 'major', source: 'r2/wan1', message: 'down again' });
  assert.is(reg.raisedCounts().get('peer-path-down:r2/wan1'), 2);
});

test('registry keeps a bounded event log and counts what it dropped', () => {
  const reg = new AlarmRegistry({ maxEvents: 16 });
  for (let i = 0; i < 100; i++) reg.event({ category: 'system', severity: 'info', source: 't', message: `e${i}` });
  const c = reg.counters();
  assert.ok(c.events >= 16 && c.events < 18, `${c.events} kept`);
  assert.is(c.events + c.eventsDropped, 100);
  assert.is(reg.events().at(-1)?.message, 'e99');
});

test('watch: observations drive one machine per alarm and source into the registry, with SSR severities and messages', () => {
  const reg = new AlarmRegistry();
  const watch = new AlarmWatch(reg);
  watch.observe('session-table-full', 'session table', { value: 50 });
  watch.observe('session-table-full', 'session table', { value: 92 });
  watch.observe('peer-path-down', 'r2/wan1', { active: true, detail: 'BFD control detection time expired' });
  watch.observe('peer-path-down', 'r2/wan2', { active: false });
  assert.equal(reg.active().map((a) => [a.id, a.severity, a.message]), [
    ['session-table-full:session table', 'major', 'session table is 92 % full (alarm at 90 %, clears at 80 %)'],
    ['peer-path-down:r2/wan1', 'major', 'peer path r2/wan1 is down: BFD control detection time expired'],
  ]);
  watch.observe('session-table-full', 'session table', { value: 85 });
  assert.is(reg.active().length, 2, 'hysteresis: 85 % keeps it');
  watch.observe('session-table-full', 'session table', { value: 79 });
  watch.observe('peer-path-down', 'r2/wan1', { active: false });
  assert.equal(reg.active(), []);
  assert.equal(reg.events().map((e) => `${e.kind} ${e.message}`).slice(-2), ['alarm-cleared session table is down to 79 %', 'alarm-cleared peer path r2/wan1 is up']);
  watch.stop();
});

test('watch: a condition seen only inactive holds no machine; once active it raises at once and clears as usual', () => {
  const reg = new AlarmRegistry();
  const watch = new AlarmWatch(reg);
  for (let i = 0; i < 1000; i++) watch.observe('peer-path-down', `spoke-${i}/wan0`, { active: false, detail: 'BFD up' });
  assert.is(watch.machines, 0, 'a hub\'s up paths cost no machine');
  assert.throws(() => watch.observe('nope', 'x', { active: false }), (e: unknown) => isSvrError(e, 'SVR_ERR_TELEMETRY_OPTIONS'), 'an unknown alarm is refused even when inactive');
  watch.observe('peer-path-down', 'spoke-7/wan0', { active: true, detail: 'BFD down' });
  assert.equal(reg.active().map((a) => a.message), ['peer path spoke-7/wan0 is down: BFD down']);
  watch.observe('peer-path-down', 'spoke-7/wan0', { active: false });
  assert.equal(reg.active(), []);
  assert.is(watch.machines, 1);
  watch.stop();
});

test.run();
