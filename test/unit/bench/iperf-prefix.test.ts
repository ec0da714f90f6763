/**
 * `--prefix` runs iperf3 in their own client namespace (wave 21: since the failed-iperf3 change, bench/iperf.ts built
 * the client's argv when the module loaded, before run.ts's usePrefix, so every `--prefix P` TCP run failed on
 * "Cannot open network namespace \"svb-client\"").
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BENCH_PEER } from '../../../bench/iperf.js';
import { namePrefix, usePrefix } from '../../../bench/topology.js';

test('the iperf3 client runs in the namespace of the prefix in use when the run starts', () => {
  const before = namePrefix();
  try {
    usePrefix('tq');
    assert.equal(BENCH_PEER.argv, ['ip', 'netns', 'exec', 'tq-client', 'iperf3']);
    usePrefix('svb');
    assert.equal(BENCH_PEER.argv, ['ip', 'netns', 'exec', 'svb-client', 'iperf3']);
  } finally {
    usePrefix(before);
  }
});

test.run();
