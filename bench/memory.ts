/**
 * Memory per established session at several fills of the session table, in process, without TUN: two data
 * paths (r1 ingress -> r2 egress, wired directly) fed first packets of distinct UDP flows in batches of
 * `--batch` (and swept every 250 ms, as a router does), each table limited to `--capacity` sessions (a power of two times 1024). With the native addon
 * the rows are reserved for the limit and resident once written (row-memory.ts), and a segment whose rows
 * are all removed gives its memory back; without it (SVR_NATIVE_ROWS=0) the rows grow by doubling. The
 * flow and session-id indexes grow by doubling and shrink by halving. The run measures
 *   50 %: capacity/2 + 1 sessions (just after a doubling of the rows or an index);
 *   99 %: just before the next doubling;
 *   25 %: after sessions are removed again, lowest rows first (as idle expiry does after a peak), the
 *         indexes' halving finished and 2 s of a router's sweeps (every 250 ms) run after it (the drained
 *         table gives V8's heap back: heap-release.ts).
 * At each: the table's own byte count (`sessions.bytes`: of reserved columns their resident pages), the
 * bytes of every typed array it holds (a cross-check) and the process RSS / heap / ArrayBuffer growth since
 * the start, per session and router, and V8's young generation; the longest batch while filling (growth pauses
 * show there); and the JS heap bytes allocated per session and router while filling and while removing.
 * Each data path has the listener a node gives it (node-listener.ts; `--listener none|objects|node`, no handshake watch:
 * no reverse packet answers them here).
 * Run with --expose-gc:  node --expose-gc dist/bench/memory.js --capacity 1048576 [--listener node]
 */
import { Dataplane } from '../src/dataplane/dataplane.js';
import type { PacketPort } from '../src/dataplane/port.js';
import { compileRouter } from '../src/model/compile.js';
import { parseConfig } from '../src/model/validate.js';
import { fileURLToPath } from 'node:url';
import { svrConfigYaml } from './svr-config.js';
import { FLOW_PORTS, udpSlab } from './udp-slab.js';
import { residentBytes, rowMemory } from '../src/dataplane/row-memory.js';
import { getHeapSpaceStatistics } from 'node:v8';
import { allocatedBytes } from './garbage.js';
import { listenerArg, nodeListener, type ListenerKind } from './node-listener.js';

/** The goal for RSS per established session and router at every fill (issue 19 item 5). */
export const MEMORY_GOAL_BYTES = 250;

/** The table at one fill. */
export interface MemoryFill {
  /** r1's active sessions / its session limit */
  fill: number;
  sessions: number;
  /** rows r1 has handed out (its high-water mark) */
  rowCapacity: number;
  /** r1's `sessions.bytes` and the typed arrays its table holds */
  tableBytes: number;
  typedArrayBytes: number;
  tableBytesPerSession: number;
  /** r2's `sessions.bytes` per session */
  r2TableBytesPerSession?: number;
  /** process growth since before the first packet, per session per router (r1 and r2 hold the same sessions) */
  rssPerSession: number;
  arrayBufferPerSession: number;
  heapPerSession: number;
  /** V8's young generation (new space) reserved now, bytes: 16 MB unless the data path's garbage grew it */
  youngGenerationBytes?: number;
}

export interface MemoryResult {
  capacity: number;
  /** in the order measured: 50 %, 99 %, 25 % */
  fills: MemoryFill[];
  /** r1 at 99 %: bytes per session of each typed array (field path), largest first */
  breakdownR1: { field: string; bytesPerSession: number }[];
  /** r1's sessions.bytes agrees with its typed arrays (within 0.1 %) at 99 % */
  bytesAgree: boolean;
  /** first packets per second each data path took while filling */
  firstPacketsPerSecond: { r1: number; r2: number };
  /** the longest batch of first packets (r1 and r2) while filling, ms: the data path's pause when a table grows */
  longestBatchMs?: number;
  /** the rows are reserved and give memory back (the native addon), or grow by doubling */
  reservedRows?: boolean;
  /** JS heap bytes allocated per session and router while filling to 99 % and removing down to 25 % (garbage.ts allocatedBytes) */
  allocatedPerSession?: { fill: number; remove: number };
  /** V8's young generation before the first packet, bytes (what it grew to while the benchmark set up) */
  youngGenerationAtStart?: number;
  /** what listened to the data paths' facts (node-listener.ts) */
  listener?: ListenerKind;
}

