/**
 * The lab's link emulator without namespaces: the delay line (FIFO, jitter without reordering, loss,
 * down, tail drop), command-line values, impair plans, the stream receiver's counting, and the
 * generated config for every lab shape.
 */
import { createSocket } from 'node:dgram';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isSvrError } from '../../../src/errors.js';
import { labConfigYaml } from '../../../src/lab/config.js';
import { DelayLine, Prng } from '../../../src/lab/delay-line.js';
import { parseRequest } from '../../../src/lab/emulator-protocol.js';
import { planImpair } from '../../../src/lab/impair.js';
import { checkShape } from '../../../src/lab/shape.js';
import { sendStream, startStreamReceiver } from '../../../src/lab/stream.js';
import { allNamespaces, pathPlan } from '../../../src/lab/topology.js';
import { parseDuration, parsePercent } from '../../../src/lab/units.js';
import { COLLECTOR_ADDRESS, COLLECTOR_NAME } from '../../../src/lab/collector.js';
import { collectorLaunch } from '../../../src/lab/launch.js';
import { parseConfig } from '../../../src/model/validate.js';

/** A packet whose first byte is its number. */
function packet(n: number, size = 100): Uint8Array {
  const p = new Uint8Array(size);
  p[0] = n & 0xff;
  p[1] = n >> 8;
  return p;
}

interface Out {
  at: number;
  n: number;
}

function drain(line: DelayLine, now: number, out: Out[]): number {
  return line.releaseDue(now, (data, offsets, lengths, count) => {
    for (let i = 0; i < count; i++) out.push({ at: now, n: data[offsets[i]!]! | (data[offsets[i]! + 1]! << 8) });
    assert.ok(lengths[0]! > 0);
    return count;
  });
}

test('delay line: holds each packet for the delay, in order, and counts', () => {
  const line = new DelayLine(1, 64);
  line.impairment = { delayMs: 80, jitterMs: 0, lossPct: 0, down: false };
  const out: Out[] = [];
  for (let i = 0; i < 10; i++) line.push(packet(i), 0, 100, i);
  assert.is(line.headDue(), 80);
  assert.is(drain(line, 79.9, out), 0);
  assert.is(drain(line, 84, out), 5);
  assert.equal(out.map((o) => o.n), [0, 1, 2, 3, 4]);
  assert.is(drain(line, 1000, out), 5);
  assert.is(line.stats.txPackets, 10);
  assert.is(line.stats.txBytes, 1000);
  assert.is(line.stats.queued, 0);
  assert.is(line.headDue(), undefined);
});

test('delay line: jitter varies the delay within +-jitter and never reorders', () => {
  const line = new DelayLine(7, 4096);
  line.impairment = { delayMs: 50, jitterMs: 20, lossPct: 0, down: false };
  const out: Out[] = [];
  const due: number[] = [];
  for (let i = 0; i < 1000; i++) {
    line.push(packet(i), 0, 100, i * 5); // 5 ms apart: most samples are free, some are held behind a late one
    due.push(line.headDue()!);
  }
  for (let t = 0; t <= 6000; t += 1) drain(line, t, out);
  assert.is(out.length, 1000);
  assert.equal(out.map((o) => o.n & 0xffff), Array.from({ length: 1000 }, (_, i) => i & 0xffff), 'arrival order kept');
  const delays = out.map((o, i) => o.at - i * 5);
  assert.ok(Math.min(...delays) >= 30 && Math.max(...delays) <= 71, `delays in [30, 70] (+1 ms drain granularity): ${Math.min(...delays)}..${Math.max(...delays)}`);
  const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
  assert.ok(mean > 48 && mean < 58, `mean delay ${mean}`);
});

