/** `svr show events --since`: a time ago or an ISO time; anything else is refused naming the option. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseSince } from '../../../src/cli/show.js';
import { isSvrError } from '../../../src/errors.js';

test('times ago and ISO times', () => {
  const now = Date.parse('2026-12-04T12:00:00Z');
  assert.is(parseSince('30s', now), now - 30_000);
  assert.is(parseSince('10m', now), now - 600_000);
  assert.is(parseSince('1.5h', now), now - 5_400_000);
  assert.is(parseSince('1d', now), now - 86_400_000);
  assert.is(parseSince('2026-12-04T11:00:00Z', now), Date.parse('2026-12-04T11:00:00Z'));
  assert.is(parseSince('2026-12-04', now), Date.parse('2026-12-04'));
});

test('anything else: SVR_ERR_CLI_OPTION naming --since', () => {
  for (const bad of ['yesterday', '10', '5 minutes', '12:00', '-1m']) {
    try {
      parseSince(bad);
      assert.unreachable(bad);
    } catch (e) {
      assert.ok(isSvrError(e, 'SVR_ERR_CLI_OPTION'), String(e));
      assert.match((e as Error).message, /^--since /);
    }
  }
});

test.run();
