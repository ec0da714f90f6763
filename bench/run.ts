/**
 * `npm run bench` (as root): kernel forwarding, svrouter (HMAC only, encrypted), the current wireguard-go,
 * Debian's 2022 wireguard-go and OpenVPN on one 4-namespace topology, every mode on the same WAN MTU 1500,
 * measured side by side in one run; prints the tables, writes bench/results.json and updates
 * docs/performance.md. Exits non-zero, naming each case, when the run is not comparable (comparable.ts).
 *
 *   node dist/bench/run.js [--quick] [--only kernel,svrouter,...] [--prefix svb] [--no-profile] [--no-memory]
 *   node dist/bench/run.js --only svrouter --case visibility   (only the named steps of each mode: the
 *     figures go to the run's folder and stdout, bench/results.json and the docs stay)
 *                          [--no-docs] [--memory-capacity N] [--cipher C]
 *   node dist/bench/run.js --only svrouter --case wan [--results FILE]   (only the WAN case, wan.ts)
 *   node dist/bench/run.js --only svrouter --case sustained,tables [--results FILE]   (only the sustained and full-table
 *     cases, sustained.ts and full-table.ts)
 *   node dist/bench/run.js --only svrouter --case hub   (only the hub case: 1,000 simulated spokes, hub.ts)
 *   node dist/bench/run.js --render bench/results.json      (tables and docs from a saved run, no root)
 * The current wireguard-go: SVR_BENCH_WIREGUARD_GO, else ../shared/bin/wireguard-go-2025 beside the project.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findProblems, formatProblem } from './comparable.js';
import { updatePerformanceDoc } from './docs.js';
import { installMissing } from './install.js';
import { killAllSync, run, spawnIn, stopAll, waitForLine } from './exec.js';
import { startIperfServer } from './iperf.js';
import { gitState, machineInfo } from './machine.js';
import type { MemoryResult } from './memory.js';
import type { ConfigScaleResult } from './config-scale.js';
import { KernelMode } from './modes/kernel.js';
import type { Mode, ModeContext } from './modes/mode.js';
import { CASES, measureAloneLast, measureMode, measureRound, passIsFirstRound, roundExpectS } from './mode-run.js';
import { OpenvpnMode } from './modes/openvpn.js';
import { SvrouterMode, useSvrScript } from './modes/svrouter.js';
import { snapshotBuild } from './snapshot.js';
import { currentWireguardGo, debianWireguardGo, WireguardMode } from './modes/wireguard.js';
import { FULL, QUICK, seedsFrom, type Plan } from './plan.js';
import { EXPECT, formatTimes, type StepTime } from './budget.js';
import { figuresTable, goalsTable, ratiosTable, renderText, termsTable } from './report.js';
import type { BenchResults, HandshakeResult, ModeResult } from './results.js';
import { buildUdpLoad } from './udp-load.js';
import { ECHO_PORT, TCP_SESSION_PORT, TCP_SINK_PORT, UDP_SESSION_PORTS } from './svr-config.js';
import { checkLeftovers, createTopology, deleteTopology, namePrefix, NS, SERVER, usePrefix } from './topology.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ALL_MODES = ['kernel', 'svrouter', 'svrouter-enc', 'svrouter-enc-hs', 'svrouter-enc-udp', 'wireguard-go', 'wireguard-go-2022', 'openvpn', 'openvpn-tuned'] as const;
/** what runs without --only (all of them; openvpn-tuned is OpenVPN with svrouter-sized queues and 4 MB buffers) */
const DEFAULT_MODES = [...ALL_MODES];
/** the handshake benchmark does ~1 s of CPU work: 300 s is a hang even at load 30 on 2 cores */
const HANDSHAKE_TIMEOUT_MS = 300_000;
/** exit status of a run that measured but is not comparable */
const EXIT_NOT_COMPARABLE = 3;

