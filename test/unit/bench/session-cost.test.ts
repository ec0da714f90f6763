/**
 * bench/session-cost.ts's arithmetic (bench/session-cost-client.ts): each new session a distinct 5-tuple, its
 * datagram byte for byte what the packet builder makes for that tuple (a valid IPv4 header checksum), and the
 * printed figures (CPU per answered session, answered per busy second) from what the run measured.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { costSummary, DESTINATION_PORTS, sessionIndex, SessionWindow, SOURCE_PORTS, SOURCES, sessionTuple, writeSessionDatagram } from '../../../bench/session-cost-client.js';
import { parseAddress } from '../../../src/packet/addr.js';
import { buildUdp } from '../../../src/packet/build.js';
import { PacketInfo, parsePacket, ParseError, PROTO_UDP } from '../../../src/packet/ip.js';

const FIRST_DST = 5000;
const key = (n: number): number => {
  const s = sessionTuple(n, FIRST_DST);
  return ((s.srcLastByte * 65536 + s.srcPort) * 65536) + s.dstPort;
};

test('the first 300,000 sessions each get their own 5-tuple, within the client\'s addresses and ports', () => {
  const seen = new Set<number>();
  for (let n = 0; n < 300_000; n++) {
    const s = sessionTuple(n, FIRST_DST);
    assert.ok(s.srcLastByte >= 128 && s.srcLastByte < 128 + SOURCES && s.srcPort >= 20_000 && s.srcPort < 60_000 && s.dstPort === FIRST_DST, `session ${n}`);
    seen.add(key(n));
  }
  assert.is(seen.size, 300_000);
});

test('past every source address and port the next destination port begins; the tuples repeat only after all of them', () => {
  const wrap = SOURCES * SOURCE_PORTS;
  assert.equal(sessionTuple(wrap - 1, FIRST_DST), { srcLastByte: 191, srcPort: 59_999, dstPort: FIRST_DST });
  assert.equal(sessionTuple(wrap, FIRST_DST), { srcLastByte: 128, srcPort: 20_000, dstPort: FIRST_DST + 1 });
  assert.equal(sessionTuple(wrap * DESTINATION_PORTS - 1, FIRST_DST).dstPort, FIRST_DST + DESTINATION_PORTS - 1);
  assert.is(key(wrap * DESTINATION_PORTS), key(0));
});

test('each datagram is what the packet builder makes for its tuple (IPv4 header checksum fresh), with the UDP checksum off', () => {
  const src = parseAddress('198.18.1.128')!.bytes, dst = parseAddress('198.19.0.10')!.bytes;
  const template = buildUdp({ src, dst, srcPort: 20_000, dstPort: FIRST_DST, payload: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11) });
  const batch = new Uint8Array(template.length * 3);
  const sessions = [0, 4_242_437, SOURCES * SOURCE_PORTS + 7];
  sessions.forEach((n, i) => writeSessionDatagram(batch, i * template.length, template, n, FIRST_DST));
  sessions.forEach((n, i) => {
    const s = sessionTuple(n, FIRST_DST);
    const want = buildUdp({ src: Uint8Array.of(198, 18, 1, s.srcLastByte), dst, srcPort: s.srcPort, dstPort: s.dstPort, payload: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11) });
    want[26] = 0;
    want[27] = 0;
    const got = batch.subarray(i * template.length, (i + 1) * template.length);
    assert.equal([...got], [...want], `session ${n}`);
    const pi = new PacketInfo();
    assert.is(parsePacket(batch, i * template.length, template.length, pi), ParseError.None);
    assert.is(pi.protocol, PROTO_UDP);
    assert.is(pi.srcPort, s.srcPort);
  });
});

test('the figures: CPU per answered session, answered per busy second, CPU seconds', () => {
  assert.equal(costSummary({ cpuUs: 2_500_000, answered: 100_000, busyMs: 5_000 }), { usPerSession: 25, perSecond: 20_000, cpuS: 2.5 });
  assert.equal(costSummary({ cpuUs: 1_987_654, answered: 90_000, busyMs: 4_500 }), { usPerSession: 22.09, perSecond: 20_000, cpuS: 1.99 });
  // nothing answered: the whole CPU for one session, no division by zero
  assert.equal(costSummary({ cpuUs: 300_000, answered: 0, busyMs: 0 }), { usPerSession: 300_000, perSecond: 0, cpuS: 0.3 });
});

test('an answer names its session: sessionIndex inverts sessionTuple', () => {
  for (const n of [0, 63, 64, 4_242_437, SOURCES * SOURCE_PORTS + 7]) {
    const s = sessionTuple(n, FIRST_DST);
    assert.is(sessionIndex(s.srcLastByte, s.srcPort, s.dstPort, FIRST_DST), n);
  }
});

test('the window: sessions the routers never answer are lost after lostMs and free the window; the run finishes; a late answer counts as answered', () => {
  const w = new SessionWindow(1024, 256, 64, 5000);
  let now = 0;
  while (w.canSend()) w.sendChunk(now);
  assert.is(w.sent, 256);
  // the first 256 sessions are never answered (a cold start stalled past the routers' timers)
  now = 4999;
  w.sweep(now);
  assert.is(w.lost, 0);
  assert.not.ok(w.canSend(), 'in flight until lostMs');
  now = 5000;
  w.sweep(now);
  assert.is(w.lost, 256);
  assert.ok(w.canSend(), 'the lost sessions left the window');
  while (w.canSend()) w.sendChunk(now);
  assert.is(w.sent, 512);
  for (let n = 256; n < 512; n++) w.answer(n);
  w.answer(300); // a duplicate answer changes nothing
  w.answer(5000); // nor one for a session never sent
  assert.equal([w.answered, w.lost], [256, 256]);
  w.answer(10); // a lost session's answer after all
  assert.equal([w.answered, w.lost], [257, 255]);
  assert.not.ok(w.finished());
  while (w.canSend()) {
    const first = w.sendChunk(now);
    for (let n = first; n < first + 64; n++) w.answer(n);
  }
  assert.equal([w.sent, w.answered, w.lost], [1024, 769, 255]);
  assert.ok(w.finished(), 'every session answered or lost');
});

test.run();
