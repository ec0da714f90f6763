/** The RIB: static and learned routes with distances, the selected route per prefix, use-learned-routes in route choice. */
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { compileRouter } from '../../../src/model/compile.js';
import { Rib, type LearnedRoute } from '../../../src/model/rib.js';
import { ROUTE_BLACKHOLE } from '../../../src/model/tables.js';
import { prng } from '../../support/prng.js';
import { NO_INTERFACE } from '../../../src/model/tables.js';
import { ROUTE_LOCAL, ROUTE_NONE, chooseRoute, routeChoice, usesRib } from '../../../src/dataplane/admission.js';
import { ServicePaths } from '../../../src/dataplane/path-choice.js';
import { baseAuthority, packet, parseObject, problemsOfObject } from './helpers.js';

type Obj = Record<string, unknown>;

/** r2 with two lan interfaces, a static route, a routing instance on lan1 and a use-learned-routes service-route. */
function routingAuthority(r2: Obj = {}): Obj {
  const a = baseAuthority();
  const routers = a['routers'] as Obj[];
  routers[1] = {
    ...routers[1],
    interfaces: [{ name: 'lan0', kind: 'lan' }, { name: 'lan1', kind: 'lan' }, { name: 'wan0', kind: 'wan', waypoint: '192.0.2.2', neighborhoods: [{ name: 'internet' }] }],
    routes: [{ prefix: '10.9.1.0/24', interface: 'lan0', distance: 30 }, { prefix: '10.9.2.0/24', interface: 'lan0' }],
    'service-routes': [{ name: 'web-in', service: 'web', 'use-learned-routes': true }],
    routing: { interface: 'lan1', bgp: { as: 65002, 'router-id': '198.18.41.2', neighbors: [{ address: '198.18.41.1', 'remote-as': 65100, bfd: true }] } },
    ...r2,
  };
  return a;
}

const bgp = (prefix: string, gateway = '198.18.41.1'): LearnedRoute => ({ prefix, gateway, protocol: 'bgp', distance: 20, metric: 0 });

test('the RIB selects the lowest distance per prefix: eBGP (20) beats static 30, static 1 beats eBGP', () => {
  const config = parseObject(routingAuthority());
  const t = compileRouter(config, 'r2', 1, [bgp('10.9.1.0/24'), bgp('10.9.2.0/24'), bgp('10.9.3.0/24')]);
  const rows = t.rib.map((r) => `${r.selected ? '>' : ' '} ${r.prefix} ${r.protocol}/${r.distance} ${r.interface}${r.gateway ? ` via ${r.gateway}` : ''}`);
  assert.equal(rows, [
    '  10.9.1.0/24 static/30 lan0',
    '> 10.9.2.0/24 static/1 lan0',
    '> 10.9.1.0/24 bgp/20 lan1 via 198.18.41.1',
    '  10.9.2.0/24 bgp/20 lan1 via 198.18.41.1',
    '> 10.9.3.0/24 bgp/20 lan1 via 198.18.41.1',
  ]);
  const lan0 = t.interfaceIndex('lan0');
  const lan1 = t.interfaceIndex('lan1');
  const at = (dst: string): number => {
    const p = packet('10.1.0.5', dst);
    return t.routeLocal(p.buf, p.dstOff, p.family);
  };
  assert.is(at('10.9.1.7'), lan1);
  assert.is(at('10.9.2.7'), lan0);
  assert.is(at('10.9.3.7'), lan1);
  assert.is(at('10.9.4.7'), NO_INTERFACE);
});

