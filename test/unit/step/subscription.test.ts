/**
 * neededRouters: which documents a subscriber needs from the STEP repository. The routes it computes
 * from them are the routes it would compute from every document (checked on random graphs), and it
 * does not need the documents of routers off every shortest path to what it wants.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { computeRoutes } from '../../../src/step/compute.js';
import type { RouterDocument } from '../../../src/step/document.js';
import { neededRouters } from '../../../src/step/subscription.js';
import { prng } from '../../support/prng.js';

function doc(router: string, services: Record<string, boolean>, peers: Record<string, number | undefined>): RouterDocument {
  return {
    router, authority: 'lab', version: 1, generatedAt: 0,
    services: Object.entries(services).map(([name, reachable]) => ({ name, reachable })),
    peers: Object.entries(peers).map(([peer, latencyMs]) => ({ peer, paths: [{ name: `to-${peer}`, vector: '', usable: true, ...(latencyMs === undefined ? {} : { latencyMs }) }] })),
  };
}

test('hub and spokes: a spoke that needs one site gets the hub and that site, not the other spokes', () => {
  const docs = [
    doc('r1', { site1: true, site2: false, site3: false, site4: false }, { r2: 1, r3: 1, r4: 1 }),
    doc('r2', { site1: false, site2: true, site3: false, site4: false }, { r1: 1 }),
    doc('r3', { site1: false, site2: false, site3: true, site4: false }, { r1: 1 }),
    doc('r4', { site1: false, site2: false, site3: false, site4: true }, { r1: 1 }),
  ];
  assert.equal([...neededRouters('r2', new Set(['site4']), docs)].sort(), ['r1', 'r2', 'r4']);
  assert.equal([...neededRouters('r2', new Set(['site1']), docs)].sort(), ['r1', 'r2']);
  assert.equal([...neededRouters('r2', new Set(['site3', 'site4']), docs)].sort(), ['r1', 'r2', 'r3', 'r4']);
  // and from those documents r2 routes site4 through the hub, as from all of them
  const sub = docs.filter((d) => ['r1', 'r2', 'r4'].includes(d.router));
  assert.equal(computeRoutes('r2', sub).get('site4')!.candidates, computeRoutes('r2', docs).get('site4')!.candidates);
  assert.equal(computeRoutes('r2', sub).get('site4')!.candidates, [{ peer: 'r1', metric: 4, via: ['r1', 'r4'] }]);
});

test('a chain: the routers between the subscriber and the deliverer, nothing beyond it', () => {
  const docs = ['r1', 'r2', 'r3', 'r4', 'r5'].map((r, i, all) => doc(r, { S: r === 'r3' }, Object.fromEntries(all.filter((_, j) => Math.abs(i - j) === 1).map((p) => [p, undefined]))));
  assert.equal([...neededRouters('r1', new Set(['S']), docs)].sort(), ['r1', 'r2', 'r3']);
  assert.equal([...neededRouters('r5', new Set(['S']), docs)].sort(), ['r3', 'r4', 'r5']);
  assert.equal([...neededRouters('r1', new Set(['nobody-delivers-this']), docs)].sort(), ['r1', 'r2'], 'its neighbours (and their way back to it)');
});

test('random fabrics: the routes from the needed documents are the routes from all documents', () => {
  const next = prng(20261204);
  const rng = { next, int: (n: number) => Math.floor(next() * n) };
  let pruned = 0;
  for (let round = 0; round < 200; round++) {
    const n = 3 + rng.int(8);
    const names = Array.from({ length: n }, (_, i) => `r${i + 1}`);
    const services = ['A', 'B', 'C'];
    const links = new Map<string, number>();
    for (let a = 0; a < n; a++) for (let b = a + 1; b < n; b++) if (rng.next() < 0.35) links.set(`${a} ${b}`, rng.int(40));
    const docs = names.map((r, i) => doc(r,
      Object.fromEntries(services.map((s) => [s, rng.next() < 0.25])),
      Object.fromEntries([...links].filter(([k]) => k.split(' ').map(Number).includes(i)).map(([k, lat]) => {
        const [a, b] = k.split(' ').map(Number) as [number, number];
        return [names[a === i ? b : a]!, lat];
      }))));
    const self = names[rng.int(n)]!;
    const wanted = new Set(services.filter(() => rng.next() < 0.5));
    const need = neededRouters(self, wanted, docs);
    pruned += n - need.size;
    const all = computeRoutes(self, docs);
    const some = computeRoutes(self, docs.filter((d) => need.has(d.router)));
    for (const s of wanted) {
      assert.equal(some.get(s)?.candidates.map((c) => [c.peer, c.metric]) ?? [], all.get(s)?.candidates.map((c) => [c.peer, c.metric]) ?? [], `round ${round}: ${self} routes ${s}`);
    }
  }
  assert.ok(pruned > 100, `documents left out over 200 fabrics: ${pruned}`);
});

test.run();