test('delay line: loss is about the configured rate and deterministic per seed', () => {
  const run = (seed: number): number[] => {
    const line = new DelayLine(seed, 16);
    line.impairment = { delayMs: 0, jitterMs: 0, lossPct: 10, down: false };
    const lost: number[] = [];
    for (let i = 0; i < 10_000; i++) {
      const before = line.stats.dropLoss;
      line.push(packet(i), 0, 100, 0);
      if (line.stats.dropLoss > before) lost.push(i);
      drain(line, 0, []);
    }
    return lost;
  };
  const a = run(42);
  assert.ok(a.length > 900 && a.length < 1100, `${a.length} of 10000 lost at 10 %`);
  assert.equal(run(42), a, 'same seed, same losses');
  assert.not.equal(run(43), a, 'another seed, other losses');
});

test('delay line: down drops new packets and those in flight; a full queue tail-drops', () => {
  const line = new DelayLine(1, 4);
  line.impairment = { delayMs: 10, jitterMs: 0, lossPct: 0, down: false };
  for (let i = 0; i < 6; i++) line.push(packet(i), 0, 100, 0);
  assert.is(line.stats.dropQueueFull, 2);
  assert.is(line.held, 4);
  line.impairment = { ...line.impairment, down: true };
  line.flush();
  line.push(packet(9), 0, 100, 1);
  assert.is(line.stats.dropDown, 5);
  assert.is(line.held, 0);
  const big = new DelayLine(1, 4, 256);
  big.push(packet(1, 300), 0, 300, 0);
  assert.is(big.stats.dropQueueFull, 1, 'longer than a slot');
});

test('delay line: a refused write is counted, the queue moves on', () => {
  const line = new DelayLine(1, 8);
  for (let i = 0; i < 3; i++) line.push(packet(i), 0, 100, 0);
  line.releaseDue(0, (_d, _o, _l, n) => n - 1);
  assert.is(line.stats.txPackets, 2);
  assert.is(line.stats.dropWrite, 1);
  assert.is(line.held, 0);
});

test('prng: uniform enough in [0, 1)', () => {
  const r = new Prng(123);
  const buckets = new Array<number>(10).fill(0);
  for (let i = 0; i < 100_000; i++) {
    const x = r.next();
    assert.ok(x >= 0 && x < 1);
    buckets[Math.floor(x * 10)]!++;
  }
  for (const b of buckets) assert.ok(b > 9500 && b < 10500, `bucket ${b}`);
});

test('units: durations and percentages with clear errors', () => {
  assert.is(parseDuration('80ms', '--delay', 0, 60_000), 80);
  assert.is(parseDuration('1.5s', '--delay', 0, 60_000), 1500);
  assert.is(parseDuration('80', '--delay', 0, 60_000), 80);
  assert.is(parsePercent('2%', '--loss'), 2);
  assert.is(parsePercent('0.5', '--loss'), 0.5);
  for (const [f, arg] of [[() => parseDuration('80 sec', '--delay', 0, 1000), '--delay'], [() => parseDuration('2s', '--delay', 0, 1000), 'between'],
    [() => parsePercent('101%', '--loss'), '--loss'], [() => parsePercent('-1', '--loss'), '--loss']] as const) {
    try {
      f();
      assert.unreachable();
    } catch (e) {
      assert.ok(isSvrError(e, 'SVR_ERR_LAB_OPTION'), String(e));
      assert.match((e as Error).message, arg);
    }
  }
});

