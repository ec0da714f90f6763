import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isSvrError } from '../../../src/errors.js';
import { parseAddress } from '../../../src/packet/addr.js';
import { buildIcmpEcho, buildUdp } from '../../../src/packet/build.js';
import { PacketInfo, parsePacket, PROTO_ICMP } from '../../../src/packet/ip.js';
import type { UdpSender } from '../../../src/sim/udp.js';
import { hostPair, waitFor } from './setup.js';

const text = new TextEncoder();
const untext = new TextDecoder();

function addr(s: string): Uint8Array {
  return parseAddress(s)!.bytes;
}

test('UDP request and reply between two IPv4 hosts', async () => {
  const { a, b, close } = hostPair();
  try {
    const atB: Array<[string, UdpSender]> = [];
    const atA: Array<[string, UdpSender]> = [];
    b.udpBind(53, (data, from) => {
      atB.push([untext.decode(data), from]);
      b.udpSend(53, from.address, from.port, text.encode(`re: ${untext.decode(data)}`));
    });
    a.udpBind(40000, (data, from) => atA.push([untext.decode(data), from]));
    a.udpSend(40000, '10.0.0.2', 53, text.encode('hello'));
    await waitFor(() => atA.length === 1, 1000, 'reply');
    assert.equal(atB, [['hello', { address: '10.0.0.1', port: 40000 }]]);
    assert.equal(atA, [['re: hello', { address: '10.0.0.2', port: 53 }]]);
    assert.is(b.stats.udpDelivered, 1);
    assert.is(a.stats.txPackets, 1);
    assert.is(b.stats.badChecksum, 0);
  } finally {
    close();
  }
});

test('UDP over IPv6', async () => {
  const { a, b, close } = hostPair('2001:db8:1::10', '2001:db8:2::20');
  try {
    let got: [string, UdpSender] | null = null;
    b.udpBind(6000, (data, from) => { got = [untext.decode(data), from]; });
    a.udpSend(50000, '2001:db8:2::20', 6000, text.encode('v6'));
    await waitFor(() => got !== null, 1000, 'datagram');
    assert.equal(got, ['v6', { address: '2001:db8:1::10', port: 50000 }]);
  } finally {
    close();
  }
});

test('UDP to a closed port is dropped and counted', async () => {
  const { a, b, close } = hostPair();
  try {
    a.udpSend(1234, '10.0.0.2', 9, text.encode('nobody'));
    await waitFor(() => b.stats.rxPackets === 1, 1000, 'delivery');
    assert.is(b.stats.udpNoListener, 1);
    assert.is(b.stats.udpDelivered, 0);
    assert.is(b.stats.txPackets, 0, 'no ICMP or anything else sent back');
  } finally {
    close();
  }
});

test('packets for other addresses, bad checksums and garbage are counted, not delivered', async () => {
  const { link, b, close } = hostPair();
  try {
    let delivered = 0;
    b.udpBind(7, () => delivered++);
    const other = buildUdp({ src: addr('10.0.0.1'), dst: addr('10.0.0.99'), srcPort: 1, dstPort: 7, payload: text.encode('x') });
    const bad = buildUdp({ src: addr('10.0.0.1'), dst: addr('10.0.0.2'), srcPort: 1, dstPort: 7, payload: text.encode('y') });
    bad[bad.length - 1] ^= 0xff; // payload changed after the checksum
    const badIp = buildUdp({ src: addr('10.0.0.1'), dst: addr('10.0.0.2'), srcPort: 1, dstPort: 7, payload: text.encode('z') });
    badIp[10] ^= 0x01; // IPv4 header checksum
    const good = buildUdp({ src: addr('10.0.0.1'), dst: addr('10.0.0.2'), srcPort: 1, dstPort: 7, payload: text.encode('ok') });
    link.a.send(other, bad, badIp, Uint8Array.of(0x45, 0, 0), good);
    await waitFor(() => b.stats.rxPackets === 5, 1000, 'delivery');
    assert.is(b.stats.notForUs, 1);
    assert.is(b.stats.badChecksum, 2);
    assert.is(b.stats.malformed, 1);
    assert.is(delivered, 1);
  } finally {
    close();
  }
});

test('binding a port twice and sending to another family are coded errors', () => {
  const { a, close } = hostPair();
  try {
    a.udpBind(5000, () => {});
    assert.throws(() => a.udpBind(5000, () => {}), (e: unknown) => isSvrError(e, 'SVR_ERR_SIM_PORT_IN_USE'));
    assert.throws(() => a.udpSend(5000, '2001:db8::1', 53, new Uint8Array(1)), (e: unknown) => isSvrError(e, 'SVR_ERR_SIM_ADDRESS'));
    assert.throws(() => a.udpSend(5000, 'not-an-address', 53, new Uint8Array(1)), (e: unknown) => isSvrError(e, 'SVR_ERR_SIM_ADDRESS'));
    assert.throws(() => a.udpSend(0, '10.0.0.2', 53, new Uint8Array(1)), (e: unknown) => isSvrError(e, 'SVR_ERR_SIM_ADDRESS'));
    a.udpUnbind(5000);
    a.udpBind(5000, () => {}); // free again
  } finally {
    close();
  }
});

test('hosts answer ICMP echo requests', async () => {
  const { link, b, close } = hostPair();
  try {
    const replies: Uint8Array[] = [];
    link.observe((p, dir) => { if (dir === 'b->a') replies.push(p); });
    link.a.send(buildIcmpEcho({ src: addr('10.0.0.1'), dst: addr('10.0.0.2'), request: true, id: 77, seq: 3, payload: text.encode('ping') }));
    await waitFor(() => replies.length === 1, 1000, 'echo reply');
    const pi = new PacketInfo();
    parsePacket(replies[0]!, 0, replies[0]!.length, pi);
    assert.is(pi.protocol, PROTO_ICMP);
    assert.is(pi.icmpType, 0);
    assert.is(pi.srcPort, 77);
    assert.is(untext.decode(replies[0]!.subarray(pi.payload, pi.end)), 'ping');
    assert.is(b.stats.icmpEchoReplies, 1);
  } finally {
    close();
  }
});

test.run();
