/** Session record builder: end, interim and denied records from control-side facts. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SessionRecordBuilder, type SessionFact, type SessionOpened } from '../../../src/telemetry/record.js';
import { isSvrError } from '../../../src/errors.js';
import { FACT_OPENED, OPENED_SNAT } from '../../../src/dataplane/fact-ring.js';
import { OpenSessions, pathNames, type RowNames } from '../../../src/telemetry/open-sessions.js';

const ID = '0f0e0d0c-0b0a-4908-8706-050403020100';
const T0 = 1_700_000_000_000;

function opened(over: Partial<SessionOpened> = {}): SessionOpened {
  return {
    kind: 'session.opened', atMs: T0, sessionId: ID, role: 'ingress', tenant: 'blue', service: 'web', application: 'http',
    ingressRouter: 'r1', egressRouter: 'r2',
    forward: { src: '198.18.1.10', dst: '198.18.3.20', srcPort: 40000, dstPort: 80, protocol: 6 },
    waypoint: { src: '198.18.0.1', dst: '198.18.0.2', srcPort: 16384, dstPort: 16385, protocol: 6 },
    ingressInterface: { name: 'lan1', index: 1 }, egressInterface: { name: 'wan1', index: 2 }, path: 'r2/wan1-a', ...over,
  };
}

test('a session becomes one end record: tuples both ways, path changes, totals and close reason', () => {
  const b = new SessionRecordBuilder({ router: 'r1' });
  assert.is(b.apply(opened()), undefined);
  b.apply({ kind: 'session.migrated', atMs: T0 + 1000, sessionId: ID, from: 'r2/wan1-a', to: 'r2/wan1-b', reason: 'path-down', waypoint: { src: '198.18.0.5', dst: '198.18.0.6', srcPort: 16386, dstPort: 16387, protocol: 6 } });
  const r = b.apply({ kind: 'session.closed', atMs: T0 + 2500, sessionId: ID, reason: 'fin-rst', packets: [10, 8], bytes: [12_000, 900], tcpRetransmissions: [2, 0] });
  assert.ok(r);
  assert.is(r.kind, 'end');
  assert.is(r.closeReason, 'fin-rst');
  assert.equal(r.forward, { src: '198.18.1.10', dst: '198.18.3.20', srcPort: 40000, dstPort: 80, protocol: 6 });
  assert.equal(r.reverse, { src: '198.18.3.20', dst: '198.18.1.10', srcPort: 80, dstPort: 40000, protocol: 6 }, 'reverse defaults to forward swapped');
  assert.equal(r.paths, ['r2/wan1-a', 'r2/wan1-b']);
  assert.equal(r.pathChanges, [{ atMs: T0 + 1000, from: 'r2/wan1-a', to: 'r2/wan1-b', reason: 'path-down' }]);
  assert.is(r.waypoint?.src, '198.18.0.5', 'the waypoint tuple follows the migration');
  assert.equal(r.packets, [10, 8]);
  assert.equal(r.delta, { packets: [10, 8], bytes: [12_000, 900] });
  assert.equal(r.tcpRetransmissions, [2, 0]);
  assert.is(r.startMs, T0);
  assert.is(r.endMs, T0 + 2500);
  assert.equal(b.counters(), { open: 0, endRecords: 1, interimRecords: 0, deniedRecords: 0, deniedDropped: 0, unknownSession: 0 });
});

test('the application a classifier named during the session is in its end record', () => {
  const b = new SessionRecordBuilder({ router: 'r1' });
  b.apply(opened({ application: '' }));
  const r = b.apply({ kind: 'session.closed', atMs: T0 + 10, sessionId: ID, reason: 'idle', packets: [1, 1], bytes: [60, 60], application: 'www.example.com' });
  assert.is(r?.application, 'www.example.com');
  b.apply(opened({ application: 'http' }));
  assert.is(b.apply({ kind: 'session.closed', atMs: T0 + 10, sessionId: ID, reason: 'idle', packets: [1, 1], bytes: [60, 60], application: '' })?.application, 'http', 'an empty name keeps the one it had');
});

test('interim records every interval for live sessions, deltas since the previous record; none after close', () => {
  const b = new SessionRecordBuilder({ router: 'r1', interimIntervalS: 60 });
  b.apply(opened());
  b.apply(opened({ sessionId: 'short', atMs: T0 + 10 }));
  assert.equal(b.due(T0 + 59_999), [], 'nothing due before the interval');
  b.apply({ kind: 'session.closed', atMs: T0 + 30_000, sessionId: 'short', reason: 'idle', packets: [1, 1], bytes: [60, 60] });
  b.apply({ kind: 'session.counters', atMs: T0 + 59_000, sessionId: ID, packets: [100, 90], bytes: [100_000, 9_000] });
  const first = b.due(T0 + 60_000);
  assert.is(first.length, 1);
  assert.is(first[0]!.kind, 'interim');
  assert.is(first[0]!.seq, 0);
  assert.is(first[0]!.endMs, T0 + 60_000);
  assert.equal(first[0]!.delta, { packets: [100, 90], bytes: [100_000, 9_000] });
  assert.is(first[0]!.closeReason, undefined);
  b.apply({ kind: 'session.counters', atMs: T0 + 110_000, sessionId: ID, packets: [150, 120], bytes: [150_000, 12_000] });
  assert.equal(b.due(T0 + 119_999), [], 'the next one is an interval after the previous record');
  const second = b.due(T0 + 120_000);
  assert.is(second[0]!.seq, 1);
  assert.equal(second[0]!.delta, { packets: [50, 30], bytes: [50_000, 3_000] });
  const end = b.apply({ kind: 'session.closed', atMs: T0 + 130_000, sessionId: ID, reason: 'idle', packets: [151, 121], bytes: [150_100, 12_100] });
  assert.is(end!.seq, 2);
  assert.equal(end!.delta, { packets: [1, 1], bytes: [100, 100] });
  assert.equal(end!.bytes, [150_100, 12_100], 'totals since the start');
  assert.equal(b.due(T0 + 10_000_000), [], 'closed sessions get no interim record');
  assert.is(b.counters().interimRecords, 2);
});

test('interim interval: 60-1800 s, refused otherwise with a coded error', () => {
  for (const bad of [59, 1801, 60.5]) {
    let err: unknown;
    try {
      new SessionRecordBuilder({ router: 'r1', interimIntervalS: bad });
    } catch (e) {
      err = e;
    }
    assert.ok(isSvrError(err, 'SVR_ERR_TELEMETRY_OPTIONS'), `${bad}: ${String(err)}`);
  }
  const b = new SessionRecordBuilder({ router: 'r1', interimIntervalS: 1800 });
  b.apply(opened());
  assert.equal(b.due(T0 + 1_799_999), []);
  b.setInterimInterval(60);
  assert.is(b.due(T0 + 1_800_000).length, 1, 'the due time set at open stays');
  assert.is(b.due(T0 + 1_860_000).length, 1, 'then the new interval');
});

test('a shorter interval: sessions opened after it are due before those opened before it; a session opened again keeps one due time', () => {
  const b = new SessionRecordBuilder({ router: 'r1', interimIntervalS: 1800 });
  b.apply(opened({ sessionId: 'old' }));
  b.setInterimInterval(60);
  b.apply(opened({ sessionId: 'new', atMs: T0 + 1000 }));
  b.apply(opened({ sessionId: 'again', atMs: T0 + 2000 }));
  b.apply(opened({ sessionId: 'again', atMs: T0 + 3000 })); // replaced: due from its second start
  assert.equal(b.due(T0 + 62_000).map((r) => r.sessionId), ['new'], 'not held behind the older session');
  assert.equal(b.due(T0 + 63_000).map((r) => r.sessionId), ['again']);
  assert.equal(b.due(T0 + 123_000).map((r) => r.sessionId), ['new', 'again'], 'each again an interval later');
  assert.equal(b.due(T0 + 1_800_000).map((r) => r.sessionId), ['old', 'new', 'again']);
  assert.is(b.counters().open, 3);
});

test('denied first packets: records while the token bucket has tokens, the rest counted (and what the data path suppressed)', () => {
  const b = new SessionRecordBuilder({ router: 'r1', denied: { perSecond: 10, burst: 5 }, nowMs: T0 });
  const denied = (atMs: number, suppressed = 0): SessionFact => ({
    kind: 'session.denied', atMs, reason: 'access-denied', tenant: 'blue', service: 'secret', suppressed,
    forward: { src: '198.18.1.10', dst: '198.18.3.99', srcPort: 40001, dstPort: 22, protocol: 6 }, ingressInterface: { name: 'lan1', index: 1 },
  });
  const made = [];
  for (let i = 0; i < 20; i++) {
    const r = b.apply(denied(T0));
    if (r) made.push(r);
  }
  assert.is(made.length, 5, 'burst');
  assert.is(made[0]!.closeReason, 'denied');
  assert.is(made[0]!.deniedReason, 'access-denied');
  assert.is(made[0]!.service, 'secret');
  assert.equal(made[0]!.packets, [1, 0]);
  assert.ok(made[0]!.sessionId !== made[1]!.sessionId, 'each denied record has its own id');
  assert.ok(b.apply(denied(T0 + 100, 7)), 'a token after 100 ms at 10/s');
  assert.equal(b.counters().deniedRecords, 6);
  assert.equal(b.counters().deniedDropped, 15 + 7);
});

test('facts about sessions the builder never saw are counted, not recorded', () => {
  const b = new SessionRecordBuilder({ router: 'r1' });
  assert.is(b.apply({ kind: 'session.closed', atMs: T0, sessionId: 'nope', reason: 'idle', packets: [1, 0], bytes: [1, 0] }), undefined);
  b.apply({ kind: 'session.counters', atMs: T0, sessionId: 'nope', packets: [1, 0], bytes: [1, 0] });
  assert.is(b.counters().unknownSession, 2);
});


test('thousands of open sessions: the table grows with sessions open, ids (UUIDs and texts) found after it, freed slots reused, due order kept', () => {
  const b = new SessionRecordBuilder({ router: 'r1', interimIntervalS: 60 });
  const uuid = (i: number): string => `0f0e0d0c-0b0a-4908-8706-${i.toString(16).padStart(12, '0')}`;
  const ids = Array.from({ length: 3000 }, (_, i) => (i % 3 === 0 ? `text-${i}` : uuid(i)));
  ids.forEach((id, i) => b.apply(opened({ sessionId: id, atMs: T0 + i, forward: { src: '198.18.1.10', dst: '198.18.3.20', srcPort: 1024 + i, dstPort: 80, protocol: 17 } })));
  assert.is(b.counters().open, 3000, 'grown past its first 1,024 slots with every session open');
  // every other session ends: found by its id after the growth, its own tuple and totals in its record
  for (let i = 0; i < 3000; i += 2) {
    const r = b.apply({ kind: 'session.closed', atMs: T0 + 5000 + i, sessionId: ids[i]!, reason: 'idle', packets: [i, 1], bytes: [60 * i, 60] });
    assert.is(r?.sessionId, ids[i]);
    assert.is(r?.forward.srcPort, 1024 + i);
    assert.equal(r?.packets, [i, 1]);
    assert.is(r?.startMs, T0 + i);
  }
  assert.is(b.counters().open, 1500);
  // new sessions take the freed slots; the ones still open are due first, in the order they opened
  for (let i = 3000; i < 3500; i++) b.apply(opened({ sessionId: uuid(i), atMs: T0 + 10_000 + i }));
  assert.is(b.counters().open, 2000);
  const due = b.due(T0 + 60_000 + 3000).map((r) => r.sessionId);
  assert.equal(due, ids.filter((_, i) => i % 2 === 1), 'the older sessions, in their order');
  assert.equal(b.due(T0 + 70_000 + 3500).map((r) => r.sessionId), Array.from({ length: 500 }, (_, k) => uuid(3000 + k)));
  assert.is(b.counters().unknownSession, 0);
});

test('room made for open sessions at once (records starting): sessions already open are found and due in order after it, new ones fill it', () => {
  const b = new SessionRecordBuilder({ router: 'r1', interimIntervalS: 60 });
  const uuid = (i: number): string => `0f0e0d0c-0b0a-4908-8706-${i.toString(16).padStart(12, '0')}`;
  for (let i = 0; i < 1500; i++) b.apply(opened({ sessionId: i % 5 === 0 ? `text-${i}` : uuid(i), atMs: T0 + i }));
  b.reserve(5000);
  b.reserve(100); // smaller than the table: nothing changes
  for (let i = 1500; i < 6000; i++) b.apply(opened({ sessionId: uuid(i), atMs: T0 + i, forward: { src: '198.18.1.10', dst: '198.18.3.20', srcPort: i, dstPort: 80, protocol: 17 } }));
  assert.is(b.counters().open, 6000);
  const r = b.apply({ kind: 'session.closed', atMs: T0 + 9000, sessionId: 'text-10', reason: 'idle', packets: [1, 1], bytes: [60, 60] });
  assert.is(r?.startMs, T0 + 10, 'a text id opened before the table was sized');
  assert.is(b.apply({ kind: 'session.closed', atMs: T0 + 9000, sessionId: uuid(5999), reason: 'idle', packets: [1, 1], bytes: [60, 60] })?.forward.srcPort, 5999);
  const due = b.due(T0 + 60_000 + 6000).map((x) => x.startMs - T0);
  assert.equal(due, Array.from({ length: 6000 }, (_, i) => i).filter((i) => i !== 10 && i !== 5999), 'every other session due, in the order they opened');
  assert.is(b.counters().unknownSession, 0);
});

test('rows of thousands of sessions side by side: each session\'s own id, addresses, ports, NAT, start and totals in its record, through growth and freed slots', () => {
  const table = new OpenSessions('r1');
  const names: RowNames = { tenant: 'blue', service: 'web', application: '', path: pathNames('p1', 'r2', '198.18.12.1', '198.18.12.2'), ingressInterface: { name: 'lan0', index: 0 }, egressInterface: { name: 'wan0', index: 1 } };
  const row = new Uint32Array(32);
  const open = (i: number): void => {
    row.fill(0);
    const nat = i % 3 === 0;
    row[0] = (FACT_OPENED | (1 << 8) | (4 << 16) | ((nat ? OPENED_SNAT : 0) << 20) | (17 << 24)) >>> 0; // ingress, IPv4, UDP
    row[1] = nat ? ((20000 + i) << 16) | 7 : 0;
    row.set([0x5e550000 + i, i, ~i >>> 0, i * 7], 4);
    row[14] = ((1024 + (i % 60000)) << 16) | 7;
    row[15] = ((16000 + (i % 1000)) << 16) | 16001;
    row[16] = (0xc6120000 | i) >>> 0; // 198.18.x.y: the session's own source
    row[20] = 0xc6120314; // 198.18.3.20
    if (nat) row[24] = (0x0a000000 | i) >>> 0;
    table.openRow(row, 0, T0 + i, T0 + i + 60_000, names);
  };
  const ip = (w: number): string => [w >>> 24, (w >>> 16) & 255, (w >>> 8) & 255, w & 255].join('.');
  const end = (i: number): void => {
    const s = table.findWords(new Uint32Array([0x5e550000 + i, i, ~i >>> 0, i * 7]), 0);
    assert.ok(s >= 0, `session ${i} found`);
    table.setTotals(s, i, 1, 60 * i, 60);
    const r = table.record(s, 'end', T0 + 100_000, 'idle');
    table.drop(s);
    const id = [0x5e550000 + i, i, ~i >>> 0, i * 7].map((w) => (w >>> 0).toString(16).padStart(8, '0')).join('');
    assert.is(r.sessionId, `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`);
    assert.equal(r.forward, { src: ip((0xc6120000 | i) >>> 0), dst: '198.18.3.20', srcPort: 1024 + (i % 60000), dstPort: 7, protocol: 17 });
    assert.equal(r.waypoint, { src: '198.18.12.1', dst: '198.18.12.2', srcPort: 16000 + (i % 1000), dstPort: 16001, protocol: 17 });
    if (i % 3 === 0) assert.equal(r.nat, { src: ip((0x0a000000 | i) >>> 0), dst: '198.18.3.20', srcPort: 20000 + i, dstPort: 7, protocol: 17 });
    else assert.is(r.nat, undefined);
    assert.equal([r.startMs, r.packets, r.bytes, r.delta.bytes], [T0 + i, [i, 1], [60 * i, 60], [60 * i, 60]]);
  };
  for (let i = 0; i < 5000; i++) open(i);
  assert.is(table.size, 5000, 'grown from 1,024 slots with every session open');
  for (let i = 0; i < 5000; i += 2) end(i);
  for (let i = 5000; i < 6000; i++) open(i); // into freed slots, next to sessions still open
  for (let i = 1; i < 5000; i += 2) end(i);
  for (let i = 5999; i >= 5000; i--) end(i);
  assert.is(table.size, 0);
  assert.is(table.first(), -1, 'the due order empty');
});

test.run();
