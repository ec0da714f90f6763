import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initialTransition, transition } from 'xstate';
import { peerMachine } from '../../../src/machines/peer.js';

const announced = (actions: { type: string; params?: unknown }[]) =>
  actions.filter((a) => a.type === 'announce').map((a) => (a.params as { reachable: boolean }).reachable);

test('a peer with paths up is reachable; it becomes unreachable only when its last path goes down', () => {
  const [s0, a0] = initialTransition(peerMachine, { name: 'r2', paths: [{ name: 'p1', up: true }, { name: 'p2', up: true }] });
  assert.is(s0.value, 'reachable');
  assert.equal(announced(a0), [true]);
  const [s1, a1] = transition(peerMachine, s0, { type: 'path.down', path: 'p1' });
  assert.is(s1.value, 'reachable');
  assert.equal(announced(a1), [], 'no announcement while a path remains');
  const [s2, a2] = transition(peerMachine, s1, { type: 'path.down', path: 'p2' });
  assert.is(s2.value, 'unreachable');
  assert.equal(announced(a2), [false]);
  const [s3, a3] = transition(peerMachine, s2, { type: 'path.up', path: 'p2' });
  assert.is(s3.value, 'reachable');
  assert.equal(announced(a3), [true]);
});

test('a peer starts from its paths\' state: unreachable with every path down, reachable with one up', () => {
  const [s0, a0] = initialTransition(peerMachine, { name: 'r2', paths: [{ name: 'p1', up: false }] });
  assert.is(s0.value, 'unreachable');
  assert.equal(announced(a0), [false]);
  const [s1] = initialTransition(peerMachine, { name: 'r2', paths: [{ name: 'p1', up: false }, { name: 'p2', up: true }] });
  assert.is(s1.value, 'reachable');
  const [s2] = initialTransition(peerMachine, { name: 'r2', paths: [] });
  assert.is(s2.value, 'unreachable', 'a peer without paths is not reachable');
});

test.run();
