/** Config: neighborhood `bfd` blocks and the path-selection fields of service-policies (read, check, compile, round-trip). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileRouter, compileServicePolicy } from '../../../src/model/compile.js';
import { builtinServicePolicy } from '../../../src/model/defaults.js';
import { configToDocument } from '../../../src/model/serialize.js';
import { VECTOR_NEVER } from '../../../src/model/tables.js';
import { parseConfig, resolveConfig } from '../../../src/model/validate.js';
import { baseAuthority, hasProblem, parseObject, problemsOfObject } from './helpers.js';

type Obj = Record<string, unknown>;

/** baseAuthority with a bfd block on r1's and/or r2's neighborhood entry and extra service-policies. */
function withSettings(r1Bfd?: Obj, r2Bfd?: Obj, policies: Obj[] = []): Obj {
  const a = JSON.parse(JSON.stringify(baseAuthority())) as { routers: { interfaces: { neighborhoods?: Obj[] }[] }[] } & Obj;
  if (r1Bfd !== undefined) a.routers[0]!.interfaces[1]!.neighborhoods![0]!['bfd'] = r1Bfd;
  if (r2Bfd !== undefined) a.routers[1]!.interfaces[1]!.neighborhoods![0]!['bfd'] = r2Bfd;
  a['service-policies'] = policies;
  return a;
}

const BFD_DEFAULT_MS = { desiredTxMs: 1000, requiredMinRxMs: 500, multiplier: 3, holdDownMs: 5000, linkTestIntervalMs: 10000, linkTestLength: 10 };

test('a path without a bfd block gets the SSR defaults, in ms', () => {
  const config = parseObject(withSettings());
  assert.is(config.authority.routers[0]!.interfaces[1]!.neighborhoods[0]!.bfd, undefined, 'absent stays absent in the config');
  assert.equal({ ...compileRouter(config, 'r1', 1).paths[0]!.bfd }, BFD_DEFAULT_MS);
});

test('a bfd block fills missing fields with defaults; each end compiles its own entry (BFD negotiates)', () => {
  const config = parseObject(withSettings({ 'desired-tx-interval': 50, multiplier: 5, 'hold-down-time': 2 }, { 'link-test-length': 100, 'link-test-interval': 1 }));
  assert.equal(config.authority.routers[0]!.interfaces[1]!.neighborhoods[0]!.bfd, {
    desiredTxInterval: 50, requiredMinRxInterval: 500, multiplier: 5, holdDownTime: 2, linkTestInterval: 10, linkTestLength: 10,
  });
  assert.equal({ ...compileRouter(config, 'r1', 1).paths[0]!.bfd }, { ...BFD_DEFAULT_MS, desiredTxMs: 50, multiplier: 5, holdDownMs: 2000 });
  assert.equal({ ...compileRouter(config, 'r2', 1).paths[0]!.bfd }, { ...BFD_DEFAULT_MS, linkTestIntervalMs: 1000, linkTestLength: 100 });
});

test('bfd values outside their ranges and unknown bfd keys are problems at their field paths', () => {
  const problems = problemsOfObject(withSettings(
    { 'desired-tx-interval': 49, 'required-min-rx-interval': 600001, multiplier: 2, 'hold-down-time': 301, 'link-test-interval': 0, 'link-test-length': 101, 'detect-mult': 3 },
    { multiplier: 21, 'hold-down-time': 1.5 },
  ));
  const at = 'authority.routers[0].interfaces[1].neighborhoods[0].bfd';
  hasProblem(problems, `${at}.desired-tx-interval`, 'a whole number 50-600000 (ms), got 49');
  hasProblem(problems, `${at}.required-min-rx-interval`, '50-600000');
  hasProblem(problems, `${at}.multiplier`, '3-20, got 2');
  hasProblem(problems, `${at}.hold-down-time`, '1-300 (seconds)');
  hasProblem(problems, `${at}.link-test-interval`, '1-86400');
  hasProblem(problems, `${at}.link-test-length`, '1-100 (packets)');
  hasProblem(problems, `${at}.detect-mult`, 'unknown field');
  hasProblem(problems, 'authority.routers[1].interfaces[1].neighborhoods[0].bfd.multiplier', '3-20, got 21');
  hasProblem(problems, 'authority.routers[1].interfaces[1].neighborhoods[0].bfd.hold-down-time', 'got 1.5');
  assert.is(problems.length, 9);
});

