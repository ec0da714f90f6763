import * as assert from 'uvu/assert';
import { test } from 'uvu';
import { buildUdp } from '../../../src/packet/build.js';
import { finish, readU16, sumBytes } from '../../../src/packet/checksum.js';
import { fillIpv4HeaderChecksum } from '../../../src/packet/rewrite.js';
import { fragmentPayload, ipv4FragmentCount, writeIpv4Fragment } from '../../../src/packet/ipv4-fragment.js';

const SRC = Uint8Array.of(198, 18, 12, 1);
const DST = Uint8Array.of(198, 18, 12, 2);

/** A UDP packet of `total` bytes without DF (id 0x1234), payload bytes i & 0xff. */
function udp(total: number, df = false): Uint8Array {
  const payload = Uint8Array.from({ length: total - 28 }, (_, i) => i & 0xff);
  const p = buildUdp({ src: SRC, dst: DST, srcPort: 16384, dstPort: 16385, payload, id: 0x1234 });
  if (!df) {
    p[6] = 0;
    fillIpv4HeaderChecksum(p, 0);
  }
  return p;
}

test('a 3000-byte packet for MTU 1400: 1376-byte pieces (multiple of 8), offsets in 8-byte blocks, MF on all but the last, own id, valid header checksums', () => {
  const p = udp(3000);
  assert.is(fragmentPayload(1400), 1376);
  assert.is(ipv4FragmentCount(p, 0, p.length, 1400), 3);
  const out = new Uint8Array(3 * 1500);
  const frags: Uint8Array[] = [];
  for (let j = 0; j < 3; j++) {
    const n = writeIpv4Fragment(p, 0, p.length, 1400, j, 0xbeef, out, j * 1500);
    frags.push(out.slice(j * 1500, j * 1500 + n));
  }
  assert.equal(frags.map((f) => f.length), [1396, 1396, 248]);
  assert.equal(frags.map((f) => readU16(f, 2)), [1396, 1396, 248], 'total length');
  assert.equal(frags.map((f) => readU16(f, 4)), [0xbeef, 0xbeef, 0xbeef], 'id');
  assert.equal(frags.map((f) => readU16(f, 6)), [0x2000 | 0, 0x2000 | 172, 344], 'MF | offset / 8');
  for (const f of frags) assert.is(finish(sumBytes(f, 0, 20, 0)), 0, 'header checksum');
  for (const f of frags) assert.equal([...f.subarray(0, 2), ...f.subarray(8, 10), ...f.subarray(12, 20)], [...p.subarray(0, 2), ...p.subarray(8, 10), ...p.subarray(12, 20)], 'version, TOS, TTL, protocol and addresses kept');
  const joined = Buffer.concat(frags.map((f) => f.subarray(20)));
  assert.ok(joined.equals(p.subarray(20)), 'the pieces are the packet after its header (UDP header in the first)');
});

test('fragment 0 written in place over the packet, after the others', () => {
  const p = udp(1600);
  const copy = p.slice();
  const second = new Uint8Array(1500);
  const n1 = writeIpv4Fragment(p, 0, p.length, 1280, 1, 7, second, 0);
  const n0 = writeIpv4Fragment(p, 0, p.length, 1280, 0, 7, p, 0);
  assert.equal([n0, n1], [1276, 20 + 1580 - 1256]);
  assert.ok(Buffer.from(p.subarray(20, n0)).equals(copy.subarray(20, n0)));
  assert.ok(Buffer.from(second.subarray(20, n1)).equals(copy.subarray(20 + 1256, 1600)));
});

test('what is not split: a packet that fits (1 fragment), one with IP options, one that is a fragment already, an MTU below 68', () => {
  const p = udp(1400);
  assert.is(ipv4FragmentCount(p, 0, p.length, 1400), 1);
  assert.is(ipv4FragmentCount(p, 0, p.length, 60), 0);
  const opts = udp(1500);
  opts[0] = 0x46;
  assert.is(ipv4FragmentCount(opts, 0, opts.length, 1280), 0);
  const frag = udp(1500);
  frag[6] = 0x20;
  assert.is(ipv4FragmentCount(frag, 0, frag.length, 1280), 0);
  const df = udp(1500, true);
  assert.is(ipv4FragmentCount(df, 0, df.length, 1280), 2, 'DF is the policy\'s business (svr-out), not the splitter\'s');
});

test.run();
