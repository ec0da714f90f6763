/**
 * FRR config written from a router's routing block (golden text), the learned-route table (distances,
 * blackholes and other tables skipped, the bound, the stale hold), and bgpd's JSON read into the view.
 */
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import type { Routing } from '../../../src/model/config.js';
import { frrDaemons, frrFiles } from '../../../src/routing/frr-config.js';
import { LearnedRoutes } from '../../../src/routing/learned-routes.js';
import { neighborOf, routesOf } from '../../../src/routing/bgp-view.js';
import { RTN_BLACKHOLE, RTN_UNICAST, type RouteMessage } from '../../../src/routing/netlink.js';

const ROUTING: Routing = {
  interface: 'lan0', fpmPort: 2620, staleHold: 30,
  bgp: {
    as: 65001, routerId: '198.18.61.2', redistributeService: true,
    neighbors: [
      { address: '198.18.61.1', remoteAs: 65100, keepalive: 1, hold: 3, bfd: true, maxPrefix: 20000, acceptPrefixes: ['198.18.60.0/24'] },
      { address: '2001:db8::1', remoteAs: 65200, keepalive: 3, hold: 9, bfd: false, maxPrefix: 100, multihop: 2 },
    ],
  },
};

test('frr config: zebra streams FPM to the node, bgpd has neighbours, timers, BFD, limits, filters and the announced services', () => {
  const f = frrFiles('r1', ROUTING, '/run/r1-frr', ['198.18.1.0/24']);
  assert.is(f['zebra.conf'], 'frr defaults traditional\nhostname r1\nlog file /run/r1-frr/zebra.log informational\nfpm address 127.0.0.1 port 2620\nno fpm use-next-hop-groups\n');
  assert.is(f['bgpd.conf'], [
    'frr defaults traditional', 'hostname r1', 'log file /run/r1-frr/bgpd.log informational',
    'ip prefix-list SVR-ACCEPT-1 seq 5 permit 198.18.60.0/24 le 32',
    'router bgp 65001', ' bgp router-id 198.18.61.2', ' no bgp default ipv4-unicast', ' no bgp ebgp-requires-policy', ' no bgp network import-check',
    ' neighbor 198.18.61.1 remote-as 65100', ' neighbor 198.18.61.1 timers 1 3', ' neighbor 198.18.61.1 timers connect 1', ' neighbor 198.18.61.1 bfd',
    ' neighbor 2001:db8::1 remote-as 65200', ' neighbor 2001:db8::1 timers 3 9', ' neighbor 2001:db8::1 timers connect 1', ' neighbor 2001:db8::1 ebgp-multihop 2',
    ' address-family ipv4 unicast', '  network 198.18.1.0/24',
    '  neighbor 198.18.61.1 activate', '  neighbor 198.18.61.1 advertisement-interval 0', '  neighbor 198.18.61.1 maximum-prefix 20000', '  neighbor 198.18.61.1 prefix-list SVR-ACCEPT-1 in',
    ' exit-address-family',
    ' address-family ipv6 unicast', '  neighbor 2001:db8::1 activate', '  neighbor 2001:db8::1 advertisement-interval 0', '  neighbor 2001:db8::1 maximum-prefix 100',
    ' exit-address-family', 'exit', '',
  ].join('\n'));
  assert.equal(frrDaemons(ROUTING), ['zebra', 'bfdd', 'bgpd']);
  assert.equal(frrDaemons({ ...ROUTING, bgp: undefined } as Routing), ['zebra']);
});

const msg = (prefix: string, over: Partial<RouteMessage> = {}): RouteMessage => ({
  op: 'add', family: 4, prefix, table: 254, protocol: 'bgp', type: RTN_UNICAST, nextHops: [{ gateway: '198.18.61.1', ifindex: 3 }], metric: 20, ...over,
});

