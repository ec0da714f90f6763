/** Helpers of the batch-crypto tests: deterministic packets laid out like a dataplane batch. */
import type { CryptoImpl } from '../../../src/crypto/native-crypto.js';

export const IMPLS: readonly CryptoImpl[] = ['native', 'js'];

/** xorshift32: the same "random" bytes on every run. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  int(n: number): number {
    return this.next() % n;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.next() & 0xff;
    return b;
  }
}

export interface TestBatch {
  data: Uint8Array;
  offsets: Uint32Array;
  lengths: Uint32Array;
  count: number;
  /** the original region contents */
  plain: Uint8Array[];
}

/**
 * Regions with the given lengths and random contents, each followed by `tail` free bytes (room to grow),
 * starting at `lead`. The free bytes are filled with 0xee so writes outside a region show up.
 */
export function makeBatch(rng: Rng, lens: readonly number[], tail = 64, lead = 7): TestBatch {
  const total = lead + lens.reduce((a, l) => a + l + tail, 0);
  const data = new Uint8Array(total).fill(0xee);
  const offsets = new Uint32Array(lens.length);
  const lengths = new Uint32Array(lens.length);
  const plain: Uint8Array[] = [];
  let at = lead;
  lens.forEach((l, i) => {
    const p = rng.bytes(l);
    data.set(p, at);
    offsets[i] = at;
    lengths[i] = l;
    plain.push(p);
    at += l + tail;
  });
  return { data, offsets, lengths, count: lens.length, plain };
}

export function cloneBatch(b: TestBatch): TestBatch {
  return { data: b.data.slice(), offsets: b.offsets.slice(), lengths: b.lengths.slice(), count: b.count, plain: b.plain };
}

export function region(b: TestBatch, i: number): Uint8Array {
  return b.data.subarray(b.offsets[i]!, b.offsets[i]! + b.lengths[i]!);
}

export function hex(u: Uint8Array): string {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength).toString('hex');
}

/** Lengths around the block boundaries plus random ones up to 1500. */
export function edgeLengths(rng: Rng, extra: number): number[] {
  const out = [0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 1399, 1400, 1500];
  for (let i = 0; i < extra; i++) out.push(rng.int(1501));
  return out;
}

/**
 * Fails with the first differing byte. (uvu's assert.is diffs strings character by character, which
 * takes minutes on the hex of a whole batch, so big buffers are never compared as strings.)
 */
export function sameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length}, expected ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      const from = Math.max(0, i - 8);
      throw new Error(
        `${what}: first difference at byte ${i}: ${hex(actual.subarray(from, i + 8))} vs ${hex(expected.subarray(from, i + 8))} (from byte ${from})`,
      );
    }
  }
}
