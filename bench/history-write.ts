/**
 * What writing the session history costs a node's threads, in process: N records (varied as a router's:
 * tenants, services, 200 client addresses, ports) put into a SessionHistory over a real LevelDB database at
 * `--rate` records per second, in the writes a node makes (session-records.ts: HISTORY_WRITE records as
 * blocks of HISTORY_BLOCK), then until LevelDB's background work settles (`--settle` ms). Prints CPU µs per
 * record of the main thread (building blocks and postings), V8's platform threads (GC, compiler) and the
 * other threads (libuv's pool, which runs LevelDB's writes, and LevelDB's compaction thread), the size on
 * disk, and LevelDB's compaction table of the history's database. Compaction needs a history of some size:
 * the default 1,000,000 records (~100 MB as written).
 * The history's code is warmed up first (`--warm` records, not measured). `--max-mb` limits its size (a full
 * history: the oldest blocks deleted as new ones come).
 *   node dist/bench/history-write.js [N=1000000] [--rate 40000] [--settle 4000] [--warm 50000] [--max-mb M] [--src DIR]
 *     --src: another build's dist/src (e.g. a snapshot of main) to compare with; default this build's
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SessionRecord } from '../src/telemetry/record.js';
import type { SessionHistory as History, HistoryOptions } from '../src/telemetry/history/history.js';
import type { Store as StoreClass } from '../src/store/store.js';
import { groupCpuDelta, threadCpu } from './cpu.js';

const args = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const n = Number(args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--')) ?? 1_000_000);
const rate = Number(arg('--rate') ?? 40_000);
const settleMs = Number(arg('--settle') ?? 4000);
const warm = Number(arg('--warm') ?? 50_000);
/** retention by size (MiB as written): a full history, the oldest blocks deleted as new ones come */
const maxMb = arg('--max-mb');
const src = arg('--src') ?? '../src';

const { Store } = (await import(`${src}/store/store.js`)) as { Store: typeof StoreClass };
const { SessionHistory } = (await import(`${src}/telemetry/history/history.js`)) as { SessionHistory: { open(s: StoreClass, o: HistoryOptions): Promise<History> } };
/** the node's write and block sizes of that build (before blocks of their own: one batch of HISTORY_BATCH) */
const sizes = (await import(`${src}/telemetry/session-records.js`)) as Record<string, number | undefined>;
const block = sizes['HISTORY_BLOCK'] ?? sizes['HISTORY_BATCH'] ?? 512;
const write = sizes['HISTORY_WRITE'] ?? block;

const TENANTS = ['blue', 'red', 'green'];
const SERVICES = ['web', 'dns', 'ssh', 'bulk'];
const ZERO: [number, number] = [0, 0];

/** Record i: a UUID of i, ended `endMs`. */
function record(i: number, endMs: number): SessionRecord {
  const hex = i.toString(16).padStart(12, '0');
  const client = `198.18.${1 + (i % 2)}.${10 + (i % 200)}`;
  const port = [80, 53, 22, 9000][i % 4]!;
  return {
    kind: 'end', sessionId: `6ba7b810-9dad-41d1-80b4-${hex}`, seq: 0, router: 'r1', role: 'ingress',
    tenant: TENANTS[i % 3]!, service: SERVICES[i % 4]!, application: '', ingressRouter: 'r1', egressRouter: 'r2',
    forward: { src: client, dst: '198.18.3.20', srcPort: 1024 + (i % 60_000), dstPort: port, protocol: 17 },
    reverse: { src: '198.18.3.20', dst: client, srcPort: port, dstPort: 1024 + (i % 60_000), protocol: 17 },
    paths: ['wan0->r2/wan0'], pathChanges: [], packets: [1, 1], bytes: [64, 64], delta: { packets: ZERO, bytes: ZERO },
    startMs: endMs - 2000, endMs, closeReason: 'idle',
  };
}

const dir = mkdtempSync(join(tmpdir(), 'svr-history-write-'));
const store = await Store.open(dir);
const history = await SessionHistory.open(store, { flushRecords: write, blockRecords: block, ...(maxMb !== undefined ? { maxBytes: Number(maxMb) * 1_048_576 } : {}) });
let next = 0;
/** Puts `count` records at `rate` a second (every 10 ms those due), then writes what waits; returns the seconds it took. */
async function putAll(count: number): Promise<number> {
  const t0 = performance.now();
  const end = next + count;
  const first = next;
  while (next < end) {
    const due = Math.min(end, first + Math.ceil(((performance.now() - t0) / 1000) * rate));
    for (; next < due; next++) history.put(record(next, Date.now()));
    await new Promise<void>((r) => setTimeout(r, 10));
  }
  await history.flush();
  return (performance.now() - t0) / 1000;
}
// the history's code compiled first, as in a node that has run a while (cold, under load, the first writes
// took seconds and the records waiting reached the history's limit)
await putAll(warm);
const before = history.counters();
const cpu0 = threadCpu(process.pid);
const putSeconds = await putAll(n);
await new Promise<void>((r) => setTimeout(r, settleMs));
const cpu = groupCpuDelta(process.pid, cpu0, threadCpu(process.pid));
const after = history.counters();
const c = { written: after.written - before.written, bytes: after.bytes - before.bytes, dropped: after.droppedFull - before.droppedFull, retired: after.retiredRecords - before.retiredRecords };
/** classic-level's (the `level` package's type leaves it out) */
const stats = (store.db as unknown as { getProperty(p: string): string }).getProperty('leveldb.stats');
await history.close();
await store.close();
const kb = execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split('\t')[0];
rmSync(dir, { recursive: true, force: true });
const us = (s: number): string => ((s * 1e6) / n).toFixed(2);
process.stdout.write(`${n} records at ${Math.round(n / putSeconds)}/s after ${warm} to warm up (blocks of ${block}, writes of ${write}; ${src}): ${c.written} written, ${c.dropped} dropped, ${c.retired} retired, `
  + `${c.retired > 0 ? `${after.bytes} bytes kept as written` : `${Math.round(c.bytes / n)} bytes a record as written`}, ${kb} kB on disk\n`
  + (c.dropped > 0 ? `  NOT COMPARABLE: the history dropped records (it took fewer than --rate a second on this machine now); try a lower --rate\n` : '')
  + `  CPU µs per record: main ${us(cpu.main)}, V8 platform ${us(cpu.v8)}, other (libuv pool, LevelDB) ${us(cpu.other)}\n`
  + `  LevelDB of the history's database (the index; the blocks' database is not shown):\n${stats}\n`);
