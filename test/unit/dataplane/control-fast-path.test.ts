/**
 * ControlFastPath (src/dataplane/control-fast-path.ts): which verified control messages the data path keeps
 * for path control's ticks. Steady BFD only for an armed session with the exact fields and standby Diag it was
 * armed with, never Poll/Final or another state; link-test replies into a ring drained in order; nothing for
 * tables of another generation. Golden bytes from the project's own encoders.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ControlFastPath, REPLY_RING } from '../../../src/dataplane/control-fast-path.js';
import { BfdDiag, encodeBfdControl, type BfdControlPacket } from '../../../src/packet/bfd.js';
import { encodeLinkTest } from '../../../src/paths/messages.js';

const THEIRS = 0x0badcafe;
const OURS = 0x12345678;
const up: BfdControlPacket = {
  diag: 0, state: 'up', poll: false, final: false, controlPlaneIndependent: false, demand: false, detectMult: 3,
  myDiscriminator: THEIRS, yourDiscriminator: OURS, desiredMinTxUs: 1_000_000, requiredMinRxUs: 500_000, requiredMinEchoRxUs: 0,
};
/** the packet inside a received frame, at offset 28 with 4 trailing bytes, as wan-verify sees it */
function framed(payload: Uint8Array): { d: Uint8Array; off: number; end: number } {
  const d = new Uint8Array(28 + payload.length + 4);
  d.set(payload, 28);
  return { d, off: 28, end: 28 + payload.length };
}

function armed(now: () => number): ControlFastPath {
  const f = new ControlFastPath(now);
  f.bind(7, 4);
  f.armBfd(2, true, false, 3, OURS, THEIRS, 1_000_000, 500_000);
  return f;
}

test('a steady BFD packet of an armed session is taken: counted and stamped with control\'s clock', () => {
  let t = 100;
  const f = armed(() => t);
  const { d, off, end } = framed(encodeBfdControl(up));
  assert.ok(f.take(7, 2, d, off, end));
  t = 1100.5;
  assert.ok(f.take(7, 2, d, off, end));
  assert.is(f.bfdRx[2], 2);
  assert.is(f.bfdRxAt[2], 1100.5);
  assert.not.ok(f.take(8, 2, d, off, end), 'tables of another generation: to control');
  assert.not.ok(f.take(7, 1, d, off, end), 'a path never armed: to control');
  assert.is(f.bfdRx[1], 0);
});

test('anything a session machine must see goes to control: Poll, Final, another state, changed fields, A bit, the standby Diag', () => {
  const f = armed(() => 0);
  const variants: BfdControlPacket[] = [
    { ...up, poll: true }, { ...up, final: true }, { ...up, state: 'init' }, { ...up, state: 'down', diag: BfdDiag.controlDetectionTimeExpired },
    { ...up, detectMult: 4 }, { ...up, myDiscriminator: THEIRS + 1 }, { ...up, yourDiscriminator: OURS + 1 },
    { ...up, desiredMinTxUs: 300_000 }, { ...up, requiredMinRxUs: 300_000 }, { ...up, diag: BfdDiag.pairStandby },
  ];
  for (const v of variants) {
    const { d, off, end } = framed(encodeBfdControl(v));
    assert.not.ok(f.take(7, 2, d, off, end), JSON.stringify(v));
  }
  const withA = encodeBfdControl(up).slice();
  withA[1] = withA[1]! | 0x04;
  const a = framed(withA);
  assert.not.ok(f.take(7, 2, a.d, a.off, a.end), 'A bit');
  const short = framed(encodeBfdControl(up).subarray(0, 20));
  assert.not.ok(f.take(7, 2, short.d, short.off, short.end), '20 bytes');
  assert.is(f.bfdRx[2], 0);
  // armed for a standby far end: only its Diag-31 packets are steady
  f.armBfd(2, true, true, 3, OURS, THEIRS, 1_000_000, 500_000);
  const standby = framed(encodeBfdControl({ ...up, diag: BfdDiag.pairStandby }));
  const plain = framed(encodeBfdControl(up));
  assert.ok(f.take(7, 2, standby.d, standby.off, standby.end));
  assert.not.ok(f.take(7, 2, plain.d, plain.off, plain.end), 'the far end is active again: control must see it');
  f.armBfd(2, false, false, 0, 0, 0, 0, 0);
  assert.not.ok(f.take(7, 2, standby.d, standby.off, standby.end), 'disarmed');
});

test('link-test replies: queued with path, sequence, send time and arrival, drained in order; a full ring or a request goes to control', () => {
  let t = 50;
  const f = armed(() => t);
  const r1 = framed(encodeLinkTest({ sequence: 0xfeed0001, sentAtMs: 12.25 }, true));
  const r2 = framed(encodeLinkTest({ sequence: 7, sentAtMs: 1733400000000.5 }, true));
  assert.ok(f.take(7, 3, r1.d, r1.off, r1.end));
  t = 51;
  assert.ok(f.take(7, 0, r2.d, r2.off, r2.end));
  const request = framed(encodeLinkTest({ sequence: 1, sentAtMs: 1 }));
  assert.not.ok(f.take(7, 0, request.d, request.off, request.end), 'a request is not a reply');
  const bad = framed(encodeLinkTest({ sequence: 1, sentAtMs: 1 }, true).subarray(0, 15));
  assert.not.ok(f.take(7, 0, bad.d, bad.off, bad.end), 'malformed: control counts it');
  const got: number[][] = [];
  f.drainReplies((path, seq, sent, at) => got.push([path, seq, sent, at]));
  assert.equal(got, [[3, 0xfeed0001, 12.25, 50], [0, 7, 1733400000000.5, 51]]);
  f.drainReplies(() => assert.unreachable('drained once'));
  for (let i = 0; i < REPLY_RING; i++) assert.ok(f.take(7, 1, r1.d, r1.off, r1.end));
  assert.not.ok(f.take(7, 1, r1.d, r1.off, r1.end), 'ring full: to control');
  f.bind(8, 4);
  let n = 0;
  f.drainReplies(() => n++);
  assert.is(n, 0, 'a new binding starts empty (control drained the old ids first)');
});

test.run();