test('impair plans: what is sent to which path', () => {
  assert.equal(planImpair({ path: '1', delay: '80ms', loss: '2%' }, 2), {
    paths: [1], requests: [{ method: 'set', directions: ['r1-r2', 'r2-r1'], set: { delayMs: 80, lossPct: 2 } }],
  });
  assert.equal(planImpair({ path: 'all', down: true, direction: 'r2-r1' }, 2).requests, [{ method: 'set', directions: ['r2-r1'], set: { down: true } }]);
  assert.equal(planImpair({ path: '2', flap: '2s' }, 2).requests, [{ method: 'flap', directions: ['r1-r2', 'r2-r1'], periodMs: 2000 }]);
  assert.equal(planImpair({ path: '1,2', clear: true }, 2), { paths: [1, 2], requests: [{ method: 'clear' }] });
  assert.equal(planImpair({}, 2), { paths: [1, 2], requests: [] }, 'nothing to change: show every path');
  for (const [i, msg] of [
    [{ path: '1', down: true, up: true }, 'contradict'], [{ path: '3', up: true }, 'paths 1-2'], [{ delay: '1ms' }, 'which path'],
    [{ path: '1', clear: true, loss: '1%' }, 'alone'], [{ path: '1', flap: '2s', down: true }, '--flap'], [{ path: '1', flap: '10ms' }, '--flap'],
    [{ path: '1', direction: 'up', down: true }, '--direction'], [{ path: 'x', down: true }, '--path'],
  ] as const) {
    try {
      planImpair(i, 2);
      assert.unreachable(JSON.stringify(i));
    } catch (e) {
      assert.ok(isSvrError(e, 'SVR_ERR_LAB_OPTION'), String(e));
      assert.match((e as Error).message, msg);
    }
  }
});

test('emulator requests from the socket are checked', () => {
  assert.equal(parseRequest({ method: 'set', directions: ['r1-r2'], set: { delayMs: 5 } }), { method: 'set', directions: ['r1-r2'], set: { delayMs: 5 } });
  for (const bad of [{ method: 'set', directions: [], set: {} }, { method: 'set', directions: ['r1-r2'], set: { lossPct: 101 } },
    { method: 'flap', directions: ['r1-r2'], periodMs: 1 }, { method: 'reboot' }, { method: 'set', directions: ['r1-r2'], set: { down: 'yes' } }]) {
    assert.throws(() => parseRequest(bad), (e: unknown) => isSvrError(e, 'SVR_ERR_LAB_OPTION'));
  }
});

test('svr lab up --fec GROUP/PARITY: checked, and web and stream get that fec', () => {
  assert.equal(checkShape({ fec: '10/3' }).fec, { groupSize: 10, parity: 3 });
  assert.throws(() => checkShape({ fec: '10' }), /--fec "10": expected GROUP\/PARITY/);
  assert.throws(() => checkShape({ fec: '1/1' }), /--fec \(group size\)/);
  assert.throws(() => checkShape({ fec: '10/5' }), /--fec \(parity\)/);
  const cfg = parseConfig(labConfigYaml(checkShape({ fec: '10/3' })), 'lab.yaml');
  assert.equal(cfg.authority.servicePolicies.find((p) => p.name === 'lab-sessions')!.fec, { enabled: true, groupSize: 10, parity: 3, flushMs: 20 });
  assert.is(cfg.authority.servicePolicies.find((p) => p.name === 'lab-paths')!.fec.enabled, false);
  assert.is(parseConfig(labConfigYaml(checkShape({})), 'lab.yaml').authority.servicePolicies.find((p) => p.name === 'lab-sessions')!.fec.enabled, false);
});

test('lab shapes: options checked; every shape gives a valid config', () => {
  assert.throws(() => checkShape({ paths: '9' }), /--paths/);
  assert.throws(() => checkShape({ resiliency: 'sometimes' }), /--resiliency/);
  assert.throws(() => checkShape({ sla: 'maybe' }), /--sla/);
  assert.throws(() => checkShape({ bfdIntervalMs: '10' }), /--bfd-interval/);
  assert.is(checkShape({ sla: true }).sla, 'best-effort');
  for (const shape of [checkShape({}), checkShape({ paths: 2, resiliency: 'revertible-failover', sla: 'strict', bfdIntervalMs: 100 }),
    checkShape({ paths: 8, resiliency: 'packet-duplication', sla: 'best-effort', holdDownS: 1, linkTestIntervalS: 1 })]) {
    const cfg = parseConfig(labConfigYaml(shape), 'lab.yaml');
    const r1 = cfg.authority.routers.find((r) => r.name === 'r1')!;
    assert.is(r1.interfaces.filter((i) => i.kind === 'wan').length, shape.paths);
    const wan1 = r1.interfaces.find((i) => i.name === 'wan0')!;
    assert.is(wan1.waypoint, pathPlan('x', 1).waypoints.r1);
    assert.is(wan1.neighborhoods[0]!.bfd?.desiredTxInterval, shape.bfdIntervalMs);
    const policy = cfg.authority.servicePolicies.find((p) => p.name === 'lab-sessions')!;
    assert.is(policy.sessionResiliency, shape.resiliency);
    assert.equal(policy.vectorOrder, Array.from({ length: shape.paths }, (_, i) => `path${i + 1}`));
    assert.is(policy.pathQualityFilter, shape.sla !== 'off');
    assert.is(policy.bestEffort, shape.sla !== 'strict');
    assert.equal(cfg.authority.services.map((s) => s.name), ['web', 'stream', 'echo', 'iperf']);
    assert.equal(cfg.authority.telemetry.ipfix.collectors, []);
  }
});

