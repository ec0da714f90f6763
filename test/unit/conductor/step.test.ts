/**
 * STEP through the conductor, with a real conductor (HTTPS, the routers' channel on mutual TLS) and
 * real routers (data paths over in-memory links) managed by it: `step: { mode: conductor }` makes every
 * router publish its document to the conductor's repository and get from it the documents it needs;
 * nothing STEP crosses the path channel. r1 - r2 - r3 in a chain, S delivered by r3: r1 learns S through
 * r2, traffic goes r1 -> r2 -> r3 (multi-hop), a path going down reaches r1 through the conductor.
 * Plus the repository's own rules (a router publishes only its own document) and the config switch.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';
import { ConductorAgent, type ManagedHost } from '../../../src/conductor/agent/agent.js';
import { enrolRouter } from '../../../src/conductor/agent/enrol.js';
import { checkSlice } from '../../../src/conductor/config/slice.js';
import type { RouterReport } from '../../../src/conductor/channel/protocol.js';
import { StepRepository } from '../../../src/conductor/step-repository.js';
import { createRouter, type Router } from '../../../src/control/router.js';
import { isSvrError } from '../../../src/errors.js';
import { MemoryLink } from '../../../src/io/memory/link.js';
import { MemorySegment } from '../../../src/io/memory/segment.js';
import type { SvrConfig } from '../../../src/model/config.js';
import { parseConfig } from '../../../src/model/validate.js';
import type { PacketPort } from '../../../src/dataplane/port.js';
import { SimHost } from '../../../src/sim/host.js';
import type { RouterDocument } from '../../../src/step/document.js';
import type { StepRepositoryClient } from '../../../src/step/options.js';
import { SECRET } from '../model/helpers.js';
import { MemoryAgentStore, startTestConductor, type TestConductor } from '../../support/conductor.js';
import { waitFor } from '../../support/config.js';

const CLIENT = '198.18.1.10';
const SERVER = '198.18.30.20';
const STEP_OPTIONS = { pollIntervalMs: 50, minIntervalMs: 300, ackTimeoutMs: 200 };

const wan = (name: string, waypoint: string, hood: string) => ({ name, kind: 'wan', waypoint, neighborhoods: [{ name: hood }] });
const AUTHORITY = {
  name: 'step-lab',
  secret: SECRET,
  step: { mode: 'conductor' },
  tenants: [{ name: 'eng', members: ['198.18.1.0/24'] }],
  services: [{ name: 'S', addresses: ['198.18.30.0/24'], transport: [{ protocol: 'udp', ports: [7] }], 'access-policy': [{ source: 'eng' }] }],
  routers: [
    { name: 'r1', interfaces: [{ name: 'lan0', kind: 'lan' }, wan('wan0', '198.18.12.1', 'n12')], routes: [{ prefix: '198.18.1.0/24', interface: 'lan0' }] },
    { name: 'r2', interfaces: [wan('wan0', '198.18.12.2', 'n12'), wan('wan1', '198.18.23.2', 'n23')] },
    { name: 'r3', interfaces: [{ name: 'lan0', kind: 'lan' }, wan('wan0', '198.18.23.3', 'n23')], 'service-routes': [{ name: 's-local', service: 'S', 'next-hop': { interface: 'lan0' } }] },
  ],
};

const l12 = new MemoryLink('l12', 'r1.wan0', 'r2.wan0');
const l23 = new MemoryLink('l23', 'r2.wan1', 'r3.wan0');
const lan1 = new MemorySegment('lan1');
const lan3 = new MemorySegment('lan3');
const IO: Record<string, Record<string, PacketPort>> = {
  r1: { lan0: lan1.gatewayPort(), wan0: l12.a },
  r2: { wan0: l12.b, wan1: l23.a },
  r3: { lan0: lan3.gatewayPort(), wan0: l23.b },
};

/** A managed router host that runs a real Router (STEP through the agent's repository client). */
class RouterHost implements ManagedHost {
  router: Router | undefined;
  repository: StepRepositoryClient | undefined;

  check(text: string, name: string): SvrConfig {
    return checkSlice(text, name);
  }

  async activate(config: SvrConfig, name: string): Promise<void> {
    if (this.router !== undefined) return this.router.applyConfig(config);
    this.router = createRouter(config, IO[name]!, { name, liveness: 'static', step: STEP_OPTIONS, stepRepository: this.repository! });
    await this.router.start();
  }

  report(): Omit<RouterReport, 'version'> {
    return { health: 'ok', uptimeS: 1, sessions: 0, peers: [], alarms: [] };
  }
}

let t: TestConductor;
const routers: Record<string, { agent: ConductorAgent; host: RouterHost }> = {};
const router = (name: string): Router => routers[name]!.host.router!;
const peersFor = (name: string, service = 'S') => (router(name).services().find((s) => s.name === service)?.learned?.routes ?? []).map((c) => `${c.peer}:${c.via.join('>')}`);

