/**
 * The bench's iperf3 client runs in the client namespace of the prefix in use: `--prefix` renames the namespaces
 * (topology.ts usePrefix) after bench/iperf.ts has loaded, and a peer that read the name at import ran iperf3 in
 * `svb-client` (every prefixed run's TCP step failed: "Cannot open network namespace"). The same for the round
 * trips' pinger (bench/measure.ts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BENCH_PEER } from '../../../bench/iperf.js';
import { benchTarget } from '../../../bench/measure.js';
import { namePrefix, usePrefix } from '../../../bench/topology.js';

test('BENCH_PEER runs iperf3 in the client namespace of the prefix set after it loaded', () => {
  const before = namePrefix();
  usePrefix('zq');
  try {
    assert.equal([...BENCH_PEER.argv], ['ip', 'netns', 'exec', 'zq-client', 'iperf3']);
  } finally {
    usePrefix(before);
  }
  assert.equal(BENCH_PEER.argv[3], `${before}-client`);
});

test('the round trips run from the client namespace of the prefix set after bench/measure.ts loaded', () => {
  const before = namePrefix();
  usePrefix('zq');
  try {
    assert.is(benchTarget().ns, 'zq-client');
  } finally {
    usePrefix(before);
  }
  assert.is(benchTarget().ns, `${before}-client`);
});

test.run();
