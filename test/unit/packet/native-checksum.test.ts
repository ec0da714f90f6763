import * as assert from 'uvu/assert';
import { fold, sumBytes, sumBytesJs } from '../../../src/packet/checksum.js';
import { nativeChecksumSum } from '../../../src/packet/native-checksum.js';
import { requires } from '../../support/prerequisites.js';
import { prng } from '../../support/prng.js';

const test = requires(import.meta.url); // the addon (skipped without it)

test('the addon is built and its sum is the RFC 1071 sum (RFC 1071 example header: 0x479e before complement)', () => {
  assert.ok(nativeChecksumSum !== null, 'build/Release/svr_native.node exports checksumSum (npm ci builds it)');
  const hdr = Uint8Array.of(0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0, 0, 0xc0, 0xa8, 0, 1, 0xc0, 0xa8, 0, 0xc7);
  assert.is(nativeChecksumSum!(hdr, 0, 20), 0x479e);
});

test('native and JS sums agree on every offset parity, odd lengths, subarrays and the empty range', () => {
  const rnd = prng(99);
  const big = new Uint8Array(70_000).map(() => (rnd() * 256) | 0);
  const views = [big, big.subarray(3), big.subarray(1000, 3001)];
  for (const v of views) {
    for (const [off, len] of [[0, 0], [0, 1], [1, 255], [1, 256], [2, 257], [5, 1400], [14, 1401], [0, v.length]] as const) {
      if (off + len > v.length) continue;
      for (const acc of [0, 0xffff, 12345]) {
        assert.is(fold(sumBytes(v, off, len, acc)), fold(sumBytesJs(v, off, len, acc)), `off ${off} len ${len} acc ${acc}`);
      }
    }
  }
});

test('native and JS sums agree on every length around the 32- and 64-byte steps (AVX2) and every start within 32 bytes', () => {
  const rnd = prng(7);
  const buf = new Uint8Array(4096).map(() => (rnd() * 256) | 0);
  const ones = new Uint8Array(2100).fill(0xff); // every 64-bit lane near its largest sums
  for (const v of [buf, ones]) {
    for (let off = 0; off < 32; off++) {
      for (const len of [31, 32, 33, 63, 64, 65, 95, 96, 97, 127, 128, 129, 1380, 1400, 1401, 1421, 2048]) {
        assert.is(nativeChecksumSum!(v, off, len), fold(sumBytesJs(v, off, len, 0)), `off ${off} len ${len}`);
      }
    }
  }
});

test('a range outside the array is a RangeError, not a read past it', () => {
  assert.throws(() => nativeChecksumSum!(new Uint8Array(10), 4, 7), RangeError);
});

test.run();
