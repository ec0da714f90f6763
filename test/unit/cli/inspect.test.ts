/** `svr inspect sessions` options to a history query: times, ports, --denied, bad values refused naming the option. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseTime, queryOf } from '../../../src/cli/inspect.js';
import { isSvrError } from '../../../src/errors.js';

const NOW = Date.parse('2025-06-02T12:00:00Z');

test('times: an ISO time, an age (s, m, h, d) or ms since the epoch', () => {
  assert.is(parseTime('2025-06-02T10:00:00Z', '--since', NOW), Date.parse('2025-06-02T10:00:00Z'));
  assert.is(parseTime('15m', '--since', NOW), NOW - 15 * 60_000);
  assert.is(parseTime('2h', '--since', NOW), NOW - 2 * 3_600_000);
  assert.is(parseTime('7d', '--since', NOW), NOW - 7 * 86_400_000);
  assert.is(parseTime('1748865600000', '--since', NOW), 1748865600000);
});

test('options become the query; --denied is close reason denied, --live interim records, --oldest the order', () => {
  const q = queryOf({ limit: '20', tenant: 'engineering', source: '198.18.1.0/24', port: '80', sourcePort: '40000', denied: true, live: true, oldest: true, cursor: 'abc' });
  assert.equal(q, { limit: 20, tenant: 'engineering', source: '198.18.1.0/24', cursor: 'abc', port: 80, sourcePort: 40000, closeReason: 'denied', kind: 'interim', order: 'oldest' });
  assert.equal(queryOf({ limit: '50', reason: 'fin-rst' }), { limit: 50, closeReason: 'fin-rst' });
});

test('bad values are refused naming the option (SVR_ERR_HISTORY_QUERY)', () => {
  const cases: [() => unknown, string][] = [
    [() => parseTime('yesterday', '--since', NOW), '--since'],
    [() => queryOf({ limit: 'ten' }), 'limit'],
    [() => queryOf({ limit: '50', port: '70000' }), '--port'],
    [() => queryOf({ limit: '50', sourcePort: 'x' }), '--source-port'],
    [() => queryOf({ limit: '50', denied: true, reason: 'idle' }), 'reason'],
  ];
  for (const [f, parameter] of cases) {
    try {
      f();
      assert.unreachable(`accepted (${parameter})`);
    } catch (e) {
      assert.ok(isSvrError(e, 'SVR_ERR_HISTORY_QUERY'), String(e));
      assert.is((e.data as { parameter: string }).parameter, parameter);
    }
  }
});

test.run();
