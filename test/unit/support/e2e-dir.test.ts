/**
 * e2eDir (test/e2e/support.ts): an e2e file's directory under the temporary dir is removed when every test of the
 * file passed, and kept, its path printed, when one failed (test/support/e2e-dir-fixture.ts run as a process).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const FIXTURE = fileURLToPath(new URL('../../support/e2e-dir-fixture.js', import.meta.url));
const plain = (s: string): string => s.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');

/** The fixture's run: its exit code, output and directory. */
function runFixture(fail: boolean): { code: number | null; out: string; dir: string } {
  const r = spawnSync(process.execPath, [FIXTURE, fail ? 'fail' : 'pass'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, SVR_CI: '' } });
  const out = plain(`${r.stdout}${r.stderr}`);
  const dir = /^dir=(.+)$/m.exec(out)?.[1] ?? '';
  assert.ok(dir !== '', out);
  return { code: r.status, out, dir };
}

test('every test passed: the directory is gone', () => {
  const r = runFixture(false);
  assert.is(r.code, 0, r.out);
  assert.not.ok(existsSync(r.dir), `${r.dir} removed`);
  assert.not.match(r.out, /kept /);
});

test('a test failed: the directory is kept with its files and its path printed', () => {
  const r = runFixture(true);
  try {
    assert.is(r.code, 1, r.out);
    assert.ok(existsSync(`${r.dir}/state`), `${r.dir} kept`);
    assert.ok(r.out.includes(`kept ${r.dir} (a test of this file did not pass)`), r.out);
  } finally {
    rmSync(r.dir, { recursive: true, force: true });
  }
});

test.run();
