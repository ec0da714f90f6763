/** The `management` block of a router: defaults, every bad field by path, redaction, round trip. */
import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { redactSecrets, resolveConfig, validateConfig } from '../../../src/model/validate.js';
import { configToDocument } from '../../../src/model/serialize.js';
import { baseAuthority, hasProblem, parseObject, problemsOfObject } from './helpers.js';

type Obj = Record<string, any>; // test fixtures are edited freely

const withManagement = (management: unknown): Obj => {
  const a = baseAuthority() as Obj;
  a['routers'][0]['management'] = management;
  return a;
};
const at = 'authority.routers[0].management';

test('no management block: no API; an empty one gets every default', () => {
  assert.is(parseObject(baseAuthority()).authority.routers[0]!.management, undefined);
  assert.equal(parseObject(withManagement({})).authority.routers[0]!.management,
    { address: '127.0.0.1', port: 8443, tokens: [], metricsAuth: 'token' });
});

test('a full block is read as written', () => {
  const m = parseObject(withManagement({
    address: '198.18.61.2', port: 9443, tls: { certificate: 'api.crt', key: 'api.key' },
    tokens: [{ name: 'ops', role: 'admin', 'token-file': 'ops.token' }, { name: 'prom', role: 'read-only', token: '0123456789abcdef' }],
    'metrics-auth': 'none', 'session-capacity': 5000,
  })).authority.routers[0]!.management;
  assert.equal(m, {
    address: '198.18.61.2', port: 9443, tls: { certificate: 'api.crt', key: 'api.key' },
    tokens: [{ name: 'ops', role: 'admin', tokenFile: 'ops.token' }, { name: 'prom', role: 'read-only', token: '0123456789abcdef' }],
    metricsAuth: 'none', sessionCapacity: 5000,
  });
});

test('every bad field is reported with its path', () => {
  const problems = problemsOfObject(withManagement({
    address: 'localhost', port: 70000, tls: { certificate: 'api.crt' }, 'metrics-auth': 'open', 'session-capacity': 0, colour: 'blue',
    tokens: [
      { name: 'x', role: 'root', token: 'short' },
      { name: 'ops', role: 'admin', token: '0123456789abcdef', 'token-file': 'x' },
      { name: 'ops', role: 'admin', token: '0123456789abcdef' },
      { name: 'none', role: 'read-only' },
    ],
  }));
  hasProblem(problems, `${at}.address`, 'IPv4 or IPv6 address');
  hasProblem(problems, `${at}.port`, '1-65535');
  hasProblem(problems, `${at}.tls.key`, 'required');
  hasProblem(problems, `${at}.metrics-auth`, '"token", "none"');
  hasProblem(problems, `${at}.session-capacity`, 'whole number');
  hasProblem(problems, `${at}.colour`, 'unknown field');
  hasProblem(problems, `${at}.tokens[0].role`, '"admin", "read-only"');
  hasProblem(problems, `${at}.tokens[0].token`, 'at least 16 characters');
  hasProblem(problems, `${at}.tokens[1]`, 'exactly one of `token`');
  hasProblem(problems, `${at}.tokens[2].name`, 'duplicate token name "ops"');
  hasProblem(problems, `${at}.tokens[3]`, 'exactly one of `token`');
});

test('tokens are redacted for display; the block survives validateConfig (round trip through the file form)', () => {
  const config = parseObject(withManagement({ tokens: [{ name: 'prom', role: 'read-only', token: '0123456789abcdef' }, { name: 'ops', role: 'admin', 'token-file': 'ops.token' }] }));
  assert.equal(validateConfig(config), []);
  assert.equal(resolveConfig(config), config);
  const doc = configToDocument(redactSecrets(config)) as Obj;
  assert.equal(doc['authority']['routers'][0]['management']['tokens'], [{ name: 'prom', role: 'read-only', token: '<redacted>' }, { name: 'ops', role: 'admin', 'token-file': 'ops.token' }]);
  assert.not.match(JSON.stringify(doc), /0123456789abcdef/);
});

test.run();
