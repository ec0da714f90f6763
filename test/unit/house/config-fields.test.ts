/**
 * docs/configuration.md names every config field: each key the readers accept (the `*_KEYS` lists of
 * src/model/read-*.ts, which are also what makes an unknown key an error) is a segment of a backticked field
 * path there (`probe-address`, `nodes[].probe-address`, `{ device, address }`).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { findPackageRoot } from '../../../src/native/addon.js';

const root = findPackageRoot();

/** Each `*_KEYS = [...]` list of one source text, by name. */
function keyLists(source: string): Map<string, string[]> {
  return new Map([...source.matchAll(/const (\w+_KEYS) = \[([^\]]*)\]/g)].map((m) => [m[1]!, [...m[2]!.matchAll(/'([^']+)'/g)].map((k) => k[1]!)] as const));
}

/** The path segments of a markdown text's backticked spans. */
function fieldSegments(markdown: string): Set<string> {
  return new Set([...markdown.matchAll(/`([^`\n]+)`/g)].flatMap((m) => m[1]!.split(/[.[\]{},:\s=|()?]+/)));
}

test('the readers take key lists and the doc field paths apart', () => {
  assert.equal([...keyLists("export const A_KEYS = ['name', 'sync-address'] as const;\nconst B_KEYS = [\n  'x',\n] as const;")], [['A_KEYS', ['name', 'sync-address']], ['B_KEYS', ['x']]]);
  const segs = fieldSegments('| `nodes[].probe-address` | `{ device, address? }` | `timeouts.tcp-initial` |');
  for (const k of ['nodes', 'probe-address', 'device', 'address', 'timeouts', 'tcp-initial']) assert.ok(segs.has(k), k);
  assert.not.ok(segs.has('probe'));
});

test('docs/configuration.md names every key the config readers accept', () => {
  const segments = fieldSegments(readFileSync(join(root, 'docs', 'configuration.md'), 'utf8'));
  const dir = join(root, 'src', 'model');
  const lists = readdirSync(dir).filter((f) => /^read-.*\.ts$/.test(f)).flatMap((f) => [...keyLists(readFileSync(join(dir, f), 'utf8'))].map(([n, keys]) => [`${f} ${n}`, keys] as const));
  assert.ok(lists.length > 30, `${lists.length} key lists`);
  const missing = lists.flatMap(([where, keys]) => keys.filter((k) => !segments.has(k)).map((k) => `${k} (${where})`));
  assert.equal(missing, []);
});

test.run();
