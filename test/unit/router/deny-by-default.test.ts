import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { exampleConfig, sleep } from '../../support/config.js';
import { recordWire } from '../../support/wire.js';

// 198.18.5.5: in no tenant. 198.18.9.10: tenant guest, which no service allows. 198.18.1.10: engineering.
const cases = [
  { name: 'unknown source', client: '198.18.5.5', dst: '198.18.3.20', port: 7, counter: 'drop-no-tenant' },
  { name: 'tenant not allowed by the access policy', client: '198.18.9.10', dst: '198.18.3.20', port: 7, counter: 'drop-access-denied' },
  { name: 'destination with no service', client: '198.18.1.10', dst: '198.18.4.4', port: 7, counter: 'drop-no-service' },
  { name: 'port with no service', client: '198.18.1.10', dst: '198.18.3.20', port: 9999, counter: 'drop-no-service' },
] as const;

for (const c of cases) {
  test(`deny by default: ${c.name} -> dropped, counted as ${c.counter}, nothing reaches the far side`, async () => {
    const lab = createMemoryLab({ config: await exampleConfig(), clients: [c.client], servers: ['198.18.3.20'] });
    const wire = recordWire(lab.wan);
    let serverSaw = 0;
    lab.servers[0]!.udpBind(c.port, () => serverSaw++);
    for (let i = 0; i < 5; i++) lab.clients[0]!.udpSend(41000 + i, c.dst, c.port, Buffer.from('hello'));
    await sleep(30);
    const counters = lab.r1.counters();
    assert.is(counters[c.counter], 5, `${c.counter} = ${counters[c.counter]}`);
    assert.is(counters['sessions-created'] ?? 0, 0);
    assert.is(wire.length, 0, 'no packet on the R1-R2 link');
    assert.is(serverSaw, 0);
    assert.is((await lab.r1.sessions()).length, 0);
    assert.is((await lab.r2.sessions()).length, 0);
    await lab.close();
  });
}

test('no route: a service without a usable service-route is dropped as no-route', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  const wire = recordWire(lab.wan);
  lab.r1.setPathUp('wan0->r2/wan0', false);
  lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from('hello'));
  await sleep(30);
  assert.is(lab.r1.counters()['drop-no-route'], 1);
  assert.is(wire.length, 0);
  await lab.close();
});

test.run();
