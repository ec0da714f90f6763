/**
 * The visibility case (svrouter, HMAC only): what session records cost. The same measurements twice, back to
 * back, on the same config except its `telemetry` block:
 *   off  r1 and r2 restarted on the bench config with a short UDP idle timeout (sessions end, so records flow):
 *        no collector, no history (as every other measurement of the benchmark);
 *   on   the same with IPFIX export (each router to an nfcapd on 127.0.0.1:4739 in its namespace) and the
 *        session history in the node's LevelDB store (the default of a node).
 * Each: TCP (iperf3, one stream) and new UDP sessions/s, with the drop counters that moved. With telemetry
 * on, r1's `svr show stats` is sampled every 200 ms from the start of the session test until its records
 * are written (or 20 s): what was written and dropped, and the history's write rate (records per second of
 * the time it spent building and writing batches, `history-busy-ms`) next to r1's session rate. The nodes are
 * restarted on the headline config afterwards. Metrics (Prometheus) are not part of this build's node yet.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpuSeconds } from './cpu.js';
import { dropDelta, dropSnapshot, formatDrops } from './drops.js';
import { recordingSteps, sleep, spawnIn, stop, waitForLine, type Proc } from './exec.js';
import { checkConnectivity, measureTcp } from './measure.js';
import type { ModeContext } from './modes/mode.js';
import type { SvrouterMode } from './modes/svrouter.js';
import type { Plan } from './plan.js';
import type { SessionRate, TcpResult } from './results.js';
import { sessionRate } from './sessions.js';
import { svrConfigYaml } from './svr-config.js';
import { NS } from './topology.js';

/** Idle timeout of the visibility runs' UDP sessions, s: records of the session test arrive within the run. */
export const VISIBILITY_IDLE_S = 2;
const COLLECTOR = '127.0.0.1';

export interface HistoryRate {
  /** r1's sessions-created during the UDP session test, per second of it */
  createdPerSecond: number;
  /** r1's records written per second of the history's busy time (building and writing batches) */
  writtenPerSecond: number;
  /** seconds from the first write to the last */
  writeSpanSeconds: number;
  created: number;
  written: number;
  /** records left waiting when sampling stopped, and dropped (history full, IPFIX queue full) */
  pendingAtEnd: number;
  historyDropped: number;
  ipfixExported: number;
  ipfixDropped: number;
  /** records nfcapd counted (its stats line at exit), both routers */
  collectorFlows?: number;
}

export interface VisibilityRun {
  tcp?: TcpResult;
  sessions?: SessionRate;
  /** drop counters of r1 and r2 that moved during the run */
  drops?: Record<string, number>;
  /** what the kernels dropped during the session test (UDP receive buffers, device queues; drops.ts) */
  kernelDrops?: Record<string, number>;
  /** each router's CPU during the session test, µs per session it created: the whole process, its main thread */
  sessionCpuUs?: Record<string, { process: number; mainThread: number }>;
}

export interface VisibilityResult {
  idleTimeoutS: number;
  off: VisibilityRun;
  on: VisibilityRun;
  history?: HistoryRate;
  errors: string[];
}

interface Stats {
  at: number;
  created: number;
  written: number;
  pending: number;
  busyMs: number;
  historyDropped: number;
  exported: number;
  ipfixDropped: number;
}

async function sample(svr: SvrouterMode): Promise<Stats> {
  const s = await svr.stats('r1');
  const n = (k: string): number => (typeof s[k] === 'number' ? s[k] : NaN);
  return {
    at: Date.now(), created: n('sessions-created'), written: n('history-written'), pending: n('history-pending'), busyMs: n('history-busy-ms'),
    historyDropped: n('history-dropped'), exported: n('ipfix-exported'), ipfixDropped: n('ipfix-dropped'),
  };
}

/** Drop counters of both routers, `r1 drop-...`. */
async function drops(svr: SvrouterMode): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const r of ['r1', 'r2'] as const) {
    for (const [k, v] of Object.entries(await svr.stats(r))) if (k.startsWith('drop') && typeof v === 'number') out[`${r} ${k}`] = v;
  }
  return out;
}

/** nfcapd on 127.0.0.1:4739 inside a router's namespace. */
async function startCollector(dir: string, r: 'r1' | 'r2'): Promise<Proc> {
  const out = join(dir, `ipfix-${r}`);
  mkdirSync(out, { recursive: true });
  const p = spawnIn(NS[r], `nfcapd-${r}`, 'nfcapd', ['-w', out, '-p', '4739', '-b', COLLECTOR, '-t', '60', '-B', String(4 << 20)], join(dir, `nfcapd-${r}.log`));
  await waitForLine(p, /Startup nfcapd/, 10_000);
  return p;
}

