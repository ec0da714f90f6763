import * as assert from 'uvu/assert';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { isSvrError } from '../../../src/errors.js';
import { loadConfig, parseConfig, redactSecrets, resolveConfig, validateConfig } from '../../../src/model/validate.js';
import type { ConfigInput } from '../../../src/model/config-input.js';
import { ConfigError } from '../../../src/errors.js';
import { test } from 'uvu';
import { SECRET, baseAuthority, hasProblem, parseObject, problemsOf, problemsOfObject } from './helpers.js';

type Obj = Record<string, any>; // test fixtures are edited freely

const clone = (o: Obj): Obj => JSON.parse(JSON.stringify(o)) as Obj;
/** baseAuthority with `edit` applied to a deep copy. */
const variant = (edit: (a: Obj) => void): Obj => {
  const a = clone(baseAuthority());
  edit(a);
  return a;
};

test('a good file passes and defaults are filled', () => {
  const config = parseObject(baseAuthority());
  const a = config.authority;
  assert.is(a.name, 'test');
  assert.equal(a.securityPolicies, [
    { name: 'internal', hmacMode: 'time-based', hmacCipher: 'sha256-128', encrypt: false, encryptionCipher: 'aes-cbc-256', adaptiveEncryption: true, keyVersion: 1, rekeyDelay: 30, keyExchange: 'static', rekeyInterval: 120 },
  ]);
  assert.equal(a.servicePolicies, [{
    name: 'default', transportStateEnforcement: 'reset', vectors: [], vectorOrder: [], pathQualityFilter: false,
    maxLatency: 250, maxJitter: 100, maxLoss: 0.5, bestEffort: true, bestPathCriteria: 'vector', sessionResiliency: 'none',
    fec: { enabled: false, groupSize: 8, parity: 2, flushMs: 20 },
  }]);
  const web = a.services[0]!;
  assert.equal(web.timeouts, { tcpInitial: 10, tcp: 1900, udp: 180, icmp: 10, other: 180 });
  assert.is(web.servicePolicy, 'default');
  assert.equal(web.accessPolicy, [{ source: 'engineering', tenant: 'engineering', permission: 'allow' }]);
  assert.equal(web.transport, [{ protocol: 'tcp', ports: [{ from: 80, to: 80 }] }]);
  const wan = a.routers[0]!.interfaces[1]!;
  assert.equal(wan, { name: 'wan0', kind: 'wan', waypoint: '192.0.2.1', neighborhoods: [{ name: 'internet' }], security: 'internal', portRange: { from: 16384, to: 65534 }, device: 'svr-wan0', mtu: 1700, enforcedMss: 'automatic', kernelRoutes: [] });
  assert.equal(a.routers[0]!.serviceRoutes, [{ name: 'web-out', service: 'web', peer: 'r2' }]);
  assert.equal(a.routers[1]!.serviceRoutes, [{ name: 'web-in', service: 'web', nextHop: { interface: 'lan0' } }]);
});

test('policies named like the built-ins replace them; others are added alongside', () => {
  const a = parseObject({
    ...baseAuthority(),
    'security-policies': [{ name: 'internal', 'hmac-mode': 'regular', 'hmac-cipher': 'sha1', 'key-version': 7 }, { name: 'open', 'hmac-mode': 'disabled' }],
    'service-policies': [{ name: 'default', 'transport-state-enforcement': 'allow' }],
  }).authority;
  assert.equal(
    a.securityPolicies.map((p) => [p.name, p.hmacMode, p.hmacCipher, p.keyVersion]),
    [['internal', 'regular', 'sha1', 7], ['open', 'disabled', 'sha256-128', 1]],
  );
  assert.equal(a.servicePolicies.map((p) => [p.name, p.transportStateEnforcement, p.bestPathCriteria]), [['default', 'allow', 'vector']]);
});

test('partial timeouts keep the other defaults; ports accept numbers, strings and ranges', () => {
  const a = parseObject(
    variant((x) => {
      x.services[0].timeouts = { udp: 30, 'tcp-initial': 5 };
      x.services[0].transport = [{ protocol: 'tcp', ports: [80, '443', '8000-8100', ' 9000 - 9001 '] }, { protocol: 'icmp' }];
    }),
  ).authority;
  assert.equal(a.services[0]!.timeouts, { tcpInitial: 5, tcp: 1900, udp: 30, icmp: 10, other: 180 });
  assert.equal(a.services[0]!.transport, [
    { protocol: 'tcp', ports: [{ from: 80, to: 80 }, { from: 443, to: 443 }, { from: 8000, to: 8100 }, { from: 9000, to: 9001 }] },
    { protocol: 'icmp', ports: [] },
  ]);
});

test('the bad port range of the brief: exact path and message', () => {
  const problems = problemsOf(`authority:
  name: demo
  secret: ${SECRET}
  services:
    - { name: a, addresses: [10.0.0.0/8] }
    - { name: b, addresses: [10.0.0.0/8] }
    - name: c
      addresses: [10.0.0.0/8]
      transport:
        - protocol: tcp
          ports: [80, "80-70", 70000, -1, 1.5, "x"]
  routers:
    - name: r1
      interfaces: [{ name: lan0, kind: lan }]
`);
  const expected = 'expected a port 0-65535 or a range "from-to" with from <= to, got';
  assert.equal(
    problems.map((p) => `${p.path}: ${p.message}`),
    [
      `authority.services[2].transport[0].ports[1]: ${expected} "80-70"`,
      `authority.services[2].transport[0].ports[2]: ${expected} 70000`,
      `authority.services[2].transport[0].ports[3]: ${expected} -1`,
      `authority.services[2].transport[0].ports[4]: ${expected} 1.5`,
      `authority.services[2].transport[0].ports[5]: ${expected} "x"`,
    ],
  );
  assert.is(problems[0]!.line, 11);
  assert.is(problems[0]!.column, 23);
});