test.before(async () => {
  t = await startTestConductor(stringify({ authority: AUTHORITY }));
  for (const name of ['r1', 'r2', 'r3']) {
    const { token } = await t.api<{ token: string }>('POST', '/api/v1/tokens', { assetId: name });
    const store = new MemoryAgentStore();
    const log = () => undefined;
    const creds = await enrolRouter(store, { assetId: name, conductors: [t.url], token, log });
    const host = new RouterHost();
    const agent = new ConductorAgent(store, creds, host, log);
    host.repository = agent.stepRepository;
    await agent.start();
    routers[name] = { agent, host };
  }
});

test.after(async () => {
  for (const { agent, host } of Object.values(routers)) {
    await agent.stop();
    await host.router?.stop();
  }
  await t?.stop();
  for (const x of [l12, l23]) x.close();
  lan1.close();
  lan3.close();
});

test('every router publishes to the conductor and learns from it: r1 reaches S through r2; no STEP on the path channel', async () => {
  await waitFor('three routers running', () => Object.values(routers).every((x) => x.host.router !== undefined), 10_000);
  await waitFor(() => `r1 routes S through r2 (now ${peersFor('r1').join()})`, () => peersFor('r1').join() === 'r2:r2>r3', 10_000);
  const step = await t.api<{ documents: RouterDocument[]; subscriptions: { router: string; services: string[]; documents: string[] }[]; counters: Record<string, number> }>('GET', '/api/v1/step');
  assert.equal(step.documents.map((d) => d.router), ['r1', 'r2', 'r3'], 'the repository holds every router\'s document');
  assert.equal(step.subscriptions.find((s) => s.router === 'r1'), { router: 'r1', services: ['S'], documents: ['r2', 'r3'] });
  assert.equal(step.subscriptions.find((s) => s.router === 'r3'), { router: 'r3', services: [], documents: ['r2'] }, 'r3 delivers S itself: it gets its neighbour only');
  for (const name of ['r1', 'r2', 'r3']) {
    const c = router(name).stepCounters();
    assert.is(c['step.tx-datagrams'] ?? 0, 0, `${name} sent no STEP datagram on the path channel`);
    assert.is(c['step.flooded'] ?? 0, 0, `${name} flooded nothing`);
    assert.ok((c['step.published'] ?? 0) >= 1, `${name} published to the conductor`);
    assert.ok((c['step.rx-new'] ?? 0) >= 1 || name === 'r3', `${name} learned documents from the conductor`);
    assert.is(router(name).counters()['consumed-path-messages'] ?? 0, 0, `${name}: no path-channel messages at all (static liveness, STEP through the conductor)`);
  }
});

test('traffic follows the learned route: client -> r1 -> r2 -> r3 -> server (multi-hop)', async () => {
  const client = new SimHost({ address: CLIENT, port: lan1.hostPort(CLIENT) });
  const server = new SimHost({ address: SERVER, port: lan3.hostPort(SERVER) });
  try {
    server.udpBind(7, (data, from) => server.udpSend(7, from.address, from.port, data));
    const replies: string[] = [];
    client.udpBind(40000, (d) => replies.push(Buffer.from(d).toString()));
    client.udpSend(40000, SERVER, 7, Buffer.from('via the conductor\'s STEP'));
    await waitFor('the echo', () => replies.length === 1, 5000);
    assert.is(router('r2').counters()['sessions-transit'], 1);
  } finally {
    client.close();
    server.close();
  }
});

test('a path going down reaches r1 through the conductor: no route; back up: the route again', async () => {
  router('r3').setPathUp('wan0->r2/wan1', false);
  await waitFor('r1 lost the route', () => peersFor('r1').length === 0, 5000);
  router('r3').setPathUp('wan0->r2/wan1', true);
  await waitFor('r1 routes S again', () => peersFor('r1').join() === 'r2:r2>r3', 5000);
});

test('the repository takes a router\'s own document only, well formed, of this authority', () => {
  const logs: string[] = [];
  const repo = new StepRepository(() => 'step-lab', (e, f) => logs.push(`${e} ${JSON.stringify(f)}`));
  const d = (router: string, authority = 'step-lab'): RouterDocument => ({ router, authority, version: 1, generatedAt: 0, services: [], peers: [] });
  assert.is(repo.publish('r1', d('r2')), false, 'r1 cannot publish r2\'s document');
  assert.is(repo.publish('r1', d('r1', 'other')), false, 'nor one of another authority');
  assert.is(repo.publish('r1', { router: 'r1', version: 'x' }), false, 'nor a malformed one');
  assert.is(repo.publish('r1', d('r1')), true);
  assert.equal(repo.documents().map((x) => x.router), ['r1']);
  assert.is(repo.counters()['refused'], 3);
  assert.match(logs.join('\n'), 'step.refused {"router":"r1","reason":"a document of r2"}');
});

test('the switch: a router not managed by a conductor refuses step mode conductor, with the field path', () => {
  const config = parseConfig(JSON.stringify({ authority: AUTHORITY }), 'step.json');
  try {
    createRouter(config, IO['r1']!, { name: 'r1', liveness: 'static', step: STEP_OPTIONS });
    assert.unreachable('refused');
  } catch (e) {
    assert.ok(isSvrError(e, 'SVR_ERR_CONFIG_INVALID'), String(e));
    assert.equal((e as { data: { problems: { path: string }[] } }).data.problems.map((x) => x.path), ['authority.step.mode']);
  }
});

test.run();
