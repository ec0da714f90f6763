/**
 * The addon's crypto functions called directly: they resolve Node's own OpenSSL, throw coded errors for
 * bad kinds, keys, handles and arguments, and their handles survive destroy twice and garbage collection.
 */
import { spawnSync } from 'node:child_process';
import * as assert from 'uvu/assert';
import { isSvrError } from '../../../src/errors.js';
import { isNativeCryptoError, loadNativeCrypto, mapNativeCryptoError, type SvrNativeCrypto } from '../../../src/crypto/native-binding.js';
import { requires } from '../../support/prerequisites.js';

const test = requires(import.meta.url); // the addon (skipped without it, hooks dropped)
let n: SvrNativeCrypto;
test.before(() => {
  n = loadNativeCrypto();
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}

test('the addon runs the OpenSSL of this Node process', () => {
  assert.is(n.cryptoOpensslVersion(), process.versions.openssl);
});

test('unknown kinds and bad key lengths throw coded errors, mapped to SvrError SVR_ERR_CONFIG_INVALID', () => {
  assert.is(codeOf(() => n.cipherCreate('aes-256-ecb', new Uint8Array(32))), 'SVR_CRYPTO_KIND');
  assert.is(codeOf(() => n.cipherCreate('aes-128-cbc', new Uint8Array(32))), 'SVR_CRYPTO_KEY');
  assert.is(codeOf(() => n.cipherCreate('aes-256-gcm', new Uint8Array(16))), 'SVR_CRYPTO_KEY');
  assert.is(codeOf(() => n.hmacCreate('md5', new Uint8Array(16))), 'SVR_CRYPTO_KIND');
  assert.is(codeOf(() => n.hmacCreate('sha256', new Uint8Array(0))), 'SVR_CRYPTO_KEY');
  try {
    n.cipherCreate('aes-256-cbc', new Uint8Array(31).fill(0x41));
    assert.unreachable();
  } catch (e) {
    assert.ok(isNativeCryptoError(e, 'SVR_CRYPTO_KEY'));
    assert.not.match((e as Error).message, /41/);
    const m = mapNativeCryptoError(e);
    assert.ok(isSvrError(m, 'SVR_ERR_CONFIG_INVALID'));
  }
  const other = new RangeError('x');
  assert.is(mapNativeCryptoError(other), other, 'other errors pass through');
});

test('handles are checked: wrong type, foreign values and destroyed handles throw SVR_CRYPTO_HANDLE', () => {
  const c = n.cipherCreate('aes-256-cbc', new Uint8Array(32));
  const h = n.hmacCreate('sha1', new Uint8Array(20));
  const d = new Uint8Array(100);
  const o = Uint32Array.of(0);
  const l = Uint32Array.of(10);
  assert.is(codeOf(() => n.hmacSignBatch(c, d, o, l, 1, 20, -1)), 'SVR_CRYPTO_HANDLE');
  assert.is(codeOf(() => n.encryptBatch(h, d, o, l, 1)), 'SVR_CRYPTO_HANDLE');
  assert.is(codeOf(() => n.encryptBatch({} as never, d, o, l, 1)), 'SVR_CRYPTO_HANDLE');
  n.cryptoDestroy(c);
  n.cryptoDestroy(c);
  n.cryptoDestroy(h);
  n.cryptoDestroy(h);
  assert.is(codeOf(() => n.encryptBatch(c, d, o, l, 1)), 'SVR_CRYPTO_HANDLE');
  assert.is(codeOf(() => n.hmacVerifyBatch(h, d, o, l, 1, 20, -1, new Uint8Array(1))), 'SVR_CRYPTO_HANDLE');
  assert.equal([...l], [10]);
});

test('argument checks: tagLength range, typed array types, count', () => {
  const h = n.hmacCreate('sha256', new Uint8Array(32));
  const d = new Uint8Array(100);
  const o = Uint32Array.of(0);
  const l = Uint32Array.of(10);
  assert.is(codeOf(() => n.hmacSignBatch(h, d, o, l, 1, 0, -1)), 'SVR_CRYPTO_RANGE');
  assert.is(codeOf(() => n.hmacSignBatch(h, d, o, l, 1, 33, -1)), 'SVR_CRYPTO_RANGE');
  assert.is(codeOf(() => n.hmacSignBatch(h, d, o, l, 2, 16, -1)), 'SVR_CRYPTO_RANGE');
  assert.throws(() => n.hmacSignBatch(h, d, new Int32Array(1) as unknown as Uint32Array, l, 1, 16, -1), TypeError);
  assert.throws(() => n.hmacSignBatch(h, d, o, l, -1, 16, -1), TypeError);
  n.hmacSignBatch(h, d, o, l, 1, 32, 0xffffffff);
  assert.equal([...l], [42]);
  n.cryptoDestroy(h);
});

test('many handles left to the garbage collector are freed by their finalizers', () => {
  // A child with --expose-gc creates 8 rounds of 20,000 cipher and 20,000 HMAC handles and drops them. Measured
  // here: the RSS stays within ~2 MB from round 2 on; with the handles kept (as if never finalized) it grows by
  // ~78 MB per round, so a leak would be > 400 MB over rounds 2..8.
  const binding = new URL('../../../src/crypto/native-binding.js', import.meta.url).href;
  const code = `
    const { loadNativeCrypto } = await import(${JSON.stringify(binding)});
    const n = loadNativeCrypto();
    const rss = [];
    for (let r = 0; r < 8; r++) {
      for (let i = 0; i < 20000; i++) {
        n.cipherCreate('aes-256-gcm', new Uint8Array(32));
        n.hmacCreate('sha256', new Uint8Array(32));
      }
      globalThis.gc();
      await new Promise((r) => setImmediate(r));
      globalThis.gc();
      rss.push(process.memoryUsage().rss);
    }
    console.log(JSON.stringify(rss));`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  const rss = JSON.parse(r.stdout) as number[];
  const growthMb = (rss[7]! - rss[1]!) / 1048576;
  assert.ok(growthMb < 40, `RSS grew by ${growthMb.toFixed(1)} MB from round 2 to 8: handles are not freed (${rss.map((x) => Math.round(x / 1048576)).join(', ')} MB)`);
});

test.run();
