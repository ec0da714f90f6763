/**
 * native/hmac-shani.c: HMAC-SHA256 of a batch with the SHA extensions, up to four messages interleaved. Golden:
 * node:crypto's tags for every region length 0-2,000, in batches of 1 to 64 regions of mixed lengths (sign and
 * verify, 32-byte and truncated 16-byte tags, with and without a time slot), and across keys (hmacSignMany);
 * verification accepts exactly the good tags (a tampered region among good ones, the slot's neighbours). The addon
 * says it has SHA-NI wherever /proc/cpuinfo does. Skipped (reported) where the CPU has no SHA extensions, and without
 * the addon (test/support/prerequisites.ts).
 */
import * as assert from 'uvu/assert';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BatchHmac, VERIFY_FAILED, VERIFY_OK, hmacMany } from '../../../src/crypto/native-crypto.js';
import { tryLoadNativeCrypto } from '../../../src/crypto/native-binding.js';
import { SvrError } from '../../../src/errors.js';
import { requires } from '../../support/prerequisites.js';
import { Rng } from './support.js';

const test = requires(import.meta.url); // the addon (skipped without it)

const native = tryLoadNativeCrypto();
const cpuHasSha = /\bsha_ni\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
const rng = new Rng(0x5a4e1);
const STRIDE = 2048;

/** Node's tag of m under key, then be32(slot) when slot >= 0, cut to tagLength. */
function reference(key: Uint8Array, m: Uint8Array, slot: number, tagLength: number): string {
  const h = createHmac('sha256', key).update(m);
  if (slot >= 0) h.update(Uint8Array.of(slot >>> 24, (slot >>> 16) & 0xff, (slot >>> 8) & 0xff, slot & 0xff));
  return h.digest().subarray(0, tagLength).toString('hex');
}

/** Every length 0-2,000 once, shuffled, cut into batches of 1, 2, ... 64, 1, ... regions. */
function batchesOfAllLengths(): number[][] {
  const lens = Array.from({ length: 2001 }, (_, i) => i);
  for (let i = lens.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [lens[i], lens[j]] = [lens[j]!, lens[i]!];
  }
  const out: number[][] = [];
  for (let at = 0, size = 1; at < lens.length; at += size, size = (size % 64) + 1) out.push(lens.slice(at, at + size));
  return out;
}

function layout(lens: readonly number[]): { data: Uint8Array; offsets: Uint32Array; lengths: Uint32Array; msgs: Uint8Array[] } {
  const data = new Uint8Array(STRIDE * lens.length).fill(0xee);
  const msgs = lens.map((l, i) => {
    const m = rng.bytes(l);
    data.set(m, i * STRIDE);
    return m;
  });
  return { data, offsets: new Uint32Array(lens.map((_, i) => i * STRIDE)), lengths: new Uint32Array(lens), msgs };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('the addon has SHA-NI where the CPU has it (cryptoHmacShani)', () => {
  assert.ok(!(native instanceof SvrError), 'the addon loads');
  assert.is(native.cryptoHmacShani(), cpuHasSha);
});

if (!cpuHasSha) {
  test.skip('HMAC-SHA256 with the SHA extensions (this CPU has none): lanes or one at a time only');
} else {
  for (const [cipher, tagLength, slot] of [['sha256', 32, -1], ['sha256-128', 16, 886_001]] as const) {
    test(`node:crypto tags for every length 0-2000 in batches of 1-64 (${cipher}, slot ${slot}): signed, then verified`, () => {
      const key = rng.bytes(32);
      const h = BatchHmac.create(cipher, key, { impl: 'native' });
      for (const lens of batchesOfAllLengths()) {
        const b = layout(lens);
        h.signBatch(b.data, b.offsets, b.lengths, lens.length, slot);
        lens.forEach((l, i) => {
          assert.is(b.lengths[i], l + tagLength);
          assert.is(hex(b.data.subarray(i * STRIDE + l, i * STRIDE + l + tagLength)), reference(key, b.msgs[i]!, slot, tagLength), `length ${l} in a batch of ${lens.length}`);
        });
        const status = new Uint8Array(lens.length);
        assert.is(h.verifyBatch(b.data, b.offsets, b.lengths, lens.length, slot, status), lens.length, `batch of ${lens.length} verified`);
        lens.forEach((l, i) => assert.is(b.lengths[i], l));
      }
      h.destroy();
    });
  }

  test('verification: a tampered region among good ones fails alone; the slot neighbours pass, two slots away fails', () => {
    const key = rng.bytes(40);
    const h = BatchHmac.create('sha256-128', key, { impl: 'native' });
    const lens = Array.from({ length: 24 }, (_, i) => (i % 3 === 0 ? 52 : 1399));
    for (const [signSlot, checkSlot, ok] of [[1000, 1000, true], [999, 1000, true], [1001, 1000, true], [998, 1000, false]] as const) {
      const b = layout(lens);
      h.signBatch(b.data, b.offsets, b.lengths, lens.length, signSlot);
      b.data[5 * STRIDE + 7]! ^= 1;
      const status = new Uint8Array(lens.length);
      const good = h.verifyBatch(b.data, b.offsets, b.lengths, lens.length, checkSlot, status);
      assert.is(good, ok ? lens.length - 1 : 0, `signed ${signSlot}, checked ${checkSlot}`);
      lens.forEach((_, i) => assert.is(status[i], ok && i !== 5 ? VERIFY_OK : VERIFY_FAILED, `region ${i}`));
    }
    h.destroy();
  });

  test('hmacSignMany: node:crypto tags with a key and a slot per region, in batches of 1-64', () => {
    const many = hmacMany();
    if (many === null) throw new Error('the many-key calls are missing');
    const keys = Array.from({ length: 5 }, () => {
      const key = rng.bytes(16 + rng.int(100));
      return { key, h: BatchHmac.create('sha256-128', key, { impl: 'native' }) };
    });
    for (let count = 1; count <= 64; count++) {
      const lens = Array.from({ length: count }, () => rng.int(2001));
      const b = layout(lens);
      const keyOf = lens.map(() => rng.int(keys.length));
      const slots = Float64Array.from(lens, (_, i) => (i % 3 === 0 ? -1 : 886_000 + i));
      many.sign(keyOf.map((k) => keys[k]!.h.nativeHandle!), b.data, b.offsets, b.lengths, count, new Uint8Array(count).fill(16), slots);
      lens.forEach((l, i) => {
        const at = i * STRIDE + l;
        assert.is(hex(b.data.subarray(at, at + 16)), reference(keys[keyOf[i]!]!.key, b.msgs[i]!, slots[i]!, 16), `region ${i} of ${count}`);
      });
    }
    for (const k of keys) k.h.destroy();
  });
}

test.run();
