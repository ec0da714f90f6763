/** The `redundancy` block of a router (a router pair): defaults, every bad field by path, redaction, round trip. */
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { redactSecrets, resolveConfig, validateConfig } from '../../../src/model/validate.js';
import { configToDocument } from '../../../src/model/serialize.js';
import { compileRouter } from '../../../src/model/compile.js';
import { baseAuthority, hasProblem, parseObject, problemsOfObject } from './helpers.js';

type Obj = Record<string, any>; // test fixtures are edited freely

const KEY = Buffer.alloc(32, 7).toString('base64');
const withRedundancy = (redundancy: unknown): Obj => {
  const a = baseAuthority() as Obj;
  a['routers'][0]['redundancy'] = redundancy;
  return a;
};
const pair = (over: Obj = {}): Obj => ({
  nodes: [{ name: 'r1a', priority: 200, 'sync-address': '198.18.250.1' }, { name: 'r1b', 'sync-address': '198.18.250.2' }],
  'shared-key': KEY,
  ...over,
});
const at = 'authority.routers[0].redundancy';

test('no redundancy block: one node; a pair gets every default', () => {
  assert.is(parseObject(baseAuthority()).authority.routers[0]!.redundancy, undefined);
  assert.equal(parseObject(withRedundancy(pair())).authority.routers[0]!.redundancy, {
    nodes: [{ name: 'r1a', priority: 200, syncAddress: '198.18.250.1' }, { name: 'r1b', priority: 100, syncAddress: '198.18.250.2' }],
    preempt: false, heartbeatInterval: 100, heartbeatMisses: 3, syncPort: 4797, sharedKey: KEY, sharedAddresses: [],
  });
});

test('every bad field is reported with its path', () => {
  const problems = problemsOfObject(withRedundancy({
    nodes: [{ name: 'r1a', priority: 300, 'sync-address': 'here' }, { name: 'r1a', 'sync-address': '198.18.250.2', colour: 'red' }],
    preempt: 'yes', 'heartbeat-interval': 5, 'heartbeat-misses': 1, 'sync-port': 0, 'shared-key': 'short',
  }));
  hasProblem(problems, `${at}.nodes[0].priority`, '0-255');
  hasProblem(problems, `${at}.nodes[0].sync-address`, 'IPv4 or IPv6 address');
  hasProblem(problems, `${at}.nodes[1].colour`, 'unknown field');
  hasProblem(problems, `${at}.nodes[1].name`, 'already nodes[0]');
  hasProblem(problems, `${at}.preempt`, 'true or false');
  hasProblem(problems, `${at}.heartbeat-interval`, '10-10000');
  hasProblem(problems, `${at}.heartbeat-misses`, '2-100');
  hasProblem(problems, `${at}.sync-port`, '1-65535');
  hasProblem(problems, `${at}.shared-key`, 'base64 of 32 bytes');
  hasProblem(problemsOfObject(withRedundancy(pair({ nodes: [{ name: 'r1a', 'sync-address': '198.18.250.1' }] }))), `${at}.nodes`, 'exactly two nodes');
  hasProblem(problemsOfObject(withRedundancy(pair({ nodes: [{ name: 'a', 'sync-address': '198.18.250.1' }, { name: 'b', 'sync-address': '198.18.250.1' }] }))), `${at}.nodes[1].sync-address`, 'already nodes[0]');
  hasProblem(problemsOfObject(withRedundancy(pair({ nodes: [{ name: 'a', 'sync-address': '198.18.250.1' }, { name: 'b', 'sync-address': 'fd00::2' }] }))), `${at}.nodes[1].sync-address`, 'same address family');
  hasProblem(problemsOfObject(withRedundancy({ nodes: pair()['nodes'] })), `${at}.shared-key`, 'required');
  hasProblem(problemsOfObject(withRedundancy(pair({ nodes: [{ name: 'a', 'sync-address': '198.18.250.1', 'probe-address': '198.18.251.1' }, { name: 'b', 'sync-address': '198.18.250.2' }] }))), `${at}.nodes[1].probe-address`, 'on both nodes, or on neither');
  hasProblem(problemsOfObject(withRedundancy(pair({ nodes: [{ name: 'a', 'sync-address': '198.18.250.1', 'probe-address': '198.18.251.1' }, { name: 'b', 'sync-address': '198.18.250.2', 'probe-address': '198.18.251.1' }] }))), `${at}.nodes[1].probe-address`, 'already nodes[0]');
  hasProblem(problemsOfObject(withRedundancy(pair({ nodes: [{ name: 'a', 'sync-address': '198.18.250.1', 'probe-address': 'lan' }, { name: 'b', 'sync-address': '198.18.250.2', 'probe-address': '198.18.251.2' }] }))), `${at}.nodes[0].probe-address`, 'IPv4 or IPv6');
});

