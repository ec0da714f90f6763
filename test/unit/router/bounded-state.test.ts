/**
 * Bounded state on a router (docs/security.md "Bounded state"): with `session-capacity: 16`, the 17th new
 * session is refused and counted while the 16 keep flowing, the alarm session-table-full is raised at
 * 90 % and cleared at 80 %; idle sessions expire within a tick of their timeout.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { exampleConfig, sleep, until } from '../../support/config.js';

test('a full table refuses new sessions (counted, an alarm), the existing ones keep flowing; room again after they end', async () => {
  const config = await exampleConfig();
  config.authority.routers.find((r) => r.name === 'r1')!.sessionCapacity = 16;
  config.authority.services.find((s) => s.name === 'echo')!.timeouts.udp = 1;
  const alarms: [string, boolean | undefined][] = [];
  const lab = createMemoryLab({
    config, clients: ['198.18.1.10'], servers: ['198.18.3.20'],
    router: { observeAlarm: (name, _source, o) => void alarms.push([name, o.active]) },
  });
  try {
    const got = new Map<number, number>();
    lab.servers[0]!.udpBind(7, (_d, from) => got.set(from.port, (got.get(from.port) ?? 0) + 1));
    for (let p = 0; p < 20; p++) lab.clients[0]!.udpSend(42000 + p, '198.18.3.20', 7, Buffer.from('open'));
    assert.ok(await until(() => got.size === 16), `16 sessions opened (${got.size})`);
    await sleep(50);
    assert.is(got.size, 16, 'no more');
    assert.is(lab.r1.counters()['drop-session-table-full'], 4);
    assert.is(lab.r1.status().sessionsLimit, 16);
    for (let p = 0; p < 16; p++) lab.clients[0]!.udpSend(42000 + p, '198.18.3.20', 7, Buffer.from('more'));
    assert.ok(await until(() => [...got.values()].every((n) => n === 2)), 'the 16 keep flowing');
    assert.ok(await until(() => alarms.some(([n, a]) => n === 'session-table-full' && a === true), 2000), 'alarm raised');
    // idle (1 s timeout): they end, the alarm clears, new sessions open again
    assert.ok(await until(() => lab.r1.status().sessionsActive === 0, 4000), 'expired');
    assert.ok(await until(() => alarms.some(([n, a]) => n === 'session-table-full' && a === false), 2000), 'alarm cleared');
    lab.clients[0]!.udpSend(42019, '198.18.3.20', 7, Buffer.from('late'));
    assert.ok(await until(() => got.has(42019)), 'room again');
  } finally {
    await lab.close();
  }
});

test.run();
