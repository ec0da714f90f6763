import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Subject } from 'rxjs';
import { isSvrError } from '../../../src/errors.js';
import { StepAgent, type StepRoutes } from '../../../src/step/agent.js';
import { MAX_DOCUMENT_BYTES, STEP_DOCUMENT } from '../../../src/step/codec.js';
import { FakeMesh, ManualClock } from './fake-mesh.js';

const options = { pollIntervalMs: 100, minIntervalMs: 1000, burst: 2, refreshIntervalMs: 10_000, ackTimeoutMs: 300 };

const next = (m: FakeMesh, from: string, service: string) => m.node(from).agent.routes().get(service)?.map((c) => c.peer) ?? [];
const count = (m: FakeMesh, node: string, name: string) => m.node(node).agent.counters()[name] ?? 0;

function chain(opts = options): FakeMesh {
  const m = new FakeMesh([['r1', 'r2'], ['r2', 'r3']], opts);
  m.add('r1', { S: false });
  m.add('r2');
  m.add('r3', { S: true });
  for (const n of m.nodes.values()) n.agent.start();
  m.flush();
  return m;
}

test('a chain learns everything: r1 reaches S at r3 through r2, r3 holds r1\'s document', () => {
  const m = chain();
  assert.equal(m.node('r1').agent.routes().get('S'), [{ peer: 'r2', metric: 2, via: ['r2', 'r3'] }]);
  assert.equal(m.node('r3').agent.documents().map((d) => d.router), ['r3', 'r1', 'r2']);
  assert.is(count(m, 'r2', 'flooded'), 2, 'r2 forwarded r1 and r3 to each other, and neither back (split horizon)');
  assert.is(count(m, 'r1', 'drops'), 0);
  const view = m.node('r1').agent.view().find((v) => v.service === 'S')!;
  assert.equal(view, { service: 'S', reachable: true, local: false, deliveredBy: ['r3'], routes: [{ peer: 'r2', metric: 2, via: ['r2', 'r3'] }] });
});

test('significant changes are rate limited (burst 2, then one per minInterval) and the last state wins', () => {
  const m = chain();
  const r3 = m.node('r3');
  assert.is(count(m, 'r3', 'published'), 1, 'on start');
  r3.services.set('S', false);
  r3.agent.refresh();
  m.flush();
  assert.is(count(m, 'r3', 'published'), 2, 'second token of the burst');
  assert.equal(next(m, 'r1', 'S'), []);
  r3.services.set('S', true);
  r3.agent.refresh();
  m.flush();
  assert.is(count(m, 'r3', 'published'), 2, 'no token left');
  assert.is(count(m, 'r3', 'publish-deferred'), 1);
  assert.equal(next(m, 'r3', 'S'), [], 'r3 itself already knows (local recompute is not rate limited)');
  assert.ok(m.node('r3').agent.view().find((v) => v.service === 'S')!.local);
  m.clock.advance(990);
  assert.equal(next(m, 'r1', 'S'), [], 'not before the next token');
  m.clock.advance(20);
  assert.is(count(m, 'r3', 'published'), 3);
  assert.equal(next(m, 'r1', 'S'), ['r2']);
});

test('a path that goes down or comes back is published at once, even with no token left (metrics still wait)', () => {
  const m = chain();
  const r2 = m.node('r2');
  r2.services.set('X', true);
  r2.agent.refresh();
  r2.services.set('X', false);
  r2.agent.refresh();
  m.flush();
  assert.ok(count(m, 'r2', 'publish-deferred') >= 1, 'the bucket is empty');
  const published = count(m, 'r2', 'published');
  const topology = count(m, 'r2', 'published-topology');
  r2.status.set('r2->r3', { usable: false });
  r2.agent.refresh();
  m.flush();
  assert.is(count(m, 'r2', 'published'), published + 1, 'published without waiting for a token');
  assert.is(count(m, 'r2', 'published-topology'), topology + 1);
  assert.equal(next(m, 'r1', 'S'), [], 'r1 drops the route through r2 at once');
  r2.status.set('r2->r3', { usable: true });
  r2.agent.refresh();
  m.flush();
  assert.equal(next(m, 'r1', 'S'), ['r2'], 'and takes it again when the path is back');
  assert.is(count(m, 'r2', 'published-topology'), topology + 2);
});

test('a flapping latency (10/12 ms) is not republished; a real change is', () => {
  const m = chain();
  const r1 = m.node('r1');
  let flip = false;
  r1.status.set('r1->r2', { usable: true, get latencyMs() { return (flip = !flip) ? 10 : 12; } });
  m.clock.advance(150);
  const after = count(m, 'r1', 'published');
  assert.is(after, 2, 'the first measurement is a change');
  m.clock.advance(15_000 - 150); // 149 more polls; the periodic refresh at 10 s
  assert.is(count(m, 'r1', 'published'), after + 1, 'only the periodic refresh at 10 s');
  assert.is(count(m, 'r1', 'refreshes'), 1);
  const seen = () => m.node('r2').agent.documents().find((d) => d.router === 'r1')!.peers[0]!.paths[0]!.latencyMs!;
  assert.ok(seen() >= 10 && seen() <= 12, `${seen()}`);
  r1.status.set('r1->r2', { usable: true, latencyMs: 40 });
  m.clock.advance(100);
  assert.is(count(m, 'r1', 'published'), after + 2);
  assert.ok(seen() > 20, `${seen()}`);
});

