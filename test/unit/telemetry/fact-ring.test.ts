/**
 * Session facts through the data path's fact ring (dataplane/fact-ring.ts, fact-writer.ts) to the records
 * thread's reader (telemetry/fact-rows.ts): the facts read from two routers' rings say what their events say
 * (opened with tuples, NAT, waypoints, names, interfaces; closed; denied; counters); a small ring wraps
 * around; a batch's rows reach the reader together at its end; a full ring counts what it drops and the data path goes on; a data path started again on the same
 * ring names everything again; a reader of a new epoch (records thread started again) skips and counts the
 * rows written for the one before.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FactRing } from '../../../src/dataplane/fact-ring.js';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import type { RouterEvent } from '../../../src/control/events.js';
import { CLOSE, DENY, FactReader, type RowSink } from '../../../src/telemetry/fact-rows.js';
import { reversed, type SessionFact, type SessionOpened } from '../../../src/telemetry/record.js';
import { OpenSessions } from '../../../src/telemetry/open-sessions.js';
import { uuidString } from '../../../src/dataplane/random-pool.js';
import { exampleConfig, until } from '../../support/config.js';
import { dataPath } from './records.js';
import { twoPathsConfig } from '../../support/two-paths.js';
import { createWorkerLab } from '../../support/worker-lab.js';
import { parseConfig } from '../../../src/model/validate.js';
import { compileRouter } from '../../../src/model/compile.js';
import { Dataplane } from '../../../src/dataplane/dataplane.js';
import type { PacketPort } from '../../../src/dataplane/port.js';
import { buildUdp } from '../../../src/packet/build.js';

const CLIENT = '198.18.1.10';
const SERVER = '198.18.3.20';

/** What the facts of a router event are (the mapping control made before the ring), to compare with the ring's. */
function expected(e: RouterEvent, router: string): SessionFact[] {
  switch (e.type) {
    case 'session.created': {
      const peer = e.peer ?? '';
      const f: SessionFact = {
        kind: 'session.opened', atMs: e.atMs, sessionId: e.sessionId, role: e.role, tenant: e.tenant, service: e.service, application: e.application,
        ingressRouter: e.role === 'egress' ? peer : router, egressRouter: e.role === 'ingress' ? peer : router,
        forward: e.forward, ingressInterface: e.ingressInterface, egressInterface: e.egressInterface,
      };
      if (e.path !== undefined) f.path = e.path;
      if (e.waypoint !== undefined) f.waypoint = e.waypoint;
      if (e.nat !== undefined) {
        f.nat = e.nat;
        f.reverse = reversed(e.nat);
      }
      return [f];
    }
    case 'session.removed':
      return [{ kind: 'session.closed', atMs: e.atMs, sessionId: e.sessionId, reason: CLOSE[e.reason], packets: e.packets, bytes: e.bytes, ...(e.application !== '' ? { application: e.application } : {}) }];
    case 'session.denied':
      return [{
        kind: 'session.denied', atMs: e.atMs, reason: DENY[e.reason], forward: e.forward, ingressInterface: e.ingressInterface,
        ...(e.tenant !== undefined ? { tenant: e.tenant } : {}), ...(e.service !== undefined ? { service: e.service } : {}),
      }];
    case 'session.migrated':
      return [{ kind: 'session.migrated', atMs: e.atMs, sessionId: e.sessionId, from: e.from, to: e.to, reason: e.reason, waypoint: e.waypoint }];
    case 'session.counters':
      // totals go without their time (the builder keeps the latest)
      return e.sessions.map((s) => ({ kind: 'session.counters' as const, atMs: 0, sessionId: s.sessionId, packets: s.packets, bytes: s.bytes }));
    default:
      return [];
  }
}

