import * as assert from 'uvu/assert';
import { hkdfSync } from 'node:crypto';
import { inspect } from 'node:util';
import { isSvrError } from '../../../src/errors.js';
import { compileRouter } from '../../../src/model/compile.js';
import { NO_INTERFACE, NO_PATH, NO_TENANT, type ForwardingTables } from '../../../src/model/tables.js';
import { test } from 'uvu';
import { SECRET, baseAuthority, bytes, packet, parseObject } from './helpers.js';

type Obj = Record<string, unknown>;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const wan = (name: string, waypoint: string, neighborhoods: Obj[], extra: Obj = {}): Obj => ({ name, kind: 'wan', waypoint, neighborhoods, ...extra });

/**
 * r1: wan0 (A, vector mpls), wan1 (B), wan6 (A, IPv6)
 * r2: wan0 (A, vector lte)               -> r1/wan0 pairs with it
 * r3: wan0 (B, A)                         -> both r1/wan0 (via A) and r1/wan1 (via B)
 * r4: wan0 (C)                            -> no path: not a peer
 * r5: wan0 (A, IPv6), wan1 (A)            -> r1/wan6 <-> r5/wan0 (v6); r1/wan0 <-> r5/wan1
 */
function meshConfig(extra: Obj = {}): Obj {
  return {
    ...baseAuthority(),
    services: [],
    routers: [
      { name: 'r1', interfaces: [{ name: 'lan0', kind: 'lan' }, wan('wan0', '192.0.2.1', [{ name: 'A', vector: 'mpls' }]), wan('wan1', '198.51.100.1', [{ name: 'B' }]), wan('wan6', '2001:db8::1', [{ name: 'A' }])] },
      { name: 'r2', interfaces: [wan('wan0', '192.0.2.2', [{ name: 'A', vector: 'lte' }])] },
      { name: 'r3', interfaces: [wan('wan0', '192.0.2.3', [{ name: 'B', vector: 'bb' }, { name: 'A' }])] },
      { name: 'r4', interfaces: [wan('wan0', '192.0.2.4', [{ name: 'C' }])] },
      { name: 'r5', interfaces: [wan('wan0', '2001:db8::5', [{ name: 'A' }]), wan('wan1', '192.0.2.5', [{ name: 'A' }])] },
    ],
    ...extra,
  };
}

const compile = (authority: Obj, router: string): ForwardingTables => compileRouter(parseObject(authority), router, 3);

test('peers and paths are generated from shared neighborhoods (mesh)', () => {
  const t = compile(meshConfig(), 'r1');
  assert.equal(t.peers.map((p) => p.name), ['r2', 'r3', 'r5']);
  assert.equal(
    t.paths.map((p) => [p.id, p.name, t.peers[p.peer]!.name, p.neighborhood, p.vector, p.family]),
    [
      [0, 'wan0->r2/wan0', 'r2', 'A', 'mpls', 4],
      [1, 'wan0->r3/wan0', 'r3', 'A', 'mpls', 4],
      [2, 'wan1->r3/wan0', 'r3', 'B', 'bb', 4],
      [3, 'wan0->r5/wan1', 'r5', 'A', 'mpls', 4],
      [4, 'wan6->r5/wan0', 'r5', 'A', '', 6],
    ],
  );
  assert.equal(t.peers.map((p) => p.paths), [[0], [1, 2], [3, 4]]);
  assert.equal(t.interfaces.map((i) => [i.name, i.paths]), [['lan0', []], ['wan0', [0, 1, 3]], ['wan1', [2]], ['wan6', [4]]]);
  const p2 = t.paths[2]!;
  assert.is(p2.localInterface, t.interfaceIndex('wan1'));
  assert.equal([...p2.localWaypoint], [198, 51, 100, 1]);
  assert.equal([...p2.remoteWaypoint], [192, 0, 2, 3]);
  assert.equal(t.paths[4]!.remoteWaypoint, bytes('2001:db8::5'));

  // The other side sees the mirror image; vector comes from its own entry first.
  const r2 = compile(meshConfig(), 'r2');
  assert.equal(r2.peers.map((p) => p.name), ['r1', 'r3', 'r5']);
  assert.equal(r2.paths.map((p) => [p.name, p.vector]), [['wan0->r1/wan0', 'lte'], ['wan0->r3/wan0', 'lte'], ['wan0->r5/wan1', 'lte']]);
  const r4 = compile(meshConfig(), 'r4');
  assert.equal(r4.peers, []);
  assert.equal(r4.paths, []);
});

