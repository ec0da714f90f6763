/**
 * The flow table's first resize keeps V8's optimized code of its callers (flow-table.ts: the fields a resize writes
 * are written twice at construction). In a child node with --allow-natives-syntax: a lookup through a holder
 * object (as SessionTable.lookup reads this.v4), optimized on two tables, one of which then doubles; before
 * the change the resize dropped the lookup's code ("code dependencies": a field V8 took for a constant).
 */
import { execFileSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const FLOW_TABLE = new URL('../../../src/dataplane/flow-table.js', import.meta.url).href;

const CHILD = `
const { FlowTable } = await import(${JSON.stringify(FLOW_TABLE)});
const rows = new Uint32Array(4 * 64);
const keys = { keyOffset: 0, keyArray(v) { keys.keyOffset = v * 4; return rows; } };
class Holder { constructor() { this.t = new FlowTable(4, keys, 16); } }
const hs = [new Holder(), new Holder()];
function put(h, i) { rows.set([i, i * 7, 0, 1], i * 4); h.t.key.set(rows.subarray(i * 4, i * 4 + 4)); h.t.set(i, 0); }
function look(h, i, memo) { h.t.key[0] = i; h.t.key[1] = i * 7; h.t.key[2] = 0; h.t.key[3] = 1; return h.t.get(memo); }
for (let i = 0; i < 10; i++) put(hs[1], i);
%PrepareFunctionForOptimization(look);
for (let i = 0; i < 60; i++) { look(hs[i & 1], i % 20, i & 7); look(hs[i & 1], i % 20, i & 7); }
%OptimizeFunctionOnNextCall(look);
look(hs[0], 1, 1);
const before = (%GetOptimizationStatus(look) & 16) !== 0;
for (let i = 10; i < 40; i++) put(hs[1], i);
const found = look(hs[1], 30, -1);
const after = (%GetOptimizationStatus(look) & 16) !== 0;
console.log(JSON.stringify({ before, after, capacity: hs[1].t.capacity, found }));
`;

test('a lookup optimized before the first resize stays optimized after it', () => {
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', CHILD], { encoding: 'utf8' });
  const r = JSON.parse(out) as { before: boolean; after: boolean; capacity: number; found: number };
  assert.is(r.capacity, 64, 'the table doubled twice');
  assert.is(r.found, 30);
  assert.ok(r.before, 'the lookup was optimized');
  assert.ok(r.after, 'the resize dropped the optimized lookup');
});

test.run();
