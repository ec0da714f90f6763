/**
 * Child of metrics.test.ts: a process whose only work is a NodeMetrics (as a node makes it), idle for `argv[2]` ms;
 * prints how often its main thread slept (voluntary context switches: each ended by a wake-up) meanwhile.
 */
import { readFileSync } from 'node:fs';
import { AlarmRegistry } from '../../../src/telemetry/alarms/registry.js';
import { NodeMetrics } from '../../../src/telemetry/metrics.js';

const sleeps = (): number => Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/self/task/${process.pid}/status`, 'utf8'))![1]);

const metrics = new NodeMetrics({
  router: 'r1', version: 't', peers: () => [], tenants: () => [], services: () => [],
  status: () => ({ sessionsActive: 0, handshakesInFlight: 0, sessionsPerWorker: [] }),
  counters: () => ({}), threadLoad: () => [], plugins: () => [], ports: () => [], alarms: new AlarmRegistry(),
});
await metrics.metrics(); // one scrape, as Prometheus makes them
const ms = Number(process.argv[2] ?? 1000);
const before = sleeps();
setTimeout(() => {
  process.stdout.write(`${JSON.stringify({ sleeps: sleeps() - before - 1, ms })}\n`); // - 1: this timer's own wake-up
  process.exit(0);
}, ms);
