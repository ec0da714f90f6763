/**
 * An e2e file keeps its lab directory (the nodes' logs) when a test failed: e2eDir (test/e2e/support.ts) removes it
 * only when every test passed. An after hook that removes it itself runs before that and loses the logs of the
 * failed run (18 files did, until 2026-12-07); one that removes it only when nothing failed (a `failed` flag) is fine.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { findPackageRoot } from '../../../src/native/addon.js';

/** The lines of top-level after hooks that remove a directory whatever the tests did. */
export function unconditionalRemovals(text: string): string[] {
  const lines = text.split('\n');
  const found: string[] = [];
  let inAfter = false;
  lines.forEach((l, i) => {
    if (/^\s*test\.after\(/.test(l)) inAfter = true;
    else if (inAfter && /^\s*\}\);/.test(l)) inAfter = false;
    else if (inAfter && /\brmSync\(/.test(l) && !/\b(if|else)\b/.test(l)) found.push(`line ${i + 1}: ${l.trim()}`);
  });
  return found;
}

test('the check finds an after hook that removes its directory whatever happened, not one that keeps it on failure', () => {
  assert.equal(unconditionalRemovals('test.after(() => {\n  downSync();\n  rmSync(dir, { recursive: true, force: true });\n});\n').length, 1);
  assert.equal(unconditionalRemovals('test.after(async () => {\n  if (failed) console.log(base);\n  else rmSync(base, { recursive: true });\n});\n'), []);
  assert.equal(unconditionalRemovals('test.after(() => {\n  downSync();\n});\nconst f = () => rmSync(x);\n'), []);
});

test('no e2e after hook removes the lab directory of a failed run', () => {
  const dir = join(findPackageRoot(), 'test', 'e2e');
  const problems = readdirSync(dir).filter((f) => f.endsWith('.test.ts'))
    .flatMap((f) => unconditionalRemovals(readFileSync(join(dir, f), 'utf8')).map((p) => `test/e2e/${f}: ${p}`));
  assert.equal(problems, [], problems.join('\n'));
});

test.run();
