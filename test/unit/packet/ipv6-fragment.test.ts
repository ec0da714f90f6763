import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { buildUdp } from '../../../src/packet/build.js';
import { readU16, readU32 } from '../../../src/packet/checksum.js';
import { IPV6_FRAGMENT_HEADER, ipv6FragmentCount, ipv6FragmentPayload, writeIpv6Fragment } from '../../../src/packet/ipv6-fragment.js';

const SRC = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x10]);
const DST = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0x20]);

/** An IPv6 UDP packet of `total` bytes, payload bytes i & 0xff. */
function udp6(total: number): Uint8Array {
  const payload = Uint8Array.from({ length: total - 48 }, (_, i) => i & 0xff);
  return buildUdp({ src: SRC, dst: DST, srcPort: 40000, dstPort: 7, payload });
}

test('a 3,000-byte IPv6 packet for MTU 1280 (RFC 8200 §4.5): 1,232-byte pieces, a Fragment header naming UDP, offsets in bytes with M on all but the last, one 32-bit id', () => {
  const p = udp6(3000);
  assert.is(ipv6FragmentPayload(1280), 1232);
  assert.is(ipv6FragmentCount(p, 0, p.length, 1280), 3);
  assert.is(ipv6FragmentCount(p, 0, p.length, 3000), 1);
  const frags: Uint8Array[] = [];
  for (let j = 0; j < 3; j++) {
    const out = new Uint8Array(1500);
    const n = writeIpv6Fragment(p, 0, p.length, 1280, j, 0xdeadbeef, out, 0);
    frags.push(out.slice(0, n));
  }
  assert.equal(frags.map((f) => f.length), [1280, 1280, 2960 - 2 * 1232 + 48]);
  assert.equal(frags.map((f) => readU16(f, 4)), frags.map((f) => f.length - 40), 'payload length');
  assert.equal(frags.map((f) => f[6]), [44, 44, 44], 'next header: Fragment');
  assert.equal(frags.map((f) => f[40]), [17, 17, 17], 'the Fragment header names UDP');
  assert.equal(frags.map((f) => readU16(f, 42)), [0 | 1, 1232 | 1, 2464], 'offset | M');
  assert.equal(frags.map((f) => readU32(f, 44)), [0xdeadbeef, 0xdeadbeef, 0xdeadbeef], 'id');
  for (const f of frags) assert.equal([...f.subarray(0, 4), f[7], ...f.subarray(8, 40)], [...p.subarray(0, 4), p[7], ...p.subarray(8, 40)], 'version, class, flow, hop limit and addresses kept');
  const joined = Buffer.concat(frags.map((f) => f.subarray(48)));
  assert.ok(joined.equals(p.subarray(40)), 'the pieces are the packet after its header (UDP header in the first)');
});

test('fragment 0 in place: the header moves 8 bytes left, the payload stays; a packet with extension headers or an MTU under 1280 is not split', () => {
  const p = udp6(3000);
  const buf = new Uint8Array(100 + p.length);
  buf.set(p, 100);
  const second = new Uint8Array(1500);
  writeIpv6Fragment(buf, 100, p.length, 1500, 1, 7, second, 0);
  const n = writeIpv6Fragment(buf, 100, p.length, 1500, 0, 7, buf, 100 - IPV6_FRAGMENT_HEADER);
  const first = buf.subarray(92, 92 + n);
  const out = new Uint8Array(1500);
  const m = writeIpv6Fragment(p, 0, p.length, 1500, 0, 7, out, 0);
  assert.ok(Buffer.from(first).equals(out.subarray(0, m)), 'the same bytes as written elsewhere');
  assert.is(readU16(second, 42), 1448 | 1);
  const ext = p.slice();
  ext[6] = 60;
  assert.is(ipv6FragmentCount(ext, 0, ext.length, 1500), 0);
  assert.is(ipv6FragmentCount(p, 0, p.length, 1200), 0);
});

test.run();
