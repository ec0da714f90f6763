/**
 * A file of two tests around e2eDir (test/e2e/support.ts), run as its own process by
 * test/unit/support/e2e-dir.test.ts: the first writes into the directory and prints its path, the second fails
 * when the process's argument is `fail`. Not a *.test file: `npm test` does not run it.
 */
import * as assert from 'uvu/assert';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { e2eDir } from '../e2e/support.js';
import { requires } from './prerequisites.js';

const test = requires(import.meta.url);
const dir = e2eDir(test, `${process.env['SVR_E2E_PREFIX'] ?? 'svrt'}-e2e-dir-fixture`, () => undefined);

test('writes into its directory', () => {
  writeFileSync(join(dir, 'state'), 'a lab would keep its files here');
  console.log(`dir=${dir}`);
});

test('passes unless told to fail', () => {
  assert.is.not(process.argv[2], 'fail', 'told to fail');
});

test.run();
