/**
 * Address announcements (packet/announce.ts): the gratuitous ARP and the unsolicited NA byte for byte, the
 * NA's ICMPv6 checksum checked by summing the pseudo-header and message again (a right checksum sums to 0xffff).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { announcementFrame, gratuitousArp, parseMac, unsolicitedNa } from '../../../src/packet/announce.js';
import { parseAddress } from '../../../src/packet/addr.js';
import { fold, sumBytesJs } from '../../../src/packet/checksum.js';

const MAC = parseMac('02:00:5e:10:00:01')!;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('parseMac: six hex bytes, anything else undefined', () => {
  assert.equal([...MAC], [2, 0, 0x5e, 0x10, 0, 1]);
  for (const bad of ['', '02:00:5e:10:00', '02:00:5e:10:00:01:02', '02-00-5e-10-00-01', 'zz:00:5e:10:00:01']) assert.is(parseMac(bad), undefined, bad);
});

test('gratuitous ARP: broadcast request, sender = target = the address, 60 bytes', () => {
  const f = gratuitousArp(MAC, parseAddress('198.18.1.1')!.bytes);
  assert.is(f.length, 60);
  assert.is(hex(f.subarray(0, 42)),
    'ffffffffffff' + '02005e100001' + '0806'
    + '0001' + '0800' + '06' + '04' + '0001'
    + '02005e100001' + 'c6120101'
    + '000000000000' + 'c6120101');
  assert.ok(f.subarray(42).every((b) => b === 0), 'zero padding');
  assert.equal(announcementFrame(MAC, parseAddress('198.18.1.1')!), f);
});

test('unsolicited NA: to ff02::1 from the address, hop limit 255, R and O, the target link-layer option, a right checksum', () => {
  const addr = parseAddress('2001:db8::1')!;
  const f = unsolicitedNa(MAC, addr.bytes);
  assert.is(f.length, 14 + 40 + 32);
  assert.is(hex(f.subarray(0, 14)), '333300000001' + '02005e100001' + '86dd');
  assert.is(hex(f.subarray(14, 22)), '60000000' + '0020' + '3a' + 'ff');
  assert.is(hex(f.subarray(22, 38)), '20010db8000000000000000000000001');
  assert.is(hex(f.subarray(38, 54)), 'ff020000000000000000000000000001');
  const icmp = f.subarray(54);
  assert.is(icmp[0], 136);
  assert.is(icmp[1], 0);
  assert.is(hex(icmp.subarray(4, 8)), 'a0000000', 'Router and Override set, Solicited clear');
  assert.is(hex(icmp.subarray(8, 24)), '20010db8000000000000000000000001');
  assert.is(hex(icmp.subarray(24, 32)), '0201' + '02005e100001');
  let acc = sumBytesJs(f, 22, 32, 0) + 32 + 58;
  acc = sumBytesJs(icmp, 0, 32, acc);
  assert.is(fold(acc), 0xffff, 'pseudo-header + message sum to 0xffff');
  assert.equal(announcementFrame(MAC, addr), f);
});

test.run();
