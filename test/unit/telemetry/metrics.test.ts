/**
 * The node's metrics beyond the routes' test: the session records' metrics (records, history, IPFIX per
 * collector) and the collector-unreachable alarm through the node's records wiring, with a real collector
 * that refuses (a closed UDP port on loopback answers ICMP port unreachable, a closed TCP port RST) and
 * then comes back,
 * session counters by tenant, service and reason, and bounded label sets; an idle node's metrics do not wake its
 * event loop 100 times a second.
 */
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRecords } from '../../../src/node/records.js';
import { Store } from '../../../src/store/store.js';
import { startVisibility } from '../../../src/node/visibility.js';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { exampleConfig, until } from '../../support/config.js';

/** A UDP or TCP port on loopback that nobody listens on (bound, then closed): UDP answers ICMP port unreachable, TCP RST. */
async function closedPort(transport: 'udp' | 'tcp'): Promise<number> {
  if (transport === 'tcp') {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    return port;
  }
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A collector that now listens on `port`: counts the bytes it gets. */
async function collectorOn(transport: 'udp' | 'tcp', port: number): Promise<{ bytes: () => number; close(): Promise<void> }> {
  let bytes = 0;
  if (transport === 'tcp') {
    const conns: Socket[] = [];
    const s = createServer((c) => { conns.push(c); c.on('data', (d) => { bytes += d.length; }); });
    await new Promise<void>((r) => s.listen(port, '127.0.0.1', () => r()));
    return { bytes: () => bytes, close: () => new Promise<void>((r) => { for (const c of conns) c.destroy(); s.close(() => r()); }) };
  }
  const s = createSocket('udp4');
  s.on('message', (d) => { bytes += d.length; });
  await new Promise<void>((r) => s.bind(port, '127.0.0.1', () => r()));
  return { bytes: () => bytes, close: () => new Promise<void>((r) => s.close(() => r())) };
}

/** One metric's value in the exposition text (undefined when absent). */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

for (const transport of ['udp', 'tcp'] as const) {
  test(`IPFIX over ${transport}: the node's records wiring; a refusing collector shows in svr_ipfix_* and raises ipfix-collector-unreachable; back, it is cleared and gets the records`, async () => {
    const config = await exampleConfig();
    const port = await closedPort(transport);
    config.authority.telemetry.ipfix.collectors = [{ name: 'nfcapd', address: '127.0.0.1', port, transport, interimInterval: 60, tenants: [] }];
    const lab = createMemoryLab({ config, clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
    const dir = mkdtempSync(join(tmpdir(), 'svr-metrics-'));
    const store = await Store.open(dir);
    const v = startVisibility(lab.r1, { name: 'r1', version: 't', ports: () => [], alarmEveryMs: 60_000 });
    // as startNode wires them
    const records = await startRecords(lab.r1, store, config, 'r1', () => {}, { collector: (c, status, detail) => v.alarms.ipfixCollector(c, status, detail), thread: (running, detail) => v.alarms.recordsThread('r1', running, detail) });
    v.metrics.setRecordsSource(() => records.sessions.counters());
    let collector: Awaited<ReturnType<typeof collectorOn>> | undefined;
    try {
      const [client] = lab.clients;
      for (const p of [9001, 9002, 9003]) client!.udpSend(46000, '198.18.3.20', p, Buffer.from('x')); // no service: three denied records
      const status = () => records.sessions.counters().collectors[0]!.status;
      assert.ok(await until(() => status() === 'down', 5000), `status ${status()}`);
      const alarm = v.alarms.registry.active().find((a) => a.id === 'ipfix-collector-unreachable:nfcapd');
      assert.ok(alarm !== undefined, JSON.stringify(v.alarms.registry.active()));
      assert.is(alarm!.category, 'telemetry');
      let text = await v.metrics.metrics();
      assert.is(value(text, 'svr_ipfix_collector_up{collector="nfcapd"}'), 0);
      assert.ok(value(text, 'svr_ipfix_errors_total{collector="nfcapd"}')! >= 1, text);
      assert.is(value(text, 'svr_alarm_active{alarm="ipfix-collector-unreachable",source="nfcapd",severity="major"}'), 1);
      // the records thread counts what it applied; its counters come every 100 ms (the collector's status may come first)
      assert.ok(await until(async () => value(await v.metrics.metrics(), 'svr_records_total{kind="denied"}') === 3, 3000), 'three denied records');
      assert.is(value(await v.metrics.metrics(), 'svr_records_total{kind="end"}'), 0);
      assert.ok(await until(async () => value(await v.metrics.metrics(), 'svr_history_records_total{outcome="written"}') === 3, 3000), 'the history wrote the three');

      // the collector comes back: the alarm clears, and what it is sent now arrives
      collector = await collectorOn(transport, port);
      assert.ok(await until(() => status() === 'up', 8000), `status ${status()}`);
      assert.not.ok(v.alarms.registry.active().some((a) => a.id === 'ipfix-collector-unreachable:nfcapd'), 'cleared');
      assert.ok(v.alarms.registry.events().some((e) => e.kind === 'alarm-cleared' && e.alarmId === 'ipfix-collector-unreachable:nfcapd'));
      for (const p of [9004, 9005]) client!.udpSend(46000, '198.18.3.20', p, Buffer.from('x'));
      assert.ok(await until(() => records.sessions.counters().records.deniedRecords === 5, 3000), JSON.stringify(records.sessions.counters().records) + JSON.stringify(lab.r1.counters()));
      assert.ok(await until(() => collector!.bytes() > 0, 5000), 'the collector got IPFIX messages');
      // the records thread's next counter snapshot (every 100 ms) shows them sent
      assert.ok(await until(() => records.sessions.counters().collectors[0]!.exported >= 2, 3000), JSON.stringify(records.sessions.counters().collectors[0]));
      text = await v.metrics.metrics();
      assert.is(value(text, 'svr_ipfix_collector_up{collector="nfcapd"}'), 1);
      assert.is(value(text, 'svr_alarm_active{alarm="ipfix-collector-unreachable",source="nfcapd",severity="major"}'), undefined);
      assert.is(value(text, 'svr_alarm_raised_total{alarm="ipfix-collector-unreachable",source="nfcapd"}'), 1);
      assert.is(value(text, 'svr_records_total{kind="denied"}'), 5);
      const c = records.sessions.counters().collectors[0]!;
      assert.is(value(text, 'svr_ipfix_records_total{collector="nfcapd",outcome="exported"}'), c.exported);
      assert.is(value(text, 'svr_ipfix_records_total{collector="nfcapd",outcome="dropped"}'), c.dropped);
      assert.is(c.exported + c.dropped + c.queueDepth, 5, JSON.stringify(c));
      assert.ok(c.exported >= 2, `the two sent after it came back: ${JSON.stringify(c)}`);
      assert.is(value(text, 'svr_ipfix_queue_depth{collector="nfcapd"}'), c.queueDepth);
      assert.ok(value(text, 'svr_ipfix_bytes_total{collector="nfcapd"}')! > 0);
    } finally {
      await records.close();
      v.stop();
      await lab.close();
      await collector?.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('sessions created and closed by tenant, service, role and reason; denied by reason; no per-session label', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  const v = startVisibility(lab.r1, { name: 'r1', version: 't', ports: () => [], alarmEveryMs: 60_000 });
  try {
    lab.servers[0]!.udpBind(7, (d, f) => lab.servers[0]!.udpSend(7, f.address, f.port, d));
    let replies = 0;
    for (let i = 0; i < 5; i++) {
      lab.clients[0]!.udpBind(45000 + i, () => replies++);
      lab.clients[0]!.udpSend(45000 + i, '198.18.3.20', 7, Buffer.from('x'));
    }
    assert.ok(await until(() => replies === 5));
    for (const port of [9001, 9002, 9003]) lab.clients[0]!.udpSend(46000, '198.18.3.20', port, Buffer.from('x')); // no service there
    assert.ok(await until(() => (lab.r1.counters()['drop-no-service'] ?? 0) === 3));
    const text = await v.metrics.metrics();
    assert.match(text, /^svr_sessions_created_total\{tenant="engineering",service="echo",role="ingress"\} 5$/m);
    assert.match(text, /^svr_sessions_denied_total\{tenant="engineering",service="",reason="no-service"\} 3$/m);
    assert.match(text, /^svr_drops_total\{reason="no-service"\} 3$/m);
    for (const s of await lab.r1.sessions()) assert.not.ok(text.includes(s.id));
    const series = text.split('\n').filter((l) => l.startsWith('svr_') && !l.startsWith('svr_process') && !l.startsWith('svr_nodejs'));
    assert.ok(series.length < 200, `${series.length} series for one peer, two tenants, two services`);
  } finally {
    v.stop();
    await lab.close();
  }
});

test('a router pair\'s node: its role, sync lag, pending records and dropped sync messages; nothing for one node', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: ['198.18.1.10'], servers: ['198.18.3.20'] });
  const v = startVisibility(lab.r1, { name: 'r1', version: 't', ports: () => [], alarmEveryMs: 60_000 });
  try {
    assert.not.match(await v.metrics.metrics(), /^svr_ha_role\{/m);
    v.metrics.setHaSource(() => ({ node: 'r1a', role: 'active', lagMs: 12.5, pending: 3, changeLagMs: 40, dirtyRows: 7, dirtyOldestMs: 250, sessionRecords: { upsert: 10, delete: 4, purge: 1 }, dropped: { malformed: 0, 'bad-auth': 2, 'not-partner': 1, 'out-of-order': 0 } }));
    const text = await v.metrics.metrics();
    assert.match(text, /^svr_ha_role\{node="r1a",role="active"\} 1$/m);
    assert.match(text, /^svr_ha_role\{node="r1a",role="standby"\} 0$/m);
    assert.match(text, /^svr_ha_sync_lag_seconds\{node="r1a"\} 0.0125$/m);
    assert.match(text, /^svr_ha_sync_pending_records\{node="r1a"\} 3$/m);
    assert.match(text, /^svr_ha_sync_change_lag_seconds\{node="r1a"\} 0.04$/m);
    assert.match(text, /^svr_ha_sync_dirty_rows\{node="r1a"\} 7$/m);
    assert.match(text, /^svr_ha_sync_dirty_age_seconds\{node="r1a"\} 0.25$/m);
    assert.match(text, /^svr_ha_sync_session_records_total\{node="r1a",op="delete"\} 4$/m);
    assert.match(text, /^svr_ha_sync_session_records_total\{node="r1a",op="purge"\} 1$/m);
    assert.match(text, /^svr_ha_sync_dropped_total\{node="r1a",reason="bad-auth"\} 2$/m);
  } finally {
    v.stop();
    await lab.close();
  }
});

test('an idle node\'s metrics wake its main thread about 10 times a second, not 100 (the event-loop lag sampled every 100 ms)', () => {
  const child = fileURLToPath(new URL('./metrics-idle-child.js', import.meta.url));
  const r = spawnSync(process.execPath, [child, '2000'], { encoding: 'utf8', timeout: 30_000 });
  assert.is(r.status, 0, r.stderr);
  const { sleeps } = JSON.parse(r.stdout) as { sleeps: number };
  // 2 s at EVENT_LOOP_SAMPLE_MS (100 ms): ~20; at prom-client's default 10 ms: ~200 (fewer only if the machine delays each by ms)
  assert.ok(sleeps <= 60, `${sleeps} wake-ups of the main thread in 2 s idle`);
});

test.run();
