/** rankPaths: table-driven cases over vector costs, SLA filtering, best effort and the three criteria. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ServicePolicy } from '../../../src/model/config.js';
import { compileServicePolicy } from '../../../src/model/compile.js';
import { builtinServicePolicy } from '../../../src/model/defaults.js';
import type { PathQuality } from '../../../src/paths/quality.js';
import { meetsSla, rankPaths, type PathCandidate, type PathRanking } from '../../../src/paths/select.js';

const policy = (over: Partial<ServicePolicy> = {}) => compileServicePolicy({ ...builtinServicePolicy(), name: 'p', ...over });
const q = (latencyMs: number, jitterMs = 0, lossPercent = 0, mos = 4.4): PathQuality => ({ latencyMs, jitterMs, lossPercent, mos });
const path = (id: number, vector: string, quality?: PathQuality, usable = true): PathCandidate =>
  quality === undefined ? { id, vector, usable } : { id, vector, usable, quality };

const COSTS: Partial<ServicePolicy> = { vectors: [{ name: 'mpls', cost: 1 }, { name: 'broadband', cost: 10 }, { name: 'lte', cost: 100 }, { name: 'sat', cost: 'never' }] };
const SLA: Partial<ServicePolicy> = { ...COSTS, pathQualityFilter: true, maxLatency: 100, maxJitter: 20, maxLoss: 1, minMos: 3.5 };

const cases: Array<[string, Partial<ServicePolicy>, PathCandidate[], PathRanking]> = [
  ['lowest vector cost first', COSTS, [path(0, 'lte'), path(1, 'mpls'), path(2, 'broadband')], { ordered: [1, 2, 0], refused: false }],
  ['an unlisted vector (or none) costs 0', COSTS, [path(0, 'mpls'), path(1, 'wifi'), path(2, '')], { ordered: [1, 2, 0], refused: false }],
  ['unusable paths and `never` vectors are dropped', COSTS, [path(0, 'mpls', undefined, false), path(1, 'sat'), path(2, 'lte')], { ordered: [2], refused: false }],
  ['same cost: lower latency, then lower id', COSTS, [path(3, 'mpls', q(50)), path(1, 'mpls'), path(2, 'mpls', q(20)), path(0, 'mpls', q(20))], { ordered: [0, 2, 3, 1], refused: false }],
  ['vector-order: costs by position', { vectorOrder: ['lte', 'mpls'] }, [path(0, 'mpls'), path(1, 'lte'), path(2, 'x')], { ordered: [2, 1, 0], refused: false }],
  ['no vectors configured: latency decides', {}, [path(0, 'lte', q(80)), path(1, 'mpls', q(40))], { ordered: [1, 0], refused: false }],
  ['filter off: breaching paths are still used', { ...SLA, pathQualityFilter: false }, [path(0, 'mpls', q(500, 90, 50, 1.2)), path(1, 'lte', q(10))], { ordered: [0, 1], refused: false }],
  ['filter: each limit drops a path; unmeasured passes', SLA,
    [path(0, 'mpls', q(101)), path(1, 'mpls', q(10, 21)), path(2, 'mpls', q(10, 0, 1.5)), path(3, 'mpls', q(10, 0, 0, 3.4)), path(4, 'lte'), path(5, 'broadband', q(100, 20, 1, 3.5))],
    { ordered: [5, 4], refused: false }],
  ['nothing meets the SLA, best effort: only the best eligible path', SLA, [path(0, 'lte', q(300)), path(1, 'broadband', q(400)), path(2, 'mpls', q(10), false)], { ordered: [1], refused: false }],
  ['nothing meets the SLA, no best effort: refused', { ...SLA, bestEffort: false }, [path(0, 'lte', q(300)), path(1, 'broadband', q(400))], { ordered: [], refused: true }],
  ['no eligible path at all, best effort: empty, not refused', SLA, [path(0, 'sat'), path(1, 'mpls', undefined, false)], { ordered: [], refused: false }],
  ['no eligible path at all, no best effort: refused', { ...COSTS, bestEffort: false }, [path(0, 'sat')], { ordered: [], refused: true }],
  ['average-latency: lowest latency first, unmeasured last, then cost', { ...COSTS, bestPathCriteria: 'average-latency' },
    [path(0, 'mpls', q(80)), path(1, 'lte', q(20)), path(2, 'mpls'), path(3, 'broadband', q(20)), path(4, 'lte')], { ordered: [3, 1, 0, 2, 4], refused: false }],
  ['mos: highest MOS first, regardless of vector', { ...COSTS, bestPathCriteria: 'mos' },
    [path(0, 'mpls', q(10, 0, 2, 3.9)), path(1, 'lte', q(10, 0, 0, 4.4)), path(2, 'broadband'), path(3, 'broadband', q(10, 0, 0, 4.4))], { ordered: [3, 1, 0, 2], refused: false }],
];

for (const [name, over, candidates, expected] of cases) {
  test(`rankPaths: ${name}`, () => {
    assert.equal(rankPaths(policy(over), candidates), expected);
  });
}

test('meetsSla: limits are inclusive; min-mos only when set', () => {
  const p = policy(SLA);
  assert.ok(meetsSla(p, q(100, 20, 1, 3.5)));
  assert.not.ok(meetsSla(p, q(100.1, 20, 1, 3.5)));
  assert.ok(meetsSla(p, undefined));
  assert.ok(meetsSla(policy({ ...SLA, minMos: undefined }), q(1, 1, 0, 1)), 'no MOS limit');
});

test('rankPaths does not reorder or change its input', () => {
  const input = [path(0, 'lte'), path(1, 'mpls')];
  const copy = JSON.stringify(input);
  rankPaths(policy(COSTS), input);
  assert.is(JSON.stringify(input), copy);
});

test.run();
