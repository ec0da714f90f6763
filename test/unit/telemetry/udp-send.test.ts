/**
 * The IPFIX exporter's native UDP sends (native/udp-send.c, src/telemetry/ipfix/udp-send.ts): a flush's messages in
 * one sendmmsg, in order, each with its status; an ICMP port unreachable for an earlier message refuses the next one,
 * also when sendmmsg consumed the error without returning it; and the exporter's burst at a path MTU of 1500 sent and counted within the turn that flushes it
 * (with one libuv send per message, they were counted in callbacks on later turns), as UDP GSO sends: every message but
 * the last of a send padded to 1,472 bytes, each arriving as its own datagram. Without a path MTU given, the exporter
 * sizes its messages to the connected socket's (IP_MTU) and stamps them with the clock it is given.
 */
import * as assert from 'uvu/assert';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { IpfixExporter } from '../../../src/telemetry/ipfix/exporter.js';
import { nativeUdp, udpError, UDP_ERROR_CONSUMED, type UdpHandle } from '../../../src/telemetry/ipfix/udp-send.js';
import { makeRecord } from './records.js';
import { until, waitFor } from '../../support/config.js';
import { requires } from '../../support/prerequisites.js';

const test = requires(import.meta.url); // the addon (skipped without it)

async function sink(): Promise<{ sock: Socket; got: Buffer[] }> {
  const sock = createSocket('udp4');
  const got: Buffer[] = [];
  sock.on('message', (m) => got.push(m));
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  sock.setRecvBufferSize(4 << 20); // a burst sent within one turn of this process waits in it (as nfcapd -B, in the bench)
  return { sock, got };
}

/** The addon's functions, a sink and a socket to it. */
async function opened(): Promise<{ n: NonNullable<ReturnType<typeof nativeUdp>>; s: Awaited<ReturnType<typeof sink>>; h: UdpHandle }> {
  const n = nativeUdp();
  assert.ok(n !== undefined, 'the addon has udpSendMany (npm run build:native)');
  const s = await sink();
  return { n, s, h: n.udpOpen(4, '127.0.0.1', s.sock.address().port) };
}

