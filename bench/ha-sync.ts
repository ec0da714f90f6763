/**
 * What session sync costs per row, in process, over a real UDP sync link on loopback (docs/performance.md
 * "HA"): `node dist/bench/ha-sync.js [rows/s] [seconds] [lifetime-ms]`.
 * The active's thread creates IPv4 sessions in a session table at a steady rate (batches every 5 ms, as the
 * data path would; each living `lifetime-ms`, default 1,000; the case's sessions outlive its test: a lifetime
 * longer than the run makes the standby's replica grow as it does there) and runs a pair node that syncs them (dataplane/session-rows.ts collectChanges,
 * node/ha-sessions.ts, ha/pair-node.ts); the standby is a pair node in a worker thread of its own. Each
 * round runs the same creation loop twice, alone (one node) and with the pair; the difference of the main
 * thread's CPU time per row is what the sync costs the active's thread, the worker's is the standby's.
 * Rounds alternate; the smallest of each is printed with the load average, and the minor page faults of both
 * threads per session (a page touched first costs 17-18 µs on the benchmark's PVM guest). The rows are created straight into
 * the table (no packets), so the figures are the sync's alone.
 */
import { Worker } from 'node:worker_threads';
import { loadavg } from 'node:os';
import { randomBytes } from 'node:crypto';
import { threadCpu, threadFaults } from './ha-sync-cpu.js';
import { createSocket } from 'node:dgram';
import { SessionTable } from '../src/dataplane/session-table.js';
import { collectBuffers, collectChanges } from '../src/dataplane/session-rows.js';
import { PairNode } from '../src/ha/pair-node.js';
import { lagPercentile } from '../src/ha/sync-link.js';
import { HaSessions } from '../src/node/ha-sessions.js';
import type { Redundancy } from '../src/model/config.js';

const RATE = Number(process.argv[2] ?? 20_000);
const SECONDS = Number(process.argv[3] ?? 3);
const LIFETIME_MS = Number(process.argv[4] ?? 1000);
const ROUNDS = 3;
const TICK_MS = 5;


const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const freePort = (address: string): Promise<number> => new Promise((resolve) => {
  const s = createSocket('udp4');
  s.bind(0, address, () => { const p = s.address().port; s.close(() => resolve(p)); });
});

/** Creates RATE sessions a second for SECONDS, each living LIFETIME_MS (or until `end`); returns the main thread's
 *  CPU seconds and minor page faults, the sessions still live and `end`, which removes them. */
async function createLoad(t: SessionTable, clock: () => number): Promise<{ cpu: number; faults: number; rows: number; live: number; end: () => void }> {
  const cpu0 = threadCpu();
  const faults0 = threadFaults();
  const start = clock();
  let made = 0;
  const live: number[] = [];
  const ip = new Uint32Array(2);
  while (clock() - start < SECONDS * 1000) {
    const now = clock();
    const due = Math.floor(((now - start) / 1000) * RATE);
    for (; made < due; made++) {
      const r = t.alloc(now);
      if (r < 0) break;
      t.uuid.set(randomWords(), r * 4);
      t.indexUuid(r);
      [t.role[r], t.family[r], t.protocol[r], t.expires[r]] = [1, 4, 17, now + 30_000];
      ip[0] = 0xc6120000 + (made & 0xffff);
      ip[1] = 0xc6120314;
      t.insertKey(r, 'in', { family: 4, src: ip, srcOff: 0, dst: ip, dstOff: 1, srcPort: 1024 + (made >>> 16), dstPort: 7, protocol: 17, ifIndex: 0 });
      live.push(r, now);
    }
    let ended = 0;
    while (ended < live.length && now - live[ended + 1]! > LIFETIME_MS) t.remove(live[(ended += 2) - 2]!);
    live.splice(0, ended);
    await sleep(TICK_MS);
  }
  const cpu = threadCpu() - cpu0;
  const faults = threadFaults() - faults0;
  return { cpu, faults, rows: made, live: live.length / 2, end: () => { for (let i = 0; i < live.length; i += 2) t.remove(live[i]!); } };
}

const words = new Uint32Array(4);
function randomWords(): Uint32Array {
  const b = randomBytes(16);
  for (let w = 0; w < 4; w++) words[w] = b.readUInt32BE(w * 4);
  return words;
}

