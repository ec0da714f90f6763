/**
 * Does the data path scale with worker threads? A synthetic in-process load (no TUN, no sockets):
 * W worker threads, each running r1's Dataplane with worker ownership (shared steering table, hand-off
 * ports between workers, its own waypoint port slice), feed 64 established UDP sessions LAN -> WAN
 * as fast as they can for a few seconds. Two feeds:
 *   aligned: each worker is fed only the flows it owns (an ideal NIC hash: no hand-off);
 *   spread:  each worker is fed every flow (a NIC hash that ignores ownership: with 2 workers half of
 *            the packets land on the wrong worker and are handed over in batches).
 * Sessions are opened before timing by a private r2 per worker (not timed). HMAC 'regular'. Output: packets/s per run and the
 * ratio W=2 / W=1 (and W=4 where the machine has the cores). Run: node dist/bench/workers.js [--seconds 3]
 */
import { availableParallelism } from 'node:os';
import { writeFileSync } from 'node:fs';
import { isMainThread, MessageChannel, parentPort, Worker, workerData, type MessagePort } from 'node:worker_threads';
import { Dataplane } from '../src/dataplane/dataplane.js';
import { MAX_BATCH } from '../src/dataplane/batch.js';
import { KW4, writeKeyFromBytes } from '../src/dataplane/flow-key.js';
import { parseAddress } from '../src/packet/addr.js';
import { compileRouter } from '../src/model/compile.js';
import { parseConfig } from '../src/model/validate.js';
import { inProcessConfig, Sink } from './inprocess-config.js';
import { buildUdp } from '../src/packet/build.js';
import { createSteering, defaultOwner, type SteeringShared } from '../src/dataplane/steering.js';
import { packBatch } from '../src/workers/channel-port.js';

const FLOWS = 64;
const SIZE = 1400;
const CLIENT = parseAddress('198.18.1.10')!.bytes;
const SERVER = parseAddress('198.18.3.20')!.bytes;

interface LoadInit { index: number; count: number; steering: SteeringShared; feed: 'aligned' | 'spread'; ms: number }
type LoadResult = { index: number; txPackets: number; handedOff: number; sessions: number; drops: number };


function ownerOfFlow(port: number, count: number): number {
  const k = new Uint32Array(16);
  writeKeyFromBytes(k, 4, Uint8Array.of(...CLIENT, ...SERVER), 0, 4, port, 5000, 17, 0);
  return defaultOwner(k, KW4, count);
}

function batchOf(ports: number[]): { data: Uint8Array; off: Uint32Array; len: Uint32Array; n: number } {
  const pkts = Array.from({ length: MAX_BATCH }, (_, i) => buildUdp({ src: CLIENT, dst: SERVER, srcPort: ports[i % ports.length]!, dstPort: 5000, payload: new Uint8Array(SIZE) }));
  const data = new Uint8Array(pkts.reduce((n, p) => n + p.length, 0));
  const off = new Uint32Array(MAX_BATCH), len = new Uint32Array(MAX_BATCH);
  let o = 0;
  pkts.forEach((p, i) => { data.set(p, o); off[i] = o; len[i] = p.length; o += p.length; });
  return { data, off, len, n: MAX_BATCH };
}

async function load(init: LoadInit, peers: Map<number, MessagePort>): Promise<LoadResult> {
  const config = parseConfig(inProcessConfig(false));
  const lan1 = new Sink(), wan1 = new Sink(), lan2 = new Sink(), wan2 = new Sink();
  const r1 = new Dataplane({
    tables: compileRouter(config, 'r1', 1), ports: [lan1, wan1],
    ownership: {
      index: init.index, count: init.count, steering: init.steering,
      send: (owner, ifIndex, data, offsets, lengths, count) => {
        const b = packBatch(data, offsets, lengths, count);
        peers.get(owner)?.postMessage({ ifIndex, ...b }, [b.data.buffer as ArrayBuffer, b.offsets.buffer as ArrayBuffer, b.lengths.buffer as ArrayBuffer]);
      },
    },
  });
  for (const port of peers.values()) {
    port.on('message', (h: { ifIndex: number; data: Uint8Array; offsets: Uint32Array; lengths: Uint32Array; count: number }) => r1.receiveHandoff(h.ifIndex, h.data, h.offsets, h.lengths, h.count));
  }
  const r2 = new Dataplane({ tables: compileRouter(config, 'r2', 1), ports: [lan2, wan2] });
  const all = Array.from({ length: FLOWS }, (_, i) => 40000 + i);
  const mine = all.filter((p) => ownerOfFlow(p, init.count) === init.index);
  // open and confirm this worker's sessions: first packet r1 -> r2, reverse r2 -> r1
  wan1.keep = wan2.keep = true;
  for (const port of mine) {
    const first = buildUdp({ src: CLIENT, dst: SERVER, srcPort: port, dstPort: 5000, payload: new Uint8Array(SIZE) });
    r1.receive(0, first, Uint32Array.of(0), Uint32Array.of(first.length), 1);
    r2.receive(1, wan1.data, wan1.off, wan1.len, wan1.count);
    const rev = buildUdp({ src: SERVER, dst: CLIENT, srcPort: 5000, dstPort: port, payload: new Uint8Array(8) });
    r2.receive(0, rev, Uint32Array.of(0), Uint32Array.of(rev.length), 1);
    r1.receive(1, wan2.data, wan2.off, wan2.len, wan2.count);
  }
  wan1.keep = wan2.keep = false;
  const feed = batchOf(init.feed === 'aligned' ? mine : all);
  parentPort!.postMessage({ t: 'ready' });
  await new Promise<void>((resolve) => parentPort!.once('message', () => resolve()));
  const before = wan1.packets;
  const end = Date.now() + init.ms;
  while (Date.now() < end) {
    for (let i = 0; i < 16; i++) r1.receive(0, feed.data, feed.off, feed.len, feed.n);
    await new Promise((r) => setImmediate(r)); // hand-off batches from the other workers are processed here
  }
  const c = r1.counters.snapshot();
  const drops = Object.entries(c).filter(([k]) => k.startsWith('drop-')).reduce((n, [, v]) => n + v, 0);
  return { index: init.index, txPackets: wan1.packets - before, handedOff: c['consumed-handed-off'] ?? 0, sessions: r1.sessions.active, drops };
}

