/**
 * What a session record costs the node, without the lab: N sessions opened and ended in a real data path
 * (r1 of the bench config, first UDP packets, ends as idle expiry would), their facts into the node's
 * records (the records thread, as a node runs them) with the history (a real LevelDB database), IPFIX export
 * (UDP to a socket on loopback) or both. The data path writes its fact ring (dataplane/fact-ring.ts), the
 * records thread reads it, as a node does. The same sessions run first with records off (no reader: the data
 * path writes no rows), so the figures are side by side: process CPU per session off and on, and the
 * difference, the cost of a record.
 * Prints CPU µs per session of the process and per thread (the records thread also on the scheduler's clock, to the ns), and, for the history, its write rate at
 * saturation (records written per second from the first session until all are on disk).
 * The records thread runs WARM sessions before it is measured: its code is compiled first (V8's compiler
 * threads took ~2-4 µs per session of a cold 30,000-session run), as in a node that has run a while; --cold
 * measures from its start. With --live=K both warm-ups (the data path's and the records thread's) are K sessions longer, so that WARM of them end while others
 * open (the measured mix): a warm-up that ended its sessions only at once left the interleaved path to be compiled in
 * the measurement (58 TurboFan compiles and 18 deopts in it instead of 15 and 3: V8's platform threads +0.4-0.9 µs a
 * session, docs/performance.md "Wave 25, reca"). --live=K keeps about K sessions open (they end by idle expiry on the data path's
 * clock, which moves one UDP idle timeout per K sessions): records of sessions that live as long as a lab's
 * (some 2 s at 40,000 new sessions a second: --live=80000) outlive the records thread's young generation.
 * The records thread sizes its open sessions at start as a node's does (telemetry/session-records.ts openSessionsAtStart);
 * --grow: from 1,024 slots, doubling as sessions come (as before 2026-12-06: the doubling's page faults then
 * fall inside the measurement, as they fell inside a lab's session test).
 * --mtu=M: IPFIX messages sized to a path MTU of M (default: loopback's, 65535, some 1,000 flows a message; a lab's collector
 * behind a veth gets messages of 1500, some 37 flows: 35 times the sends).
 *   node dist/bench/records-cost.js [N=50000] [history|ipfix|both] [--cold] [--live=K] [--grow] [--mtu=M]   (--cpu-prof for a profile)
 */
import { createSocket } from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dataplane } from '../src/dataplane/dataplane.js';
import { FactRing } from '../src/dataplane/fact-ring.js';
import type { PacketPort } from '../src/dataplane/port.js';
import { compileRouter } from '../src/model/compile.js';
import { defaultTelemetry } from '../src/model/read-telemetry.js';
import { parseConfig } from '../src/model/validate.js';
import { historyDirOf, RecordsThread } from '../src/telemetry/records-thread.js';
import { openSessionsAtStart } from '../src/telemetry/session-records.js';
import { cpuSeconds, threadCpu, threadCpuDelta } from './cpu.js';
import { threadGroupUse, threadUse, threadUsePer } from './thread-sched.js';
import { svrConfigYaml } from './svr-config.js';
import { FLOW_PORTS, udpSlab } from './udp-slab.js';

const args = process.argv.slice(2);
const cold = args.includes('--cold');
const grow = args.includes('--grow');
const live = Number(args.find((a) => a.startsWith('--live='))?.slice(7) ?? 0);
const mtu = args.find((a) => a.startsWith('--mtu='))?.slice(6);
/** sessions with records on before the measurement (the records thread's JIT warm-up) */
const WARM = 20_000;
const warm = WARM + live;
const [nArg, modeArg] = args.filter((a) => !a.startsWith('--'));
const n = Number(nArg ?? 50_000);
const mode = modeArg ?? 'both';
if (!Number.isInteger(n) || n < 1 || !['history', 'ipfix', 'both'].includes(mode) || !Number.isInteger(live) || live < 0 || (mtu !== undefined && !(Number(mtu) >= 576 && Number(mtu) <= 65535))) {
  process.stderr.write('usage: node dist/bench/records-cost.js [N] [history|ipfix|both] [--cold] [--live=K] [--grow] [--mtu=576..65535]\n');
  process.exit(2);
}
const sink = createSocket('udp4');
let messages = 0;
sink.on('message', () => messages++);
await new Promise<void>((r) => sink.bind(0, '127.0.0.1', () => r()));
// a burst's messages wait in it (the kernel caps it at net.core.rmem_max): a full buffer drops what the records thread's
// sends delivered, its part of the receive undone (at --mtu=1500, up to 4 in 10 messages with the default 208 KB)
sink.setRecvBufferSize(4 << 20);
const dir = mkdtempSync(join(tmpdir(), 'svr-records-cost-'));
const collectors = mode === 'history' ? [] : [{ name: 'sink', address: '127.0.0.1', port: sink.address().port, transport: 'udp' as const, interimInterval: 60, tenants: [] }];
const telemetry = { ...defaultTelemetry(), ipfix: { templateInterval: 60, collectors }, history: { enabled: mode !== 'ipfix', retentionDays: 7, maxSizeMb: 4096 } };

