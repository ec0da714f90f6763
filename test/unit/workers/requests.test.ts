/**
 * Requests to workers (workers/requests.ts): what `svr show sessions` gets when a worker answers, dies or
 * hangs. A worker whose thread ended is `lost` at once (its part is empty, not an error); only one still
 * running that did not answer by the deadline is `missing` (SVR_ERR_WORKER_TIMEOUT in worker-host.ts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WorkerRequests } from '../../../src/workers/requests.js';
import { runnableSince } from '../../../src/workers/runnable-time.js';
import { sleep } from '../../support/config.js';

test('every worker answers: resolved at the last answer, nothing lost or missing; a late or unasked answer is ignored', async () => {
  const r = new WorkerRequests();
  let id = -1;
  const done = r.ask<string>([0, 1], 60_000, (i) => { id = i; });
  r.answer(id, 0, 'a');
  r.answer(id, 7, 'x');
  r.answer(id, 1, 'b');
  r.answer(id, 1, 'late');
  const a = await done;
  assert.equal([...a.answers], [[0, 'a'], [1, 'b']]);
  assert.equal([a.lost, a.missing], [[], []]);
});

test('a worker whose thread ends before answering is lost at once, not missing (no wait for the deadline)', async () => {
  const r = new WorkerRequests();
  let id = -1;
  const done = r.ask<string>([0, 1], 60_000, (i) => { id = i; });
  r.answer(id, 0, 'a');
  r.lose(1);
  const a = await Promise.race([done, sleep(1000).then(() => undefined)]);
  assert.ok(a !== undefined, 'resolved by the loss, not the 60 s deadline');
  assert.equal([...a.answers], [[0, 'a']]);
  assert.equal([a.lost, a.missing], [[1], []]);
});

test('a worker that does not answer is missing at the deadline; what came is kept', async () => {
  const r = new WorkerRequests();
  let id = -1;
  const done = r.ask<string>([0, 1], 20, (i) => { id = i; });
  r.answer(id, 1, 'b');
  const [a] = await Promise.all([done, sleep(50)]); // the deadline's timer is unref'd: keep the process up
  assert.equal([...a.answers], [[1, 'b']]);
  assert.equal([a.lost, a.missing], [[], [0]]);
});

test('no worker asked: resolved at once, nothing sent', async () => {
  const r = new WorkerRequests();
  let sent = false;
  const a = await r.ask([], 60_000, () => { sent = true; });
  assert.is(sent, false);
  assert.equal([a.answers.size, a.lost, a.missing], [0, [], []]);
});

test('a deadline counted on the time the process could run: a start the machine kept from running is not missing yet', async () => {
  const r = new WorkerRequests();
  let id = -1;
  let ran = 0; // ms the process "could run" since the call, as runnable-time.ts would count it
  const done = r.ask<string>([0], 30, (i) => { id = i; }, () => ran);
  let settled = false;
  void done.then(() => { settled = true; });
  await sleep(80); // well past 30 ms of wall time; the process ran 0 ms of it
  assert.is(settled, false, 'still waiting: the deadline counts what the process could run');
  r.answer(id, 0, 'ready');
  const a = await done;
  assert.equal([[...a.answers], a.missing], [[[0, 'ready']], []]);
  // and one that ran its 30 ms without answering is missing
  const late = r.ask<string>([0], 30, () => undefined, () => ran);
  ran = 30;
  const [b] = await Promise.all([late, sleep(50)]);
  assert.equal(b.missing, [0]);
});

test('runnable time: never more than wall time, and on this host (schedstat) it moves', async () => {
  const since = runnableSince();
  const t0 = performance.now();
  const until = t0 + 30;
  while (performance.now() < until); // run 30 ms
  const ran = since();
  assert.ok(ran >= 0 && ran <= performance.now() - t0 + 1, `${ran} ms`);
  assert.ok(ran > 0, 'it counts time the process ran');
});

test.run();
