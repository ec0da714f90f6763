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

test.run();
