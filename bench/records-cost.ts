/**
 * What a session record costs the node's thread, without the lab: N sessions' facts (opened, closed) into a
 * node's SessionRecords, as the router's events make them, with the history (a real LevelDB store), IPFIX
 * export (UDP to a socket on loopback) or both. Prints CPU µs per record (the process's user+system time
 * over the run, the fact-making loop included) and, for the history, its write rate at saturation (records
 * written per second from the first put until all are on disk).
 *   node dist/bench/records-cost.js [N=50000] [history|ipfix|both]      (with --cpu-prof for a profile)
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultTelemetry } from '../src/model/read-telemetry.js';
import { Store } from '../src/store/store.js';
import { SessionRecords } from '../src/telemetry/session-records.js';

const n = Number(process.argv[2] ?? 50_000);
const mode = process.argv[3] ?? 'both';
if (!Number.isInteger(n) || n < 1 || !['history', 'ipfix', 'both'].includes(mode)) {
  process.stderr.write('usage: node dist/bench/records-cost.js [N] [history|ipfix|both]\n');
  process.exit(2);
}
const sink = createSocket('udp4');
let messages = 0;
sink.on('message', () => messages++);
await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
const dir = mkdtempSync(join(tmpdir(), 'svr-records-cost-'));
const store = await Store.open(dir);
const collectors = mode === 'history' ? [] : [{ name: 'sink', address: '127.0.0.1', port: sink.address().port, transport: 'udp' as const, interimInterval: 60, tenants: [] }];
const records = await SessionRecords.open({
  router: 'r1', store, observationDomainId: 1, exporter: { queueLimit: n },
  telemetry: { ...defaultTelemetry(), ipfix: { templateInterval: 60, collectors }, history: { enabled: mode !== 'ipfix', retentionDays: 7, maxSizeMb: 4096 } },
});
const t0 = Date.now();
const id = (i: number): string => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const lan = { name: 'lan0', index: 0 };
const wan = { name: 'wan0', index: 1 };
const cpu0 = process.cpuUsage();
const wall0 = performance.now();
for (let i = 0; i < n; i++) {
  const forward = { src: '198.18.1.10', dst: '198.18.3.20', srcPort: 1024 + (i % 60_000), dstPort: 7, protocol: 17 };
  records.apply({
    kind: 'session.opened', atMs: t0 + i / 20, sessionId: id(i), role: 'ingress', tenant: 'engineering', service: 'echo', ingressRouter: 'r1', egressRouter: 'r2',
    forward, ingressInterface: lan, egressInterface: wan, path: 'wan0->r2/wan0',
    waypoint: { src: '198.18.12.1', dst: '198.18.12.2', srcPort: 16_000 + (i % 1000), dstPort: 16_001, protocol: 17 },
  });
  records.apply({ kind: 'session.closed', atMs: t0 + 2000 + i / 20, sessionId: id(i), reason: 'idle', packets: [1, 1], bytes: [64, 64] });
  // the event loop turns as it does between the data path's batches
  if (i % 256 === 255) await new Promise<void>((r) => setImmediate(r));
}
const c0 = records.counters();
await records.close();
const wallMs = performance.now() - wall0;
const cpu = process.cpuUsage(cpu0);
const h = records.counters().history;
const cpuUs = (cpu.user + cpu.system) / n;
process.stdout.write(`${mode}, ${n} records: ${cpuUs.toFixed(1)} µs CPU per record; ${(wallMs / 1000).toFixed(2)} s from the first put until all were sent and written`
  + (mode !== 'ipfix' ? `; history ${h.written} written in ${h.batches} batches (${Math.round(h.written / (wallMs / 1000))} records/s)` : '')
  + (mode !== 'history' ? `; IPFIX ${c0.collectors[0]!.exported + c0.collectors[0]!.queueDepth} records offered, ${messages} messages received` : '') + '\n');
await store.close();
sink.close();
rmSync(dir, { recursive: true, force: true });
