/** Telemetry settings: defaults, and every bad field refused with its path. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseTelemetry } from '../../../src/telemetry/config.js';
import { isSvrError, type ConfigError } from '../../../src/errors.js';
import type { ConfigProblem } from '../../../src/model/problems.js';

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
  assert.equal(parseTelemetry(undefined), { ipfix: { templateIntervalS: 60, collectors: [] }, history: { maxAgeDays: 7, maxSizeMb: 1024 } });
});

test('a collector with defaults filled', () => {
  const t = parseTelemetry({ ipfix: { collectors: [{ name: 'nf', address: '198.18.9.10' }, { name: 'v6', address: '2001:db8::9', port: 9995, transport: 'tcp', 'interim-interval': 300, tenants: ['blue', 'dev.red'] }] }, history: { 'retention-days': 30, 'max-size-mb': 64 } });
  assert.equal(t.ipfix.collectors, [
    { name: 'nf', address: '198.18.9.10', port: 4739, transport: 'udp', interimIntervalS: 60, tenants: [] },
    { name: 'v6', address: '2001:db8::9', port: 9995, transport: 'tcp', interimIntervalS: 300, tenants: ['blue', 'dev.red'] },
  ]);
  assert.equal(t.history, { maxAgeDays: 30, maxSizeMb: 64 });
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

test.run();
