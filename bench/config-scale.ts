/**
 * Config at scale (issue 19 item 6), in process, no root: an authority of N services × T tenants (generated
 * YAML; each service open to `--sources` tenants) is read and validated (parseConfig), compiled for r1
 * (compileRouter) and applied to r1's data path; time and memory (RSS and JS heap growth) of each. The same at
 * smaller sizes gives the curve. Then r1's session table is filled (first packets of distinct UDP flows, the
 * largest fill asked for) and the config reloaded with one service changed, as `svr node reload` does it with
 * the data path in the node's main thread (read and validate the file and build r1's access table and service
 * FIB in a worker thread; rebuild the config from its slices, compile the rest in slices and swap the tables in
 * separate turns of the data path's thread, then the route check over the sessions in slices), while a 1 ms timer
 * feeds established packets through the data path: the longest gap between two batches is the forwarding pause,
 * also given per step (the gaps that end in it; receive: while the thread works, and after its answer).
 * `--workers N`: the reload with r1's data path in N worker threads instead (bench/config-scale-workers.ts).
 *   node --expose-gc dist/bench/config-scale.js [--services 10000] [--tenants 100] [--sources 10] [--sessions 1000000] [--workers N] [--json]
 */
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Dataplane } from '../src/dataplane/dataplane.js';
import { compileRouter, compileRouterInTurns } from '../src/model/compile.js';
import { parseConfig } from '../src/model/validate.js';
import { prepareConfigInThread } from '../src/node/config-thread.js';
import { Sink } from './inprocess-config.js';
import { stampFlows, udpSlab } from './udp-slab.js';
import { reloadWithWorkers, type WorkersReload } from './config-scale-workers.js';

export interface ConfigSize {
  services: number;
  tenants: number;
  /** tenants in each service's access policy */
  sources: number;
  yamlBytes: number;
  /** read and validate (parseConfig), compile r1's tables (compileRouter), build r1's data path on them */
  parseMs: number;
  compileMs: number;
  applyMs: number;
  /** process growth after each (gc first), MB */
  rssMB: number;
  heapMB: number;
}

export interface ReloadUnderLoad {
  /** active sessions in r1's table when the reload ran */
  sessions: number;
  fillSeconds: number;
  /** the reload's steps as the node runs them, ms: read, validate and build the access table and FIB in a worker
   *  thread, the config rebuilt here in slices (the feed goes on meanwhile; wall time), then compile in slices
   *  (wall time, batches between them) and (in the next turn) swap in the data path's thread */
  loadMs: number;
  compileMs: number;
  swapMs: number;
  /** the route check's slices after the swap (wall time, batches between them) */
  routeCheckMs: number;
  /** established packets fed every `feedIntervalMs` (one batch) */
  feedIntervalMs: number;
  batch: number;
  /** the longest gap between two batches: during the reload, and in the same time before it */
  maxGapMs: number;
  maxGapBeforeMs: number;
  /** the longest gap that ended in each step: receiving the validated config (`thread`: while the config thread
   *  worked, nothing of the reload on this thread; `load`: that and the rebuild from its slices), the compile, the
   *  swap and route check */
  maxGapByStep: { thread: number; load: number; compile: number; swap: number };
  /** the gaps during the reload window (ms since its start, gap ms), for the plot: the largest per 10 ms */
  gaps: [number, number][];
  /** sessions still active after the reload (a service changed, none removed) */
  sessionsAfter: number;
}

export interface ConfigScaleResult {
  date: string;
  loadAvg: number[];
  command: string;
  sizes: ConfigSize[];
  reload?: ReloadUnderLoad;
  /** `--workers N`: the reload with the data path in N worker threads */
  workersReload?: WorkersReload;
}

/** The target: no forwarding pause longer than this during a reload (issue 19). */
export const RELOAD_PAUSE_TARGET_MS = 50;

const SESSION_SERVICE_NET = '198.18.3.0/24';

