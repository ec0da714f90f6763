import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileRouter } from '../../../src/model/compile.js';
import { neighborhoodLinks, peerLinks, topologiesPeer } from '../../../src/model/topology.js';
import { configToDocument } from '../../../src/model/serialize.js';
import { hasProblem, hubAndSpokes, parseObject, problemsOfObject } from './helpers.js';

type Obj = Record<string, any>; // fixtures are edited freely

const linkNames = (a: Obj, router: string, links = peerLinks): string[] => {
  const config = parseObject(a);
  const r = config.authority.routers.find((x) => x.name === router)!;
  return links(config.authority, r).map((l) => `${l.local.name}->${l.peer.name}/${l.remote.name}`);
};

test('topologies: mesh peers with all, hub with spoke, never hub-hub or spoke-spoke', () => {
  assert.ok(topologiesPeer(undefined, undefined));
  assert.ok(topologiesPeer('mesh', 'hub') && topologiesPeer('spoke', 'mesh') && topologiesPeer('hub', 'spoke') && topologiesPeer('spoke', 'hub'));
  assert.not.ok(topologiesPeer('hub', 'hub'));
  assert.not.ok(topologiesPeer('spoke', 'spoke'));
});

test('1 hub + 3 spokes: the hub has 3 paths, each spoke 1 (to the hub), none spoke<->spoke', () => {
  const a = hubAndSpokes(3);
  assert.equal(linkNames(a, 'hub'), ['wan0->s1/wan0', 'wan0->s2/wan0', 'wan0->s3/wan0']);
  for (const s of ['s1', 's2', 's3']) assert.equal(linkNames(a, s), ['wan0->hub/wan0']);
  const tables = compileRouter(parseObject(a), 's2', 1);
  assert.equal(tables.peers.map((p) => p.name), ['hub']);
});

test('mesh (the default) peers everyone; a mesh member also peers hubs and spokes', () => {
  assert.equal(linkNames(hubAndSpokes(2, 'mesh', 'mesh'), 's1'), ['wan0->hub/wan0', 'wan0->s2/wan0']);
  const a = hubAndSpokes(2);
  a.routers[2].interfaces[1].neighborhoods[0].topology = 'mesh';
  assert.equal(linkNames(a, 's2'), ['wan0->hub/wan0', 'wan0->s1/wan0']);
  assert.equal(linkNames(a, 's1'), ['wan0->hub/wan0', 'wan0->s2/wan0']);
});

test('adjacencies add paths neighborhoods do not give (hub-hub) and choose a path\'s neighborhood', () => {
  const a = hubAndSpokes(2, 'hub', 'hub');
  assert.equal(linkNames(a, 's1'), [], 'hubs do not peer');
  a.routers[1].interfaces[1].adjacencies = [{ peer: 's2', interface: 'wan0', neighborhood: 'wan', generated: true }];
  a.routers[2].interfaces[1].adjacencies = [{ peer: 's1', interface: 'wan0', neighborhood: 'wan' }];
  assert.equal(linkNames(a, 's1'), ['wan0->s2/wan0']);
  assert.equal(linkNames(a, 's2'), ['wan0->s1/wan0']);
  assert.equal(linkNames(a, 's1', neighborhoodLinks), [], 'neighborhoodLinks ignores adjacencies');
  const config = parseObject(a);
  assert.equal(config.authority.routers[1]!.interfaces[1]!.adjacencies, [{ peer: 's2', interface: 'wan0', neighborhood: 'wan', generated: true }]);
  assert.equal(config.authority.routers[2]!.interfaces[1]!.adjacencies![0]!.generated, false, 'generated defaults to false');
  const doc = configToDocument(config) as Obj;
  assert.equal(doc.authority.routers[1].interfaces[1].adjacencies, [{ peer: 's2', interface: 'wan0', neighborhood: 'wan', generated: true }]);
  assert.equal(parseObject(doc.authority).authority.routers, config.authority.routers, 'round trip through the file form');
  // two shared neighborhoods: the first by default, the adjacency's when it names one
  const b = hubAndSpokes(1, 'mesh', 'mesh');
  for (const r of [0, 1]) b.routers[r].interfaces[1].neighborhoods = [{ name: 'mpls', vector: 'mpls' }, { name: 'inet', vector: 'inet' }];
  const vector = (x: Obj) => { const c = parseObject(x); return peerLinks(c.authority, c.authority.routers[0]!).map((l) => l.vector); };
  assert.equal(vector(b), ['mpls']);
  b.routers[0].interfaces[1].adjacencies = [{ peer: 's1', interface: 'wan0', neighborhood: 'inet' }];
  assert.equal(vector(b), ['inet']);
});

