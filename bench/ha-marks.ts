/**
 * What the HA change marks cost the data path (docs/performance.md "HA"), in process, no TUN:
 *   node dist/bench/ha-marks.js
 * `accountPacket` (every packet of a session) on a table of 100,000 sessions, rows picked at random so that
 * every packet misses the cache, marks off (a single node) against on (a pair's active node): 40 alternating
 * rounds of 1 M packets, the fastest of each (a loaded machine slows rounds, never speeds them up). Then a
 * collection of 1,700 marked rows of 100,000 (a second of 100,000 busy sessions at the 60 s expiry bound)
 * and a full one.
 */
import { SessionTable } from '../src/dataplane/session-table.js';
import { collectChanges } from '../src/dataplane/session-rows.js';
import { accountPacket } from '../src/dataplane/session-ops.js';
import type { DataplaneContext } from '../src/dataplane/context.js';

const SESSIONS = 100_000;
const PACKETS = 1_000_000;
const ROUNDS = 40;

function table(marks: boolean): SessionTable {
  const t = new SessionTable(SESSIONS);
  for (let i = 0; i < SESSIONS; i++) {
    const r = t.alloc(0);
    t.uuid.fill(i + 1, r * 4, r * 4 + 4);
    t.expires[r] = 180_000;
  }
  if (marks) collectChanges(t, 0, true, SESSIONS);
  return t;
}

function nsPerPacket(t: SessionTable): number {
  const ctx = { sessions: t, tables: { services: [] } } as unknown as DataplaneContext; // no service: the 180 s default timeout
  const t0 = performance.now();
  for (let p = 0; p < PACKETS; p++) accountPacket(ctx, (p * 7919) % SESSIONS, true, 1000, p / 1000);
  return ((performance.now() - t0) * 1e6) / PACKETS;
}

const off = table(false);
const on = table(true);
let bestOff = Infinity;
let bestOn = Infinity;
for (let k = 0; k < ROUNDS; k++) {
  bestOff = Math.min(bestOff, nsPerPacket(off));
  bestOn = Math.min(bestOn, nsPerPacket(on));
}
let collectMs = Infinity;
for (let k = 0; k < 20; k++) {
  for (let i = 0; i < 1700; i++) on.markSync((i * 59) % SESSIONS, 1);
  const t0 = performance.now();
  const c = collectChanges(on, 2, false);
  collectMs = Math.min(collectMs, performance.now() - t0);
  if (c.rowCount !== 1700) throw new Error(`collected ${c.rowCount} rows, marked 1700`);
}
const t0 = performance.now();
const full = collectChanges(on, 3, true, SESSIONS).rowCount;
const fullMs = performance.now() - t0;
process.stdout.write(`accountPacket, ${SESSIONS} sessions, ${ROUNDS} rounds of ${PACKETS} packets, fastest: marks off ${bestOff.toFixed(1)} ns, on ${bestOn.toFixed(1)} ns (${(bestOn / bestOff).toFixed(2)}x)\n`);
process.stdout.write(`collecting 1,700 marked rows of ${SESSIONS}: ${collectMs.toFixed(2)} ms (fastest of 20); a full collection of ${full} rows: ${fullMs.toFixed(0)} ms\n`);