test('pathFrom maps (local interface, remote waypoint) to the path', () => {
  const t = compile(meshConfig(), 'r1');
  const wan0 = t.interfaceIndex('wan0');
  const p = (addr: string) => packet(addr, '192.0.2.1');
  assert.is(t.pathFrom(wan0, p('192.0.2.3').buf, p('192.0.2.3').srcOff, 4), 1);
  assert.is(t.pathFrom(wan0, p('192.0.2.5').buf, p('192.0.2.5').srcOff, 4), 3);
  assert.is(t.pathFrom(t.interfaceIndex('wan1'), p('192.0.2.3').buf, 12, 4), 2);
  assert.is(t.pathFrom(wan0, p('192.0.2.4').buf, 12, 4), NO_PATH, 'not a peer');
  assert.is(t.pathFrom(wan0, p('192.0.2.33').buf, 12, 4), NO_PATH);
  assert.is(t.pathFrom(t.interfaceIndex('lan0'), p('192.0.2.3').buf, 12, 4), NO_PATH);
  assert.is(t.pathFrom(99, p('192.0.2.3').buf, 12, 4), NO_PATH);
  const v6 = packet('2001:db8::5', '2001:db8::1');
  assert.is(t.pathFrom(t.interfaceIndex('wan6'), v6.buf, v6.srcOff, 6), 4);
});

test('both ends derive the same path key; different paths get different keys', () => {
  const r1 = compile(meshConfig(), 'r1');
  const r3 = compile(meshConfig(), 'r3');
  const r1r3 = r1.paths.find((p) => p.name === 'wan0->r3/wan0')!;
  const r3r1 = r3.paths.find((p) => p.name === 'wan0->r1/wan0')!;
  assert.is(r1r3.hmac.key.length, 32);
  assert.is(hex(r1r3.hmac.key), hex(r3r1.hmac.key));
  const keys = new Set(r1.paths.map((p) => hex(p.hmac.key)));
  assert.is(keys.size, r1.paths.length);
  // The documented derivation, computed independently.
  const expected = hkdfSync('sha256', Buffer.from(SECRET, 'hex'), 'svrouter-path-key-v1', 'r1/wan0|r3/wan0', 32);
  assert.is(hex(r1r3.hmac.key), Buffer.from(expected).toString('hex'));
  assert.equal([r1r3.hmac.mode, r1r3.hmac.cipher, r1r3.hmac.tagLength, r1r3.hmac.keyVersion], ['time-based', 'sha256-128', 16, 1]);
});

test('a policy key replaces the secret; tag length follows the cipher; disabled has no key', () => {
  const policyKey = 'ab'.repeat(32);
  const config = meshConfig({
    'security-policies': [
      { name: 'keyed', 'hmac-cipher': 'sha1', key: policyKey, 'key-version': 9 },
      { name: 'full', 'hmac-mode': 'regular', 'hmac-cipher': 'sha256' },
      { name: 'off', 'hmac-mode': 'disabled' },
    ],
  });
  const routers = config['routers'] as Array<{ interfaces: Obj[] }>;
  const setSecurity = (r: number, i: number, security: string) => (routers[r]!.interfaces[i]!['security'] = security);
  setSecurity(0, 1, 'keyed'); // r1/wan0 with r2/wan0, r3/wan0, r5/wan1
  setSecurity(1, 0, 'keyed');
  setSecurity(2, 0, 'keyed');
  setSecurity(4, 1, 'keyed');
  setSecurity(0, 2, 'full'); // r1/wan1 with r3/wan0 would disagree: put r1/wan1 in its own neighborhood
  (routers[0]!.interfaces[2]!['neighborhoods'] as Obj[])[0]!['name'] = 'D';
  routers.push({ interfaces: [wan('wan0', '198.51.100.9', [{ name: 'D' }], { security: 'full' })], ...{ name: 'r6' } } as never);
  setSecurity(0, 3, 'off'); // r1/wan6 with r5/wan0
  setSecurity(4, 0, 'off');
  const t = compile(config, 'r1');
  const byName = (n: string) => t.paths.find((p) => p.name === n)!;
  const keyed = byName('wan0->r2/wan0').hmac;
  assert.equal([keyed.mode, keyed.cipher, keyed.tagLength, keyed.keyVersion], ['time-based', 'sha1', 20, 9]);
  assert.is(hex(keyed.key), Buffer.from(hkdfSync('sha256', Buffer.from(policyKey, 'hex'), 'svrouter-path-key-v1', 'r1/wan0|r2/wan0', 32)).toString('hex'));
  const full = byName('wan1->r6/wan0').hmac;
  assert.equal([full.mode, full.tagLength], ['regular', 32]);
  const off = byName('wan6->r5/wan0').hmac;
  assert.equal([off.mode, off.tagLength, off.key.length], ['disabled', 0, 0]);
});