test('every problem is collected into one SvrError with a line per problem', () => {
  const text = `authority:
  name: demo
  security-policies:
    - name: strict
      hmac-mod: regular
  tenants:
    - name: bad..name
  services:
    - name: web
      addresses: [10.0.0.1/24]
      transport:
        - { protocol: icmp, ports: [1] }
      access-policy:
        - { source: enginering }
  routers:
    - name: any
      interfaces:
        - { name: wan0, kind: wan }
`;
  let error: unknown;
  try {
    parseConfig(text, 'bad.yaml');
  } catch (e) {
    error = e;
  }
  assert.ok(isSvrError(error, 'SVR_ERR_CONFIG_INVALID'));
  const err = error as import('../../../src/errors.js').SvrError;
  const details = (err as import('../../../src/errors.js').ConfigError).data;
  assert.is(details.source, 'bad.yaml');
  const paths = details.problems.map((e) => e.path);
  for (const path of [
    'authority.secret',
    'authority.security-policies[0].hmac-mod',
    'authority.tenants[0].name',
    'authority.services[0].addresses[0]',
    'authority.services[0].transport[0].ports',
    'authority.services[0].access-policy[0].source',
    'authority.routers[0].name',
    'authority.routers[0].interfaces[0].waypoint',
    'authority.routers[0].interfaces[0].neighborhoods',
  ]) {
    assert.ok(paths.includes(path), `missing ${path} in ${paths.join(', ')}`);
    assert.ok(err.message.includes(`  ${path}: `), `message lists ${path}`);
  }
  assert.is(details.problems.length, 9);
  assert.match(err.message, /^bad\.yaml: invalid configuration \(9 problems\):\n/);
  assert.match(err.message, /hmac-mod: unknown field `hmac-mod`; did you mean `hmac-mode`\? \(line 5, column 7\)/);
});

test('unknown keys are errors, with suggestions for typos and camelCase', () => {
  const problems = problemsOfObject(
    variant((a) => {
      a['security-policies'] = [{ name: 'p', hmacMode: 'regular' }];
      a.routers[0].interfaces[1].neighbourhoods = a.routers[0].interfaces[1].neighborhoods;
      a.routers[0].colour = 'red';
    }),
  );
  hasProblem(problems, 'authority.security-policies[0].hmacMode', 'unknown field `hmacMode`; did you mean `hmac-mode`?');
  hasProblem(problems, 'authority.routers[0].interfaces[1].neighbourhoods', 'did you mean `neighborhoods`?');
  hasProblem(problems, 'authority.routers[0].colour', 'unknown field `colour`; expected one of: name, interfaces, routes, service-routes');
});

test('names: routers, tenants, uniqueness', () => {
  const problems = problemsOfObject(
    variant((a) => {
      a.routers[0].name = 'all';
      a.routers[1].name = 'r 2';
      a.routers.push({ name: 'x'.repeat(64), interfaces: [{ name: 'lan0', kind: 'lan' }] });
      a.routers.push({ name: 'r9', interfaces: [{ name: 'lan0', kind: 'lan' }, { name: 'lan0', kind: 'lan' }] });
      a.routers.push({ name: 'r9', interfaces: [{ name: 'lan0', kind: 'lan' }] });
      a.tenants.push({ name: '10.0.0.1' }, { name: 'dev..x' }, { name: 'engineering' });
    }),
  );
  hasProblem(problems, 'authority.routers[0].name', 'not all/any/unknown, got "all"');
  hasProblem(problems, 'authority.routers[1].name', 'got "r 2"');
  hasProblem(problems, 'authority.routers[2].name', 'a router name');
  hasProblem(problems, 'authority.routers[3].interfaces[1].name', 'duplicate interface of router "r9" name "lan0" (first at authority.routers[3].interfaces[0])');
  hasProblem(problems, 'authority.routers[4].name', 'duplicate router name "r9"');
  hasProblem(problems, 'authority.tenants[1].name', '(not an address), got "10.0.0.1"');
  hasProblem(problems, 'authority.tenants[2].name', 'got "dev..x"');
  hasProblem(problems, 'authority.tenants[3].name', 'duplicate tenant name "engineering"');
});