test('udpSendMany: 100 messages in order in one call, each sent; to a port nobody listens on, the messages after a refused one are refused (the error sendmmsg consumes too)', async () => {
  const { n, s, h } = await opened();
  try {
    const messages = Array.from({ length: 100 }, (_, i) => new Uint8Array([i, 1, 2, 3]));
    const status = new Int32Array(101).fill(-1);
    assert.is(n.udpSendMany(h, messages, 100, status), 100);
    assert.equal([...status], new Array(101).fill(0));
    assert.ok(await until(() => s.got.length === 100, 5000), `${s.got.length} of 100 arrived`);
    assert.equal(s.got.map((m) => m[0]), messages.map((m) => m[0]), 'in order');
  } finally {
    n.udpClose(h);
  }
  const port = s.sock.address().port;
  s.sock.close();
  await new Promise((r) => setTimeout(r, 20));
  const gone = n.udpOpen(4, '127.0.0.1', port);
  try {
    // on loopback the ICMP port unreachable for a message comes back inside the send (no rate limit on lo): the next
    // message meets it, and sendmmsg consumes that error without returning it; that message is refused, not sent
    const status = new Int32Array(11);
    const refused: number[] = [];
    for (let k = 0; k < 5 && refused.length === 0; k++) {
      assert.is(n.udpSendMany(gone, Array.from({ length: 10 }, () => new Uint8Array(8)), 10, status), 10);
      refused.push(...[...status.subarray(0, 10)].filter((e) => e !== 0));
      if (refused.length === 0) await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(refused.length > 0, 'some of the messages are refused, not counted as sent');
    assert.ok(refused.every((e) => e === 111 || e === UDP_ERROR_CONSUMED), `ECONNREFUSED (111) or consumed: ${refused.join(', ')}`);
    assert.match(udpError(UDP_ERROR_CONSUMED, '127.0.0.1:9').message, /refused/);
    assert.match(udpError(111, '127.0.0.1:9').message, /^send ECONNREFUSED 127\.0\.0\.1:9$/);
  } finally {
    n.udpClose(gone);
  }
  assert.throws(() => n.udpSendMany(gone, [new Uint8Array(8)], 1, new Int32Array(2)), (e: unknown) => (e as { errno?: number }).errno === 9, 'closed: EBADF');
});

test('udpSendMany with a segment: a run of messages of that size and the one after it go as one GSO entry, each arriving as its own datagram, in order', async () => {
  const { n, s, h } = await opened();
  try {
    // runs: 5 of 1000 and the 700 after them; 3 of 1000 and the 200; then 60 of 1000 (a GSO entry takes 64 at most, and
    // 65,507 bytes: 65 of 1000 would not fit) and the last one alone
    const sizes = [1000, 1000, 1000, 1000, 1000, 700, 1000, 1000, 1000, 200, ...new Array<number>(60).fill(1000), 10];
    const messages = sizes.map((len, i) => new Uint8Array(len).fill(i));
    const status = new Int32Array(sizes.length + 3).fill(-1);
    assert.is(n.udpSendMany(h, messages, sizes.length, status, 1000), sizes.length);
    assert.equal([...status.subarray(0, sizes.length + 1)], new Array(sizes.length + 1).fill(0));
    assert.is(status[sizes.length + 1], sizes.length, 'every message in a GSO entry');
    assert.is(status[sizes.length + 2], 0, 'GSO not refused');
    assert.ok(await until(() => s.got.length === sizes.length, 5000), `${s.got.length} of ${sizes.length} arrived`);
    assert.equal(s.got.map((m) => [m.length, m[0]]), sizes.map((len, i) => [len, i]), 'one datagram a message, in order');
    const plain = new Int32Array(sizes.length + 3).fill(-1);
    assert.is(n.udpSendMany(h, messages, sizes.length, plain), sizes.length);
    assert.is(plain[sizes.length + 1], -1, 'without a segment: no GSO, the status past count + 1 untouched');
  } finally {
    n.udpClose(h);
    s.sock.close();
  }
});

test('the path MTU is the connected socket\'s: lo\'s from udpPathMtu; an exporter toward loopback sizes its messages to it (read, not assumed) and stamps them with its injected clock', async () => {
  const { n, s, h } = await opened();
  // lo's 65536, as the kernel gives it for a route: at most the largest IP packet
  const lo = Math.min(Number(readFileSync('/sys/class/net/lo/mtu', 'utf8')), 65_535);
  const pinned = 1_700_000_000_123;
  const e = new IpfixExporter({
    collector: { name: 'c', address: '127.0.0.1', port: s.sock.address().port, transport: 'udp', interimInterval: 60, tenants: [] },
    observationDomainId: 1, now: () => pinned,
  });
  try {
    assert.is(n.udpPathMtu(h), lo);
    assert.is(n.UDP_GSO_MAX_BYTES, 65_507, 'an IPv4 packet less the IPv4 and UDP headers');
    e.start();
    assert.ok(e.offer(makeRecord(0)));
    await waitFor('the first message at the sink', () => s.got.length > 0, 5000);
    assert.equal([e.counters().pathMtu, e.counters().pathMtuAssumed], [lo, 0]);
    assert.ok(s.got.every((m) => m.readUInt32BE(4) === Math.floor(pinned / 1000)), 'export time (RFC 7011 §3.1) from the clock');
  } finally {
    n.udpClose(h);
    await e.close();
    s.sock.close();
  }
});

test('a burst at a path MTU of 1500: 2,000 records\' messages sent and counted within the turn, in order, all arriving', async () => {
  const s = await sink();
  const e = new IpfixExporter({
    collector: { name: 'c', address: '127.0.0.1', port: s.sock.address().port, transport: 'udp', interimInterval: 60, tenants: [] },
    observationDomainId: 1, pathMtu: 1500, queueLimit: 10_000,
  });
  e.start();
  try {
    assert.ok(e.offer(makeRecord(0)));
    assert.ok(await until(() => e.status === 'up', 5000), 'the first message went out');
    const before = e.counters().exported;
    for (let i = 1; i < 2000; i++) e.offer(makeRecord(i));
    const c = e.counters();
    assert.is(c.dropped, 0);
    // what is not counted yet is in the open message (flushed on the timer) or the queue: under 256 records
    assert.ok(c.exported - before > 2000 - 1 - 256, `${c.exported - before} of 1,999 counted in the turn: ${JSON.stringify(c)}`);
    assert.ok(await until(() => e.counters().exported === 2000, 5000), JSON.stringify(e.counters()));
    const messages = e.counters().messages;
    assert.ok(messages > 100, `${messages} messages of at most 1,472 bytes`);
    assert.ok(await until(() => s.got.length === messages, 5000), `${s.got.length} of ${messages} arrived`);
    assert.ok(s.got.every((m) => m.length <= 1472 && m.readUInt16BE(2) === m.length), 'each within the MTU, one message a datagram');
    const gso = e.counters();
    assert.ok(gso.gsoMessages > messages / 2 && gso.gsoRefused === 0, `sent as GSO segments: ${JSON.stringify(gso)}`);
    assert.ok(s.got.filter((m) => m.length === 1472).length > messages / 2, 'padded to the segment');
    // IPFIX sequence numbers (RFC 7011 §3.1): data records before the message; in order, none missing
    let seq = s.got[0]!.readUInt32BE(8);
    for (const m of s.got.slice(1)) {
      const next = m.readUInt32BE(8);
      assert.ok(next > seq, `sequence ${next} after ${seq}`);
      seq = next;
    }
  } finally {
    await e.close();
    s.sock.close();
  }
});

test.run();
