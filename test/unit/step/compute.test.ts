import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildGraph, computeRoutes, pathCost, type RouteCandidate } from '../../../src/step/compute.js';
import type { PathReport, RouterDocument } from '../../../src/step/document.js';

/** Link ends: peer -> latency in ms, 'up' (usable, unmeasured) or 'down'. */
type Ends = Record<string, number | 'up' | 'down'>;

function doc(router: string, ends: Ends, services: Record<string, boolean> = {}): RouterDocument {
  return {
    router, authority: 'lab', version: 1, generatedAt: 0,
    services: Object.entries(services).map(([name, reachable]) => ({ name, reachable })),
    peers: Object.entries(ends).map(([peer, e]) => ({ peer, paths: [path(`${router}->${peer}`, e)] })),
  };
}

function path(name: string, e: number | 'up' | 'down'): PathReport {
  if (e === 'down') return { name, vector: '', usable: false };
  return e === 'up' ? { name, vector: '', usable: true } : { name, vector: '', usable: true, latencyMs: e };
}

const c = (peer: string, metric: number, via: string[]): RouteCandidate => ({ peer, metric, via });

interface Case {
  name: string;
  docs: RouterDocument[];
  self: string;
  service: string;
  local?: boolean;
  deliveredBy?: string[];
  want: RouteCandidate[];
}

const chain = [doc('r1', { r2: 'up' }), doc('r2', { r1: 'up', r3: 'up' }), doc('r3', { r2: 'up' }, { S: true })];
const triangle = (s2: boolean, s3: boolean) => [
  doc('r1', { r2: 4, r3: 10 }, { S: false }),
  doc('r2', { r1: 4, r3: 30 }, { S: s2 }),
  doc('r3', { r1: 10, r2: 30 }, { S: s3 }),
];

const cases: Case[] = [
  { name: 'chain: r1 reaches S at r3 through r2 (hop count)', docs: chain, self: 'r1', service: 'S', deliveredBy: ['r3'], want: [c('r2', 2, ['r2', 'r3'])] },
  { name: 'chain: r2 sends to r3 directly', docs: chain, self: 'r2', service: 'S', want: [c('r3', 1, ['r3'])] },
  { name: 'chain: r3 delivers it itself and has no other deliverer', docs: chain, self: 'r3', service: 'S', local: true, want: [] },
  {
    name: 'diamond, no measurements: equal metrics, tie broken by name',
    docs: [doc('r1', { r2: 'up', r3: 'up' }), doc('r2', { r1: 'up' }, { S: true }), doc('r3', { r1: 'up' }, { S: true })],
    self: 'r1', service: 'S', deliveredBy: ['r2', 'r3'], want: [c('r2', 1, ['r2']), c('r3', 1, ['r3'])],
  },
  {
    name: 'diamond with latency: the lower metric first (1 + latency per hop)',
    docs: [doc('r1', { r2: 20, r3: 5 }), doc('r2', { r1: 20 }, { S: true }), doc('r3', { r1: 5 }, { S: true })],
    self: 'r1', service: 'S', want: [c('r3', 6, ['r3']), c('r2', 21, ['r2'])],
  },
  { name: 'triangle, both deliver: r2 (5) before r3 (11)', docs: triangle(true, true), self: 'r1', service: 'S', want: [c('r2', 5, ['r2']), c('r3', 11, ['r3'])] },
  {
    name: 'triangle, r2 stops delivering: only r3; r2 is no loop-free alternate (its best way to r3 is through r1)',
    docs: triangle(false, true), self: 'r1', service: 'S', deliveredBy: ['r3'], want: [c('r3', 11, ['r3'])],
  },
  { name: 'triangle seen from r2: via r1 (5 + 11) beats the direct 31 ms path', docs: triangle(false, true), self: 'r2', service: 'S', want: [c('r1', 16, ['r1', 'r3']), c('r3', 31, ['r3'])] },
  {
    name: 'four-router diamond: two equal-cost next hops to r4',
    docs: [doc('r1', { r2: 'up', r3: 'up' }), doc('r2', { r1: 'up', r4: 'up' }), doc('r3', { r1: 'up', r4: 'up' }), doc('r4', { r2: 'up', r3: 'up' }, { S: true })],
    self: 'r1', service: 'S', want: [c('r2', 2, ['r2', 'r4']), c('r3', 2, ['r3', 'r4'])],
  },
  {
    name: 'two-way check: r2 says its path to r1 is unusable, so r1 does not use r2',
    docs: [doc('r1', { r2: 'up' }), doc('r2', { r1: 'down' }, { S: true })], self: 'r1', service: 'S', want: [],
  },
  {
    name: 'a path going unusable removes routes through it',
    docs: [doc('r1', { r2: 'down' }), doc('r2', { r1: 'up', r3: 'up' }), doc('r3', { r2: 'up' }, { S: true })], self: 'r1', service: 'S', want: [],
  },
  {
    name: "a dead router's stale document pulls nothing: its neighbours say the paths are down",
    docs: [doc('r1', { r2: 'down', r3: 'up' }), doc('r2', { r1: 'up', r3: 'up' }, { S: true }), doc('r3', { r1: 'up', r2: 'down' })],
    self: 'r1', service: 'S', deliveredBy: ['r2'], want: [],
  },
  {
    name: 'local and remote: r2 delivers S itself; r3 is an alternate',
    docs: [doc('r1', { r2: 'up' }), doc('r2', { r1: 'up', r3: 'up' }, { S: true }), doc('r3', { r2: 'up' }, { S: true })],
    self: 'r2', service: 'S', local: true, want: [c('r3', 1, ['r3'])],
  },
  {
    name: 'local: a neighbour whose nearest deliverer is us is no alternate',
    docs: [doc('r1', { r2: 5 }, { S: true }), doc('r2', { r1: 5, r3: 'up' }), doc('r3', { r2: 'up' }, { S: true })],
    self: 'r3', service: 'S', local: true, deliveredBy: ['r1', 'r3'], want: [],
  },
  { name: 'a service nobody delivers', docs: [doc('r1', { r2: 'up' }, { T: false }), doc('r2', { r1: 'up' }, { T: false })], self: 'r1', service: 'T', deliveredBy: [], want: [] },
];

for (const k of cases) {
  test(k.name, () => {
    const routes = computeRoutes(k.self, k.docs);
    const r = routes.get(k.service);
    assert.ok(r, 'service present');
    assert.equal(r!.candidates, k.want);
    assert.is(r!.local, k.local ?? false);
    assert.is(r!.reachable, (k.local ?? false) || k.want.length > 0);
    if (k.deliveredBy) assert.equal(r!.deliveredBy, k.deliveredBy);
    // the same documents in any order give the same answer
    const shuffled = computeRoutes(k.self, [...k.docs].reverse());
    assert.equal(shuffled.get(k.service), r);
  });
}

test('edge cost: the best usable path between two routers, 1 + latency in whole ms', () => {
  const r1: RouterDocument = {
    router: 'r1', authority: 'lab', version: 1, generatedAt: 0, services: [],
    peers: [{ peer: 'r2', paths: [path('a', 'down'), path('b', 30), path('c', 7.6)] }],
  };
  const g = buildGraph([r1, doc('r2', { r1: 'up' })]);
  assert.is(g.get('r1')!.get('r2'), 9);
  assert.is(g.get('r2')!.get('r1'), 1);
  assert.is(pathCost({ name: 'x', vector: '', usable: true }), 1);
  assert.is(buildGraph([r1]).get('r1')!.size, 0, 'no edge to a router without a document');
});

test.run();
