/**
 * The rows a full table keeps are collapsed into 2 MiB pages by its sweeps, a chunk a sweep (huge-rows.ts,
 * docs/performance.md "Wave 25, tab7"); a row column made after them starts from where the rows then were.
 * Reserved columns come from the addon: without it the file's tests are counted as skipped.
 */
import { readFileSync } from 'node:fs';
import * as assert from 'uvu/assert';
import { SessionTable } from '../../../src/dataplane/session-table.js';
import { requires } from '../../support/prerequisites.js';

const test = requires(import.meta.url); // the addon (skipped without it)

const T0 = 1_700_000_000_000;
/** rows: whole aligned 2 MiB chunks in the 8- and 16-byte columns wherever the kernel put them */
const ROWS = 1 << 19;

/** kB of this process's anonymous memory in huge pages (smaps_rollup). */
const hugeKb = (): number => Number(/AnonHugePages:\s+(\d+) kB/.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'))?.[1] ?? 0);

/** Sweeps at a time where nothing is due: only the sweep's other work (the flow tables' moves, the chunks). */
const sweeps = (t: SessionTable, n: number): void => {
  for (let i = 0; i < n; i++) t.sweep(T0 - 60_000, 1000, () => {});
};

test('the rows a full table keeps go into 2 MiB pages, one chunk a sweep', () => {
  const t = new SessionTable(1024);
  t.setLimit(1 << 20);
  for (let i = 0; i < ROWS; i++) t.alloc(T0);
  const before = hugeKb();
  sweeps(t, 1);
  assert.is(t.huge.chunks, 1, 'one chunk in the first sweep');
  assert.is(t.huge.rows, ROWS, 'every segment below has active rows');
  sweeps(t, 40);
  assert.ok(t.huge.chunks >= 10, `the 8- and 16-byte columns' chunks (${t.huge.chunks})`);
  assert.ok(hugeKb() - before >= 2048 * 10, `anonymous huge pages: ${before} -> ${hugeKb()} kB`);
  const done = t.huge.chunks;
  sweeps(t, 5);
  assert.is(t.huge.chunks, done, 'nothing more below the rows kept');
});

test('a segment without active rows stops the line; a column few rows write stays in 4 KiB pages', () => {
  const t = new SessionTable(1024);
  t.setLimit(1 << 20);
  const rows: number[] = [];
  for (let i = 0; i < ROWS; i++) rows.push(t.alloc(T0));
  for (const r of rows.slice(0, 1 << 14)) t.remove(r); // the first segment gives its memory back
  sweeps(t, 3);
  assert.equal([t.huge.rows, t.huge.chunks], [0, 0], 'nothing below a segment given back');
  for (let i = 0; i < 1 << 14; i++) t.alloc(T0); // the first segment's rows again
  t.setTag(rows[1 << 15]!, 7); // the tags column (4 bytes a row): one row written
  sweeps(t, 80);
  assert.is(t.huge.rows, ROWS);
  const chunks = t.huge.chunks;
  const before = hugeKb();
  for (const r of rows.slice(1 << 14)) t.setTag(r, 7); // now every row has a tag: its chunks were left before
  sweeps(t, 10);
  assert.is(t.huge.chunks, chunks, 'the tag column\'s chunks were passed when it was sparse');
  assert.ok(hugeKb() >= before);
});

test.run();
