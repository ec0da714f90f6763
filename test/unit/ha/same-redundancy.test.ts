/**
 * A reload keeps a pair's `redundancy` (node/ha.ts sameRedundancy, node.ts check): the pair's role machine, sync link,
 * heartbeat timers and shared addresses are set up at start, so a config that changes the block is refused (restart
 * the nodes) instead of "applied" with the old pair running on. e2e/ha-pair reloads a running node with another key.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sameRedundancy } from '../../../src/node/ha.js';
import type { Redundancy } from '../../../src/model/config.js';

const PAIR: Redundancy = {
  nodes: [{ name: 'r1a', priority: 200, syncAddress: '198.18.250.1' }, { name: 'r1b', priority: 100, syncAddress: '198.18.250.2' }],
  preempt: false, heartbeatInterval: 100, heartbeatMisses: 3, syncPort: 4797, sharedKey: Buffer.alloc(32, 42).toString('base64'), sharedAddresses: [],
};

test('the same block, or none on both sides, reloads', () => {
  assert.ok(sameRedundancy({ redundancy: PAIR }, { redundancy: structuredClone(PAIR) }));
  assert.ok(sameRedundancy({}, {}));
});

test('a block added, removed or changed anywhere does not', () => {
  assert.not.ok(sameRedundancy({}, { redundancy: PAIR }), 'one node made a pair');
  assert.not.ok(sameRedundancy({ redundancy: PAIR }, {}), 'a pair made one node');
  assert.not.ok(sameRedundancy({ redundancy: PAIR }, { redundancy: { ...PAIR, heartbeatInterval: 200 } }));
  assert.not.ok(sameRedundancy({ redundancy: PAIR }, { redundancy: { ...PAIR, sharedKey: Buffer.alloc(32, 7).toString('base64') } }));
  assert.not.ok(sameRedundancy({ redundancy: PAIR }, { redundancy: { ...PAIR, sharedAddresses: [{ device: 'eth1', address: '198.18.1.1/24' }] } }));
});

test.run();
