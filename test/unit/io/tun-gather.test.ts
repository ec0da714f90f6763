// native/tun-gather.h: how long a TUN reader thread waits for a fuller batch (interrupt moderation), through the
// test entry point tunGatherGapForTest (no TUN, no clock). The bulk window (SVR_TUN_READ_GATHER_BULK_US, 1000 µs)
// applies while 32 packets or more are expected within it: TCP carried as TCP reaches the peer's wan reader one
// SVR packet per read (docs/performance.md, wave 16).
import * as assert from 'uvu/assert';
import { loadNative, type SvrNative } from '../../../src/io/tun/native.js';
import { requires } from '../../support/prerequisites.js';

const test = requires(import.meta.url); // the addon (skipped without it, hooks dropped)
let native: SvrNative;
test.before(() => {
  native = loadNative();
});
const US = 1000;
/** The sleep of a reader with the defaults (300 µs window, 1000 µs bulk window, batch 256) `since` after its pass. */
const gap = (pktNs: number, lastN = 40, since = 0, windowUs = 300, bulkUs = 1000): number =>
  native.tunGatherGapForTest(windowUs, bulkUs, 256, pktNs, lastN, since);

test('a bulk stream (32 or more packets within 1000 µs) waits up to the bulk window', () => {
  assert.is(gap(11_000), 1000 * US, 'TCP as TCP at 1 Gbit/s: one 1,441-byte SVR packet every 11 µs');
  assert.is(gap(31_250), 1000 * US, 'exactly 32 packets within the bulk window');
  assert.is(gap(11_000, 40, 400 * US), 600 * US, 'the rest of the window after the pass');
  assert.is(gap(11_000, 40, 1000 * US), 0, 'the window has passed');
});

test('below the bulk rate, and with the bulk window off, the 300 µs window as before', () => {
  assert.is(gap(31_300), 300 * US, 'fewer than 32 packets expected within 1000 µs');
  assert.is(gap(100_000), 300 * US, 'busy: 10,000 packets/s');
  assert.is(gap(11_000, 40, 0, 300, 0), 300 * US, 'SVR_TUN_READ_GATHER_BULK_US=0');
  assert.is(gap(11_000, 40, 0, 300, 200), 300 * US, 'a bulk window below the window changes nothing');
});

test('what never waits, and half a batch bounds every wait', () => {
  assert.is(gap(200_000), 0, 'not busy: fewer than two packets within 300 µs');
  assert.is(gap(1_000_000_000), 0, 'a lone packet after a pause');
  assert.is(gap(11_000, 256), 0, 'the last pass filled its batch');
  assert.is(gap(11_000, 40, 0, 0), 0, 'SVR_TUN_READ_GATHER_US=0 turns both off');
  assert.is(gap(5_000), 128 * 5_000, 'at 200,000 packets/s half a batch (128) fills in 640 µs');
  assert.is(gap(2_000, 40, 0, 1000, 1000), 128 * 2_000, 'a window of 1000 µs (setReadGather) is bounded the same way');
});

test('bad arguments throw, never crash', () => {
  assert.throws(() => native.tunGatherGapForTest(300, 1000, 256, -1, 40, 0), /all >= 0/);
  assert.throws(() => (native.tunGatherGapForTest as unknown as (...a: number[]) => number)(300, 1000), /tunGatherGapForTest needs/);
});

test.run();