/** After the drain: the router's sweep period and how long the bench runs it before measuring 25 %, ms. */
const SWEEP_MS = 250;
const SETTLE_MS = 2000;
/** On a loaded machine V8's incremental collection can take longer than SETTLE_MS: the sweeps go on while the young
 *  generation has not halved, up to this long. */
const SETTLE_MAX_MS = 10_000;
const SWEEP_NS = BigInt(SWEEP_MS * 1e6);

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : def;
}

class SinkPort implements PacketPort {
  packets = 0;
  constructor(readonly name: string, private readonly onBatch?: PacketPort['transmit']) {}
  start(): void {}
  transmit(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): void {
    this.packets += count;
    this.onBatch?.(data, offsets, lengths, count);
  }
  close(): void {}
}

/** Typed arrays reachable from `root` (own fields, two levels into nested objects), by field path. */
function typedArrays(root: object, out: Map<string, number>, prefix = '', seen = new Set<unknown>(), depth = 0): Map<string, number> {
  for (const [k, v] of Object.entries(root)) {
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    if (ArrayBuffer.isView(v)) {
      // a second view of a whole buffer is not counted again (the flow table's slots and distance bytes)
      if (v.byteLength === v.buffer.byteLength && seen.has(v.buffer)) continue;
      if (v.byteLength === v.buffer.byteLength) seen.add(v.buffer);
      out.set(prefix + k, (out.get(prefix + k) ?? 0) + residentBytes(v));
    }
    else if (depth < 2 && !(v instanceof Map)) typedArrays(v as object, out, `${prefix}${k}.`, seen, depth + 1);
  }
  return out;
}

const sum = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

/** V8's young generation (new space) reserved now, bytes. */
function youngGeneration(): number {
  return getHeapSpaceStatistics().find((x) => x.space_name === 'new_space')?.space_size ?? 0;
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g === undefined) throw new Error('run with node --expose-gc');
  g();
  g();
}