test('keys never appear in JSON.stringify or util.inspect of the tables', () => {
  const t = compile(meshConfig(), 'r1');
  const keys = t.paths.map((p) => hex(p.hmac.key));
  const keyBytes = t.paths.map((p) => [...p.hmac.key].join(','));
  const json = JSON.stringify(t);
  const shown = inspect(t, { depth: null, showHidden: true });
  const hmacShown = inspect(t.paths[0]!.hmac, { showHidden: true });
  for (const text of [json, shown, hmacShown, JSON.stringify(t.paths), JSON.stringify(t.paths[0]!.hmac)]) {
    for (const k of keys) assert.not.ok(text.includes(k), 'hex key leaked');
    for (const k of keyBytes) assert.not.ok(text.replace(/\s/g, '').includes(k), 'key bytes leaked');
  }
  assert.not.ok(/"key"/.test(json));
  assert.ok(hmacShown.includes('key: <hidden>'));
  assert.ok(json.includes('"remoteWaypoint":"192.0.2.2"'), 'toJSON shows addresses as text');
  assert.not.ok(json.includes(SECRET));
});

test('tenants: interface tenant wins, else the longest member prefix of all tenants, else none', () => {
  const config = {
    ...baseAuthority(),
    tenants: [
      { name: 'corp', members: ['10.0.0.0/8', '2001:db8::/32'] },
      { name: 'lab.corp', members: ['10.5.0.0/16'] },
      { name: 'kiosk', members: ['10.5.7.0/24'] },
    ],
    services: [],
    routers: [
      {
        name: 'r1',
        interfaces: [
          { name: 'lan0', kind: 'lan' },
          { name: 'lan1', kind: 'lan', tenant: 'kiosk' },
        ],
      },
    ],
  };
  const t = compile(config, 'r1');
  const classify = (ifName: string, src: string): string => {
    const p = packet(src, '1.1.1.1');
    const id = t.classifyTenant(t.interfaceIndex(ifName), p.buf, p.srcOff, p.family);
    return id === NO_TENANT ? 'none' : t.tenants[id]!;
  };
  assert.equal(t.tenants, ['corp', 'lab.corp', 'kiosk']);
  assert.is(classify('lan0', '10.1.1.1'), 'corp');
  assert.is(classify('lan0', '10.5.1.1'), 'lab.corp');
  assert.is(classify('lan0', '10.5.7.1'), 'kiosk');
  assert.is(classify('lan0', '11.0.0.1'), 'none');
  assert.is(classify('lan0', '2001:db8::9'), 'corp');
  assert.is(classify('lan1', '10.1.1.1'), 'kiosk', 'interface tenant wins');
  assert.is(classify('lan1', '11.0.0.1'), 'kiosk');
  assert.is(t.interfaces[1]!.tenant, t.tenantId('kiosk'));
  assert.is(t.interfaces[0]!.tenant, NO_TENANT);
});

test('names resolve from strings and from raw bytes inside a buffer', () => {
  const config = {
    ...baseAuthority(),
    tenants: Array.from({ length: 40 }, (_, i) => ({ name: `tenant${i}` })).concat([{ name: 'dev.engineering' }, { name: 'engineering' }]),
  };
  const t = compile(config, 'r1');
  const enc = new TextEncoder();
  const inBuffer = (name: string): [Uint8Array, number, number] => {
    const b = enc.encode(`xx${name}yy`);
    return [b, 2, b.length - 4];
  };
  for (let i = 0; i < 40; i++) assert.is(t.tenantIdFromBytes(...inBuffer(`tenant${i}`)), i);
  assert.is(t.tenantIdFromBytes(...inBuffer('dev.engineering')), 40);
  assert.is(t.tenantId('dev.engineering'), 40);
  assert.is(t.tenantIdFromBytes(...inBuffer('tenant')), NO_TENANT);
  assert.is(t.tenantIdFromBytes(...inBuffer('tenant400')), NO_TENANT);
  assert.is(t.tenantIdFromBytes(new Uint8Array(0), 0, 0), NO_TENANT);
  assert.is(t.serviceIdFromBytes(...inBuffer('web')), 0);
  assert.is(t.serviceIdFromBytes(...inBuffer('WEB')), -1);
  assert.is(t.serviceId('web'), 0);
  assert.is(t.serviceId('nope'), -1);
  assert.is(t.peerIdFromBytes(...inBuffer('r2')), 0);
  assert.is(t.peerIdFromBytes(...inBuffer('r1')), -1, 'a router is not its own peer');
  assert.is(t.peerId('r2'), 0);
  assert.is(t.interfaceIndex('wan0'), 1);
  assert.is(t.interfaceIndex('eth9'), NO_INTERFACE);
  assert.equal(t.tenantNameBytes[40], enc.encode('dev.engineering'));
  assert.equal(t.routerNameBytes, enc.encode('r1'));
  assert.equal(t.services[0]!.nameBytes, enc.encode('web'));
  assert.equal(t.peers[0]!.nameBytes, enc.encode('r2'));
});

