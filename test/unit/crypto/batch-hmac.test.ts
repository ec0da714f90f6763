/**
 * BatchHmac: tags are byte for byte those of src/crypto/hmac.ts (signInto), verification accepts exactly
 * what verifyTrailer accepts (time slot and its two neighbours, mod 2^32), failures never throw.
 */
import * as assert from 'uvu/assert';
import { isSvrError } from '../../../src/errors.js';
import { signInto, tagLength, timeSlot, verifyTrailer, TIME_SLOT_MS } from '../../../src/crypto/hmac.js';
import { inspect } from 'node:util';
import { BatchCipher, BatchHmac, VERIFY_FAILED, VERIFY_OK } from '../../../src/crypto/native-crypto.js';
import { JsCipher, JsHmac } from '../../../src/crypto/batch-js.js';
import type { HmacCipher } from '../../../src/model/config.js';
import { requires } from '../../support/prerequisites.js';
import { IMPLS, Rng, cloneBatch, edgeLengths, makeBatch, region, sameBytes } from './support.js';

const test = requires(import.meta.url); // the addon against node:crypto (skipped without it)

const rng = new Rng(0xacc01ade);
const CIPHERS: readonly HmacCipher[] = ['sha256-128', 'sha256', 'sha1'];
const SLOTS = [-1, 0, 1, timeSlot(true, Date.now()), 0x7fffffff, 0x80000000, 0xffffffff];

function rangeCode(e: unknown): string | undefined {
  return e instanceof RangeError ? (e as RangeError & { code?: string }).code : undefined;
}

