/**
 * The native finish of svr-out's signed packets (src/dataplane/steady-send.ts, native/steady-send.c) against the
 * JS steps it replaces (setAddresses, setPorts, then the trailer's checksum and the IP length: svr-out's
 * endSigned), byte for byte: TCP and UDP, IPv4 and IPv6, odd and even payloads, grown or not, a UDP checksum
 * of 0 (none), a wrong checksum (stays wrong by as much), and a frame of
 * packets on two paths in one call; and the frame check of plaintext checksums against verifyL4Checksum.
 */
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { SteadySend } from '../../../src/dataplane/steady-send.js';
import { loadAddress } from '../../../src/dataplane/flow-key.js';
import { wordsToBytes } from '../../../src/dataplane/metadata-build.js';
import { adjustChecksumForTail } from '../../../src/dataplane/packet-ops.js';
import { parseAddress } from '../../../src/packet/addr.js';
import { buildTcp, buildUdp } from '../../../src/packet/build.js';
import { writeU16 } from '../../../src/packet/checksum.js';
import { PacketInfo, parsePacket, PROTO_UDP } from '../../../src/packet/ip.js';
import { fillL4Checksum, setAddresses, setIpLength, setPorts, verifyL4Checksum } from '../../../src/packet/rewrite.js';
import { withSwitchSync } from '../../support/env.js';
import { requires } from '../../support/prerequisites.js';

const test = requires(import.meta.url); // the addon (skipped without it)

/** The native finish, its switch on: the addon must have native/steady-send.c. */
function nativeSteady(): SteadySend {
  const steady = withSwitchSync('SVR_NATIVE_STEADY', true, () => new SteadySend());
  assert.ok(steady.on, 'the addon has native/steady-send.c (npm run build:native)');
  return steady;
}

const TRAILER = 26; // replay block 10 + sha256-128 tag
const ROOM = 64;

interface Case { pkt: Uint8Array; family: 4 | 6; grew: boolean; path: number }

/** Path 0 (IPv4) and path 1 (IPv6) waypoints, as DataplaneContext keeps them. */
function pathWords(): { local: Uint32Array; remote: Uint32Array } {
  const local = new Uint32Array(8), remote = new Uint32Array(8);
  loadAddress(parseAddress('203.0.113.1')!.bytes, 0, 4, local, 0);
  loadAddress(parseAddress('203.0.113.2')!.bytes, 0, 4, remote, 0);
  loadAddress(parseAddress('2001:db8::1')!.bytes, 0, 6, local, 4);
  loadAddress(parseAddress('2001:db8::2')!.bytes, 0, 6, remote, 4);
  return { local, remote };
}

function cases(): Case[] {
  const out: Case[] = [];
  const v4 = { src: parseAddress('198.18.1.10')!.bytes, dst: parseAddress('198.18.3.20')!.bytes };
  const v6 = { src: parseAddress('2001:db8:1::10')!.bytes, dst: parseAddress('2001:db8:3::20')!.bytes };
  for (const [family, a] of [[4, v4], [6, v6]] as const) {
    for (const size of [0, 1, 2, 33, 700, 1401]) {
      for (const grew of [false, true]) {
        const payload = randomBytes(size);
        out.push({ pkt: buildUdp({ ...a, srcPort: 40000 + size, dstPort: 5000, payload }), family, grew, path: family === 4 ? 0 : 1 });
        out.push({ pkt: buildTcp({ ...a, srcPort: 41000 + size, dstPort: 80, seq: 0x12345678 + size, ack: 99, flags: 0x10, payload }), family, grew, path: family === 4 ? 0 : 1 });
      }
    }
  }
  const noSum = buildUdp({ ...v4, srcPort: 40001, dstPort: 5000, payload: randomBytes(100) });
  writeU16(noSum, 26, 0); // UDP over IPv4 without a checksum
  out.push({ pkt: noSum, family: 4, grew: false, path: 0 });
  const wrong = buildTcp({ ...v4, srcPort: 41001, dstPort: 80, seq: 1, flags: 0x18, payload: randomBytes(301) });
  wrong[36]! ^= 0x5a; // a corrupted checksum stays corrupted, by as much
  out.push({ pkt: wrong, family: 4, grew: false, path: 0 });
  return out;
}

/** The packet in a buffer with room for the trailer, parsed. */
function place(c: Case): { d: Uint8Array; pi: PacketInfo } {
  const d = new Uint8Array(c.pkt.length + ROOM);
  d.set(c.pkt, 0);
  const pi = new PacketInfo();
  assert.is(parsePacket(d, 0, c.pkt.length, pi), 0);
  return { d, pi };
}