test('service-policy path settings: SSR defaults when absent', () => {
  const config = parseObject(withSettings(undefined, undefined, [{ name: 'plain' }]));
  const plain = config.authority.servicePolicies.find((p) => p.name === 'plain')!;
  assert.equal(plain, { ...builtinServicePolicy(), name: 'plain' });
  const compiled = compileRouter(config, 'r1', 1).services[0]!.policy;
  assert.equal(
    [compiled.name, compiled.pathQualityFilter, compiled.maxLatencyMs, compiled.maxJitterMs, compiled.maxLossPercent, compiled.minMos, compiled.bestEffort, compiled.bestPathCriteria, compiled.sessionResiliency],
    ['default', false, 250, 100, 0.5, undefined, true, 'vector', 'none'],
  );
  assert.is(compiled.costOf('mpls'), 0, 'no vectors listed: every vector costs 0');
});

test('vectors: listed costs, 0 for unlisted vectors, never excludes', () => {
  const config = parseObject(withSettings(undefined, undefined, [{
    name: 'voice', vectors: [{ name: 'mpls', cost: 5 }, { name: 'lte', cost: 'never' }, { name: 'constructor', cost: 7 }],
    'path-quality-filter': true, 'max-latency': 150, 'max-jitter': 30, 'max-loss': 1.5, 'min-mos': 3.6, 'best-effort': false,
    'best-path-criteria': 'mos', 'session-resiliency': 'revertible-failover',
  }]));
  const p = compileServicePolicy(config.authority.servicePolicies[0]!);
  assert.equal([p.costOf('mpls'), p.costOf('lte'), p.costOf('broadband'), p.costOf(''), p.costOf('constructor'), p.costOf('toString')], [5, VECTOR_NEVER, 0, 0, 7, 0]);
  assert.equal(p.vectors, [{ vector: 'mpls', cost: 5 }, { vector: 'lte', cost: 'never' }, { vector: 'constructor', cost: 7 }]);
  assert.equal(
    [p.pathQualityFilter, p.maxLatencyMs, p.maxJitterMs, p.maxLossPercent, p.minMos, p.bestEffort, p.bestPathCriteria, p.sessionResiliency],
    [true, 150, 30, 1.5, 3.6, false, 'mos', 'revertible-failover'],
  );
});

test('vector-order: costs 1, 10, 100, ... by position', () => {
  const config = parseObject(withSettings(undefined, undefined, [{ name: 'ordered', 'vector-order': ['mpls', 'broadband', 'lte'] }]));
  const p = compileServicePolicy(config.authority.servicePolicies[0]!);
  assert.equal(['mpls', 'broadband', 'lte', 'satellite'].map((v) => p.costOf(v)), [1, 10, 100, 0]);
  assert.equal(p.vectors.map((v) => v.cost), [1, 10, 100]);
});

test('service-policy problems: both vector forms, duplicates, bad costs and limits', () => {
  const problems = problemsOfObject(withSettings(undefined, undefined, [
    { name: 'both', vectors: [{ name: 'mpls', cost: 1 }], 'vector-order': ['lte'] },
    { name: 'dups', vectors: [{ name: 'mpls', cost: 0 }, { name: 'lte', cost: 'sometimes' }, { name: 'bb', cost: 3 }, { name: 'x' }, { name: 'bb', cost: 4 }], 'vector-order': [] },
    { name: 'order', 'vector-order': ['a', 'b', 'a', 7] },
    { name: 'limits', 'max-loss': 101, 'min-mos': 5.5, 'max-latency': 2.5, 'max-jitter': -1, 'best-path-criteria': 'latency', 'session-resiliency': 'failover-revertible', 'path-quality-filter': 'yes' },
  ]));
  const at = (i: number, rest: string) => `authority.service-policies[${i}].${rest}`;
  hasProblem(problems, at(0, 'vector-order'), 'not both');
  hasProblem(problems, at(1, 'vectors[0].cost'), 'a cost 1-999999 or "never", got 0');
  hasProblem(problems, at(1, 'vectors[1].cost'), 'got "sometimes"');
  hasProblem(problems, at(1, 'vectors[4].name'), 'duplicate vector "bb"');
  hasProblem(problems, at(1, 'vectors[3].cost'), 'required field is missing');
  hasProblem(problems, at(2, 'vector-order[2]'), 'duplicate vector "a"');
  hasProblem(problems, at(2, 'vector-order[3]'), 'got 7');
  hasProblem(problems, at(3, 'max-loss'), 'a number 0-100 (percent), got 101');
  hasProblem(problems, at(3, 'min-mos'), 'a number 1-5, got 5.5');
  hasProblem(problems, at(3, 'max-latency'), 'got 2.5');
  hasProblem(problems, at(3, 'max-jitter'), 'got -1');
  hasProblem(problems, at(3, 'best-path-criteria'), 'one of "vector", "average-latency", "mos", got "latency"');
  hasProblem(problems, at(3, 'session-resiliency'), '"revertible-failover"');
  hasProblem(problems, at(3, 'path-quality-filter'), 'true or false');
  assert.is(problems.length, 14, 'an empty vector-order next to vectors is no conflict');
});