for (const cipher of CIPHERS) {
  const key = rng.bytes(32);

  test(`${cipher}: signBatch appends exactly signInto's tag (every slot kind, both implementations)`, () => {
    const lens = edgeLengths(rng, 50);
    for (const slot of SLOTS) {
      const base = makeBatch(rng, lens);
      const ref = cloneBatch(base);
      for (let i = 0; i < ref.count; i++) {
        const off = ref.offsets[i]!;
        ref.lengths[i] = ref.lengths[i]! + signInto(cipher, key, ref.data, off, off + ref.lengths[i]!, slot);
      }
      for (const impl of IMPLS) {
        const b = cloneBatch(base);
        const h = BatchHmac.create(cipher, key, { impl });
        assert.is(h.tagLength, tagLength(cipher));
        h.signBatch(b.data, b.offsets, b.lengths, b.count, slot);
        sameBytes(b.data, ref.data, `${impl} slot ${slot}`);
        assert.equal([...b.lengths], [...ref.lengths]);
        h.destroy();
      }
    }
  });

  test(`${cipher}: verifyBatch accepts slot-1..slot+1 (mod 2^32) and strips the trailer, rejects the rest`, () => {
    const cases: Array<[sign: number, verify: number, ok: boolean]> = [
      [-1, -1, true],
      [-1, 5, false],
      [5, -1, false],
      [100, 100, true],
      [100, 99, true],
      [100, 101, true],
      [100, 98, false],
      [100, 102, false],
      [0xffffffff, 0, true], // the receiver is one slot ahead, across the wrap
      [0, 0xffffffff, true],
      [0xfffffffe, 0, false],
    ];
    for (const impl of IMPLS) {
      const h = BatchHmac.create(cipher, key, { impl });
      for (const [s, v, ok] of cases) {
        const b = makeBatch(rng, [0, 40, 1400]);
        h.signBatch(b.data, b.offsets, b.lengths, b.count, s);
        const signedLens = [...b.lengths];
        const before = b.data.slice();
        const status = new Uint8Array(b.count).fill(9);
        const agrees = [0, 1, 2].map((i) => verifyTrailer(cipher, key, b.data, b.offsets[i]!, b.offsets[i]! + b.lengths[i]!, v));
        const n = h.verifyBatch(b.data, b.offsets, b.lengths, b.count, v, status);
        assert.equal(agrees, [ok, ok, ok], `verifyTrailer: signed ${s}, verified ${v}`);
        assert.is(n, ok ? 3 : 0, `${impl}: signed at ${s}, verified at ${v}`);
        assert.ok(status.every((x) => x === (ok ? VERIFY_OK : VERIFY_FAILED)));
        assert.equal([...b.lengths], ok ? [0, 40, 1400] : signedLens);
        sameBytes(b.data, before, 'verification never writes');
        if (ok) for (let i = 0; i < 3; i++) sameBytes(region(b, i), b.plain[i]!, 'bytes');
      }
      h.destroy();
    }
  });

  test(`${cipher}: tampered data, tag, wrong key or too short fail with status 1 and stay untouched`, () => {
    const slot = timeSlot(true, Date.now());
    for (const impl of IMPLS) {
      const h = BatchHmac.create(cipher, key, { impl });
      const other = BatchHmac.create(cipher, rng.bytes(32), { impl });
      const b = makeBatch(rng, [100, 100, 100, 100, 0]);
      h.signBatch(b.data, b.offsets, b.lengths, 3, slot);
      other.signBatch(b.data, b.offsets.subarray(3), b.lengths.subarray(3), 1, slot);
      b.data[b.offsets[0]! + 50]! ^= 0x80; // payload
      b.data[b.offsets[1]! + b.lengths[1]! - 1]! ^= 0x01; // last tag byte
      // packet 2 stays good; packet 3 is signed with another key; packet 4 is shorter than a tag
      b.lengths[4] = tagLength(cipher) - 1;
      const lens = [...b.lengths];
      const before = b.data.slice();
      const status = new Uint8Array(b.count);
      assert.is(h.verifyBatch(b.data, b.offsets, b.lengths, b.count, slot, status), 1);
      assert.equal([...status], [VERIFY_FAILED, VERIFY_FAILED, VERIFY_OK, VERIFY_FAILED, VERIFY_FAILED], impl);
      assert.equal([...b.lengths], [lens[0], lens[1], 100, lens[3], lens[4]]);
      sameBytes(b.data, before, 'unchanged');
      h.destroy();
      other.destroy();
    }
  });

  test(`${cipher}: random packets: native verify agrees with verifyTrailer and with the fallback`, () => {
    const lens = Array.from({ length: 300 }, () => rng.int(300));
    const base = makeBatch(rng, lens);
    const slot = 1234;
    // sign a third with the right slot, a third two slots off, leave a third as garbage
    const third = Math.floor(base.count / 3);
    const s = BatchHmac.create(cipher, key, { impl: 'js' });
    s.signBatch(base.data, base.offsets, base.lengths, third, slot);
    s.signBatch(base.data, base.offsets.subarray(third), base.lengths.subarray(third), third, slot + 2);
    const expect = Array.from({ length: base.count }, (_, i) =>
      verifyTrailer(cipher, key, base.data, base.offsets[i]!, base.offsets[i]! + base.lengths[i]!, slot) ? VERIFY_OK : VERIFY_FAILED,
    );
    assert.is(expect.filter((x) => x === VERIFY_OK).length, third);
    for (const impl of IMPLS) {
      const b = cloneBatch(base);
      const status = new Uint8Array(b.count);
      BatchHmac.create(cipher, key, { impl }).verifyBatch(b.data, b.offsets, b.lengths, b.count, slot, status);
      assert.equal([...status], expect, impl);
    }
  });
}

test('the time slot helper and batch verification agree at slot boundaries', () => {
  const key = rng.bytes(20);
  for (const impl of IMPLS) {
    const h = BatchHmac.create('sha256-128', key, { impl });
    const t = 1_700_000_000_000;
    const b = makeBatch(rng, [64]);
    h.signBatch(b.data, b.offsets, b.lengths, 1, timeSlot(true, t));
    const status = new Uint8Array(1);
    const lens = b.lengths[0]!;
    assert.is(h.verifyBatch(b.data, b.offsets, b.lengths, 1, timeSlot(true, t + 2 * TIME_SLOT_MS), status), 0, 'two slots later');
    assert.is(b.lengths[0], lens);
    assert.is(h.verifyBatch(b.data, b.offsets, b.lengths, 1, timeSlot(true, t + TIME_SLOT_MS), status), 1, 'one slot later');
    h.destroy();
  }
});

