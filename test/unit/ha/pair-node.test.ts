/**
 * Two nodes of a router pair over a real sync link on loopback: election, state sync with a measured lag,
 * planned switchover, failover when the active stops, a node that comes back rejoins as standby.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket } from 'node:dgram';
import { PairNode } from '../../../src/ha/pair-node.js';
import { WINDOW } from '../../../src/ha/sync-link.js';
import { OP_UPSERT, SYNC_MAX_DATAGRAM, type SyncRecord } from '../../../src/ha/sync-wire.js';
import type { Redundancy } from '../../../src/model/config.js';
import type { HaRolePublished } from '../../../src/machines/ha-node.js';
import { sleep, waitFor } from '../../support/config.js';

const freePort = (address: string): Promise<number> => new Promise((resolve) => {
  const s = createSocket('udp4');
  s.bind(0, address, () => { const p = s.address().port; s.close(() => resolve(p)); });
});

interface Pair {
  a: PairNode;
  b: () => PairNode;
  roles: Record<string, HaRolePublished[]>;
  restartB: () => Promise<PairNode>;
  stop: () => void;
}

async function pair(sessions: (full: boolean) => SyncRecord[]): Promise<Pair> {
  const [pa, pb] = [await freePort('127.0.0.1'), await freePort('127.0.0.2')];
  const redundancy: Redundancy = {
    nodes: [{ name: 'r1a', priority: 200, syncAddress: '127.0.0.1' }, { name: 'r1b', priority: 100, syncAddress: '127.0.0.2' }],
    preempt: false, heartbeatInterval: 100, heartbeatMisses: 3, syncPort: 0, sharedKey: Buffer.alloc(32, 5).toString('base64'), sharedAddresses: [],
  };
  const roles: Record<string, HaRolePublished[]> = { r1a: [], r1b: [] };
  const make = (node: 'r1a' | 'r1b'): PairNode => {
    const n: PairNode = new PairNode({
      redundancy, node, linksUp: () => 2,
      // a switchover's new active: the host's side is made a moment later (node/ha.ts: devices, sessions, addresses)
      onRole: (p) => {
        roles[node]!.push(p);
        if (p.role === 'taking-over') setTimeout(() => n.ready(), 50);
      },
      collect: (queue, full) => { for (const r of sessions(full)) queue(r); },
      ports: node === 'r1a' ? { local: pa, partner: pb } : { local: pb, partner: pa },
    });
    return n;
  };
  const a = make('r1a');
  await a.start();
  let b = make('r1b');
  return {
    a, roles, b: () => b,
    restartB: async () => { b.stop(); b = make('r1b'); await b.start(); return b; },
    stop: () => { a.stop(); b.stop(); },
  };
}

test('a pair: the first node alone becomes active; the second joins as standby and receives the state; switchover; failover; rejoin', async () => {
  // the active's state: every record so far, and the ones changed since the last flush
  const all: SyncRecord[] = [];
  let changed: SyncRecord[] = [];
  let fullRequests = 0;
  const p = await pair((full) => {
    const out = full ? all.slice() : changed;
    if (full) fullRequests++;
    changed = [];
    return out;
  });
  try {
    await waitFor('r1a active alone', () => p.a.role === 'active');
    assert.is(p.roles['r1a']!.at(-1)!.reason, 'no-partner');
    // r1b comes later, with a lower priority: standby (no preemption either way)
    const b = await p.restartB();
    await waitFor('r1b standby', () => b.role === 'standby');
    assert.is(p.a.role, 'active');
    // a steady pair: heartbeats keep coming, the role machines take none (each repeats one that changed nothing)
    // (each takes its partner's first heartbeats, the one that moved it and the same once more, which moved nothing)
    await waitFor('both past their partner\'s first heartbeats', () => p.a.heartbeatsPassed >= 2 && b.heartbeatsPassed >= 2 && p.a.status().partnerRole === 'standby');
    const passed = [p.a.heartbeatsPassed, b.heartbeatsPassed];
    const received = [p.a.status().counters.heartbeatsReceived, b.status().counters.heartbeatsReceived];
    await waitFor('5 more heartbeats each way', () => p.a.status().counters.heartbeatsReceived >= received[0]! + 5 && b.status().counters.heartbeatsReceived >= received[1]! + 5);
    assert.equal([p.a.heartbeatsPassed, b.heartbeatsPassed], passed, 'no heartbeat went to a role machine');

    // the active's session state goes over in batches with its heartbeats
    for (let i = 0; i < 1500; i++) changed.push({ kind: 1, op: OP_UPSERT, key: Buffer.from(i.toString(16).padStart(32, '0'), 'hex'), value: Buffer.alloc(60, i & 0xff) });
    all.push(...changed);
    await waitFor('1500 records on the standby', () => b.replica.size === 1500);
    const more = Array.from({ length: 500 }, (_, i): SyncRecord => ({ kind: 2, op: OP_UPSERT, key: Buffer.from([i >> 8, i & 0xff]), value: Buffer.alloc(30) }));
    changed.push(...more);
    all.push(...more);
    await waitFor('2000 records on the standby', () => b.replica.size === 2000);
    await waitFor('the lag measured', () => p.a.status().lag.lastMs !== undefined);
    const st = p.a.status();
    assert.ok(fullRequests >= 1, 'the full state for the partner heard the first time');
    console.log(`  sync: 2000 records in ${st.counters.batchesSent} batches, lag ${st.lag.lastMs!.toFixed(1)} ms (max ${st.lag.maxMs.toFixed(1)})`);
    assert.ok(st.lag.maxMs < 2000, `lag ${st.lag.maxMs} ms`);
    assert.equal(st.counters.dropped, { malformed: 0, 'bad-auth': 0, 'not-partner': 0, 'out-of-order': 0 });

    // planned switchover: r1b active, r1a standby, never both forwarding after it settles
    assert.ok(p.a.switchover());
    assert.not.ok(b.switchover(), 'only the active hands over');
    await waitFor('r1b taking over', () => b.role === 'taking-over');
    assert.is(p.a.role, 'handing-over', 'r1a forwards while r1b makes its side');
    await waitFor('r1b active', () => b.role === 'active');
    assert.is(p.a.role, 'handing-over', 'r1a drains first (one heartbeat interval)');
    const took = await waitFor('switchover', () => p.a.role === 'standby');
    console.log(`  switchover settled in ${took.toFixed(0)} ms`);
    assert.equal(p.roles['r1b']!.slice(-2).map((x) => `${x.role}:${x.reason}`), ['taking-over:switchover', 'active:switchover']);
    const fullBefore = fullRequests;
    await waitFor('the full state for the old active, standby now (it forwarded: it has nothing)', () => fullRequests > fullBefore, 2000);

    // failover: the active (r1b) stops; r1a takes over after 3 missed heartbeats
    b.stop();
    const failover = await waitFor('failover', () => p.a.role === 'active');
    console.log(`  failover after the active stopped: ${failover.toFixed(0)} ms (dead time 300 ms)`);
    assert.is(p.roles['r1a']!.at(-1)!.reason, 'partner-lost');

    // r1b back: it rejoins as standby and gets the full state again; r1a keeps the role
    const b2 = await p.restartB();
    await waitFor('r1b rejoins as standby', () => b2.role === 'standby');
    await waitFor('the full state resynced to the rejoined node', () => b2.replica.size === 2000);
    await sleep(300);
    assert.is(p.a.role, 'active');
  } finally {
    p.stop();
  }
});

test('a partner that does not acknowledge: once a window of batches waits, the owner is not asked for more', async () => {
  const [pa, pb] = [await freePort('127.0.0.1'), await freePort('127.0.0.2')];
  const redundancy: Redundancy = {
    nodes: [{ name: 'r1a', priority: 200, syncAddress: '127.0.0.1' }, { name: 'r1b', priority: 100, syncAddress: '127.0.0.2' }],
    preempt: false, heartbeatInterval: 50, heartbeatMisses: 3, syncPort: 0, sharedKey: Buffer.alloc(32, 5).toString('base64'), sharedAddresses: [],
  };
  let asked = 0;
  const a = new PairNode({
    redundancy, node: 'r1a', linksUp: () => 2, ports: { local: pa, partner: pb }, // nobody on pb: nothing is acknowledged
    maxDatagram: SYNC_MAX_DATAGRAM, // one frame a batch: WINDOW batches in flight
    collect: (queue) => {
      asked++;
      for (let i = 0; i < 200; i++) queue({ kind: 1, op: OP_UPSERT, key: Buffer.from([asked & 0xff, i]), value: Buffer.alloc(80) }); // about 14 batches
    },
  });
  await a.start();
  try {
    await waitFor('r1a active', () => a.role === 'active', 3000);
    await waitFor('the backlog', () => a.link.backlog > WINDOW, 5000);
    const stalled = asked;
    await sleep(500); // ten more heartbeats
    assert.is(asked, stalled, `not asked again while ${a.link.backlog} batches wait`);
    assert.ok(stalled <= Math.ceil((2 * WINDOW) / 14) + 2, `asked ${stalled} times: until the window (${WINDOW} in flight) and ${WINDOW} more were queued`);
    assert.ok(a.status().lag.pending >= WINDOW * 14, 'the records queued are counted as pending');
  } finally {
    a.stop();
  }
});

test('collection follows the link: an owner with more is asked again within milliseconds, not at the next heartbeat', async () => {
  const [pa, pb] = [await freePort('127.0.0.1'), await freePort('127.0.0.2')];
  const redundancy: Redundancy = {
    nodes: [{ name: 'r1a', priority: 200, syncAddress: '127.0.0.1' }, { name: 'r1b', priority: 100, syncAddress: '127.0.0.2' }],
    preempt: false, heartbeatInterval: 1000, heartbeatMisses: 5, syncPort: 0, sharedKey: Buffer.alloc(32, 5).toString('base64'), sharedAddresses: [],
  };
  const asks: number[] = [];
  let standbyUp = false;
  const a: PairNode = new PairNode({
    redundancy, node: 'r1a', linksUp: () => 2, ports: { local: pa, partner: pb },
    collect: (queue) => {
      if (!standbyUp) return;
      asks.push(performance.now());
      if (asks.length > 20) return;
      for (let i = 0; i < 10; i++) queue({ kind: 1, op: OP_UPSERT, key: Buffer.from([asks.length, i]), value: Buffer.alloc(100) });
      a.more(2); // more to come: ask again in 2 ms
    },
  });
  const b = new PairNode({ redundancy, node: 'r1b', linksUp: () => 2, ports: { local: pb, partner: pa } });
  try {
    await a.start();
    await waitFor('r1a active', () => a.role === 'active', 8000);
    await b.start();
    await waitFor('r1b standby', () => b.role === 'standby', 5000);
    standbyUp = true;
    await waitFor('the first collection (a heartbeat)', () => asks.length > 0, 3000);
    const took = await waitFor('200 records on the standby', () => b.replica.size === 200, 900);
    assert.ok(asks.length >= 20, `asked ${asks.length} times`);
    const span = asks[19]! - asks[0]!;
    console.log(`  20 collections in ${span.toFixed(1)} ms (heartbeat 1000 ms), the 200 records on the standby ${took.toFixed(1)} ms after the first`);
    assert.ok(span < 900, `20 collections within one heartbeat: ${span.toFixed(1)} ms`);
  } finally {
    a.stop();
    b.stop();
  }
});

test('link state and the released flag: fewer links on the active hand the role over at once; the partner hears each release', async () => {
  const [pa, pb] = [await freePort('127.0.0.1'), await freePort('127.0.0.2')];
  const redundancy: Redundancy = {
    // a heartbeat every second: what happens sooner is the link change's own doing, not a heartbeat's
    nodes: [{ name: 'r1a', priority: 200, syncAddress: '127.0.0.1' }, { name: 'r1b', priority: 100, syncAddress: '127.0.0.2' }],
    preempt: false, heartbeatInterval: 1000, heartbeatMisses: 5, syncPort: 0, sharedKey: Buffer.alloc(32, 5).toString('base64'), sharedAddresses: [],
  };
  let linksA = 2;
  let heldA = true;
  const a: PairNode = new PairNode({ redundancy, node: 'r1a', linksUp: () => linksA, released: () => !heldA, ports: { local: pa, partner: pb } });
  const b: PairNode = new PairNode({
    redundancy, node: 'r1b', linksUp: () => 2, ports: { local: pb, partner: pa },
    onRole: (p) => { if (p.role === 'taking-over') setTimeout(() => b.ready(), 20); },
  });
  try {
    await a.start();
    await waitFor('r1a active', () => a.role === 'active', 8000);
    await b.start();
    await waitFor('r1b standby, r1a heard to hold the addresses', () => b.role === 'standby' && b.status().partnerReleased === false, 5000);
    linksA = 1;
    a.linksChanged();
    const took = await waitFor('r1b active', () => b.role === 'active' && a.role !== 'active', 900);
    console.log(`  r1a's link down -> r1b active in ${took.toFixed(1)} ms (heartbeat 1000 ms)`);
    assert.is(a.status().reason, 'partner-has-more-links');
    assert.is(b.status().linksUp, 2);
    assert.is(a.status().linksUp, 1);
    linksA = 2;
    a.linksChanged();
    await sleep(50);
    assert.is(a.status().linksUp, 2);
    assert.is(b.role, 'active', 'the link back: no flap');

    // the released flag: a wait that runs out is counted; a release told at once ends the wait
    assert.is(await b.waitPartnerReleased(100), false);
    const waiting = b.waitPartnerReleased(900);
    await sleep(20);
    heldA = false;
    a.beatNow();
    assert.is(await waiting, true);
    const w = b.status().releaseWaits;
    assert.equal([w.waited, w.timedOut], [2, 1]);
    assert.ok(w.lastMs! < 300, `the release heard ${w.lastMs} ms into the wait`);
  } finally {
    a.stop();
    b.stop();
  }
});

test.run();
