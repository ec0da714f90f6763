/** The sync link: wire format, authentication, replay/reorder and stranger drops over real UDP on loopback. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHmac } from 'node:crypto';
import { HB, KEY, OTHER_KEY, acceptsOnly, bind, record, send, settle } from './sync-support.js';
import { ACK_BYTES, ACK_DELAY_MS, LAG_BUCKETS_MS, SyncLink, WINDOW, WINDOW_BYTES, lagPercentile, windowFor } from '../../../src/ha/sync-link.js';
import { MSG_ACK, MSG_HEARTBEAT, MSG_STATE, OP_DELETE, OP_PURGE, OP_UPSERT, SYNC_DATAGRAM, decodeSync, encodeAck, encodeHeartbeat, encodeState, frameRecords, recordsOf, type SyncRecord } from '../../../src/ha/sync-wire.js';


test('heartbeats and state batches read back as written; a changed byte or another key fails authentication', () => {
  const hb = encodeHeartbeat(KEY, { node: 'r1b', epoch: 7, seq: 3 }, HB, 41);
  const m = decodeSync(KEY, hb);
  assert.ok(typeof m !== 'string' && m.type === MSG_HEARTBEAT);
  if (typeof m === 'string' || m.type !== MSG_HEARTBEAT) return;
  assert.equal(m.heartbeat, HB);
  const held = decodeSync(KEY, encodeHeartbeat(KEY, { node: 'r1b', epoch: 7, seq: 4 }, { ...HB, wantActive: false, released: false, tookOver: false }, 41));
  assert.ok(typeof held !== 'string' && held.type === MSG_HEARTBEAT && held.heartbeat.released === false && !held.heartbeat.wantActive && held.heartbeat.tookOver === false, 'the flags apart');
  assert.equal([m.node, m.epoch, m.seq, m.ackedBatch], ['r1b', 7, 3, 41]);
  const records = [record(1), { kind: 2, op: OP_DELETE, key: Buffer.from([1, 2, 3]), value: new Uint8Array(0) } as SyncRecord];
  const st = decodeSync(KEY, encodeState(KEY, { node: 'r1a', epoch: 1, seq: 9 }, 5, frameRecords(records), 2));
  assert.ok(typeof st !== 'string' && st.type === MSG_STATE);
  if (typeof st === 'string' || st.type !== MSG_STATE) return;
  assert.is(st.batch, 5);
  assert.is(st.count, 2);
  assert.equal(recordsOf(st.body).map((r) => [r.kind, r.op, Buffer.from(r.key).toString('hex'), r.value.length]), [[1, OP_UPSERT, '01'.repeat(16), 40], [2, OP_DELETE, '010203', 0]]);
  // the tag is HMAC-SHA256 of the bytes before it (the addon's or node's: nodes of two builds talk to each other)
  assert.equal(hb.subarray(hb.length - 32), createHmac('sha256', KEY).update(hb.subarray(0, hb.length - 32)).digest());
  assert.is(decodeSync(OTHER_KEY, hb), 'bad-auth');
  const flipped = Buffer.from(hb);
  flipped[20] ^= 1;
  assert.is(decodeSync(KEY, flipped), 'bad-auth');
  assert.is(decodeSync(KEY, hb.subarray(0, 20)), 'malformed');
  assert.is(decodeSync(KEY, Buffer.alloc(60)), 'malformed');
});


test('node\'s dgram (no addon, or SVR_NATIVE_SYNC_SOCKET=0): only authenticated, newer messages from the partner\'s address and name are accepted; the rest is counted by reason', () => acceptsOnly('dgram'));

test('flush packs queued records into datagrams under the MTU; the partner\'s acknowledgement measures the lag', async () => {
  const partner = await bind('127.0.0.2');
  const got: Buffer[] = [];
  partner.on('message', (b) => got.push(b));
  const probe = await bind('127.0.0.1');
  const port = probe.address().port;
  probe.close();
  const link = new SyncLink({
    node: 'r1a', partner: 'r1b', localAddress: '127.0.0.1', partnerAddress: '127.0.0.2', port, partnerPort: partner.address().port, key: KEY,
    onHeartbeat: () => {}, onRecords: () => {},
  });
  await link.start();
  try {
    const markedAt = performance.now() - 50; // the oldest change happened 50 ms before it was queued
    for (let i = 0; i < 1000; i++) link.queue(record(i), i === 500 ? markedAt : markedAt + 40);
    assert.is(link.lag().pending, 1000);
    link.flush();
    await settle(300);
    assert.ok(got.length >= 1000 / 22 && got.every((b) => b.length <= 1400), `${got.length} datagrams, largest ${Math.max(...got.map((b) => b.length))} B`);
    let records = 0;
    let lastBatch = 0;
    for (const b of got) {
      const m = decodeSync(KEY, b);
      assert.ok(typeof m !== 'string' && m.type === MSG_STATE);
      if (typeof m !== 'string' && m.type === MSG_STATE) {
        records += m.count;
        assert.is(recordsOf(m.body).length, m.count);
        lastBatch = Math.max(lastBatch, m.batch);
      }
    }
    assert.is(records, 1000);
    assert.equal(link.lag(), { lastMs: undefined, maxMs: 0, pending: 0, unacked: got.length, changeMs: undefined, changeMaxMs: 0, changeLagMs: new Array<number>(LAG_BUCKETS_MS.length + 1).fill(0), changeP50Ms: undefined, changeP99Ms: undefined });
    assert.is(lastBatch, got.length, 'batches numbered 1, 2, 3...');
    await send(partner, encodeAck(KEY, { node: 'r1b', epoch: 1, seq: 1 }, lastBatch), port);
    await settle();
    const lag = link.lag();
    assert.ok(lag.lastMs !== undefined && lag.lastMs > 0, `lag ${lag.lastMs} ms`);
    assert.is(lag.unacked, 0);
    assert.ok(lag.changeMs !== undefined && lag.changeMs >= lag.lastMs + 50, `change lag ${lag.changeMs} ms: from the oldest change marked to the acknowledgement`);
    assert.is(lag.changeLagMs.reduce((a, b) => a + b, 0), 1, 'one change lag measured (one acknowledgement)');
    assert.ok(lagPercentile(lag.changeLagMs, 50)! >= lag.changeMs, 'its bucket bounds it');
  } finally {
    link.close();
    partner.close();
  }
});

test('a state batch\'s records as bytes (golden); a record cut short, an unknown op or bytes past the records are malformed', () => {
  const body = frameRecords([
    { kind: 1, op: OP_UPSERT, key: Uint8Array.of(0xaa, 0xbb), value: Uint8Array.of(7, 8, 9) },
    { kind: 1, op: OP_DELETE, key: Uint8Array.of(0xcc), value: new Uint8Array(0) },
    { kind: 1, op: OP_PURGE, key: Uint8Array.of(3), value: new Uint8Array(0) },
  ]);
  assert.is(Buffer.from(body).toString('hex'), '010102000' + '3aabb070809' + '0102010000cc' + '0103010000' + '03');
  const batch = encodeState(KEY, { node: 'r1a', epoch: 1, seq: 2 }, 7, body, 3);
  assert.is(batch.subarray(20 + 3, 20 + 3 + 6).toString('hex'), '000000070003', 'batch number and record count after the node name');
  const st = decodeSync(KEY, batch);
  assert.ok(typeof st !== 'string' && st.type === MSG_STATE && Buffer.from(st.body).equals(Buffer.from(body)));
  const bad = (b: Uint8Array, count: number): unknown => decodeSync(KEY, encodeState(KEY, { node: 'r1a', epoch: 1, seq: 2 }, 7, b, count));
  assert.is(bad(body.subarray(0, body.length - 1), 3), 'malformed', 'the last record cut short');
  assert.is(bad(body, 4), 'malformed', 'a record counted that is not there');
  assert.is(bad(body, 2), 'malformed', 'bytes past the records counted');
  const unknownOp = body.slice();
  unknownOp[1] = 9;
  assert.is(bad(unknownOp, 3), 'malformed', 'an unknown op');
});

test('the change lag histogram: percentiles are the bounds of the buckets they fall in', () => {
  const counts = new Array<number>(LAG_BUCKETS_MS.length + 1).fill(0);
  assert.is(lagPercentile(counts, 50), undefined, 'nothing measured');
  counts[LAG_BUCKETS_MS.indexOf(5)] = 98; // 98 lags of 4-5 ms
  counts[LAG_BUCKETS_MS.indexOf(100)] = 2; // 2 of 80-100 ms
  assert.is(lagPercentile(counts, 50), 5);
  assert.is(lagPercentile(counts, 98), 5);
  assert.is(lagPercentile(counts, 99), 100);
  counts[LAG_BUCKETS_MS.length] = 100;
  assert.is(lagPercentile(counts, 99), Number.POSITIVE_INFINITY, 'above the last bucket');
});

test('an acknowledgement that leaves the window half empty, nothing waiting, calls onRoom', async () => {
  const partner = await bind('127.0.0.2');
  let sent = 0;
  partner.on('message', () => sent++);
  const probe = await bind('127.0.0.1');
  const port = probe.address().port;
  probe.close();
  let rooms = 0;
  const link = new SyncLink({
    node: 'r1a', partner: 'r1b', localAddress: '127.0.0.1', partnerAddress: '127.0.0.2', port, partnerPort: partner.address().port, key: KEY,
    onHeartbeat: () => {}, onRecords: () => {}, onRoom: () => rooms++,
  });
  await link.start();
  try {
    const big = frameRecords(Array.from({ length: (WINDOW + 10) * 7 }, (_, i) => record(i, 150))); // 7 records of 171 B a batch
    link.queueFramed(big, (WINDOW + 10) * 7);
    link.flush();
    assert.is(link.lag().unacked, WINDOW, 'the window is full');
    assert.is(link.backlog, 10, '10 batches wait for room');
    await send(partner, encodeAck(KEY, { node: 'r1b', epoch: 1, seq: 1 }, 10), port);
    await settle(50);
    assert.is(rooms, 0, 'the waiting batches took the room');
    assert.is(link.backlog, 0);
    await send(partner, encodeAck(KEY, { node: 'r1b', epoch: 1, seq: 2 }, WINDOW / 2 + 10), port);
    await settle(50);
    assert.is(rooms, 1, 'half the window free, nothing waiting: room');
    assert.ok(sent > 0);
  } finally {
    link.close();
    partner.close();
  }
});

test('a batch goes again after resendMs, or after three of the partner\'s last ack lags when that is longer', async () => {
  const partner = await bind('127.0.0.2');
  const probe = await bind('127.0.0.1');
  const port = probe.address().port;
  probe.close();
  let clock = 0;
  const link = new SyncLink({
    node: 'r1a', partner: 'r1b', localAddress: '127.0.0.1', partnerAddress: '127.0.0.2', port, partnerPort: partner.address().port, key: KEY,
    onHeartbeat: () => {}, onRecords: () => {}, now: () => clock,
  });
  await link.start();
  try {
    link.queue(record(1));
    link.flush();
    link.sendHeartbeat(HB);
    clock = 150;
    link.sendHeartbeat(HB);
    assert.is(link.counters.batchesResent, 1, 'unacknowledged after 150 ms (resendMs 100): sent again');
    clock = 200;
    await send(partner, encodeAck(KEY, { node: 'r1b', epoch: 1, seq: 1 }, 1), port);
    await settle(50);
    assert.is(link.lag().lastMs, 200, 'the partner took 200 ms');
    clock = 1000;
    link.queue(record(2));
    link.flush();
    clock = 1500;
    link.sendHeartbeat(HB);
    assert.is(link.counters.batchesResent, 1, '500 ms: within three ack lags (600 ms), not again');
    clock = 1601;
    link.sendHeartbeat(HB);
    assert.is(link.counters.batchesResent, 2, 'after 600 ms: again');
  } finally {
    link.close();
    partner.close();
  }
});


test('large datagrams (a pair\'s SYNC_DATAGRAM): ~180 records of 171 B a batch, the window counted in bytes, every record applied in order', async () => {
  const probe = await bind('127.0.0.1');
  const port = probe.address().port;
  probe.close();
  const got: number[] = [];
  const common = { key: KEY, maxDatagram: SYNC_DATAGRAM, onHeartbeat: () => {} };
  const standby = new SyncLink({
    ...common, node: 'r1b', partner: 'r1a', localAddress: '127.0.0.2', partnerAddress: '127.0.0.1', port: port + 1, partnerPort: port,
    // -1: a value byte other than the key's (the sender reuses acknowledged datagrams' buffers: every byte as queued)
    onRecords: (body) => { for (const r of recordsOf(body)) got.push(r.value.every((b) => b === r.key[0]) ? r.key[0]! : -1); },
  });
  const active = new SyncLink({ ...common, node: 'r1a', partner: 'r1b', localAddress: '127.0.0.1', partnerAddress: '127.0.0.2', port, partnerPort: port + 1, onRecords: () => {} });
  await standby.start();
  await active.start();
  try {
    assert.is(active.window, windowFor(SYNC_DATAGRAM));
    assert.is(active.window, Math.floor(WINDOW_BYTES / SYNC_DATAGRAM), 'at most as many bytes in flight as 128 frames of 1400 B');
    const n = 3000;
    active.queueFramed(frameRecords(Array.from({ length: n }, (_, i) => record(i, 150))), n);
    active.flush();
    assert.is(active.lag().unacked, active.window, 'a window of batches in flight, the rest waits');
    for (let i = 0; i < 100 && got.length < n; i++) await settle(20);
    assert.is(got.length, n, 'every record arrived');
    assert.ok(got.every((k, i) => k === (i & 0xff)), 'in order, whole');
    const batches = active.counters.batchesSent;
    assert.is(batches, Math.ceil(n / Math.floor((SYNC_DATAGRAM - 60) / 171)), `${batches} datagrams of at most ${SYNC_DATAGRAM} B`);
    assert.ok(n / batches >= 170, `${(n / batches).toFixed(1)} records a datagram (8 at SYNC_MAX_DATAGRAM)`);
    assert.is(active.counters.batchesResent, 0);
  } finally {
    active.close();
    standby.close();
  }
});

test('the receiver acknowledges the batches of ACK_DELAY_MS with one datagram, and at once after half the window\'s bytes', async () => {
  const partner = await bind('127.0.0.2');
  const probe = await bind('127.0.0.1');
  const port = probe.address().port;
  probe.close();
  const acks: { at: number; batch: number }[] = [];
  partner.on('message', (buf) => {
    const m = decodeSync(KEY, buf);
    if (typeof m !== 'string' && m.type === MSG_ACK) acks.push({ at: performance.now(), batch: m.ackedBatch });
  });
  const link = new SyncLink({
    node: 'r1a', partner: 'r1b', localAddress: '127.0.0.1', partnerAddress: '127.0.0.2', port, partnerPort: partner.address().port, key: KEY,
    onHeartbeat: () => {}, onRecords: () => {},
  });
  await link.start();
  let seq = 0;
  const batch = (n: number, records: number): Buffer => encodeState(KEY, { node: 'r1b', epoch: 100, seq: ++seq }, n, frameRecords(Array.from({ length: records }, (_, i) => record(i, 150))), records);
  try {
    // the datagrams of one tick wait in the socket together: the link reads them in one go (up to 32), so the
    // acknowledgements do not depend on this host's timing
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 10 }, (_, i) => send(partner, batch(i + 1, 2), port))); // 10 small batches
    await settle(ACK_DELAY_MS + 100);
    assert.equal(acks.map((a) => a.batch), [10], 'one acknowledgement for the 10 batches');
    assert.ok(acks[0]!.at - t0 >= ACK_DELAY_MS - 1, `after the delay (${(acks[0]!.at - t0).toFixed(1)} ms)`);
    const big = batch(11, 20);
    const atOnce = Math.ceil(ACK_BYTES / big.length); // batches whose bytes reach half the window
    assert.ok(atOnce < 32, `${atOnce} batches of ${big.length} B`);
    await Promise.all(Array.from({ length: atOnce }, (_, i) => send(partner, i === 0 ? big : batch(11 + i, 20), port)));
    await settle(ACK_DELAY_MS + 100);
    assert.equal(acks.map((a) => a.batch), [10, 10 + atOnce], `an acknowledgement at once after ${atOnce} batches of ${big.length} B, none after`);
    // the pair's datagrams: a window of 5 acknowledged at once after the third, the rest after the delay
    const from = 11 + atOnce;
    const full = (n: number): Buffer => encodeState(KEY, { node: 'r1b', epoch: 100, seq: ++seq }, n, frameRecords(Array.from({ length: 30 }, (_, i) => record(i, 1000))), 30);
    assert.ok(full(0).length <= SYNC_DATAGRAM && 3 * full(0).length >= ACK_BYTES, `${full(0).length} B`);
    acks.length = 0;
    await Promise.all(Array.from({ length: windowFor(SYNC_DATAGRAM) }, (_, i) => send(partner, full(from + i), port)));
    await settle(ACK_DELAY_MS + 100);
    assert.equal(acks.map((a) => a.batch - from + 1), [3, 5], 'two acknowledgements for a window of 5 datagrams');
  } finally {
    link.close();
    partner.close();
  }
});

test.run();