test('use-learned-routes: a destination with a RIB route is delivered locally, one without is no-route', () => {
  const config = parseObject(routingAuthority());
  const paths = new ServicePaths();
  const choose = (learned: LearnedRoute[], dst: string): number => {
    const t = compileRouter(config, 'r2', 1, learned);
    paths.reset(t);
    const svc = t.services[t.serviceId('web')]!;
    assert.ok(usesRib(svc));
    const p = packet('10.1.0.5', dst);
    const ribIf = t.routeLocal(p.buf, p.dstOff, p.family);
    return chooseRoute(svc, svc.id, paths, new Uint8Array(t.paths.length), routeChoice(), ribIf).kind;
  };
  assert.is(choose([bgp('10.9.3.0/24')], '10.9.3.20'), ROUTE_LOCAL);
  // the neighbour withdrew it: nothing else holds the destination
  assert.is(choose([], '10.9.3.20'), ROUTE_NONE);
});

test('blackhole routes (static, or learned from zebra) shadow what a shorter prefix would route: no interface', () => {
  const config = parseObject(routingAuthority({ routes: [{ prefix: '10.9.3.128/25', blackhole: true }] }));
  const t = compileRouter(config, 'r2', 1, [bgp('10.9.0.0/16'), { prefix: '10.9.4.0/24', protocol: 'static', distance: 1, metric: 0, blackhole: true }]);
  assert.equal(t.rib.filter((r) => r.interface === 'blackhole').map((r) => `${r.prefix} ${r.protocol}`), ['10.9.3.128/25 static', '10.9.4.0/24 static']);
  const at = (dst: string): number => {
    const p = packet('10.1.0.5', dst);
    return t.routeLocal(p.buf, p.dstOff, p.family);
  };
  assert.is(at('10.9.3.7'), t.interfaceIndex('lan1'));
  assert.is(at('10.9.3.200'), NO_INTERFACE);
  assert.is(at('10.9.4.1'), NO_INTERFACE);
});

test('learned routes need a routing instance: without `routing` they are not in the RIB', () => {
  const config = parseObject(routingAuthority({ routing: undefined }));
  const t = compileRouter(config, 'r2', 1, [bgp('10.9.3.0/24')]);
  assert.equal(t.rib.map((r) => r.protocol), ['static', 'static']);
});

test('routing config: bad fields are refused with their path', () => {
  const problems = problemsOfObject(routingAuthority({
    routes: [{ prefix: '10.9.1.0/24', interface: 'lan0', distance: 0 }, { prefix: '10.9.5.0/24', interface: 'lan0', blackhole: true }],
    'service-routes': [{ name: 'web-in', service: 'web', 'use-learned-routes': true, peer: 'r1' }],
    routing: { interface: 'wan0', bgp: { as: 65002, 'router-id': 'fe80::1', neighbors: [{ address: '198.18.41.1', 'remote-as': 65100, hold: 2 }, { address: '198.18.41.1', 'remote-as': 65100, keepalive: 10, hold: 9, 'accept-prefixes': ['2001:db8::/32'] }] } },
  }));
  const paths = problems.map((p) => p.path);
  for (const want of [
    'authority.routers[1].routes[0].distance',
    'authority.routers[1].routes[1].interface',
    'authority.routers[1].service-routes[0].use-learned-routes',
    'authority.routers[1].routing.interface',
    'authority.routers[1].routing.bgp.router-id',
    'authority.routers[1].routing.bgp.neighbors[0].hold',
    'authority.routers[1].routing.bgp.neighbors[1].keepalive',
    'authority.routers[1].routing.bgp.neighbors[1].address',
    'authority.routers[1].routing.bgp.neighbors[1].accept-prefixes[0]',
  ]) assert.ok(paths.includes(want), `${want} in ${paths.join(', ')}`);
});

