/** `svr identity new|show`: a router's X25519 key pair for the key exchange. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readPrivateKeyFile } from '../../../src/crypto/identity-file.js';
import { isSvrError } from '../../../src/errors.js';

const run = promisify(execFile);
const SVR = fileURLToPath(new URL('../../../../bin/svr.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'svr-identity-'));

test('new writes a private key readable only by root and prints its public key; show prints the same; no overwrite', async () => {
  const file = join(dir, 'r1.key');
  const { stdout } = await run(process.execPath, [SVR, 'identity', 'new', '--out', file]);
  assert.match(stdout, /^[A-Za-z0-9+/]{43}=\n$/);
  assert.is(statSync(file).mode & 0o777, 0o600);
  assert.is((await run(process.execPath, [SVR, 'identity', 'show', file])).stdout, stdout);
  assert.is(Buffer.from(readPrivateKeyFile(file).publicKey).toString('base64'), stdout.trim());
  const again = await run(process.execPath, [SVR, 'identity', 'new', '--out', file]).then(() => null, (e: { code: number; stderr: string }) => e);
  assert.is(again?.code, 1);
  assert.match(again!.stderr, 'already exists');
});

test('a file that is not a key is refused with a clear error (SVR_ERR_IDENTITY_KEY)', () => {
  const file = join(dir, 'bad.key');
  writeFileSync(file, 'hello\n');
  for (const f of [file, join(dir, 'missing.key')]) {
    try {
      readPrivateKeyFile(f);
      assert.unreachable('refused');
    } catch (e) {
      assert.ok(isSvrError(e, 'SVR_ERR_IDENTITY_KEY'), String(e));
    }
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
