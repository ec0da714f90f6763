/** The node's mapping of router events to the record builder's facts (node/records.ts). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { factsOf } from '../../../src/node/records.js';

const tuple = { src: '198.18.1.10', dst: '198.18.3.20', srcPort: 40000, dstPort: 53, protocol: 17 };
const nat = { src: '198.18.40.1', dst: '198.18.3.20', srcPort: 20001, dstPort: 53, protocol: 17 };
const lan = { name: 'lan0', index: 0 };
const wan = { name: 'wan0', index: 1 };

test('session.created: ingress and egress routers by role; NAT gives the reply 5-tuple; path kept', () => {
  const [ingress] = factsOf({ type: 'session.created', atMs: 1, sessionId: 'a', role: 'ingress', tenant: 't', service: 's', application: '', forward: tuple, waypoint: tuple, ingressInterface: lan, egressInterface: wan, path: 'wan0->r2/wan0', peer: 'r2' }, 'r1');
  assert.equal(ingress, { kind: 'session.opened', atMs: 1, sessionId: 'a', role: 'ingress', tenant: 't', service: 's', application: '', ingressRouter: 'r1', egressRouter: 'r2', forward: tuple, ingressInterface: lan, egressInterface: wan, waypoint: tuple, path: 'wan0->r2/wan0' });
  const [egress] = factsOf({ type: 'session.created', atMs: 1, sessionId: 'b', role: 'egress', tenant: 't', service: 's', application: '', forward: tuple, nat, ingressInterface: wan, egressInterface: lan, path: 'wan0->r1/wan0', peer: 'r1' }, 'r2');
  assert.ok(egress?.kind === 'session.opened');
  assert.equal([egress.ingressRouter, egress.egressRouter], ['r1', 'r2']);
  assert.equal(egress.nat, nat);
  assert.equal(egress.reverse, { src: '198.18.3.20', dst: '198.18.40.1', srcPort: 53, dstPort: 20001, protocol: 17 }, 'the server answers the translated source');
  const [local] = factsOf({ type: 'session.created', atMs: 1, sessionId: 'c', role: 'local', tenant: 't', service: 's', application: '', forward: tuple, ingressInterface: lan, egressInterface: lan }, 'r1');
  assert.ok(local?.kind === 'session.opened');
  assert.equal([local.ingressRouter, local.egressRouter, local.path], ['r1', 'r1', undefined]);
});

test('session.removed: fin and rst are fin-rst, the others keep their name; the final application goes along', () => {
  for (const [reason, want] of [['fin', 'fin-rst'], ['rst', 'fin-rst'], ['idle', 'idle'], ['path-lost', 'path-lost'], ['shutdown', 'shutdown']] as const) {
    const [f] = factsOf({ type: 'session.removed', atMs: 9, sessionId: 'a', reason, role: 'ingress', tenant: 't', service: 's', application: 'www.example.com', ageMs: 8, packets: [3, 2], bytes: [300, 200] }, 'r1');
    assert.equal(f, { kind: 'session.closed', atMs: 9, sessionId: 'a', reason: want, packets: [3, 2], bytes: [300, 200], application: 'www.example.com' });
  }
});

test('session.denied, counters and migrated map one to one; refused-by-plugin is plugin-refused; other events make no facts', () => {
  const [d] = factsOf({ type: 'session.denied', atMs: 5, reason: 'refused-by-plugin', forward: tuple, tenant: 't', service: 's', ingressInterface: lan, suppressed: 3 }, 'r1');
  assert.equal(d, { kind: 'session.denied', atMs: 5, reason: 'plugin-refused', forward: tuple, ingressInterface: lan, tenant: 't', service: 's', suppressed: 3 });
  const counters = factsOf({ type: 'session.counters', atMs: 6, sessions: [{ sessionId: 'a', packets: [1, 2], bytes: [3, 4] }, { sessionId: 'b', packets: [5, 6], bytes: [7, 8] }] }, 'r1');
  assert.equal(counters.map((f) => f.kind === 'session.counters' && f.sessionId), ['a', 'b']);
  const [m] = factsOf({ type: 'session.migrated', atMs: 7, sessionId: 'a', service: 's', from: 'p1', to: 'p2', reason: 'path-down', waypoint: tuple }, 'r1');
  assert.equal(m, { kind: 'session.migrated', atMs: 7, sessionId: 'a', from: 'p1', to: 'p2', reason: 'path-down', waypoint: tuple });
  assert.equal(factsOf({ type: 'peer.reachable', atMs: 1, peer: 'r2' }, 'r1'), []);
});

test.run();