test('a RIB change updates the RIB route by route: the same routes and lookups as a RIB built afresh, after every step', () => {
  const router = parseObject(routingAuthority()).authority.routers[1]!;
  const rand = prng(14);
  const pool = [...Array.from({ length: 40 }, (_, i) => `10.9.${i % 8}.${(i >> 3) * 32}/27`), '10.9.1.0/24', '10.9.2.0/24', '10.9.0.0/16', '10.0.0.0/8', '10.9.5.7/32'];
  const pick = (): LearnedRoute[] => pool.filter(() => rand() < 0.5).map((prefix) => (rand() < 0.15
    ? { prefix, protocol: 'static', distance: 1, metric: 0, blackhole: true }
    : { ...bgp(prefix, rand() < 0.5 ? '198.18.41.1' : '198.18.41.9'), distance: rand() < 0.2 ? 40 : 20 })); // 40: loses to static 30
  const rib = new Rib(router, pick());
  const probes = Array.from({ length: 256 }, (_, i) => packet('10.1.0.5', `10.9.${i & 7}.${(i * 37) & 255}`));
  for (let step = 0; step < 60; step++) {
    const learned = pick();
    const changed = rib.replace(learned);
    const fresh = new Rib(router, learned);
    const rows = (r: Rib): string[] => r.entries().map((e) => JSON.stringify(e)).sort(); // learned: in the order first learned
    assert.equal(rows(rib), rows(fresh), `step ${step}: entries`);
    for (const p of probes) assert.is(rib.trie.lookup(p.buf, p.dstOff, p.family), fresh.trie.lookup(p.buf, p.dstOff, p.family), `step ${step}: lookup`);
    assert.is(rib.replace(learned), 0, 'the same routes again change nothing');
    assert.ok(changed >= 0);
  }
});

test('a withdrawn learned route gives its prefix back to the static route it had beaten; a blackhole is no interface', () => {
  const router = parseObject(routingAuthority()).authority.routers[1]!;
  const rib = new Rib(router, [bgp('10.9.1.0/24')]);
  const p = packet('10.1.0.5', '10.9.1.7');
  const t = compileRouter(parseObject(routingAuthority()), 'r2', 1, rib);
  assert.is(t.routeLocal(p.buf, p.dstOff, p.family), t.interfaceIndex('lan1'), 'eBGP 20 beats static 30');
  assert.is(rib.replace([]), 1);
  assert.is(t.routeLocal(p.buf, p.dstOff, p.family), t.interfaceIndex('lan0'), 'static 30 again, in the tables compiled with this RIB');
  assert.is(rib.replace([{ prefix: '10.9.1.0/24', protocol: 'static', distance: 1, metric: 0, blackhole: true }]), 1);
  assert.is(rib.trie.lookup(p.buf, p.dstOff, p.family), ROUTE_BLACKHOLE);
  assert.is(t.routeLocal(p.buf, p.dstOff, p.family), NO_INTERFACE);
  assert.equal(t.learnedRoutes().map((r) => r.prefix), ['10.9.1.0/24']);
});

test('churn: once more prefixes were withdrawn than are live (at least 10,000), the trie is built anew with the live ones', () => {
  const router = parseObject(routingAuthority()).authority.routers[1]!;
  const flood = Array.from({ length: 12_000 }, (_, i) => bgp(`10.${100 + (i >> 8)}.${i & 255}.0/24`));
  const rib = new Rib(router, [bgp('10.9.3.0/24'), ...flood]);
  const before = rib.trie;
  assert.is(rib.update([], flood.slice(0, 9_000).map((r) => r.prefix)), 9_000);
  assert.is(rib.trie, before, 'fewer than 10,000 withdrawn: the same trie');
  assert.is(rib.update([], flood.slice(9_000).map((r) => r.prefix)), 3_000);
  assert.is.not(rib.trie, before, 'built anew');
  assert.is(rib.trie.size, 3, 'the two static prefixes and 10.9.3.0/24');
  const p = packet('10.1.0.5', '10.9.3.7');
  assert.is(rib.trie.lookup(p.buf, p.dstOff, p.family), 1, 'lan1');
  const gone = packet('10.1.0.5', '10.100.0.7');
  assert.is(rib.trie.lookup(gone.buf, gone.dstOff, gone.family), -1);
});

test.run();