/**
 * `services` services × `tenants` tenants. Tenant t0 is the client LAN (198.18.1.0/24); service s0 is the
 * session benchmark's 198.18.3.0/24 (open to t0); every other service has its own /32 in 100.64.0.0/10 and is
 * open to `sources` tenants. r1 routes every service to r2. `changed`: s1 gets a second address (a reload).
 */
export function scaleConfigYaml(services: number, tenants: number, sources: number, changed = false): string {
  const out: string[] = [
    'authority:', '  name: scale', '  secret: 5f2c8e1a9b3d4f6071829a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f',
    '  security-policies: [{ name: internal, hmac-mode: regular }]', '  tenants:', '    - { name: t0, members: [198.18.1.0/24] }',
  ];
  for (let t = 1; t < tenants; t++) out.push(`    - { name: t${t}, members: [10.${t >> 8}.${t & 255}.0/24] }`);
  out.push('  services:');
  const addr = (i: number): string => `100.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`;
  for (let i = 0; i < services; i++) {
    const src = i === 0 ? ['t0'] : Array.from({ length: Math.min(sources, tenants) }, (_, j) => `t${(i + j) % tenants}`);
    const addresses = i === 0 ? [SESSION_SERVICE_NET] : changed && i === 1 ? [addr(i), addr(services + 1)] : [addr(i)];
    out.push(`    - { name: s${i}, addresses: [${addresses.join(', ')}], transport: [{ protocol: udp }], access-policy: [${src.map((s) => `{ source: ${s} }`).join(', ')}] }`);
  }
  out.push('  routers:',
    '    - name: r1',
    '      interfaces: [{ name: lan0, kind: lan }, { name: wan0, kind: wan, waypoint: 198.18.12.1, neighborhoods: [{ name: n }] }]',
    '      service-routes:');
  for (let i = 0; i < services; i++) out.push(`        - { name: s${i}, service: s${i}, peer: r2 }`);
  out.push('    - name: r2',
    '      interfaces: [{ name: lan0, kind: lan }, { name: wan0, kind: wan, waypoint: 198.18.12.2, neighborhoods: [{ name: n }] }]',
    '      service-routes:');
  for (let i = 0; i < services; i++) out.push(`        - { name: s${i}, service: s${i}, next-hop: { interface: lan0 } }`);
  return out.join('\n') + '\n';
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g === undefined) throw new Error('run with node --expose-gc');
  g();
  g();
}

const ms = (t0: number): number => performance.now() - t0;

/** Parse, compile and apply one size; returns the figures and r1's data path (the caller may keep it). */
function measureSize(services: number, tenants: number, sources: number): { size: ConfigSize; dp: Dataplane } {
  const yaml = scaleConfigYaml(services, tenants, sources);
  gc();
  const m0 = process.memoryUsage();
  let t = performance.now();
  const config = parseConfig(yaml, 'scale');
  const parseMs = ms(t);
  t = performance.now();
  const tables = compileRouter(config, 'r1', 1);
  const compileMs = ms(t);
  t = performance.now();
  const dp = new Dataplane({ tables, ports: tables.interfaces.map(() => new Sink()) });
  const applyMs = ms(t);
  gc();
  const m1 = process.memoryUsage();
  return { size: { services, tenants, sources, yamlBytes: yaml.length, parseMs, compileMs, applyMs, rssMB: (m1.rss - m0.rss) / 1e6, heapMB: (m1.heapUsed - m0.heapUsed) / 1e6 }, dp };
}

/** Opens `n` sessions in r1's data path: first packets t0 -> s0 from 16 sources × 64,512 ports × 254 servers. */
export function fill(dp: Dataplane, n: number, batch: number): number {
  const lan = dp.ctx.tables.interfaceIndex('lan0');
  const { slab, offs, lens, stamp } = udpSlab(batch);
  const t0 = performance.now();
  for (let opened = 0; opened < n;) {
    const m = Math.min(batch, n - opened);
    stampFlows(stamp, opened, m);
    dp.receive(lan, slab, offs, lens, m);
    opened += m;
  }
  return (performance.now() - t0) / 1000;
}

