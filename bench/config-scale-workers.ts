/**
 * Config at scale with `--workers N` (bench/config-scale.ts `--workers`): r1 with its data path in N worker
 * threads (WorkerHost, channel io), its table filled with first packets through the workers' lan0 channels,
 * then a reload of the file as `svr node reload` does it (the config thread reads and validates it and builds the
 * access table and FIB; the node's thread compiles its own copy in turns; each worker rebuilds the config from the
 * shared slices, compiles in turns and swaps) while a 1 ms timer feeds each worker a batch of established packets.
 * A gap is the time between two batches that come out of one worker's wan0 channel.
 * The channels are relayed by this (the node's) thread (worker-host.ts openRelay), so a gap here is the larger of
 * this thread's turns and the worker's: an upper bound of what a worker on TUN queues would see.
 *
 *   main: Router(WorkerHost) -> fill through lan0 channels -> feed every 1 ms -> applyConfigFile -> gaps per step
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Router } from '../src/control/router.js';
import { parseConfig } from '../src/model/validate.js';
import { prepareConfigInThread } from '../src/node/config-thread.js';
import { packBatch, type ChannelBatch } from '../src/workers/channel-port.js';
import { WorkerHost } from '../src/workers/worker-host.js';
import { stampFlows, udpSlab } from './udp-slab.js';

export interface WorkersReload {
  workers: number;
  /** active sessions in r1's workers when the reload ran */
  sessions: number;
  fillSeconds: number;
  /** applyConfigFile, wall time: from the call until the node's thread swapped (the workers' swaps follow) */
  reloadMs: number;
  /** the longest gap between two batches out of any worker: during the reload, and in the same time before it */
  maxGapMs: number;
  maxGapBeforeMs: number;
  /** the longest gap that ended while the config thread worked, after its answer until the node's swap, and in the
   *  SETTLE_MS after it (the workers' rebuild, compile and swap) */
  maxGapByStep: { thread: number; node: number; workers: number };
}

const BATCH = 64;
/** packets per worker per 1 ms while the reload runs */
const FEED = 16;
/** the window after the node's swap in which the workers rebuild, compile and swap */
const SETTLE_MS = 3000;

/** Posts `count` packets of a slab to a channel (a copy: the channel takes its buffers). */
function post(port: import('node:worker_threads').MessagePort, slab: Uint8Array, offs: Uint32Array, lens: Uint32Array, count: number): void {
  const b = packBatch(slab, offs, lens, count);
  port.postMessage(b, [b.data.buffer as ArrayBuffer, b.offsets.buffer as ArrayBuffer, b.lengths.buffer as ArrayBuffer]);
}

/** r1 from `yaml` in `workers` threads, `sessions` opened, then `changedYaml` reloaded under a 1 ms feed. */
export async function reloadWithWorkers(yaml: string, changedYaml: string, workers: number, sessions: number): Promise<WorkersReload> {
  const dir = mkdtempSync(join(tmpdir(), 'config-scale-'));
  const file = join(dir, 'authority.yaml');
  writeFileSync(file, changedYaml);
  const r1 = new Router(parseConfig(yaml, 'scale'), new WorkerHost({ workers, io: { kind: 'channel' } }), { name: 'r1', liveness: 'static' });
  const lan = [...Array(workers).keys()].map((w) => r1.host.channel(w, 'lan0'));
  const wan = [...Array(workers).keys()].map((w) => r1.host.channel(w, 'wan0'));
  const stamps: number[][] = wan.map(() => []);
  let out = 0;
  let feeding = false;
  wan.forEach((port, w) => port.on('message', (b: ChannelBatch) => {
    out += b.count;
    if (feeding) stamps[w]!.push(performance.now());
  }));
  let timer: NodeJS.Timeout | undefined;
  try {
    await r1.start();
    // fill: first packets t0 -> s0 as config-scale.ts fill(), batches round-robin over the workers, 64 batches in flight
    const { slab, offs, lens, stamp } = udpSlab(BATCH);
    const t0 = performance.now();
    for (let sent = 0; sent < sessions;) {
      const m = Math.min(BATCH, sessions - sent);
      stampFlows(stamp, sent, m);
      post(lan[(sent / BATCH) % workers]!, slab, offs, lens, m);
      sent += m;
      while (sent - out > 64 * BATCH) await new Promise((r) => setTimeout(r, 1));
    }
    while (out < sessions) await new Promise((r) => setTimeout(r, 5));
    const fillSeconds = (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 1100)); // each worker's stats (once a second)
    const active = r1.host.tally().active;
    // established flows (the fill's first FEED), each worker fed all of them every 1 ms unless the last ones are
    // still on their way (a backlog would turn into gaps of its own, seconds at load 20)
    for (let k = 0; k < FEED; k++) stamp(k, 1, 2, 1024 + k);
    feeding = true;
    let fed = out;
    let held = 0;
    timer = setInterval(() => {
      // held back at most 3 ticks: a packet a worker dropped never comes out, and must not stop the feed
      if (fed - out > 2 * FEED * workers && ++held <= 3) return;
      if (held > 3) fed = out;
      held = 0;
      for (const port of lan) post(port, slab, offs, lens, FEED);
      fed += FEED * workers;
    }, 1);
    await new Promise((r) => setTimeout(r, 300));
    const start = performance.now();
    let answered = start;
    let swapped = start;
    await r1.applyConfigFile(file, { load: (p, router) => prepareConfigInThread(p, router, () => { answered = performance.now(); }) });
    swapped = performance.now();
    // the workers rebuild, compile and swap after the node's thread (a request to them would scan the session
    // table in one turn and add its own gap): a settled window instead, long enough at load 30 (~1 s here)
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const end = performance.now();
    const gap = (from: number, to: number, ending: boolean): number => {
      let g = 0;
      for (const s of stamps) {
        for (let i = 1; i < s.length; i++) {
          const inside = ending ? s[i]! > from && s[i]! <= to : s[i]! > from && s[i - 1]! < to;
          if (inside) g = Math.max(g, s[i]! - s[i - 1]!);
        }
      }
      return g;
    };
    return {
      workers, sessions: active, fillSeconds, reloadMs: swapped - start,
      maxGapMs: gap(start, end, false), maxGapBeforeMs: gap(start - Math.min(end - start, 250), start, false),
      maxGapByStep: { thread: gap(start, answered, true), node: gap(answered, swapped, true), workers: gap(swapped, end, true) },
    };
  } finally {
    if (timer !== undefined) clearInterval(timer);
    await r1.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