test('empty batch, region at the very end of the buffer, range errors leave the batch unchanged', () => {
  const key = rng.bytes(32);
  for (const impl of IMPLS) {
    const h = BatchHmac.create('sha256', key, { impl });
    h.signBatch(new Uint8Array(0), new Uint32Array(0), new Uint32Array(0), 0, 7);
    assert.is(h.verifyBatch(new Uint8Array(0), new Uint32Array(0), new Uint32Array(0), 0, 7, new Uint8Array(0)), 0);

    const data = new Uint8Array(5 + 50 + 32);
    data.set(rng.bytes(50), 5);
    const offsets = Uint32Array.of(5);
    const lengths = Uint32Array.of(50);
    h.signBatch(data, offsets, lengths, 1, 7);
    assert.is(offsets[0]! + lengths[0]!, data.length);
    assert.is(h.verifyBatch(data, offsets, lengths, 1, 7, new Uint8Array(1)), 1);
    assert.is(lengths[0], 50);

    const tight = data.subarray(0, data.length - 1);
    const before = tight.slice();
    const isRange = (e: unknown): boolean => rangeCode(e) === 'SVR_CRYPTO_RANGE';
    assert.throws(() => h.signBatch(tight, Uint32Array.of(0, 5), Uint32Array.of(1, 50), 2, 7), isRange, 'no tailroom');
    sameBytes(tight, before, 'not even the first region was signed');
    assert.throws(() => h.verifyBatch(tight, Uint32Array.of(5), Uint32Array.of(200), 1, 7, new Uint8Array(1)), isRange);
    assert.throws(() => h.verifyBatch(data, offsets, lengths, 1, 7, new Uint8Array(0)), isRange, 'status too short');
    for (const slot of [-2, 2 ** 32, 1.5, NaN]) {
      assert.throws(() => h.signBatch(data, offsets, Uint32Array.of(1), 1, slot), isRange, `slot ${slot}`);
    }
    h.destroy();
  }
});

test('keys shorter than, equal to and longer than a hash block (hashed first, RFC 2104 §2) give the reference tags', () => {
  for (const cipher of CIPHERS) {
    for (const keyLen of [1, 20, 63, 64, 65, 200]) {
      const key = rng.bytes(keyLen);
      const lens = [0, 1, 55, 56, 63, 64, 65, 119, 120, 1420];
      const base = makeBatch(rng, lens);
      const ref = cloneBatch(base);
      const slot = timeSlot(true, Date.now());
      for (let i = 0; i < ref.count; i++) {
        const off = ref.offsets[i]!;
        ref.lengths[i] = ref.lengths[i]! + signInto(cipher, key, ref.data, off, off + ref.lengths[i]!, slot);
      }
      const b = cloneBatch(base);
      const h = BatchHmac.create(cipher, key, { impl: 'native' });
      h.signBatch(b.data, b.offsets, b.lengths, b.count, slot);
      h.destroy();
      sameBytes(b.data, ref.data, `${cipher}, ${keyLen}-byte key`);
      assert.equal([...b.lengths], [...ref.lengths]);
    }
  }
});

test('destroy twice is safe; use after destroy throws; bad ciphers and empty keys are config errors', () => {
  for (const impl of IMPLS) {
    const h = BatchHmac.create('sha1', rng.bytes(20), { impl });
    h.destroy();
    h.destroy();
    assert.throws(
      () => h.signBatch(new Uint8Array(64), Uint32Array.of(0), Uint32Array.of(1), 1, -1),
      (e: unknown) => (e as { code?: string }).code === 'SVR_CRYPTO_HANDLE',
    );
    assert.throws(() => BatchHmac.create('md5' as HmacCipher, rng.bytes(16), { impl }), (e: unknown) => isSvrError(e, 'SVR_ERR_CONFIG_INVALID'));
    assert.throws(() => BatchHmac.create('sha256', new Uint8Array(0), { impl }), (e: unknown) => isSvrError(e, 'SVR_ERR_CONFIG_INVALID'));
  }
});

test('keys do not show in util.inspect of the wrappers or of the JS backends', () => {
  const key = new Uint8Array(32).fill(0x5a);
  for (const impl of IMPLS) {
    const h = BatchHmac.create('sha256', key, { impl });
    const c = BatchCipher.create('aes-256-cbc', key, { impl });
    for (const obj of [h, c, new JsHmac('sha256', key), new JsCipher('aes-256-cbc', key)]) {
      const text = inspect(obj, { showHidden: true, depth: 20 });
      assert.not.match(text, /5a, 5a|0x5a|90, 90|5a5a/i, `${impl}: ${text}`);
    }
    h.destroy();
    c.destroy();
  }
});

test.run();
