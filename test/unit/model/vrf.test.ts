/** Per-tenant VRFs (routing.vrfs): config checks with their paths, one RIB per VRF, learned routes by FPM table. */
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { Rib, learnedKey, type LearnedRoute } from '../../../src/model/rib.js';
import { NO_INTERFACE, NO_TENANT } from '../../../src/model/tables.js';
import { compileRouter, routerConfig } from '../../../src/model/compile.js';
import { LearnedRoutes } from '../../../src/routing/learned-routes.js';
import { ribView, fibView } from '../../../src/routing/views.js';
import { configToDocument } from '../../../src/model/serialize.js';
import { RTN_UNICAST, type RouteMessage } from '../../../src/routing/netlink.js';
import { parseConfig } from '../../../src/model/validate.js';
import { baseAuthority, hasProblem, packet, parseObject, problemsOfObject } from './helpers.js';

type Obj = Record<string, unknown>;

/** Tenants red (10.1.0.0/17) and blue (10.1.128.0/17, and its child ops.blue); r2 routes blue in VRF blue (table 100). */
function vrfAuthority(vrfs: unknown[] = [{ name: 'blue', table: 100, tenants: ['blue'], routes: [{ prefix: '10.9.5.0/24', interface: 'lan0' }] }]): Obj {
  const a = baseAuthority({
    tenants: [{ name: 'red', members: ['10.1.0.0/17'] }, { name: 'blue', members: ['10.1.128.0/18'] }, { name: 'ops.blue', members: ['10.1.192.0/18'] }],
    services: [{ name: 'web', addresses: ['10.9.0.0/16'], transport: [{ protocol: 'tcp', ports: [80] }], 'access-policy': [{ source: 'red' }, { source: 'blue' }] }],
  });
  const routers = a['routers'] as Obj[];
  routers[0] = { ...routers[0], routes: [{ prefix: '10.1.0.0/16', interface: 'lan0' }] };
  routers[1] = {
    ...routers[1],
    interfaces: [{ name: 'lan0', kind: 'lan' }, { name: 'lan1', kind: 'lan' }, { name: 'wan0', kind: 'wan', waypoint: '192.0.2.2', neighborhoods: [{ name: 'internet' }] }],
    'service-routes': [{ name: 'web-in', service: 'web', 'use-learned-routes': true }],
    routing: { interface: 'lan1', vrfs },
  };
  return a;
}

const bgp = (prefix: string, gateway: string, table?: number): LearnedRoute => ({ prefix, gateway, protocol: 'bgp', distance: 20, metric: 0, ...(table !== undefined ? { table } : {}) });

test('config: bad VRFs are refused with the path of the bad field', () => {
  const problems = problemsOfObject(vrfAuthority([
    { name: 'blue', table: 100, tenants: ['blue', 'green'] },
    { name: 'blue', table: 100, tenants: ['blue'] },
    { name: 'main', table: 254, tenants: [] },
    { name: 'default', table: 7, tenants: [], routes: [{ prefix: '10.9.0.0/16', interface: 'wan0' }] },
    { name: 'nothing', tenants: [] },
  ]));
  const at = 'authority.routers[1].routing.vrfs';
  hasProblem(problems, `${at}[0].tenants[1]`, 'green');
  hasProblem(problems, `${at}[1].name`, 'duplicate VRF blue');
  hasProblem(problems, `${at}[1].table`, 'table 100 is already the table of vrfs[0]');
  hasProblem(problems, `${at}[1].tenants[0]`, 'tenant blue is already in VRF blue');
  hasProblem(problems, `${at}[2].table`, 'table 254 is reserved');
  hasProblem(problems, `${at}[3].name`, '"default" is the VRF of tenants in no VRF');
  hasProblem(problems, `${at}[3].routes[0].interface`, 'expected a lan interface');
  hasProblem(problems, `${at}[4].table`, 'routing table id');
});

test('config: a valid VRF round-trips through serialize', () => {
  const config = parseObject(vrfAuthority());
  const vrfs = routerConfig(config, 'r2').routing!.vrfs;
  assert.equal(vrfs, [{ name: 'blue', table: 100, tenants: ['blue'], routes: [{ prefix: '10.9.5.0/24', interface: 'lan0', distance: 1 }] }]);
  const again = parseConfig(JSON.stringify(configToDocument(config)), 'again.json');
  assert.equal(routerConfig(again, 'r2').routing!.vrfs, vrfs);
});

