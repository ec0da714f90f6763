import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { initialTransition, transition } from 'xstate';
import { bgpNeighborMachine } from '../../../src/machines/bgp-neighbor.js';

const reports = (actions: { type: string; params?: unknown }[]) =>
  actions.filter((a) => a.type === 'report').map((a) => { const p = a.params as { up: boolean; state: string; reason?: string }; return `${p.up ? 'up' : 'down'} ${p.state}${p.reason ? ` (${p.reason})` : ''}`; });

const input = { address: '198.18.61.1', remoteAs: 65100, graceReadings: 3 };

test('a neighbour that establishes reports up once; a reset reports down with bgpd\'s reason; back: up', () => {
  const [s0, a0] = initialTransition(bgpNeighborMachine, input);
  assert.is(s0.value, 'starting');
  assert.equal(reports(a0), []);
  const [s1] = transition(bgpNeighborMachine, s0, { type: 'bgp.state', state: 'Active' });
  const [s2, a2] = transition(bgpNeighborMachine, s1, { type: 'bgp.state', state: 'Established' });
  assert.is(s2.value, 'established');
  assert.equal(reports(a2), ['up Established']);
  const [s3, a3] = transition(bgpNeighborMachine, s2, { type: 'bgp.state', state: 'Established' });
  assert.equal(reports(a3), [], 'no report without a change');
  const [s4, a4] = transition(bgpNeighborMachine, s3, { type: 'bgp.state', state: 'Active', reason: 'BFD down received' });
  assert.is(s4.value, 'down');
  assert.equal(reports(a4), ['down Active (BFD down received)']);
  const [s5, a5] = transition(bgpNeighborMachine, s4, { type: 'bgp.state', state: 'Connect' });
  assert.is(s5.value, 'down');
  assert.equal(reports(a5), [], 'still down: one report per change');
  const [s6, a6] = transition(bgpNeighborMachine, s5, { type: 'bgp.state', state: 'Established' });
  assert.is(s6.value, 'established');
  assert.equal(reports(a6), ['up Established']);
});

test('at start a neighbour may take graceReadings readings to establish before it counts as down', () => {
  let [s] = initialTransition(bgpNeighborMachine, input);
  for (let i = 0; i < 2; i++) {
    const [next, actions] = transition(bgpNeighborMachine, s, { type: 'bgp.state', state: 'Active' });
    assert.is(next.value, 'starting');
    assert.equal(reports(actions), []);
    s = next;
  }
  const [down, actions] = transition(bgpNeighborMachine, s, { type: 'bgp.state', state: 'absent' });
  assert.is(down.value, 'down');
  assert.equal(reports(actions), ['down absent']);
});

test.run();
