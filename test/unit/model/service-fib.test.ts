/** The service FIB through compileRouter: specificity, tenant FIBs, access policy. */
import * as assert from 'uvu/assert';
import { compileRouter } from '../../../src/model/compile.js';
import type { ForwardingTables } from '../../../src/model/tables.js';
import { test } from 'uvu';
import { ICMP, TCP, UDP, baseAuthority, parseObject, serviceFor } from './helpers.js';

type Obj = Record<string, unknown>;

/** r1 of baseAuthority with these tenants and services (every service reachable by `everyone` = 0.0.0.0/0 unless it has rules). */
function tables(tenants: Obj[], services: Obj[]): ForwardingTables {
  const base = baseAuthority();
  const routers = (base['routers'] as Obj[]).map((r) => ({ ...r, 'service-routes': [] }));
  return compileRouter(parseObject({ ...base, tenants, services, routers }), 'r1', 1);
}

const openTo = (source: string): Obj[] => [{ source }];
const everyone = [{ source: '0.0.0.0/0' }, { source: '::/0' }];

test('a port-qualified service beats an address-only one even with a shorter prefix', () => {
  const t = tables([], [
    { name: 'host', addresses: ['10.0.0.1/32'], 'access-policy': everyone },
    { name: 'any-web', addresses: ['0.0.0.0/0'], transport: [{ protocol: 'tcp', ports: [80] }], 'access-policy': everyone },
  ]);
  assert.is(serviceFor(t, undefined, '1.1.1.1', '10.0.0.1', TCP, 80), 'any-web');
  assert.is(serviceFor(t, undefined, '1.1.1.1', '10.0.0.1', TCP, 22), 'host');
  assert.is(serviceFor(t, undefined, '1.1.1.1', '10.0.0.1', UDP, 80), 'host');
  assert.is(serviceFor(t, undefined, '1.1.1.1', '10.0.0.2', TCP, 80), 'any-web');
  assert.is(serviceFor(t, undefined, '1.1.1.1', '10.0.0.2', TCP, 81), 'none');
});

test('protocol-qualified ranks between port-qualified and address-only', () => {
  const t = tables([], [
    { name: 'host', addresses: ['10.0.0.1/32'], 'access-policy': everyone },
    { name: 'all-udp', addresses: ['10.0.0.0/8'], transport: [{ protocol: 'udp' }], 'access-policy': everyone },
    { name: 'dns', addresses: ['0.0.0.0/0'], transport: [{ protocol: 'udp', ports: [53] }], 'access-policy': everyone },
    { name: 'ping', addresses: ['10.0.0.0/8'], transport: [{ protocol: 'icmp' }], 'access-policy': everyone },
  ]);
  assert.is(serviceFor(t, undefined, '1.1.1.1', '10.0.0.1', UDP, 53), 'dns');
  assert.is(serviceFor(t, undefined, '1.1.1.1', '10.0.0.1', UDP, 54), 'all-udp');
  assert.is(serviceFor(t, undefined, '1.1.1.1', '10.0.0.1', TCP, 54), 'host');
  assert.is(serviceFor(t, undefined, '1.1.1.1', '10.0.0.1', ICMP, 0), 'ping', 'port is ignored for icmp');
  assert.is(serviceFor(t, undefined, '1.1.1.1', '10.0.0.1', ICMP, 12345), 'ping');
  assert.is(serviceFor(t, undefined, '1.1.1.1', '11.0.0.1', UDP, 54), 'none');
});

