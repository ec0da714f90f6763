import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LocalView, type LocalPeer } from '../../../src/step/local.js';
import { MetricSmoother, type PathSample } from '../../../src/step/smoothing.js';

const peers = (vector: string): LocalPeer[] => [
  { id: 0, name: 'r2', paths: [{ id: 0, name: 'wan0->r2/wan0', vector }, { id: 1, name: 'wan1->r2/wan1', vector: 'gold' }] },
];
const up = () => ({ usable: true, latencyMs: 20 });

test('the same peers array is the same shape: no topology change, the paths keep their smoothed state', () => {
  const v = new LocalView('r1', 'lab');
  const p = peers('blue');
  assert.equal(v.poll(p, [], up), { changed: true, topology: true }, 'the first poll adopts the shape and the paths come up');
  assert.equal(v.poll(p, [], up), { changed: false, topology: false });
  assert.is(v.sendPath('r2'), 0);
  assert.is(v.peerOfPath(1), 'r2');
});

test('a new array with a changed vector is a topology change; an equal new array is not', () => {
  const v = new LocalView('r1', 'lab');
  v.poll(peers('blue'), [], up);
  assert.equal(v.poll(peers('blue'), [], up), { changed: false, topology: false }, 'equal content in a new array');
  assert.equal(v.poll(peers('red'), [], up), { changed: true, topology: true }, 'a path\'s vector changed');
  assert.is(v.content().peers[0]!.paths[0]!.vector, 'red');
  const fewer: LocalPeer[] = [{ id: 0, name: 'r2', paths: [{ id: 0, name: 'wan0->r2/wan0', vector: 'red' }] }];
  assert.equal(v.poll(fewer, [], up).topology, true, 'a path went');
  assert.is(v.content().peers[0]!.paths.length, 1);
});

test('usablePeers: the same array while usability stays; a new one when a peer\'s last path goes down or comes up, or the peers change', () => {
  const v = new LocalView('r1', 'lab');
  const p: LocalPeer[] = [...peers('blue'), { id: 1, name: 'r3', paths: [{ id: 2, name: 'wan0->r3/wan0', vector: 'blue' }] }];
  let r3Up = true;
  const status = (id: number) => (id === 2 && !r3Up ? { usable: false } : { usable: true, latencyMs: 20 + id });
  v.poll(p, [], status);
  const first = v.usablePeers();
  assert.equal([...first], ['r2', 'r3']);
  v.poll(p, [], status);
  assert.ok(v.usablePeers() === first, 'nothing changed: the same array (the agent compares it by identity)');
  r3Up = false;
  v.poll(p, [], status);
  assert.equal([...v.usablePeers()], ['r2'], 'r3 went');
  const second = v.usablePeers();
  r3Up = true;
  v.poll(p, [], status);
  assert.equal([...v.usablePeers()], ['r2', 'r3'], 'r3 is back');
  assert.ok(v.usablePeers() !== second);
  v.poll(peers('blue'), [], status);
  assert.equal([...v.usablePeers()], ['r2'], 'r3 left the config');
});

test('a status object unchanged for three polls is not smoothed again; the view reports as if it were', () => {
  // two views over one sequence of statuses: `kept` gets the same object while a path's values stay (as
  // paths/control.ts pathStatus hands them out), `fresh` a new object each poll (as main's pathStatus did)
  const rounds: PathSample[][] = [];
  const values = (r: number, id: number): PathSample => (r >= 12 && r < 15 && id === 1 ? { usable: false } : { usable: true, latencyMs: r < 8 ? 20 : 40, lossPct: id === 0 && r >= 10 ? 1 : 0 });
  for (let r = 0; r < 20; r++) rounds.push([0, 1].map((id) => {
    const v = values(r, id);
    const prev = rounds[r - 1]?.[id];
    return prev !== undefined && JSON.stringify(prev) === JSON.stringify(v) ? prev : v;
  }));
  const kept = new LocalView('r1', 'lab');
  const fresh = new LocalView('r1', 'lab');
  const p = peers('blue');
  const add = MetricSmoother.prototype.add;
  let adds = 0;
  MetricSmoother.prototype.add = function (this: MetricSmoother, s: PathSample): PathSample {
    adds++;
    return add.call(this, s);
  };
  try {
    for (let r = 0; r < 20; r++) {
      const before = adds;
      const a = kept.poll(p, [], (id) => rounds[r]![id]!);
      const keptAdds = adds - before;
      const b = fresh.poll(p, [], (id) => ({ ...rounds[r]![id]! }));
      assert.equal(a, b, `round ${r}: the same verdict`);
      assert.equal(kept.content(), fresh.content(), `round ${r}: the same document content`);
      assert.is(kept.sendPath('r2'), fresh.sendPath('r2'), `round ${r}`);
      if (r === 6 || r === 18) assert.is(keptAdds, 0, `round ${r}: both statuses unchanged for three polls: nothing smoothed`);
    }
  } finally {
    MetricSmoother.prototype.add = add;
  }
});

test.run();
