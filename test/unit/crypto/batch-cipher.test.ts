/**
 * BatchCipher: the addon (native/crypto.c) and the node:crypto fallback give the same bytes for the same
 * IVs, the formats are the documented ones (checked against plain createDecipheriv), bad packets get a
 * status and never throw, and misuse throws before any byte changes.
 */
import { test as anyHost } from 'uvu';
import * as assert from 'uvu/assert';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { isSvrError } from '../../../src/errors.js';
import {
  BatchCipher,
  CIPHER_KINDS,
  DECRYPT_BAD_PADDING,
  DECRYPT_BAD_TAG,
  DECRYPT_OK,
  DECRYPT_SHORT,
  cipherGrowth,
  ivLength,
  keyLength,
  nativeCryptoAvailable,
  type CipherKind,
} from '../../../src/crypto/native-crypto.js';
import { requires } from '../../support/prerequisites.js';
import { IMPLS, Rng, cloneBatch, edgeLengths, hex, makeBatch, region, sameBytes } from './support.js';

const test = requires(import.meta.url); // the addon (skipped without it); anyHost: the tests without it

const rng = new Rng(0x5eed);
const keys = new Map<CipherKind, Uint8Array>(CIPHER_KINDS.map((k) => [k, rng.bytes(keyLength(k))]));
const key = (k: CipherKind): Uint8Array => keys.get(k)!;

function rangeCode(e: unknown): string | undefined {
  return e instanceof RangeError ? (e as RangeError & { code?: string }).code : undefined;
}

test('the addon is built and runs Node\'s own OpenSSL', () => {
  assert.ok(nativeCryptoAvailable(), 'build/Release/svr_native.node has no batch crypto: run npm run build:native');
  const c = BatchCipher.create('aes-256-cbc', key('aes-256-cbc'));
  assert.is(c.impl, 'native');
  c.destroy();
});

