/**
 * The web UI's room (ui/, docs/architecture.md "The web UI"): browser code bundled by esbuild, outside
 * src/. It may take the server's types (type-only imports of src/, erased from the bundle) but no code
 * of src/; it may import only the packages the page ships (preact, uplot); and nothing in src/ imports
 * ui/ (the conductor serves the built files, it does not import them).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { findPackageRoot } from '../../../src/native/addon.js';
import { importsOf } from './import-graph.js';

const root = findPackageRoot();
const UI_PACKAGES = ['preact', 'uplot'];

function files(dir: string, ext: RegExp): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (ext.test(e.name)) out.set(p, readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

/** Specifiers of value imports and re-exports (`import type` / `export type` left out). */
function valueImports(source: string): string[] {
  const typeOnly = new Set([...source.matchAll(/^\s*(?:import|export)\s+type\s[^;]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]!));
  return importsOf(source).filter((s) => !typeOnly.has(s));
}

const ui = files(join(root, 'ui', 'src'), /\.tsx?$/);

test('the UI sources are there and import something', () => {
  assert.ok(ui.size >= 10, `${ui.size} files under ui/src`);
});

test('ui/ takes only types from src/, and only preact and uplot from npm', () => {
  const bad: string[] = [];
  for (const [file, text] of ui) {
    for (const spec of valueImports(text)) {
      const at = relative(root, file);
      if (spec.startsWith('.')) {
        const target = relative(root, resolve(dirname(file), spec));
        if (!target.startsWith(`ui${'/'}`)) bad.push(`${at} imports code of ${target}`);
      } else if (!spec.endsWith('.css') && !UI_PACKAGES.includes(spec.split('/')[0]!)) {
        bad.push(`${at} imports the package ${spec}`);
      }
    }
  }
  assert.equal(bad, []);
});

test('src/ never imports ui/', () => {
  const bad: string[] = [];
  for (const [file, text] of files(join(root, 'src'), /\.ts$/)) {
    for (const spec of importsOf(text)) if (spec.startsWith('.') && relative(root, resolve(dirname(file), spec)).startsWith(`ui${'/'}`)) bad.push(`${relative(root, file)} imports ${spec}`);
  }
  assert.equal(bad, []);
});

test('the check sees a value import of src/ (it would fail on one)', () => {
  assert.equal(valueImports("import type { A } from '../../src/a.js';\nimport { b } from '../../src/b.js';\n"), ['../../src/b.js']);
});

test.run();
