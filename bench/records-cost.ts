/**
 * What a session record costs the node, without the lab: N sessions' facts (opened, closed), as the router's
 * events make them, into the node's records (the records thread, as a node runs them; or `--in-thread`:
 * SessionRecords on this thread, as before the records thread), with the history (a real LevelDB database),
 * IPFIX export (UDP to a socket on loopback) or both. Prints CPU µs per record of the main (control) thread
 * and of the whole process over the run (the fact-making loop included), and, for the history, its write
 * rate at saturation (records written per second from the first put until all are on disk).
 *   node dist/bench/records-cost.js [N=50000] [history|ipfix|both] [--in-thread]   (--cpu-prof for a profile)
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultTelemetry } from '../src/model/read-telemetry.js';
import { Store } from '../src/store/store.js';
import { historyDirOf, RecordsThread, type RecordsService } from '../src/telemetry/records-thread.js';
import { SessionRecords } from '../src/telemetry/session-records.js';
import { cpuSeconds, threadCpu, threadCpuDelta } from './cpu.js';

const args = process.argv.slice(2);
const inThread = args.includes('--in-thread');
const [nArg, modeArg] = args.filter((a) => !a.startsWith('--'));
const n = Number(nArg ?? 50_000);
const mode = modeArg ?? 'both';
if (!Number.isInteger(n) || n < 1 || !['history', 'ipfix', 'both'].includes(mode)) {
  process.stderr.write('usage: node dist/bench/records-cost.js [N] [history|ipfix|both] [--in-thread]\n');
  process.exit(2);
}
const sink = createSocket('udp4');
let messages = 0;
sink.on('message', () => messages++);
await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
const dir = mkdtempSync(join(tmpdir(), 'svr-records-cost-'));
const collectors = mode === 'history' ? [] : [{ name: 'sink', address: '127.0.0.1', port: sink.address().port, transport: 'udp' as const, interimInterval: 60, tenants: [] }];
const options = {
  router: 'r1', observationDomainId: 1, exporter: { queueLimit: n },
  telemetry: { ...defaultTelemetry(), ipfix: { templateInterval: 60, collectors }, history: { enabled: mode !== 'ipfix', retentionDays: 7, maxSizeMb: 4096 } },
};
const store = inThread ? await Store.open(dir) : undefined;
const records: RecordsService = store !== undefined
  ? await SessionRecords.open({ ...options, store })
  : await RecordsThread.open({ ...options, historyDir: historyDirOf(dir) });
const t0 = Date.now();
const id = (i: number): string => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const lan = { name: 'lan0', index: 0 };
const wan = { name: 'wan0', index: 1 };
const cpu0 = process.cpuUsage();
const threads0 = threadCpu(process.pid);
const main0 = cpuSeconds(process.pid, true);
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
// the records thread's counters arrive every 100 ms: wait until all were offered (on this thread: at once)
while (records.counters().collectors.reduce((k, c) => k + c.exported + c.queueDepth + c.dropped, 0) < (mode === 'history' ? 0 : n)) await new Promise<void>((r) => setTimeout(r, 5));
const c0 = records.counters();
// per thread, before close ends the records thread: when all records are written
while (mode !== 'ipfix' && records.counters().history.written < n) await new Promise<void>((r) => setTimeout(r, 5));
const perThread = threadCpuDelta(threads0, threadCpu(process.pid));
await records.close();
const wallMs = performance.now() - wall0;
const mainUs = ((cpuSeconds(process.pid, true) - main0) * 1e6) / n;
const cpu = process.cpuUsage(cpu0);
const h = records.counters().history;
const cpuUs = (cpu.user + cpu.system) / n;
process.stdout.write(`${mode}${inThread ? ' (in thread)' : ' (records thread)'}, ${n} records: main thread ${mainUs.toFixed(1)} µs CPU per record (facts made and handed over), process ${cpuUs.toFixed(1)} µs; ${(wallMs / 1000).toFixed(2)} s from the first put until all were sent and written`
  + (mode !== 'ipfix' ? `; history ${h.written} written in ${h.batches} batches (${Math.round(h.written / (wallMs / 1000))} records/s)` : '')
  + (mode !== 'history' ? `; IPFIX ${c0.collectors[0]!.exported + c0.collectors[0]!.queueDepth} records offered, ${c0.collectors[0]!.dropped} dropped, ${messages} messages received` : '') + '\n'
  + `  per thread, µs per record (until all were offered and written): ${[...perThread].filter(([, s]) => s > 0).sort((a, b) => b[1] - a[1]).map(([name, s]) => `${name === `node/${process.pid}` ? 'main' : name} ${((s * 1e6) / n).toFixed(1)}`).join(', ')}\n`);
await store?.close();
sink.close();
rmSync(dir, { recursive: true, force: true });