test('interfaces: wan needs a waypoint and a neighborhood; lan has neither', () => {
  const problems = problemsOfObject(
    variant((a) => {
      a.routers[0].interfaces = [
        { name: 'lan0', kind: 'lan', waypoint: '192.0.2.9', neighborhoods: [{ name: 'internet' }], security: 'internal' },
        { name: 'wan0', kind: 'wan' },
        { name: 'wan1', kind: 'wan', waypoint: '192.0.2.300', neighborhoods: [] },
        { name: 'wan2', kind: 'wan', waypoint: '192.0.2.7', neighborhoods: [{ name: 'a' }, { name: 'a' }], 'port-range': '2000-1000' },
        { name: 'x', kind: 'wlan' },
      ];
    }),
  );
  const at = 'authority.routers[0].interfaces';
  hasProblem(problems, `${at}[0].waypoint`, 'only wan interfaces have `waypoint`');
  hasProblem(problems, `${at}[0].neighborhoods`, 'only wan interfaces have `neighborhoods`');
  hasProblem(problems, `${at}[0].security`, 'only wan interfaces have `security`');
  hasProblem(problems, `${at}[1].waypoint`, 'required field is missing');
  hasProblem(problems, `${at}[1].neighborhoods`, 'required field is missing');
  hasProblem(problems, `${at}[2].waypoint`, 'got "192.0.2.300"');
  hasProblem(problems, `${at}[2].neighborhoods`, 'at least one neighborhood');
  hasProblem(problems, `${at}[3].neighborhoods[1].name`, 'duplicate neighborhood "a"');
  hasProblem(problems, `${at}[3].port-range`, 'expected a port range "from-to" with 1 <= from < to <= 65535, got "2000-1000"');
  hasProblem(problems, `${at}[4].kind`, 'expected one of "lan", "wan", "function", got "wlan"; did you mean');
  // Broken wan interfaces are reported once, not again as "no path to the peer".
  assert.not.ok(problems.some((p) => p.message.includes('shares no neighborhood')));
});

test('service-routes: exactly one of peer, next-hop and use-learned-routes; peers must be reachable', () => {
  const problems = problemsOfObject(
    variant((a) => {
      a.routers.push({ name: 'r3', interfaces: [{ name: 'wan0', kind: 'wan', waypoint: '192.0.2.3', neighborhoods: [{ name: 'elsewhere' }] }] });
      a.routers.push({ name: 'r4', interfaces: [{ name: 'wan0', kind: 'wan', waypoint: '2001:db8::4', neighborhoods: [{ name: 'internet' }] }] });
      a.routers[0]['service-routes'] = [
        { name: 'both', service: 'web', peer: 'r2', 'next-hop': { interface: 'lan0' } },
        { name: 'neither', service: 'web' },
        { name: 'far', service: 'web', peer: 'r3' },
        { name: 'v6', service: 'web', peer: 'r4' },
        { name: 'ghost', service: 'web', peer: 'r7' },
        { name: 'self', service: 'web', peer: 'r1' },
        { name: 'via-wan', service: 'web', 'next-hop': { interface: 'wan0' } },
        { name: 'via-nothing', service: 'web', 'next-hop': { interface: 'eth9' } },
        { name: 'typo', service: 'webb', peer: 'r2' },
        { name: 'typo', service: 'web', peer: 'r2' },
      ];
    }),
  );
  const at = 'authority.routers[0].service-routes';
  hasProblem(problems, `${at}[0].next-hop`, 'exactly one of `peer`, `next-hop` and `use-learned-routes: true`');
  hasProblem(problems, `${at}[1]`, 'needs exactly one of `peer`');
  hasProblem(problems, `${at}[2].peer`, 'router "r3" shares no neighborhood');
  hasProblem(problems, `${at}[3].peer`, 'router "r4" shares no neighborhood (with a matching address family)');
  hasProblem(problems, `${at}[4].peer`, 'unknown router "r7"');
  hasProblem(problems, `${at}[5].peer`, 'cannot be its own peer');
  hasProblem(problems, `${at}[6].next-hop.interface`, 'expected a lan interface, got wan interface "wan0"');
  hasProblem(problems, `${at}[7].next-hop.interface`, 'unknown interface of router "r1" "eth9"');
  hasProblem(problems, `${at}[8].service`, 'unknown service "webb"; did you mean "web"?');
  hasProblem(problems, `${at}[9].name`, 'duplicate service-route of router "r1" name "typo"');
});

test('routes: prefix, lan interface, gateway family, duplicates', () => {
  const problems = problemsOfObject(
    variant((a) => {
      a.routers[0].routes = [
        { prefix: '10.1.0.0/16', interface: 'wan0' },
        { prefix: '10.2.0.0/16', interface: 'lan9' },
        { prefix: '10.3.0.1/16', interface: 'lan0' },
        { prefix: '10.4.0.0/16', interface: 'lan0', gateway: '2001:db8::1' },
        { prefix: '10.5.0.0/16', interface: 'lan0' },
        { prefix: '10.5.0.0/16', interface: 'lan0' },
      ];
    }),
  );
  const at = 'authority.routers[0].routes';
  hasProblem(problems, `${at}[0].interface`, 'expected a lan interface');
  hasProblem(problems, `${at}[1].interface`, 'unknown interface of router "r1" "lan9"');
  hasProblem(problems, `${at}[2].prefix`, 'expected a prefix without host bits (10.3.0.0/16), got "10.3.0.1/16"');
  hasProblem(problems, `${at}[3].gateway`, 'expected an IPv4 gateway for an IPv4 prefix, got "2001:db8::1"');
  hasProblem(problems, `${at}[5].prefix`, 'duplicate route for 10.5.0.0/16');
});

