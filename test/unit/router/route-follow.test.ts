/** Sessions follow their route: a RIB change keeps a session whose route stays, removes one whose route is gone (no-route). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RouterEvent } from '../../../src/control/events.js';
import type { LearnedRoute } from '../../../src/model/rib.js';
import { parseConfig } from '../../../src/model/validate.js';
import { Router, createRouter } from '../../../src/control/router.js';
import { WorkerHost } from '../../../src/workers/worker-host.js';
import { attachWorkerChannels } from '../../support/worker-lab.js';
import { MemorySegment } from '../../../src/io/memory/segment.js';
import { SimHost } from '../../../src/sim/host.js';
import { until } from '../../support/config.js';

// r1's clients sit on lan0; it delivers bgp-echo (198.18.60.0/24) along the RIB and local-echo (198.18.3.0/24)
// by a next hop, both out of lan1, where the learned route's server and the local server sit
const CONFIG = `
authority:
  name: follow
  secret: 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
  tenants:
    - name: lab
      members: [198.18.1.0/24]
  services:
    - name: bgp-echo
      addresses: [198.18.60.0/24]
      transport: [{ protocol: udp, ports: [7] }]
      access-policy: [{ source: lab }]
    - name: local-echo
      addresses: [198.18.3.0/24]
      transport: [{ protocol: udp, ports: [7] }]
      access-policy: [{ source: lab }]
  routers:
    - name: r1
      interfaces:
        - { name: lan0, kind: lan }
        - { name: lan1, kind: lan }
      routes: [{ prefix: 198.18.1.0/24, interface: lan0 }]
      routing:
        interface: lan1
        bgp: { as: 65001, router-id: 198.18.61.2, neighbors: [{ address: 198.18.61.1, remote-as: 65100 }] }
      service-routes:
        - { name: bgp-echo-learned, service: bgp-echo, use-learned-routes: true }
        - { name: local-echo-lan, service: local-echo, next-hop: { interface: lan1 } }
`;

const bgp = (prefix: string, gateway: string): LearnedRoute => ({ prefix, gateway, protocol: 'bgp', distance: 20, metric: 0 });

type Change = (set: LearnedRoute[], removed: string[]) => void;

/** The scenario over r1 (its lan0 on `clients`, lan1 on `servers`); `change` hands the RIB change to it. */
async function followRoutes(r1: Router, clients: MemorySegment, servers: MemorySegment, change: Change): Promise<void> {
  const client = new SimHost({ address: '198.18.1.10', port: clients.hostPort('198.18.1.10') });
  const learnedServer = new SimHost({ address: '198.18.60.20', port: servers.hostPort('198.18.60.20') });
  const localServer = new SimHost({ address: '198.18.3.20', port: servers.hostPort('198.18.3.20') });
  const events: RouterEvent[] = [];
  r1.events$.subscribe((e) => events.push(e));
  const removed = () => events.filter((e): e is Extract<RouterEvent, { type: 'session.removed' }> => e.type === 'session.removed').map((e) => [e.sessionId, e.reason]);
  const counter = (name: 'sessions-no-route' | 'drop-no-route'): number => r1.counters()[name];
  const replies = { learned: 0, local: 0 };
  for (const server of [learnedServer, localServer]) server.udpBind(7, (data, from) => server.udpSend(7, from.address, from.port, data));
  client.udpBind(40001, () => replies.learned++);
  client.udpBind(40002, () => replies.local++);
  const send = (): void => {
    client.udpSend(40001, '198.18.60.20', 7, Buffer.from('learned'));
    client.udpSend(40002, '198.18.3.20', 7, Buffer.from('local'));
  };
  try {
    change([bgp('198.18.60.0/24', '198.18.61.1')], []);
    send();
    assert.ok(await until(() => replies.learned === 1 && replies.local === 1), `both echo: ${JSON.stringify(replies)}`);
    const before = await r1.sessions();
    assert.is(before.length, 2, 'two local sessions');
    const learnedId = before.find((s) => s.service === 'bgp-echo')!.id;

    // the route's next hop changes: same interface, the kernel follows the new gateway; the session stays
    change([bgp('198.18.60.0/24', '198.18.61.9')], []);
    send();
    assert.ok(await until(() => replies.learned === 2 && replies.local === 2), `both echo again: ${JSON.stringify(replies)}`);
    assert.ok((await r1.sessions()).some((s) => s.id === learnedId), 'the session on the re-gatewayed route stays');
    assert.equal(removed(), [], 'nothing removed by a next-hop change');

    // withdrawn: the learned session ends (no-route), the next-hop one stays
    change([], ['198.18.60.0/24']);
    assert.ok(await until(() => removed().length === 1), 'one session removed');
    assert.equal(removed(), [[learnedId, 'no-route']]);
    assert.ok(await until(() => counter('sessions-no-route') === 1), 'sessions-no-route');
    assert.equal((await r1.sessions()).map((s) => s.service), ['local-echo'], 'the next-hop session is not the RIB\'s');
    // its next packet is a first packet again, refused: no route
    send();
    assert.ok(await until(() => replies.local === 3), 'the next-hop service still echoes');
    assert.ok(await until(() => counter('drop-no-route') === 1), 'the learned one is refused, drop-no-route');
    assert.is(replies.learned, 2);

    // a blackhole over it ends a new session the same way
    change([bgp('198.18.60.0/24', '198.18.61.1')], []);
    send();
    assert.ok(await until(() => replies.learned === 3), 'learned again: a new session');
    change([{ prefix: '198.18.60.20/32', protocol: 'static', distance: 1, metric: 0, blackhole: true }], []);
    assert.ok(await until(() => counter('sessions-no-route') === 2), 'a blackhole /32 over the destination: removed');
  } finally {
    for (const h of [client, learnedServer, localServer]) h.close();
  }
}

test('a RIB change: a session whose route only changed next hop stays, one whose route is withdrawn ends with no-route', async () => {
  const clients = new MemorySegment('clients');
  const servers = new MemorySegment('servers');
  const r1 = createRouter(parseConfig(CONFIG), { lan0: clients.gatewayPort(), lan1: servers.gatewayPort() }, { name: 'r1', liveness: 'static' });
  await r1.start();
  // zebra's whole table each time (router.setLearnedRoutes: the RIB diffs it by prefix)
  const table = new Map<string, LearnedRoute>();
  try {
    await followRoutes(r1, clients, servers, (set, removed) => {
      for (const p of removed) table.delete(p);
      for (const r of set) table.set(r.prefix, r);
      r1.setLearnedRoutes([...table.values()]);
    });
  } finally {
    await r1.stop();
    clients.close();
    servers.close();
  }
});

test('the same with two data-path worker threads, the RIB changes handed to them as changes (router.updateLearnedRoutes)', async () => {
  const clients = new MemorySegment('clients');
  const servers = new MemorySegment('servers');
  const r1 = new Router(parseConfig(CONFIG), new WorkerHost({ workers: 2, io: { kind: 'channel' } }), { name: 'r1', liveness: 'static' });
  attachWorkerChannels(r1.host, 'lan0', clients.gatewayPort());
  attachWorkerChannels(r1.host, 'lan1', servers.gatewayPort());
  await r1.start();
  try {
    await followRoutes(r1, clients, servers, (set, removed) => void r1.updateLearnedRoutes(set, removed));
  } finally {
    await r1.stop();
    clients.close();
    servers.close();
  }
});

test.run();