async function runOnce(count: number, feed: 'aligned' | 'spread', ms: number): Promise<{ pps: number; handedOffPct: number; results: LoadResult[] }> {
  const steering = createSteering(1 << 12);
  const workers = Array.from({ length: count }, (_, index) => new Worker(new URL(import.meta.url), { workerData: { index, count, steering, feed, ms } satisfies LoadInit }));
  for (let i = 0; i < count; i++) {
    for (let j = i + 1; j < count; j++) {
      const ch = new MessageChannel();
      workers[i]!.postMessage({ peer: j, port: ch.port1 }, [ch.port1]);
      workers[j]!.postMessage({ peer: i, port: ch.port2 }, [ch.port2]);
    }
  }
  workers.forEach((w) => w.postMessage({ go: true }));
  const next = (w: Worker) => new Promise<{ t: string } & Partial<LoadResult>>((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
  await Promise.all(workers.map(next)); // ready
  const t0 = Date.now();
  const done = workers.map(next);
  workers.forEach((w) => w.postMessage({ start: true }));
  const results = (await Promise.all(done)) as unknown as LoadResult[];
  const seconds = (Date.now() - t0) / 1000;
  await Promise.all(workers.map((w) => w.terminate()));
  const tx = results.reduce((n, r) => n + r.txPackets, 0);
  const handed = results.reduce((n, r) => n + r.handedOff, 0);
  return { pps: tx / seconds, handedOffPct: tx > 0 ? (100 * handed) / tx : 0, results };
}

if (!isMainThread) {
  const init = workerData as LoadInit;
  const peers = new Map<number, MessagePort>();
  const setup = (m: { peer?: number; port?: MessagePort; go?: boolean }) => {
    if (m.peer !== undefined && m.port !== undefined) peers.set(m.peer, m.port);
    if (m.go === true) {
      parentPort!.off('message', setup);
      void load(init, peers).then((r) => parentPort!.postMessage({ t: 'done', ...r }));
    }
  };
  parentPort!.on('message', setup);
} else {
  const arg = (name: string, def: number) => { const i = process.argv.indexOf(name); return i > 0 ? Number(process.argv[i + 1]) : def; };
  const ms = arg('--seconds', 1.5) * 1000;
  const rounds = arg('--rounds', 5);
  const cores = availableParallelism();
  const counts = [1, 2, ...(cores >= 4 ? [4] : [])];
  const feeds = ['aligned', 'spread'] as const;
  console.log(`workers bench: ${FLOWS} UDP ${SIZE} B sessions through r1's data path; ${rounds} rounds of ${ms / 1000} s per setting, settings interleaved (the machine is shared: medians); ${cores} cores`);
  const samples = new Map<string, { pps: number; handedOffPct: number; sessions: number[]; drops: number }[]>();
  for (let round = 1; round <= rounds; round++) {
    for (const feed of feeds) {
      for (const count of counts) {
        const r = await runOnce(count, feed, ms);
        const key = `${feed}/${count}`;
        samples.set(key, [...(samples.get(key) ?? []), { pps: r.pps, handedOffPct: r.handedOffPct, sessions: r.results.map((x) => x.sessions), drops: r.results.reduce((n, x) => n + x.drops, 0) }]);
        process.stdout.write(`  round ${round}/${rounds} ${feed} ${count} worker${count > 1 ? 's' : ''}: ${(r.pps / 1000).toFixed(1)} kpps\n`);
      }
    }
  }
  const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
  const rows = feeds.flatMap((feed) => {
    const base = median(samples.get(`${feed}/1`)!.map((x) => x.pps));
    return counts.map((count) => {
      const xs = samples.get(`${feed}/${count}`)!;
      const pps = median(xs.map((x) => x.pps));
      return { feed, workers: count, pps: Math.round(pps), ratio: pps / base, handedOffPct: Math.round(median(xs.map((x) => x.handedOffPct))), sessions: xs[0]!.sessions, drops: xs.reduce((n, x) => n + x.drops, 0), samples: xs.map((x) => Math.round(x.pps)) };
    });
  });
  console.log('\nFEED     WORKERS  MEDIAN KPPS  VS 1 WORKER  HANDED OFF  SESSIONS/WORKER  DROPS');
  for (const r of rows) {
    console.log(`${r.feed.padEnd(8)} ${String(r.workers).padStart(7)}  ${(r.pps / 1000).toFixed(1).padStart(11)}  ${('x' + r.ratio.toFixed(2)).padStart(11)}  ${(r.handedOffPct + '%').padStart(10)}  ${r.sessions.join('/').padStart(15)}  ${String(r.drops).padStart(5)}`);
  }
  const out = new URL('../../bench/workers-results.json', import.meta.url);
  writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), cores, flows: FLOWS, size: SIZE, seconds: ms / 1000, rounds, rows }, null, 2) + '\n');
  console.log(`wrote ${out.pathname}`);
}
