/**
 * Sessions across a failover of a router pair: r1's sessions go from its active node over a real sync link
 * (loopback) into the standby's replica; the standby takes over when the active stops, installs them into
 * its own data path (a second, fresh router with the same config), and forwards the next packet of the
 * existing session under the same session id, without a new first packet (no metadata on the wire).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket } from 'node:dgram';
import { createMemoryLab, type MemoryLab } from '../../../src/sim/memory-lab.js';
import { PairNode } from '../../../src/ha/pair-node.js';
import { HaSessions, SYNC_KIND_SESSION, frameChanges } from '../../../src/node/ha-sessions.js';
import { SyncReplica } from '../../../src/ha/replica.js';
import { collectChanges, importRows, packRows, unpackRows } from '../../../src/dataplane/session-rows.js';
import { SessionTable } from '../../../src/dataplane/session-table.js';
import { removeSession } from '../../../src/dataplane/session-ops.js';
import type { Redundancy } from '../../../src/model/config.js';
import { recordWire } from '../../support/wire.js';
import { exampleConfig, until } from '../../support/config.js';

const freePort = (address: string): Promise<number> => new Promise((resolve) => {
  const s = createSocket('udp4');
  s.bind(0, address, () => { const p = s.address().port; s.close(() => resolve(p)); });
});
const noLog = (): void => {};

/** a UDP echo on the server, and a client on port 40000 that counts the replies */
function echo(lab: MemoryLab): { send: (text: string) => void; replies: string[] } {
  const replies: string[] = [];
  lab.servers[0]!.udpBind(7, (data, from) => lab.servers[0]!.udpSend(7, from.address, from.port, data));
  lab.clients[0]!.udpBind(40000, (data) => replies.push(Buffer.from(data).toString()));
  return { send: (text) => lab.clients[0]!.udpSend(40000, '198.18.3.20', 7, Buffer.from(text)), replies };
}

