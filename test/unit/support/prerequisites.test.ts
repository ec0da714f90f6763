/**
 * The prerequisite mechanism itself (test/support/prerequisites.ts, run-tests.ts, uvu-summary.ts): a file
 * whose tool or the native addon is missing (hidden with SVR_HIDE_TOOLS) is announced by `npm test`, its tests
 * are counted as skipped, and under SVR_CI=1 the run fails naming it; uvu's summary is read back correctly.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SvrError } from '../../../src/errors.js';
import { tryLoadAddon } from '../../../src/native/addon.js';
import { fixFor, missingOf, TEST_NEEDS } from '../../support/prerequisites.js';
import { failedSections, parseUvuSummary, summaryProblems } from '../../support/uvu-summary.js';

const RUN_TESTS = fileURLToPath(new URL('../../support/run-tests.js', import.meta.url));
const plain = (s: string): string => s.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');

/** `node run-tests.js <pattern>` with `env`; its output without colours. */
function runTests(pattern: string, env: Record<string, string>): { code: number | null; out: string } {
  const r = spawnSync(process.execPath, [RUN_TESTS, pattern], {
    encoding: 'utf8', timeout: 60_000, env: { ...process.env, SVR_CI: '', ...env },
  });
  return { code: r.status, out: plain(`${r.stdout}${r.stderr}`) };
}

/** the C-endpoint tests (they need cc) */
const runUdpLoadTests = (env: Record<string, string>) => runTests('unit/bench/udp-load\\.test\\.js$', env);
/** the native checksum's tests (they need the addon) */
const runChecksumTests = (env: Record<string, string>) => runTests('unit/packet/native-checksum\\.test\\.js$', env);
/** how many tests that file has (each a top-level `test(`): what a hidden addon counts as skipped */
const CHECKSUM_TESTS = (readFileSync(fileURLToPath(new URL('../packet/native-checksum.test.js', import.meta.url)), 'utf8').match(/^test\(/gm) ?? []).length;

test('a hidden tool: npm test says so first, the file\'s tests count as skipped with the reason, the run passes', () => {
  const r = runUdpLoadTests({ SVR_HIDE_TOOLS: 'cc' });
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /^npm test: .*`cc` is not installed \(package gcc\)/m);
  assert.match(r.out, /These test files will be counted as skipped: .*unit\/bench\/udp-load\.test \(cc\)/);
  assert.match(r.out, /To run them: (sudo )?npx svr setup \(installs [^)]*gcc/);
  assert.match(r.out, /SKIPPED 3 tests of unit\/bench\/udp-load\.test: `cc` is not installed/);
  assert.equal(parseUvuSummary(r.out), { total: 0, passed: 0, skipped: 3 });
});

test('the same under CI (SVR_CI=1): a failing test names the tool and the run fails', () => {
  const r = runUdpLoadTests({ SVR_HIDE_TOOLS: 'cc', SVR_CI: '1' });
  assert.is(r.code, 1, r.out);
  assert.match(r.out, /Under CI \(SVR_CI=1\) these test files fail: .*udp-load/);
  assert.match(r.out, /unit\/bench\/udp-load\.test cannot run under CI: `cc` is not installed \(package gcc\)/);
  assert.match(r.out, /npm test: 3 tests were skipped; under CI \(SVR_CI=1\) every test must run/);
  assert.match(r.out, /npm test: the test files that did not pass:\n\s+unit\/bench\/udp-load\.test\.js\n/);
});

test('a hidden addon: npm test says so first and runs; the tests of a file that needs it count as skipped, none passes with a note', () => {
  const r = runChecksumTests({ SVR_HIDE_TOOLS: 'addon' });
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /^npm test: .*the native addon is hidden \(SVR_HIDE_TOOLS names addon\)/m);
  assert.match(r.out, /These test files will be counted as skipped: .*unit\/packet\/native-checksum\.test \(addon\)/);
  assert.match(r.out, /To run them: (sudo )?npx svr setup \([^)]*builds the native addon\)/);
  assert.ok(CHECKSUM_TESTS >= 3, `native-checksum tests counted: ${CHECKSUM_TESTS}`);
  assert.match(r.out, new RegExp(`SKIPPED ${CHECKSUM_TESTS} tests of unit/packet/native-checksum\\.test: the native addon is hidden`));
  assert.equal(parseUvuSummary(r.out), { total: 0, passed: 0, skipped: CHECKSUM_TESTS });
});

