/** A managed router's session filter for the conductor's questions (tenant, service, application, address or its start). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { historyQueryOf, sessionMatches } from '../../../src/node/conductor-queries.js';
import { checkQuery } from '../../../src/telemetry/history/query.js';
import { SvrError } from '../../../src/errors.js';

const s = {
  id: 'a', role: 'ingress' as const, tenant: 'engineering', service: 'web', application: 'example.com', encryption: 'none' as const,
  original: { src: '198.18.1.10', dst: '198.18.3.20', srcPort: 40000, dstPort: 80, protocol: 'tcp' },
  inInterface: 'lan0', outInterface: 'wan0', handshake: 'complete' as const, state: 'established', ageMs: 1, idleMs: 0, expiresInMs: 1,
  packets: { forward: 1, reverse: 1 }, bytes: { forward: 1, reverse: 1 },
};

test('every given field must match; an address matches either end, exactly or by a start ending in . or :', () => {
  assert.ok(sessionMatches(s, {}));
  assert.ok(sessionMatches(s, { tenant: 'engineering', service: 'web', application: 'example.com' }));
  assert.not.ok(sessionMatches(s, { tenant: 'engineering', service: 'echo' }));
  assert.not.ok(sessionMatches(s, { application: 'other' }));
  assert.ok(sessionMatches(s, { address: '198.18.3.20' }), 'the server end');
  assert.ok(sessionMatches(s, { address: '198.18.1.10' }), 'the client end');
  assert.ok(sessionMatches(s, { address: '198.18.1.' }), 'a start');
  assert.not.ok(sessionMatches(s, { address: '198.18.1.1' }), 'not a start without the dot: an exact address');
  assert.not.ok(sessionMatches(s, { address: '198.18.9.' }));
});

test('a history query from the channel: known fields of the right type pass; others are refused by name; the page stays bounded', () => {
  const q = historyQueryOf({ tenant: 'engineering', closeReason: 'denied', source: '198.18.1.0/24', from: 5, limit: 100 });
  assert.equal(q, { tenant: 'engineering', closeReason: 'denied', source: '198.18.1.0/24', from: 5, limit: 100 });
  for (const [raw, parameter, text] of [
    [{ tennant: 'x' }, 'tennant', 'not a field'],
    [{ limit: '100' }, 'limit', 'expected a number'],
    [{ port: 80, service: 7 }, 'service', 'expected a string'],
  ] as const) {
    try {
      historyQueryOf(raw);
      assert.unreachable(`${parameter} refused`);
    } catch (e) {
      assert.instance(e, SvrError);
      assert.is((e as SvrError).code, 'SVR_ERR_HISTORY_QUERY');
      assert.equal((e as SvrError).data, { parameter });
      assert.match((e as Error).message, text);
    }
  }
  assert.throws(() => checkQuery(historyQueryOf({ limit: 5000 })), /limit: expected 1-1000/, 'the history bounds the page');
});

test.run();
