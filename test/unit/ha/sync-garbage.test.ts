/**
 * What the active's sync makes of garbage per synced row, once its code is optimized (docs/performance.md "HA",
 * ha26): a collection (dataplane/session-rows.ts collectChanges) and the sync link's cut into batches (ha/sync-link.ts
 * flush). In a child node (synchronous optimization, a young generation that does not fill within a round): the
 * heap's growth per row over rounds without a garbage collection. Math.min of two doubles made a heap number a row
 * in each (16.5 and about 20 B a row: at 34,000 sessions/s, 1.2 MB/s of garbage on the pair's active node).
 */
import { execFileSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const src = (path: string): string => JSON.stringify(new URL(`../../../src/${path}`, import.meta.url).href);

const CHILD = `
const { getHeapStatistics } = await import('node:v8');
const { SessionTable } = await import(${src('dataplane/session-table.js')});
const { collectBuffers, collectChanges } = await import(${src('dataplane/session-rows.js')});
const { SyncLink } = await import(${src('ha/sync-link.js')});
const heap = () => getHeapStatistics().used_heap_size;
/** the heap's growth per row over the second half of the rounds (the first warm the code up); a young generation of
 *  256 MB is not collected within them (a round's own growth shows as V8 retires its allocation buffers: not per round) */
function perRow(round, rounds) {
  for (let i = 0; i < rounds / 2; i++) round();
  const h = heap();
  let rows = 0;
  for (let i = rounds / 2; i < rounds; i++) rows += round();
  return (heap() - h) / rows;
}
const t = new SessionTable(1 << 15);
const ip = new Uint32Array(2);
const key = { family: 4, src: ip, srcOff: 0, dst: ip, dstOff: 1, srcPort: 0, dstPort: 7, protocol: 17, ifIndex: 0 };
const rows = [];
let now = 1000.5;
for (let i = 0; i < 20000; i++) {
  const r = t.alloc(now);
  t.uuid[r * 4] = (i * 2654435761) >>> 0;
  t.uuid[r * 4 + 1] = i;
  t.indexUuid(r);
  [t.role[r], t.family[r], t.protocol[r], t.expires[r]] = [1, 4, 17, now + 300000];
  [ip[0], ip[1], key.srcPort] = [0xc6120000 + i, 0xc6120314, 1024 + i];
  t.insertKey(r, 'in', key);
  rows.push(r);
}
const bufs = collectBuffers();
const collect = perRow(() => {
  now += 20.25;
  for (const r of rows) t.markSync(r, now);
  let n = 0;
  for (let k = 0; k < 20; k++) n += collectChanges(t, now + 50, false, 1000, 0, 10, bufs).rowCount;
  return n;
}, 60);
const link = new SyncLink({ node: 'r1a', partner: 'r1b', localAddress: '127.0.0.1', partnerAddress: '127.0.0.2', port: 1, key: new Uint8Array(32), onHeartbeat() {}, onRecords() {}, maxDatagram: 32000, dgram: true });
link.socket = { send() {}, close() {}, start() {}, kind: 'dgram' }; // nothing on the wire: the link's own work
const part = collectChanges(t, now + 50, true, 600, 0, 0, collectBuffers());
const flush = perRow(() => {
  for (let k = 0; k < 20; k++) {
    link.queueFramed(part.rows, part.rowCount, now + k);
    link.flush();
    link.acked(link.nextBatch - 1); // the partner's acknowledgement: the batches leave the window, their buffers are reused
  }
  return 20 * part.rowCount;
}, 60);
console.log(JSON.stringify({ collect, flush, rows: part.rowCount }));
`;

test('a collection and the link\'s batches make no garbage per synced row once optimized', () => {
  const out = execFileSync(process.execPath, ['--no-concurrent-recompilation', '--max-semi-space-size=256', '--min-semi-space-size=256', '--input-type=module', '-e', CHILD], { encoding: 'utf8' });
  const r = JSON.parse(out) as { collect: number; flush: number; rows: number };
  assert.is(r.rows, 600);
  assert.ok(r.collect < 4, `collectChanges: ${r.collect.toFixed(1)} B of heap a row`);
  assert.ok(r.flush < 8, `SyncLink.flush: ${r.flush.toFixed(1)} B of heap a row`);
});

test.run();
