/**
 * The N-router lab as data (no root needed): the options, the plan (namespaces, addresses, waypoints),
 * and the generated config, which is valid and whose neighborhoods give exactly the topology's peers
 * (the model's own peer links, as every node and the conductor compute them).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isSvrError } from '../../../src/errors.js';
import { fabricConfigYaml } from '../../../src/lab/fabric-config.js';
import { fabricNamespaces, fabricPeers, fabricPlan, FABRIC_TOPOLOGIES } from '../../../src/lab/fabric.js';
import { checkShape, DEFAULT_SHAPE } from '../../../src/lab/shape.js';
import { parseConfig } from '../../../src/model/validate.js';
import { peerLinks } from '../../../src/model/topology.js';

const peersOf = (yaml: string) => {
  const c = parseConfig(yaml, 'fabric.yaml');
  return Object.fromEntries(c.authority.routers.map((r) => [r.name, peerLinks(c.authority, r).map((l) => l.peer.name)]));
};

test('options: --routers/--topology make the N-router lab; bad values and conflicting options are refused by name', () => {
  assert.equal(checkShape({ routers: '4', topology: 'hub-spoke' }).fabric, { routers: 4, topology: 'hub-spoke' });
  assert.equal(checkShape({ topology: 'chain' }).fabric, { routers: 3, topology: 'chain' });
  assert.equal(checkShape({ routers: 5 }).fabric, { routers: 5, topology: 'mesh' });
  assert.is(checkShape({}).fabric, undefined, 'the two-router lab by default');
  assert.equal(checkShape({ conductor: true, etcd: '3' }).etcd, 3);
  const refused = (i: Parameters<typeof checkShape>[0], text: string) => {
    try {
      checkShape(i);
      assert.unreachable(`refused: ${JSON.stringify(i)}`);
    } catch (e) {
      assert.ok(isSvrError(e, 'SVR_ERR_LAB_OPTION'), String(e));
      assert.match((e as Error).message, text);
    }
  };
  refused({ routers: '9' }, '--routers "9": expected a whole number 2-8');
  refused({ routers: '1' }, '--routers "1"');
  refused({ routers: '3', topology: 'ring' }, '--topology "ring": expected one of hub-spoke, mesh, chain');
  refused({ routers: '3', paths: '2' }, '--paths 2 with --routers/--topology');
  refused({ routers: '3', profile: 'plugins' }, '--profile plugins with --routers/--topology');
  refused({ etcd: '3' }, '--etcd needs --conductor');
  refused({ conductor: true, etcd: '2' }, 'an odd number of members');
});

test('the plan: namespaces, hosts, waypoints; down knows every namespace any size may have', () => {
  const p = fabricPlan('t', 3, 'chain');
  assert.equal(p.routers.map((r) => [r.name, r.namespace, r.hostNamespace, r.host, r.waypoint]), [
    ['r1', 't-r1', 't-h1', '198.18.101.10', '198.19.101.1'],
    ['r2', 't-r2', 't-h2', '198.18.102.10', '198.19.102.1'],
    ['r3', 't-r3', 't-h3', '198.18.103.10', '198.19.103.1'],
  ]);
  assert.is(p.wanNamespace, 't-wan');
  const all = fabricNamespaces('t');
  for (const ns of [...p.routers.flatMap((r) => [r.namespace, r.hostNamespace]), 't-r8', 't-h8', 't-wan']) assert.ok(all.includes(ns), ns);
});

test('the config of every topology is valid and its neighborhoods give exactly the topology\'s peers', () => {
  const expected: Record<string, Record<string, string[]>> = {
    'hub-spoke': { r1: ['r2', 'r3', 'r4'], r2: ['r1'], r3: ['r1'], r4: ['r1'] },
    mesh: { r1: ['r2', 'r3', 'r4'], r2: ['r1', 'r3', 'r4'], r3: ['r1', 'r2', 'r4'], r4: ['r1', 'r2', 'r3'] },
    chain: { r1: ['r2'], r2: ['r1', 'r3'], r3: ['r2', 'r4'], r4: ['r3'] },
  };
  for (const t of FABRIC_TOPOLOGIES) {
    const plan = fabricPlan('t', 4, t);
    assert.equal(peersOf(fabricConfigYaml(plan, DEFAULT_SHAPE)), expected[t], t);
    assert.equal(fabricPeers(plan).map(([a, b]) => `${a}-${b}`), Object.entries(expected[t]!).flatMap(([a, ps]) => ps.filter((b) => a < b).map((b) => `${a}-${b}`)), `${t}: the progress line's peers`);
  }
  const eight = fabricConfigYaml(fabricPlan('t', 8, 'hub-spoke'), DEFAULT_SHAPE);
  assert.is(parseConfig(eight, 'eight.yaml').authority.routers.length, 8);
});

test('STEP: through the conductor when the lab has one, flooded otherwise', () => {
  const plan = fabricPlan('t', 3, 'chain');
  assert.equal(parseConfig(fabricConfigYaml(plan, { ...DEFAULT_SHAPE, conductor: true }), 'c.yaml').authority.step, { mode: 'conductor' });
  assert.is(parseConfig(fabricConfigYaml(plan, DEFAULT_SHAPE), 'f.yaml').authority.step, undefined);
});

test.run();