/** The reload of `changedYaml` with `dp` full, while a timer feeds `dp` one batch of established packets per interval. */
async function reloadUnderLoad(dp: Dataplane, changedYaml: string, fillSeconds: number): Promise<ReloadUnderLoad> {
  const dir = mkdtempSync(join(tmpdir(), 'config-scale-'));
  const file = join(dir, 'authority.yaml');
  writeFileSync(file, changedYaml);
  const lan = dp.ctx.tables.interfaceIndex('lan0');
  const batch = 64;
  // the first 64 flows of fill(): established sessions, so each batch takes the data path's steady state
  const { slab, offs, lens, stamp } = udpSlab(batch);
  for (let k = 0; k < batch; k++) stamp(k, 1, 2, 1024 + k);
  const feedIntervalMs = 1;
  const stamps: number[] = [];
  const timer = setInterval(() => {
    stamps.push(performance.now());
    dp.receive(lan, slab.slice(), offs, lens, batch);
  }, feedIntervalMs);
  const maxGap = (from: number, to: number): number => {
    let g = 0;
    for (let i = 1; i < stamps.length; i++) if (stamps[i]! > from && stamps[i - 1]! < to) g = Math.max(g, stamps[i]! - stamps[i - 1]!);
    return g;
  };
  /** the longest gap that ended in (from, to] */
  const maxGapEnding = (from: number, to: number): number => {
    let g = 0;
    for (let i = 1; i < stamps.length; i++) if (stamps[i]! > from && stamps[i]! <= to) g = Math.max(g, stamps[i]! - stamps[i - 1]!);
    return g;
  };
  try {
    await new Promise((r) => setTimeout(r, 300)); // steady feed first
    const start = performance.now();
    let t = start;
    let answered = start;
    const { config, prepared } = await prepareConfigInThread(file, 'r1', () => { answered = performance.now(); });
    const loadMs = ms(t);
    const loaded = performance.now();
    t = loaded;
    // compiled in slices with batches between them, then swapped in the next turn, as Router.applyConfigFile
    const tables = await compileRouterInTurns(config, 'r1', 2, [], prepared, () => new Promise((r) => setImmediate(r)));
    const compileMs = ms(t);
    const compiled = performance.now();
    await new Promise((r) => setImmediate(r));
    t = performance.now();
    dp.setTables(tables);
    const swapMs = ms(t);
    t = performance.now();
    while (dp.routeCheckPending > 0) await new Promise((r) => setImmediate(r));
    const routeCheckMs = ms(t);
    const end = performance.now();
    await new Promise((r) => setTimeout(r, 100)); // the first batch after the reload closes the last gap
    const window = end - start;
    const gaps = new Map<number, number>();
    for (let i = 1; i < stamps.length; i++) {
      if (stamps[i]! <= start || stamps[i - 1]! >= end + 50) continue;
      const at = Math.max(0, stamps[i - 1]! - start);
      const bucket = Math.floor(at / 10) * 10;
      gaps.set(bucket, Math.max(gaps.get(bucket) ?? 0, stamps[i]! - stamps[i - 1]!));
    }
    return {
      sessions: 0, fillSeconds, loadMs, compileMs, swapMs, routeCheckMs, feedIntervalMs, batch,
      maxGapMs: maxGap(start, end + 50), maxGapBeforeMs: maxGap(start - Math.min(window, 250), start),
      maxGapByStep: { thread: maxGapEnding(start, answered), load: maxGapEnding(start, loaded), compile: maxGapEnding(loaded, compiled), swap: maxGapEnding(compiled, end + 50) },
      gaps: [...gaps.entries()].map(([a, g]) => [+(a / 1000).toFixed(3), +g.toFixed(2)] as [number, number]),
      sessionsAfter: dp.sessions.active,
    };
  } finally {
    clearInterval(timer);
    rmSync(dir, { recursive: true, force: true });
  }
}

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
}

