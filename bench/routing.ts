/**
 * Routing (issue 14): the cost of a big RIB. FIB compile time and memory for 10,000 and 100,000 learned
 * prefixes x 100 services (compileRouter with the learned routes, as a node does on every RIB change), and
 * the first-packet cost of a service with `use-learned-routes` (classification, service FIB, the RIB
 * lookup, a local session) with a small and a full table: the new-session rate should stay within 10 %.
 * Run: node --expose-gc dist/bench/routing.js [--quick]   (--quick: 10,000 prefixes only, fewer rounds)
 *      node --expose-gc dist/bench/routing.js --first-packet-json [--quick] [--control]   (only the first packet
 *      with 10 and 100,000 routes, one JSON line: the full-table case of npm run bench, full-table.ts; --control:
 *      10 against 10, the measurement's own spread)
 */
import { loadavg } from 'node:os';
import { parseAddress } from '../src/packet/addr.js';
import { parseConfig } from '../src/model/validate.js';
import { buildUdp } from '../src/packet/build.js';
import { Dataplane } from '../src/dataplane/dataplane.js';
import { MAX_BATCH } from '../src/dataplane/batch.js';
import { compileRouter } from '../src/model/compile.js';
import { Rib, type LearnedRoute } from '../src/model/rib.js';
import type { SvrConfig } from '../src/model/config.js';
import { Sink } from './inprocess-config.js';
import { pairedBatches, type Feed } from './paired-batches.js';
import { percentileSorted } from './stats.js';

const QUICK = process.argv.includes('--quick');
const SERVICES = 100;

/** One router, 100 UDP services (10.<i>.0.0/16), each delivered along the RIB (use-learned-routes). */
function config(): SvrConfig {
  const services = Array.from({ length: SERVICES }, (_, i) => `    - { name: s${i}, addresses: [10.${i}.0.0/16], transport: [{ protocol: udp }], access-policy: [{ source: t }] }`).join('\n');
  const routes = Array.from({ length: SERVICES }, (_, i) => `        - { name: s${i}, service: s${i}, use-learned-routes: true }`).join('\n');
  return parseConfig(`
authority:
  name: bench
  secret: 5f2c8e1a9b3d4f6071829a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f
  tenants: [{ name: t, members: [198.18.1.0/24] }]
  services:
${services}
  routers:
    - name: r1
      interfaces: [{ name: lan0, kind: lan }, { name: lan1, kind: lan }]
      routing: { interface: lan1 }
      service-routes:
${routes}
`);
}

const bgp = (prefix: string): LearnedRoute => ({ prefix, gateway: '198.18.61.1', protocol: 'bgp', distance: 20, metric: 0 });

/** `n` learned routes: each service's /16, then /24s inside them (and in 11-14/8 beyond 25,600). */
function learned(n: number): LearnedRoute[] {
  const out = Array.from({ length: Math.min(n, SERVICES) }, (_, i) => bgp(`10.${i}.0.0/16`));
  for (let i = 0; out.length < n; i++) out.push(bgp(`${10 + Math.floor(i / 25600)}.${Math.floor(i / 256) % 100}.${i % 256}.0/24`));
  return out;
}

const gc = (): void => (globalThis as { gc?: () => void }).gc?.();
const mib = (b: number): string => (b / 2 ** 20).toFixed(1);

function compileCost(cfg: SvrConfig, n: number): void {
  const routes = learned(n);
  gc();
  const before = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const tables = compileRouter(cfg, 'r1', 1, routes);
  const ms = performance.now() - t0;
  gc();
  const heap = process.memoryUsage().heapUsed - before;
  console.log(`FIB compile, ${String(n).padStart(6)} learned x ${SERVICES} services   ${ms.toFixed(0).padStart(5)} ms   +${mib(heap)} MiB heap (${(heap / n).toFixed(0)} B per route)   ${tables.rib.length} RIB routes`);
}

/**
 * A RIB change at `n` learned routes, as a node makes it (routing/node-routing.ts -> router.updateLearnedRoutes):
 * one route withdrawn, one learned; the RIB updates those two prefixes and the tables are made around it.
 * Against a full compile of the same table (what every change cost before), and Rib.replace (a whole table
 * diffed by prefix: router.setLearnedRoutes).
 */
