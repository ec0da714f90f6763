/**
 * native/hmac-lanes.c: HMAC-SHA256 of a batch 16 messages at a time (AVX-512). Golden: RFC 4231's vectors
 * in every lane, and node:crypto's tags for batches the cost rule sends to the lanes (equal lengths, mixed
 * lengths, every padding edge, a time slot); verification in lanes accepts exactly the good tags (a tampered
 * region among good ones, the slot's neighbours). Skipped (reported) where the CPU has no AVX-512, and without the
 * addon (test/support/prerequisites.ts).
 */
import * as assert from 'uvu/assert';
import { createHmac } from 'node:crypto';
import { BatchHmac, VERIFY_FAILED, VERIFY_OK } from '../../../src/crypto/native-crypto.js';
import { tryLoadNativeCrypto } from '../../../src/crypto/native-binding.js';
import { SvrError } from '../../../src/errors.js';
import { withSwitchSync } from '../../support/env.js';
import { requires } from '../../support/prerequisites.js';
import { Rng } from './support.js';

const test = requires(import.meta.url); // the addon (skipped without it)

const native = tryLoadNativeCrypto();
const lanes = !(native instanceof SvrError) && native.cryptoHmacLanes();
const rng = new Rng(0x1a4e5);
/** A handle that hashes in the lanes (SVR_HMAC_SHANI=0: not with the SHA extensions, hmac-shani.test.ts). */
const lanesHmac = (cipher: 'sha256' | 'sha256-128', key: Uint8Array): BatchHmac =>
  withSwitchSync('SVR_HMAC_SHANI', false, () => BatchHmac.create(cipher, key, { impl: 'native' }));

/** Regions of the given lengths, 64 bytes of tailroom each; the reference tag (node:crypto) of each. */
function batch(lens: readonly number[], fill: (i: number, len: number) => Uint8Array, key: Uint8Array, slot: number) {
  const stride = 1600;
  const data = new Uint8Array(stride * lens.length);
  const offsets = new Uint32Array(lens.map((_, i) => i * stride));
  const lengths = new Uint32Array(lens);
  const want = lens.map((len, i) => {
    const m = fill(i, len);
    data.set(m, i * stride);
    const h = createHmac('sha256', key).update(m);
    if (slot >= 0) h.update(Uint8Array.of(slot >>> 24, (slot >>> 16) & 0xff, (slot >>> 8) & 0xff, slot & 0xff));
    return h.digest();
  });
  return { data, offsets, lengths, want, count: lens.length };
}

function check(name: string, lens: readonly number[], slot: number, key = rng.bytes(32), fill = (_: number, len: number) => rng.bytes(len)): void {
  const b = batch(lens, fill, key, slot);
  const h = lanesHmac('sha256', key);
  h.signBatch(b.data, b.offsets, b.lengths, b.count, slot);
  for (let i = 0; i < b.count; i++) {
    assert.is(b.lengths[i], lens[i]! + 32, `${name}: region ${i} grew by the tag`);
    const at = b.offsets[i]! + lens[i]!;
    assert.is(Buffer.from(b.data.subarray(at, at + 32)).toString('hex'), b.want[i]!.toString('hex'), `${name}: tag of region ${i} (length ${lens[i]})`);
  }
  h.destroy();
}

if (!lanes) {
  test.skip('HMAC-SHA256 lanes (this CPU has no AVX-512): tags one at a time only');
} else {
  test('RFC 4231 test cases 1-4, 6, 7 (HMAC-SHA-256) in all 16 lanes', () => {
    const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');
    const cases = [
      { key: Buffer.alloc(20, 0x0b), data: Buffer.from('Hi There'), mac: 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7' },
      { key: Buffer.from('Jefe'), data: Buffer.from('what do ya want for nothing?'), mac: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843' },
      { key: Buffer.alloc(20, 0xaa), data: Buffer.alloc(50, 0xdd), mac: '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe' },
      { key: hex('0102030405060708090a0b0c0d0e0f10111213141516171819'), data: Buffer.alloc(50, 0xcd), mac: '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b' },
      { key: Buffer.alloc(131, 0xaa), data: Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First'), mac: '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54' },
      {
        key: Buffer.alloc(131, 0xaa),
        data: Buffer.from('This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.'),
        mac: '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
      },
    ];
    for (const [n, c] of cases.entries()) {
      const lens = new Array<number>(16).fill(c.data.length);
      const b = batch(lens, () => c.data, c.key, -1);
      const h = lanesHmac('sha256', c.key);
      h.signBatch(b.data, b.offsets, b.lengths, 16, -1);
      for (let i = 0; i < 16; i++) {
        const at = b.offsets[i]! + c.data.length;
        assert.is(Buffer.from(b.data.subarray(at, at + 32)).toString('hex'), c.mac, `case ${n + 1}, lane ${i}`);
      }
      h.destroy();
    }
  });

  test('node:crypto tags: 16 and 40 full-size packets, 64-byte ACKs, mixed lengths, every padding edge, with and without a time slot', () => {
    for (const slot of [-1, 0, 0x80000000, 0xffffffff]) {
      check(`16 x 1424, slot ${slot}`, new Array<number>(16).fill(1424), slot);
      check(`40 x 1396, slot ${slot}`, new Array<number>(40).fill(1396), slot);
      check(`20 x 64, slot ${slot}`, new Array<number>(20).fill(64), slot);
      // lengths around the one/two tail block edge (55/56 bytes with no slot, 51/52 with one) and block ends
      const edges = [0, 1, 50, 51, 52, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129];
      check(`padding edges, slot ${slot}`, edges.map((e) => 1280 + e), slot);
      check(`short edges, slot ${slot}`, edges, slot);
      check(`mixed, slot ${slot}`, Array.from({ length: 48 }, (_, i) => (i % 3 === 0 ? 60 : 1300 + rng.int(120))), slot);
    }
  });

  test('verification in lanes: good tags pass, a tampered region or tag among them fails, the slot neighbours pass, nothing else does', () => {
    const key = rng.bytes(32);
    const slot = 1000;
    for (const signedWith of [slot, slot - 1, slot + 1, slot + 2]) {
      const b = batch(new Array<number>(20).fill(1400), (_, len) => rng.bytes(len), key, signedWith);
      const h = lanesHmac('sha256-128', key);
      h.signBatch(b.data, b.offsets, b.lengths, b.count, signedWith);
      b.data[b.offsets[3]! + 100]! ^= 1; // payload of region 3
      b.data[b.offsets[11]! + 1400 + 5]! ^= 0x80; // tag of region 11
      const status = new Uint8Array(b.count);
      const ok = h.verifyBatch(b.data, b.offsets, b.lengths, b.count, slot, status);
      const good = signedWith !== slot + 2;
      for (let i = 0; i < b.count; i++) {
        const expect = good && i !== 3 && i !== 11 ? VERIFY_OK : VERIFY_FAILED;
        assert.is(status[i], expect, `signed in slot ${signedWith - slot}, region ${i}`);
        assert.is(b.lengths[i], expect === VERIFY_OK ? 1400 : 1416, `length of region ${i}`);
      }
      assert.is(ok, good ? 18 : 0);
      h.destroy();
    }
  });
}

test.run();