test('lab --collector: both routers export to nfcapd at 198.18.9.10:4739 in <prefix>-collector', () => {
  const shape = checkShape({ collector: true });
  assert.is(shape.collector, true);
  const cfg = parseConfig(labConfigYaml(shape), 'lab.yaml');
  assert.equal(cfg.authority.telemetry.ipfix.collectors, [{ name: COLLECTOR_NAME, address: COLLECTOR_ADDRESS, port: 4739, transport: 'udp', interimInterval: 60, tenants: [] }]);
  assert.ok(allNamespaces('x').includes('x-collector'), 'lab down deletes the collector namespace');
  assert.equal(collectorLaunch('/tmp/lab', shape.collectorRotateS).args, ['-w', '/tmp/lab/ipfix', '-p', '4739', '-b', COLLECTOR_ADDRESS, '-t', '60', '-B', String(4 << 20)]);
  assert.is(checkShape({ collector: true, collectorRotateS: '5' }).collectorRotateS, 5);
  assert.throws(() => checkShape({ collector: true, collectorRotateS: '1' }), /--collector-rotate/);
});

test('stream: the receiver counts received, lost, duplicate and reordered datagrams', async () => {
  const lines: string[] = [];
  const rx = await startStreamReceiver('127.0.0.1', 0, (l) => lines.push(l));
  const port = rx.socket.address().port;
  const s = await sendStream({ host: '127.0.0.1', port, rate: 2000, size: 64, durationMs: 100, id: 7 });
  const r = await s.done;
  assert.is(r.sent, 200);
  await new Promise((res) => setTimeout(res, 50));
  let st = rx.get(7)!;
  assert.is(st.received, 200);
  assert.is(st.lost, 0);
  assert.ok(st.ended);
  // forge a duplicate and a reordered datagram of another stream
  const tx = createSocket('udp4');
  const dgram = (seq: number, flags = 0): Buffer => {
    const b = Buffer.alloc(32);
    b.writeUInt32BE(0x53565253, 0);
    b.writeUInt32BE(8, 4);
    b.writeUInt32BE(seq, 8);
    b.writeBigUInt64BE(process.hrtime.bigint(), 12);
    b.writeUInt8(flags, 20);
    return b;
  };
  for (const [seq, flags] of [[0, 0], [2, 0], [1, 0], [2, 0], [5, 0], [7, 1]] as const) {
    await new Promise<void>((res) => tx.send(dgram(seq, flags), port, '127.0.0.1', () => res()));
  }
  await new Promise((res) => setTimeout(res, 50));
  tx.close();
  st = rx.get(8)!;
  assert.equal({ received: st.received, duplicates: st.duplicates, reordered: st.reordered, expected: st.expected, lost: st.lost },
    { received: 4, duplicates: 1, reordered: 1, expected: 7, lost: 3 });
  assert.is(rx.all().length, 2);
  assert.ok(lines.some((l) => l.includes('stream 8') && l.includes('ended')));
  rx.close();
});

test.run();
