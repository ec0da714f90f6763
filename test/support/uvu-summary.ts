/**
 * uvu's closing summary ("Total: N / Passed: N / Skipped: N") read back from its output, and what makes a
 * run dishonest even when uvu exits 0: counted tests that did not pass (uvu swallows an exception thrown by
 * a `before` hook: the file's tests then neither pass nor fail), and, under CI, any skipped test.
 */

export interface UvuSummary {
  total: number;
  passed: number;
  skipped: number;
}

// the colour codes uvu prints (its CLI forces colour)
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** The last summary in `output`, or undefined when uvu printed none (it crashed or never got there). */
export function parseUvuSummary(output: string): UvuSummary | undefined {
  const text = output.replace(ANSI, '');
  const m = [...text.matchAll(/Total:\s+(\d+)\s+Passed:\s+(\d+)\s+Skipped:\s+(\d+)/g)].at(-1);
  return m === undefined ? undefined : { total: Number(m[1]), passed: Number(m[2]), skipped: Number(m[3]) };
}

/** One line per problem with the run ([] = honest). `ci`: skipped tests are a problem too. */
export function summaryProblems(s: UvuSummary | undefined, ci: boolean): string[] {
  if (s === undefined) return ['uvu printed no summary: the run did not finish'];
  const out: string[] = [];
  if (s.passed < s.total) out.push(`${s.total - s.passed} of ${s.total} tests did not pass (failed, or never ran after a before hook threw)`);
  if (ci && s.skipped > 0) out.push(`${s.skipped} tests were skipped; under CI (SVR_CI=1) every test must run`);
  return out;
}

/**
 * The sections of uvu's output for test files that did not fully pass (their header, FAIL blocks and a
 * count below its total, or no count at all when a hook threw), so the end of a long CI log names them.
 */
export function failedSections(output: string, maxLines = 40): string[] {
  const lines = output.replace(ANSI, '').split('\n');
  const out: string[] = [];
  let header: string | undefined;
  let body: string[] = [];
  const flush = (): void => {
    if (header === undefined) return;
    const text = body.join('\n');
    const count = [...text.matchAll(/\((\d+) \/ (\d+)\)/g)].at(-1);
    const failed = text.includes(' FAIL ') || count === undefined || count[1] !== count[2];
    if (failed) out.push(header, ...body.filter((l) => l.trim() !== '').slice(0, maxLines));
  };
  for (const line of lines) {
    if (/^(unit|e2e|compliance)\/\S+\.test\.js$/.test(line.trim())) {
      flush();
      header = line.trim();
      body = [];
    } else if (/^\s*Total:/.test(line)) {
      flush();
      header = undefined;
    } else if (header !== undefined) body.push(line);
  }
  flush();
  return out;
}
