import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDocument } from 'yaml';
import { readPlainYaml } from '../../../src/model/plain-yaml.js';
import { parseConfig } from '../../../src/model/validate.js';
import { ConfigError } from '../../../src/errors.js';

const positional = (text: string): unknown => parseDocument(text, { uniqueKeys: true }).toJS({ maxAliasCount: 1000 });

test('the fast read gives what the positional parse gives (YAML 1.2 core: nulls, booleans, numbers, quoted text, blocks, flow, JSON)', () => {
  const texts = [
    'a: 1\nb: -2\nc: 0o17\nd: 0x1F\ne: 1.5\nf: .5e3\ng: -.inf\nh: .NaN\ni: true\nj: False\nk: ~\nl:\nm: null\nn: NULL\n',
    'a: yes\nb: off\nc: 1_000\nd: 0b11\ne: 012\nf: 2024-01-02\ng: "1"\nh: \'x: y\'\ni: 1:20\n',
    'list:\n  - { name: s0, addresses: [100.64.0.0/32], access-policy: [{ source: t0 }] }\n  - name: s1\n    note: |\n      two\n      lines\n    folded: >\n      one\n      line\n',
    '{"authority": {"name": "x", "services": [{"name": "s", "port": 80, "on": true, "none": null}]}}',
    '# a comment\nkey: "tab\\tand \\u00e9"  # trailing\n__proto__: { polluted: 1 }\n',
  ];
  for (const text of texts) {
    const plain = readPlainYaml(text);
    assert.ok(plain !== undefined, `read: ${JSON.stringify(text)}`);
    assert.equal(plain, positional(text), JSON.stringify(text));
    assert.is(({} as Record<string, unknown>)['polluted'], undefined);
  }
});

test('what the fast read would read otherwise, or not at all, is left to the positional parse (undefined)', () => {
  for (const text of [
    'a: !!int "12"\n', 'a: !custom x\n', 'a: &x { b: 1 }\nc: *x\n', // tags, anchors, aliases
    '~: 1\n', '1: a\n', '? [a]\n: b\n', // keys that are not strings
    'a: 1e400\n', `a: ${'9'.repeat(400)}\n`, // numbers a double cannot hold
    'a: 1\na: 2\n', 'a: [1\n', 'a: b: c\n', '', '---\na: 1\n---\nb: 2\n', // syntax, duplicates, no or several documents
  ]) assert.is(readPlainYaml(text), undefined, JSON.stringify(text));
});

test('4,000 services: a bad field is still reported with its path and line; the fast read takes a valid config of that size', () => {
  const lines = ['authority:', '  name: scale', '  tenants:', '    - { name: t0, members: [10.0.0.0/24] }', '  services:'];
  const first = lines.length + 1;
  const services = (bad: number): string[] => Array.from({ length: 4_000 }, (_, i) =>
    `    - { name: s${i}, addresses: [${i === bad ? '100.64.300.1/32' : `100.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`}], access-policy: [{ source: t0 }] }`);
  const text = (bad: number): string => [...lines, ...services(bad), '  routers:', '    - name: r1', '      interfaces: [{ name: lan0, kind: lan }]', ''].join('\n');
  try {
    parseConfig(text(3_321), 'scale.yaml');
    assert.unreachable('a bad address passed');
  } catch (e) {
    assert.instance(e, ConfigError);
    const problems = (e as ConfigError).data.problems;
    assert.is(problems.length, 1, JSON.stringify(problems));
    assert.is(problems[0]!.path, 'authority.services[3321].addresses[0]');
    assert.is(problems[0]!.line, first + 3_321);
    assert.match((e as ConfigError).message, new RegExp(`authority\\.services\\[3321\\]\\.addresses\\[0\\]: .*\\(line ${first + 3_321}, column \\d+\\)`));
  }
  // the valid one is read without positions (its cost: docs/performance.md "Config at scale", never timed here)
  assert.ok(readPlainYaml(text(-1)) !== undefined, 'the fast read takes the valid config');
  const config = parseConfig(text(-1), 'scale.yaml');
  assert.is(config.authority.services.length, 4_000);
});

test.run();
