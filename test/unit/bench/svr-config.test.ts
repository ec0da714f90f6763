/**
 * The benchmark's node config routes the LAN into the node as the tunnel modes route it into theirs: the other
 * side's LAN in the main table (no `ip rule` needed); only "r1 alone" keeps a default route in table 100 for its
 * rules (bench/svr-config.ts, docs/performance.md "Method").
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseConfig } from '../../../src/model/validate.js';
import { LAN_TABLE, svrConfigYaml } from '../../../bench/svr-config.js';
import { CLIENT_NET, SERVER_NET } from '../../../bench/topology.js';

function lanRoutes(yaml: string, router: 'r1' | 'r2'): { prefix: string; table?: number }[] {
  const r = parseConfig(yaml, 'bench').authority.routers.find((x) => x.name === router)!;
  return r.interfaces.find((i) => i.name === 'lan0')!.kernelRoutes.map((k) => ({ prefix: k.prefix, ...(k.table !== undefined ? { table: k.table } : {}) }));
}

test('the headline config: each router routes the other side\'s LAN into lan0 in the main table', () => {
  for (const encrypt of [false, true]) {
    const yaml = svrConfigYaml({ encrypt });
    assert.equal(lanRoutes(yaml, 'r1'), [{ prefix: SERVER_NET }]);
    assert.equal(lanRoutes(yaml, 'r2'), [{ prefix: CLIENT_NET }]);
  }
});

test('r1 alone: a default route in table 100, which its rules steer r1\'s LAN and r2\'s replies into', () => {
  const yaml = svrConfigYaml({ encrypt: false, r1Local: true });
  assert.equal(lanRoutes(yaml, 'r1'), [{ prefix: 'default', table: LAN_TABLE }]);
  assert.equal(lanRoutes(yaml, 'r2'), [{ prefix: CLIENT_NET }]);
});

test.run();
