import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import type { RouterEvent } from '../../../src/control/events.js';
import { exampleConfig, until } from '../../support/config.js';
import { recordWire } from '../../support/wire.js';

const fast = { handshake: { baseDelayMs: 20, maxTries: 3 }, sweepIntervalMs: 0 };

test('one-way UDP: the ingress probes, the egress answers, and metadata stops', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'], router: fast });
  const wire = recordWire(lab.wan);
  const events: RouterEvent[] = [];
  lab.r1.events$.subscribe((e) => events.push(e));
  let got = 0;
  lab.servers[0]!.udpBind(7, () => got++); // never replies
  lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from('telemetry 1'));
  assert.ok(await until(() => events.some((e) => e.type === 'session.confirmed')), 'handshake confirmed by a probe answer');
  const probe = wire.find((w) => w.meta?.healthCheck === 1);
  assert.ok(probe, 'a health-check probe was sent');
  const answer = wire.find((w) => w.dir === 'b->a' && w.meta?.control?.name === 'state-exists');
  assert.ok(answer && answer.meta!.disableForwardMetadata, 'the egress answered with reverse metadata');
  lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from('telemetry 2'));
  assert.ok(await until(() => got === 2));
  const last = wire.filter((w) => w.dir === 'a->b').at(-1)!;
  assert.is(last.meta, null, 'later forward packets carry no metadata');
  assert.is(lab.r1.status().handshakesInFlight, 0, 'no actor is left for a confirmed session');
  await lab.close();
});

test('lost first packets: the probe re-creates the session at the egress', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'], router: fast });
  let dropped = 0;
  lab.wan.setFilter((_, dir) => !(dir === 'a->b' && dropped++ < 1)); // lose the first forward packet only
  const events: RouterEvent[] = [];
  lab.r1.events$.subscribe((e) => events.push(e));
  lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from('first'));
  assert.ok(await until(() => events.some((e) => e.type === 'session.confirmed')));
  assert.is((await lab.r2.sessions()).length, 1, 'the egress has the session');
  assert.is((await lab.r2.sessions())[0]!.id, (await lab.r1.sessions())[0]!.id);
  await lab.close();
});

test('a session whose handshake never completes is torn down and counted', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'], router: fast });
  lab.wan.setFilter((_, dir) => dir !== 'a->b'); // the egress never hears us
  const events: RouterEvent[] = [];
  lab.r1.events$.subscribe((e) => events.push(e));
  lab.clients[0]!.udpSend(41000, '198.18.3.20', 7, Buffer.from('lost'));
  assert.ok(await until(() => events.some((e) => e.type === 'session.removed' && e.reason === 'handshake-failed'), 3000));
  assert.is((await lab.r1.sessions()).length, 0, 'torn down');
  assert.is(lab.r1.counters()['handshakes-failed'], 1);
  assert.is(lab.r1.counters()['health-checks-sent'], 3);
  await lab.close();
});

test('TCP: a lost SYN is recovered by the client retransmission, which carries the metadata again', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  const wire = recordWire(lab.wan);
  let dropped = 0;
  lab.wan.setFilter((_, dir) => !(dir === 'a->b' && dropped++ < 1));
  lab.servers[0]!.tcpListen(80, (c) => { c.write(Buffer.from('hi')); c.end(); });
  const conn = await lab.clients[0]!.tcpConnect('198.18.3.20', 80);
  conn.end();
  assert.is(Buffer.from(await conn.readAll()).toString(), 'hi');
  const syns = wire.filter((w) => w.dir === 'a->b' && (w.tcpFlags & 0x12) === 0x02);
  assert.ok(syns.length >= 2 && syns.every((w) => w.meta?.service === 'web'), 'each SYN carries forward metadata');
  await lab.close();
});

test.run();