interface Options {
  quick: boolean;
  only: string[];
  prefix: string;
  profile: boolean;
  memory: boolean;
  docs: boolean;
  memoryCapacity?: number;
  cipher?: string;
  /** re-render tables and docs/performance.md from a results file; measures nothing */
  render?: string;
  /** only the steps with these keys (e.g. visibility); results to the run's folder only */
  cases?: string[];
  /** where the results go (default bench/results.json; with --case the run's folder) */
  results?: string;
  /** the sustained case holds these rates without its search (Plan.sustainedRates) */
  sustainedRates?: { udp: number; tcp: number };
  /** print the steps and their expected seconds, measure nothing (no root) */
  planOnly: boolean;
  /** where the rate searches start (a saved run; default bench/results.json); null: full searches */
  seeds: string | null;
}

const USAGE = `usage: node dist/bench/run.js [--quick] [--only ${ALL_MODES.join(',')}] [--prefix svb] [--no-profile] [--no-memory] [--no-docs] [--memory-capacity N] [--cipher aes-cbc-128|aes-cbc-256|aes-gcm-256] [--results FILE]
       node dist/bench/run.js --only svrouter --case wan [--quick] [--prefix P] [--results FILE]   (only the WAN case; docs untouched)
       node dist/bench/run.js --only svrouter --case hub [--prefix P]   (only the hub case: one hub node, 1,000 simulated spokes; docs untouched)
       node dist/bench/run.js --render bench/results.json [--no-docs]   (tables and docs from a saved run)
       node dist/bench/run.js --plan [--quick] [--only M,...] [--case K,...]   (each step and its expected seconds on a quiet machine; measures nothing, no root)
  --seeds F   the UDP searches and the sustained search start from the rates this saved run confirmed (default bench/results.json, the last full run); --no-seeds: full searches from an unlimited trial
  --plan   each step with its expected seconds on a quiet machine, and the total; measures nothing
  --sustained-rates U,T   the sustained case holds U new UDP and T new TCP sessions/s once, without its search (two builds side by side at one rate; a rate of 0 skips that protocol)
  --case K[,K]  only these steps of each mode (e.g. --only svrouter --case visibility, scaling: r1 alone with 1 and 2 workers, sustained,tables: sustained session rates and full tables, or tcp,profile); results.json in the run's folder, docs untouched
  a full run also measures the config at scale in process (dist/bench/config-scale.js) and draws the curves into docs/img/bench-*.svg (also --render)
  --results F   where the results go (default bench/results.json; with --case the run's folder); with --no-docs a partial run leaves the full run's files alone
  --prefix P   names of the namespaces (P-client, P-r1, P-r2, P-server) and tunnel devices; default SVR_BENCH_PREFIX or svb
  svrouter-enc-hs: svrouter-enc with the path keys from the key exchange (key-exchange: handshake); adds handshakes/s on one core (dist/bench/handshake.js)
  svrouter-enc-udp: svrouter-enc with udp-transform always-transform: TCP sessions as UDP between the routers, as in a tunnel (UDP GSO on the wan TUN)
  the current wireguard-go: SVR_BENCH_WIREGUARD_GO, else ../shared/bin/wireguard-go-2025 beside the project root
  exit status: 0 done, 1 error, ${EXIT_NOT_COMPARABLE} measured but not comparable (the cases are printed)
`;