async function main(): Promise<void> {
  const [pa, pb] = [await freePort('127.0.0.1'), await freePort('127.0.0.2')];
  const redundancy: Redundancy = {
    nodes: [{ name: 'r1a', priority: 200, syncAddress: '127.0.0.1' }, { name: 'r1b', priority: 100, syncAddress: '127.0.0.2' }],
    preempt: false, heartbeatInterval: 100, heartbeatMisses: 50, syncPort: 0, sharedKey: randomBytes(32).toString('base64'), sharedAddresses: [],
  };
  const clock = (): number => performance.now();
  const capacity = Math.max(65_536, 2 ** Math.ceil(Math.log2(1.5 * RATE * Math.min(SECONDS, LIFETIME_MS / 1000 + 0.5))));
  const t = new SessionTable(capacity);
  const collected = collectBuffers(); // as the in-thread host (one worker) collects: into buffers of its own
  const sessions = new HaSessions({
    collectSessionChanges: async (full, minAgeMs) => collectChanges(t, clock(), full, undefined, 0, minAgeMs, collected),
    importSessions: async () => ({ installed: 0, present: 0, refused: 0 }),
    removeAllSessions: () => {},
  }, () => {});
  const a = new PairNode({ redundancy, node: 'r1a', linksUp: () => 2, collect: (q, full) => sessions.collect(q, full), ports: { local: pa, partner: pb } });
  sessions.bind(a);
  await a.start();
  while (a.role !== 'active') await sleep(10);
  const standby = new Worker(new URL('./ha-sync-standby.js', import.meta.url), { workerData: { redundancy, ports: { local: pb, partner: pa } } });
  const ask = (m: string): Promise<{ cpu: number; faults: number; replica: number }> => new Promise((resolve) => { standby.once('message', resolve); standby.postMessage(m); });
  await ask('started');
  const lone = new SessionTable(capacity); // the same load, not synced
  const best = { one: Infinity, pair: Infinity, standby: Infinity, faultsOne: Infinity, faultsPair: Infinity, faultsStandby: Infinity };
  let lags: number[] = [];
  let rows = 0;
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const alone = await createLoad(lone, clock);
      alone.end();
      await ask('clear'); // a fresh replica each round, as a standby that starts with the pair
      const before = await ask('cpu');
      const lag0 = a.status().lag.changeLagMs;
      const paired = await createLoad(t, clock);
      let after = await ask('cpu');
      for (let i = 0; i < 100 && after.replica < paired.live; i++) { // the last rows go out with the next collection
        await sleep(30);
        after = await ask('cpu');
      }
      paired.end();
      for (let waited = 0, left = after.replica; waited < 20_000 && left > 0; waited += 30) { // the removals (not counted; a loaded host takes seconds)
        await sleep(30);
        left = (await ask('cpu')).replica;
        if (left === 0) after.replica = 0;
      }
      lags = a.status().lag.changeLagMs.map((n, i) => n - lag0[i]!);
      rows = paired.rows;
      best.one = Math.min(best.one, (alone.cpu * 1e6) / alone.rows);
      best.pair = Math.min(best.pair, (paired.cpu * 1e6) / paired.rows);
      best.standby = Math.min(best.standby, ((after.cpu - before.cpu) * 1e6) / paired.rows);
      best.faultsOne = Math.min(best.faultsOne, alone.faults / alone.rows);
      best.faultsPair = Math.min(best.faultsPair, paired.faults / paired.rows);
      best.faultsStandby = Math.min(best.faultsStandby, (after.faults - before.faults) / paired.rows);
      if (after.replica > 0) throw new Error(`the standby's replica holds ${after.replica} rows after every session ended`);
    }
  } finally {
    a.stop();
    await standby.terminate();
  }
  const load = loadavg().map((x) => x.toFixed(1)).join(' ');
  process.stdout.write(`session sync in process, ${RATE} sessions/s for ${SECONDS} s (${rows} rows, each living ${LIFETIME_MS} ms), fastest of ${ROUNDS} rounds, load ${load}:\n`);
  process.stdout.write(`  active's thread per session: one node ${best.one.toFixed(1)} µs, pair ${best.pair.toFixed(1)} µs: the sync ${(best.pair - best.one).toFixed(1)} µs\n`);
  process.stdout.write(`  standby's thread per session: ${best.standby.toFixed(1)} µs (the row, and its removal if it ended)\n`);
  process.stdout.write(`  minor page faults per 1,000 sessions: active's thread one node ${(best.faultsOne * 1000).toFixed(1)}, pair ${(best.faultsPair * 1000).toFixed(1)}; standby's thread ${(best.faultsStandby * 1000).toFixed(1)}\n`);
  const st = sessions.stats();
  const c = a.status().counters;
  process.stdout.write(`  all rounds: ${st.upserts} rows and ${st.deletes} removals in ${st.collections} collections (the longest wait for one ${st.maxWaitMs.toFixed(0)} ms), ${c.batchesSent} batches, ${c.batchesResent} resent, acknowledged within ${a.status().lag.maxMs.toFixed(0)} ms\n`);
  process.stdout.write(`  change lag (last round): p50 <= ${lagPercentile(lags, 50)} ms, p99 <= ${lagPercentile(lags, 99)} ms\n`);
}

await main();
