/**
 * src/dataplane/source-paths.ts: the IPv4 source -> path table wan-verify keeps past its memo. Golden against a
 * Map over many sources on two interfaces (collisions included); it forgets everything when half full and on
 * clear(), and never answers for a source it was not told.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SOURCE_UNKNOWN, SourcePaths } from '../../../src/dataplane/source-paths.js';
import { prng } from '../../support/prng.js';

test('answers what it was told per interface and source, SOURCE_UNKNOWN otherwise', () => {
  const t = new SourcePaths();
  const rand = prng(7);
  const want = new Map<string, number>();
  for (let i = 0; i < 4000; i++) {
    const ifx = i % 2, a = (rand() * 0x100000000) >>> 0;
    if (t.get(ifx, a) !== SOURCE_UNKNOWN) continue; // a repeat
    t.put(ifx, a, i);
    want.set(`${ifx}/${a}`, i);
  }
  for (const [k, v] of want) {
    const [ifx, a] = k.split('/').map(Number) as [number, number];
    assert.is(t.get(ifx, a), v, k);
    assert.is(t.get(ifx + 2, a), SOURCE_UNKNOWN, `${k} on another interface`);
  }
  t.clear();
  for (const k of want.keys()) assert.is(t.get(...(k.split('/').map(Number) as [number, number])), SOURCE_UNKNOWN);
});

test('half full: it starts over (a spray of sources holds no memory)', () => {
  const t = new SourcePaths();
  for (let a = 0; a < 4096; a++) t.put(0, a, a);
  assert.is(t.get(0, 4095), 4095);
  t.put(0, 99999, 1);
  assert.is(t.get(0, 0), SOURCE_UNKNOWN, 'forgotten');
  assert.is(t.get(0, 99999), 1);
});

test.run();