function parseArgs(argv: string[]): Options {
  const o: Options = { quick: false, only: [...DEFAULT_MODES], prefix: process.env['SVR_BENCH_PREFIX'] || 'svb', profile: true, memory: true, docs: true, planOnly: false, seeds: join(ROOT, 'bench', 'results.json') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') o.quick = true;
    else if (a === '--plan') o.planOnly = true;
    else if (a === '--seeds') o.seeds = argv[++i] ?? '';
    else if (a === '--no-seeds') o.seeds = null;
    else if (a === '--only') o.only = (argv[++i] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
    else if (a === '--prefix') o.prefix = argv[++i] ?? '';
    else if (a === '--no-profile') o.profile = false;
    else if (a === '--no-memory') o.memory = false;
    else if (a === '--no-docs') o.docs = false;
    else if (a === '--memory-capacity') o.memoryCapacity = Number(argv[++i]);
    else if (a === '--cipher') o.cipher = argv[++i];
    else if (a === '--render') o.render = argv[++i];
    else if (a === '--results') o.results = argv[++i];
    else if (a === '--sustained-rates') {
      const [udp, tcp] = (argv[++i] ?? '').split(',').map(Number);
      if (!(udp! >= 0 && tcp! >= 0 && udp! + tcp! > 0)) throw new Error('--sustained-rates: two rates, UDP,TCP new sessions/s (e.g. 8000,3000; 0 skips that protocol)');
      o.sustainedRates = { udp: udp!, tcp: tcp! };
    } else if (a === '--case') o.cases = (argv[++i] ?? '').split(',').map((c) => c.trim()).filter((c) => c !== '');
    else if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  const bad = o.only.filter((m) => !(ALL_MODES as readonly string[]).includes(m));
  if (bad.length > 0) throw new Error(`--only: unknown mode ${bad.join(', ')} (modes: ${ALL_MODES.join(', ')})`);
  const badCases = (o.cases ?? []).filter((c) => !(CASES as readonly string[]).includes(c));
  if (badCases.length > 0) throw new Error(`--case: unknown case ${badCases.join(', ')} (cases: ${CASES.join(', ')})`);
  if (o.cases !== undefined && o.cases.length === 0) throw new Error(`--case: name at least one case (cases: ${CASES.join(', ')})`);
  usePrefix(o.prefix);
  return o;
}

const t0 = Date.now();
const progress = (line: string): void => {
  process.stdout.write(`[${String(Math.round((Date.now() - t0) / 1000)).padStart(4)}s] ${line}\n`);
};

function makeMode(id: string, o: Options): Mode {
  switch (id) {
    case 'kernel': return new KernelMode();
    case 'svrouter': return new SvrouterMode(false);
    case 'svrouter-enc': return new SvrouterMode(true, o.cipher);
    case 'svrouter-enc-hs': return new SvrouterMode(true, o.cipher, 'handshake');
    case 'svrouter-enc-udp': return new SvrouterMode(true, o.cipher, 'static', true);
    case 'wireguard-go': {
      const wg = currentWireguardGo(ROOT);
      return new WireguardMode(wg.path, 'wireguard-go', 'wireguard-go (current)',
        `the current wireguard-go is not here (looked at ${wg.looked.join(', ')}): set SVR_BENCH_WIREGUARD_GO to its path`);
    }
    case 'wireguard-go-2022':
      return new WireguardMode(debianWireguardGo(), 'wireguard-go-2022', "wireguard-go 2022 (Debian's)", 'wireguard-go missing (apt-get install wireguard-go)');
    case 'openvpn-tuned': return new OpenvpnMode(['--rcvbuf', '4194304', '--sndbuf', '4194304', '--txqueuelen', '4096'], 'openvpn-tuned', 'OpenVPN, 4 MB buffers');
    default: return new OpenvpnMode();
  }
}

function memoryBench(capacity: number, snap: string): MemoryResult {
  progress(`== memory: a table of ${capacity.toLocaleString('en-US')} rows at 50 %, 99 % and 25 % fill, in process (node --expose-gc dist/bench/memory.js)`);
  const r = spawnSync(process.execPath, ['--expose-gc', join(snap, 'dist', 'bench', 'memory.js'), '--capacity', String(capacity)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`memory benchmark failed: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`);
  const m = JSON.parse(r.stdout) as MemoryResult;
  for (const f of m.fills) progress(`  ${(100 * f.fill).toFixed(0)} %: r1 table ${f.tableBytesPerSession.toFixed(0)} B/session, RSS ${f.rssPerSession.toFixed(0)} B/session per router`);
  return m;
}

function configScaleBench(snap: string, quick: boolean): ConfigScaleResult {
  const args = quick ? ['--services', '2500', '--sessions', '250000'] : [];
  progress(`== config at scale: ${quick ? '2,500' : '10,000'} services × 100 tenants compiled, then a reload with the session table full, in process (node --expose-gc dist/bench/config-scale.js --json ${args.join(' ')})`);
  const r = spawnSync(process.execPath, ['--expose-gc', join(snap, 'dist', 'bench', 'config-scale.js'), '--json', ...args], { encoding: 'utf8', maxBuffer: 16 << 20, timeout: 600_000 });
  if (r.status !== 0) throw new Error(`config-scale benchmark failed${r.signal !== null ? ` (${r.signal})` : ''}: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`);
  const c = JSON.parse(r.stdout) as ConfigScaleResult;
  const big = c.sizes[c.sizes.length - 1]!;
  progress(`  ${big.services} services: validate ${big.parseMs.toFixed(0)} ms, compile ${big.compileMs.toFixed(0)} ms; reload with ${c.reload?.sessions ?? 0} sessions: longest forwarding gap ${c.reload?.maxGapMs.toFixed(1) ?? '–'} ms`);
  return c;
}

function handshakeBench(snap: string): HandshakeResult {
  progress('== handshakes: whole key exchanges and the responder\'s part on one core, in process (node dist/bench/handshake.js --json)');
  // a fixed number of messages (~1 s of CPU): the timeout only catches a hang, which gets one more try
  const once = (): SpawnSyncReturns<string> => spawnSync(process.execPath, [join(snap, 'dist', 'bench', 'handshake.js'), '--json'], { encoding: 'utf8', maxBuffer: 1 << 20, timeout: HANDSHAKE_TIMEOUT_MS });
  let r = once();
  if (r.signal !== null) {
    progress(`  ! handshake benchmark: no answer within ${HANDSHAKE_TIMEOUT_MS / 1000} s (${r.signal}); once more`);
    r = once();
  }
  if (r.status !== 0) throw new Error(`handshake benchmark failed${r.signal !== null ? ` (${r.signal}: no answer within ${HANDSHAKE_TIMEOUT_MS / 1000} s, twice)` : ''}: ${r.stderr.trim().split('\n').slice(-3).join(' / ')}`);
  const h = JSON.parse(r.stdout) as HandshakeResult;
  progress(`  ${Math.round(h.wholePerSecond)} whole handshakes/s (both routers' work), responder ${Math.round(h.responderPerSecond)}/s`);
  return h;
}

/**
 * RTT and TCP in rounds that interleave the modes (each mode one run per round, set up afresh), so that a
 * host that drifts lands on every mode alike, when two or more modes measure them; else each mode's runs
 * back to back. SVR_BENCH_ROUNDS rounds, else the plan's TCP runs (mode-run.ts passIsFirstRound: whether a
 * mode's pass is the first).
 */
function interleavedRounds(o: Options, plan: Plan): number {
  const measures = o.cases === undefined || o.cases.includes('tcp') || o.cases.includes('rtt');
  return measures && o.only.length > 1 ? Number(process.env['SVR_BENCH_ROUNDS'] ?? plan.tcpRuns) : 1;
}

/** The run's own steps around the modes, in order (expected seconds; budget.ts). */
function runSteps(o: Options, plan: Plan): StepTime[] {
  const inProcess = o.memory && o.cases === undefined && o.only.some((m) => m.startsWith('svrouter'));
  return [
    { key: 'topology', what: 'namespaces, C tools, echo and servers', expectedS: EXPECT.topology() },
    ...(inProcess ? [{ key: 'memory', what: 'memory per session, in process', expectedS: EXPECT.memory({ ...plan, memoryCapacity: o.memoryCapacity ?? plan.memoryCapacity }) },
      { key: 'config-scale', what: 'config at scale and a reload with the table full, in process', expectedS: EXPECT.configScale(o.quick) }] : []),
    ...(o.only.includes('svrouter-enc-hs') ? [{ key: 'handshakes', what: 'key exchanges on one core, in process', expectedS: EXPECT.handshakes() }] : []),
  ];
}

/** Runs f as the run-level step `key` of `steps` and records its seconds. */
async function timed<T>(steps: StepTime[], key: string, f: () => T | Promise<T>): Promise<T> {
  const t0 = Date.now();
  try {
    return await f();
  } finally {
    const s = steps.find((x) => x.key === key);
    if (s !== undefined) s.tookS = Math.round((Date.now() - t0) / 1000);
  }
}

/** --plan: each mode's steps as measureMode would run them, and the run's own, with expected seconds. */
async function printPlan(o: Options, plan: Plan): Promise<void> {
  const ctx: ModeContext = { dir: tmpdir(), progress: () => undefined };
  const groups: { label: string; steps: StepTime[] }[] = [{ label: 'run (outside the modes)', steps: runSteps(o, plan) }];
  const rounds = interleavedRounds(o, plan);
  for (const id of ALL_MODES.filter((m) => o.only.includes(m))) {
    const m = await measureMode(makeMode(id, o), ctx, plan, { profile: o.profile, ...(o.cases ? { cases: o.cases } : {}), dry: true, modes: o.only, rounds });
    const keys = ['rtt', 'tcp'].filter((k) => (m.steps ?? []).some((s) => s.key === k));
    const firstRound = passIsFirstRound(o.cases) ? 2 : 1;
    if (rounds > 1 && keys.length > 0) m.steps!.push({ key: 'rounds', what: `rounds ${firstRound}–${rounds}: set up, ${keys.join(' and ')}, torn down`, expectedS: Math.round((rounds - firstRound + 1) * roundExpectS(id, plan, keys)) });
    groups.push({ label: m.label, steps: m.steps ?? [] });
  }
  process.stdout.write(`plan${o.quick ? ' (--quick)' : ''}: expected seconds of each step on a quiet 2-vCPU machine (bench/budget.ts)\n${formatTimes(groups, true).join('\n')}\n`);
}

let cleaning: Promise<void> | null = null;
/** Set once we start creating our namespaces: only then are they ours to delete. */
let ownTopology = false;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await stopAll();
    if (ownTopology) await deleteTopology(progress);
  })();
  return cleaning;
}

