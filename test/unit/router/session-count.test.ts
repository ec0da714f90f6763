/**
 * The router's once-a-second watchers (alarm session-table-full, `status()`, `show stats`) read the sessions
 * active and the limit from the table's counters: a walk over every row (tally) took ~20 ms of the data path's
 * thread at 1 M sessions, twice a second, and cost a TCP stream through a full table ~10 % (docs/performance.md,
 * wave 22 tab4). The per-path, service and tenant counts still walk, on request.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { exampleConfig, sleep, until } from '../../support/config.js';

test('status, sessionsActive and the table alarm do not walk the table; peers and services still count per path and service', async () => {
  const config = await exampleConfig();
  const lab = createMemoryLab({ config, clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  try {
    const got = new Set<number>();
    lab.servers[0]!.udpBind(7, (_d, from) => got.add(from.port));
    for (let p = 0; p < 3; p++) lab.clients[0]!.udpSend(42000 + p, '198.18.3.20', 7, Buffer.from('open'));
    assert.ok(await until(() => got.size === 3), `3 sessions opened (${got.size})`);
    const host = lab.r1.host;
    const tally = host.tally.bind(host);
    let walks = 0;
    host.tally = () => { walks++; return tally(); };
    assert.is(lab.r1.status().sessionsActive, 3);
    assert.is(lab.r1.sessionsActive(), 3);
    assert.is(lab.r1.status().sessionsPerWorker[0], 3);
    await sleep(1200); // the router's table alarm ticks once a second
    assert.is(walks, 0, 'no walk for the counts the table keeps');
    const onPaths = lab.r1.peers().flatMap((p) => p.paths).reduce((n, x) => n + x.sessions, 0);
    assert.is(onPaths, 3, 'per path, counted on request');
    assert.is(lab.r1.services().find((s) => s.name === 'echo')?.sessions, 3);
    assert.ok(walks >= 1);
  } finally {
    await lab.close();
  }
});

test.run();
