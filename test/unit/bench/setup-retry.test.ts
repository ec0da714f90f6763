/** bench/mode-run.ts setUpForwarding: a mode whose first set-up does not forward is torn down and set up once more. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { setUpForwarding } from '../../../bench/mode-run.js';
import { ModeSkipped } from '../../../bench/modes/mode.js';

const run = (checks: (() => void)[]) => {
  const log: string[] = [];
  let n = 0;
  const go = setUpForwarding(
    async () => { log.push('setup'); },
    async () => { log.push('check'); checks[n++]!(); },
    async () => { log.push('teardown'); },
    (why) => log.push(`retried: ${why}`),
  );
  return { go, log };
};

test('a first set-up that does not forward is torn down, set up again and noted', async () => {
  const { go, log } = run([() => { throw new Error('no UDP echo'); }, () => undefined]);
  await go;
  assert.equal(log, ['setup', 'check', 'retried: no UDP echo', 'teardown', 'setup', 'check']);
});

test('a set-up that forwards at once is not repeated', async () => {
  const { go, log } = run([() => undefined]);
  await go;
  assert.equal(log, ['setup', 'check']);
});

test('a second failure is the mode\'s failure; a skipped mode is not set up again', async () => {
  const twice = run([() => { throw new Error('first'); }, () => { throw new Error('second'); }]);
  assert.match(await twice.go.then(() => 'resolved', (e: Error) => e.message), 'second');
  const skipped = run([() => { throw new ModeSkipped('no binary'); }]);
  assert.match(await skipped.go.then(() => 'resolved', (e: Error) => e.message), 'no binary');
  assert.equal(skipped.log, ['setup', 'check']);
});

test.run();