test('failover: the new active installs the synced sessions and forwards an existing session under the same id', async () => {
  const config = await exampleConfig();
  const before = createMemoryLab({ config, clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  const after = createMemoryLab({ config, clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  const [pa, pb] = [await freePort('127.0.0.1'), await freePort('127.0.0.2')];
  const redundancy: Redundancy = {
    nodes: [{ name: 'r1a', priority: 200, syncAddress: '127.0.0.1' }, { name: 'r1b', priority: 100, syncAddress: '127.0.0.2' }],
    preempt: false, heartbeatInterval: 100, heartbeatMisses: 3, syncPort: 0, sharedKey: Buffer.alloc(32, 7).toString('base64'), sharedAddresses: [],
  };
  const sessionsA = new HaSessions(before.r1.host, noLog);
  const sessionsB = new HaSessions(after.r1.host, noLog);
  const installed: number[] = [];
  const a = new PairNode({ redundancy, node: 'r1a', linksUp: () => 2, collect: (q, full) => sessionsA.collect(q, full), ports: { local: pa, partner: pb } });
  const b = new PairNode({
    redundancy, node: 'r1b', linksUp: () => 2, collect: (q, full) => sessionsB.collect(q, full), ports: { local: pb, partner: pa },
    onRole: (p) => { if (p.role === 'active') void sessionsB.install(b.replica).then((r) => installed.push(r.installed)); },
  });
  sessionsA.bind(a);
  sessionsB.bind(b);
  try {
    await a.start();
    assert.ok(await until(() => a.role === 'active'), 'r1a active before r1b starts'); // was an unchecked 3 s: a slow start went on as another scenario
    await b.start();
    const one = echo(before);
    for (let i = 0; i < 3; i++) {
      one.send(`ping ${i}`);
      assert.ok(await until(() => one.replies.length === i + 1), `reply ${i} before the failover`);
    }
    const ids = (await before.r1.sessions()).map((s) => s.id);
    assert.is(ids.length, 1, 'one session on the active');
    assert.ok(await until(() => b.replica.count(SYNC_KIND_SESSION) === 1, 3000), 'the session row reached the standby');
    // its last change (the reverse metadata seen) goes with a collection that started after the pings
    const c0 = sessionsA.stats().collections;
    assert.ok(await until(() => sessionsA.stats().collections >= c0 + 2 && a.status().lag.pending === 0 && a.status().lag.unacked === 0, 3000), 'the changes acknowledged');
    assert.is((await after.r1.sessions()).length, 0, 'the standby forwards nothing of its own');

    a.stop(); // the active dies: the standby takes over after its dead time and installs the rows
    assert.ok(await until(() => installed.length === 1, 3000), 'the new active installed the replica');
    assert.is(installed[0], 1, 'one row installed');
    assert.equal((await after.r1.sessions()).map((s) => s.id), ids, 'the new active lists the same session id');
    const carried = (await after.r1.sessions())[0]!.packets.forward; // as of the row's last sync (a counter alone is no reason to send it)
    assert.ok(carried >= 1 && carried <= 3, `${carried} forward packets carried over`);

    // r2 is one node here: carry its rows over as they are (the peer of a pair keeps its own sessions)
    const r2 = await before.r2.host.collectSessionChanges(true);
    assert.equal((await after.r2.host.importSessions(r2.rows)).installed, 1);
    const wire = recordWire(after.wan);
    const two = echo(after);
    two.send('ping 3');
    assert.ok(await until(() => two.replies.length === 1), 'the existing session is forwarded by the new active');
    assert.equal(two.replies, ['ping 3']);
    assert.ok(wire.length >= 2 && wire.every((w) => w.meta === null), 'no first packet: no metadata on the wire');
    assert.equal((await after.r1.sessions()).map((s) => s.id), ids, 'still that one session, same id');
    assert.is((await after.r1.sessions())[0]!.packets.forward, carried + 1, 'its counters carried on');
  } finally {
    a.stop();
    b.stop();
    await before.close();
    await after.close();
  }
});

test('incremental sync: a removed session leaves the replica, idle rows are not sent again, a restarted standby gets every row', async () => {
  const config = await exampleConfig();
  const lab = createMemoryLab({ config, clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  const [pa, pb] = [await freePort('127.0.0.1'), await freePort('127.0.0.2')];
  const redundancy: Redundancy = {
    nodes: [{ name: 'r1a', priority: 200, syncAddress: '127.0.0.1' }, { name: 'r1b', priority: 100, syncAddress: '127.0.0.2' }],
    // 10 misses (1 s): under a loaded machine 3 (300 ms) lost the partner once and the rejoin's full collection resent every row
    preempt: false, heartbeatInterval: 100, heartbeatMisses: 10, syncPort: 0, sharedKey: Buffer.alloc(32, 7).toString('base64'), sharedAddresses: [],
  };
  const sessionsA = new HaSessions(lab.r1.host, noLog);
  const a = new PairNode({ redundancy, node: 'r1a', linksUp: () => 2, collect: (q, full) => sessionsA.collect(q, full), ports: { local: pa, partner: pb } });
  sessionsA.bind(a);
  const standby = (): PairNode => new PairNode({ redundancy, node: 'r1b', linksUp: () => 2, ports: { local: pb, partner: pa } });
  let b = standby();
  const replicated = (): number => b.replica.count(SYNC_KIND_SESSION);
  try {
    await a.start();
    assert.ok(await until(() => a.role === 'active'), 'r1a active before r1b starts'); // was an unchecked 3 s: a slow start went on as another scenario
    await b.start();
    lab.servers[0]!.udpBind(7, (data, from) => lab.servers[0]!.udpSend(7, from.address, from.port, data));
    let replies = 0;
    for (let i = 0; i < 3; i++) {
      lab.clients[0]!.udpBind(41000 + i, () => { replies++; });
      lab.clients[0]!.udpSend(41000 + i, '198.18.3.20', 7, Buffer.from('x'));
    }
    assert.ok(await until(() => replies === 3), 'three sessions answered');
    assert.ok(await until(() => replicated() === 3, 3000), 'three rows on the standby');
    const c0 = sessionsA.stats().collections;
    assert.ok(await until(() => sessionsA.stats().collections >= c0 + 2 && a.status().lag.unacked === 0, 3000));
    const sent = a.status().counters.recordsSent;
    const full = sessionsA.stats().fullCollections;
    await new Promise((r) => setTimeout(r, 500));
    assert.is(sessionsA.stats().fullCollections, full, 'the standby stayed (no rejoin, no full collection)');
    assert.is(a.status().counters.recordsSent, sent, 'five heartbeats, nothing changed: no record sent');

    const ctx = lab.r1.host.dataplane.ctx;
    const row = [...Array(ctx.sessions.capacity).keys()].find((r) => ctx.sessions.isActive(r))!;
    removeSession(ctx, row, 'admin', ctx.clock());
    assert.ok(await until(() => replicated() === 2, 3000), 'the removed session left the replica (a tombstone)');
    assert.is(a.status().counters.recordsSent, sent + 1, 'one record: the delete');
    const s = sessionsA.stats();
    assert.ok(s.lastWaitMs !== undefined && a.status().lag.changeMs !== undefined, 'the wait and the change lag measured');

    b.stop(); // the standby restarts: a new epoch, an empty replica
    b = standby();
    await b.start();
    assert.ok(await until(() => replicated() === 2, 3000), 'the restarted standby got every row again');
    assert.is(sessionsA.stats().fullCollections, s.fullCollections + 1, 'by a full collection');
  } finally {
    a.stop();
    b.stop();
    await lab.close();
  }
});

test('a node that stops forwarding ends its own sessions: taking over again, it installs the partner\'s newer row, not its own stale one', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  try {
    const e = echo(lab);
    e.send('x');
    assert.ok(await until(() => e.replies.length === 1));
    const sessions = new HaSessions(lab.r1.host, noLog);
    const ids = (await lab.r1.sessions()).map((s) => s.id);
    // the partner forwarded the session since (as a switchover there and back does): its row differs from ours
    const own = await lab.r1.host.collectSessionChanges(true);
    const [row] = unpackRows(own.rows);
    new DataView(row!.row.buffer, row!.row.byteOffset).setUint32(38, 99, true); // pktsFwd
    const replica = new SyncReplica();
    replica.apply(frameChanges({ ...own, rows: packRows([row!]), rowCount: 1 }).records);
    const removed: string[] = [];
    const sub = lab.r1.events$.subscribe((ev) => { if (ev.type === 'session.removed') removed.push(`${ev.sessionId} ${ev.reason}`); });
    sessions.standby();
    assert.ok(await until(() => removed.length > 0), 'the session ended');
    sub.unsubscribe();
    assert.equal(removed, [`${ids[0]} standby`], 'the session ended here, reason standby');
    assert.is((await lab.r1.sessions()).length, 0, 'the standby keeps no session of its own');
    assert.equal(await sessions.install(replica), { installed: 1, present: 0, refused: 0 }, 'installed, not found present');
    const after = await lab.r1.sessions();
    assert.equal([after.map((s) => s.id), after[0]!.packets.forward], [ids, 99], 'the partner\'s row, under the same id');
  } finally {
    await lab.close();
  }
});

test('rows: exported and installed elsewhere keep their keys; an id present, a cut row, a taken key are refused', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  try {
    const e = echo(lab);
    e.send('x');
    assert.ok(await until(() => e.replies.length === 1));
    const t = lab.r1.host.dataplane.ctx.sessions;
    const packed = collectChanges(t, 1000, true).rows;
    const rows = unpackRows(packed);
    assert.is(rows.length, 1);
    assert.equal(importRows(t, packed, 1000), { installed: 0, present: 1, refused: 0 }, 'same id: left alone');
    const fresh = new SessionTable(16);
    const cut = packRows([{ ...rows[0]!, row: rows[0]!.row.subarray(0, 40) }, { ...rows[0]!, row: Uint8Array.of(9) }]);
    assert.equal(importRows(fresh, cut, 0), { installed: 0, present: 0, refused: 2 }, 'malformed rows refused');
    assert.equal(importRows(fresh, packed.subarray(0, packed.length - 1), 0), { installed: 0, present: 0, refused: 1 }, 'a buffer cut short: its row refused');
    assert.equal(importRows(fresh, packed, 0), { installed: 1, present: 0, refused: 0 });
    assert.equal(Buffer.from(collectChanges(fresh, 0, true).rows).toString('hex'), Buffer.from(packed).toString('hex'), 'the row round-trips byte for byte');
    const other = packRows([{ ...rows[0]!, id: rows[0]!.id.map((b) => b ^ 0xff) }]); // another session id, same keys
    assert.equal(importRows(fresh, other, 0), { installed: 0, present: 0, refused: 1 }, 'its keys belong to another session');
    assert.is(fresh.active, 1);

    // taking over: the send counters go above anything the partner sent (time in ms << 22)
    const keys = lab.r1.host.dataplane.ctx.crypto.keys;
    const now = lab.r1.host.dataplane.ctx.clock();
    const tx = keys.tx(0, now)!;
    const counter = (): number => tx.hi * 2 ** 32 + tx.lo;
    const was = counter();
    keys.raiseCounters(now + 1000);
    assert.is(counter(), Math.floor(now + 1000) * 2 ** 22, 'raised to the takeover time');
    assert.ok(counter() > was);
    keys.raiseCounters(now - 60_000);
    assert.is(counter(), Math.floor(now + 1000) * 2 ** 22, 'never lowered');
  } finally {
    await lab.close();
  }
});

test.run();
