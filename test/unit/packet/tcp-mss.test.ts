import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildTcp } from '../../../src/packet/build.js';
import { PacketInfo, parsePacket, TCP_ACK, TCP_SYN } from '../../../src/packet/ip.js';
import { computeL4Checksum, verifyL4Checksum } from '../../../src/packet/rewrite.js';
import { clampTcpMss, MSS_ABSENT, MSS_LOWERED, MSS_NOT_SYN, MSS_UNCHANGED, readTcpMss } from '../../../src/packet/tcp-mss.js';
import { readU16 } from '../../../src/packet/checksum.js';

const fromHex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const parsed = (p: Uint8Array) => {
  const pi = new PacketInfo();
  assert.is(parsePacket(p, 0, p.length, pi), 0);
  return pi;
};

// A Linux SYN 198.18.1.2:45678 -> 198.18.3.2:5201: MSS 1460, SACK permitted, timestamps, NOP, window scale 7.
const SYN = '4500003c000040004006aa93c6120102c6120302b26e14511122334400000000a002faf09f8c0000020405b40402080a000012340000000001030307';
// The same SYN with MSS 1432 (0x0598); TCP checksum 0x9f8c + (0x05b4 - 0x0598) = 0x9fa8 (RFC 1624), nothing else changes.
const SYN_1432 = '4500003c000040004006aa93c6120102c6120302b26e14511122334400000000a002faf09fa80000020405980402080a000012340000000001030307';

test('golden SYN: MSS 1460 lowered to 1432, checksum updated incrementally, every other byte unchanged', () => {
  const p = fromHex(SYN);
  const pi = parsed(p);
  assert.ok(verifyL4Checksum(p, pi));
  assert.is(readTcpMss(p, pi), 1460);
  assert.is(clampTcpMss(p, pi, 1432), MSS_LOWERED);
  assert.is(hex(p), SYN_1432);
  assert.ok(verifyL4Checksum(p, pi), 'the incremental update equals a full recomputation');
  assert.is(readTcpMss(p, pi), 1432);
});

test('an MSS already at or below the limit is left alone', () => {
  const p = fromHex(SYN);
  const pi = parsed(p);
  assert.is(clampTcpMss(p, pi, 1460), MSS_UNCHANGED);
  assert.is(clampTcpMss(p, pi, 9000), MSS_UNCHANGED);
  assert.is(hex(p), SYN);
});

const v4 = { src: Uint8Array.of(198, 18, 1, 2), dst: Uint8Array.of(198, 18, 3, 2) };
const v6 = { src: fromHex('20010db8000000000000000000000001'), dst: fromHex('20010db8000000000000000000000002') };

test('an MSS option at an odd offset (after one NOP) straddles two checksum words: still exact', () => {
  // NOP, MSS 8960, NOP, NOP, NOP (padding to 8 bytes): the MSS value sits 23 bytes into the TCP header
  const p = buildTcp({ ...v4, srcPort: 40000, dstPort: 80, seq: 7, ack: 0, flags: TCP_SYN, options: Uint8Array.of(1, 2, 4, 0x23, 0x00, 1, 1, 1) });
  const pi = parsed(p);
  assert.is(readTcpMss(p, pi), 8960);
  assert.is(clampTcpMss(p, pi, 1400), MSS_LOWERED);
  assert.is(readU16(p, pi.l4 + 23), 1400);
  assert.ok(verifyL4Checksum(p, pi));
  assert.is(readU16(p, pi.l4 + 16), computeL4Checksum(p, pi));
});

test('IPv6 SYN-ACK with a payload (TCP Fast Open style): clamped, checksum exact', () => {
  const p = buildTcp({ ...v6, srcPort: 443, dstPort: 50000, seq: 1, ack: 2, flags: TCP_SYN | TCP_ACK, options: Uint8Array.of(2, 4, 0x05, 0xa0, 1, 1, 4, 2), payload: Uint8Array.of(1, 2, 3, 4, 5) });
  const pi = parsed(p);
  assert.is(readTcpMss(p, pi), 1440);
  assert.is(clampTcpMss(p, pi, 1372), MSS_LOWERED);
  assert.is(readTcpMss(p, pi), 1372);
  assert.ok(verifyL4Checksum(p, pi));
});

test('segments without SYN are never touched, even with an MSS option', () => {
  const p = buildTcp({ ...v4, srcPort: 40000, dstPort: 80, seq: 7, ack: 9, flags: TCP_ACK, options: Uint8Array.of(2, 4, 0x05, 0xb4) });
  const before = hex(p);
  const pi = parsed(p);
  assert.is(readTcpMss(p, pi), -1);
  assert.is(clampTcpMss(p, pi, 500), MSS_NOT_SYN);
  assert.is(hex(p), before);
});

test('a SYN without the option, or with options that do not parse, is reported absent and unchanged', () => {
  for (const options of [undefined, Uint8Array.of(1, 1, 1, 0), Uint8Array.of(8, 0, 2, 4), Uint8Array.of(3, 9, 2, 4), Uint8Array.of(2, 3, 5, 1)]) {
    const p = buildTcp({ ...v4, srcPort: 40000, dstPort: 80, seq: 7, ack: 0, flags: TCP_SYN, ...(options ? { options } : {}) });
    const before = hex(p);
    const pi = parsed(p);
    assert.is(clampTcpMss(p, pi, 500), MSS_ABSENT, `options ${options ? hex(options) : 'none'}`);
    assert.is(hex(p), before);
  }
});

test('a SYN whose checksum was already wrong stays wrong (the clamp never repairs a corrupted packet)', () => {
  const p = fromHex(SYN);
  p[p.length - 1] ^= 0x40; // corrupt an option byte after the checksum was computed
  const pi = parsed(p);
  assert.not.ok(verifyL4Checksum(p, pi));
  assert.is(clampTcpMss(p, pi, 1432), MSS_LOWERED);
  assert.not.ok(verifyL4Checksum(p, pi));
});

test.run();