const tables = compileRouter(parseConfig(svrConfigYaml({ encrypt: false }), 'bench'), 'r1', 1);
const ring = FactRing.buffer();
const port = (name: string): PacketPort => ({ name, start: () => {}, transmit: () => {}, close: () => {} });
/**
 * --live: the data path's clock, moved by the sessions (a UDP idle timeout per K sessions, faster than time);
 * totals of live sessions (for interim records) then as often in a session's life as a lab's 2 s sessions get them: never
 */
let clockMs = Date.now();
const udpIdleMs = Math.max(...tables.services.map((s) => s.timeouts.udp));
const dp = new Dataplane({
  tables, ports: tables.interfaces.map((i) => port(i.name)), shared: { facts: ring }, wallClock: Date.now,
  ...(live > 0 ? { clock: () => clockMs, sessionCountersMs: 10 * udpIdleMs } : {}),
});
const lan = tables.interfaceIndex('lan0');
const BATCH = 64;
const { slab, offs, lens, stamp } = udpSlab(BATCH);
let flow = 0;

/**
 * Opens and ends `count` sessions, 256 at a time, the event loop turning in between (as between the data path's
 * batches): each 256 ended at once, or (--live) those idle for a UDP timeout, the rest at the end.
 */
async function sessions(count: number): Promise<void> {
  for (let done = 0; done < count; done += 256) {
    const m = Math.min(256, count - done);
    for (let k = 0; k < m; k += BATCH) {
      const b = Math.min(BATCH, m - k);
      for (let j = 0; j < b; j++, flow++) stamp(j, 1 + (Math.floor(flow / FLOW_PORTS) % 200), 2, 1024 + (flow % FLOW_PORTS));
      dp.receive(lan, slab, offs, lens, b);
    }
    if (live > 0) {
      clockMs += (udpIdleMs * m) / live;
      dp.sweepAll();
    } else endAll();
    await new Promise<void>((r) => setImmediate(r));
  }
  if (live > 0) {
    clockMs += udpIdleMs;
    dp.sweepAll();
  }
}

function endAll(): void {
  const t = dp.sessions;
  for (let r = 0; r < t.capacity && t.active > 0; r++) if (t.isActive(r)) dp.removeRow(r, t.gen[r]!, 'idle');
}

interface Cpu {
  process: number;
  main: number;
  threads: Map<string, number>;
  /** per group on the scheduler's clock (ns resolution: /proc's ticks are 0.1 µs per session at 100,000): CPU µs and sleeps per session */
  sched: Record<string, { cpuUs: number; sleeps: number }>;
  /** the same by the visibility case's groups (records, v8, other: libuv's pool running LevelDB's calls and LevelDB's own thread) */
  groups: Record<string, { cpuUs: number; sleeps: number }>;
  /** bytes per session handed to write(2) (wchar) and sent to the disk (write_bytes), /proc/self/io */
  wchar: number;
  disk: number;
  wallMs: number;
}

/** wchar and write_bytes of this process (/proc/self/io: every thread's writes) */
function io(): { wchar: number; disk: number } {
  const t = readFileSync('/proc/self/io', 'utf8');
  return { wchar: Number(/^wchar: (\d+)/m.exec(t)?.[1] ?? 0), disk: Number(/^write_bytes: (\d+)/m.exec(t)?.[1] ?? 0) };
}

/** bytes of the files under `d` */
function duBytes(d: string): number {
  let sum = 0;
  for (const e of readdirSync(d, { withFileTypes: true })) sum += e.isDirectory() ? duBytes(join(d, e.name)) : statSync(join(d, e.name)).size;
  return sum;
}
/** threads by group, kept from the first snapshot on (threadGroupUse) */
const seen = new Map<number, string>();

async function measure(run: () => Promise<void>): Promise<Cpu> {
  const cpu0 = process.cpuUsage();
  const threads0 = threadCpu(process.pid);
  const sched0 = threadUse(process.pid);
  const groups0 = threadGroupUse(process.pid, seen);
  const io0 = io();
  const main0 = cpuSeconds(process.pid, true);
  const wall0 = performance.now();
  await run();
  const cpu = process.cpuUsage(cpu0);
  const io1 = io();
  return {
    process: (cpu.user + cpu.system) / n, main: ((cpuSeconds(process.pid, true) - main0) * 1e6) / n,
    threads: new Map([...threadCpuDelta(threads0, threadCpu(process.pid))].map(([name, s]) => [name === `node/${process.pid}` ? 'main' : name, (s * 1e6) / n])),
    sched: threadUsePer([sched0], [threadUse(process.pid)], n),
    groups: threadUsePer([groups0], [threadGroupUse(process.pid, seen)], n),
    wchar: (io1.wchar - io0.wchar) / n, disk: (io1.disk - io0.disk) / n,
    wallMs: performance.now() - wall0,
  };
}

