import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LocalView, type LocalPeer } from '../../../src/step/local.js';

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

test.run();
