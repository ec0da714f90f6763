/**
 * The records' open-session table of 16 Ki slots or more (a node's: 131,072 at start) is one mapping advised for huge
 * pages, its buckets after its slots (an end's bucket and slot were two random 4 KiB pages, each a TLB miss:
 * docs/performance.md "Wave 26, recc"). Sessions are found through the growth into it. Reserved buffers come from the
 * addon: without it the file's test is counted as skipped.
 */
import * as assert from 'uvu/assert';
import { FACT_OPENED } from '../../../src/dataplane/fact-ring.js';
import { rowMemory } from '../../../src/dataplane/row-memory.js';
import { OpenSessions, pathNames, type RowNames } from '../../../src/telemetry/open-sessions.js';
import { requires } from '../../support/prerequisites.js';
import { mappings } from '../../support/smaps.js';

const test = requires(import.meta.url); // the addon (skipped without it)

/** bytes of a slot (open-sessions.ts SLOT_WORDS words) and of its two buckets */
const SLOT_BYTES = 52 * 4 + 2 * 4;
const names: RowNames = { tenant: 'blue', service: 'web', application: '', path: pathNames('p1', 'r2', '198.18.12.1', '198.18.12.2'), ingressInterface: { name: 'lan0', index: 0 }, egressInterface: { name: 'wan0', index: 1 } };
const idOf = (i: number): Uint32Array => new Uint32Array([0x5e550000 + i, i, ~i >>> 0, Math.imul(i, 0x9e3779b1) >>> 0]);

test('a table of 16 Ki slots and more is in one mapping advised for huge pages, its buckets in it: every session found through the growth into it', () => {
  assert.ok(rowMemory !== null, 'reserved buffers are on (the addon built, SVR_NATIVE_ROWS not 0)');
  const table = new OpenSessions('r1');
  const row = new Uint32Array(32);
  const open = (i: number): void => {
    row.fill(0);
    row[0] = (FACT_OPENED | (1 << 8) | (4 << 16) | (17 << 24)) >>> 0; // ingress, IPv4, UDP
    row.set(idOf(i), 4);
    row[14] = ((1024 + (i % 60000)) << 16) | 7;
    row[16] = (0xc6120000 | i) >>> 0;
    table.openRow(row, 0, 1000 + i, 61_000 + i, names);
  };
  const found = (i: number): number => table.findWords(idOf(i), 0);
  for (let i = 0; i < 20_000; i++) open(i); // 1,024 slots doubled to 32,768, through 16,384
  const m = mappings();
  // (the kernel may have merged it with the 16 Ki table's before it, not yet collected: both advised alike)
  assert.ok(m.some((x) => x.kB >= (32_768 * SLOT_BYTES) / 1024 && x.huge), '32 Ki slots and their buckets: MADV_HUGEPAGE');
  for (let i = 0; i < 20_000; i++) {
    const s = found(i);
    assert.ok(s >= 0, `session ${i} found`);
    table.setTotals(s, i, 1, 60 * i, 60);
  }
  for (let i = 0; i < 20_000; i += 2) table.drop(found(i));
  for (let i = 20_000; i < 30_000; i++) open(i); // into freed slots
  for (let i = 1; i < 30_000; i++) {
    const s = found(i);
    assert.is(s >= 0, i % 2 === 1 || i >= 20_000, `session ${i}: found while open`);
    if (s >= 0 && i < 20_000) assert.equal(table.record(s, 'end', 99_000, 'idle').packets, [i, 1], `session ${i}'s own totals`);
  }
  assert.is(table.size, 20_000);
});

test.run();