test('routeLocal is a longest-prefix match over the router\'s routes', () => {
  const config = baseAuthority();
  const r1 = (config['routers'] as Obj[])[0]!;
  r1['interfaces'] = [{ name: 'lan0', kind: 'lan' }, { name: 'lan1', kind: 'lan' }, r1['interfaces'] && (r1['interfaces'] as Obj[])[1]!];
  r1['routes'] = [
    { prefix: '10.0.0.0/8', interface: 'lan0' },
    { prefix: '10.1.0.0/16', interface: 'lan1', gateway: '10.1.0.1' },
    { prefix: '2001:db8::/32', interface: 'lan1' },
  ];
  const t = compile(config, 'r1');
  const route = (dst: string): number => {
    const p = packet('1.1.1.1', dst);
    return t.routeLocal(-1, p.buf, p.dstOff, p.family);
  };
  assert.is(route('10.2.3.4'), 0);
  assert.is(route('10.1.3.4'), 1);
  assert.is(route('11.1.3.4'), NO_INTERFACE);
  const v6 = packet('::1', '2001:db8::7');
  assert.is(t.routeLocal(-1, v6.buf, v6.dstOff, 6), 1);
});

test('services carry timeouts in ms, policy, security and this router\'s service-routes', () => {
  const config = baseAuthority({
    'security-policies': [{ name: 'e2e', 'hmac-mode': 'disabled', encrypt: true }],
    'service-policies': [{ name: 'lenient', 'transport-state-enforcement': 'allow' }],
  });
  const services = config['services'] as Obj[];
  Object.assign(services[0]!, { 'service-policy': 'lenient', security: 'e2e', timeouts: { tcp: 60 } });
  services.push({ name: 'dns', addresses: ['10.9.9.9'] });
  const r2 = (config['routers'] as Obj[])[1]!;
  r2['service-routes'] = [
    { name: 'web-in', service: 'web', 'next-hop': { interface: 'lan0', gateway: '10.9.0.1' } },
    { name: 'web-back', service: 'web', peer: 'r1' },
  ];
  const t1 = compile(config, 'r1');
  const web = t1.services[0]!;
  assert.equal(web.timeouts, { tcpInitial: 10000, tcp: 60000, udp: 180000, icmp: 10000, other: 180000 });
  assert.is(web.transportStateEnforcement, 'allow');
  assert.is(web.security, 'e2e');
  assert.equal(web.routes, [{ kind: 'peer', name: 'web-out', peer: 0 }]);
  assert.equal(t1.services[1]!.routes, []);
  assert.is(t1.services[1]!.security, '');
  assert.is(t1.services[1]!.transportStateEnforcement, 'reset');
  const t2 = compile(config, 'r2');
  assert.equal(t2.services[0]!.routes, [
    { kind: 'local', name: 'web-in', interface: 0, gateway: bytes('10.9.0.1') },
    { kind: 'peer', name: 'web-back', peer: 0 },
  ]);
});

test('waypoint ports are the intersection of both ends\' port-ranges', () => {
  const config = baseAuthority();
  const routers = config['routers'] as Array<{ interfaces: Obj[] }>;
  routers[0]!.interfaces[1]!['port-range'] = '20000-40000';
  routers[1]!.interfaces[1]!['port-range'] = '30000-50000';
  const t = compile(config, 'r1');
  assert.equal([t.paths[0]!.portFrom, t.paths[0]!.portTo], [30000, 40000]);
  const plain = compile(baseAuthority(), 'r1');
  assert.equal([plain.paths[0]!.portFrom, plain.paths[0]!.portTo], [16384, 65534]);
});

test('generation, names and unknown routers', () => {
  const t = compile(baseAuthority(), 'r2');
  assert.is(t.generation, 3);
  assert.is(t.routerName, 'r2');
  assert.is(t.authority, 'test');
  try {
    compile(baseAuthority(), 'r9');
    assert.unreachable('should throw');
  } catch (e) {
    assert.ok(isSvrError(e, 'SVR_ERR_CONFIG_ROUTER'), String(e));
    assert.match((e as Error).message, /router "r9" is not in the configuration .*routers: r1, r2/);
  }
});

test.run();
