import * as assert from 'uvu/assert';
import { parsePrefix, prefixContains } from '../../../src/packet/addr.js';
import { PrefixTrie } from '../../../src/model/prefix-trie.js';
import { test } from 'uvu';
import { bytes } from './helpers.js';

function trieOf(entries: Array<[string, number]>): PrefixTrie {
  const trie = new PrefixTrie(4); // small, so inserts must grow it
  for (const [text, value] of entries) {
    const p = parsePrefix(text)!;
    trie.insert(p.bytes, p.length, value);
  }
  return trie;
}

const find = (trie: PrefixTrie, address: string): number => {
  const b = bytes(address);
  return trie.lookup(b, 0, b.length === 4 ? 4 : 6);
};

test('IPv4 longest-prefix match', () => {
  const trie = trieOf([['0.0.0.0/0', 1], ['10.0.0.0/8', 2], ['10.1.0.0/16', 3], ['10.1.2.3/32', 4], ['10.1.128.0/17', 5]]);
  assert.is(find(trie, '10.1.2.3'), 4);
  assert.is(find(trie, '10.1.2.4'), 3);
  assert.is(find(trie, '10.1.200.1'), 5);
  assert.is(find(trie, '10.2.0.0'), 2);
  assert.is(find(trie, '11.0.0.0'), 1);
  assert.is(trie.size, 5);
});

test('no match is -1; IPv4 and IPv6 are separate', () => {
  const trie = trieOf([['10.0.0.0/8', 2], ['::/0', 9]]);
  assert.is(find(trie, '11.0.0.1'), -1);
  assert.is(find(trie, '2001:db8::1'), 9);
  const v4only = trieOf([['0.0.0.0/0', 1]]);
  assert.is(find(v4only, '::1'), -1, 'an IPv4 default does not match IPv6');
});

test('IPv6 longest-prefix match, including /128 and odd lengths', () => {
  const trie = trieOf([['2001:db8::/32', 1], ['2001:db8:1::/48', 2], ['2001:db8:1::1/128', 3], ['2001:db8:8000::/33', 4]]);
  assert.is(find(trie, '2001:db8:1::1'), 3);
  assert.is(find(trie, '2001:db8:1::2'), 2);
  assert.is(find(trie, '2001:db8:2::1'), 1);
  assert.is(find(trie, '2001:db8:8001::1'), 4);
  assert.is(find(trie, '2001:db9::1'), -1);
});

test('lookup reads the address at an offset', () => {
  const trie = trieOf([['198.18.0.0/15', 7]]);
  const buf = new Uint8Array(20);
  buf.set([198, 19, 4, 4], 12);
  assert.is(trie.lookup(buf, 12, 4), 7);
  buf.set([198, 20, 4, 4], 12);
  assert.is(trie.lookup(buf, 12, 4), -1);
});

test('insert returns the replaced value; get is exact', () => {
  const trie = new PrefixTrie();
  const p = parsePrefix('10.0.0.0/8')!;
  assert.is(trie.insert(p.bytes, 8, 1), -1);
  assert.is(trie.insert(p.bytes, 8, 2), 1);
  assert.is(trie.size, 1);
  assert.is(trie.get(p.bytes, 8), 2);
  assert.is(trie.get(p.bytes, 9), -1);
  assert.is(trie.get(p.bytes, 7), -1);
  // Bits after the length do not matter.
  assert.is(trie.insert(bytes('10.255.1.1'), 8, 3), 2);
});

test('insert rejects bad input', () => {
  const trie = new PrefixTrie();
  assert.throws(() => trie.insert(bytes('10.0.0.0'), 33, 1), /out of range/);
  assert.throws(() => trie.insert(bytes('10.0.0.0'), 8, -1), /integers/);
  assert.throws(() => trie.insert(new Uint8Array(5), 8, 1), /4 or 16 bytes/);
});