test('the same prefix in two VRFs with different next hops: each tenant routes in its own; a withdrawal in one leaves the other', () => {
  const config = parseObject(vrfAuthority());
  // 10.9.5.0/24: default VRF learned (main table) via lan1; VRF blue: its static route via lan0.
  // 10.9.6.0/24: learned in both (main and table 100), different gateways
  const rib = new Rib(routerConfig(config, 'r2'), [bgp('10.9.5.0/24', '198.18.41.1'), bgp('10.9.6.0/24', '198.18.41.1'), bgp('10.9.6.0/24', '198.18.42.1', 100)]);
  const tables = () => compileRouter(config, 'r2', 1, rib);
  let t = tables();
  const lan0 = t.interfaceIndex('lan0');
  const lan1 = t.interfaceIndex('lan1');
  const red = t.tenantId('red');
  const blue = t.tenantId('blue');
  const opsBlue = t.tenantId('ops.blue');
  const at = (tenant: number, dst: string): number => {
    const p = packet('10.1.0.5', dst);
    return t.routeLocal(tenant, p.buf, p.dstOff, p.family);
  };
  assert.is(at(red, '10.9.5.7'), lan1, 'red: the default VRF, the learned route');
  assert.is(at(blue, '10.9.5.7'), lan0, 'blue: its VRF\'s static route');
  assert.is(at(opsBlue, '10.9.5.7'), lan0, 'ops.blue: in no VRF itself, routes in its parent\'s');
  assert.is(at(NO_TENANT, '10.9.5.7'), lan1, 'no tenant: the default VRF');
  assert.is(at(red, '10.9.6.7'), lan1);
  assert.is(at(blue, '10.9.6.7'), lan1);
  assert.is(t.vrfName(blue), 'blue');
  assert.is(t.vrfName(red), 'default');
  const gateways = (vrf: string) => t.rib.filter((r) => r.vrf === vrf && r.prefix === '10.9.6.0/24').map((r) => r.gateway);
  assert.equal(gateways('default'), ['198.18.41.1']);
  assert.equal(gateways('blue'), ['198.18.42.1']);

  // withdrawn in the default VRF only (main table): red has no route, blue keeps its own
  assert.is(rib.update([], [learnedKey('10.9.6.0/24', undefined)]), 1);
  t = tables();
  assert.is(at(red, '10.9.6.7'), NO_INTERFACE, 'red: withdrawn');
  assert.is(at(blue, '10.9.6.7'), lan1, 'blue: still its table 100 route');
  // withdrawn in blue (table 100): blue has none either; red's 10.9.5 route untouched
  assert.is(rib.update([], [learnedKey('10.9.6.0/24', 100)]), 1);
  t = tables();
  assert.is(at(blue, '10.9.6.7'), NO_INTERFACE);
  assert.is(at(red, '10.9.5.7'), lan1);
  // a route of a table no VRF has is not learned
  assert.is(rib.update([bgp('10.9.7.0/24', '198.18.43.1', 200)], []), 0);

  // the views: --vrf narrows them; an unknown VRF is refused naming the known ones
  const blueRib = ribView(t, 'blue');
  assert.equal(blueRib.vrfs, ['default', 'blue']);
  assert.equal(blueRib.routes.map((r) => `${r.vrf} ${r.prefix} ${r.protocol}`), ['blue 10.9.5.0/24 static']);
  const fib = fibView(t, config, () => true);
  assert.equal(fib.entries.map((e) => `${e.vrf} ${e.nextHops.join(';')}`), [
    'default web-in: 10.9.5.0/24 via 198.18.41.1 lan1 (bgp)',
    'blue web-in: 10.9.5.0/24 lan0 (static)',
  ]);
  assert.throws(() => ribView(t, 'green'), (e: Error) => e.message.includes('VRFs: default, blue'));
});

test('FPM: the VRFs\' tables are learned (a route keyed by prefix and table), other tables skipped', () => {
  const learned = new LearnedRoutes(10, new Set([100]));
  const msg = (table: number, op: 'add' | 'del' = 'add'): RouteMessage => ({ op, family: 4, prefix: '10.9.6.0/24', table, protocol: 'bgp', type: RTN_UNICAST, metric: 0, nextHops: [{ gateway: `198.18.${table % 250}.1`, ifindex: 2 }] });
  learned.apply([msg(254), msg(100), msg(7)]);
  assert.is(learned.size, 2);
  assert.is(learned.counters.skipped, 1, 'table 7: no VRF');
  const first = learned.takeChanges();
  assert.equal(first.set.map((r) => [r.prefix, r.table]), [['10.9.6.0/24', undefined], ['10.9.6.0/24', 100]]);
  learned.apply([msg(100, 'del')]);
  assert.equal(learned.takeChanges(), { set: [], removed: ['10.9.6.0/24%100'] });
});

test.run();
