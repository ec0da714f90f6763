/**
 * native/aes-cbc-vaes.c: AES-CBC decryption four blocks per instruction, the plaintext written moved down by the IV
 * in the same pass, and batches encrypted 16 chains at a time. Golden: node:crypto's plaintext for every block count
 * 1-48 (the 16-block groups, every tail of 1-15 blocks, the masked last vector) and both key sizes, regions packed
 * back to back so a store past a region would show in its neighbour; bad padding zeroes the region as before;
 * node:crypto's ciphertext for batches of 1-40 packets of mixed lengths (lanes that run dry and refill). Skipped (reported) where the CPU has no
 * VAES, and without the addon (test/support/prerequisites.ts).
 */
import * as assert from 'uvu/assert';
import { createCipheriv } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { BatchCipher, DECRYPT_BAD_PADDING, DECRYPT_OK } from '../../../src/crypto/native-crypto.js';
import { tryLoadNativeCrypto } from '../../../src/crypto/native-binding.js';
import { SvrError } from '../../../src/errors.js';
import { requires } from '../../support/prerequisites.js';
import { Rng, makeBatch, region, sameBytes } from './support.js';

const test = requires(import.meta.url); // the addon (skipped without it)

const native = tryLoadNativeCrypto();
const flags = (existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '').match(/^flags\s*:(.*)$/m)?.[1] ?? '';
const cpuVaes = / vaes\b/.test(flags) && / avx512f\b/.test(flags) && / aes\b/.test(flags);
const rng = new Rng(0xae5);

/** Regions IV || CBC(plaintext of `len` bytes, PKCS#7) back to back (no gap), with the plaintexts. */
function sealed(kind: 'aes-128-cbc' | 'aes-256-cbc', key: Uint8Array, lens: readonly number[]) {
  const plain = lens.map((l) => rng.bytes(l));
  const regions = plain.map((p) => {
    const iv = rng.bytes(16);
    const e = createCipheriv(kind, key, iv);
    return Buffer.concat([iv, e.update(p), e.final()]);
  });
  const data = new Uint8Array(Buffer.concat(regions));
  const lengths = Uint32Array.from(regions, (r) => r.length);
  const offsets = new Uint32Array(lens.length);
  for (let i = 1; i < lens.length; i++) offsets[i] = offsets[i - 1]! + lengths[i - 1]!;
  return { data, offsets, lengths, plain, count: lens.length };
}

if (native instanceof SvrError || !cpuVaes) {
  test.skip('AES-CBC decryption with VAES (this CPU has no VAES and AVX-512 F): OpenSSL only');
} else {
  test('the addon decrypts AES-CBC with VAES on this CPU', () => {
    assert.ok(native.cryptoAesVaes(), 'the CPU reports vaes and avx512f, the addon does not use them');
  });

  test('every block count 1-48, both key sizes, regions back to back: node:crypto\'s plaintext, neighbours intact', () => {
    for (const kind of ['aes-128-cbc', 'aes-256-cbc'] as const) {
      const key = rng.bytes(kind === 'aes-128-cbc' ? 16 : 32);
      const lens = Array.from({ length: 48 }, (_, b) => b * 16 + rng.int(16)); // b + 1 blocks after padding
      for (let i = 0; i < 8; i++) lens.push(1389 + rng.int(40));
      const b = sealed(kind, key, lens);
      const c = BatchCipher.create(kind, key, { impl: 'native' });
      const status = new Uint8Array(b.count);
      assert.is(c.decryptBatch(b.data, b.offsets, b.lengths, b.count, status), b.count);
      c.destroy();
      for (let i = 0; i < b.count; i++) {
        assert.is(status[i], DECRYPT_OK);
        sameBytes(b.data.subarray(b.offsets[i]!, b.offsets[i]! + b.lengths[i]!), b.plain[i]!, `${kind}, ${lens[i]} bytes`);
      }
    }
  });

  test('bad padding after a VAES pass: status 2, the region zeroed, its neighbours decrypt', () => {
    const kind = 'aes-256-cbc';
    const key = rng.bytes(32);
    const b = sealed(kind, key, [1389, 700, 1389]);
    b.data[b.offsets[1]! + b.lengths[1]! - 1]! ^= 0x5a; // the last ciphertext block: the padding is garbage
    const c = BatchCipher.create(kind, key, { impl: 'native' });
    const status = new Uint8Array(3);
    assert.is(c.decryptBatch(b.data, b.offsets, b.lengths, 3, status), 2);
    c.destroy();
    assert.equal([...status], [DECRYPT_OK, DECRYPT_BAD_PADDING, DECRYPT_OK]);
    assert.ok(b.data.subarray(b.offsets[1]!, b.offsets[1]! + b.lengths[1]!).every((v) => v === 0), 'zeroed');
    sameBytes(b.data.subarray(b.offsets[2]!, b.offsets[2]! + b.lengths[2]!), b.plain[2]!, 'the next region');
  });

  test('batches of 1-40 packets of mixed lengths encrypt 16 chains at a time: node:crypto\'s bytes for the same IVs', () => {
    for (const kind of ['aes-128-cbc', 'aes-256-cbc'] as const) {
      const key = rng.bytes(kind === 'aes-128-cbc' ? 16 : 32);
      const c = BatchCipher.create(kind, key, { impl: 'native' });
      for (let count = 1; count <= 40; count++) {
        const lens = Array.from({ length: count }, (_, i) => (i % 5 === 0 ? rng.int(70) : 1300 + rng.int(200)));
        const ivs = rng.bytes(count * 16);
        const b = makeBatch(rng, lens);
        c.encryptBatchWithIvs(b.data, b.offsets, b.lengths, b.count, ivs);
        for (let i = 0; i < count; i++) {
          const iv = ivs.subarray(i * 16, i * 16 + 16);
          const e = createCipheriv(kind, key, iv);
          sameBytes(region(b, i), Buffer.concat([iv, e.update(b.plain[i]!), e.final()]), `${kind}, ${count} packets, packet ${i}`);
        }
      }
      c.destroy();
    }
  });
}

test.run();
