/**
 * The swap's per-service arrays and its route check in slices (route-follow.ts RouteCheck): sessions along a
 * learned route that a reload withdraws end (no-route) over several turns, a slice at a time, and the
 * configured rankings come from the tables' flat arrays (path-choice.ts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fill } from '../../../bench/config-scale.js';
import { Sink } from '../../../bench/inprocess-config.js';
import { Dataplane } from '../../../src/dataplane/dataplane.js';
import type { DpEvent } from '../../../src/dataplane/events.js';
import { ServicePaths } from '../../../src/dataplane/path-choice.js';
import { compileRouter } from '../../../src/model/compile.js';
import { RES_DUPLICATE, RES_NONE } from '../../../src/model/service-arrays.js';
import { parseConfig } from '../../../src/model/validate.js';

// r1 delivers `learned` (the fill's 198.18.3.0/24) along the RIB out of lan1; `far` goes to r2 over two paths
const CONFIG = parseConfig(`
authority:
  name: check
  secret: 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
  security-policies: [{ name: internal, hmac-mode: regular }]
  service-policies: [{ name: dup, session-resiliency: packet-duplication }]
  tenants: [{ name: t0, members: [198.18.1.0/24] }]
  services:
    - { name: learned, addresses: [198.18.3.0/24], transport: [{ protocol: udp }], access-policy: [{ source: t0 }] }
    - { name: far, addresses: [100.64.0.1/32], service-policy: dup, access-policy: [{ source: t0 }] }
  routers:
    - name: r1
      interfaces:
        - { name: lan0, kind: lan }
        - { name: lan1, kind: lan }
        - { name: wan0, kind: wan, waypoint: 198.18.12.1, neighborhoods: [{ name: n }] }
        - { name: wan1, kind: wan, waypoint: 198.18.13.1, neighborhoods: [{ name: n }] }
      routing: { interface: lan1 }
      service-routes:
        - { name: learned, service: learned, use-learned-routes: true }
        - { name: far, service: far, peer: r2 }
    - name: r2
      interfaces:
        - { name: wan0, kind: wan, waypoint: 198.18.12.2, neighborhoods: [{ name: n }] }
        - { name: wan1, kind: wan, waypoint: 198.18.13.2, neighborhoods: [{ name: n }] }
`, 'check');
const ROUTE = [{ prefix: '198.18.3.0/24', gateway: '198.18.61.1', protocol: 'bgp' as const, distance: 20, metric: 0 }];

test('the tables carry each service ranking, resiliency and route kinds; ServicePaths reads them and its own published rankings', () => {
  const t = compileRouter(CONFIG, 'r1', 1, ROUTE);
  const a = t.serviceArrays;
  const far = t.serviceId('far');
  assert.equal([...a.rankPaths.subarray(a.rankFrom[far]!, a.rankFrom[far + 1]!)], t.peers[0]!.paths, 'far: r2\'s paths in order');
  assert.is(a.rankFrom[t.serviceId('learned') + 1]! - a.rankFrom[t.serviceId('learned')]!, 0, 'learned: no peer path');
  assert.is(a.resiliency[far], RES_DUPLICATE);
  assert.is(a.resiliency[t.serviceId('learned')], RES_NONE);
  const sp = new ServicePaths();
  sp.reset(t);
  const paths = [...t.peers[0]!.paths];
  assert.ok(paths.length >= 2, 'two wan interfaces: several paths to r2');
  assert.equal(sp.list(far), paths);
  assert.is(sp.best(far, Uint8Array.from(t.paths, (p) => (p.id === paths[1] ? 1 : 0))), paths[1]);
  sp.set(far, [paths[1]!], false, RES_NONE);
  assert.equal(sp.list(far), [paths[1]], 'a published ranking');
  assert.not.ok(sp.accepts(far, paths[0]!));
  assert.is(a.resiliency[far], RES_DUPLICATE, 'the tables\' array is not written');
  sp.reset(t);
  assert.equal(sp.list(far), paths, 'reset: the configured ranking again');
  assert.is(sp.count(99), 0);
});

test('a withdrawn learned route ends its sessions in slices of the route check, batches in between', async () => {
  const events: DpEvent[] = [];
  const routed = compileRouter(CONFIG, 'r1', 1, ROUTE);
  const dp = new Dataplane({ tables: routed, ports: routed.interfaces.map(() => new Sink()), onEvents: (e) => events.push(...e), routeCheckRows: 100 });
  fill(dp, 1000, 64);
  assert.is(dp.sessions.active, 1000, 'sessions along the learned route');
  dp.setTables(compileRouter(CONFIG, 'r1', 2, ROUTE));
  let turns = 0;
  while (dp.routeCheckPending > 0) {
    await new Promise((r) => setImmediate(r));
    turns++;
  }
  assert.is(dp.sessions.active, 1000, 'the route stays: every session stays');
  assert.ok(turns >= 9, `the check took ${turns} more turns`);
  dp.setTables(compileRouter(CONFIG, 'r1', 3, []));
  assert.is(dp.sessions.active, 900, 'the first slice ran in the swap');
  assert.ok(dp.routeCheckPending > 0);
  while (dp.routeCheckPending > 0) await new Promise((r) => setImmediate(r));
  assert.is(dp.sessions.active, 0, 'no route: every session ended');
  const removed = events.filter((e) => e.kind === 'session.removed');
  assert.is(removed.length, 1000);
  assert.ok(removed.every((e) => e.kind === 'session.removed' && e.reason === 'no-route'));
  assert.is(dp.counters.snapshot()['sessions-no-route'], 1000);
});

test.run();
