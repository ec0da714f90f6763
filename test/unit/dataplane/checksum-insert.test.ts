/**
 * adjustChecksumForInsert (packet-ops.ts): bytes inserted at the payload's start, as svr-out puts metadata in, update
 * the L4 checksum by increments, for every insert length (even and odd) and payload length, UDP and TCP, IPv4 and
 * IPv6: a right checksum ends as the full recompute's, a wrong one stays wrong by as much.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildTcp, buildUdp } from '../../../src/packet/build.js';
import { parseAddress } from '../../../src/packet/addr.js';
import { PacketInfo, parsePacket } from '../../../src/packet/ip.js';
import { computeL4Checksum, l4ChecksumOffset, setIpLength } from '../../../src/packet/rewrite.js';
import { readU16 } from '../../../src/packet/checksum.js';
import { adjustChecksumForInsert } from '../../../src/dataplane/packet-ops.js';
import { prng } from '../../support/prng.js';

const HEADROOM = 128;
const addr = (t: string): Uint8Array => parseAddress(t)!.bytes;

/** The packet in a buffer with headroom, `n` bytes put in at its payload (headers moved left), its checksum
 *  adjusted and its lengths set; returns its checksum field and the full recompute's. */
function insert(pkt: Uint8Array, n: number, rnd: () => number): { field: number; full: number } {
  const d = new Uint8Array(HEADROOM + pkt.length + n);
  d.set(pkt, HEADROOM);
  const pi = new PacketInfo();
  parsePacket(d, HEADROOM, pkt.length, pi);
  const payload = pi.payload;
  d.copyWithin(HEADROOM - n, HEADROOM, payload); // openAtPayload's move
  for (let k = 0; k < n; k++) d[payload - n + k] = Math.floor(rnd() * 256);
  const after = new PacketInfo();
  parsePacket(d, HEADROOM - n, pkt.length + n, after); // the lengths still say the old ones: the end is given
  after.end = pi.end;
  after.payload = payload - n;
  adjustChecksumForInsert(d, after, payload - n, n);
  setIpLength(d, after, after.end);
  return { field: readU16(d, l4ChecksumOffset(after)), full: computeL4Checksum(d, after) };
}

test('inserts of 1-48 bytes into UDP and TCP, IPv4 and IPv6, payloads of 0-40 bytes: the full recompute\'s checksum', () => {
  const rnd = prng(25);
  for (const [src, dst] of [['198.18.1.10', '198.18.3.20'], ['2001:db8::1', '2001:db8::2']] as const) {
    for (let plen = 0; plen <= 40; plen += 7) {
      const payload = Uint8Array.from({ length: plen }, () => Math.floor(rnd() * 256));
      for (let n = 1; n <= 48; n++) {
        const udp = buildUdp({ src: addr(src), dst: addr(dst), srcPort: 40000, dstPort: 7, payload });
        const tcp = buildTcp({ src: addr(src), dst: addr(dst), srcPort: 40000, dstPort: 80, seq: 7, flags: 0x18, payload });
        for (const pkt of [udp, tcp]) {
          const { field, full } = insert(pkt, n, rnd);
          assert.is(field, full === 0 && pkt === udp ? 0xffff : full, `${src} ${pkt === udp ? 'udp' : 'tcp'} payload ${plen} insert ${n}`);
        }
      }
    }
  }
});

/** a - b in ones' complement, folded (0 and 0xffff the same). */
const diff = (a: number, b: number): number => {
  const x = a + (~b & 0xffff);
  return ((x & 0xffff) + (x >>> 16)) % 0xffff;
};

test('a wrong checksum stays wrong by as much, odd inserts included', () => {
  const rnd = prng(26);
  for (let n = 1; n <= 16; n++) {
    const pkt = buildUdp({ src: addr('198.18.1.10'), dst: addr('198.18.3.20'), srcPort: 40000, dstPort: 7, payload: Uint8Array.from({ length: 13 }, (_, i) => i * 17) });
    pkt[pkt.length - 2]! ^= 0x11; // after the checksum was computed
    const pi = new PacketInfo();
    parsePacket(pkt, 0, pkt.length, pi);
    const before = diff(readU16(pkt, l4ChecksumOffset(pi)), computeL4Checksum(pkt, pi));
    assert.is.not(before, 0);
    const { field, full } = insert(pkt, n, rnd);
    assert.is(diff(field, full), before, `insert ${n}`);
  }
});

test.run();