test('a session that moves: both routers\' rings say from, to, reason and the new waypoint 5-tuple as their events do', async () => {
  const lab = createMemoryLab({ config: twoPathsConfig('failover'), clients: [CLIENT], servers: [SERVER], paths: 2 });
  try {
    const events: Record<string, RouterEvent[]> = { r1: [], r2: [] };
    lab.r1.events$.subscribe((e) => events['r1']!.push(e));
    lab.r2.events$.subscribe((e) => events['r2']!.push(e));
    const readers = { r1: new FactReader(new FactRing(lab.r1.factRings()[0]!)), r2: new FactReader(new FactRing(lab.r2.factRings()[0]!)) };
    readers.r1.start();
    readers.r2.start();
    let got = 0;
    lab.servers[0]!.udpBind(5000, (d, from) => lab.servers[0]!.udpSend(5000, from.address, from.port, d));
    lab.clients[0]!.udpBind(42000, () => got++);
    lab.clients[0]!.udpSend(42000, SERVER, 5000, Buffer.from('one'));
    assert.ok(await until(() => got === 1));
    lab.r1.setPathUp('wan0->r2/wan0', false);
    lab.clients[0]!.udpSend(42000, SERVER, 5000, Buffer.from('two'));
    assert.ok(await until(() => got === 2));
    for (const r of ['r1', 'r2'] as const) {
      const facts = readAll(readers[r], r);
      const moved = facts.filter((f) => f.kind === 'session.migrated');
      assert.is(moved.length, 1, r);
      assert.equal(facts, events[r]!.flatMap((e) => expected(e, r)), r);
    }
  } finally {
    await lab.close();
  }
});

/** The reader's calls as the facts they stand for (an opened row as its session's first record, from the builder's table, as its session.opened fact). */
function factsTo(out: SessionFact[], router = 'r1'): RowSink {
  const table = new OpenSessions(router);
  return {
    openRow: (words, w, atMs, names) => {
      const s = table.openRow(words, w, atMs, atMs, names);
      const r = table.record(s, 'interim', atMs);
      table.drop(s);
      const f: SessionOpened = {
        kind: 'session.opened', atMs: r.startMs, sessionId: r.sessionId, role: r.role, tenant: r.tenant, service: r.service, application: r.application,
        ingressRouter: r.ingressRouter, egressRouter: r.egressRouter, forward: r.forward, ingressInterface: r.ingressInterface!, egressInterface: r.egressInterface!,
      };
      if (r.paths[0] !== undefined) f.path = r.paths[0];
      if (r.waypoint !== undefined) f.waypoint = r.waypoint;
      if (r.nat !== undefined) {
        f.nat = r.nat;
        f.reverse = r.reverse;
      }
      assert.equal(r.reverse, reversed(r.nat ?? r.forward), 'the reply 5-tuple');
      out.push(f);
    },
    totals: (words, id, pf, pr, bf, br) => void out.push({ kind: 'session.counters', atMs: 0, sessionId: uuidString(words, id), packets: [pf, pr], bytes: [bf, br] }),
    end: (words, id, atMs, reason, pf, pr, bf, br, application) =>
      void out.push({ kind: 'session.closed', atMs, sessionId: uuidString(words, id), reason, packets: [pf, pr], bytes: [bf, br], ...(application !== undefined ? { application } : {}) }),
    apply: (f) => void out.push(f),
  };
}

const readAll = (reader: FactReader, router = 'r1'): SessionFact[] => {
  const out: SessionFact[] = [];
  reader.read(factsTo(out, router), Infinity);
  return out;
};

test('the facts two routers write into their rings are the facts of their events (opened, closed, denied, counters)', async () => {
  let now = Date.parse('2025-01-01T00:00:00Z');
  const lab = createMemoryLab({
    config: await exampleConfig(), clients: [CLIENT, '198.18.9.10'], servers: [SERVER], router: { clock: () => now, sweepIntervalMs: 0, sessionCountersMs: 1000 },
  });
  try {
    lab.servers[0]!.udpBind(7, (d, from) => lab.servers[0]!.udpSend(7, from.address, from.port, d));
    const events: Record<string, RouterEvent[]> = { r1: [], r2: [] };
    lab.r1.events$.subscribe((e) => events['r1']!.push(e));
    lab.r2.events$.subscribe((e) => events['r2']!.push(e));
    const readers = { r1: new FactReader(new FactRing(lab.r1.factRings()[0]!)), r2: new FactReader(new FactRing(lab.r2.factRings()[0]!)) };
    readers.r1.start();
    readers.r2.start();
    let got = 0;
    for (let i = 0; i < 3; i++) {
      lab.clients[0]!.udpBind(41000 + i, () => got++);
      lab.clients[0]!.udpSend(41000 + i, SERVER, 7, Buffer.from('hello'));
    }
    lab.clients[1]!.udpSend(41009, SERVER, 7, Buffer.from('guest')); // tenant guest: access denied
    assert.ok(await until(() => got === 3));
    now += 100;
    lab.r1.sweep(); // starts the counters' cursor
    lab.r2.sweep();
    now += 1500;
    lab.r1.sweep(); // the counters of live sessions
    lab.r2.sweep();
    now += 200_000;
    lab.r1.sweep(); // all idle
    lab.r2.sweep();
    for (const r of ['r1', 'r2'] as const) {
      const want = events[r]!.flatMap((e) => expected(e, r));
      const kinds = new Set(want.map((f) => f.kind));
      assert.ok(kinds.has('session.opened') && kinds.has('session.closed') && kinds.has('session.counters'), `${r}: ${[...kinds].join()}`);
      if (r === 'r1') assert.ok(kinds.has('session.denied'));
      assert.equal(readAll(readers[r], r), want, r);
      assert.is(readers[r].ring.lost, 0);
    }
  } finally {
    await lab.close();
  }
});

