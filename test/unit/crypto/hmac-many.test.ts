/**
 * native/hmac-many.c and its use in src/dataplane/batch-tags.ts: the tags of regions under many keys in one call.
 * Golden: node:crypto's tag for every region (sha256-128, sha256 and sha1 keys mixed, time slots and none, lengths
 * around the padding edges, counts below and above what the lanes take); verification accepts exactly the good
 * tags (the slot's neighbours too, a tampered or short region not); a range error leaves the batch unchanged.
 * TagBatch gives the same bytes and verdicts with the many-key call on and off (SVR_HMAC_MANY=0).
 * Counted as skipped without the addon (test/support/prerequisites.ts).
 */
import * as assert from 'uvu/assert';
import { createHmac } from 'node:crypto';
import { BatchHmac, hmacMany } from '../../../src/crypto/native-crypto.js';
import type { NativeCryptoHandle } from '../../../src/crypto/native-binding.js';
import type { HmacCipher } from '../../../src/model/config.js';
import { TagBatch } from '../../../src/dataplane/batch-tags.js';
import { withSwitch } from '../../support/env.js';
import { requires } from '../../support/prerequisites.js';
import { Rng } from './support.js';

const test = requires(import.meta.url); // the addon (skipped without it)

const many = hmacMany();
const rng = new Rng(0x3a1f7);
const CIPHERS: readonly HmacCipher[] = ['sha256-128', 'sha256', 'sha1'];
const STRIDE = 1600;

interface Case {
  keys: { cipher: HmacCipher; key: Uint8Array; h: BatchHmac }[];
  data: Uint8Array;
  offsets: Uint32Array;
  lengths: Uint32Array;
  slots: Float64Array;
  /** per region: its key's index */
  keyOf: number[];
  lens: number[];
}

function makeCase(count: number, nKeys: number, timed: boolean): Case {
  const keys = Array.from({ length: nKeys }, (_, i) => {
    const cipher = CIPHERS[i % 5 === 4 ? 2 : i % 3 === 2 ? 1 : 0]!; // mostly sha256-128, some sha256 and sha1
    const key = rng.bytes(16 + rng.int(80));
    return { cipher, key, h: BatchHmac.create(cipher, key, { impl: 'native' }) };
  });
  const edges = [0, 1, 50, 51, 55, 56, 63, 64, 70, 119, 120, 127, 128, 500, 1400];
  const lens = Array.from({ length: count }, (_, i) => (i % 3 === 0 ? edges[i % edges.length]! : 20 + rng.int(60)));
  const data = new Uint8Array(STRIDE * count).fill(0xee);
  lens.forEach((l, i) => data.set(rng.bytes(l), i * STRIDE));
  const slots = new Float64Array(count).map((_, i) => (!timed ? -1 : i % 4 === 3 ? -1 : 880_000 + (i % 2)));
  return { keys, data, offsets: new Uint32Array(lens.map((_, i) => i * STRIDE)), lengths: new Uint32Array(lens), slots, keyOf: lens.map(() => rng.int(nKeys)), lens };
}

function reference(c: Case, i: number, slot = c.slots[i]!): Uint8Array {
  const k = c.keys[c.keyOf[i]!]!;
  const h = createHmac(k.cipher === 'sha1' ? 'sha1' : 'sha256', k.key).update(c.data.subarray(i * STRIDE, i * STRIDE + c.lens[i]!));
  if (slot >= 0) h.update(Uint8Array.of(slot >>> 24, (slot >>> 16) & 0xff, (slot >>> 8) & 0xff, slot & 0xff));
  return h.digest().subarray(0, k.h.tagLength);
}

const handles = (c: Case): NativeCryptoHandle[] => c.keyOf.map((k) => c.keys[k]!.h.nativeHandle!);
const tagLengths = (c: Case): Uint8Array => Uint8Array.from(c.keyOf.map((k) => c.keys[k]!.h.tagLength));

