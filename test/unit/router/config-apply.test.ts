import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { isSvrError } from '../../../src/errors.js';
import type { SvrConfig } from '../../../src/model/config.js';
import { exampleConfig, until, waitFor } from '../../support/config.js';

test('a bad config is refused with the path of each bad field; the running config and sessions stay', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  let got = 0;
  lab.servers[0]!.udpBind(7, (d, f) => lab.servers[0]!.udpSend(7, f.address, f.port, d));
  lab.clients[0]!.udpBind(41000, () => got++);
  lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from('a'));
  await waitFor('the first echo reply', () => got === 1);
  const bad = structuredClone(lab.r1.runningConfig) as SvrConfig;
  bad.authority.routers[0]!.serviceRoutes[0]!.peer = 'r9';
  let err: unknown;
  try {
    lab.r1.applyConfig(bad);
  } catch (e) {
    err = e;
  }
  assert.ok(isSvrError(err, 'SVR_ERR_CONFIG_INVALID'), String(err));
  assert.match((err as Error).message, /authority\.routers\[0\]\.serviceRoutes\[0\]\.peer/);
  assert.is(lab.r1.runningConfig.authority.routers[0]!.serviceRoutes[0]!.peer, 'r2', 'the running config stays');
  lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from('b'));
  assert.ok(await until(() => got === 2), 'traffic continues');
  await lab.close();
});

test('a good config applies live: sessions keep their names, a removed service ends its sessions', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  let got = 0;
  lab.servers[0]!.udpBind(7, (d, f) => lab.servers[0]!.udpSend(7, f.address, f.port, d));
  lab.clients[0]!.udpBind(41000, () => got++);
  lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from('a'));
  await waitFor('the first echo reply', () => got === 1);
  // reorder services: ids shift, names must not
  const next = structuredClone(lab.r1.runningConfig) as SvrConfig;
  next.authority.services.reverse();
  lab.r1.applyConfig(next);
  assert.is((await lab.r1.sessions())[0]!.service, 'echo');
  lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from('b'));
  assert.ok(await until(() => got === 2));
  // remove the echo service: its session ends, new packets are denied
  const without = structuredClone(next);
  without.authority.services = without.authority.services.filter((s) => s.name !== 'echo');
  for (const r of without.authority.routers) r.serviceRoutes = r.serviceRoutes.filter((x) => x.service !== 'echo');
  lab.r1.applyConfig(without);
  assert.is((await lab.r1.sessions()).length, 0);
  lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from('c'));
  await waitFor('drop-no-service', () => (lab.r1.counters()['drop-no-service'] ?? 0) === 1);
  assert.is(lab.r1.counters()['drop-no-service'], 1);
  await lab.close();
});

test.run();
