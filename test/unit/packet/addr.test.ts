import * as assert from 'uvu/assert';
import { test } from 'uvu';
import {
  compareAddresses,
  formatAddress,
  formatPrefix,
  hasHostBits,
  maskPrefix,
  parseAddress,
  parsePrefix,
  prefixContains,
} from '../../../src/packet/addr.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('IPv4 addresses parse to 4 bytes', () => {
  const a = parseAddress('198.18.3.7')!;
  assert.is(a.family, 4);
  assert.is(a.length, 32);
  assert.equal([...a.bytes], [198, 18, 3, 7]);
  assert.equal([...parseAddress('0.0.0.0')!.bytes], [0, 0, 0, 0]);
  assert.equal([...parseAddress('255.255.255.255')!.bytes], [255, 255, 255, 255]);
});

test('bad IPv4 text is rejected', () => {
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.-1', 'a.b.c.d', ' 1.2.3.4', '1.2.3.4 ', '1..2.3', '1.2.3.4/']) {
    assert.is(parseAddress(bad), undefined, bad);
  }
});

test('IPv6 forms from RFC 4291 parse', () => {
  const cases: Array<[string, string]> = [
    ['::', '00000000000000000000000000000000'],
    ['::1', '00000000000000000000000000000001'],
    ['1::', '00010000000000000000000000000000'],
    ['2001:db8::1', '20010db8000000000000000000000001'],
    ['2001:DB8:0:0:8:800:200C:417A', '20010db80000000000080800200c417a'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
    ['1:2:3:4:5:6:7::', '00010002000300040005000600070000'],
    ['::2:3:4:5:6:7:8', '00000002000300040005000600070008'],
    ['::ffff:192.0.2.1', '00000000000000000000ffffc0000201'],
    ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304'],
    ['64:ff9b::198.51.100.7', '0064ff9b0000000000000000c6336407'],
  ];
  for (const [text, expected] of cases) {
    const a = parseAddress(text);
    assert.ok(a, text);
    assert.is(a!.family, 6, text);
    assert.is(hex(a!.bytes), expected, text);
  }
});

test('bad IPv6 text is rejected', () => {
  const bad = [
    ':::', '1:::2', '1::2::3', ':1::', '1::2:', ':1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8:', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7:8::', '::1:2:3:4:5:6:7:8', '12345::', 'g::', '1.2.3.4::', '::1.2.3.4:5', '1:2:3:4:5:6:7:1.2.3.4',
    'fe80::1%eth0', '::256.1.1.1', ':', '1:2', '2001:db8::/64',
  ];
  for (const text of bad) assert.is(parseAddress(text), undefined, text);
});

test('prefixes parse; a bare address is a host prefix', () => {
  const p = parsePrefix('10.0.0.0/8')!;
  assert.is(p.family, 4);
  assert.is(p.length, 8);
  assert.is(parsePrefix('10.1.2.3')!.length, 32);
  assert.is(parsePrefix('2001:db8::/32')!.length, 32);
  assert.is(parsePrefix('::/0')!.length, 0);
  assert.is(parsePrefix('2001:db8::1')!.length, 128);
  for (const bad of ['10.0.0.0/33', '10.0.0.0/', '10.0.0.0/-1', '10.0.0.0/08', '10.0.0.0/8/8', '::/129', 'x/8', '/8', '10.0.0.0/ 8']) {
    assert.is(parsePrefix(bad), undefined, bad);
  }
});

test('host bits are detected and masked', () => {
  assert.ok(hasHostBits(parsePrefix('10.0.0.1/24')!));
  assert.not.ok(hasHostBits(parsePrefix('10.0.0.0/24')!));
  assert.ok(hasHostBits(parsePrefix('10.128.0.0/8')!));
  assert.not.ok(hasHostBits(parsePrefix('0.0.0.0/0')!));
  assert.ok(hasHostBits(parsePrefix('2001:db8::1/64')!));
  assert.is(formatPrefix(maskPrefix(parsePrefix('10.1.2.3/12')!)), '10.0.0.0/12');
  assert.is(formatPrefix(maskPrefix(parsePrefix('2001:db8:ffff::1/36')!)), '2001:db8:f000::/36');
});

test('formatAddress writes IPv6 as RFC 5952 says', () => {
  const cases: Array<[string, string]> = [
    ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1'], // 4.1 no leading zeros, 4.2.1 shorten the longest run
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // 4.2.2 a single 0 group is not shortened
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // 4.2.3 the longest run
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // 4.2.3 a tie: the first run
    ['ABCD:EF01::', 'abcd:ef01::'], // 4.3 lower case
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['1:0:2:0:3:0:4:0', '1:0:2:0:3:0:4:0'],
    ['0:0:1:0:0:0:1:0', '0:0:1::1:0'],
    ['::ffff:c000:0201', '::ffff:192.0.2.1'], // 5. IPv4-mapped keeps the dotted tail
    ['::c000:0201', '::c000:201'], // not mapped: plain hex
    ['fe80::1:2:3:4', 'fe80::1:2:3:4'],
  ];
  for (const [input, expected] of cases) {
    const a = parseAddress(input)!;
    assert.is(formatAddress(a.bytes, 0, 6), expected, input);
  }
});

test('formatAddress reads at an offset inside a packet', () => {
  const buf = new Uint8Array(40).fill(0xff);
  buf.set([198, 18, 1, 9], 12);
  assert.is(formatAddress(buf, 12, 4), '198.18.1.9');
  buf.set(parseAddress('2001:db8::7')!.bytes, 20);
  assert.is(formatAddress(buf, 20, 6), '2001:db8::7');
});

test('IPv6 text round-trips through bytes (seeded random addresses with zero runs)', () => {
  let seed = 12345;
  const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16;
  for (let n = 0; n < 2000; n++) {
    const b = new Uint8Array(16);
    for (let w = 0; w < 8; w++) {
      const v = next() % 4 === 0 ? next() : 0; // mostly zeros, so many runs
      b[w * 2] = v >> 8;
      b[w * 2 + 1] = v & 0xff;
    }
    const text = formatAddress(b, 0, 6);
    const back = parseAddress(text);
    assert.ok(back, text);
    assert.is(hex(back!.bytes), hex(b), text);
    assert.not.ok(text.includes(':::'), text);
  }
});

test('prefixContains and compareAddresses', () => {
  const p = parsePrefix('10.1.0.0/16')!;
  assert.ok(prefixContains(p, parseAddress('10.1.200.3')!.bytes, 0, 4));
  assert.not.ok(prefixContains(p, parseAddress('10.2.0.1')!.bytes, 0, 4));
  assert.not.ok(prefixContains(p, parseAddress('::a01:1')!.bytes, 0, 6), 'family must match');
  assert.ok(prefixContains(parsePrefix('0.0.0.0/0')!, parseAddress('1.2.3.4')!.bytes, 0, 4));
  const odd = parsePrefix('10.1.0.0/17')!;
  assert.ok(prefixContains(odd, parseAddress('10.1.127.255')!.bytes, 0, 4));
  assert.not.ok(prefixContains(odd, parseAddress('10.1.128.0')!.bytes, 0, 4));
  const sorted = ['::1', '10.0.0.2', '10.0.0.10', '9.255.255.255'].map((t) => parseAddress(t)!).sort(compareAddresses);
  assert.equal(
    sorted.map((a) => formatAddress(a.bytes, 0, a.family)),
    ['9.255.255.255', '10.0.0.2', '10.0.0.10', '::1'],
  );
});

test.run();