test('adjacencies: bad references are refused with their field paths', () => {
  const a = hubAndSpokes(1, 'mesh', 'mesh');
  a.routers[0].interfaces[1].adjacencies = [
    { peer: 'nobody', interface: 'wan0', neighborhood: 'wan' },
    { peer: 's1', interface: 'lan0', neighborhood: 'wan' },
    { peer: 's1', interface: 'wan0', neighborhood: 'lte' },
    { peer: 'hub', interface: 'wan0', neighborhood: 'wan' },
  ];
  const problems = problemsOfObject(a);
  const at = 'authority.routers[0].interfaces[1].adjacencies';
  hasProblem(problems, `${at}[0].peer`, 'unknown router "nobody"');
  hasProblem(problems, `${at}[1].interface`, 'expected a wan interface of router "s1", got lan interface "lan0"');
  hasProblem(problems, `${at}[2].neighborhood`, 'unknown neighborhood of hub/wan0 "lte"');
  hasProblem(problems, `${at}[3].peer`, 'not its own peer');
});

test('an adjacency without its way back is refused at the adjacency', () => {
  const a = hubAndSpokes(2, 'hub', 'spoke');
  a.routers[1].interfaces[1].adjacencies = [{ peer: 's2', interface: 'wan0', neighborhood: 'wan' }];
  const problems = problemsOfObject(a);
  hasProblem(problems, 'authority.routers[1].interfaces[1].adjacencies[0].peer', 's2/wan0 has no path back to s1/wan0');
});

test('applies-to: services per router, by name and by router group', () => {
  const a = hubAndSpokes(2);
  a.routers[1]['router-groups'] = ['east'];
  a.tenants = [{ name: 'eng', members: ['10.1.0.0/16'] }];
  a.services = [
    { name: 'all', addresses: ['10.9.1.0/24'], 'access-policy': [{ source: 'eng' }] },
    { name: 'hub-only', addresses: ['10.9.2.0/24'], 'access-policy': [{ source: 'eng' }], 'applies-to': [{ type: 'router', routers: ['hub'] }] },
    { name: 'east', addresses: ['10.9.3.0/24'], 'access-policy': [{ source: 'eng' }], 'applies-to': [{ type: 'router-group', groups: ['east'] }, { type: 'router', routers: ['s2'] }] },
    { name: 'everyone', addresses: ['10.9.4.0/24'], 'access-policy': [{ source: 'eng' }], 'applies-to': [{ type: 'authority' }] },
  ];
  const config = parseObject(a);
  const services = (r: string) => compileRouter(config, r, 1).services.map((s) => s.name);
  assert.equal(services('hub'), ['all', 'hub-only', 'everyone']);
  assert.equal(services('s1'), ['all', 'east', 'everyone']);
  assert.equal(services('s2'), ['all', 'east', 'everyone']);
  assert.equal(config.authority.services[2]!.appliesTo, [{ type: 'router-group', groups: ['east'] }, { type: 'router', routers: ['s2'] }]);
  assert.equal(parseObject((configToDocument(config) as Obj).authority).authority.services, config.authority.services, 'round trip');
});

test('applies-to: unknown routers and groups, wrong keys, duplicate types, service-routes outside', () => {
  const a = hubAndSpokes(1);
  a.tenants = [{ name: 'eng' }];
  a.services = [{
    name: 'web', addresses: ['10.9.1.0/24'], 'access-policy': [{ source: 'eng' }],
    'applies-to': [{ type: 'router', routers: ['hub', 'r9'] }, { type: 'router-group', groups: ['west'] }, { type: 'router', routers: ['s1'] }, { type: 'authority', routers: ['s1'] }],
  }, { name: 'db', addresses: ['10.9.2.0/24'], 'applies-to': [{ type: 'router', routers: ['hub'] }] }];
  a.routers[1]['service-routes'] = [{ name: 'db-out', service: 'db', peer: 'hub' }];
  const problems = problemsOfObject(a);
  hasProblem(problems, 'authority.services[0].applies-to[0].routers[1]', 'unknown router "r9"');
  hasProblem(problems, 'authority.services[0].applies-to[1].groups[0]', 'unknown router-group');
  hasProblem(problems, 'authority.services[0].applies-to[2].type', 'duplicate applies-to type "router"');
  hasProblem(problems, 'authority.services[0].applies-to[3].routers', 'applies-to type "authority" has no `routers`');
  hasProblem(problems, 'authority.routers[1].service-routes[0].service', 'service "db" does not apply to router "s1"');
});

test('asset ids are unique (default: the router name); reserved and long names refused', () => {
  const a = hubAndSpokes(2);
  a.routers[1]['asset-id'] = 'hub';
  a.routers[2]['asset-id'] = 'x'.repeat(64);
  const problems = problemsOfObject(a);
  hasProblem(problems, 'authority.routers[1].asset-id', 'asset id "hub" is already the asset id of authority.routers[0]');
  hasProblem(problems, 'authority.routers[2].asset-id', 'expected a name: 1-63');
  const b = hubAndSpokes(1);
  b.routers[1].name = 'any';
  hasProblem(problemsOfObject(b), 'authority.routers[1].name', 'not all/any/unknown');
  const c = hubAndSpokes(1);
  c.routers[0].interfaces[1].neighborhoods[0].topology = 'star';
  hasProblem(problemsOfObject(c), 'authority.routers[0].interfaces[1].neighborhoods[0].topology', 'one of "mesh", "hub", "spoke"');
});

test.run();
