/**
 * bench/memory.ts at a small limit (65,536 sessions), in a child with --expose-gc: every byte a session costs
 * the data path is in its session table (reserved rows, given back with them), so the process's ArrayBuffers
 * (the allocator's, not reserved) do not grow with the sessions at any fill. svr-in's and svr-out's native marks
 * had arrays of their own that grew to the highest row used and kept it (16 MB for r2 at a 1 M limit: 31 B a
 * session and router at 25 % fill; here 1 MB, 32 B). After the drain the young generation shrinks (heap-release.ts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { MemoryResult } from '../../../bench/memory.js';
import { rowMemory } from '../../../src/dataplane/row-memory.js';

const bench = fileURLToPath(new URL('../../../bench/memory.js', import.meta.url));

// without the addon (not built) the rows grow in allocator memory: counted as skipped in the runner's summary
(rowMemory !== null ? test : test.skip)('ArrayBuffers outside the session table do not grow with the sessions at 50, 99 and 25 % fill; the drained table gives the young generation back', () => {
  const r = spawnSync(process.execPath, ['--expose-gc', bench, '--capacity', '65536'], { encoding: 'utf8', timeout: 300_000 });
  assert.is(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout) as MemoryResult;
  assert.ok(res.reservedRows === true && res.bytesAgree, 'reserved rows, counted as the typed arrays they are');
  for (const f of res.fills) {
    const at = `${Math.round(f.fill * 100)} %`;
    assert.ok(f.arrayBufferPerSession < 4, `${at}: ArrayBuffers grew ${f.arrayBufferPerSession.toFixed(1)} B a session and router outside the table`);
  }
  // the drained table gave V8's heap back (heap-release.ts): the young generation the set-up and the fill grew
  // (32 MB) shrinks by 25 %; without the release it stays (SVR_HEAP_RELEASE=0)
  const young = res.fills[2]!.youngGenerationBytes!;
  assert.ok(young < res.youngGenerationAtStart! / 2, `young generation at 25 %: ${young >> 20} MB, at the start ${res.youngGenerationAtStart! >> 20} MB`);
});

test.run();