for (const kind of CIPHER_KINDS) {
  test(`${kind}: native and node:crypto give identical bytes and exact growth for the same IVs`, () => {
    const lens = edgeLengths(rng, 200);
    const ivs = rng.bytes(lens.length * ivLength(kind));
    const out: Record<string, ReturnType<typeof makeBatch>> = {};
    const base = makeBatch(rng, lens);
    for (const impl of IMPLS) {
      const b = cloneBatch(base);
      const c = BatchCipher.create(kind, key(kind), { impl });
      assert.is(c.impl, impl);
      c.encryptBatchWithIvs(b.data, b.offsets, b.lengths, b.count, ivs);
      for (let i = 0; i < b.count; i++) {
        assert.is(b.lengths[i], lens[i]! + cipherGrowth(kind, lens[i]!), `length of packet ${i} (${lens[i]} bytes)`);
        assert.ok(b.lengths[i]! - lens[i]! <= c.maxGrowth);
      }
      assert.is(c.encryptedPackets, b.count);
      c.destroy();
      out[impl] = b;
    }
    sameBytes(out.native!.data, out.js!.data, 'whole buffers (regions and the bytes between them)');
    assert.equal([...out.native!.lengths], [...out.js!.lengths]);
  });

  test(`${kind}: the format is IV/nonce || ciphertext (|| tag), readable by plain node:crypto`, () => {
    const lens = edgeLengths(rng, 20);
    const b = makeBatch(rng, lens);
    const c = BatchCipher.create(kind, key(kind), { impl: 'native' });
    c.encryptBatch(b.data, b.offsets, b.lengths, b.count);
    const n = ivLength(kind);
    for (let i = 0; i < b.count; i++) {
      const r = region(b, i);
      const iv = r.subarray(0, n);
      let plain: Buffer;
      if (kind === 'aes-256-gcm') {
        const d = createDecipheriv(kind, key(kind), iv, { authTagLength: 16 });
        d.setAuthTag(r.subarray(r.length - 16));
        plain = Buffer.concat([d.update(r.subarray(n, r.length - 16)), d.final()]);
      } else {
        const d = createDecipheriv(kind, key(kind), iv); // PKCS#7 padding on
        plain = Buffer.concat([d.update(r.subarray(n)), d.final()]);
      }
      sameBytes(plain, b.plain[i]!, `packet ${i}`);
    }
    c.destroy();
  });

  test(`${kind}: 10,000 random-length packets round-trip (both implementations, and across them)`, () => {
    const lens = Array.from({ length: 10_000 }, () => rng.int(1501));
    const base = makeBatch(rng, lens, 40, 0);
    for (const [encImpl, decImpl] of [['native', 'native'], ['js', 'js'], ['native', 'js'], ['js', 'native']] as const) {
      const b = cloneBatch(base);
      const enc = BatchCipher.create(kind, key(kind), { impl: encImpl });
      const dec = BatchCipher.create(kind, key(kind), { impl: decImpl });
      enc.encryptBatch(b.data, b.offsets, b.lengths, b.count);
      const status = new Uint8Array(b.count).fill(0xff);
      assert.is(dec.decryptBatch(b.data, b.offsets, b.lengths, b.count, status), b.count, `${encImpl} -> ${decImpl}`);
      for (let i = 0; i < b.count; i++) {
        if (status[i] !== DECRYPT_OK || b.lengths[i] !== lens[i] || hex(region(b, i)) !== hex(b.plain[i]!)) {
          assert.unreachable(`${encImpl} -> ${decImpl}: packet ${i} (${lens[i]} bytes) status ${status[i]} length ${b.lengths[i]}`);
        }
      }
      enc.destroy();
      dec.destroy();
    }
  });

  test(`${kind}: fresh random IVs per packet and per batch`, () => {
    const lens = new Array<number>(64).fill(100);
    const b = makeBatch(rng, lens);
    const first = b.plain[0]!;
    for (let i = 0; i < b.count; i++) b.data.set(first, b.offsets[i]!); // same plaintext everywhere
    const again = cloneBatch(b);
    const c = BatchCipher.create(kind, key(kind), { impl: 'native' });
    c.encryptBatch(b.data, b.offsets, b.lengths, b.count);
    c.encryptBatch(again.data, again.offsets, again.lengths, again.count);
    const seen = new Set<string>();
    for (const x of [b, again]) for (let i = 0; i < x.count; i++) seen.add(hex(region(x, i)));
    assert.is(seen.size, 128, 'all 128 ciphertexts of one plaintext differ');
    c.destroy();
  });

  test(`${kind}: IVs stay fresh across many small batches (the addon's IV pool refills)`, () => {
    for (const impl of IMPLS) {
      const c = BatchCipher.create(kind, key(kind), { impl });
      const seen = new Set<string>();
      const n = ivLength(kind);
      // 1000 single-packet batches, then batches of 300 (bigger than what is left in a 4 KiB pool)
      const sizes = [...new Array<number>(1000).fill(1), 300, 300, 300];
      let total = 0;
      for (const size of sizes) {
        const b = makeBatch(rng, new Array<number>(size).fill(1), 32, 0);
        c.encryptBatch(b.data, b.offsets, b.lengths, b.count);
        for (let i = 0; i < b.count; i++) seen.add(hex(b.data.subarray(b.offsets[i]!, b.offsets[i]! + n)));
        total += size;
      }
      assert.is(seen.size, total, `${impl}: ${total} distinct IVs`);
      c.destroy();
    }
  });

  test(`${kind}: an empty batch does nothing`, () => {
    for (const impl of IMPLS) {
      const c = BatchCipher.create(kind, key(kind), { impl });
      const data = new Uint8Array(0);
      c.encryptBatch(data, new Uint32Array(0), new Uint32Array(0), 0);
      assert.is(c.decryptBatch(data, new Uint32Array(4), new Uint32Array(4), 0, new Uint8Array(0)), 0);
      c.destroy();
    }
  });

  test(`${kind}: a region ending at the very end of the buffer (exact tailroom; one byte less throws)`, () => {
    for (const impl of IMPLS) {
      const c = BatchCipher.create(kind, key(kind), { impl });
      for (const len of [0, 5, 16, 100]) {
        const g = cipherGrowth(kind, len);
        const pt = rng.bytes(len);
        const data = new Uint8Array(3 + len + g);
        data.set(pt, 3);
        const offsets = Uint32Array.of(3);
        const lengths = Uint32Array.of(len);
        c.encryptBatch(data, offsets, lengths, 1);
        assert.is(offsets[0]! + lengths[0]!, data.length);
        const status = new Uint8Array(1);
        assert.is(c.decryptBatch(data, offsets, lengths, 1, status), 1, `${impl} ${len}`);
        sameBytes(data.subarray(3, 3 + lengths[0]!), pt, 'bytes');

        const short = new Uint8Array(3 + len + g - 1);
        short.set(pt, 3);
        const before = short.slice();
        try {
          c.encryptBatch(short, Uint32Array.of(3), Uint32Array.of(len), 1);
          assert.unreachable('no tailroom must throw');
        } catch (e) {
          assert.is(rangeCode(e), 'SVR_CRYPTO_RANGE', String(e));
        }
        sameBytes(short, before, 'nothing written');
      }
      c.destroy();
    }
  });

  test(`${kind}: a range error anywhere in the batch leaves the whole batch unchanged`, () => {
    for (const impl of IMPLS) {
      const c = BatchCipher.create(kind, key(kind), { impl });
      const b = makeBatch(rng, [10, 20, 30], 40);
      b.lengths[2] = b.data.length; // the last region runs past the end
      const before = b.data.slice();
      assert.throws(() => c.encryptBatch(b.data, b.offsets, b.lengths, 3), (e: unknown) => rangeCode(e) === 'SVR_CRYPTO_RANGE');
      assert.throws(() => c.decryptBatch(b.data, b.offsets, b.lengths, 3, new Uint8Array(3)), (e: unknown) => rangeCode(e) === 'SVR_CRYPTO_RANGE');
      sameBytes(b.data, before, 'unchanged');
      assert.equal([...b.lengths], [10, 20, b.data.length]);
      b.lengths[2] = 30;
      assert.throws(() => c.encryptBatch(b.data, b.offsets, b.lengths, 4), (e: unknown) => rangeCode(e) === 'SVR_CRYPTO_RANGE', 'count > arrays');
      assert.throws(() => c.decryptBatch(b.data, b.offsets, b.lengths, 3, new Uint8Array(2)), (e: unknown) => rangeCode(e) === 'SVR_CRYPTO_RANGE', 'status too short');
      assert.throws(
        () => c.encryptBatchWithIvs(b.data, b.offsets, b.lengths, 3, new Uint8Array(3 * ivLength(kind) - 1)),
        (e: unknown) => rangeCode(e) === 'SVR_CRYPTO_RANGE',
        'ivs too short',
      );
      sameBytes(b.data, before, 'unchanged');
      c.destroy();
    }
  });

  test(`${kind}: too-short packets get status 1 and stay untouched`, () => {
    const bad = kind === 'aes-256-gcm' ? [0, 1, 12, 27] : [0, 15, 16, 31, 33, 47, 50];
    for (const impl of IMPLS) {
      const c = BatchCipher.create(kind, key(kind), { impl });
      const b = makeBatch(rng, bad);
      const before = b.data.slice();
      const status = new Uint8Array(b.count);
      assert.is(c.decryptBatch(b.data, b.offsets, b.lengths, b.count, status), 0);
      assert.equal([...status], bad.map(() => DECRYPT_SHORT), impl);
      assert.equal([...b.lengths], bad);
      sameBytes(b.data, before, 'unchanged');
      c.destroy();
    }
  });

  test(`${kind}: destroy twice is safe; use after destroy throws SVR_CRYPTO_HANDLE`, () => {
    for (const impl of IMPLS) {
      const c = BatchCipher.create(kind, key(kind), { impl });
      c.destroy();
      c.destroy();
      assert.ok(c.destroyed);
      assert.throws(
        () => c.encryptBatch(new Uint8Array(64), Uint32Array.of(0), Uint32Array.of(1), 1),
        (e: unknown) => (e as { code?: string }).code === 'SVR_CRYPTO_HANDLE',
      );
    }
  });
}

