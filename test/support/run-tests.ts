/**
 * `npm test` (after tsc): says first what this host lacks, which test files will therefore be counted as
 * skipped and the one command that installs it; runs uvu on dist/test; then checks uvu's summary
 * (uvu-summary.ts): a test that did not pass, or under CI (SVR_CI=1, set by .ci/run) any skipped test,
 * fails the run, and the sections of the files that did not pass are printed again at the end. The native addon is
 * one of the prerequisites: without it the files that need it (TEST_NEEDS) are counted as skipped, the rest run.
 * Argument: a uvu file pattern (default `\.test\.js$`), e.g. `npm test -- 'unit/model/.*\.test\.js$'`.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fixFor, missingOf, TEST_NEEDS, TEST_ROOT, type Missing } from './prerequisites.js';
import { failedSections, parseUvuSummary, summaryProblems } from './uvu-summary.js';

const UVU = fileURLToPath(new URL('../../../node_modules/uvu/bin.js', import.meta.url));
const ci = process.env['SVR_CI'] === '1';

/** The lines `npm test` starts with when something is missing ([] when nothing is). */
function preflight(): string[] {
  const skipped: { file: string; missing: Missing[] }[] = [];
  for (const [file, needs] of Object.entries(TEST_NEEDS)) {
    const missing = missingOf(needs);
    if (missing.length > 0) skipped.push({ file, missing });
  }
  if (skipped.length === 0) return [];
  const all = new Map<string, Missing>();
  for (const s of skipped) for (const m of s.missing) all.set(m.what, m);
  return [
    `npm test: ${[...all.values()].map((m) => m.why).join('; ')}.`,
    `  ${ci ? 'Under CI (SVR_CI=1) these test files fail' : 'These test files will be counted as skipped'}: `
      + `${skipped.map((s) => `${s.file} (${s.missing.map((m) => m.what).join(', ')})`).join(', ')}.`,
    `  To run them: ${fixFor([...all.values()])}.`,
  ];
}

for (const line of preflight()) console.log(line);

const child = spawn(process.execPath, [UVU, TEST_ROOT, process.argv[2] ?? '\\.test\\.js$'], { stdio: ['inherit', 'pipe', 'inherit'] });
const chunks: Buffer[] = [];
/** uvu exits when the event loop is empty: a test that failed before its cleanup leaves timers that keep it alive */
const EXIT_GRACE_MS = 15_000;
let lingered = false;
child.stdout.on('data', (d: Buffer) => {
  process.stdout.write(d);
  chunks.push(d);
  if (/Duration:/.test(d.toString('utf8'))) {
    setTimeout(() => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      lingered = true;
      child.kill('SIGKILL');
    }, EXIT_GRACE_MS).unref();
  }
});
child.on('close', (code) => {
  if (lingered) console.error(`npm test: uvu printed its summary but had not exited ${EXIT_GRACE_MS / 1000} s later (a test left a timer or handle alive, often after a failed assertion skipped its cleanup); stopped it`);
  const output = Buffer.concat(chunks).toString('utf8');
  const problems = summaryProblems(parseUvuSummary(output), ci);
  // repeated at the end: a CI log is often read from its tail only
  const failed = problems.length > 0 ? failedSections(output) : [];
  if (failed.length > 0) console.error(['npm test: the test files that did not pass:', ...failed.map((l) => `  ${l}`)].join('\n'));
  for (const p of problems) console.error(`npm test: ${p}`);
  process.exitCode = code !== 0 ? (code ?? 1) : problems.length > 0 ? 1 : 0;
});