function ribChangeCost(cfg: SvrConfig, n: number): void {
  const routes = learned(n);
  const rib = new Rib(cfg.authority.routers[0]!, routes);
  let update = Infinity;
  let replace = Infinity;
  for (let i = 0; i < 10; i++) {
    const gone = routes.pop()!;
    const added = bgp(`13.${i}.0.0/24`);
    routes.push(added);
    const t0 = performance.now();
    rib.update([added], [gone.prefix]);
    compileRouter(cfg, 'r1', 2 + i, rib);
    update = Math.min(update, performance.now() - t0);
    const back = [...routes.slice(0, -1), gone];
    const t1 = performance.now();
    rib.replace(back);
    compileRouter(cfg, 'r1', 2 + i, rib);
    replace = Math.min(replace, performance.now() - t1);
    routes.splice(0, routes.length, ...back);
  }
  let full = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    compileRouter(cfg, 'r1', 1, routes);
    full = Math.min(full, performance.now() - t0);
  }
  console.log(`RIB change (1 withdrawn, 1 learned) at ${String(n).padStart(6)} learned routes: incremental ${update.toFixed(2)} ms, whole table diffed ${replace.toFixed(1)} ms, full compile ${full.toFixed(0)} ms`);
}

/**
 * A runner over tables with `n` learned routes: `start` opens a fresh data path and returns what feeds it batch k
 * of `rounds` x MAX_BATCH new sessions (each its own 5-tuple, to the addresses of the first `services` services);
 * `open` one with every batch fed.
 */
function firstPacketRunner(cfg: SvrConfig, n: number, services = SERVICES): { start: () => Feed; open: () => Dataplane; rounds: number } {
  const rounds = QUICK ? 10 : 40;
  const tables = compileRouter(cfg, 'r1', 1, learned(n));
  const batches = Array.from({ length: rounds }, (_, k) => {
    const pkts = Array.from({ length: MAX_BATCH }, (_, i) => {
      const j = k * MAX_BATCH + i;
      return buildUdp({ src: parseAddress(`198.18.1.${10 + (j >> 14)}`)!.bytes, dst: parseAddress(`10.${j % services}.${(j >> 7) % 100}.9`)!.bytes, srcPort: 1024 + (j & 0x3fff), dstPort: 5000, payload: new Uint8Array(64) });
    });
    const size = pkts[0]!.length;
    const data = new Uint8Array(size * MAX_BATCH);
    pkts.forEach((p, i) => data.set(p, i * size));
    return { data, off: Uint32Array.from(pkts, (_, i) => i * size), len: Uint32Array.from(pkts, () => size) };
  });
  let last: Dataplane | undefined;
  const start = (): Feed => {
    // the run before opened every session (checked here, not while timed)
    const created = last?.counters.snapshot()['sessions-created'];
    if (created !== undefined && created < rounds * MAX_BATCH * 0.9) throw new Error(`only ${created} sessions of ${rounds * MAX_BATCH} with ${n} routes`);
    const dp = new Dataplane({ tables, ports: [new Sink(), new Sink()], onEvents: () => {} });
    last = dp;
    return (k) => {
      const b = batches[k]!;
      dp.receive(0, b.data, b.off, b.len, MAX_BATCH);
    };
  };
  const open = (): Dataplane => {
    const feed = start();
    for (let k = 0; k < rounds; k++) feed(k);
    return last!;
  };
  return { start, open, rounds };
}

/** The process's CPU in ns, every thread (V8's background GC too; the batch pairs' median leaves its bursts out). */
function cpuNs(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) * 1000;
}

/**
 * Small against full, batch by batch (bench/paired-batches.ts): ns per first packet in the median batch of each,
 * and the median of the batch pairs' ratios full ÷ small.
 */
function paired(small: ReturnType<typeof firstPacketRunner>, full: ReturnType<typeof firstPacketRunner>, runs: number): { ratios: number[]; small: number; full: number; medianRatio: number } {
  const p = pairedBatches(small.start, full.start, runs, small.rounds, cpuNs, gc);
  const ratios = [...p.ratios].sort((x, y) => x - y);
  return { ratios, small: p.aMedian / MAX_BATCH, full: p.bMedian / MAX_BATCH, medianRatio: p.medianRatio };
}

/**
 * What a RIB change costs the data path with sessions open: the table swap walks the sessions and looks up
 * again the route of each one delivered along the RIB (dataplane/route-follow.ts). ms per swap.
 */
