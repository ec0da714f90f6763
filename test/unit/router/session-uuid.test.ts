/** Session UUIDs (src/dataplane/random-pool.ts): RFC 4122 version 4, and the string form byte for byte. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RandomPool, uuidString } from '../../../src/dataplane/random-pool.js';

/** The plain way: 32 hex digits from the words, cut 8-4-4-4-12. */
function reference(words: Uint32Array, at: number): string {
  const s = Array.from(words.subarray(at, at + 4), (w) => w.toString(16).padStart(8, '0')).join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

test('uuidString matches the reference form for edge words and 10,000 pooled UUIDs', () => {
  const edge = Uint32Array.of(0, 0, 0, 0, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x01020304, 0x0a0b0c0d, 0x80000000, 0x0000000f);
  for (const at of [0, 4, 8]) assert.is(uuidString(edge, at), reference(edge, at));
  assert.is(uuidString(edge, 8), '01020304-0a0b-0c0d-8000-00000000000f');
  const pool = new RandomPool();
  const words = new Uint32Array(4 * 10_000);
  const seen = new Set<string>();
  for (let i = 0; i < 10_000; i++) {
    pool.uuidWords(words, 4 * i);
    const s = uuidString(words, 4 * i);
    assert.is(s, reference(words, 4 * i));
    assert.match(s, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    seen.add(s);
  }
  assert.is(seen.size, 10_000, 'no repeats');
});

test.run();
