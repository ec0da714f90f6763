import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { StepRoutes } from '../../../src/step/agent.js';
import { CHUNK_BODY, encodeDocument, encodeDocumentBody, originHash } from '../../../src/step/codec.js';
import type { RouterDocument } from '../../../src/step/document.js';
import { sleep, until } from '../../support/config.js';
import { recordWire } from '../../support/wire.js';
import { rawChunk } from './bytes.js';
import { CHAIN, CHAIN_LINKS, TRIANGLE, TRIANGLE_LINKS, pathId, startLab, type LabNode } from './router-lab.js';

const OPTS = { pollIntervalMs: 20, minIntervalMs: 300, burst: 2, refreshIntervalMs: 5000, ackTimeoutMs: 200, reassemblyTimeoutMs: 300 };
const routesOf = (n: LabNode, service = 'S') => JSON.stringify(n.agent.routes().get(service) ?? []);
const peersOf = (n: LabNode, service = 'S') => (n.agent.routes().get(service) ?? []).map((c) => c.peer).join(',');
const count = (n: LabNode, name: string) => n.agent.counters()[name] ?? 0;

function trio(nodes: Record<string, LabNode>): { r1: LabNode; r2: LabNode; r3: LabNode } {
  return { r1: nodes['r1']!, r2: nodes['r2']!, r3: nodes['r3']! };
}

/** r1's, r2's, r3's latencies: r1-r2 4 ms, r1-r3 10 ms, r2-r3 30 ms (both ends measure the same). */
function triangleLatencies(nodes: Record<string, LabNode>): void {
  nodes['r1']!.latency.set('wan0->r2/wan0', 4).set('wan1->r3/wan0', 10);
  nodes['r2']!.latency.set('wan0->r1/wan0', 4).set('wan1->r3/wan1', 30);
  nodes['r3']!.latency.set('wan0->r1/wan1', 10).set('wan1->r2/wan1', 30);
}

test('chain: r1 learns that S is delivered by r3 through r2; a path going unusable removes the route', async () => {
  const lab = startLab(CHAIN, CHAIN_LINKS, OPTS, { knobs: false });
  const { r1, r2, r3 } = trio(lab.nodes);
  try {
    assert.ok(await until(() => peersOf(r1) === 'r2', 3000), 'r1 learned a route');
    assert.equal(r1.agent.routes().get('S'), [{ peer: 'r2', metric: 2, via: ['r2', 'r3'] }]);
    assert.equal(r1.agent.view(), [{ service: 'S', reachable: true, local: false, deliveredBy: ['r3'], routes: [{ peer: 'r2', metric: 2, via: ['r2', 'r3'] }] }]);
    assert.equal(r3.agent.view()[0]!.local, true);
    assert.equal(r1.agent.documents().map((d) => d.router), ['r1', 'r2', 'r3'], 'r3\'s document flooded through r2');
    assert.ok((r1.router.counters()['consumed-path-messages'] ?? 0) > 0, 'documents came over the signed path channel');
    // r2's path to r3 goes down (BFD will do this): r2 republishes, r1 loses the route
    r2.router.setPathUp('wan1->r3/wan0', false);
    assert.ok(await until(() => peersOf(r1) === '', 2000), routesOf(r1));
    assert.is(r1.agent.view()[0]!.reachable, false);
    r2.router.setPathUp('wan1->r3/wan0', true);
    assert.ok(await until(() => peersOf(r1) === 'r2', 2000), 'and back');
    assert.is(count(r1, 'drops'), 0);
  } finally {
    await lab.close();
  }
});

test('triangle: r1 prefers the lower metric; when r2 marks S unreachable r1 switches to r3 within the rate limit', async () => {
  const lab = startLab(TRIANGLE, TRIANGLE_LINKS, OPTS, { setup: triangleLatencies });
  const { r1, r2 } = trio(lab.nodes);
  try {
    const both = JSON.stringify([{ peer: 'r2', metric: 5, via: ['r2'] }, { peer: 'r3', metric: 11, via: ['r3'] }]);
    assert.ok(await until(() => routesOf(r1) === both, 3000), routesOf(r1));
    const seen: StepRoutes[] = [];
    r1.agent.routes$.subscribe((r) => seen.push(r));
    // r2's health says it cannot deliver S any more (picked up by the poll, not by refresh())
    r2.health.set('S', false);
    let t0 = Date.now();
    const onlyR3 = JSON.stringify([{ peer: 'r3', metric: 11, via: ['r3'] }]);
    assert.ok(await until(() => routesOf(r1) === onlyR3, 2000), routesOf(r1));
    assert.ok(Date.now() - t0 <= OPTS.minIntervalMs + 200, `${Date.now() - t0} ms`);
    assert.ok(seen.some((r) => JSON.stringify(r.get('S')) === onlyR3), 'routes$ reported the switch');
    // three changes back to back: the bucket (burst 2) holds the last; it still arrives within one interval
    const deferred = count(r2, 'publish-deferred');
    for (const up of [true, false, true]) {
      r2.health.set('S', up);
      r2.agent.refresh();
    }
    t0 = Date.now();
    assert.ok(count(r2, 'publish-deferred') > deferred, 'rate limited');
    assert.ok(await until(() => routesOf(r1) === both, 2000), routesOf(r1));
    assert.ok(Date.now() - t0 <= OPTS.minIntervalMs + 200, `${Date.now() - t0} ms`);
    // r1's own path to r2 becomes unusable: no route through it, at once (local state is not rate limited)
    r1.router.setPathUp('wan0->r2/wan0', false);
    r1.agent.refresh();
    assert.is(routesOf(r1), onlyR3);
  } finally {
    await lab.close();
  }
});

