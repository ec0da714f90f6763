/**
 * The API report (docs/api-report.md) matches the emitted declarations of every entry point, and the public
 * declarations use no type of the package that no entry point exports. SVR_UPDATE_DOCS=1 rewrites the report.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findPackageRoot } from '../../../src/native/addon.js';
import { apiReport, entryPoints } from './api-report.js';

const root = findPackageRoot();
const file = join(root, 'docs', 'api-report.md');
const report = apiReport(root);

test('the entry points are the package exports: svrouter, svrouter/plugins, svrouter/plugins/compliance and each built-in plugin', () => {
  const specs = entryPoints(root).map((e) => e.specifier);
  for (const s of ['svrouter', 'svrouter/plugins', 'svrouter/plugins/compliance', 'svrouter/plugins/firewall', 'svrouter/plugins/nat']) assert.ok(specs.includes(s), s);
});

test('every type a public declaration uses is exported', () => {
  assert.equal(report.leaks, [], `used by the public surface but not exported: ${report.leaks.join(', ')}`);
});

test('docs/api-report.md is the public surface of the code', () => {
  const committed = existsSync(file) ? readFileSync(file, 'utf8') : '';
  if (committed !== report.markdown && process.env['SVR_UPDATE_DOCS'] === '1') writeFileSync(file, report.markdown);
  else assert.fixture(committed, report.markdown, 'the public surface changed: regenerate with SVR_UPDATE_DOCS=1 npx uvu dist/test api-report and review the diff');
});

test.run();
