/**
 * Session history writes (a unit bench): 100,000 records put as fast as the caller can, in the blocks and writes a
 * node makes (session-records.ts HISTORY_BLOCK, HISTORY_WRITE), until the last write is on disk. Their names repeat
 * every 60 records, more than the block writer looks back at (8): every row makes a names entry of its own, the
 * postings' worst case. Checks every record was written and can be read back; prints the CPU µs per record of
 * every thread of the process (LevelDB's too) and the wall time, which on this shared machine is mostly the wait
 * for a CPU (load 20: 41 s wall for 1.2 CPU-s). Target (issue 12): history write rate >= the router's session rate,
 * judged in `npm run bench` (visibility).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../../src/store/store.js';
import { SessionHistory } from '../../../src/telemetry/history/history.js';
import { HISTORY_BLOCK, HISTORY_WRITE } from '../../../src/telemetry/session-records.js';
import { makeRecord } from './records.js';

const N = 100_000;

test(`history writes: ${N} records as a node writes them`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tm-history-rate-'));
  const store = await Store.open(dir);
  const h = await SessionHistory.open(store, { retentionMs: 3_600_000, blockRecords: HISTORY_BLOCK, flushRecords: HISTORY_WRITE });
  try {
    const t = Date.now();
    const records = Array.from({ length: N }, (_, i) => makeRecord(i, { endMs: t + i }));
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (const r of records) assert.ok(h.put(r));
    await h.flush();
    const wallS = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const c = h.counters();
    assert.is(c.written, N);
    assert.is(c.pending, 0);
    assert.is(c.droppedFull, 0);
    for (const i of [0, N / 2, N - 1]) assert.is((await h.get(records[i]!.sessionId))?.endMs, records[i]!.endMs, `record ${i} reads back`);
    const cpuUs = (cpu.user + cpu.system) / N;
    console.log(`  history: ${cpuUs.toFixed(1)} µs CPU a record (${Math.round(1e6 / cpuUs)} records per CPU-second, every thread), ${N} in ${wallS.toFixed(2)} s wall at load ${loadavg()[0]!.toFixed(1)}; ${c.batches} blocks, ${Math.round(c.bytes / N)} bytes/record`);
  } finally {
    await h.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