test('CBC with AES-NI: a batch (8 chains interleaved in the addon) gives the bytes of one packet per call, batch sizes 1-20', () => {
  for (const kind of ['aes-128-cbc', 'aes-256-cbc'] as const) {
    for (let count = 1; count <= 20; count++) {
      const lens = Array.from({ length: count }, (_, i) => (i % 3 === 0 ? rng.int(33) : 1300 + rng.int(200)));
      const ivs = rng.bytes(count * 16);
      const base = makeBatch(rng, lens);
      const whole = cloneBatch(base);
      const single = cloneBatch(base);
      const c = BatchCipher.create(kind, key(kind), { impl: 'native' });
      c.encryptBatchWithIvs(whole.data, whole.offsets, whole.lengths, whole.count, ivs);
      for (let i = 0; i < count; i++) {
        c.encryptBatchWithIvs(single.data, single.offsets.subarray(i, i + 1), single.lengths.subarray(i, i + 1), 1, ivs.subarray(i * 16));
      }
      c.destroy();
      sameBytes(whole.data, single.data, `${kind}, ${count} packets`);
      assert.equal([...whole.lengths], [...single.lengths]);
    }
  }
});

test('CBC: single packets of two keys interleaved each get their own key and IV (no chain carried across handles)', () => {
  // One packet per call takes the OpenSSL context that runs on from the handle's previous packet (cbc_encrypt).
  for (const kind of ['aes-128-cbc', 'aes-256-cbc'] as const) {
    const keyB = rng.bytes(keyLength(kind));
    const handles = [BatchCipher.create(kind, key(kind), { impl: 'native' }), BatchCipher.create(kind, keyB, { impl: 'native' })];
    for (let i = 0; i < 40; i++) {
      const which = i % 3 === 2 ? 0 : i & 1; // A B A, A B A, ...: runs of one key and switches
      const b = makeBatch(rng, [i % 4 === 0 ? rng.int(16) : 1300 + rng.int(100)]);
      const iv = rng.bytes(16);
      handles[which]!.encryptBatchWithIvs(b.data, b.offsets, b.lengths, 1, iv);
      const e = createCipheriv(kind, which === 0 ? key(kind) : keyB, iv);
      const want = Buffer.concat([iv, e.update(b.plain[0]!), e.final()]);
      sameBytes(region(b, 0), want, `${kind}, packet ${i} (key ${'AB'[which]})`);
    }
    for (const h of handles) h.destroy();
  }
});