async function main(): Promise<void> {
  const capacity = Number(arg('capacity', String(1 << 20)));
  if (!Number.isInteger(Math.log2(capacity / 1024)) || capacity < 4096) throw new Error(`--capacity ${capacity}: the indexes grow by doubling; use 1024 times a power of two, at least 4096`);
  const batch = Number(arg('batch', '64'));
  const config = parseConfig(svrConfigYaml({ encrypt: false }), 'bench');
  const t1 = compileRouter(config, 'r1', 1);
  const t2 = compileRouter(config, 'r2', 1);
  let r2Ns = 0n;
  const listener = listenerArg(process.argv);
  const r2 = new Dataplane({ tables: t2, ports: t2.interfaces.map((i) => new SinkPort(`r2.${i.name}`)), ...nodeListener(t2, listener, false) });
  const r2Wan = t2.interfaceIndex('wan0');
  const toR2: PacketPort['transmit'] = (data, offs, lens, count) => {
    const t = process.hrtime.bigint();
    r2.receive(r2Wan, data, offs, lens, count);
    r2Ns += process.hrtime.bigint() - t;
  };
  const r1 = new Dataplane({ tables: t1, ports: t1.interfaces.map((i) => new SinkPort(`r1.${i.name}`, i.name === 'wan0' ? toR2 : undefined)), ...nodeListener(t1, listener, false) });
  const r1Lan = t1.interfaceIndex('lan0');
  r1.sessions.setLimit(capacity);
  r2.sessions.setLimit(capacity);

  // each packet gets its own source (198.18.1.1-16) and source port
  const { slab, offs, lens, stamp } = udpSlab(batch);
  let opened = 0;
  let fillNs = 0;
  let longestNs = 0;
  let swept = process.hrtime.bigint();
  /** opens sessions until r1 holds `target` */
  const openUpTo = (target: number): void => {
    const t0 = process.hrtime.bigint();
    while (opened < target) {
      const m = Math.min(batch, target - opened);
      for (let k = 0; k < m; k++) {
        const id = opened + k;
        stamp(k, 1 + Math.floor(id / FLOW_PORTS), 2, 1024 + (id % FLOW_PORTS));
      }
      const b0 = process.hrtime.bigint();
      r1.receive(r1Lan, slab, offs, lens, m);
      const b1 = process.hrtime.bigint();
      longestNs = Math.max(longestNs, Number(b1 - b0));
      opened += m;
      if (b1 - swept >= SWEEP_NS) { // a router's sweep timer (nothing is due: the UDP idle timeout is 180 s)
        r1.sweep();
        r2.sweep();
        swept = b1;
      }
    }
    fillNs += Number(process.hrtime.bigint() - t0);
  };
  /** removes sessions (lowest rows first, as if they expired) until each table holds `target` */
  const removeDownTo = (dp: Dataplane, target: number): void => {
    const t = dp.sessions;
    for (let r = 0; r < t.capacity && t.active > target; r++) if (t.isActive(r)) dp.removeRow(r, t.gen[r]!, 'idle');
  };

  gc();
  const before = process.memoryUsage();
  const youngAtStart = youngGeneration();
  const fills: MemoryFill[] = [];
  let breakdownR1: MemoryResult['breakdownR1'] = [];
  let bytesAgree = false;
  const measure = (withBreakdown: boolean): void => {
    gc();
    const now = process.memoryUsage();
    const s1 = r1.sessions;
    const parts = typedArrays(s1, new Map());
    const ta = sum(parts);
    const n = s1.active;
    const perRouter = n + r2.sessions.active;
    fills.push({
      fill: n / s1.limit, sessions: n, rowCapacity: s1.capacity, tableBytes: s1.bytes, typedArrayBytes: ta,
      tableBytesPerSession: s1.bytes / n, r2TableBytesPerSession: r2.sessions.bytes / r2.sessions.active,
      rssPerSession: (now.rss - before.rss) / perRouter,
      arrayBufferPerSession: (now.arrayBuffers - before.arrayBuffers) / perRouter,
      heapPerSession: (now.heapUsed - before.heapUsed) / perRouter,
      youngGenerationBytes: youngGeneration(),
    });
    if (withBreakdown) {
      breakdownR1 = [...parts.entries()].sort((a, b) => b[1] - a[1]).map(([field, b]) => ({ field, bytesPerSession: +(b / n).toFixed(2) }));
      bytesAgree = Math.abs(s1.bytes - ta) <= ta * 0.001;
    }
  };
  let fillAllocated = allocatedBytes(() => openUpTo(capacity / 2 + 1));
  measure(false);
  fillAllocated += allocatedBytes(() => openUpTo(Math.floor(capacity * 0.99)));
  measure(true);
  const totalNs = fillNs;
  const removed = opened - capacity / 4;
  const removeAllocated = allocatedBytes(() => {
    removeDownTo(r1, capacity / 4);
    removeDownTo(r2, capacity / 4);
    // the sweeps that follow finish the indexes' halving (flow-table.ts) and, the table drained, ask V8 to
    // give the heap back (heap-release.ts); nothing expires (the UDP idle timeout is 180 s)
    for (let more = true; more;) more = [r1.sweep(), r2.sweep()].includes(true);
  });
  // a router's sweep timer for 2 s (up to 10 s while the young generation has not halved): V8's incremental
  // collection runs its steps between them
  const youngDrained = youngGeneration();
  for (let t = 0; t < SETTLE_MS || (t < SETTLE_MAX_MS && youngGeneration() > youngDrained / 2); t += SWEEP_MS) {
    await new Promise((done) => setTimeout(done, SWEEP_MS));
    r1.sweep();
    r2.sweep();
  }
  measure(false);
  const r2s = Number(r2Ns) / 1e9;
  const res: MemoryResult = {
    capacity, fills, breakdownR1, bytesAgree,
    firstPacketsPerSecond: { r1: opened / Math.max(1e-9, totalNs / 1e9 - r2s), r2: opened / Math.max(1e-9, r2s) },
    longestBatchMs: longestNs / 1e6, reservedRows: rowMemory !== null,
    allocatedPerSession: { fill: fillAllocated / (2 * opened), remove: removeAllocated / (2 * removed) }, listener, youngGenerationAtStart: youngAtStart,
  };
  process.stdout.write(JSON.stringify(res) + '\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main();