test('services: addresses, transport, access rules, references', () => {
  const problems = problemsOfObject(
    variant((a) => {
      a.tenants.push({ name: 'guest', members: ['10.1.0.0/16', 'not-a-prefix'] });
      a.services = [
        { name: 'empty', addresses: [] },
        { name: 'noaddr' },
        {
          name: 'svc',
          addresses: ['10.0.0.0/8', '10.0.0.0/8', '2001:DB8::/32', '2001:db8::/32'],
          transport: [{ protocol: 'icmpv6', ports: [1] }, { protocol: 'sctp' }, { ports: [80] }],
          'access-policy': [
            { source: 'guest@10.0.0.0/8' },
            { source: 'nobody@10.0.0.0/8' },
            { source: '10.0.0.1/8' },
            { source: 'a@b' },
            { source: 'guest', permission: 'maybe' },
            { source: 'guest@10.0.0.0/8', permission: 'deny' },
          ],
          'service-policy': 'fast',
          security: 'secret-sauce',
          timeouts: { tcp: 0, udp: 1.5, icmp: '10', idle: 3 },
        },
      ];
      a.routers[0]['service-routes'] = [];
      a.routers[1]['service-routes'] = [];
    }),
  );
  hasProblem(problems, 'authority.tenants[1].members[0]', '10.1.0.0/16 is already a member at authority.tenants[0].members[0]');
  hasProblem(problems, 'authority.tenants[1].members[1]', 'expected an IPv4 or IPv6 prefix');
  hasProblem(problems, 'authority.services[0].addresses', 'at least one destination prefix');
  hasProblem(problems, 'authority.services[1].addresses', 'required field is missing');
  const at = 'authority.services[2]';
  hasProblem(problems, `${at}.addresses[1]`, 'duplicate address 10.0.0.0/8');
  hasProblem(problems, `${at}.addresses[3]`, 'duplicate address 2001:db8::/32');
  hasProblem(problems, `${at}.transport[0].ports`, 'icmpv6 has no ports');
  hasProblem(problems, `${at}.transport[1].protocol`, 'expected one of "tcp", "udp", "icmp", "icmpv6", got "sctp"');
  hasProblem(problems, `${at}.transport[2].protocol`, 'required field is missing');
  hasProblem(problems, `${at}.access-policy[1].source`, 'unknown tenant "nobody"');
  hasProblem(problems, `${at}.access-policy[2].source`, 'without host bits (10.0.0.0/8)');
  hasProblem(problems, `${at}.access-policy[3].source`, 'expected a tenant name, a prefix or "tenant@prefix", got "a@b"');
  hasProblem(problems, `${at}.access-policy[4].permission`, 'expected one of "allow", "deny", got "maybe"');
  hasProblem(problems, `${at}.access-policy[5].source`, 'duplicate source "guest@10.0.0.0/8"');
  hasProblem(problems, `${at}.service-policy`, 'unknown service-policy "fast"; known: default');
  hasProblem(problems, `${at}.security`, 'unknown security policy "secret-sauce"');
  hasProblem(problems, `${at}.timeouts.tcp`, 'expected a whole number 1-2147483 (seconds), got 0');
  hasProblem(problems, `${at}.timeouts.udp`, 'got 1.5');
  hasProblem(problems, `${at}.timeouts.icmp`, 'got "10"');
  hasProblem(problems, `${at}.timeouts.idle`, 'unknown field `idle`');
});

test('authority.secret: required only when a signing policy without a key is used on a wan interface', () => {
  const noSecret = variant((a) => delete a.secret);
  hasProblem(problemsOfObject(noSecret), 'authority.secret', 'security policy "internal" (used by r1/wan0, r2/wan0) signs or encrypts packets');

  const disabled = { ...noSecret, 'security-policies': [{ name: 'internal', 'hmac-mode': 'disabled' }] };
  assert.not.ok(parseObject(disabled).authority.secret);

  const keyed = { ...noSecret, 'security-policies': [{ name: 'internal', key: SECRET }] };
  assert.is(parseObject(keyed).authority.securityPolicies[0]!.key, SECRET);

  const bad = problemsOfObject({ ...noSecret, secret: 'abc', 'security-policies': [{ name: 'p', key: 'abcd' }, { name: 'q', key: 12345 }] });
  hasProblem(bad, 'authority.secret', 'at least 64 hex digits');
  hasProblem(bad, 'authority.security-policies[0].key', 'exactly 64 hex digits (32 bytes), got "abcd"');
  hasProblem(bad, 'authority.security-policies[1].key', 'got 12345 (write it in quotes)');
  hasProblem(problemsOfObject({ ...noSecret, secret: `${SECRET}0` }), 'authority.secret', 'even length');
});

test('both ends of a path must sign alike and share waypoint ports', () => {
  const problems = problemsOfObject(
    variant((a) => {
      a['security-policies'] = [{ name: 'strict', 'hmac-mode': 'regular', 'hmac-cipher': 'sha256' }];
      a.routers[1].interfaces[1].security = 'strict';
      a.routers[0].interfaces[1]['port-range'] = '20000-30000';
      a.routers[1].interfaces[1]['port-range'] = '30001-40000';
    }),
  );
  hasProblem(problems, 'authority.routers[0].interfaces[1].security', 'r1/wan0 and r2/wan0 (neighborhood "internet") must sign alike');
  hasProblem(problems, 'authority.routers[0].interfaces[1].security', 'hmac-mode (time-based vs regular), hmac-cipher (sha256-128 vs sha256)');
  hasProblem(problems, 'authority.routers[0].interfaces[1].port-range', 'do not overlap');
  assert.is(problems.length, 2, 'each pair is checked once');
});