if (many === null) {
  test('hmac-many: the addon has hmacSignMany', () => {
    assert.unreachable('the addon has no hmacSignMany: npm run build:native');
  });
} else {
  for (const [count, nKeys, timed] of [[1, 1, false], [5, 5, true], [16, 16, false], [16, 3, true], [40, 37, true], [256, 200, false]] as const) {
    test(`sign then verify ${count} regions under ${nKeys} keys (${timed ? 'time slots' : 'no slot'}): node:crypto's tags, every one accepted`, () => {
      const c = makeCase(count, nKeys, timed);
      many.sign(handles(c), c.data, c.offsets, c.lengths, count, tagLengths(c), c.slots);
      for (let i = 0; i < count; i++) {
        const t = c.keys[c.keyOf[i]!]!.h.tagLength;
        assert.is(c.lengths[i], c.lens[i]! + t, `region ${i} grew by its tag`);
        assert.equal([...c.data.subarray(i * STRIDE + c.lens[i]!, i * STRIDE + c.lens[i]! + t)], [...reference(c, i)], `region ${i}: the tag`);
        assert.is(c.data[i * STRIDE + c.lens[i]! + t], 0xee, `region ${i}: nothing written past the tag`);
      }
      const status = new Uint8Array(count).fill(9);
      assert.is(many.verify(handles(c), c.data, c.offsets, c.lengths, count, tagLengths(c), c.slots, status), count);
      assert.equal([...status], new Array<number>(count).fill(0));
      assert.equal([...c.lengths], c.lens, 'the trailers stripped');
    });
  }

  test('verify: the neighbouring slots pass, others and tampered or short regions do not', () => {
    const c = makeCase(32, 8, true);
    c.slots.fill(1000);
    many.sign(handles(c), c.data, c.offsets, c.lengths, 32, tagLengths(c), c.slots);
    const at = (i: number) => i * STRIDE + c.lens[i]!;
    c.data[5 * STRIDE + 10]! ^= 1; // a tampered payload byte (region 5 has 20 bytes or more)
    c.data[at(7) + 2]! ^= 0x80; // a tampered tag
    c.lengths[9] = 3; // shorter than any tag
    const slots = c.slots.slice();
    slots[11] = 999; slots[12] = 1001; slots[13] = 998; slots[14] = -1;
    const status = new Uint8Array(32);
    const ok = many.verify(handles(c), c.data, c.offsets, c.lengths, 32, tagLengths(c), slots, status);
    const bad = [5, 7, 9, 13, 14];
    assert.equal([...status].flatMap((s, i) => (s === 0 ? [] : [i])), bad, 'the failed regions');
    assert.is(ok, 32 - bad.length);
    assert.is(c.lengths[9], 3, 'a failed region keeps its length');
  });

  test('range errors (a region past the data, a tag longer than the key gives, a bad slot, a destroyed key) leave the batch unchanged', () => {
    const c = makeCase(4, 2, false);
    const before = c.data.slice();
    const tl = tagLengths(c);
    const bad = c.offsets.slice(); bad[3] = c.data.length - 2;
    assert.throws(() => many.sign(handles(c), c.data, bad, c.lengths, 4, tl, c.slots));
    const longTag = tl.slice(); longTag[2] = 33;
    assert.throws(() => many.sign(handles(c), c.data, c.offsets, c.lengths, 4, longTag, c.slots));
    const badSlot = c.slots.slice(); badSlot[1] = 0.5;
    assert.throws(() => many.sign(handles(c), c.data, c.offsets, c.lengths, 4, tl, badSlot));
    assert.throws(() => many.sign(handles(c).slice(0, 3), c.data, c.offsets, c.lengths, 4, tl, c.slots));
    const h = handles(c);
    c.keys[c.keyOf[2]!]!.h.destroy();
    assert.throws(() => many.sign(h, c.data, c.offsets, c.lengths, 4, tl, c.slots));
    assert.equal([...c.data], [...before]);
    assert.equal([...c.lengths], c.lens);
  });

  for (const on of [true, false]) {
    test(`TagBatch with many keys (SVR_HMAC_MANY ${on ? 'on' : 'off'}): node:crypto's tags, then the verdicts one at a time gives`, async () => {
      const tags = await withSwitch('SVR_HMAC_MANY', on, async () => new TagBatch());
      const c = makeCase(24, 9, true);
      for (let i = 0; i < 24; i++) tags.add(i, c.keys[c.keyOf[i]!]!.h, c.slots[i]!, c.offsets[i]!, c.lengths[i]!);
      tags.sign(c.data);
      assert.is(tags.count, 0);
      for (let i = 0; i < 24; i++) {
        const t = c.keys[c.keyOf[i]!]!.h.tagLength;
        assert.equal([...c.data.subarray(i * STRIDE + c.lens[i]!, i * STRIDE + c.lens[i]! + t)], [...reference(c, i)], `region ${i}: the tag`);
      }
      c.data[4 * STRIDE + 1]! ^= 4; // region 4 (length 20+) tampered
      for (let i = 0; i < 24; i++) tags.add(i, c.keys[c.keyOf[i]!]!.h, c.slots[i]!, c.offsets[i]!, c.lens[i]! + c.keys[c.keyOf[i]!]!.h.tagLength);
      tags.verify(c.data);
      for (let i = 0; i < 24; i++) assert.is(tags.checked(i, c.keys[c.keyOf[i]!]!.h), i === 4 ? 0 : 1, `region ${i}`);
      assert.is(tags.checked(0, c.keys[c.keyOf[0]!]!.h), -1, 'a verdict is taken once');
    });
  }
}

test.run();