test('matches lists every containing prefix, longest first', () => {
  const trie = trieOf([['0.0.0.0/0', 0], ['10.0.0.0/8', 8], ['10.1.0.0/16', 16], ['10.1.2.0/24', 24], ['10.1.2.3/32', 32], ['10.9.0.0/16', 99]]);
  const out = new Int32Array(33);
  const b = bytes('10.1.2.3');
  const n = trie.matches(b, 0, 4, out);
  assert.equal([...out.subarray(0, n)], [32, 24, 16, 8, 0]);
  const small = new Int32Array(2);
  assert.is(trie.matches(b, 0, 4, small), 2);
  assert.equal([...small], [32, 24], 'a short array keeps the longest matches');
  assert.is(trie.matches(bytes('11.0.0.1'), 0, 4, out), 1);
  assert.is(out[0], 0);
  assert.is(trie.matches(bytes('::1'), 0, 6, out), 0);
});

test('agrees with a brute-force scan on many random prefixes (v4 and v6)', () => {
  let seed = 7;
  const rand = (n: number): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) % n);
  for (const family of [4, 6] as const) {
    const size = family === 4 ? 4 : 16;
    const prefixes: Array<{ bytes: Uint8Array; length: number; family: 4 | 6 }> = [];
    const trie = new PrefixTrie(2);
    for (let i = 0; i < 600; i++) {
      const b = new Uint8Array(size);
      // Few distinct leading bytes, so prefixes nest often.
      for (let j = 0; j < size; j++) b[j] = j < 2 ? rand(3) : rand(256);
      const length = rand(size * 8 + 1);
      const existing = trie.get(b, length);
      if (existing !== -1) continue;
      trie.insert(b, length, prefixes.length);
      prefixes.push({ bytes: b, length, family });
    }
    const out = new Int32Array(129);
    for (let i = 0; i < 3000; i++) {
      const a = new Uint8Array(size);
      for (let j = 0; j < size; j++) a[j] = j < 2 ? rand(3) : rand(256);
      const containing = prefixes
        .map((p, id) => ({ id, p }))
        .filter(({ p }) => prefixContains(p, a, 0, family))
        .sort((x, y) => y.p.length - x.p.length);
      assert.is(trie.lookup(a, 0, family), containing[0]?.id ?? -1);
      const n = trie.matches(a, 0, family, out);
      assert.equal([...out.subarray(0, n)], containing.map((c) => c.id));
    }
  }
});

test('agrees with a brute-force scan after random inserts, replacements and removals (v4 and v6)', () => {
  let seed = 11;
  const rand = (n: number): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) % n);
  for (const family of [4, 6] as const) {
    const size = family === 4 ? 4 : 16;
    const live = new Map<string, { bytes: Uint8Array; length: number; value: number }>();
    const trie = new PrefixTrie(2);
    const randomAddress = (): Uint8Array => {
      const b = new Uint8Array(size);
      for (let j = 0; j < size; j++) b[j] = j < 3 ? rand(4) * 17 : rand(256);
      return b;
    };
    const out = new Int32Array(129);
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 50; i++) {
        const b = randomAddress();
        const length = rand(4) === 0 ? rand(size * 8 + 1) : rand(33);
        const p = { bytes: b, length, family };
        const key = `${[...b].map((x, j) => (j * 8 < length ? x >> Math.max(0, (j + 1) * 8 - length) : 0)).join('.')}/${length}`;
        if (rand(3) === 0 && live.size > 0) {
          const [k, gone] = [...live][rand(live.size)]!;
          assert.is(trie.remove(gone.bytes, gone.length), gone.value);
          live.delete(k);
          assert.is(trie.remove(gone.bytes, gone.length), -1, 'removed twice');
          continue;
        }
        const value = rand(5) === 0 ? 0x7fffffff : rand(1000);
        assert.is(trie.insert(p.bytes, length, value), live.get(key)?.value ?? -1);
        live.set(key, { bytes: b, length, value });
      }
      assert.is(trie.size, live.size);
      for (let i = 0; i < 100; i++) {
        const a = randomAddress();
        const containing = [...live.values()].filter((p) => prefixContains({ ...p, family }, a, 0, family)).sort((x, y) => y.length - x.length);
        assert.is(trie.lookup(a, 0, family), containing[0]?.value ?? -1);
        const n = trie.matches(a, 0, family, out);
        assert.equal([...out.subarray(0, n)], containing.map((c) => c.value));
      }
      for (const p of live.values()) assert.is(trie.get(p.bytes, p.length), p.value);
    }
  }
});

test.run();