test('with 2 data-path workers each writes its own ring: every session of the router once, opened and closed', async () => {
  const config = parseConfig(`
authority:
  name: w
  secret: 5f2c8e1a9b3d4f6071829a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f
  tenants: [{ name: t, members: [198.18.1.0/24] }]
  services: [{ name: echo, addresses: [198.18.3.0/24], transport: [{ protocol: udp, ports: [7] }], access-policy: [{ source: t }] }]
  routers:
    - { name: r1, interfaces: [{ name: lan0, kind: lan }, { name: wan0, kind: wan, waypoint: 198.18.12.1, neighborhoods: [{ name: n }] }], service-routes: [{ name: e, service: echo, peer: r2 }] }
    - { name: r2, interfaces: [{ name: lan0, kind: lan }, { name: wan0, kind: wan, waypoint: 198.18.12.2, neighborhoods: [{ name: n }] }], service-routes: [{ name: e, service: echo, next-hop: { interface: lan0 } }] }
`, 'w.yaml');
  const lab = await createWorkerLab(config, 2);
  const rings = lab.r1.factRings();
  assert.is(rings.length, 2);
  const readers = rings.map((b) => new FactReader(new FactRing(b)));
  for (const r of readers) r.start();
  const created: string[] = [];
  lab.r1.events$.subscribe((e) => { if (e.type === 'session.created') created.push(e.sessionId); });
  try {
    let got = 0;
    lab.server.udpBind(7, (d, from) => lab.server.udpSend(7, from.address, from.port, d));
    for (let p = 0; p < 12; p++) {
      lab.client.udpBind(43000 + p, () => got++);
      lab.client.udpSend(43000 + p, SERVER, 7, Buffer.from('w'));
    }
    assert.ok(await until(() => got === 12, 5000));
  } finally {
    await lab.close();
  }
  const per = readers.map((r) => readAll(r));
  assert.ok(per.every((f) => f.length > 0), `facts from both workers: ${per.map((f) => f.length).join(', ')}`);
  const all = per.flat();
  const opened = all.filter((f) => f.kind === 'session.opened').map((f) => f.sessionId).sort();
  assert.equal(opened, [...created].sort());
  assert.equal(all.filter((f) => f.kind === 'session.closed').map((f) => f.sessionId).sort(), opened, 'each closed (shutdown)');
  assert.ok(all.every((f) => f.kind !== 'session.opened' || (f.tenant === 't' && f.service === 'echo' && f.path !== undefined && f.waypoint !== undefined)));
});

const kinds = (facts: SessionFact[]): string => facts.map((f) => (f.kind === 'session.opened' ? 'o' : f.kind === 'session.closed' ? 'c' : '?')).join('');

