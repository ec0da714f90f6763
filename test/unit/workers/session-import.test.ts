/**
 * Session rows across worker hosts (a router pair's node with --workers): rows exported from r1's two
 * workers are installed into another r1 with two workers (all in its first worker, which claims their keys
 * for steering); the next packet of every session is forwarded, whichever worker's queue it arrives on,
 * under the same session ids and without a new first packet. Ending every session (a pair's node going standby)
 * ends those of both workers.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createWorkerLab, type WorkerLab } from '../../support/worker-lab.js';
import { exampleConfig, until } from '../../support/config.js';
import { recordWire } from '../../support/wire.js';

const PORTS = [41000, 41001, 41002, 41003, 41004, 41005, 41006, 41007];

function echo(lab: WorkerLab): { send: () => void; replies: Map<number, number> } {
  const replies = new Map<number, number>();
  lab.server.udpBind(7, (d, f) => lab.server.udpSend(7, f.address, f.port, d));
  for (const p of PORTS) lab.client.udpBind(p, () => replies.set(p, (replies.get(p) ?? 0) + 1));
  return { send: () => { for (const p of PORTS) lab.client.udpSend(p, '198.18.3.20', 7, Buffer.from(`from ${p}`)); }, replies };
}

test('rows exported from two workers, installed into another two-worker r1: every session forwarded under its id', async () => {
  const config = await exampleConfig();
  const before = await createWorkerLab(config, 2);
  const after = await createWorkerLab(config, 2);
  try {
    const one = echo(before);
    one.send();
    assert.ok(await until(() => one.replies.size === PORTS.length, 5000), 'every session answered before');
    const sessions = await before.r1.sessions();
    assert.is(sessions.length, PORTS.length);
    assert.ok(new Set(sessions.map((s) => s.worker)).size === 2, 'the sessions are spread over both workers');
    const ids = sessions.map((s) => s.id).sort();
    const r1 = await before.r1.host.collectSessionChanges(true);
    assert.equal(await after.r1.host.importSessions(r1.rows), { installed: PORTS.length, present: 0, refused: 0 });
    assert.equal((await after.r2.host.importSessions((await before.r2.host.collectSessionChanges(true)).rows)).installed, PORTS.length);
    assert.equal((await before.r1.host.collectSessionChanges(false)).rowCount, 0, 'nothing changed since: no row again from either worker');
    const wire = recordWire(after.wan);
    const two = echo(after);
    two.send();
    assert.ok(await until(() => two.replies.size === PORTS.length, 5000), `every session answered after (${two.replies.size} of ${PORTS.length})`);
    assert.ok(wire.every((w) => w.meta === null), 'no first packet: no metadata on the wire');
    assert.equal((await after.r1.sessions()).map((s) => s.id).sort(), ids, 'the same session ids');

    // the first r1 stops forwarding (a pair's node going standby): both workers end their sessions
    const removed: string[] = [];
    const sub = before.r1.events$.subscribe((e) => { if (e.type === 'session.removed') removed.push(e.reason); });
    before.r1.host.removeAllSessions('standby');
    assert.ok(await until(() => removed.length === PORTS.length, 5000), `every session ended (${removed.length} of ${PORTS.length})`);
    sub.unsubscribe();
    assert.equal([...new Set(removed)], ['standby']);
    assert.is((await before.r1.sessions()).length, 0, 'none left in either worker');
  } finally {
    await before.close();
    await after.close();
  }
});

test.run();