export async function measureVisibility(svr: SvrouterMode, ctx: ModeContext, plan: Plan): Promise<VisibilityResult> {
  const progress = ctx.progress;
  const dir = join(ctx.dir, 'visibility');
  mkdirSync(dir, { recursive: true });
  const res: VisibilityResult = { idleTimeoutS: VISIBILITY_IDLE_S, off: {}, on: {}, errors: [] };
  const config = (collector: boolean): string => {
    const path = join(dir, `authority-${collector ? 'on' : 'off'}.yaml`);
    writeFileSync(path, svrConfigYaml({ encrypt: false, udpIdleTimeoutS: VISIBILITY_IDLE_S, ...(collector ? { collector: COLLECTOR } : {}) }));
    return path;
  };
  const step = recordingSteps(res.errors, progress);
  const runBoth = async (run: VisibilityRun, label: string, sampling: boolean): Promise<void> => {
    await checkConnectivity();
    const drops0 = await drops(svr);
    await step(`${label} tcp`, async () => { run.tcp = await measureTcp(svr, plan, progress); });
    let samples: Stats[] = [];
    let sampler: Promise<void> | undefined;
    let sampling$ = sampling;
    if (sampling) {
      samples = [await sample(svr)];
      sampler = (async () => {
        while (sampling$) {
          await sleep(200);
          samples.push(await sample(svr).catch(() => samples[samples.length - 1]!));
        }
      })();
    }
    const kernel0 = await dropSnapshot();
    const procs = svr.routerProcs();
    const cpu0 = procs.map((p) => [cpuSeconds(p.pid), cpuSeconds(p.pid, true)] as const);
    await step(`${label} udp sessions`, async () => { run.sessions = await sessionRate('udp', plan.sessionSeconds, svr, progress, ctx.udpLoad); });
    const created = run.sessions?.createdR1;
    if (created !== undefined && created > 0) {
      run.sessionCpuUs = Object.fromEntries(procs.map((p, k) => [p.name, {
        process: ((cpuSeconds(p.pid) - cpu0[k]![0]) * 1e6) / created, mainThread: ((cpuSeconds(p.pid, true) - cpu0[k]![1]) * 1e6) / created,
      }]));
      progress(`    router CPU per session (${label}): ${Object.entries(run.sessionCpuUs).map(([n, c]) => `${n} ${c.process.toFixed(1)} µs (main thread ${c.mainThread.toFixed(1)})`).join(', ')}`);
    }
    run.kernelDrops = dropDelta(kernel0, await dropSnapshot());
    progress(`    kernel drops during the ${label} session test: ${formatDrops(run.kernelDrops)}`);
    if (sampler !== undefined) {
      // records come as sessions idle out (VISIBILITY_IDLE_S after their last packet) and are written in batches
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        await sleep(250);
        const last = samples[samples.length - 1]!;
        if (last.written - samples[0]!.written >= last.created - samples[0]!.created && last.pending === 0) break;
      }
      sampling$ = false;
      await sampler;
      res.history = historyRate(samples, run.sessions);
    }
    const drops1 = await drops(svr);
    const moved = Object.fromEntries(Object.entries(drops1).map(([k, v]) => [k, v - (drops0[k] ?? 0)] as const).filter(([, d]) => d !== 0));
    run.drops = moved;
    if (Object.keys(moved).length > 0) progress(`    drops with records ${label}: ${Object.entries(moved).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  };

  progress(`  visibility: UDP idle timeout ${VISIBILITY_IDLE_S} s; telemetry off`);
  await svr.restartWith(config(false));
  await runBoth(res.off, 'off', false);

  progress(`  visibility: telemetry on (IPFIX to nfcapd on ${COLLECTOR}:4739 in each router's namespace, session history in LevelDB)`);
  const collectors: Proc[] = [];
  try {
    for (const r of ['r1', 'r2'] as const) collectors.push(await startCollector(dir, r));
    await svr.restartWith(config(true));
    await runBoth(res.on, 'on', true);
  } finally {
    await svr.restartWith();
    let flows = 0;
    for (const p of collectors) {
      await stop(p, 5000);
      flows += collectorFlows(join(dir, `${p.name}.log`));
    }
    if (res.history !== undefined && collectors.length > 0) res.history.collectorFlows = flows;
  }
  const h = res.history;
  if (h !== undefined) {
    progress(`    history: ${h.written} records written (over ${h.writeSpanSeconds.toFixed(1)} s as sessions idled out) at ${Math.round(h.writtenPerSecond)} per second of its busy time, while r1 created ${Math.round(h.createdPerSecond)} sessions/s; pending at end ${h.pendingAtEnd}, dropped ${h.historyDropped}; IPFIX exported ${h.ipfixExported}, dropped ${h.ipfixDropped}${h.collectorFlows !== undefined ? `; nfcapd counted ${h.collectorFlows} flows` : ''}`);
  }
  return res;
}

/** The history's write rate over the samples, next to the session rate. */
function historyRate(samples: readonly Stats[], sessions: SessionRate | undefined): HistoryRate {
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  let start: Stats | undefined;
  let end: Stats | undefined;
  for (let i = 1; i < samples.length; i++) {
    if (samples[i]!.written > samples[i - 1]!.written) {
      start ??= samples[i - 1]!;
      end = samples[i]!;
    }
  }
  const written = last.written - first.written;
  const busy = (last.busyMs - first.busyMs) / 1000;
  return {
    created: sessions?.createdR1 ?? last.created - first.created,
    createdPerSecond: sessions?.createdR1PerSecond ?? NaN,
    written,
    writtenPerSecond: busy > 0 ? written / busy : 0,
    writeSpanSeconds: start !== undefined && end !== undefined ? (end.at - start.at) / 1000 : 0,
    pendingAtEnd: last.pending,
    historyDropped: last.historyDropped - first.historyDropped,
    ipfixExported: last.exported - first.exported,
    ipfixDropped: last.ipfixDropped - first.ipfixDropped,
  };
}

/** nfcapd's stats lines, one per file it closed: `Ident: 'none' Flows: N, ...`, summed. */
function collectorFlows(log: string): number {
  try {
    return [...readFileSync(log, 'utf8').matchAll(/Flows: (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
  } catch {
    return 0;
  }
}

/** Relative cost of `on` against `off` (0.03 = 3 % less), or undefined. */
export function cost(off: number | undefined, on: number | undefined): number | undefined {
  return off === undefined || on === undefined || !(off > 0) ? undefined : (off - on) / off;
}

