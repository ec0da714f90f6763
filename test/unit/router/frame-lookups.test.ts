/**
 * session-lookup hashes a frame's keys and loads their slots before it probes any (hashFrame): a frame of new
 * sessions, the same flow twice in it, and the frames of their answers and next datagrams find exactly the
 * sessions one packet at a time would (r1 and r2 hold one session a client port, every datagram is answered).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { exampleConfig, until } from '../../support/config.js';

const PORTS = 48;
const TWICE = 16;

test('a frame of new sessions, some flows twice in it, and the frames that follow: one session a flow, every datagram answered', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  const server = lab.servers[0]!;
  const client = lab.clients[0]!;
  let delivered = 0;
  server.udpBind(7, (d, from) => { delivered++; server.udpSend(7, from.address, from.port, d); });
  let answered = 0;
  for (let p = 0; p < PORTS; p++) client.udpBind(42000 + p, () => answered++);
  const round = (): void => { // one turn: one batch at r1
    for (let p = 0; p < PORTS; p++) client.udpSend(42000 + p, '198.18.3.20', 7, Buffer.from(`datagram ${p}`));
    for (let p = 0; p < TWICE; p++) client.udpSend(42000 + p, '198.18.3.20', 7, Buffer.from(`again ${p}`));
  };
  round();
  assert.ok(await until(() => answered === PORTS + TWICE), `answered ${answered} of ${PORTS + TWICE} (delivered ${delivered})`);
  assert.is((await lab.r1.sessions()).length, PORTS, 'r1: a session a client port');
  assert.is((await lab.r2.sessions()).length, PORTS, 'r2: a session a client port');
  round();
  assert.ok(await until(() => answered === 2 * (PORTS + TWICE)), `answered ${answered} of ${2 * (PORTS + TWICE)}`);
  assert.is(delivered, 2 * (PORTS + TWICE), 'each datagram delivered once');
  assert.is((await lab.r1.sessions()).length, PORTS, 'r1: no session more');
  assert.is((await lab.r2.sessions()).length, PORTS, 'r2: no session more');
  await lab.close();
});

test.run();
