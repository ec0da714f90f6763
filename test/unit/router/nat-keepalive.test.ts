/**
 * NAT keep-alive (docs/wan.md "NAT keep-alive") in the memory lab: r1's wan is `outbound-only` with
 * `nat-keep-alive: 1`; an idle UDP session sends a health-check probe about once a second and r2 answers
 * it, yet neither keeps the session alive: it still expires at its UDP timeout (2 s here) on both routers.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { exampleConfig, sleep, until } from '../../support/config.js';

test('an idle session on an outbound-only path sends keep-alives that r2 answers, and still expires at its timeout', async () => {
  const c = await exampleConfig();
  for (const i of c.authority.routers.find((r) => r.name === 'r1')!.interfaces) {
    for (const n of i.neighborhoods) {
      n.peerConnectivity = 'outbound-only';
      n.natKeepAlive = 1;
    }
  }
  for (const s of c.authority.services) s.timeouts = { ...s.timeouts, udp: 3 };
  const lab = createMemoryLab({ config: c, clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  try {
    let replies = 0;
    lab.servers[0]!.udpBind(7, (data, from) => lab.servers[0]!.udpSend(7, from.address, from.port, data));
    lab.clients[0]!.udpBind(40000, () => void replies++);
    lab.clients[0]!.udpSend(40000, '198.18.3.20', 7, Uint8Array.of(1, 2, 3));
    assert.ok(await until(() => replies === 1), 'the echo came back');
    assert.ok(await until(() => (lab.r1.counters()['nat-keepalives-sent'] ?? 0) >= 1, 2500), 'a keep-alive after 1 s idle');
    assert.ok(await until(() => (lab.r2.counters()['health-checks-answered'] ?? 0) >= 1, 1000), 'r2 answered it');
    assert.is((await lab.r1.sessions()).length, 1, 'still there within its timeout');
    assert.ok(await until(async () => (await lab.r1.sessions()).length === 0 && (await lab.r2.sessions()).length === 0, 4000), 'expired at its 3 s timeout on both routers despite the keep-alives');
    const sent = lab.r1.counters()['nat-keepalives-sent']!;
    await sleep(1500);
    assert.is(lab.r1.counters()['nat-keepalives-sent'], sent, 'no keep-alive for a session that is gone');
  } finally {
    await lab.close();
  }
});

test.run();
