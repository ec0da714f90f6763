/**
 * The session table keeps its sessions per tenant, service and path (session-counts.ts): the same figures as a walk
 * over every row through any mix of opens, class and path changes and ends, for rows imported from an HA partner too,
 * and a tally (views.ts tallySessions) reads them without looking at a row.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SessionTable } from '../../../src/dataplane/session-table.js';
import { collectChanges, importRows } from '../../../src/dataplane/session-rows.js';
import { tallySessions } from '../../../src/dataplane/views.js';
import type { ForwardingTables } from '../../../src/model/tables.js';
import { prng } from '../../support/prng.js';

const IDS = 40; // past the counts' first array: it grows

function walk(t: SessionTable): { perTenant: number[]; perService: number[]; perPath: number[] } {
  const out = { perTenant: new Array<number>(IDS).fill(0), perService: new Array<number>(IDS).fill(0), perPath: new Array<number>(IDS).fill(0) };
  for (let r = 0; r < t.capacity; r++) {
    if (!t.isActive(r)) continue;
    if (t.tenant[r]! >= 0) out.perTenant[t.tenant[r]!]!++;
    if (t.service[r]! >= 0) out.perService[t.service[r]!]!++;
    if (t.path[r]! >= 0) out.perPath[t.path[r]!]!++;
  }
  return out;
}
const kept = (t: SessionTable) => ({ perTenant: t.perTenant.list(IDS), perService: t.perService.list(IDS), perPath: t.perPath.list(IDS) });

test('opens, class and path changes and ends in any order: the counts are a walk\'s', () => {
  const t = new SessionTable(16);
  const rnd = prng(23);
  const live: number[] = [];
  for (let step = 0; step < 20_000; step++) {
    const op = rnd() * 10;
    if (op < 4 || live.length === 0) {
      const r = t.alloc(step);
      t.setClass(r, Math.floor(rnd() * IDS), Math.floor(rnd() * IDS));
      if (rnd() < 0.8) t.setPath(r, Math.floor(rnd() * IDS)); // the others stay local (-1)
      live.push(r);
    } else if (op < 6) {
      t.setPath(live[Math.floor(rnd() * live.length)]!, Math.floor(rnd() * IDS) - 1); // a move, or none
    } else if (op < 7) {
      t.setClass(live[Math.floor(rnd() * live.length)]!, Math.floor(rnd() * IDS), Math.floor(rnd() * IDS)); // a reload's renumbering
    } else {
      const i = Math.floor(rnd() * live.length);
      t.remove(live[i]!);
      live.splice(i, 1);
    }
    if (step % 1000 === 0) assert.equal(kept(t), walk(t), `step ${step}`);
  }
  assert.equal(kept(t), walk(t));
  for (const r of live) t.remove(r);
  assert.ok(kept(t).perPath.every((n) => n === 0) && kept(t).perService.every((n) => n === 0), 'all ended: all 0');
});

test('rows imported from an HA partner are counted as the partner counts them', () => {
  const a = new SessionTable(16);
  for (let i = 0; i < 300; i++) {
    const r = a.alloc(1000);
    a.family[r] = 4; // a row has a family: one without is refused on import
    a.expires[r] = 60_000;
    a.uuid.fill(i + 1, r * 4, r * 4 + 4);
    a.indexUuid(r);
    a.setClass(r, i % 3, i % 7);
    a.setPath(r, i % 5 === 0 ? -1 : i % 4);
  }
  const b = new SessionTable(16);
  const got = importRows(b, collectChanges(a, 2000, true).rows, 2000);
  assert.is(b.active, 300, `imported (${JSON.stringify(got)})`);
  assert.equal(kept(b), walk(a));
  assert.equal(kept(b), walk(b));
});

test('a tally reads the counts, not the rows', () => {
  const t = new SessionTable(16);
  for (let i = 0; i < 1000; i++) {
    const r = t.alloc(0);
    t.setClass(r, 0, i % 2);
    t.setPath(r, i % 3);
  }
  let looked = 0;
  const isActive = t.isActive.bind(t);
  t.isActive = (r: number) => { looked++; return isActive(r); };
  const tables = { paths: [{}, {}, {}], services: [{}, {}], tenants: ['t'] } as unknown as ForwardingTables;
  assert.equal(tallySessions({ sessions: t, tables }), { active: 1000, limit: t.limit, perPath: [334, 333, 333], perService: [500, 500], perTenant: [1000] });
  assert.is(looked, 0, 'no row looked at');
});

test.run();