/** The final tables and notes on stdout; the cases that make the run not comparable last. */
function printSummary(results: BenchResults): void {
  process.stdout.write(`\n${renderText(figuresTable(results))}\n\n${renderText(termsTable(results))}\n\n${renderText(ratiosTable(results))}\n\n${renderText(goalsTable(results))}\n`);
  for (const m of results.modes) for (const n of [...(m.reason ? [`${m.status}: ${m.reason}`] : []), ...m.notes, ...m.errors]) process.stdout.write(`  ${m.label}: ${n}\n`);
  if (results.notComparable.length > 0) {
    process.stdout.write(`\nNOT COMPARABLE: do not quote this run's ratios or goals for these cases:\n${results.notComparable.map((p) => `  ${formatProblem(p)}\n`).join('')}`);
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (o.render !== undefined) {
    const saved = JSON.parse(readFileSync(o.render, 'utf8')) as BenchResults;
    // today's checks on the saved figures (the memory benchmark's failure is only in the saved list)
    saved.notComparable = [...findProblems(saved), ...(saved.notComparable ?? []).filter((p) => p.mode === 'memory' || (p.mode === 'config-scale' && p.measurement === '*'))];
    printSummary(saved);
    if (o.docs) updatePerformanceDoc(join(ROOT, 'docs', 'performance.md'), saved);
    process.stdout.write(`\nrendered ${o.render}${o.docs ? ' into docs/performance.md' : ''}\n`);
    if (saved.notComparable.length > 0) process.exitCode = EXIT_NOT_COMPARABLE;
    return;
  }
  const seeds = o.seeds === null ? {} : seedsFrom(o.seeds);
  const plan: Plan = { ...(o.quick ? QUICK : FULL), ...(o.sustainedRates ? { sustainedRates: o.sustainedRates } : {}), ...(Object.keys(seeds).length > 0 ? { seeds } : {}) };
  if (o.planOnly) {
    await printPlan(o, plan);
    return;
  }
  if (process.getuid?.() !== 0) throw new Error('run as root: the benchmark creates network namespaces, veths and TUN devices');
  for (const problem of installMissing(progress)) progress(problem);
  for (const t of ['ip', 'iperf3']) {
    if (spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0) throw new Error(`${t} is missing (apt-get install iproute2 iperf3)`);
  }
  const command = `node dist/bench/run.js${process.argv.slice(2).length > 0 ? ' ' + process.argv.slice(2).join(' ') : ''}`;
  const dir = mkdtempSync(join(tmpdir(), `${namePrefix()}-`));
  const ctx: ModeContext = { dir, progress };
  const startLoad = loadavg().map((x) => +x.toFixed(2));
  const git = gitState(ROOT); // what dist/ was built from when we started
  const snap = snapshotBuild(ROOT, dir); // one run measures one build, whatever gets rebuilt meanwhile
  useSvrScript(join(snap, 'bin', 'svr.js'));
  progress(`svrouter benchmark${o.quick ? ' (--quick)' : ''}: modes ${o.only.join(', ')}; logs in ${dir}`);
  progress(plan.seeds === undefined ? '  searches: full (no seeds)' : `  searches seeded from ${o.seeds} (${Object.keys(plan.seeds).join(', ')})`);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      progress(`${sig}: cleaning up`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  process.on('exit', killAllSync);

  const modes: ModeResult[] = [];
  const steps = runSteps(o, plan);
  const t1 = Date.now();
  try {
    await checkLeftovers(progress);
    ownTopology = true;
    await createTopology(progress);
    await startIperfServer(dir);
    const tool = buildUdpLoad(dir);
    if (tool.path !== undefined) {
      ctx.udpLoad = tool.path;
      const echo = spawnIn(NS.server, 'udp-load-echo', tool.path, ['echo', SERVER, String(UDP_SESSION_PORTS.from), String(UDP_SESSION_PORTS.to)], join(dir, 'udp-load-echo.log'));
      await waitForLine(echo, /ready/, 20_000);
      progress(`  RTT and new UDP sessions: C ping, client and echo (${tool.path})`);
    } else {
      progress(`  RTT and new UDP sessions: Node ping, client and echo (${tool.reason})`);
    }
    const servers = spawnIn(NS.server, 'servers', process.execPath, [fileURLToPath(new URL('./servers.js', import.meta.url)),
      '--echo', `${SERVER}:${ECHO_PORT}`, ...(tool.path === undefined ? ['--echo-range', `${SERVER}:${UDP_SESSION_PORTS.from}-${UDP_SESSION_PORTS.to}`] : []),
      '--tcp-close', `${SERVER}:${TCP_SESSION_PORT}`, '--tcp-sink', `${SERVER}:${TCP_SINK_PORT}`], join(dir, 'servers.log'));
    await waitForLine(servers, /ready/, 20_000);
    steps[0]!.tookS = Math.round((Date.now() - t1) / 1000);
    const rounds = interleavedRounds(o, plan);
    for (const id of ALL_MODES.filter((m) => o.only.includes(m))) modes.push(await measureMode(makeMode(id, o), ctx, plan, { ...o, modes: o.only, rounds, aloneLast: true }));
    const firstRound = passIsFirstRound(o.cases) ? 2 : 1;
    for (let round = firstRound; round <= rounds && rounds > 1; round++) {
      for (const m of modes.filter((x) => x.status === 'ok')) await measureRound(makeMode(m.id, o), ctx, plan, m, round, round === 1);
    }
    // last: r1 alone's ip rules stay in r1's namespace and would slow every route lookup measured after them
    const hmac = modes.find((m) => m.id === 'svrouter' && m.status === 'ok');
    const aloneCases = o.cases === undefined || o.cases.some((c) => c === 'scaling' || c === 'r1alone');
    const hmacMode = hmac !== undefined && aloneCases ? makeMode('svrouter', o) : undefined;
    if (hmac !== undefined && hmacMode instanceof SvrouterMode) await measureAloneLast(hmacMode, ctx, plan, { ...o, modes: o.only }, hmac);
    for (const m of modes) if (rounds > 1 && m.status === 'ok' && (m.tcp !== undefined || m.rtt !== undefined)) m.rounds = rounds;
  } finally {
    await cleanup();
  }
  let memory: MemoryResult | undefined;
  let memoryError: string | undefined;
  if (o.memory && o.cases === undefined && o.only.some((m) => m.startsWith('svrouter'))) {
    try {
      memory = await timed(steps, 'memory', () => memoryBench(o.memoryCapacity ?? plan.memoryCapacity, snap));
    } catch (e) {
      memoryError = (e as Error).message;
      progress(`  ! ${memoryError}`);
    }
  }
  let configScale: ConfigScaleResult | undefined;
  let configScaleError: string | undefined;
  if (o.memory && o.cases === undefined && o.only.some((m) => m.startsWith('svrouter'))) {
    try {
      configScale = await timed(steps, 'config-scale', () => configScaleBench(snap, o.quick));
    } catch (e) {
      configScaleError = (e as Error).message;
      progress(`  ! ${configScaleError}`);
    }
  }
  const hs = modes.find((m) => m.id === 'svrouter-enc-hs' && m.status === 'ok');
  if (hs !== undefined) {
    try {
      hs.handshakes = await timed(steps, 'handshakes', () => handshakeBench(snap));
    } catch (e) {
      hs.errors.push(`handshakes: ${(e as Error).message}`);
      progress(`  ! ${(e as Error).message}`);
    }
  }
  const results: BenchResults = {
    date: new Date().toISOString(), command, git, quick: o.quick, machine: machineInfo(currentWireguardGo(ROOT).path),
    durationSeconds: (Date.now() - t0) / 1000, steps, loadAvg: { start: startLoad, end: loadavg().map((x) => +x.toFixed(2)) },
    prefix: namePrefix(), modes, ...(memory ? { memory } : {}), ...(configScale ? { configScale } : {}),
    notComparable: findProblems({ modes, ...(configScale ? { configScale } : {}) }, memoryError, configScaleError), runDir: dir,
  };
  const resultsFile = o.results ?? (o.cases === undefined ? join(ROOT, 'bench', 'results.json') : join(dir, 'results.json'));
  writeFileSync(resultsFile, JSON.stringify(results, null, 2) + '\n');
  if (o.docs && o.cases === undefined) updatePerformanceDoc(join(ROOT, 'docs', 'performance.md'), results);
  const nsLeft = (await run('ip', ['netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith(`${namePrefix()}-`));
  if (o.cases === undefined) printSummary(results);
  else if (o.cases.includes('wan')) process.stdout.write(`\n${renderText(goalsTable(results).filter((g, i) => i === 0 || g[0]!.includes('1400 B path') || g[0]!.includes('FEC')))}\n`);
  else if (o.cases.includes('sustained') || o.cases.includes('tables')) {
    process.stdout.write(`\n${renderText(goalsTable(results).filter((g, i) => i === 0 || /sessions\/s held|in the tables|first packet with/.test(g[0]!)))}\n`);
  }
  else {
    process.stdout.write(`\n${JSON.stringify(results.modes.map((m) => Object.fromEntries(Object.entries(m).filter(([k]) => o.cases!.includes(k) || k === 'errors'))), null, 2)}\n`);
    // the modes side by side: with interleaved rounds, each ratio the median of the rounds' ratios (min–max)
    if (results.modes.length > 1) process.stdout.write(`\n${renderText(ratiosTable(results))}\n`);
  }
  if (o.cases !== undefined && results.notComparable.length > 0) {
    process.stdout.write(`\nNOT COMPARABLE:\n${results.notComparable.map((p) => `  ${formatProblem(p)}\n`).join('')}`);
  }
  process.stdout.write(`\nwrote ${resultsFile}${o.docs && o.cases === undefined ? ' and docs/performance.md' : ''}; logs in ${dir}; namespaces left: ${nsLeft.length === 0 ? 'none' : nsLeft.join(' ')}\n`);
  const times = [{ label: 'run (outside the modes)', steps }, ...modes.map((m) => ({ label: m.label, steps: m.steps ?? [] }))];
  process.stdout.write(`\ntime per mode, against the plan's expected seconds on a quiet machine (load average at the end ${results.loadAvg.end.join(' ')}):\n${formatTimes(times, false).join('\n')}\n`);
  if (results.notComparable.length > 0) process.exitCode = EXIT_NOT_COMPARABLE;
}

main().catch(async (e: unknown) => {
  progress(`error: ${e instanceof Error ? e.message : String(e)}`);
  await cleanup();
  process.exitCode = 1;
});
