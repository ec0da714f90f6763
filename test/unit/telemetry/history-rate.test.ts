/**
 * Session history write rate (a unit bench): 100,000 records put as fast as the caller can, each batch
 * written as soon as 5,000 wait; the rate counts until the last batch is on disk. Prints records/s.
 * Target (issue 12): >= 50k records/s, judged in `npm run bench`; this test checks that every record is written.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../../src/store/store.js';
import { SessionHistory } from '../../../src/telemetry/history/history.js';
import { makeRecord } from './records.js';

const N = 100_000;

test(`history write rate: ${N} records`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tm-history-rate-'));
  const store = await Store.open(dir);
  const h = await SessionHistory.open(store, { retentionMs: 3_600_000 });
  try {
    const records = Array.from({ length: N }, (_, i) => makeRecord(i, { endMs: Date.now() + i }));
    const t0 = performance.now();
    for (const r of records) assert.ok(h.put(r));
    await h.flush();
    const s = (performance.now() - t0) / 1000;
    const c = h.counters();
    assert.is(c.written, N);
    const rate = Math.round(N / s);
    console.log(`  history: ${rate} records/s written (${N} in ${s.toFixed(2)} s, ${c.batches} batches, ${Math.round(c.bytes / N)} bytes/record)`);
  } finally {
    await h.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
