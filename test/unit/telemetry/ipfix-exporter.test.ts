/**
 * The IPFIX exporter under a burst: records offered in one turn (as the records thread applies a backlog of
 * facts) are sent as they come, not left to fill the bounded queue; a collector on loopback gets large messages.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket } from 'node:dgram';
import { IpfixExporter } from '../../../src/telemetry/ipfix/exporter.js';
import { makeRecord } from './records.js';
import { until } from '../../support/config.js';

test('30,000 records offered in one turn to a collector on loopback: none dropped with a queue of 1,000, in messages of up to 64 kB', async () => {
  const sink = createSocket('udp4');
  let messages = 0;
  let largest = 0;
  sink.on('message', (m) => {
    messages++;
    largest = Math.max(largest, m.length);
  });
  await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
  const e = new IpfixExporter({
    collector: { name: 'c', address: '127.0.0.1', port: sink.address().port, transport: 'udp', interimInterval: 60, tenants: [] },
    observationDomainId: 1, queueLimit: 1000,
  });
  e.start();
  try {
    assert.ok(e.offer(makeRecord(0)));
    assert.ok(await until(() => e.status === 'up', 5000), 'the first message went out');
    for (let i = 1; i < 30_000; i++) e.offer(makeRecord(i));
    const c = e.counters();
    assert.is(c.dropped, 0, JSON.stringify(c));
    assert.ok(c.queueDepth < 256, `queue ${c.queueDepth}`);
    assert.ok(await until(() => e.counters().exported === 30_000, 10_000), JSON.stringify(e.counters()));
    // the sink's socket buffer (net.core.rmem_default) takes a few of the burst's messages; a collector sizes
    // its own (nfcapd -B): what arrived shows the size
    assert.ok(await until(() => messages > 1, 5000), `${messages} of ${e.counters().messages} messages arrived`);
    assert.ok(largest > 30_000 && largest <= 65_507, `largest message ${largest} bytes`);
    assert.ok(e.counters().messages < 30_000 / 100, `${e.counters().messages} messages`);
  } finally {
    await e.close();
    sink.close();
  }
});

test.run();