test('a small ring wraps around: every fact arrives while the reader keeps up; a full ring counts what it drops and the data path goes on', async () => {
  const buffer = FactRing.buffer(8);
  const reader = new FactReader(new FactRing(buffer));
  const d = await dataPath(buffer);
  d.open(5); // nothing wanted yet: no rows
  assert.is(reader.ring.available(), 0);
  d.expire();
  reader.start();
  const seen: SessionFact[] = [];
  d.open(1); // a GEN row and five names (tenant, service, path, two interfaces) first: 7 rows
  assert.is(reader.ring.available(), 7);
  reader.read(factsTo(seen));
  for (let round = 0; round < 20; round++) {
    d.open(3); // one row per fact from now on
    reader.read(factsTo(seen));
    d.expire();
    reader.read(factsTo(seen));
  }
  assert.is(kinds(seen), `o${'ooo'}c${'ccc'}${'oooccc'.repeat(19)}`, 'every fact, in order, across the wraps of an 8-row ring');
  assert.ok(seen.every((f) => f.kind !== 'session.opened' || (f.tenant === 'engineering' && f.service === 'echo' && f.path === 'wan0->r2/wan0')), 'names stay known across wraps');
  assert.is(reader.ring.lost, 0);
  // nobody reads: the ring fills, the rest are counted, forwarding goes on
  d.open(12);
  assert.is(d.dp.sessions.active, 12, 'every session opened');
  assert.is(reader.ring.available(), 8);
  assert.is(reader.ring.lost, 4);
  const after = readAll(reader);
  assert.is(kinds(after), 'oooooooo');
  d.expire();
  assert.is(kinds(readAll(reader)), 'cccccccc');
  assert.is(reader.ring.lost, 8, 'four opened and four closed facts dropped in all');
});

test('a batch\'s fact rows reach the reader together at its end: none while its packets go out, all of them after', async () => {
  const buffer = FactRing.buffer(64);
  const reader = new FactReader(new FactRing(buffer));
  reader.start();
  const tables = compileRouter(await exampleConfig(), 'r1', 1);
  const atSend: number[] = [];
  const port = (name: string): PacketPort => ({ name, start: () => {}, transmit: () => void atSend.push(reader.ring.available()), close: () => {} });
  const dp = new Dataplane({ tables, ports: tables.interfaces.map((i) => port(i.name)), shared: { facts: buffer } });
  const packets = [0, 1, 2, 3].map((k) => buildUdp({ src: Uint8Array.of(198, 18, 1, 10), dst: Uint8Array.of(198, 18, 3, 20), srcPort: 2000 + k, dstPort: 7, payload: new Uint8Array(8) }));
  const slab = new Uint8Array(packets.reduce((n, p) => n + p.length, 0));
  const offsets = new Uint32Array(4);
  const lengths = new Uint32Array(4);
  packets.reduce((o, p, k) => (slab.set(p, o), offsets[k] = o, lengths[k] = p.length, o + p.length), 0);
  dp.receive(tables.interfaceIndex('lan0'), slab, offsets, lengths, 4);
  assert.is(dp.sessions.active, 4);
  assert.ok(atSend.length > 0, 'the batch was sent');
  assert.equal(atSend, atSend.map(() => 0), 'no row published while the batch runs');
  const seen: SessionFact[] = [];
  reader.read(factsTo(seen));
  assert.is(kinds(seen), 'oooo', 'the four opened facts at the batch\'s end');
});

test('a data path started again on the same ring names everything again; a new reader epoch skips and counts the old rows', async () => {
  const buffer = FactRing.buffer(64);
  const reader = new FactReader(new FactRing(buffer));
  reader.start();
  const first = await dataPath(buffer);
  first.open(2);
  assert.is(kinds(readAll(reader)), 'oo');
  // the worker is replaced (a crash): a new data path writes the same ring, from where the old one stopped
  const second = await dataPath(buffer, first.tables);
  second.open(2);
  const facts = readAll(reader);
  assert.is(kinds(facts), 'oo');
  assert.ok(facts.every((f) => f.kind === 'session.opened' && f.tenant === 'engineering' && f.ingressInterface?.name === 'lan0'), JSON.stringify(facts[0]));
  // the records thread is replaced: rows written for the old one are skipped (their names went with it), counted
  second.open(3);
  const again = new FactReader(new FactRing(buffer));
  again.start();
  second.open(1);
  const read = readAll(again);
  assert.is(kinds(read), 'o');
  assert.is(again.skipped, 3);
  assert.ok(read[0]!.kind === 'session.opened' && read[0]!.service === 'echo');
  // records off: the data path writes nothing
  again.stop();
  second.open(4);
  assert.is(again.ring.available(), 0);
});


test('a ring\'s pages are written once, before its first epoch: rows written since are never overwritten (a records thread started again)', () => {
  const ring = new FactRing(FactRing.buffer(2048));
  ring.touch();
  ring.start();
  ring.words[ring.nextRow(0)] = 0xabc;
  ring.publish(1);
  ring.touch();
  assert.is(ring.words[ring.row(0)], 0xabc);
  assert.is(ring.available(), 1);
});

test.run();
