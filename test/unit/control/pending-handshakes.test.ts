import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PendingHandshakes, type EpisodeMove } from '../../../src/control/pending-handshakes.js';

interface Entry { gen: number; id: string; since: number; move: EpisodeMove | undefined }

test('adds, resolves, supersedes and takes due handshakes as a Map in start order would (random, with growth)', () => {
  const p = new PendingHandshakes(4);
  const model = new Map<number, Entry>();
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  let now = 0;
  for (let step = 0; step < 20_000; step++) {
    now += rnd(3);
    const row = rnd(300) * 65_537; // rows far apart: the index's hash sees large numbers too
    const op = rnd(10);
    if (op < 5) {
      const e: Entry = { gen: rnd(5), id: `s${step}`, since: now, move: op === 0 ? { service: 'svc', path: rnd(4) } : undefined };
      p.add(row, e.gen, e.id, e.since, e.move);
      model.delete(row); // a superseded entry leaves the start order
      model.set(row, e);
    } else if (op < 8) {
      const want = model.get(row);
      assert.is(p.genOf(row), want === undefined ? -1 : want.gen);
      const got: string[] = [];
      p.resolve(row, (r, gen, id, since, move) => got.push(`${r}/${gen}/${id}/${since}/${move?.path ?? '-'}`));
      assert.equal(got, want === undefined ? [] : [`${row}/${want.gen}/${want.id}/${want.since}/${want.move?.path ?? '-'}`]);
      model.delete(row);
    } else {
      const before = now - 40;
      const got: string[] = [];
      p.takeDue(before, (r, _gen, id) => got.push(`${r}/${id}`));
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
  for (const r of model.keys()) assert.is(p.genOf(r), -1);
});

test.run();
