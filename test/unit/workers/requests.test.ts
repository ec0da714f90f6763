/**
 * Requests to workers (workers/requests.ts): what `svr show sessions` gets when a worker answers, dies or
 * hangs. A worker whose thread ended is `lost` at once (its part is empty, not an error); only one still
 * running that did not answer by the deadline is `missing` (SVR_ERR_WORKER_TIMEOUT in worker-host.ts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WorkerRequests } from '../../../src/workers/requests.js';
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

test.run();