const us = (v: number): string => v.toFixed(1);
const perThread = (c: Cpu): string => [...c.threads].filter(([, s]) => s > 0.05).sort((a, b) => b[1] - a[1]).map(([name, s]) => `${name} ${us(s)}`).join(', ');

await sessions(5000 + live); // warm the data path up (with --live, 5,000 of them ending while others open, as measured)
const off = await measure(() => sessions(n));
const records = await RecordsThread.open({
  router: 'r1', observationDomainId: 1, exporter: { queueLimit: n, ...(mtu !== undefined ? { pathMtu: Number(mtu) } : {}) }, telemetry, historyDir: historyDirOf(dir), rings: [ring], ...(grow ? {} : { openSessions: openSessionsAtStart(undefined) }),
});
const written = (): number => records.counters().history.written;
const offered = (): number => records.counters().collectors.reduce((k, c) => k + c.exported + c.queueDepth + c.dropped, 0);
/** Runs `count` sessions with records on, until all were offered and written (counters every 100 ms), or nothing moved for 10 s. */
async function recorded(count: number): Promise<void> {
  const [offered0, written0] = [offered(), written()];
  await sessions(count);
  let last = -1;
  let still = performance.now();
  while ((mode !== 'history' && offered() - offered0 < count) || (mode !== 'ipfix' && written() - written0 < count)) {
    const now = offered() + written();
    if (now !== last) [last, still] = [now, performance.now()];
    else if (performance.now() - still > 10_000) break;
    await new Promise<void>((r) => setTimeout(r, 5));
  }
}
// the records thread's code compiled first (--cold: not), as in a node that has run a while
if (!cold) await recorded(warm);
messages = 0;
const before = records.counters();
const on = await measure(() => recorded(n));
const after = records.counters();
await records.close();
const h = { written: after.history.written - before.history.written, batches: after.history.batches - before.history.batches };
const onDisk = mode === 'ipfix' ? 0 : duBytes(historyDirOf(dir));
const c0 = before.collectors[0];
const c = { ...after, collectors: after.collectors.map((k) => ({ ...k, exported: k.exported - (c0?.exported ?? 0), dropped: k.dropped - (c0?.dropped ?? 0) })) };
process.stdout.write(`${mode}, ${n} sessions${live > 0 ? ` (about ${live} open)` : ''}${mtu !== undefined ? `, IPFIX path MTU ${mtu}` : ''} (${cold ? 'records thread cold' : `after ${warm} to warm the records thread up`}${grow ? '; open sessions grown as they came' : ''}): process ${us(off.process)} µs CPU per session with records off, ${us(on.process)} on: a record costs ${us(on.process - off.process)} µs`
  + ` (main thread ${us(off.main)} -> ${us(on.main)}); ${(on.wallMs / 1000).toFixed(2)} s until all were sent and written`
  + (mode !== 'ipfix' ? `; history ${h.written} written in ${h.batches} batches (${Math.round(h.written / (on.wallMs / 1000))} records/s)` : '')
  + (mode !== 'history' ? `; IPFIX ${c.collectors[0]!.exported + c.collectors[0]!.queueDepth} records offered, ${c.collectors[0]!.dropped} dropped, ${messages} messages received` : '')
  + `; waiting dropped ${c.waiting?.dropped ?? 0}\n`
  + `  per thread, µs per session: off ${perThread(off)}\n                             on  ${perThread(on)}\n`
  + `  the records thread on the scheduler's clock: ${(on.sched['svr-records']?.cpuUs ?? 0).toFixed(2)} µs and ${(on.sched['svr-records']?.sleeps ?? 0).toFixed(4)} sleeps per session\n`
  + `  by group on the scheduler's clock, µs per session on (off): ${['records', 'v8', 'other'].map((g) => `${g} ${(on.groups[g]?.cpuUs ?? 0).toFixed(2)} (${(off.groups[g]?.cpuUs ?? 0).toFixed(2)})`).join(', ')}\n`
  + `  bytes per session: written ${on.wchar.toFixed(0)} (wchar; off ${off.wchar.toFixed(0)}), to the disk ${on.disk.toFixed(0)} (write_bytes)`
  + (mode !== 'ipfix' ? `, the history on disk after closing ${(onDisk / 1e6).toFixed(1)} MB (${(onDisk / (n + (cold ? 0 : warm))).toFixed(0)} a record)` : '') + '\n');
sink.close();
rmSync(dir, { recursive: true, force: true });