test('CBC: bad PKCS#7 padding gives status 2 and a zeroed region; the rest of the batch decrypts', () => {
  const kind = 'aes-256-cbc';
  const iv = rng.bytes(16);
  // last plaintext block -> expected padding verdict
  const lastBlocks: Array<[number[], boolean]> = [
    [[...new Array<number>(15).fill(9), 0], false], // pad 0
    [[...new Array<number>(15).fill(9), 17], false], // pad > 16
    [[...new Array<number>(14).fill(9), 1, 2], false], // pad 2, other byte wrong
    [[...new Array<number>(15).fill(9), 1], true],
    [new Array<number>(16).fill(16), true], // a whole block of padding
    [[9, ...new Array<number>(15).fill(15)], true],
    [[...new Array<number>(16).fill(16)].map((v, j) => (j === 0 ? 15 : v)), false], // pad 16, first byte wrong
  ];
  for (const impl of IMPLS) {
    const c = BatchCipher.create(kind, key(kind), { impl });
    const good = makeBatch(rng, [40]);
    c.encryptBatch(good.data, good.offsets, good.lengths, 1);
    const items: Uint8Array[] = [region(good, 0).slice()];
    for (const [last] of lastBlocks) {
      const e = createCipheriv(kind, key(kind), iv);
      e.setAutoPadding(false);
      const ct = Buffer.concat([e.update(Buffer.concat([Buffer.alloc(16, 1), Buffer.from(last)])), e.final()]);
      items.push(new Uint8Array(Buffer.concat([iv, ct])));
    }
    const b = makeBatch(rng, items.map((x) => x.length));
    items.forEach((x, i) => b.data.set(x, b.offsets[i]!));
    const status = new Uint8Array(b.count);
    const ok = c.decryptBatch(b.data, b.offsets, b.lengths, b.count, status);
    assert.equal([...status], [DECRYPT_OK, ...lastBlocks.map(([, valid]) => (valid ? DECRYPT_OK : DECRYPT_BAD_PADDING))], impl);
    assert.is(ok, 1 + lastBlocks.filter(([, v]) => v).length);
    sameBytes(region(b, 0), good.plain[0]!, 'bytes');
    lastBlocks.forEach(([last, valid], j) => {
      const i = j + 1;
      if (valid) {
        assert.is(b.lengths[i], 32 - last[15]!);
      } else {
        assert.is(b.lengths[i], items[i]!.length, 'length unchanged');
        assert.ok(region(b, i).every((v) => v === 0), 'zeroed');
      }
    });
    c.destroy();
  }
});

test('GCM: a flipped bit in nonce, ciphertext or tag gives status 3 and a zeroed region; neighbours decrypt', () => {
  const kind = 'aes-256-gcm';
  for (const impl of IMPLS) {
    const c = BatchCipher.create(kind, key(kind), { impl });
    const b = makeBatch(rng, [50, 50, 50, 50, 0]);
    c.encryptBatch(b.data, b.offsets, b.lengths, b.count);
    const flip = (i: number, at: number): void => {
      b.data[b.offsets[i]! + at]! ^= 0x01;
    };
    flip(1, 3); // nonce
    flip(2, 12 + 20); // ciphertext
    flip(3, 12 + 50 + 15); // tag
    flip(4, 12); // tag of an empty payload
    const lens = [...b.lengths];
    const status = new Uint8Array(b.count);
    assert.is(c.decryptBatch(b.data, b.offsets, b.lengths, b.count, status), 1);
    assert.equal([...status], [DECRYPT_OK, DECRYPT_BAD_TAG, DECRYPT_BAD_TAG, DECRYPT_BAD_TAG, DECRYPT_BAD_TAG], impl);
    sameBytes(region(b, 0), b.plain[0]!, 'bytes');
    for (let i = 1; i < 5; i++) {
      assert.is(b.lengths[i], lens[i]);
      assert.ok(region(b, i).every((v) => v === 0));
    }
    // the context still works after failures
    const again = makeBatch(rng, [33]);
    c.encryptBatch(again.data, again.offsets, again.lengths, 1);
    assert.is(c.decryptBatch(again.data, again.offsets, again.lengths, 1, status), 1);
    sameBytes(region(again, 0), again.plain[0]!, 'bytes');
    c.destroy();
  }
});