test('encryption without authentication is refused: metadata encryption with hmac-mode disabled, CBC payloads over unsigned packets', () => {
  const meta = problemsOfObject(variant((a) => {
    a['security-policies'] = [{ name: 'internal', 'hmac-mode': 'disabled', encrypt: true }];
  }));
  hasProblem(meta, 'authority.security-policies[0].encrypt', 'metadata encryption needs authenticated packets, but this policy has hmac-mode disabled (used by r1/wan0, r2/wan0)');
  assert.is(meta.length, 1);
  // the same policy on no wan interface (a service's payload policy) is not a path policy: fine
  parseObject(variant((a) => {
    a['security-policies'] = [{ name: 'payload-only', 'hmac-mode': 'disabled', encrypt: true, 'encryption-cipher': 'aes-gcm-256' }];
    a.services[0].security = 'payload-only';
  }));
  for (const mode of ['metadata-only', 'disabled']) {
    const payload = problemsOfObject(variant((a) => {
      a['security-policies'] = [{ name: 'internal', 'hmac-mode': mode }, { name: 'secret', encrypt: true }];
      a.services[0].security = 'secret';
    }));
    hasProblem(payload, 'authority.services[0].security', `payload encryption with aes-cbc-256 needs every packet authenticated, but router "r1" sends service "web" on r1/wan0 whose security policy "internal" has hmac-mode ${mode}`);
    assert.is(payload.length, 1, mode);
  }
  // GCM authenticates each payload itself; time-based/regular paths sign every packet
  parseObject(variant((a) => {
    a['security-policies'] = [{ name: 'internal', 'hmac-mode': 'metadata-only' }, { name: 'secret', encrypt: true, 'encryption-cipher': 'aes-gcm-256' }];
    a.services[0].security = 'secret';
  }));
  parseObject(variant((a) => {
    a['security-policies'] = [{ name: 'internal', 'hmac-mode': 'regular', encrypt: true }, { name: 'secret', encrypt: true }];
    a.services[0].security = 'secret';
  }));
});

test('router identities: a base64 X25519 public key each, unique; key-exchange: handshake needs them and a signing hmac-mode', () => {
  const pub1 = Buffer.alloc(32, 1).toString('base64');
  const pub2 = Buffer.alloc(32, 2).toString('base64');
  const ok = parseObject(variant((a) => {
    a.routers[0].identity = { 'public-key': pub1, 'private-key-file': '/etc/svr/r1.key' };
    a.routers[1].identity = { 'public-key': pub2 };
  }));
  assert.equal(ok.authority.routers[0]!.identity, { publicKey: pub1, privateKeyFile: '/etc/svr/r1.key' });
  assert.equal(ok.authority.routers[1]!.identity, { publicKey: pub2 });
  assert.is(ok.authority.securityPolicies[0]!.keyExchange, 'static', 'the default');
  const bad = problemsOfObject(variant((a) => {
    a.routers[0].identity = { 'public-key': 'not-a-key', 'privat-key-file': 'x' };
    a.routers[1].identity = { 'public-key': Buffer.alloc(31).toString('base64') };
  }));
  hasProblem(bad, 'authority.routers[0].identity.public-key', 'an X25519 public key: base64 of 32 bytes');
  hasProblem(bad, 'authority.routers[0].identity.privat-key-file', 'did you mean `private-key-file`?');
  hasProblem(bad, 'authority.routers[1].identity.public-key', 'base64 of 32 bytes');
  const twice = problemsOfObject(variant((a) => {
    a.routers[0].identity = { 'public-key': pub1 };
    a.routers[1].identity = { 'public-key': pub1 };
  }));
  hasProblem(twice, 'authority.routers[1].identity.public-key', 'the same public key as router "r1"');
  const handshake = problemsOfObject(variant((a) => {
    a['security-policies'] = [{ name: 'internal', 'key-exchange': 'handshake' }];
    a.routers[0].identity = { 'public-key': pub1 };
  }));
  hasProblem(handshake, 'authority.routers[1].identity', 'an identity with a public-key, because r2/wan0 use key-exchange: handshake');
  assert.is(handshake.length, 1);
  const unsigned = problemsOfObject(variant((a) => {
    a['security-policies'] = [{ name: 'internal', 'key-exchange': 'handshake', 'hmac-mode': 'disabled', 'rekey-interval': 1 }];
    a.routers[0].identity = { 'public-key': pub1 };
    a.routers[1].identity = { 'public-key': pub2 };
  }));
  hasProblem(unsigned, 'authority.security-policies[0].key-exchange', 'hmac-mode is disabled');
  hasProblem(unsigned, 'authority.security-policies[0].rekey-interval', '2');
  assert.is(unsigned.length, 2);
  const wired = parseObject(variant((a) => {
    a['security-policies'] = [{ name: 'internal', 'key-exchange': 'handshake', 'rekey-interval': 30 }];
    a.routers[0].identity = { 'public-key': pub1 };
    a.routers[1].identity = { 'public-key': pub2 };
  }));
  assert.is(wired.authority.securityPolicies[0]!.rekeyInterval, 30);
  const mixed = problemsOfObject(variant((a) => {
    a['security-policies'] = [{ name: 'hs', 'key-exchange': 'handshake' }];
    a.routers[1].interfaces[1].security = 'hs';
  }));
  hasProblem(mixed, 'authority.routers[0].interfaces[1].security', 'key-exchange (static vs handshake)');
});

test('a waypoint belongs to one interface', () => {
  const problems = problemsOfObject(variant((a) => (a.routers[1].interfaces[1].waypoint = '192.0.2.1')));
  hasProblem(problems, 'authority.routers[1].interfaces[1].waypoint', 'waypoint 192.0.2.1 is already used by r1/wan0');
});