test('periodic refresh keeps documents alive; a silent router\'s document expires and its routes go', () => {
  const m = chain({ ...options, refreshIntervalMs: 1000, minIntervalMs: 100 });
  m.clock.advance(10_000);
  assert.equal(next(m, 'r1', 'S'), ['r2'], 'refreshed, never expired');
  assert.is(count(m, 'r1', 'expired'), 0);
  const emitted: StepRoutes[] = [];
  m.node('r1').agent.routes$.subscribe((r) => emitted.push(r));
  m.node('r3').agent.stop();
  m.clock.advance(2500);
  assert.equal(next(m, 'r1', 'S'), ['r2'], 'still within 3 x refresh');
  m.clock.advance(1000);
  assert.equal(next(m, 'r1', 'S'), []);
  assert.is(count(m, 'r1', 'expired'), 1);
  assert.is(emitted.length, 2, 'the current table on subscribe, then the change');
  assert.equal(emitted[1]!.get('S'), []);
});

test('a lost datagram is sent again after the ack timeout', () => {
  const m = new FakeMesh([['r1', 'r2']], options);
  m.add('r1');
  m.add('r2', { S: true });
  let lost = 0;
  m.filter = (from, _to, p) => !(from === 'r2' && p[0] === STEP_DOCUMENT && lost++ < 1);
  for (const n of m.nodes.values()) n.agent.start();
  m.flush();
  assert.equal(next(m, 'r1', 'S'), [], 'r2\'s document was lost (and not sent twice at start)');
  m.clock.advance(400);
  assert.equal(next(m, 'r1', 'S'), ['r2']);
  assert.ok(count(m, 'r2', 'retransmits') >= 1);
  assert.ok(count(m, 'r2', 'rx-acks') >= 1);
});

test('a restarted router whose clock is behind outranks its old document', () => {
  const m = chain();
  const old = m.node('r3').agent.documents()[0]!.version;
  m.node('r3').agent.stop();
  const r3 = m.add('r3', { S: false }, -3_600_000);
  r3.agent.start();
  m.flush();
  const seen = m.node('r1').agent.documents().find((d) => d.router === 'r3')!;
  assert.ok(seen.version > old, `${seen.version} > ${old}`);
  assert.equal(seen.services, [{ name: 'S', reachable: false }]);
  assert.equal(next(m, 'r1', 'S'), []);
  assert.is(count(m, 'r3', 'rx-own-newer'), 1);
});

test('flooding in a triangle: duplicates are recognised by version and not forwarded again', () => {
  const m = new FakeMesh([['r1', 'r2'], ['r2', 'r3'], ['r1', 'r3']], options);
  for (const r of ['r1', 'r2', 'r3']) m.add(r, { [`svc-${r}`]: true });
  for (const n of m.nodes.values()) n.agent.start();
  m.flush();
  const sent = m.sent;
  for (const r of ['r1', 'r2', 'r3']) {
    assert.is(m.node(r).agent.documents().length, 3, r);
    assert.ok(count(m, r, 'rx-duplicate') >= 1, `${r} saw a duplicate`);
  }
  m.clock.advance(5000);
  assert.is(m.sent, sent, 'quiet until the periodic refresh');
  assert.equal(next(m, 'r1', 'svc-r3'), ['r3', 'r2']);
});

test('options out of range are a coded error', () => {
  const deps = {
    routerName: 'r1', authority: 'lab', peers: () => [], localServices: () => [], pathStatus: () => ({ usable: false }),
    send: () => false, messages$: new Subject<{ path: number; payload: Uint8Array; atMs: number }>(), now: () => 0,
  };
  try {
    new StepAgent(deps, { burst: 0, pollIntervalMs: Number.NaN });
    assert.unreachable();
  } catch (e) {
    assert.ok(isSvrError(e, 'SVR_ERR_STEP_OPTIONS'), String(e));
    assert.match((e as Error).message, 'burst=0');
    assert.match((e as Error).message, 'pollIntervalMs=NaN');
  }
});

test('a hub whose document exceeds 64 chunks (1,000 peers x 2 paths) says so once, with the size, and sends nothing', () => {
  const clock = new ManualClock();
  const peers = Array.from({ length: 1000 }, (_, i) => ({
    id: i, name: `spoke-${String(i + 1).padStart(4, '0')}`,
    paths: [0, 1].map((w) => ({ id: 2 * i + w, name: `wan${w}->spoke-${String(i + 1).padStart(4, '0')}/wan${w}`, vector: `v${w}` })),
  }));
  const told: number[] = [];
  let sent = 0;
  const agent = new StepAgent({
    routerName: 'hub', authority: 'lab', peers: () => peers, localServices: () => [{ name: 'S', reachable: true }],
    pathStatus: () => ({ usable: true, latencyMs: 12, jitterMs: 1, lossPct: 0, mos: 4.4 }),
    send: () => { sent++; return true; }, messages$: new Subject(), now: () => clock.now, timers: clock,
    tooLarge: (bytes, limit) => told.push(bytes, limit),
  }, options);
  agent.start();
  clock.advance(30_000); // the first publication and two refreshes
  agent.stop();
  assert.is(told.length, 2, 'told once per episode');
  assert.ok(told[0]! > MAX_DOCUMENT_BYTES, `${told[0]} bytes > ${MAX_DOCUMENT_BYTES}`);
  assert.is(told[1], MAX_DOCUMENT_BYTES, 'with the limit');
  assert.ok((agent.counters()['tx-too-large'] ?? 0) >= 2, 'every attempt counted');
  assert.is(sent, agent.counters()['tx-requests'], 'only the requests to the peers went out, no document datagram');
  assert.is(sent, 1000);
});

test.run();