async function main(): Promise<void> {
  const services = arg('services', 10_000);
  const tenants = arg('tenants', 100);
  const sources = arg('sources', 10);
  const sessions = arg('sessions', 1_000_000);
  const json = process.argv.includes('--json');
  const say = (l: string): void => { if (!json) process.stdout.write(`${l}\n`); };
  const workers = arg('workers', 0);
  const steps = [1000, 2500, 5000].filter((n) => n < services);
  const sizes: ConfigSize[] = [];
  let last: Dataplane | undefined;
  for (const n of workers > 0 ? [] : [...steps, services]) { // --workers: the reload alone
    const { size, dp } = measureSize(n, tenants, sources);
    sizes.push(size);
    last = dp;
    say(`${n} services × ${tenants} tenants (${sources} per service, ${(size.yamlBytes / 1e6).toFixed(1)} MB YAML): validate ${size.parseMs.toFixed(0)} ms, compile ${size.compileMs.toFixed(0)} ms, apply ${size.applyMs.toFixed(0)} ms; RSS +${size.rssMB.toFixed(0)} MB, heap +${size.heapMB.toFixed(0)} MB`);
  }
  let reload: ReloadUnderLoad | undefined;
  if (sessions > 0 && last !== undefined) {
    const fillSeconds = fill(last, sessions, 64);
    const active = last.sessions.active;
    say(`filled r1's table: ${active} sessions in ${fillSeconds.toFixed(1)} s`);
    reload = { ...await reloadUnderLoad(last, scaleConfigYaml(services, tenants, sources, true), fillSeconds), sessions: active };
    const by = reload.maxGapByStep;
    say(`reload with ${active} sessions: read and validate in a thread ${reload.loadMs.toFixed(0)} ms, compile ${reload.compileMs.toFixed(0)} ms, swap ${reload.swapMs.toFixed(0)} ms, `
      + `route check ${reload.routeCheckMs.toFixed(0)} ms; longest gap between batches ${reload.maxGapMs.toFixed(1)} ms (before the reload ${reload.maxGapBeforeMs.toFixed(1)} ms; target ≤ ${RELOAD_PAUSE_TARGET_MS} ms; `
      + `by step: receive ${by.load.toFixed(1)} (of it while the thread worked ${by.thread.toFixed(1)}), compile ${by.compile.toFixed(1)}, swap and route check ${by.swap.toFixed(1)} ms); ${reload.sessionsAfter} sessions after`);
  }
  let workersReload: WorkersReload | undefined;
  if (workers > 0) {
    gc();
    workersReload = await reloadWithWorkers(scaleConfigYaml(services, tenants, sources), scaleConfigYaml(services, tenants, sources, true), workers, sessions);
    const w = workersReload;
    say(`reload with ${workers} workers, ${w.sessions} sessions (filled in ${w.fillSeconds.toFixed(1)} s): ${w.reloadMs.toFixed(0)} ms until the node's swap; longest gap out of a worker ${w.maxGapMs.toFixed(1)} ms `
      + `(before ${w.maxGapBeforeMs.toFixed(1)} ms; by step: config thread ${w.maxGapByStep.thread.toFixed(1)}, node ${w.maxGapByStep.node.toFixed(1)}, workers' rebuild, compile and swap ${w.maxGapByStep.workers.toFixed(1)} ms)`);
  }
  const res: ConfigScaleResult = {
    date: new Date().toISOString(), loadAvg: (await import('node:os')).loadavg().map((x) => +x.toFixed(2)),
    command: `node --expose-gc dist/bench/config-scale.js ${process.argv.slice(2).join(' ')}`.trim(), sizes, ...(reload !== undefined ? { reload } : {}),
    ...(workersReload !== undefined ? { workersReload } : {}),
  };
  if (json) process.stdout.write(JSON.stringify(res) + '\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    process.stderr.write(`config-scale: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  });
}
