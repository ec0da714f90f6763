/**
 * A worker's report counts sessions per path, service and tenant in slices of the table (views.ts TallyWalk):
 * a whole walk at 1 M rows held the data path's thread 10-20 ms every second (docs/performance.md, wave 22 tab4).
 * The counts of a lap are the whole table's, the sessions active are always the table's own.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SessionTable } from '../../../src/dataplane/session-table.js';
import { TallyWalk, tallySessions } from '../../../src/dataplane/views.js';
import type { ForwardingTables } from '../../../src/model/tables.js';

const T0 = 1_700_000_000_000;

function context(rows: number): { sessions: SessionTable; tables: ForwardingTables } {
  const sessions = new SessionTable(16);
  for (let i = 0; i < rows; i++) {
    const r = sessions.alloc(T0);
    sessions.path[r] = i % 3;
    sessions.service[r] = i % 2;
    sessions.tenant[r] = 0;
  }
  const tables = { paths: [{}, {}, {}], services: [{}, {}], tenants: ['t'] } as unknown as ForwardingTables;
  return { sessions, tables };
}

test('a table larger than a slice: the counts of the last whole lap, the active count now', () => {
  const ctx = context(1000);
  const walk = new TallyWalk();
  const whole = tallySessions(ctx);
  assert.equal(whole.perPath, [334, 333, 333]);
  const slices = Math.ceil(ctx.sessions.capacity / 300);
  for (let i = 1; i < slices; i++) {
    const t = walk.step(ctx, 300);
    assert.is(t.active, 1000);
    assert.equal(t.perPath, [0, 0, 0], `before the first lap ends (slice ${i})`);
  }
  assert.equal(walk.step(ctx, 300), whole, 'the lap ends: the whole table');
  ctx.sessions.remove(0);
  const t = walk.step(ctx, 300);
  assert.is(t.active, 999, 'active now');
  assert.equal(t.perPath, whole.perPath, 'per path: the last whole lap until the next ends');
});

test('a table within a slice is counted whole every step; ids past the tables are left out', () => {
  const ctx = context(10);
  ctx.sessions.path[0] = 7;
  const walk = new TallyWalk();
  assert.equal(walk.step(ctx), { active: 10, limit: ctx.sessions.limit, perPath: [3, 3, 3], perService: [5, 5], perTenant: [10] });
});

test.run();
