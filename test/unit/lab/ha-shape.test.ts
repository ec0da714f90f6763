/** `svr lab up --ha [--ha-wan per-node]`: the options checked, and the config the pair lab writes (docs/lab.md "A router pair"). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { labConfigYaml } from '../../../src/lab/config.js';
import { checkShape } from '../../../src/lab/shape.js';
import { compileRouter } from '../../../src/model/compile.js';
import { parseConfig } from '../../../src/model/validate.js';

test('--ha-wan per-node: two paths, one per node; refused without --ha, with another --paths, or an unknown mode', () => {
  const s = checkShape({ ha: true, haWan: 'per-node', paths: '1' });
  assert.equal([s.ha, s.haWan, s.paths], [true, 'per-node', 2]);
  assert.is(checkShape({ ha: true, haWan: 'shared' }).haWan, undefined, 'shared is the default');
  assert.is(checkShape({ ha: true }).paths, 1);
  assert.throws(() => checkShape({ haWan: 'per-node' }), /--ha-wan per-node: only with --ha/);
  assert.throws(() => checkShape({ ha: true, haWan: 'per-node', paths: '3' }), /--ha with --paths 3/);
  assert.throws(() => checkShape({ ha: true, haWan: 'both' }), /--ha-wan "both": expected one of shared, per-node/);
});

test('the per-node pair\'s config: r1a owns wan0, r1b wan1, only the LAN address is shared; r2 has one peer r1 with a path to each node', () => {
  const config = parseConfig(labConfigYaml(checkShape({ ha: true, haWan: 'per-node' })), 'lab.yaml');
  const r1 = config.authority.routers.find((r) => r.name === 'r1')!;
  assert.equal(r1.interfaces.map((i) => [i.name, i.node]), [['lan0', undefined], ['wan0', 'r1a'], ['wan1', 'r1b']]);
  assert.equal(r1.redundancy!.sharedAddresses, [{ device: 'r1-c', address: '198.18.1.1/24' }]);
  const r2 = compileRouter(config, 'r2', 1);
  assert.equal(r2.peers.map((p) => p.name), ['r1']);
  assert.equal(r2.peers[0]!.paths.map((p) => [r2.paths[p]!.name, r2.paths[p]!.remoteNode]), [['wan0->r1/wan0', 'r1a'], ['wan1->r1/wan1', 'r1b']]);
  const shared = parseConfig(labConfigYaml(checkShape({ ha: true })), 'lab.yaml').authority.routers.find((r) => r.name === 'r1')!;
  assert.equal(shared.interfaces.map((i) => i.node), [undefined, undefined], 'shared mode: no per-node interface');
  assert.is(shared.redundancy!.sharedAddresses.length, 2, 'shared mode: the LAN and the WAN address');
});

test.run();