test('top level: must be { authority }; at least one router', () => {
  hasProblem(problemsOf('[]'), '(top level)', 'expected a mapping with the single key `authority`, got a list');
  hasProblem(problemsOf('authority: {name: x, routers: []}\nextra: 1\n'), 'extra', 'unknown field `extra`');
  hasProblem(problemsOf('authority: {name: x, routers: []}\n'), 'authority.routers', 'at least one router');
  hasProblem(problemsOf('authority: {name: x}\n'), 'authority.routers', 'required field is missing');
  hasProblem(problemsOf('{}'), 'authority', 'required field is missing');
});

test('JSON syntax errors report JSON line and column', () => {
  const text = '{\n  "authority": {\n    "name": "x",\n  }\n}\n';
  try {
    parseConfig(text, 'bad.json');
    assert.unreachable('should throw');
  } catch (e) {
    assert.ok(isSvrError(e, 'SVR_ERR_CONFIG_PARSE'), String(e));
    const [problem] = (e as ConfigError).data.problems;
    assert.equal([problem!.line, problem!.column], [4, 3]);
    assert.match((e as Error).message, /^bad\.json:4:3: invalid JSON: /);
  }
});

test('YAML syntax errors report line and column', () => {
  try {
    parseConfig('authority:\n  name: [x\n  routers: 1\n', 'bad.yaml');
    assert.unreachable('should throw');
  } catch (e) {
    assert.ok(isSvrError(e, 'SVR_ERR_CONFIG_PARSE'), String(e));
    assert.match((e as Error).message, /bad\.yaml:\d+:\d+: /);
  }
  try {
    parseConfig('authority:\n  name: a\n  name: b\n', 'dup.yaml');
    assert.unreachable('should throw');
  } catch (e) {
    assert.ok(isSvrError(e, 'SVR_ERR_CONFIG_PARSE'));
    assert.match((e as Error).message, /dup\.yaml:3:3: Map keys must be unique/);
  }
});

test('JSON files validate like YAML and get line numbers too', () => {
  const problems = problemsOf(JSON.stringify({ authority: variant((a) => (a.routers[0].interfaces[1].waypoint = 'nope')) }, null, 2), 'x.json');
  hasProblem(problems, 'authority.routers[0].interfaces[1].waypoint', 'got "nope"');
  assert.ok((problems[0]!.line ?? 0) > 1);
});

