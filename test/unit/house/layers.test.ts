/**
 * The layering of src/ (docs/architecture.md, "Layers"): every import of every src file is allowed by the
 * doc's layer table, every folder is in it, and the table names no import that the code does not make.
 * The checker itself is tested in import-graph.test.ts (it fails on a deliberate upward import).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { findPackageRoot } from '../../../src/native/addon.js';
import { checkLayers, checkPicture, describeViolations, importsOf, parseLayerPicture, parseLayerTable, type LayerRule } from './import-graph.js';

const root = findPackageRoot();
const doc = readFileSync(join(root, 'docs', 'architecture.md'), 'utf8');
const rules = parseLayerTable(doc);

function sourceFiles(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) files.set(relative(dir, p).split('\\').join('/'), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return files;
}

const files = sourceFiles(join(root, 'src'));
const rule = (folder: string): LayerRule => {
  const r = rules.find((x) => x.folder === folder);
  if (r === undefined) throw new Error(`no row for ${folder} in the layer table`);
  return r;
};

test('the check sees the whole of src (files, folders and imports)', () => {
  assert.ok(files.size > 200, `${files.size} source files found under ${join(root, 'src')}`);
  const imports = [...files.values()].reduce((n, text) => n + importsOf(text).length, 0);
  assert.ok(imports > 500, `${imports} imports found`);
  assert.ok(rules.length >= 15, `${rules.length} rows in the layer table`);
});

test('every import of src follows the layer table of docs/architecture.md, and the table matches the imports', () => {
  const violations = checkLayers(files, rules);
  assert.equal(violations, [], `\n${describeViolations(violations)}\n`);
});

test('the layer picture of docs/architecture.md shows every folder above the folders it imports', () => {
  const violations = checkPicture(parseLayerPicture(doc), rules);
  assert.equal(violations, [], `\n${describeViolations(violations)}\n`);
});

test('the data path imports no npm package (no xstate, rxjs, level, msgpackr, fastify, ...)', () => {
  for (const folder of ['dataplane', 'packet', 'crypto', 'native']) assert.equal(rule(folder).packages, [], `${folder}: packages`);
});

test('machines are pure: xstate and the types of packet/ only', () => {
  const m = rule('machines');
  assert.equal(m.packages, ['xstate']);
  for (const to of m.imports) assert.ok(['packet', 'model'].includes(to), `machines may import ${to}`);
});

test.run();
