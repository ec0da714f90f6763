/** Sessions follow their route: a RIB change keeps a session whose route stays, removes one whose route is gone (no-route). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RouterEvent } from '../../../src/control/events.js';
import type { LearnedRoute } from '../../../src/model/rib.js';
import { parseConfig } from '../../../src/model/validate.js';
import { createRouter } from '../../../src/control/router.js';
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

test('a RIB change: a session whose route only changed next hop stays, one whose route is withdrawn ends with no-route', async () => {
  const clients = new MemorySegment('clients');
  const servers = new MemorySegment('servers');
  const r1 = createRouter(parseConfig(CONFIG), { lan0: clients.gatewayPort(), lan1: servers.gatewayPort() }, { name: 'r1', liveness: 'static' });
  await r1.start();
  const client = new SimHost({ address: '198.18.1.10', port: clients.hostPort('198.18.1.10') });
  const learnedServer = new SimHost({ address: '198.18.60.20', port: servers.hostPort('198.18.60.20') });
  const localServer = new SimHost({ address: '198.18.3.20', port: servers.hostPort('198.18.3.20') });
  const events: RouterEvent[] = [];
  r1.events$.subscribe((e) => events.push(e));
  const replies = { learned: 0, local: 0 };
  for (const server of [learnedServer, localServer]) server.udpBind(7, (data, from) => server.udpSend(7, from.address, from.port, data));
  client.udpBind(40001, () => replies.learned++);
  client.udpBind(40002, () => replies.local++);
  const send = (): void => {
    client.udpSend(40001, '198.18.60.20', 7, Buffer.from('learned'));
    client.udpSend(40002, '198.18.3.20', 7, Buffer.from('local'));
  };
  try {
    r1.setLearnedRoutes([bgp('198.18.60.0/24', '198.18.61.1')]);
    send();
    assert.ok(await until(() => replies.learned === 1 && replies.local === 1), `both echo: ${JSON.stringify(replies)}`);
    const before = await r1.sessions();
    assert.is(before.length, 2, 'two local sessions');
    const learnedId = before.find((s) => s.service === 'bgp-echo')!.id;

    // the route's next hop changes: same interface, the kernel follows the new gateway; the session stays
    r1.setLearnedRoutes([bgp('198.18.60.0/24', '198.18.61.9')]);
    send();
    assert.ok(await until(() => replies.learned === 2 && replies.local === 2), `both echo again: ${JSON.stringify(replies)}`);
    assert.ok((await r1.sessions()).some((s) => s.id === learnedId), 'the session on the re-gatewayed route stays');
    assert.not.ok(events.some((e) => e.type === 'session.removed'), 'nothing removed by a next-hop change');

    // withdrawn: the learned session ends (no-route), the next-hop one stays
    r1.setLearnedRoutes([]);
    const removed = events.filter((e): e is Extract<RouterEvent, { type: 'session.removed' }> => e.type === 'session.removed');
    assert.equal(removed.map((e) => [e.sessionId, e.reason]), [[learnedId, 'no-route']]);
    assert.is(r1.counters()['sessions-no-route'], 1);
    const after = await r1.sessions();
    assert.equal(after.map((s) => s.service), ['local-echo'], 'the next-hop session is not the RIB\'s');
    // its next packet is a first packet again, refused: no route
    send();
    assert.ok(await until(() => replies.local === 3), 'the next-hop service still echoes');
    assert.ok(await until(() => r1.counters()['drop-no-route'] === 1), 'the learned one is refused, drop-no-route');
    assert.is(replies.learned, 2);

    // a blackhole over it ends a new session the same way
    r1.setLearnedRoutes([bgp('198.18.60.0/24', '198.18.61.1')]);
    send();
    assert.ok(await until(() => replies.learned === 3), 'learned again: a new session');
    r1.setLearnedRoutes([bgp('198.18.60.0/24', '198.18.61.1'), { prefix: '198.18.60.20/32', protocol: 'static', distance: 1, metric: 0, blackhole: true }]);
    assert.is(r1.counters()['sessions-no-route'], 2, 'a blackhole /32 over the destination: removed');
  } finally {
    for (const h of [client, learnedServer, localServer]) h.close();
    await r1.stop();
    clients.close();
    servers.close();
  }
});

test.run();