const trailerOf = (c: Case): Uint8Array => Uint8Array.from({ length: TRAILER }, (_, i) => (c.pkt.length * 7 + i * 31) & 0xff);

/** svr-out's steps in JS: rewrite, trailer written (the tag), then endSigned. */
function inJs(c: Case, w: { local: Uint32Array; remote: Uint32Array }, ports: [number, number]): Uint8Array {
  const { d, pi } = place(c);
  const lw = new Uint8Array(16), rw = new Uint8Array(16);
  wordsToBytes(w.local, c.path * 4, c.family, lw);
  wordsToBytes(w.remote, c.path * 4, c.family, rw);
  setAddresses(d, pi, lw, 0, rw, 0);
  setPorts(d, pi, ports[0], ports[1]);
  d.set(trailerOf(c), pi.end);
  const end = pi.end + TRAILER;
  if (!c.grew) adjustChecksumForTail(d, pi, pi.end, TRAILER, true);
  setIpLength(d, pi, end);
  if (c.grew) fillL4Checksum(d, pi);
  return d;
}

test('the native finish writes the same bytes as the JS steps, one packet and a whole frame per call', () => {
  const steady = nativeSteady();
  const w = pathWords();
  const all = cases();
  steady.frame(all.length);
  const wants: Uint8Array[] = [];
  for (const [i, c] of all.entries()) {
    const ports: [number, number] = [16000 + i, 0xfff0 - i];
    const want = inJs(c, w, ports);
    const { d, pi } = place(c);
    d.set(trailerOf(c), pi.end);
    assert.ok(steady.takes(pi));
    steady.add(pi, c.path, ports[0], ports[1], pi.end + TRAILER, c.grew);
    assert.is(pi.end, c.pkt.length + TRAILER, 'pi takes its final end');
    assert.is(pi.srcPort, ports[0]);
    steady.finish(d, w.local, w.remote);
    assert.equal([...d], [...want], `case ${i}: ${c.family === 4 ? 'IPv4' : 'IPv6'} ${pi.protocol === PROTO_UDP ? 'UDP' : 'TCP'} ${c.pkt.length} B grew ${c.grew}`);
    wants.push(want);
  }
  // the whole frame in one call: all the packets in one buffer
  const size = all.reduce((n, c) => n + c.pkt.length + ROOM, 0);
  const big = new Uint8Array(size);
  let at = 0;
  const want = new Uint8Array(size);
  for (const [i, c] of all.entries()) {
    const ports: [number, number] = [16000 + i, 0xfff0 - i];
    const { d } = place(c);
    const pi = new PacketInfo();
    big.set(d.subarray(0, c.pkt.length), at);
    assert.is(parsePacket(big, at, c.pkt.length, pi), 0);
    big.set(trailerOf(c), pi.end);
    steady.add(pi, c.path, ports[0], ports[1], pi.end + TRAILER, c.grew);
    want.set(wants[i]!.subarray(0, c.pkt.length + TRAILER), at);
    at += c.pkt.length + ROOM;
  }
  steady.finish(big, w.local, w.remote);
  assert.equal([...big], [...want], 'a frame in one call');
});

test('the frame check of plaintext checksums gives verifyL4Checksum\'s verdicts (good, wrong, UDP without a checksum)', () => {
  const steady = nativeSteady();
  const all = cases();
  const size = all.reduce((n, c) => n + c.pkt.length + ROOM, 0);
  const big = new Uint8Array(size);
  const want: boolean[] = [];
  let at = 0;
  steady.frame(all.length);
  for (const c of all) {
    big.set(c.pkt, at);
    const pi = new PacketInfo();
    assert.is(parsePacket(big, at, c.pkt.length, pi), 0);
    want.push(verifyL4Checksum(big, pi));
    assert.is(steady.check(pi), want.length - 1);
    at += c.pkt.length + ROOM;
  }
  assert.ok(want.includes(false) && want.includes(true));
  steady.verifyChecks(big);
  assert.equal([...steady.checked.subarray(0, all.length)].map((v) => v === 1), want);
  assert.is(steady.checks, 0, 'the queue is empty again');
});

test('a frame of fewer than 3 packets stays in JS (the call costs more than it saves)', () => {
  const steady = nativeSteady();
  const { pi } = place(cases()[0]!);
  steady.frame(2);
  assert.not.ok(steady.takes(pi));
  steady.frame(3);
  assert.ok(steady.takes(pi));
});

test('a packet outside the buffer is refused, nothing written past it', () => {
  const steady = nativeSteady();
  const w = pathWords();
  const c = cases()[0]!;
  const { d, pi } = place(c);
  steady.frame(8);
  steady.add(pi, 0, 1, 2, d.length + 1, false);
  assert.throws(() => steady.finish(d, w.local, w.remote), /outside data/);
});

test.run();
