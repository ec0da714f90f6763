/** Telemetry settings: defaults, every bad field refused with its path, the block in an authority (tenant
 *  references, observation domains, the file form). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseTelemetry } from '../../../src/model/read-telemetry.js';
import { isSvrError, type ConfigError } from '../../../src/errors.js';
import type { ConfigProblem } from '../../../src/model/problems.js';
import { observationDomainOf } from '../../../src/model/read-telemetry.js';
import { configToDocument } from '../../../src/model/serialize.js';
import { resolveConfig, validateConfig } from '../../../src/model/validate.js';
import { baseAuthority, parseObject, problemsOfObject } from './helpers.js';

function problems(value: unknown): ConfigProblem[] {
  try {
    parseTelemetry(value);
  } catch (e) {
    assert.ok(isSvrError(e, 'SVR_ERR_CONFIG_INVALID'), String(e));
    return (e as ConfigError).data.problems;
  }
  assert.unreachable('accepted');
  return [];
}

test('absent settings are the defaults: no collectors, history 7 days / 1 GiB', () => {
  assert.equal(parseTelemetry(undefined), { ipfix: { templateInterval: 60, collectors: [] }, history: { enabled: true, retentionDays: 7, maxSizeMb: 1024 } });
});

test('a collector with defaults filled', () => {
  const t = parseTelemetry({ ipfix: { collectors: [{ name: 'nf', address: '198.18.9.10' }, { name: 'v6', address: '2001:db8::9', port: 9995, transport: 'tcp', 'interim-interval': 300, tenants: ['blue', 'dev.red'] }] }, history: { 'retention-days': 30, 'max-size-mb': 64 } });
  assert.equal(t.ipfix.collectors, [
    { name: 'nf', address: '198.18.9.10', port: 4739, transport: 'udp', interimInterval: 60, tenants: [] },
    { name: 'v6', address: '2001:db8::9', port: 9995, transport: 'tcp', interimInterval: 300, tenants: ['blue', 'dev.red'] },
  ]);
  assert.equal(t.history, { enabled: true, retentionDays: 30, maxSizeMb: 64 });
  assert.equal(parseTelemetry({ history: { enabled: false } }).history, { enabled: false, retentionDays: 7, maxSizeMb: 1024 });
});

test('every malformed field is reported with its path, in one pass', () => {
  const got = problems({
    ipfix: {
      'template-interval': 5,
      collectors: [
        { name: 'nf', address: '198.18.9', port: 70000, transport: 'sctp', 'interim-interval': 30, tenants: ['blue', 7] },
        { name: 'nf', address: '198.18.9.11', 'interim-intervall': 60 },
      ],
    },
    history: { 'retention-days': 0, 'max-size-mb': 'big' },
  });
  const paths = got.map((p) => p.path).sort();
  assert.equal(paths, [
    'telemetry.history.max-size-mb',
    'telemetry.history.retention-days',
    'telemetry.ipfix.collectors[0].address',
    'telemetry.ipfix.collectors[0].interim-interval',
    'telemetry.ipfix.collectors[0].port',
    'telemetry.ipfix.collectors[0].tenants[1]',
    'telemetry.ipfix.collectors[0].transport',
    'telemetry.ipfix.collectors[1].interim-intervall',
    'telemetry.ipfix.collectors[1].name',
    'telemetry.ipfix.template-interval',
  ]);
  const byPath = new Map(got.map((p) => [p.path, p.message]));
  assert.match(byPath.get('telemetry.ipfix.collectors[0].interim-interval')!, /60-1800 seconds, got 30/);
  assert.match(byPath.get('telemetry.ipfix.collectors[1].interim-intervall')!, /did you mean `interim-interval`/);
  assert.match(byPath.get('telemetry.ipfix.collectors[1].name')!, /duplicate collector name "nf"/);
  assert.match(byPath.get('telemetry.ipfix.collectors[0].transport')!, /"udp", "tcp"/);
});

test('in the authority: absent = defaults; observation domains default to position + 1', () => {
  const c = parseObject(baseAuthority());
  assert.equal(c.authority.telemetry, parseTelemetry(undefined));
  assert.not.ok('telemetry' in (configToDocument(c).authority as object), 'all-default telemetry is left out of the file form');
  assert.equal([observationDomainOf(c.authority.routers, 'r1'), observationDomainOf(c.authority.routers, 'r2')], [1, 2]);
});

test('in the authority: the block round-trips through the file form; an explicit observation domain is kept', () => {
  const a = baseAuthority({ telemetry: { ipfix: { collectors: [{ name: 'nf', address: '198.18.9.10', tenants: ['engineering'] }] }, history: { 'retention-days': 2 } } });
  (a['routers'] as Record<string, unknown>[])[1]!['observation-domain-id'] = 77;
  const c = parseObject(a);
  assert.equal(c.authority.telemetry.ipfix.collectors, [{ name: 'nf', address: '198.18.9.10', port: 4739, transport: 'udp', interimInterval: 60, tenants: ['engineering'] }]);
  assert.equal(c.authority.telemetry.history, { enabled: true, retentionDays: 2, maxSizeMb: 1024 });
  assert.equal(observationDomainOf(c.authority.routers, 'r2'), 77);
  assert.equal(validateConfig(c), []);
  assert.equal(resolveConfig(c), c);
});

test('in the authority: unknown collector tenants, clashing observation domains and bad fields by path', () => {
  const a = baseAuthority({ telemetry: { ipfix: { collectors: [{ name: 'nf', address: '198.18.9.10', port: 0, tenants: ['enginering'] }] }, history: { 'max-size-mb': 1 } } });
  (a['routers'] as Record<string, unknown>[])[1]!['observation-domain-id'] = 1;
  const got = problemsOfObject(a);
  const byPath = new Map(got.map((p) => [p.path, p.message]));
  assert.equal([...byPath.keys()].sort(), [
    'authority.routers[1].observation-domain-id',
    'authority.telemetry.history.max-size-mb',
    'authority.telemetry.ipfix.collectors[0].port',
    'authority.telemetry.ipfix.collectors[0].tenants[0]',
  ]);
  assert.match(byPath.get('authority.telemetry.ipfix.collectors[0].tenants[0]')!, /unknown tenant "enginering"; did you mean "engineering"/);
  assert.match(byPath.get('authority.routers[1].observation-domain-id')!, /observation domain 1, as router "r1" does/);
  const zero = baseAuthority();
  (zero['routers'] as Record<string, unknown>[])[0]!['observation-domain-id'] = 0;
  assert.equal(problemsOfObject(zero).map((p) => p.path), ['authority.routers[0].observation-domain-id']);
});

test.run();
