/** Per-tenant VRFs through a running router: each tenant's first packet routes in its own VRF; a withdrawal in one leaves the other. */
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

type Segments = { clients: MemorySegment; viaLan1: MemorySegment; viaLan2: MemorySegment };

/** The scenario over a started r1 (lan0 on clients, lan1 and lan2 on the two server segments); `learn` hands it the default VRF's learned routes. */
async function vrfScenario(r1: Router, { clients, viaLan1, viaLan2 }: Segments, learn: (routes: LearnedRoute[]) => void): Promise<void> {
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

    learn([bgp('198.18.60.0/24', '198.18.61.1')]);
    const routeWhy = (src: string): string => r1.explain({ src, dst: '198.18.60.20', protocol: 'udp', port: 7 }).steps.find((x) => x.step === 'route')!.why;
    assert.match(routeWhy('198.18.1.10'), /through lan1 along the RIB's route 198\.18\.60\.0\/24 via 198\.18\.61\.1 \(bgp, distance 20\) \(/);
    assert.match(routeWhy('198.18.1.200'), /through lan2 along the RIB's route 198\.18\.60\.0\/24 \(static, distance 1\) in VRF blue/);
    send();
    assert.ok(await until(() => answers.red.length === 1 && answers.blue.length === 1), `both answered: ${JSON.stringify(answers)}`);
    assert.equal(answers, { red: ['lan1'], blue: ['lan2'] }, 'red along its learned route (lan1), blue along its VRF\'s static route (lan2)');
    assert.equal(r1.tenants().map((t) => [t.name, t.vrf]), [['red', 'default'], ['blue', 'blue']], 'svr show tenants: each tenant\'s VRF');
    const sessions = await r1.sessions();
    assert.is(sessions.length, 2);

    // withdrawn in the default VRF: red's session ends (no-route) and its next packet is refused; blue's stays
    learn([]);
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
  }
}

const segments = (): Segments => ({ clients: new MemorySegment('clients'), viaLan1: new MemorySegment('lan1'), viaLan2: new MemorySegment('lan2') });

test('two tenants, the same prefix in two VRFs: each first packet goes its own way; withdrawn in one, the other keeps forwarding', async () => {
  const seg = segments();
  const r1 = createRouter(parseConfig(CONFIG), { lan0: seg.clients.gatewayPort(), lan1: seg.viaLan1.gatewayPort(), lan2: seg.viaLan2.gatewayPort() }, { name: 'r1', liveness: 'static' });
  await r1.start();
  try {
    await vrfScenario(r1, seg, (routes) => r1.setLearnedRoutes(routes));
  } finally {
    await r1.stop();
    for (const s of Object.values(seg)) s.close();
  }
});

test('the same with two data-path worker threads, the RIB changes handed to them as changes', async () => {
  const seg = segments();
  const r1 = new Router(parseConfig(CONFIG), new WorkerHost({ workers: 2, io: { kind: 'channel' } }), { name: 'r1', liveness: 'static' });
  attachWorkerChannels(r1.host, 'lan0', seg.clients.gatewayPort());
  attachWorkerChannels(r1.host, 'lan1', seg.viaLan1.gatewayPort());
  attachWorkerChannels(r1.host, 'lan2', seg.viaLan2.gatewayPort());
  await r1.start();
  let learned: LearnedRoute[] = [];
  try {
    await vrfScenario(r1, seg, (routes) => {
      const removed = learned.filter((r) => !routes.some((x) => x.prefix === r.prefix)).map((r) => r.prefix);
      learned = routes;
      r1.updateLearnedRoutes(routes, removed);
    });
  } finally {
    await r1.stop();
    for (const s of Object.values(seg)) s.close();
  }
});

test.run();