test('garbage never throws: random lengths and bytes give the same statuses from both implementations', () => {
  for (const kind of CIPHER_KINDS) {
    const lens = Array.from({ length: 500 }, () => rng.int(200));
    const base = makeBatch(rng, lens);
    const res: Array<{ status: Uint8Array; b: ReturnType<typeof cloneBatch> }> = [];
    for (const impl of IMPLS) {
      const b = cloneBatch(base);
      const status = new Uint8Array(b.count);
      BatchCipher.create(kind, key(kind), { impl }).decryptBatch(b.data, b.offsets, b.lengths, b.count, status);
      res.push({ status, b });
      assert.ok(status.every((s) => s !== DECRYPT_OK || kind !== 'aes-256-gcm'), 'no forged GCM packet accepted');
    }
    sameBytes(res[0]!.status, res[1]!.status, `${kind} statuses`);
    assert.equal([...res[0]!.b.lengths], [...res[1]!.b.lengths]);
    sameBytes(res[0]!.b.data, res[1]!.b.data, `${kind} buffers`);
  }
});

test('data may be a view with a byteOffset (Buffer pool, subarray)', () => {
  const kind = 'aes-128-cbc';
  const ivs = rng.bytes(32);
  const outs: Uint8Array[] = [];
  for (const impl of IMPLS) {
    const big = new Uint8Array(1000).fill(0xaa);
    const data = big.subarray(123, 500);
    data.set(new Uint8Array(60).fill(7), 10);
    const lengths = Uint32Array.of(60, 0);
    const c = BatchCipher.create(kind, key(kind), { impl });
    c.encryptBatchWithIvs(data, Uint32Array.of(10, 200), lengths, 2, ivs);
    outs.push(big);
    assert.ok(big.subarray(0, 123).every((v) => v === 0xaa), 'nothing written before the view');
    c.destroy();
  }
  sameBytes(outs[0]!, outs[1]!, 'native vs js');
});

test('the key is copied at create: wiping the caller\'s key later changes nothing', () => {
  for (const impl of IMPLS) {
    const k = rng.bytes(32);
    const ref = BatchCipher.create('aes-256-gcm', k.slice(), { impl: 'js' });
    const c = BatchCipher.create('aes-256-gcm', k, { impl });
    k.fill(0);
    const b = makeBatch(rng, [70]);
    c.encryptBatch(b.data, b.offsets, b.lengths, 1);
    assert.is(ref.decryptBatch(b.data, b.offsets, b.lengths, 1, new Uint8Array(1)), 1, impl);
    c.destroy();
    ref.destroy();
  }
});

test('bad kinds and key lengths are SvrError SVR_ERR_CONFIG_INVALID, without key bytes in the message', () => {
  for (const impl of IMPLS) {
    const k = new Uint8Array(16).fill(0x41);
    try {
      BatchCipher.create('aes-256-cbc', k, { impl });
      assert.unreachable();
    } catch (e) {
      assert.ok(isSvrError(e, 'SVR_ERR_CONFIG_INVALID'), String(e));
      assert.match((e as Error).message, /32-byte key, got 16 bytes/);
      assert.not.match((e as Error).message, /41|AAAA/);
    }
    assert.throws(() => BatchCipher.create('aes-192-cbc' as CipherKind, new Uint8Array(24), { impl }), (e: unknown) => isSvrError(e, 'SVR_ERR_CONFIG_INVALID'));
  }
});

anyHost('without the addon: auto falls back to node:crypto, native is SVR_ERR_NATIVE_MISSING', () => {
  const root = '/nonexistent-svrouter-root';
  const c = BatchCipher.create('aes-256-cbc', key('aes-256-cbc'), { root });
  assert.is(c.impl, 'js');
  c.destroy();
  assert.throws(
    () => BatchCipher.create('aes-256-cbc', key('aes-256-cbc'), { root, impl: 'native' }),
    (e: unknown) => isSvrError(e, 'SVR_ERR_NATIVE_MISSING'),
  );
});

test.run();
