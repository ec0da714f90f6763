import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EpisodeSupervisor } from '../../../src/control/episodes.js';
import type { DpEvent } from '../../../src/dataplane/events.js';

const created = (row: number, gen = 1): DpEvent => ({ kind: 'session.created', row, gen, sessionId: `s${row}`, role: 'ingress', tenant: 't', service: 'svc' }) as DpEvent;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function supervisor(baseDelayMs: number) {
  const log: string[] = [];
  const sup = new EpisodeSupervisor({
    probe: (row, gen) => log.push(`probe ${row}/${gen}`),
    teardown: (row, gen) => log.push(`teardown ${row}/${gen}`),
    outcome: (id, outcome, tries) => log.push(`${outcome} ${id()} ${tries}`),
  }, { baseDelayMs, maxTries: 2 });
  return { sup, log };
}

test('a handshake confirmed within the first interval is recorded and never needs an actor or a probe', async () => {
  const { sup, log } = supervisor(40);
  sup.handle([created(1), created(2)]);
  assert.is(sup.inFlight, 2);
  sup.handle([{ kind: 'session.reverseSeen', row: 1, gen: 1 } as DpEvent, { kind: 'session.removed', row: 2, gen: 1 } as DpEvent]);
  assert.is(sup.inFlight, 0);
  assert.equal(log, ['confirmed s1 0', 'gone s2 0']);
  await sleep(120);
  assert.equal(log, ['confirmed s1 0', 'gone s2 0'], 'no probe afterwards');
  sup.stop();
});

test('an unanswered handshake gets its first probe from the sweep, the rest from the episode machine, then a teardown', async () => {
  const { sup, log } = supervisor(20);
  const t0 = performance.now();
  sup.handle([created(5, 3)]);
  while (log.length === 0) await sleep(2);
  assert.ok(performance.now() - t0 >= 20, 'not before the first retry');
  assert.equal(log, ['probe 5/3'], 'the first probe at the first retry');
  while (!log.some((l) => l.startsWith('failed'))) await sleep(5);
  assert.equal(log, ['probe 5/3', 'probe 5/3', 'teardown 5/3', 'failed s5 2']);
  assert.is(sup.inFlight, 0);
  sup.stop();
});

test('a handshake answered after its first probe gets no actor and reports its one probe', async () => {
  const { sup, log } = supervisor(20);
  sup.handle([created(3, 2), created(4, 1)]);
  while (log.length < 2) await sleep(2);
  assert.equal(log, ['probe 3/2', 'probe 4/1']);
  assert.is(sup.actors, 0, 'the first probe comes from the sweep');
  assert.is(sup.inFlight, 2);
  sup.handle([{ kind: 'session.reverseSeen', row: 3, gen: 2 } as DpEvent, { kind: 'session.removed', row: 4, gen: 1 } as DpEvent]);
  assert.equal(log, ['probe 3/2', 'probe 4/1', 'confirmed s3 1', 'gone s4 1']);
  assert.is(sup.inFlight, 0);
  await sleep(80);
  assert.is(log.length, 4, 'no second probe');
  assert.is(sup.actors, 0);
  sup.stop();
});

test('a new handshake in a row supersedes one past its first probe', async () => {
  const { sup, log } = supervisor(20);
  sup.handle([created(6, 1)]);
  while (log.length === 0) await sleep(2);
  sup.handle([created(6, 2)]);
  assert.is(sup.inFlight, 1);
  sup.handle([{ kind: 'session.reverseSeen', row: 6, gen: 1 } as DpEvent, { kind: 'session.reverseSeen', row: 6, gen: 2 } as DpEvent]);
  assert.equal(log, ['probe 6/1', 'confirmed s6 0']);
  assert.is(sup.inFlight, 0);
  sup.stop();
});

test('events for an older generation of the row are ignored; a new handshake in the row supersedes the old one', async () => {
  const { sup, log } = supervisor(20);
  sup.handle([created(7, 1)]);
  sup.handle([created(7, 2)]);
  sup.handle([{ kind: 'session.reverseSeen', row: 7, gen: 1 } as DpEvent]);
  assert.equal(log, []);
  assert.is(sup.inFlight, 1);
  sup.handle([{ kind: 'session.reverseSeen', row: 7, gen: 2 } as DpEvent]);
  assert.equal(log, ['confirmed s7 0']);
  sup.stop();
});

test.run();