test('a hidden addon under CI (SVR_CI=1): a failing test names it and the run fails', () => {
  const r = runChecksumTests({ SVR_HIDE_TOOLS: 'addon', SVR_CI: '1' });
  assert.is(r.code, 1, r.out);
  assert.match(r.out, /unit\/packet\/native-checksum\.test cannot run under CI: the native addon is hidden/);
  assert.match(r.out, new RegExp(`npm test: ${CHECKSUM_TESTS} tests were skipped; under CI \\(SVR_CI=1\\) every test must run`));
});

test('missingOf: the addon is missing when it does not load or is hidden; fixFor builds it', () => {
  assert.is(missingOf(['addon'], { ...process.env, SVR_HIDE_TOOLS: '' }).length, tryLoadAddon() instanceof SvrError ? 1 : 0);
  const m = missingOf(['addon', 'tcpdump'], { ...process.env, SVR_HIDE_TOOLS: 'addon tcpdump' });
  assert.equal(m.map((x) => x.what), ['addon', 'tcpdump']);
  assert.is(fixFor(m), 'npx svr setup (installs tcpdump; builds the native addon)');
  assert.is(fixFor([{ what: 'root', why: 'not root' }, m[0]!]), 'sudo npx svr setup (builds the native addon), then run the tests as root');
});

test('missingOf and fixFor: tools by package, root first, the one command', () => {
  const hide = { ...process.env, SVR_HIDE_TOOLS: 'tcpdump,openssl' };
  const m = missingOf(['tcpdump', 'openssl'], hide);
  assert.equal(m.map((x) => x.what), ['tcpdump', 'openssl']);
  assert.is(fixFor(m), 'npx svr setup (installs tcpdump openssl)');
  assert.is(fixFor([{ what: 'root', why: 'not root' }, ...m]), 'sudo npx svr setup (installs tcpdump openssl), then run the tests as root');
  assert.is(fixFor([{ what: 'root', why: 'not root' }]), 'run the tests as root');
});

test('every file in TEST_NEEDS exists', () => {
  for (const file of Object.keys(TEST_NEEDS)) {
    assert.ok(existsSync(new URL(`../../${file}.js`, import.meta.url)), `${file}.js is not in dist/test`);
  }
});

test('uvu summary: parsed with or without colour; a test that did not pass or, under CI, a skip is a problem', () => {
  const out = '\n  Total:     75\x1b[32m\n  Passed:    74\x1b[39m\n  Skipped:   \x1b[33m2\x1b[39m\n  Duration:  2881.52ms\n\n';
  const s = parseUvuSummary(out);
  assert.equal(s, { total: 75, passed: 74, skipped: 2 });
  assert.equal(summaryProblems(s, false), ['1 of 75 tests did not pass (failed, or never ran after a before hook threw)']);
  assert.is(summaryProblems(s, true).length, 2);
  assert.equal(summaryProblems({ total: 3, passed: 3, skipped: 1 }, false), []);
  assert.equal(summaryProblems(undefined, false), ['uvu printed no summary: the run did not finish']);
});

test('the files that did not pass are named again at the end, with their FAIL blocks; passed files are not', () => {
  const out = [
    'unit/a.test.js', '• • •   (3 / 3)', '',
    'e2e/b.test.js', '• ✘   (1 / 2)', '', '  FAIL  "the path fails over"', '    Expected 1 to be 2', '',
    'e2e/c.test.js', '',
    'unit/d.test.js', '•   (1 / 1)',
    '  Total:     6', '  Passed:    5', '  Skipped:   0',
  ].join('\n');
  assert.equal(failedSections(out), ['e2e/b.test.js', '• ✘   (1 / 2)', '  FAIL  "the path fails over"', '    Expected 1 to be 2', 'e2e/c.test.js']);
});

test.run();
