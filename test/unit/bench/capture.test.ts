/**
 * The wire check's MSS reading (bench/capture.ts synMss) on a made-up capture (no root needed): the MSS of a
 * SYN and a SYN-ACK that cross as TCP, and of ones carried as UDP (udp-transform: the TCP header behind the UDP
 * header and the SVR metadata, as svrouter-enc-udp sends them); a UDP datagram whose metadata is followed by
 * anything but a SYN is no SYN.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { synMss } from '../../../bench/capture.js';
import { PcapWriter } from '../../../src/io/pcap.js';
import { buildTcp, buildUdp } from '../../../src/packet/build.js';
import { TCP_ACK, TCP_SYN } from '../../../src/packet/ip.js';
import { FALSE_POSITIVE_HEADER } from '../../../src/packet/svr-metadata.js';

const A = Uint8Array.of(198, 18, 12, 1);
const B = Uint8Array.of(198, 18, 12, 2);
const mssOption = (mss: number): Uint8Array => Uint8Array.of(2, 4, mss >> 8, mss & 0xff);

/** The TCP header (and payload) of a segment, without its IP header. */
function tcpBytes(flags: number, mss: number | undefined, payload?: Uint8Array): Uint8Array {
  const p = buildTcp({ src: A, dst: B, srcPort: 16386, dstPort: 16385, seq: 1, flags, ...(mss !== undefined ? { options: mssOption(mss) } : {}), ...(payload ? { payload } : {}) });
  return p.subarray(20);
}

/** A TCP segment carried as UDP: UDP header, a 12-byte metadata header, then the TCP header. */
const asUdp = (tcp: Uint8Array): Uint8Array =>
  buildUdp({ src: A, dst: B, srcPort: 16386, dstPort: 16385, payload: new Uint8Array(Buffer.concat([FALSE_POSITIVE_HEADER, tcp])) });

function mssOf(packets: Uint8Array[]): { synMss: number; synAckMss: number } {
  const dir = mkdtempSync(join(tmpdir(), 'svrt-capture-'));
  try {
    const w = new PcapWriter(join(dir, 'wan.pcap'));
    for (const p of packets) w.write(p);
    w.close();
    return synMss(w.path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('SYN and SYN-ACK as TCP on the wire', () => {
  const syn = buildTcp({ src: A, dst: B, srcPort: 1, dstPort: 2, seq: 1, flags: TCP_SYN, options: mssOption(1401) });
  const synAck = buildTcp({ src: B, dst: A, srcPort: 2, dstPort: 1, seq: 1, flags: TCP_SYN | TCP_ACK, options: mssOption(1400) });
  assert.equal(mssOf([syn, synAck]), { synMss: 1401, synAckMss: 1400 });
});

test('SYN and SYN-ACK carried as UDP behind the SVR metadata', () => {
  const data = asUdp(tcpBytes(TCP_ACK, undefined, new Uint8Array(100).fill(7)));
  assert.equal(mssOf([data, asUdp(tcpBytes(TCP_SYN, 1393)), asUdp(tcpBytes(TCP_SYN | TCP_ACK, 1392))]), { synMss: 1393, synAckMss: 1392 });
  assert.equal(mssOf([asUdp(tcpBytes(TCP_SYN, undefined))]), { synMss: -1, synAckMss: -1 }, 'a SYN without the option');
});

test('UDP without metadata, or metadata followed by no SYN, is no SYN', () => {
  const plain = buildUdp({ src: A, dst: B, srcPort: 5, dstPort: 7, payload: tcpBytes(TCP_SYN, 1393) });
  const data = asUdp(tcpBytes(TCP_ACK, undefined, new Uint8Array(50)));
  assert.equal(mssOf([plain, data]), { synMss: -1, synAckMss: -1 });
});

test.run();
