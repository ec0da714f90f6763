/** A managed router's session filter for the conductor's questions (tenant, service, application, address or its start). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sessionMatches } from '../../../src/node/conductor-queries.js';

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

test.run();