test('service-policy fec: defaults, compiled group size (0 when off), problems with the path of the bad field', () => {
  const config = parseObject(withSettings(undefined, undefined, [
    { name: 'lossy', fec: { enabled: true, 'group-size': 10, parity: 3 } },
    { name: 'plain' },
  ]));
  const [lossy, plain] = config.authority.servicePolicies;
  assert.equal(lossy!.fec, { enabled: true, groupSize: 10, parity: 3, flushMs: 20 });
  assert.equal(plain!.fec, { enabled: false, groupSize: 8, parity: 2, flushMs: 20 });
  assert.equal(compileServicePolicy(lossy!).fec, { groupSize: 10, parity: 3, flushMs: 20 });
  assert.is(compileServicePolicy(plain!).fec.groupSize, 0);
  const problems = problemsOfObject(withSettings(undefined, undefined, [
    { name: 'bad', fec: { enabled: 'yes', 'group-size': 1, parity: 5, 'flush-ms': 0, ratio: 2 } },
    { name: 'worse', fec: 10 },
  ]));
  const at = (i: number, rest: string) => `authority.service-policies[${i}].${rest}`;
  hasProblem(problems, at(0, 'fec.enabled'), 'true or false');
  hasProblem(problems, at(0, 'fec.group-size'), 'got 1');
  hasProblem(problems, at(0, 'fec.parity'), 'got 5');
  hasProblem(problems, at(0, 'fec.flush-ms'), 'got 0');
  hasProblem(problems, at(0, 'fec.ratio'), 'unknown field');
  hasProblem(problems, at(1, 'fec'), 'an fec mapping');
});

test('every new field round-trips through configToDocument -> parseConfig (and resolveConfig)', () => {
  const config = parseObject(withSettings(
    { 'desired-tx-interval': 300, 'required-min-rx-interval': 250, multiplier: 7, 'hold-down-time': 9, 'link-test-interval': 30, 'link-test-length': 20 },
    undefined,
    [
      { name: 'voice', vectors: [{ name: 'mpls', cost: 3 }, { name: 'lte', cost: 'never' }], 'path-quality-filter': true, 'max-latency': 80, 'max-jitter': 20, 'max-loss': 0.25, 'min-mos': 4.1, 'best-effort': false, 'best-path-criteria': 'average-latency', 'session-resiliency': 'packet-duplication' },
      { name: 'bulk', 'vector-order': ['broadband', 'mpls'], 'session-resiliency': 'failover' },
    ],
  ));
  const again = parseConfig(JSON.stringify(configToDocument(config)), 'again.json');
  assert.equal(again, config);
  assert.equal(resolveConfig(config), config);
  const doc = JSON.stringify(configToDocument(config));
  assert.ok(doc.includes('"bfd":{"desired-tx-interval":300'), 'kebab-case bfd block in the document');
  assert.ok(!doc.includes('"vector-order":[]') && !doc.includes('"vectors":[]'), 'empty vector lists are left out');
  const r2Wan = configToDocument(config)['authority'] as { routers: { interfaces: { neighborhoods?: Obj[] }[] }[] };
  assert.equal(r2Wan.routers[1]!.interfaces[1]!.neighborhoods, [{ name: 'internet' }], 'no bfd block where none was written');
});

test('compiled tables render the policy and bfd settings in JSON (no functions)', () => {
  const config = parseObject(withSettings({ multiplier: 4 }, undefined, [{ name: 'default', 'vector-order': ['mpls'] }]));
  const json = JSON.parse(JSON.stringify(compileRouter(config, 'r1', 1))) as { services: { policy: Obj }[]; paths: { bfd: Obj }[] };
  assert.equal(json.services[0]!.policy['vectors'], [{ vector: 'mpls', cost: 1 }]);
  assert.not.ok('costOf' in json.services[0]!.policy);
  assert.is(json.paths[0]!.bfd['multiplier'], 4);
});

test.run();
