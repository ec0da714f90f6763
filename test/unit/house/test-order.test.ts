/**
 * Every test file runs all of its tests: uvu runs what was registered before `test.run()`, so a test declared
 * after it never runs and never fails (two did, in telemetry, until 2026-12-06), and a `test.only` silently
 * skips the rest of its file.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { findPackageRoot } from '../../../src/native/addon.js';

/** The problems of one test file's text: registrations after `test.run()`, `test.only`, no or several runs. */
export function testOrderProblems(text: string): string[] {
  const lines = text.split('\n');
  const runs = lines.flatMap((l, i) => (/^test\.run\(\)/.test(l) ? [i] : []));
  if (runs.length !== 1) return [`${runs.length} top-level test.run() calls (one, after every test, is right)`];
  const problems: string[] = [];
  lines.forEach((l, i) => {
    if (/^test\.only\(/.test(l)) problems.push(`line ${i + 1}: test.only skips every other test of the file`);
    else if (i > runs[0]! && /^test(\.(skip|before|after|before\.each|after\.each))?\(/.test(l)) {
      problems.push(`line ${i + 1}: registered after test.run() on line ${runs[0]! + 1}, so it never runs`);
    }
  });
  return problems;
}

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return testFiles(p);
    return e.name.endsWith('.test.ts') ? [p] : [];
  });
}

test('the check finds a test after test.run(), a test.only and a missing run', () => {
  assert.equal(testOrderProblems("test('a', () => {});\ntest.run();\n").length, 0);
  assert.match(testOrderProblems("test('a', () => {});\ntest.run();\ntest('b', () => {});\n")[0]!, /line 3: registered after/);
  const focused = ['test', 'only'].join('.'); // not written out: a focused test in this file's text would itself be one
  assert.match(testOrderProblems(`${focused}('a', () => {});\ntest.run();\n`)[0]!, /line 1: test.only/);
  assert.match(testOrderProblems("test('a', () => {});\n")[0]!, /0 top-level test.run/);
});

test('every test file registers its tests before its one test.run()', () => {
  const root = findPackageRoot();
  const files = testFiles(join(root, 'test'));
  assert.ok(files.length > 200, `${files.length} test files found under ${join(root, 'test')}`);
  const problems = files.flatMap((f) => testOrderProblems(readFileSync(f, 'utf8')).map((p) => `${relative(root, f)}: ${p}`));
  assert.equal(problems, [], problems.join('\n'));
});

test.run();
