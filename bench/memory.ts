/**
 * Memory per established session, in process, without TUN: two data paths (r1 ingress -> r2 egress,
 * wired directly), fed `--sessions` first packets of distinct UDP flows in batches of `--batch`.
 * Reports each table's own byte count (`dataplane.sessions.bytes`), the bytes of every typed array the
 * table holds (a cross-check), and the process RSS / heap / ArrayBuffer growth per session.
 * Run with --expose-gc:  node --expose-gc dist/bench/memory.js --sessions 1000000
 */
import { Dataplane } from '../src/dataplane/dataplane.js';
import type { PacketPort } from '../src/dataplane/port.js';
import { compileRouter } from '../src/model/compile.js';
import { parseConfig } from '../src/model/validate.js';
import { buildUdp } from '../src/packet/build.js';
import { PacketInfo, parsePacket } from '../src/packet/ip.js';
import { fillIpv4HeaderChecksum, fillL4Checksum } from '../src/packet/rewrite.js';
import { fileURLToPath } from 'node:url';
import { svrConfigYaml } from './svr-config.js';

export interface MemoryResult {
  sessions: number;
  created: { r1: number; r2: number };
  tableBytes: { r1: number; r2: number };
  /** sum of byteLength of the typed arrays reachable from each session table (cross-check of .bytes) */
  typedArrayBytes: { r1: number; r2: number };
  rowCapacity: { r1: number; r2: number };
  /** r1: bytes per session of each typed array (field path), largest first */
  breakdownR1: { field: string; bytesPerSession: number }[];
  perSession: {
    tableBytesR1: number;
    tableBytesR2: number;
    typedArrayBytesR1: number;
    rssBytes: number;
    heapUsedBytes: number;
    arrayBufferBytes: number;
  };
  process: { rssBefore: number; rssAfter: number; heapBefore: number; heapAfter: number; abBefore: number; abAfter: number };
  seconds: { total: number; r2: number };
  firstPacketsPerSecond: { r1: number; r2: number };
}

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
    if (ArrayBuffer.isView(v)) out.set(prefix + k, (out.get(prefix + k) ?? 0) + v.byteLength);
    else if (depth < 2 && !(v instanceof Map)) typedArrays(v as object, out, `${prefix}${k}.`, seen, depth + 1);
  }
  return out;
}

const sum = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g === undefined) throw new Error('run with node --expose-gc');
  g();
  g();
}

function main(): void {
  const n = Number(arg('sessions', '1000000'));
  const batch = Number(arg('batch', '64'));
  const config = parseConfig(svrConfigYaml({ encrypt: false }), 'bench');
  const t1 = compileRouter(config, 'r1', 1);
  const t2 = compileRouter(config, 'r2', 1);
  let r2Ns = 0n;
  const r2 = new Dataplane({ tables: t2, ports: t2.interfaces.map((i) => new SinkPort(`r2.${i.name}`)) });
  const r2Wan = t2.interfaceIndex('wan0');
  const toR2: PacketPort['transmit'] = (data, offs, lens, count) => {
    const t = process.hrtime.bigint();
    r2.receive(r2Wan, data, offs, lens, count);
    r2Ns += process.hrtime.bigint() - t;
  };
  const r1 = new Dataplane({ tables: t1, ports: t1.interfaces.map((i) => new SinkPort(`r1.${i.name}`, i.name === 'wan0' ? toR2 : undefined)) });
  const r1Lan = t1.interfaceIndex('lan0');

  // one 64-byte IPv4/UDP template; each packet gets its own source (198.18.1.1-16) and source port
  const tpl = buildUdp({ src: Uint8Array.of(198, 18, 1, 1), dst: Uint8Array.of(198, 18, 3, 2), srcPort: 1024, dstPort: 7, payload: new Uint8Array(36) });
  const len = tpl.length;
  const slab = new Uint8Array(batch * len);
  const offs = Uint32Array.from({ length: batch }, (_, k) => k * len);
  const lens = new Uint32Array(batch).fill(len);
  const pi = new PacketInfo();
  const PORTS = 64512;

  gc();
  const before = process.memoryUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i += batch) {
    const m = Math.min(batch, n - i);
    for (let k = 0; k < m; k++) {
      const id = i + k;
      const o = offs[k]!;
      slab.set(tpl, o);
      slab[o + 15] = 1 + Math.floor(id / PORTS);
      const sp = 1024 + (id % PORTS);
      slab[o + 20] = sp >>> 8;
      slab[o + 21] = sp & 0xff;
      fillIpv4HeaderChecksum(slab, o);
      parsePacket(slab, o, len, pi);
      fillL4Checksum(slab, pi);
    }
    r1.receive(r1Lan, slab, offs, lens, m);
  }
  const totalNs = Number(process.hrtime.bigint() - t0);
  gc();
  const after = process.memoryUsage();
  const s1 = r1.sessions;
  const s2 = r2.sessions;
  const parts1 = typedArrays(s1, new Map());
  const ta1 = sum(parts1);
  const ta2 = sum(typedArrays(s2, new Map()));
  const r2s = Number(r2Ns) / 1e9;
  const total = totalNs / 1e9;
  const res: MemoryResult = {
    sessions: n,
    created: { r1: s1.active, r2: s2.active },
    tableBytes: { r1: s1.bytes, r2: s2.bytes },
    typedArrayBytes: { r1: ta1, r2: ta2 },
    rowCapacity: { r1: s1.capacity, r2: s2.capacity },
    breakdownR1: [...parts1.entries()].sort((a, b) => b[1] - a[1]).map(([field, b]) => ({ field, bytesPerSession: +(b / n).toFixed(2) })),
    perSession: {
      tableBytesR1: s1.bytes / n,
      tableBytesR2: s2.bytes / n,
      typedArrayBytesR1: ta1 / n,
      rssBytes: (after.rss - before.rss) / n,
      heapUsedBytes: (after.heapUsed - before.heapUsed) / n,
      arrayBufferBytes: (after.arrayBuffers - before.arrayBuffers) / n,
    },
    process: { rssBefore: before.rss, rssAfter: after.rss, heapBefore: before.heapUsed, heapAfter: after.heapUsed, abBefore: before.arrayBuffers, abAfter: after.arrayBuffers },
    seconds: { total, r2: r2s },
    firstPacketsPerSecond: { r1: n / Math.max(1e-9, total - r2s), r2: n / Math.max(1e-9, r2s) },
  };
  process.stdout.write(JSON.stringify(res) + '\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) main();

/** Whether `sessions.bytes` agrees with the typed arrays the table holds (within 0.1 %), in words. */
export function bytesNote(m: MemoryResult): string {
  const a = m.tableBytes.r1;
  const b = m.typedArrayBytes.r1;
  return Math.abs(a - b) <= b * 0.001
    ? '`sessions.bytes` agrees with the typed arrays the table holds.'
    : `\`sessions.bytes\` reports ${(a / 1e6).toFixed(1)} MB but the table's typed arrays hold ${(b / 1e6).toFixed(1)} MB: the getter's per-row sum misses columns.`;
}