test('a latency flapping 10/12 ms is not republished beyond the significance rule', async () => {
  let flip = false;
  const lab = startLab(TRIANGLE, TRIANGLE_LINKS, OPTS, {
    setup: (nodes) => {
      triangleLatencies(nodes);
      nodes['r1']!.latency.set('wan0->r2/wan0', () => ((flip = !flip) ? 10 : 12));
    },
  });
  const { r1, r2 } = trio(lab.nodes);
  const r1AtR2 = () => r2.agent.documents().find((d) => d.router === 'r1');
  try {
    assert.ok(await until(() => r1AtR2() !== undefined && peersOf(r1) === 'r2,r3', 3000));
    const version = r1AtR2()!.version;
    await sleep(1000); // ~50 samples
    assert.is(count(r1, 'published'), 1, 'only the document published on start');
    assert.is(r1AtR2()!.version, version);
    const latency = r1AtR2()!.peers.find((p) => p.peer === 'r2')!.paths[0]!.latencyMs!;
    assert.ok(latency >= 10 && latency <= 12, `${latency}`);
    // a real change is published
    r1.latency.set('wan0->r2/wan0', 40);
    assert.ok(await until(() => (r1AtR2()!.peers.find((p) => p.peer === 'r2')!.paths[0]!.latencyMs ?? 0) > 20, 2000));
    assert.ok(count(r1, 'published') >= 2);
  } finally {
    await lab.close();
  }
});

test('malformed and forged STEP messages are counted drops; the agent keeps working', async () => {
  const lab = startLab(CHAIN, CHAIN_LINKS, { ...OPTS, reassemblyTimeoutMs: 100 });
  const { r1, r2, r3 } = trio(lab.nodes);
  const wire = recordWire(lab.links['l12']!);
  try {
    assert.ok(await until(() => peersOf(r1) === 'r2', 3000));
    const toR1 = pathId(r2.router, 'wan0->r1/wan0');
    const send = (p: Uint8Array) => assert.ok(r2.router.sendPathMessage(toR1, p));
    const doc: RouterDocument = { router: 'r3', authority: 'step-lab', version: 9, generatedAt: 9, services: [{ name: 'S', reachable: false }], peers: [] };
    const body = encodeDocumentBody(doc)!;
    const rxBefore = count(r1, 'rx-datagrams');
    send(Uint8Array.of(0xc3)); // short
    send(rawChunk({ index: 0, count: 0, total: body.length }, body)); // bad-chunk-count
    send(rawChunk({ index: 3, count: 2, total: CHUNK_BODY + 1 }, body)); // bad-chunk-index
    send(rawChunk({ index: 0, count: 1, total: body.length - 4, origin: originHash('r3'), version: 9 }, body.subarray(0, body.length - 4))); // bad-msgpack
    send(rawChunk({ index: 0, count: 1, total: 3 }, Uint8Array.of(0x81, 0xa1, 0x78))); // truncated map: bad-msgpack
    send(rawChunk({ index: 0, count: 1, total: 2 }, Uint8Array.of(0x91, 0x05))); // [5]: bad-document
    send(Uint8Array.of(0xc6, 1, 0, 0)); // unknown-type
    const claimsR9 = encodeDocument(doc)![0]!;
    new DataView(claimsR9.buffer).setUint32(4, originHash('r9'));
    send(claimsR9); // origin-mismatch
    send(encodeDocument({ ...doc, authority: 'elsewhere' })![0]!); // foreign-authority
    send(rawChunk({ index: 0, count: 2, total: CHUNK_BODY + 10, version: 1 }, new Uint8Array(CHUNK_BODY)));
    send(rawChunk({ index: 1, count: 2, total: CHUNK_BODY + 20, version: 1 }, new Uint8Array(20))); // chunk-mismatch
    send(rawChunk({ index: 0, count: 2, total: CHUNK_BODY + 10, version: 2 }, new Uint8Array(CHUNK_BODY))); // never completed
    const want = {
      'drop-short': 1, 'drop-bad-chunk-count': 1, 'drop-bad-chunk-index': 1, 'drop-bad-msgpack': 2, 'drop-bad-document': 1,
      'drop-unknown-type': 1, 'drop-origin-mismatch': 1, 'drop-foreign-authority': 1, 'drop-chunk-mismatch': 1, 'drop-reassembly-timeout': 1,
    };
    const drops = () => Object.fromEntries(Object.keys(want).map((k) => [k, count(r1, k)]));
    assert.ok(await until(() => JSON.stringify(drops()) === JSON.stringify(want), 2000), JSON.stringify(drops()));
    assert.is(count(r1, 'drops'), 11);
    assert.is(count(r1, 'rx-datagrams') - rxBefore, 12);
    assert.equal(r1.agent.documents().find((d) => d.router === 'r3')!.services, [{ name: 'S', reachable: true }], 'nothing was believed');
    // forged on the wire (bad HMAC): the data path drops it, STEP never sees it
    const step = wire.find((w) => w.dir === 'b->a' && w.dport === 1280 && w.bytes[w.bytes.length - w.payloadLength] === 0xc3)!;
    assert.ok(step, 'a STEP datagram from r2 was on the wire');
    const forged = step.bytes.slice();
    forged[forged.length - 20]! ^= 1;
    const rx = count(r1, 'rx-datagrams');
    const badHmac = r1.router.counters()['drop-bad-hmac'] ?? 0;
    lab.links['l12']!.b.send(forged);
    assert.ok(await until(() => (r1.router.counters()['drop-bad-hmac'] ?? 0) === badHmac + 1));
    assert.is(count(r1, 'rx-datagrams'), rx);
    // still working: r3 stops delivering S, r1 hears of it
    r3.health.set('S', false);
    assert.ok(await until(() => peersOf(r1) === '', 2000), routesOf(r1));
  } finally {
    await lab.close();
  }
});

test.run();
