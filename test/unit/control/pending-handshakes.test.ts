import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PendingHandshakes, type EpisodeMove } from '../../../src/control/pending-handshakes.js';
import { uuidString } from '../../../src/dataplane/random-pool.js';

interface Entry { gen: number; id: string; since: number; move: EpisodeMove | undefined }

test('adds, resolves, supersedes and takes due handshakes as a Map in start order would (random, ids as text and as words, with growth)', () => {
  const p = new PendingHandshakes(4);
  const model = new Map<number, Entry>();
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  let now = 0;
  const words = new Uint32Array(16);
  for (let step = 0; step < 20_000; step++) {
    now += rnd(3);
    const row = rnd(300) * 65_537; // rows far apart: the index's hash sees large numbers too
    const op = rnd(10);
    if (op < 5) {
      const e: Entry = { gen: rnd(5), id: `s${step}`, since: now, move: op === 0 ? { service: 'svc', path: rnd(4) } : undefined };
      if (op < 3) p.add(row, e.gen, e.id, e.since, e.move);
      else {
        for (let w = 0; w < 4; w++) words[8 + w] = Math.imul(step + w, 0x9e3779b1) >>> 0;
        e.id = uuidString(words, 8);
        e.move = undefined;
        p.startAt = e.since;
        p.addWords(row, e.gen, words, 8);
      }
      model.delete(row); // a superseded entry leaves the start order
      model.set(row, e);
    } else if (op < 8) {
      const want = model.get(row);
      const got: string[] = [];
      const take = (r: number, gen: number, move: EpisodeMove | undefined): number => got.push(`${r}/${gen}/${p.releasedId()}/${p.releasedSince()}/${move?.path ?? '-'}`);
      assert.is(p.resolveGen(row, want === undefined ? rnd(5) : want.gen + 1, take), false, 'another generation stays');
      assert.is(p.resolveGen(row, want === undefined ? rnd(5) : want.gen, take), want !== undefined);
      assert.equal(got, want === undefined ? [] : [`${row}/${want.gen}/${want.id}/${want.since}/${want.move?.path ?? '-'}`]);
      model.delete(row);
    } else {
      const before = now - 40;
      const got: string[] = [];
      p.takeDue(before, (r) => got.push(`${r}/${p.releasedId()}`));
      const want: string[] = [];
      for (const [r, e] of model) {
        if (e.since > before) break;
        want.push(`${r}/${e.id}`);
        model.delete(r);
      }
      assert.equal(got, want);
    }
    assert.is(p.size, model.size);
  }
  p.clear();
  assert.is(p.size, 0);
  for (const r of model.keys()) assert.is(p.resolveGen(r, -1), false);
});

test.run();
