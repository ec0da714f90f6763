/**
 * The node's metrics beyond the routes' test: the IPFIX hook and the collector-unreachable alarm fed by a
 * real exporter whose collector refuses (a closed UDP port on loopback answers ICMP port unreachable),
 * session counters by tenant, service and reason, and bounded label sets.
 */
import { createSocket } from 'node:dgram';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IpfixExporter } from '../../../src/telemetry/ipfix/exporter.js';
import { startVisibility } from '../../../src/node/visibility.js';
import { createMemoryLab } from '../../../src/sim/memory-lab.js';
import { exampleConfig, until } from '../../support/config.js';
import { makeRecord } from './records.js';

/** A UDP port on loopback that nobody listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

test('IPFIX: a refusing collector shows in svr_ipfix_* and raises ipfix-collector-unreachable through the hooks', async () => {
  const lab = createMemoryLab({ config: await exampleConfig(), clients: [], servers: [] });
  const v = startVisibility(lab.r1, { name: 'r1', version: 't', ports: () => [], alarmEveryMs: 60_000 });
  const port = await closedPort();
  const ex = new IpfixExporter({
    collector: { name: 'nfcapd', address: '127.0.0.1', port, transport: 'udp', interimInterval: 60, tenants: [] }, observationDomainId: 1, flushMs: 20,
    onStatus: (status, detail) => v.alarms.ipfixCollector('nfcapd', status, detail),
  });
  v.metrics.setIpfixSource(() => [{ collector: 'nfcapd', status: ex.status, counters: ex.counters() }]);
  try {
    ex.start();
    for (let i = 0; i < 3; i++) ex.offer(makeRecord(i));
    assert.ok(await until(() => ex.status === 'down', 3000), `status ${ex.status}`);
    const alarm = v.alarms.registry.active().find((a) => a.id === 'ipfix-collector-unreachable:nfcapd');
    assert.ok(alarm !== undefined, JSON.stringify(v.alarms.registry.active()));
    assert.is(alarm!.category, 'telemetry');
    const text = await v.metrics.metrics();
    assert.match(text, /^svr_ipfix_collector_up\{collector="nfcapd"\} 0$/m);
    assert.match(text, /^svr_ipfix_errors_total\{collector="nfcapd"\} [1-9]/m);
    assert.match(text, /^svr_ipfix_records_total\{collector="nfcapd",outcome="exported"\} \d+$/m);
    assert.match(text, /^svr_alarm_active\{alarm="ipfix-collector-unreachable",source="nfcapd",severity="major"\} 1$/m);
  } finally {
    await ex.close();
    v.stop();
    await lab.close();
  }
});

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

test.run();