test('shared addresses: read and written back; a bad device, an address without its prefix length, a repeated address are reported', () => {
  const shared = [{ device: 'r1-c', address: '198.18.1.1/24' }, { device: 'r1-r2', address: '2001:db8::1/64' }];
  const config = parseObject(withRedundancy(pair({ 'shared-addresses': shared })));
  assert.equal(config.authority.routers[0]!.redundancy!.sharedAddresses, shared);
  assert.equal(validateConfig(config), []);
  assert.equal(resolveConfig(config), config);
  const problems = problemsOfObject(withRedundancy(pair({ 'shared-addresses': [{ device: 'a-name-far-too-long', address: '198.18.1.1/24' }, { device: 'r1-c', address: '198.18.1.1' }, { device: 'r1-r2', address: '198.18.1.1/16' }, { device: 'x', address: '198.18.2.1/24', mac: 1 }] })));
  hasProblem(problems, `${at}.shared-addresses[0].device`, 'at most 15 characters');
  hasProblem(problems, `${at}.shared-addresses[1].address`, 'with its prefix length');
  hasProblem(problems, `${at}.shared-addresses[2].address`, 'already shared-addresses[0]');
  hasProblem(problems, `${at}.shared-addresses[3].mac`, 'unknown field');
});

test('probe addresses are read and written back', () => {
  const config = parseObject(withRedundancy(pair({ nodes: [{ name: 'a', 'sync-address': '198.18.250.1', 'probe-address': '198.18.251.1' }, { name: 'b', 'sync-address': '198.18.250.2', 'probe-address': '198.18.251.2' }] })));
  assert.equal(config.authority.routers[0]!.redundancy!.nodes.map((n) => n.probeAddress), ['198.18.251.1', '198.18.251.2']);
  assert.equal(validateConfig(config), []);
  assert.equal(resolveConfig(config), config);
});

test('the shared key is redacted for display; the block survives validateConfig (round trip through the file form)', () => {
  const config = parseObject(withRedundancy(pair({ preempt: true, 'heartbeat-interval': 50 })));
  assert.equal(validateConfig(config), []);
  assert.equal(resolveConfig(config), config);
  const doc = configToDocument(redactSecrets(config)) as Obj;
  assert.is(doc['authority']['routers'][0]['redundancy']['shared-key'], '<redacted>');
  assert.is(doc['authority']['routers'][0]['redundancy']['heartbeat-interval'], 50);
  assert.not.ok(JSON.stringify(doc).includes(KEY));
  assert.is(config.authority.routers[0]!.redundancy!.sharedKey, KEY, 'the config itself keeps its key');
});

/** r1 a pair whose nodes each have their own wan interface (docs/high-availability.md "Per-node WAN interfaces"). */
const perNodePair = (): Obj => {
  const a = withRedundancy(pair());
  a['routers'][0]['interfaces'] = [
    { name: 'lan0', kind: 'lan' },
    { name: 'wan0', kind: 'wan', waypoint: '192.0.2.1', neighborhoods: [{ name: 'internet' }], node: 'r1a' },
    { name: 'wan1', kind: 'wan', waypoint: '192.0.2.3', neighborhoods: [{ name: 'internet' }], node: 'r1b' },
  ];
  return a;
};

test('per-node wan interfaces: read and written back; r2 has one peer r1 with a path to each node, each marked with its node', () => {
  const config = parseObject(perNodePair());
  assert.equal(config.authority.routers[0]!.interfaces.map((i) => i.node), [undefined, 'r1a', 'r1b']);
  assert.equal(validateConfig(config), []);
  assert.equal(resolveConfig(config), config);
  const t = compileRouter(config, 'r2', 1);
  assert.equal(t.peers.map((p) => p.name), ['r1'], 'one peer');
  assert.equal(t.peers[0]!.paths.map((p) => [t.paths[p]!.name, t.paths[p]!.remoteNode]), [['wan0->r1/wan0', 'r1a'], ['wan0->r1/wan1', 'r1b']]);
  assert.equal(compileRouter(config, 'r1', 1).paths.map((p) => [p.name, p.remoteNode]), [['wan0->r2/wan0', undefined], ['wan1->r2/wan0', undefined]], 'r1 keeps both paths (the same indexes on both nodes)');
});

test('per-node interfaces: a node not in the pair, a router without redundancy, a lan interface are refused with the field path', () => {
  const stranger = perNodePair();
  stranger['routers'][0]['interfaces'][2]['node'] = 'r1c';
  hasProblem(problemsOfObject(stranger), 'authority.routers[0].interfaces[2].node', 'not a node of this router (redundancy.nodes: r1a, r1b)');
  const single = baseAuthority() as Obj;
  single['routers'][1]['interfaces'][1]['node'] = 'r2a';
  hasProblem(problemsOfObject(single), 'authority.routers[1].interfaces[1].node', 'no `redundancy` block');
  const lan = perNodePair();
  lan['routers'][0]['interfaces'][0]['node'] = 'r1a';
  hasProblem(problemsOfObject(lan), 'authority.routers[0].interfaces[0].node', 'only wan interfaces are per node');
  const bad = perNodePair();
  bad['routers'][0]['interfaces'][1]['node'] = 'not a name';
  hasProblem(problemsOfObject(bad), 'authority.routers[0].interfaces[1].node', 'pair');
});

test.run();
