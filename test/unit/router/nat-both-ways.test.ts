/**
 * Sessions toward a router behind NAT (docs/wan.md "Sessions toward a router behind NAT") in the memory lab:
 * r1's wan is `outbound-only`, so r2 (the hub) opens a session toward r1 on r1's control binding (UDP to
 * r1's learned control port, metadata on every packet); r1 finds it by its id, gives it waypoint ports of its
 * own and sends a reverse probe on them, and r2 follows the session there. A burst of first packets (one
 * batch) makes one session. The memory lab has no NAT in between: the real one is test/e2e/nat.test.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { parseConfig } from '../../../src/model/validate.js';
import { CONTROL_PORT } from '../../../src/dataplane/stages/wan-verify.js';
import { EXAMPLE_CONFIG, until } from '../../support/config.js';

/** The example config plus a service on the client (198.18.1.10, UDP 7) that the server side reaches through r2 and r1. */
function branchConfig() {
  const text = readFileSync(EXAMPLE_CONFIG, 'utf8')
    .replace('  tenants:\n', '  tenants:\n    - name: servers\n      members: [198.18.3.0/24]\n')
    .replace('  services:\n', '  services:\n    - name: branch\n      addresses: [198.18.1.10/32]\n      transport:\n        - protocol: udp\n          ports: [7]\n      access-policy:\n        - source: servers\n')
    .replace('      service-routes:\n        - name: web-via-r2\n', '      service-routes:\n        - name: branch-local\n          service: branch\n          next-hop:\n            interface: lan0\n        - name: web-via-r2\n')
    .replace('      service-routes:\n        - name: web-local\n', '      service-routes:\n        - name: branch-via-r1\n          service: branch\n          peer: r1\n        - name: web-local\n');
  const c = parseConfig(text);
  for (const i of c.authority.routers.find((r) => r.name === 'r1')!.interfaces) for (const n of i.neighborhoods) n.peerConnectivity = 'outbound-only';
  return c;
}

test('r2 opens a session toward r1 behind NAT: its first packets ride r1\'s control binding, r1 opens the session on its own ports, r2 follows; a burst makes one session', async () => {
  const c = branchConfig();
  assert.ok(c.authority.services.some((s) => s.name === 'branch'), 'the branch service is in the config');
  const lab = createMemoryLab({ config: c, clients: ['198.18.1.10'], servers: ['198.18.3.20'], router: { liveness: 'bfd' } });
  try {
    let replies = 0;
    lab.clients[0]!.udpBind(7, (data, from) => lab.clients[0]!.udpSend(7, from.address, from.port, data));
    lab.servers[0]!.udpBind(40000, () => void replies++);
    const burst = (): void => {
      for (let i = 0; i < 5; i++) lab.servers[0]!.udpSend(40000, '198.18.1.10', 7, Uint8Array.of(i, 1, 2, 3));
    };
    // r2 sends toward r1 only once it heard r1's BFD (nowhere to send before) and the path is up
    assert.ok(await until(async () => lab.r2.peers().some((p) => p.paths.some((q) => q.up)), 5000), 'r2 heard r1 and its path is up');
    burst();
    assert.ok(await until(() => replies >= 5, 3000), `the burst echoed (${replies})`);
    const r1 = lab.r1.counters();
    const r2 = lab.r2.counters();
    assert.is(r1['nat-sessions-relayed'], 1, 'one session on r1 for the burst');
    assert.ok((r1['nat-reverse-probes-sent'] ?? 0) >= 1, 'r1 opened it with a reverse probe');
    assert.is(r2['nat-sessions-opened'], 1, 'r2 left the control binding');
    const [s1] = await lab.r1.sessions();
    const [s2] = await lab.r2.sessions();
    assert.is(s1!.role, 'egress');
    assert.is(s2!.role, 'ingress');
    assert.is.not(s2!.waypoint!.srcPort, CONTROL_PORT, 'r2 sends from the port r1 chose for it');
    assert.equal([s2!.waypoint!.srcPort, s2!.waypoint!.dstPort], [s1!.waypoint!.srcPort, s1!.waypoint!.dstPort], 'both ends agree on the session\'s waypoint ports (both show them client side first)');
    // on its own binding now: no metadata, no more relaying
    const meta = r2['metadata-sent'] ?? 0;
    burst();
    assert.ok(await until(() => replies >= 10, 3000), `the second burst echoed (${replies})`);
    assert.is(lab.r2.counters()['metadata-sent'] ?? 0, meta, 'the session\'s next packets carry no metadata');
    assert.is(lab.r1.counters()['nat-sessions-relayed'], 1);
    assert.is((await lab.r1.sessions()).length, 1);
  } finally {
    await lab.close();
  }
});

test.run();