function swapCost(cfg: SvrConfig, n: number, open: () => Dataplane): { ms: number; sessions: number } {
  const dp = open();
  const rib = new Rib(cfg.authority.routers[0]!, learned(n));
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    rib.update([bgp(`13.${i}.0.0/24`)], []); // a route no session uses: every session is looked up, none closed
    const tables = compileRouter(cfg, 'r1', 2 + i, rib);
    const t0 = performance.now();
    dp.setTables(tables);
    best = Math.min(best, performance.now() - t0);
  }
  return { ms: best, sessions: dp.sessions.active };
}

/** ns per RIB lookup (`routeLocal`, what use-learned-routes adds to a first packet) over 65,536 destinations. */
function ribLookup(cfg: SvrConfig, n: number): number {
  const tables = compileRouter(cfg, 'r1', 1, learned(n));
  const dsts = new Uint8Array(4 * 65536);
  for (let i = 0; i < 65536; i++) dsts.set([10, i % SERVICES, (i >> 7) & 255, 9], i * 4);
  let found = 0;
  let best = Infinity;
  for (let run = 0; run < 5; run++) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < 8; k++) for (let i = 0; i < 65536; i++) if (tables.routeLocal(-1, dsts, i * 4, 4) >= 0) found++;
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / (8 * 65536));
  }
  if (found === 0) console.log('  (no destination had a route)');
  return best;
}

const cfg = config();
if (process.argv.includes('--first-packet-json')) {
  // the full-table case (bench/full-table.ts, issue 19): 10 routes against 100,000, first packets to the 10
  // services the small table routes; one JSON line. --control: 10 routes against another table of 10 (the
  // harness's own spread, nothing to find)
  const fullRoutes = process.argv.includes('--control') ? 10 : 100_000;
  const p = paired(firstPacketRunner(cfg, 10, 10), firstPacketRunner(cfg, fullRoutes, 10), QUICK ? 6 : 20);
  console.log(JSON.stringify({ smallRoutes: 10, fullRoutes, smallNs: p.small, fullNs: p.full, medianRatio: p.medianRatio, pairs: p.ratios.length }));
  process.exit(0);
}
for (const n of QUICK ? [10_000] : [10_000, 100_000]) compileCost(cfg, n);
for (const n of QUICK ? [10_000] : [10_000, 100_000]) ribChangeCost(cfg, n);
// the small table holds every service's /16 (so every first packet has a route); the full one 100 x 1,000 more
// specific /24s on top
const smallRunner = firstPacketRunner(cfg, 100);
const fullRunner = firstPacketRunner(cfg, QUICK ? 10_000 : 100_000);
const { ratios, small, full, medianRatio } = paired(smallRunner, fullRunner, QUICK ? 6 : 20);
const lookupSmall = ribLookup(cfg, 100);
const lookupFull = ribLookup(cfg, QUICK ? 10_000 : 100_000);
console.log(`RIB lookup per first packet: ${lookupSmall.toFixed(0)} ns with 100 routes, ${lookupFull.toFixed(0)} ns with ${QUICK ? '10,000' : '100,000'} (+${(lookupFull - lookupSmall).toFixed(0)} ns, ${((lookupFull - lookupSmall) / small * 100).toFixed(1)} % of a first packet)`);
console.log(`first packet, use-learned-routes, small RIB (100 routes)        ${(small / 1000).toFixed(2)} µs   (${(1e9 / small / 1000).toFixed(0)} k new sessions/s)`);
console.log(`first packet, use-learned-routes, full RIB (${QUICK ? '10,000' : '100,000'} routes)   ${(full / 1000).toFixed(2)} µs   (${(1e9 / full / 1000).toFixed(0)} k new sessions/s)`);
const pct = (r: number): string => `${r >= 1 ? '+' : ''}${((r - 1) * 100).toFixed(1)} %`;
console.log(`full vs small RIB, ${ratios.length} interleaved batch pairs: median ${pct(medianRatio)} per first packet (the middle half of the pairs from ${pct(percentileSorted(ratios, 25))} to ${pct(percentileSorted(ratios, 75))}; target within +10 %)   load average ${loadavg()[0]!.toFixed(1)}`);
const swap = swapCost(cfg, QUICK ? 10_000 : 100_000, fullRunner.open);
console.log(`RIB change with ${swap.sessions} use-learned-routes sessions open: the table swap (each session's route looked up again) ${swap.ms.toFixed(2)} ms (${((swap.ms * 1e6) / swap.sessions).toFixed(0)} ns per session)`);
