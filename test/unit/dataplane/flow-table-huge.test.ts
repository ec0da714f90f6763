/**
 * A flow table's slot buffer of 512 Ki slots or more is reserved with MADV_HUGEPAGE (at 1 M sessions a lookup's
 * 4 KiB page missed the TLB: docs/performance.md "Wave 24, tab6"); a smaller one is not. Reserved buffers come from
 * the addon: without it the file's test is counted as skipped.
 */
import * as assert from 'uvu/assert';
import { FlowTable, type FlowKeys } from '../../../src/dataplane/flow-table.js';
import { rowMemory } from '../../../src/dataplane/row-memory.js';
import { requires } from '../../support/prerequisites.js';
import { mappings } from '../../support/smaps.js';

const test = requires(import.meta.url); // the addon (skipped without it)

/** An empty table of `slots` slots (no key is read: nothing is inserted). */
function emptyTable(slots: number): FlowTable {
  const keys: FlowKeys = { keyOffset: 0, keyArray: () => new Uint32Array(4) };
  return new FlowTable(4, keys, slots);
}

test('a slot buffer of 512 Ki slots or more is advised for huge pages (at 1 M sessions a lookup\'s page missed the TLB), a smaller one is not', () => {
  assert.ok(rowMemory !== null, 'reserved buffers are on (the addon built, SVR_NATIVE_ROWS not 0)');
  const big = emptyTable(1 << 19);
  const small = emptyTable(1 << 16);
  const m = mappings();
  assert.ok(m.some((x) => x.kB === (5 << 19) / 1024 && x.huge), '2.5 MiB of slots: MADV_HUGEPAGE');
  assert.not.ok(m.some((x) => x.kB === (5 << 16) / 1024 && x.huge), '320 KiB of slots: 4 KiB pages');
  assert.is(big.capacity + small.capacity, (1 << 19) + (1 << 16));
});

test.run();