test('learned routes: distance by protocol; withdrawals; blackholes kept as such; other tables and routes without a next hop skipped', () => {
  const t = new LearnedRoutes();
  assert.ok(t.apply([
    msg('198.18.60.0/24'), msg('198.18.70.0/24', { protocol: 'connected', nextHops: [{ ifindex: 3 }] }), msg('10.0.0.0/8', { table: 100 }),
    msg('10.1.0.0/16', { protocol: 'static', type: RTN_BLACKHOLE, nextHops: [] }), msg('10.2.0.0/16', { nextHops: [] }),
  ]));
  assert.equal(t.list(), [
    { prefix: '198.18.60.0/24', protocol: 'bgp', distance: 20, metric: 20, gateway: '198.18.61.1' },
    { prefix: '198.18.70.0/24', protocol: 'connected', distance: 0, metric: 20 },
    { prefix: '10.1.0.0/16', protocol: 'static', distance: 1, metric: 20, blackhole: true },
  ]);
  assert.is(t.counters.skipped, 2);
  assert.equal(t.takeChanges().set.map((r) => r.prefix), ['198.18.60.0/24', '198.18.70.0/24', '10.1.0.0/16'], 'changes since the start: what was learned');
  assert.ok(t.apply([msg('198.18.60.0/24', { op: 'del' })]));
  assert.not.ok(t.apply([msg('198.18.99.0/24', { op: 'del' })]), 'withdrawing what is not there changes nothing');
  assert.is(t.size, 2);
  t.apply([msg('198.18.70.0/24', { metric: 7 })]);
  assert.equal(t.takeChanges(), { set: [{ prefix: '198.18.70.0/24', protocol: 'bgp', distance: 20, metric: 7, gateway: '198.18.61.1' }], removed: ['198.18.60.0/24'] },
    'only the prefixes changed since the last take');
  assert.equal(t.takeChanges(), { set: [], removed: [] });
});

test('learned routes: the bound counts what overflows; the stale hold keeps routes until zebra has had its chance to resend them', () => {
  const t = new LearnedRoutes(2);
  t.apply([msg('198.19.0.0/30'), msg('198.19.0.4/30'), msg('198.19.0.8/30')]);
  assert.is(t.size, 2);
  assert.is(t.counters.overflow, 1);
  t.apply([msg('198.19.0.0/30', { metric: 5 })]); // a replacement is not an overflow
  assert.is(t.counters.overflow, 1);
  t.newEpoch(); // zebra reconnected: it resends 198.19.0.0/30 only
  t.apply([msg('198.19.0.0/30')]);
  assert.ok(t.ageOut());
  assert.equal(t.list().map((r) => r.prefix), ['198.19.0.0/30']);
  assert.is(t.counters.aged, 1);
  assert.ok(t.takeChanges().removed.includes('198.19.0.4/30'), 'aged out: a change the RIB hears about');
});

test('bgp view: neighbours and routes from bgpd JSON (FRR 8.4 field names)', () => {
  const n = neighborOf('198.18.61.1', {
    remoteAs: 65100, bgpState: 'Established', bgpTimerUpString: '00:01:02', lastResetDueTo: 'Waiting for peer OPEN',
    addressFamilyInfo: { ipv4Unicast: { acceptedPrefixCounter: 3, sentPrefixCounter: 1 } },
  }, 'up');
  assert.equal(n, { address: '198.18.61.1', remoteAs: 65100, state: 'Established', upOrDownFor: '00:01:02', prefixesReceived: 3, prefixesSent: 1, lastReset: 'Waiting for peer OPEN', bfd: 'up' });
  assert.equal(neighborOf('198.18.62.1', { remoteAs: 65100, bgpState: 'Active' }, undefined), { address: '198.18.62.1', remoteAs: 65100, state: 'Active' });
  assert.equal(routesOf({ routes: {
    '198.18.60.0/24': [{ bestpath: true, path: '65100', nexthops: [{ ip: '198.18.61.1' }] }],
    '198.18.1.0/24': [{ bestpath: true, path: '', nexthops: [{ ip: '0.0.0.0' }] }],
  } }), [
    { prefix: '198.18.60.0/24', nextHop: '198.18.61.1', asPath: '65100', best: true, local: false },
    { prefix: '198.18.1.0/24', nextHop: '0.0.0.0', asPath: '', best: true, local: true },
  ]);
});

test.run();
