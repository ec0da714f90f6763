/** Per-tenant VRFs through a running router: each tenant's first packet routes in its own VRF; a withdrawal in one leaves the other. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RouterEvent } from '../../../src/control/events.js';
import type { LearnedRoute } from '../../../src/model/rib.js';
import { parseConfig } from '../../../src/model/validate.js';
import { createRouter } from '../../../src/control/router.js';
import { MemorySegment } from '../../../src/io/memory/segment.js';
import { SimHost } from '../../../src/sim/host.js';
import { until } from '../../support/config.js';

// Clients of tenants red (198.18.1.0/25) and blue (198.18.1.128/25) on lan0. echo (198.18.60.0/24) follows
// the RIB: red's (default VRF) has the learned route, out of lan1; blue's VRF has a static route out of lan2.
// Each segment has its own server at 198.18.60.20, answering with its segment's name.
const CONFIG = `
authority:
  name: vrfs
  secret: 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
  tenants:
    - { name: red, members: [198.18.1.0/25] }
    - { name: blue, members: [198.18.1.128/25] }
  services:
    - name: echo
      addresses: [198.18.60.0/24]
      transport: [{ protocol: udp, ports: [7] }]
      access-policy: [{ source: red }, { source: blue }]
  routers:
    - name: r1
      interfaces:
        - { name: lan0, kind: lan }
        - { name: lan1, kind: lan }
        - { name: lan2, kind: lan }
      routes: [{ prefix: 198.18.1.0/24, interface: lan0 }]
      routing:
        interface: lan1
        vrfs:
          - name: blue
            table: 100
            tenants: [blue]
            routes: [{ prefix: 198.18.1.0/24, interface: lan0 }, { prefix: 198.18.60.0/24, interface: lan2 }]
      service-routes:
        - { name: echo-learned, service: echo, use-learned-routes: true }
`;

const bgp = (prefix: string, gateway: string): LearnedRoute => ({ prefix, gateway, protocol: 'bgp', distance: 20, metric: 0 });

test('two tenants, the same prefix in two VRFs: each first packet goes its own way; withdrawn in one, the other keeps forwarding', async () => {
  const clients = new MemorySegment('clients');
  const viaLan1 = new MemorySegment('lan1');
  const viaLan2 = new MemorySegment('lan2');
  const r1 = createRouter(parseConfig(CONFIG), { lan0: clients.gatewayPort(), lan1: viaLan1.gatewayPort(), lan2: viaLan2.gatewayPort() }, { name: 'r1', liveness: 'static' });
  await r1.start();
  const red = new SimHost({ address: '198.18.1.10', port: clients.hostPort('198.18.1.10') });
  const blue = new SimHost({ address: '198.18.1.200', port: clients.hostPort('198.18.1.200') });
  const servers = [new SimHost({ address: '198.18.60.20', port: viaLan1.hostPort('198.18.60.20') }), new SimHost({ address: '198.18.60.20', port: viaLan2.hostPort('198.18.60.20') })];
  const events: RouterEvent[] = [];
  r1.events$.subscribe((e) => events.push(e));
  try {
    servers.forEach((server, i) => server.udpBind(7, (_data, from) => server.udpSend(7, from.address, from.port, Buffer.from(`lan${i + 1}`))));
    const answers = { red: [] as string[], blue: [] as string[] };
    red.udpBind(40001, (data) => answers.red.push(Buffer.from(data).toString()));
    blue.udpBind(40001, (data) => answers.blue.push(Buffer.from(data).toString()));
    const send = (): void => {
      red.udpSend(40001, '198.18.60.20', 7, Buffer.from('red'));
      blue.udpSend(40001, '198.18.60.20', 7, Buffer.from('blue'));
    };

    r1.setLearnedRoutes([bgp('198.18.60.0/24', '198.18.61.1')]);
    const routeWhy = (src: string): string => r1.explain({ src, dst: '198.18.60.20', protocol: 'udp', port: 7 }).steps.find((x) => x.step === 'route')!.why;
    assert.match(routeWhy('198.18.1.10'), /through lan1 along the RIB's route 198\.18\.60\.0\/24 via 198\.18\.61\.1 \(bgp, distance 20\) \(/);
    assert.match(routeWhy('198.18.1.200'), /through lan2 along the RIB's route 198\.18\.60\.0\/24 \(static, distance 1\) in VRF blue/);
    send();
    assert.ok(await until(() => answers.red.length === 1 && answers.blue.length === 1), `both answered: ${JSON.stringify(answers)}`);
    assert.equal(answers, { red: ['lan1'], blue: ['lan2'] }, 'red along its learned route (lan1), blue along its VRF\'s static route (lan2)');
    const sessions = await r1.sessions();
    assert.is(sessions.length, 2);

    // withdrawn in the default VRF: red's session ends (no-route) and its next packet is refused; blue's stays
    r1.setLearnedRoutes([]);
    const removed = () => events.filter((e): e is Extract<RouterEvent, { type: 'session.removed' }> => e.type === 'session.removed').map((e) => e.reason);
    assert.ok(await until(() => removed().length === 1), 'one session removed');
    assert.equal(removed(), ['no-route']);
    send();
    assert.ok(await until(() => answers.blue.length === 2), 'blue still answered');
    assert.ok(await until(() => r1.counters()['drop-no-route'] === 1), 'red refused: drop-no-route');
    assert.equal(answers, { red: ['lan1'], blue: ['lan2', 'lan2'] });
    assert.is((await r1.sessions()).length, 1, 'blue\'s session stays');
  } finally {
    for (const h of [red, blue, ...servers]) h.close();
    await r1.stop();
    for (const s of [clients, viaLan1, viaLan2]) s.close();
  }
});

test.run();
