/** RFC 5880 §4.1 control packet codec: golden bytes both ways, every drop reason, no exceptions on junk. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeBfdControl, encodeBfdControl, type BfdControlPacket } from '../../../src/packet/bfd.js';
import { prng } from '../../support/prng.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

const base: BfdControlPacket = {
  diag: 0, state: 'up', poll: false, final: false, controlPlaneIndependent: false, demand: false, detectMult: 3,
  myDiscriminator: 0, yourDiscriminator: 0, desiredMinTxUs: 0, requiredMinRxUs: 0, requiredMinEchoRxUs: 0,
};

// Each golden is written out by hand from the §4.1 layout: Vers(3)=1 Diag(5) | Sta(2) P F C A D M | Mult | Length=24 | 5 x u32.
const GOLDEN: Array<[string, BfdControlPacket, string]> = [
  ['Up, Poll, mult 3', { ...base, state: 'up', poll: true, myDiscriminator: 0x11223344, yourDiscriminator: 0x55667788, desiredMinTxUs: 50_000, requiredMinRxUs: 40_000 },
    '20 e0 03 18 11223344 55667788 0000c350 00009c40 00000000'],
  ['Down, Diag 1, Final, mult 5', { ...base, state: 'down', diag: 1, final: true, detectMult: 5, myDiscriminator: 1, desiredMinTxUs: 1_000_000, requiredMinRxUs: 500_000 },
    '21 50 05 18 00000001 00000000 000f4240 0007a120 00000000'],
  ['AdminDown, Diag 7', { ...base, state: 'adminDown', diag: 7, myDiscriminator: 0xffffffff, yourDiscriminator: 0x80000000, desiredMinTxUs: 600_000_000, requiredMinRxUs: 1, requiredMinEchoRxUs: 1000 },
    '27 00 03 18 ffffffff 80000000 23c34600 00000001 000003e8'],
  ['Init, Diag 3, C and D bits, mult 20', { ...base, state: 'init', diag: 3, controlPlaneIndependent: true, demand: true, detectMult: 20, myDiscriminator: 0xabcdef01, yourDiscriminator: 2, desiredMinTxUs: 300_000, requiredMinRxUs: 250_000 },
    '23 8a 14 18 abcdef01 00000002 000493e0 0003d090 00000000'],
];

test('encode: golden bytes for each state and flag', () => {
  for (const [name, packet, golden] of GOLDEN) assert.is(hex(encodeBfdControl(packet)), golden.replace(/\s+/g, ''), name);
});

test('decode: golden bytes give the packet back, field for field', () => {
  for (const [name, packet, golden] of GOLDEN) {
    const r = decodeBfdControl(bytes(golden));
    assert.ok(r.ok, name);
    if (r.ok) assert.equal(r.packet, packet, name);
  }
});

test('encode writes into a caller buffer at its offset', () => {
  const big = new Uint8Array(40).fill(0xee);
  const view = big.subarray(8);
  const out = encodeBfdControl(GOLDEN[0]![1], view);
  assert.is(out.length, 24);
  assert.is(hex(big.subarray(8, 32)), GOLDEN[0]![2].replace(/\s+/g, ''));
  assert.is(big[7], 0xee);
  assert.is(big[32], 0xee);
});

test('§6.8.6 session-independent checks: each bad packet is a reason, not an exception', () => {
  const good = GOLDEN[0]![2];
  const mutate = (f: (b: Uint8Array) => void, src = good): Uint8Array => {
    const b = bytes(src);
    f(b);
    return b;
  };
  const cases: Array<[string, Uint8Array]> = [
    ['short', bytes(good).subarray(0, 23)],
    ['short', new Uint8Array(0)],
    ['bad-version', mutate((b) => { b[0] = 0x00; })],
    ['bad-version', mutate((b) => { b[0] = 0x40; })],
    ['bad-length', mutate((b) => { b[3] = 23; })],
    ['bad-length', mutate((b) => { b[3] = 25; })],
    ['bad-length', (() => { const b = new Uint8Array(28); b.set(bytes(good)); b[3] = 28; return b; })()],
    ['auth-not-used', mutate((b) => { b[1]! |= 0x04; })],
    ['zero-detect-mult', mutate((b) => { b[2] = 0; })],
    ['multipoint', mutate((b) => { b[1]! |= 0x01; })],
    ['zero-my-discriminator', mutate((b) => { b.fill(0, 4, 8); })],
  ];
  for (const [reason, b] of cases) assert.equal(decodeBfdControl(b), { ok: false, reason }, `${reason} (${hex(b).slice(0, 8)}, ${b.length} bytes)`);
});

test('bytes after Length are ignored (§6.8.6 only forbids Length beyond the payload)', () => {
  const b = new Uint8Array(30);
  b.set(bytes(GOLDEN[1]![2]));
  const r = decodeBfdControl(b);
  assert.ok(r.ok);
  if (r.ok) assert.equal(r.packet, GOLDEN[1]![1]);
});

test('random junk never throws, and whatever decodes re-encodes to the same 24 bytes', () => {
  const rand = prng(5880);
  let decoded = 0;
  for (let i = 0; i < 20000; i++) {
    const b = new Uint8Array(Math.floor(rand() * 40));
    for (let k = 0; k < b.length; k++) b[k] = Math.floor(rand() * 256);
    if (b.length >= 4 && rand() < 0.5) {
      b[0] = 0x20 | (b[0]! & 0x1f);
      b[1]! &= ~0x05;
      b[3] = 24;
    }
    const r = decodeBfdControl(b);
    if (!r.ok) continue;
    decoded++;
    assert.is(hex(encodeBfdControl(r.packet)), hex(b.subarray(0, 24)));
  }
  assert.ok(decoded > 1000, `${decoded} random packets decoded`);
});

test.run();