test('within a class the longest prefix wins, then config order', () => {
  const t = tables([], [
    { name: 'net8', addresses: ['10.0.0.0/8'], transport: [{ protocol: 'tcp', ports: ['80-90'] }], 'access-policy': everyone },
    { name: 'net16', addresses: ['10.1.0.0/16'], transport: [{ protocol: 'tcp', ports: [80] }], 'access-policy': everyone },
    { name: 'first', addresses: ['10.2.0.0/16'], 'access-policy': everyone },
    { name: 'second', addresses: ['10.2.0.0/16'], 'access-policy': everyone },
    { name: 'plain-first', addresses: ['10.3.0.0/16'], 'access-policy': everyone },
    { name: 'ported-second', addresses: ['10.3.0.0/16'], transport: [{ protocol: 'tcp', ports: [80] }], 'access-policy': everyone },
    { name: 'v6', addresses: ['2001:db8::/32'], 'access-policy': everyone },
    { name: 'v6-host', addresses: ['2001:db8::80'], 'access-policy': everyone },
  ]);
  assert.is(serviceFor(t, undefined, '1.1.1.1', '10.1.2.3', TCP, 80), 'net16');
  assert.is(serviceFor(t, undefined, '1.1.1.1', '10.1.2.3', TCP, 85), 'net8');
  assert.is(serviceFor(t, undefined, '1.1.1.1', '10.2.0.1', TCP, 85), 'net8', 'port-qualified /8 beats address-only /16');
  assert.is(serviceFor(t, undefined, '1.1.1.1', '10.2.0.1', TCP, 22), 'first');
  assert.is(serviceFor(t, undefined, '1.1.1.1', '10.3.0.1', TCP, 80), 'ported-second', 'same prefix: class before config order');
  assert.is(serviceFor(t, undefined, '1.1.1.1', '10.3.0.1', TCP, 22), 'plain-first');
  assert.is(serviceFor(t, undefined, '2001:db8::1', '2001:db8::80', TCP, 22), 'v6-host');
  assert.is(serviceFor(t, undefined, '2001:db8::1', '2001:db8::81', UDP, 22), 'v6');
  assert.is(serviceFor(t, undefined, '::1', '2001:db9::1', UDP, 22), 'none');
});

test('deny by default: access-denied when a service matches but no rule allows, no-service otherwise', () => {
  const t = tables(
    [{ name: 'engineering', members: ['10.1.0.0/16'] }, { name: 'guest', members: ['10.9.0.0/16'] }],
    [{ name: 'web', addresses: ['198.18.3.0/24'], transport: [{ protocol: 'tcp', ports: [80] }], 'access-policy': openTo('engineering') }],
  );
  assert.is(serviceFor(t, 'engineering', '10.1.0.5', '198.18.3.9', TCP, 80), 'web');
  assert.is(serviceFor(t, 'guest', '10.9.0.5', '198.18.3.9', TCP, 80), 'denied');
  assert.is(serviceFor(t, undefined, '10.7.0.5', '198.18.3.9', TCP, 80), 'denied', 'no tenant');
  assert.is(serviceFor(t, 'engineering', '10.1.0.5', '198.18.3.9', TCP, 81), 'none');
  assert.is(serviceFor(t, 'engineering', '10.1.0.5', '8.8.8.8', TCP, 80), 'none');
});

test('children inherit their ancestors\' grants, not the reverse', () => {
  const t = tables(
    [{ name: 'engineering' }, { name: 'dev.engineering' }, { name: 'qa.dev.engineering' }, { name: 'engineering2' }, { name: 'reengineering' }],
    [
      { name: 'wiki', addresses: ['10.0.0.1'], 'access-policy': openTo('engineering') },
      { name: 'build', addresses: ['10.0.0.2'], 'access-policy': openTo('dev.engineering') },
    ],
  );
  assert.is(serviceFor(t, 'engineering', '1.1.1.1', '10.0.0.1', TCP, 1), 'wiki');
  assert.is(serviceFor(t, 'dev.engineering', '1.1.1.1', '10.0.0.1', TCP, 1), 'wiki');
  assert.is(serviceFor(t, 'qa.dev.engineering', '1.1.1.1', '10.0.0.1', TCP, 1), 'wiki');
  assert.is(serviceFor(t, 'engineering2', '1.1.1.1', '10.0.0.1', TCP, 1), 'denied', 'a name prefix is not an ancestor');
  assert.is(serviceFor(t, 'reengineering', '1.1.1.1', '10.0.0.1', TCP, 1), 'denied', 'only whole dotted segments make a parent');
  assert.is(serviceFor(t, 'dev.engineering', '1.1.1.1', '10.0.0.2', TCP, 1), 'build');
  assert.is(serviceFor(t, 'qa.dev.engineering', '1.1.1.1', '10.0.0.2', TCP, 1), 'build');
  assert.is(serviceFor(t, 'engineering', '1.1.1.1', '10.0.0.2', TCP, 1), 'denied', 'a parent does not get its child\'s grant');
});

