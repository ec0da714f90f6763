/**
 * A worker thread of a pair's active node that is replaced loses its sessions: the next session collection
 * names it (`lost`), its rows collected before it died are left out, and the framed records purge its rows
 * from the standby's replica (before any row of the new thread), the other worker's rows staying.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createWorkerLab } from '../../support/worker-lab.js';
import { exampleConfig, until } from '../../support/config.js';
import { SyncReplica } from '../../../src/ha/replica.js';
import { SYNC_KIND_SESSION, frameChanges } from '../../../src/node/ha-sessions.js';
import { OP_PURGE, recordsOf } from '../../../src/ha/sync-wire.js';

const PORTS = [42000, 42001, 42002, 42003, 42004, 42005, 42006, 42007];

test('a replaced worker: the standby drops its rows (a purge record), the other worker\'s rows stay', async () => {
  const logs: string[] = [];
  const lab = await createWorkerLab(await exampleConfig(), 2, { testHooks: true, log: (e) => void logs.push(e) });
  try {
    const replies = new Set<number>();
    lab.server.udpBind(7, (d, f) => lab.server.udpSend(7, f.address, f.port, d));
    for (const p of PORTS) lab.client.udpBind(p, () => replies.add(p));
    for (const p of PORTS) lab.client.udpSend(p, '198.18.3.20', 7, Buffer.from(`from ${p}`));
    assert.ok(await until(() => replies.size === PORTS.length, 5000), 'every session answered');
    const sessions = await lab.r1.sessions();
    const onWorker1 = sessions.filter((s) => s.worker === 1).length;
    assert.ok(onWorker1 > 0 && onWorker1 < PORTS.length, `both workers hold sessions (${onWorker1} on worker 1)`);

    const replica = new SyncReplica();
    const first = await lab.r1.host.collectSessionChanges(true);
    assert.equal(first.lost, []);
    replica.apply(frameChanges(first).records);
    assert.is(replica.count(SYNC_KIND_SESSION), PORTS.length);

    lab.r1.host.crash(1, 'throw');
    assert.ok(await until(() => logs.includes('worker.restarted'), 8000), `worker 1 replaced: ${logs.filter((l) => l.startsWith('worker.')).join(', ')}`);
    const next = await lab.r1.host.collectSessionChanges(false);
    assert.equal(next.lost, [1], 'the replaced worker is named once');
    const framed = frameChanges(next);
    const records = recordsOf(framed.records);
    assert.equal([records[0]!.kind, records[0]!.op, [...records[0]!.key]], [SYNC_KIND_SESSION, OP_PURGE, [1]], 'the purge goes first');
    replica.apply(framed.records);
    assert.is(replica.count(SYNC_KIND_SESSION), PORTS.length - onWorker1, 'the lost worker\'s rows left the replica');
    let sources = 0;
    replica.forEach(SYNC_KIND_SESSION, (_, value) => { sources |= 1 << value[0]!; });
    assert.is(sources, 1, 'the rows left are worker 0\'s');
    assert.equal((await lab.r1.host.collectSessionChanges(false)).lost, [], 'named once only');
  } finally {
    await lab.close();
  }
});

test.run();