test('loadConfig reads files and reports unreadable ones', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'svr-config-'));
  try {
    const file = join(dir, 'c.json');
    await writeFile(file, JSON.stringify({ authority: baseAuthority() }));
    assert.is((await loadConfig(file)).authority.routers.length, 2);
    try {
      await loadConfig(join(dir, 'missing.yaml'));
      assert.unreachable('should throw');
    } catch (e) {
      assert.ok(isSvrError(e, 'SVR_ERR_CONFIG_READ'), String(e));
      assert.match((e as Error).message, /missing\.yaml/);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('redactSecrets hides the secret and keys and leaves the original alone', () => {
  const config = parseObject({ ...baseAuthority(), 'security-policies': [{ name: 'k', key: SECRET.replace(/0/g, 'f') }] });
  const shown = JSON.stringify(redactSecrets(config));
  assert.not.ok(shown.includes(SECRET));
  assert.not.ok(shown.includes(SECRET.replace(/0/g, 'f')));
  assert.ok(shown.includes('<redacted>'));
  assert.is(config.authority.secret, SECRET);
});


test('node fields: device defaults to svr-<name>, mtu per kind, kernel-routes validated, devices unique', () => {
  const cfg = parseConfig(`
authority:
  name: a
  secret: ${'ab'.repeat(32)}
  routers:
    - name: r1
      interfaces:
        - { name: lan0, kind: lan, kernel-routes: [{ prefix: default, table: 100 }, { prefix: 198.18.9.0/24 }] }
        - { name: wan0, kind: wan, waypoint: 192.0.2.1, neighborhoods: [{ name: n }], device: wan-tun, mtu: 9000 }
`);
  const [lan, wan] = cfg.authority.routers[0]!.interfaces;
  assert.equal([lan!.device, lan!.mtu, lan!.kernelRoutes], ['svr-lan0', 1500, [{ prefix: 'default', table: 100 }, { prefix: '198.18.9.0/24' }]]);
  assert.equal([wan!.device, wan!.mtu], ['wan-tun', 9000]);
  const problems = problemsOf(`
authority:
  name: a
  routers:
    - name: r1
      interfaces:
        - { name: lan0, kind: lan, device: same, kernel-routes: [{ prefix: 10.0.0.1/8 }] }
        - { name: lan1, kind: lan, device: same, mtu: 100 }
        - { name: a-very-long-interface-name, kind: lan }
`);
  hasProblem(problems, 'authority.routers[0].interfaces[1].device', 'already used');
  hasProblem(problems, 'authority.routers[0].interfaces[0].kernel-routes[0].prefix', 'host bits');
  hasProblem(problems, 'authority.routers[0].interfaces[1].mtu', '576-65535');
  hasProblem(problems, 'authority.routers[0].interfaces[2].device', 'longer than 15');
});

/** The interfaces of a router with lan0 and wan0, `v` appended to wan0's mapping (e.g. ", mtu: 1400"). */
const wanWith = (v: string) => parseConfig(`
authority:
  name: a
  secret: ${'ab'.repeat(32)}
  routers:
    - name: r1
      interfaces:
        - { name: lan0, kind: lan }
        - { name: wan0, kind: wan, waypoint: 192.0.2.1, neighborhoods: [{ name: n }]${v} }
`).authority.routers[0]!.interfaces;

test('enforced-mss: automatic by default on wan interfaces, disabled or 64-8960 accepted, refused on lan interfaces', () => {
  const [lan, wan] = wanWith('');
  assert.equal([lan!.enforcedMss, wan!.enforcedMss], ['disabled', 'automatic']);
  assert.is(wanWith(', enforced-mss: disabled')[1]!.enforcedMss, 'disabled');
  assert.is(wanWith(', enforced-mss: 1360')[1]!.enforcedMss, 1360);
  const problems = problemsOf(`
authority:
  name: a
  routers:
    - name: r1
      interfaces:
        - { name: lan0, kind: lan, enforced-mss: 1400 }
        - { name: wan0, kind: wan, waypoint: 192.0.2.1, neighborhoods: [{ name: n }], enforced-mss: 9000 }
        - { name: wan1, kind: wan, waypoint: 192.0.2.2, neighborhoods: [{ name: n }], enforced-mss: auto }
`);
  hasProblem(problems, 'authority.routers[0].interfaces[0].enforced-mss', 'only wan interfaces');
  hasProblem(problems, 'authority.routers[0].interfaces[1].enforced-mss', '64-8960');
  hasProblem(problems, 'authority.routers[0].interfaces[2].enforced-mss', 'disabled, automatic');
});

test('fragmentation: absent by default (unless-df), unless-df, always or never accepted on wan interfaces and written back; refused on lan, a bad value named', () => {
  assert.is(wanWith('')[1]!.fragmentation, undefined);
  for (const v of ['unless-df', 'always', 'never'] as const) assert.is(wanWith(`, fragmentation: ${v}`)[1]!.fragmentation, v);
  const cfg = parseConfig(`
authority:
  name: a
  secret: ${'ab'.repeat(32)}
  routers:
    - name: r1
      interfaces:
        - { name: wan0, kind: wan, waypoint: 192.0.2.1, neighborhoods: [{ name: n }], fragmentation: never }
`);
  assert.equal(resolveConfig(cfg), cfg, 'round-trips through its file form');
  const problems = problemsOf(`
authority:
  name: a
  routers:
    - name: r1
      interfaces:
        - { name: lan0, kind: lan, fragmentation: always }
        - { name: wan0, kind: wan, waypoint: 192.0.2.1, neighborhoods: [{ name: n }], fragmentation: yes }
`);
  hasProblem(problems, 'authority.routers[0].interfaces[0].fragmentation', 'only wan interfaces');
  hasProblem(problems, 'authority.routers[0].interfaces[1].fragmentation', 'unless-df');
});

test('shaping-rate and shaping-shares: read with units, shares default 40/30/20/10 and must sum to 100, written back', () => {
  const withShaping = (v: string) => parseConfig(`
authority:
  name: a
  secret: ${'ab'.repeat(32)}
  routers:
    - name: r1
      interfaces:
        - { name: lan0, kind: lan }
        - { name: wan0, kind: wan, waypoint: 192.0.2.1, neighborhoods: [{ name: n }]${v} }
`);
  assert.is(withShaping('').authority.routers[0]!.interfaces[1]!.shapingRate, undefined);
  const cfg = withShaping(', shaping-rate: 50M');
  assert.is(cfg.authority.routers[0]!.interfaces[1]!.shapingRate, 50_000_000);
  assert.equal(resolveConfig(cfg), cfg, 'round-trips through its file form');
  const shared = withShaping(', shaping-rate: 2.5G, shaping-shares: [70, 0, 0, 30]');
  assert.equal([shared.authority.routers[0]!.interfaces[1]!.shapingRate, shared.authority.routers[0]!.interfaces[1]!.shapingShares], [2.5e9, [70, 0, 0, 30]]);
  assert.equal(resolveConfig(shared), shared, 'shares round-trip');
  const problems = problemsOf(`
authority:
  name: a
  routers:
    - name: r1
      interfaces:
        - { name: lan0, kind: lan, shaping-shares: [100, 0, 0, 0] }
        - { name: wan0, kind: wan, waypoint: 192.0.2.1, neighborhoods: [{ name: n }], shaping-rate: fast }
        - { name: wan1, kind: wan, waypoint: 192.0.2.2, neighborhoods: [{ name: n }], shaping-rate: 10M, shaping-shares: [50, 0, 20, 0] }
        - { name: wan2, kind: wan, waypoint: 192.0.2.3, neighborhoods: [{ name: n }], shaping-rate: 10M, shaping-shares: { high: 100 } }
`);
  hasProblem(problems, 'authority.routers[0].interfaces[0].shaping-shares', 'needs shaping-rate');
  hasProblem(problems, 'authority.routers[0].interfaces[1].shaping-rate', 'a rate in bits/s');
  hasProblem(problems, 'authority.routers[0].interfaces[2].shaping-shares', 'must sum to 100, got 70');
  hasProblem(problems, 'authority.routers[0].interfaces[3].shaping-shares', 'a list of 4 whole percentages');
});

test('a config changed in code is validated like a file (resolveConfig): defaults filled, a valid config round-trips', () => {
  const cfg = parseConfig(`
authority:
  name: a
  routers:
    - name: r1
      interfaces: [{ name: lan0, kind: lan }]
`);
  assert.equal(resolveConfig(cfg), cfg, 'a valid config round-trips unchanged');
  cfg.authority.routers[0]!.interfaces[0]!.mtu = 10;
  try {
    resolveConfig(cfg);
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.match((e as Error).message, /authority\.routers\[0\]\.interfaces\[0\]\.mtu/);
  }
});

test('ConfigInput names every key the readers accept (camelCase), so every file field can be written in code', async () => {
  const { DASHED_KEYS } = await import('../../../src/model/config-object.js');
  const { readFileSync } = await import('node:fs');
  const { findPackageRoot } = await import('../../../src/native/addon.js');
  const text = readFileSync(`${findPackageRoot()}/src/model/config-input.ts`, 'utf8');
  const camel = (k: string) => k.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  assert.ok(DASHED_KEYS.has('service-routes') && DASHED_KEYS.has('tcp-initial'), 'the dashed keys come from the readers');
  const missing = [...DASHED_KEYS].map(camel).filter((k) => !new RegExp(`\\b${k}\\??:`).test(text));
  assert.equal(missing, [], 'keys missing from ConfigInput');
});

test('a config object written in code: only what has no default, problems by camelCase object path without line numbers', () => {
  const input: ConfigInput = {
    authority: {
      name: 'a',
      secret: '5f2c8e1a9b3d4f6071829a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f',
      tenants: [{ name: 'lab', members: ['198.18.1.0/24'] }],
      services: [{ name: 'web', addresses: ['198.18.3.0/24'], transport: [{ protocol: 'tcp', ports: [80, { from: 8000, to: 8100 }] }], accessPolicy: [{ source: 'lab' }] }],
      routers: [{
        name: 'r1',
        interfaces: [{ name: 'lan0', kind: 'lan' }, { name: 'wan0', kind: 'wan', waypoint: '198.18.12.1', neighborhoods: [{ name: 'n' }], portRange: { from: 20000, to: 30000 } }],
        serviceRoutes: [{ name: 'web', service: 'web', nextHop: { interface: 'lan0' } }],
      }],
    },
  };
  assert.equal(validateConfig(input), []);
  const full = resolveConfig(input);
  assert.equal(full.authority.services[0]!.timeouts, { tcpInitial: 10, tcp: 1900, udp: 180, icmp: 10, other: 180 }, 'defaults filled');
  assert.equal(full.authority.services[0]!.transport[0]!.ports, [{ from: 80, to: 80 }, { from: 8000, to: 8100 }]);
  assert.equal(full.authority.routers[0]!.interfaces[1]!.portRange, { from: 20000, to: 30000 });
  const bad = structuredClone(input);
  bad.authority.services![0]!.accessPolicy![0]!.source = 'nobody';
  bad.authority.routers[0]!.serviceRoutes![0]!.nextHop = { interface: 'wan0' };
  bad.authority.routers[0]!.interfaces[1]!.portRange = '3-2';
  (bad.authority.routers[0] as unknown as Record<string, unknown>)['serviceRoute'] = [];
  bad.authority.services![0]!.timeouts = { tcpInitial: 0 };
  const problems = validateConfig(bad);
  assert.equal(problems.map((p) => p.path).sort(), [
    'authority.routers[0].interfaces[1].portRange',
    'authority.routers[0].serviceRoute',
    'authority.routers[0].serviceRoutes[0].nextHop.interface',
    'authority.services[0].accessPolicy[0].source',
    'authority.services[0].timeouts.tcpInitial',
  ]);
  assert.ok(problems.every((p) => p.line === undefined && p.column === undefined), 'no line or column of an internal serialisation');
  const unknown = problems.find((p) => p.path.endsWith('serviceRoute'))!;
  assert.match(unknown.message, /unknown field `serviceRoute`; did you mean `serviceRoutes`\?/);
  assert.not.match(problems.map((p) => p.message).join('\n'), /service-routes|port-range|next-hop|tcp-initial|access-policy/, 'messages name camelCase keys');
  try {
    resolveConfig(bad, 'my config');
    assert.unreachable('accepted');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.equal([e.code, e.data.source, e.data.problems.length], ['SVR_ERR_CONFIG_INVALID', 'my config', 5]);
    assert.match(e.message, /^my config: invalid configuration \(5 problems\):\n  authority\./);
    assert.not.match(e.message, /line \d+/);
  }
});

test('an encrypting service needs key material; its payload key is derived per policy and version, hidden from JSON', async () => {
  const { compileRouter } = await import('../../../src/model/compile.js');
  const text = (secret: string) => `
authority:
  name: a
  ${secret}
  security-policies: [{ name: sealed, encrypt: true, hmac-mode: disabled }]
  services: [{ name: s, addresses: [198.18.3.0/24], security: sealed, access-policy: [{ source: 198.18.1.0/24 }] }]
  routers:
    - name: r1
      interfaces: [{ name: lan0, kind: lan }]
      service-routes: [{ name: s, service: s, next-hop: { interface: lan0 } }]
`;
  hasProblem(problemsOf(text('')), 'authority.secret', 'service s');
  const t = compileRouter(parseConfig(text(`secret: ${SECRET}`)), 'r1', 1);
  const payload = t.services[0]!.payload!;
  assert.equal([payload.cipher, payload.keyVersion, payload.key.length], ['aes-cbc-256', 1, 32]);
  assert.not.match(JSON.stringify(t.services[0]), Buffer.from(payload.key).toString('hex'));
});

test.run();