test('prefix rules apply to any tenant by source address; tenant@prefix needs both', () => {
  const t = tables(
    [{ name: 'engineering' }, { name: 'guest' }],
    [
      { name: 'lab', addresses: ['10.0.0.1', '2001:db8::10'], 'access-policy': openTo('192.168.0.0/16') },
      { name: 'db', addresses: ['10.0.0.2'], 'access-policy': openTo('engineering@192.168.1.0/24') },
      { name: 'v6', addresses: ['2001:db8::1'], 'access-policy': openTo('2001:db8:100::/40') },
    ],
  );
  assert.is(serviceFor(t, 'guest', '192.168.7.7', '10.0.0.1', TCP, 1), 'lab');
  assert.is(serviceFor(t, undefined, '192.168.7.7', '10.0.0.1', TCP, 1), 'lab', 'prefix rules need no tenant');
  assert.is(serviceFor(t, 'guest', '172.16.0.1', '10.0.0.1', TCP, 1), 'denied');
  // c0a8:: starts with the same bits as 192.168.0.0/16, but an IPv4 rule never matches an IPv6 source.
  assert.is(serviceFor(t, 'guest', 'c0a8:700::1', '2001:db8::10', TCP, 1), 'denied');
  assert.is(serviceFor(t, 'engineering', '192.168.1.9', '10.0.0.2', TCP, 1), 'db');
  assert.is(serviceFor(t, 'engineering', '192.168.2.9', '10.0.0.2', TCP, 1), 'denied', 'right tenant, wrong prefix');
  assert.is(serviceFor(t, 'guest', '192.168.1.9', '10.0.0.2', TCP, 1), 'denied', 'right prefix, wrong tenant');
  assert.is(serviceFor(t, undefined, '2001:db8:1ff::1', '2001:db8::1', TCP, 1), 'v6');
  assert.is(serviceFor(t, undefined, '2001:db8:200::1', '2001:db8::1', TCP, 1), 'denied');
});

test('deny wins over an allow that matches equally or less specifically', () => {
  const t = tables(
    [{ name: 'engineering' }, { name: 'dev.engineering' }],
    [
      // a deny more specific than the allow (same tenant, plus a prefix) wins
      { name: 'same', addresses: ['10.0.0.1'], 'access-policy': [{ source: 'engineering' }, { source: 'engineering@0.0.0.0/0', permission: 'deny' }] },
      // more specific allow (child tenant) wins over a parent deny
      { name: 'child', addresses: ['10.0.0.2'], 'access-policy': [{ source: 'engineering', permission: 'deny' }, { source: 'dev.engineering' }] },
      // a longer allowed prefix wins over a shorter denied one
      { name: 'hole', addresses: ['10.0.0.3'], 'access-policy': [{ source: '172.16.0.0/12', permission: 'deny' }, { source: '172.16.5.0/24' }, { source: '0.0.0.0/0' }] },
      // more specific in one way and less in the other: deny wins (quarantine a prefix for a tenant)
      { name: 'quarantine', addresses: ['10.0.0.4'], 'access-policy': [{ source: 'engineering' }, { source: '172.16.66.0/24', permission: 'deny' }] },
    ],
  );
  assert.is(serviceFor(t, 'engineering', '1.1.1.1', '10.0.0.1', TCP, 1), 'denied');
  assert.is(serviceFor(t, 'dev.engineering', '1.1.1.1', '10.0.0.2', TCP, 1), 'child');
  assert.is(serviceFor(t, 'engineering', '1.1.1.1', '10.0.0.2', TCP, 1), 'denied');
  assert.is(serviceFor(t, undefined, '172.16.5.9', '10.0.0.3', TCP, 1), 'hole');
  assert.is(serviceFor(t, undefined, '172.16.6.9', '10.0.0.3', TCP, 1), 'denied');
  assert.is(serviceFor(t, undefined, '8.8.8.8', '10.0.0.3', TCP, 1), 'hole');
  assert.is(serviceFor(t, 'engineering', '172.16.66.1', '10.0.0.4', TCP, 1), 'denied');
  assert.is(serviceFor(t, 'engineering', '172.16.67.1', '10.0.0.4', TCP, 1), 'quarantine');
});

test('a tenant falls back to a less specific service it may reach', () => {
  const t = tables(
    [{ name: 'engineering' }, { name: 'guest' }],
    [
      { name: 'secret-web', addresses: ['10.0.0.0/24'], transport: [{ protocol: 'tcp', ports: [443] }], 'access-policy': openTo('engineering') },
      { name: 'internet', addresses: ['0.0.0.0/0'], 'access-policy': openTo('guest') },
    ],
  );
  assert.is(serviceFor(t, 'engineering', '1.1.1.1', '10.0.0.5', TCP, 443), 'secret-web');
  assert.is(serviceFor(t, 'guest', '1.1.1.1', '10.0.0.5', TCP, 443), 'internet');
  assert.is(serviceFor(t, 'engineering', '1.1.1.1', '9.9.9.9', TCP, 443), 'denied');
});

test.run();
