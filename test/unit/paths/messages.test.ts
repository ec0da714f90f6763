/** Control-channel multiplexing by first byte, and the link-test echo format. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeLinkTest, encodeLinkTest, linkTestReply, pathMessageKind } from '../../../src/paths/messages.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('first byte: 0x20-0x3f BFD (version 1), 0xc1/0xc2 link test, 0xc3-0xc7 STEP, 0xc8-0xcb key exchange, 0xcc NAT address, 0xcd/0xce path MTU, 0xcf/0xd0/0xd1 firewall detector, the rest unknown', () => {
  const kind = (b: number) => pathMessageKind(Uint8Array.of(b, 0, 0));
  assert.equal([0x20, 0x27, 0x3f].map(kind), ['bfd', 'bfd', 'bfd']);
  assert.equal([0x00, 0x1f, 0x40, 0xc0, 0xd2, 0xff].map(kind), ['unknown', 'unknown', 'unknown', 'unknown', 'unknown', 'unknown']);
  assert.equal([0xcc, 0xcd, 0xce, 0xcf, 0xd0, 0xd1].map(kind), ['nat-address', 'mtu-probe', 'mtu-ack', 'fw-probe', 'fw-probe-ack', 'fw-verdict']);
  assert.equal([0xc1, 0xc2, 0xc3, 0xc7].map(kind), ['link-test-request', 'link-test-reply', 'step', 'step']);
  assert.equal([0xc8, 0xcb].map(kind), ['handshake', 'handshake']);
  assert.is(pathMessageKind(new Uint8Array(0)), 'unknown');
});

test('link-test request: golden bytes; the reply is the same bytes with 0xc2', () => {
  const request = encodeLinkTest({ sequence: 0x01020304, sentAtMs: 1234.5 });
  assert.is(hex(request), 'c1000000' + '01020304' + '40934a0000000000');
  assert.is(hex(linkTestReply(request)), 'c2000000' + '01020304' + '40934a0000000000');
  assert.is(hex(request).slice(0, 2), 'c1', 'the request itself is not modified');
  assert.equal(decodeLinkTest(linkTestReply(request)), { sequence: 0x01020304, sentAtMs: 1234.5 });
  assert.is(hex(encodeLinkTest({ sequence: 7, sentAtMs: 0 }, true)).slice(0, 2), 'c2');
});

test('link-test decode is strict: exact length, zero reserved bytes, finite time', () => {
  const good = encodeLinkTest({ sequence: 9, sentAtMs: 5 });
  assert.ok(decodeLinkTest(good));
  assert.is(decodeLinkTest(good.subarray(0, 15)), undefined);
  const longer = new Uint8Array(17);
  longer.set(good);
  assert.is(decodeLinkTest(longer), undefined);
  for (const at of [1, 2, 3]) {
    const bad = good.slice();
    bad[at] = 1;
    assert.is(decodeLinkTest(bad), undefined, `byte ${at}`);
  }
  const nan = good.slice();
  new DataView(nan.buffer).setFloat64(8, Number.NaN);
  assert.is(decodeLinkTest(nan), undefined);
});

test.run();
