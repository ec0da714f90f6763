/**
 * The benchmark's plots (bench/plot.ts, bench/plots.ts) rendered from fixtures, and the scale cases' checks:
 * per-core scaling and config at scale fail loudly (not comparable, named) when they could not measure what
 * they claim (bench/scaling.ts, bench/scale-report.ts, bench/comparable.ts). No root needed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findProblems } from '../../../bench/comparable.js';
import { scaleConfigYaml, type ConfigScaleResult } from '../../../bench/config-scale.js';
import { updatePerformanceDoc } from '../../../bench/docs.js';
import { niceTicks, renderPlot, tickLabel } from '../../../bench/plot.js';
import { benchPlots } from '../../../bench/plots.js';
import { goals, NOT_COMPARABLE } from '../../../bench/report.js';
import type { BenchResults, ModeResult } from '../../../bench/results.js';
import { SCALING_FIGURES, scalingRoom, type ScalingResult, type ScalingRun } from '../../../bench/scaling.js';
import { scaleSections } from '../../../bench/scale-report.js';
import { compileRouter } from '../../../src/model/compile.js';
import { parseConfig } from '../../../src/model/validate.js';

const RUN_JS = fileURLToPath(new URL('../../../bench/run.js', import.meta.url));

const cores = { r1: 0.9, machine: 1.9 };
const sessions = (perSecond: number, failed = 0) => ({
  client: { protocol: 'udp' as const, seconds: 5, attempted: 5 * perSecond, ok: 5 * perSecond - failed, failed, exhausted: false, okPerSecond: perSecond },
  createdR1PerSecond: perSecond, createdR1: 5 * perSecond, cores,
});
const scalingRun = (workers: number, round: number, k: number, over: Partial<ScalingRun> = {}): ScalingRun => ({
  workers, round, reportedWorkers: workers,
  tcp: { gbps: 2 * k, cores }, udp: { kpps: 100 * k, sentKpps: 150, lossPct: 20, cores },
  sessionsUdp: sessions(50_000 * k), sessionsTcp: sessions(8_000 * k), ...over,
});
const scaling = (k2: number, over: Partial<ScalingRun> = {}): ScalingResult => ({
  streams: 8, seconds: 5, errors: [], runs: [scalingRun(1, 1, 1), scalingRun(2, 1, k2, over)],
});
const configScale = (gapBefore = 4, gap = 900): ConfigScaleResult => ({
  date: '2026-12-05T00:00:00.000Z', loadAvg: [1], command: 'test',
  sizes: [1000, 5000, 10000].map((n) => ({ services: n, tenants: 100, sources: 10, yamlBytes: 400 * n, parseMs: 0.7 * n, compileMs: 0.1 * n, applyMs: 10, rssMB: n / 40, heapMB: n / 250 })),
  reload: {
    sessions: 1_000_000, fillSeconds: 5, loadMs: 700, compileMs: 150, swapMs: 40, routeCheckMs: 5, feedIntervalMs: 1, batch: 64,
    maxGapMs: gap, maxGapBeforeMs: gapBefore, maxGapByStep: { load: 2, compile: gap, swap: 3 }, gaps: [[0, 1.1], [0.01, gap], [0.9, 1.2]], sessionsAfter: 1_000_000,
  },
});

function svrouter(s: ScalingResult): ModeResult {
  return { id: 'svrouter', label: 'svrouter hmac only', status: 'ok', notes: [], loadAvgAtStart: [], udpLargeLen: 1400, wanMtu: 1500, errors: [], scaling: s };
}

function results(s: ScalingResult, cs?: ConfigScaleResult): BenchResults {
  const r: BenchResults = {
    date: '2026-12-05T00:00:00.000Z', command: 'test', git: { commit: 'test', dirtyFiles: 0 }, quick: false,
    machine: { cpuModel: 'test', cores: 2, kernel: 'test', node: 'test', memGiB: 1, tools: {} },
    durationSeconds: 1, loadAvg: { start: [0], end: [0] }, prefix: 'svb', modes: [svrouter(s)], notComparable: [], runDir: '/tmp',
    memory: { capacity: 4096, fills: [0.5, 0.99, 0.25].map((fill) => ({ fill, sessions: fill * 4096, rowCapacity: 4096, tableBytes: 1, typedArrayBytes: 1, tableBytesPerSession: 150 / fill, rssPerSession: 170 / fill, arrayBufferPerSession: 1, heapPerSession: 1 })), breakdownR1: [], bytesAgree: true, firstPacketsPerSecond: { r1: 1, r2: 1 } },
    ...(cs !== undefined ? { configScale: cs } : {}),
  };
  r.notComparable = findProblems(r);
  return r;
}

/** The points of each polyline, as numbers. */
const polylines = (svg: string): Map<string, [number, number][]> => new Map([...svg.matchAll(/<polyline class="series" data-name="([^"]*)"[^>]* points="([^"]*)"/g)]
  .map((m) => [m[1]!, m[2]!.split(' ').map((p) => p.split(',').map(Number) as [number, number])]));

test('round ticks and short labels', () => {
  assert.equal(niceTicks(0, 9.5), [0, 2, 4, 6, 8, 10]);
  assert.equal(niceTicks(1000, 10000), [0, 2000, 4000, 6000, 8000, 10000]);
  assert.is(tickLabel(1200), '1.2k');
  assert.is(tickLabel(500), '500');
  assert.is(tickLabel(25_000), '25k');
  assert.is(tickLabel(3_500_000), '3.5M');
  assert.is(tickLabel(0.25), '0.25');
});

test('a plot from a fixture: title, axis labels, one line per series through its points, legend, target, escaped text', () => {
  const svg = renderPlot({
    title: 'Sessions <by> fill', xLabel: 'fill, %', yLabel: 'bytes', target: { y: 300, label: 'goal ≤ 300 B' },
    series: [{ name: 'table', points: [[99, 298], [25, 1180], [50, 502]] }, { name: 'RSS', points: [[25, 1340], [50, 408], [99, 337], [75, NaN]] }],
  });
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  assert.match(svg, /<title>Sessions &lt;by&gt; fill<\/title>/);
  assert.not.match(svg, /<by>/);
  for (const label of ['fill, %', 'bytes', 'goal ≤ 300 B', '>table<', '>RSS<']) assert.ok(svg.includes(label), label);
  const lines = polylines(svg);
  assert.equal([...lines.keys()], ['table', 'RSS']);
  const table = lines.get('table')!;
  const rss = lines.get('RSS')!;
  assert.is(table.length, 3, 'every point of the series');
  assert.is(rss.length, 3, 'the NaN point is left out');
  assert.ok(table[0]![0] < table[1]![0] && table[1]![0] < table[2]![0], 'drawn in order of x');
  assert.ok(table[0]![1] < table[1]![1], 'SVG y grows downwards: 1180 B at 25 % is above 502 B at 50 %');
  assert.ok(rss[0]![1] < table[0]![1], '1340 B is drawn above 1180 B');
  const target = /<line class="target"[^>]* y1="([\d.]+)"/.exec(svg);
  assert.ok(target !== null);
  assert.ok(Number(target![1]) > table[0]![1] && Number(target![1]) < table[2]![1] + 5, 'the 300 B line lies between 1180 B and 298 B');
  assert.is(renderPlot({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'a', points: [[1, 2], [2, 3]] }] }),
    renderPlot({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'a', points: [[2, 3], [1, 2]] }] }), 'the same data gives the same bytes');
  assert.throws(() => renderPlot({ title: 'empty', xLabel: 'x', yLabel: 'y', series: [{ name: 'a', points: [[1, NaN]] }] }), /empty.*no finite points/);
});

test('the plots of a results file: memory, scaling, config size and the reload pause, each from its figures', () => {
  const plots = benchPlots(results(scaling(1.9), configScale()));
  assert.equal(plots.map((p) => p.file), ['bench-memory.svg', 'bench-scaling.svg', 'bench-config-scale.svg', 'bench-reload-pause.svg']);
  const sc = polylines(plots[1]!.svg);
  assert.is(sc.size, 4, 'TCP, UDP, new UDP and new TCP sessions');
  for (const pts of sc.values()) {
    assert.is(pts.length, 2);
    assert.ok(pts[1]![1] < pts[0]![1], '1.9× is above 1×');
  }
  assert.match(plots[1]!.svg, /target ≥ 1.6×/);
  assert.is(polylines(plots[2]!.svg).get('read and validate')!.length, 3, 'one point per config size');
  assert.match(plots[3]!.svg, /target ≤ 50 ms/);
  assert.equal(benchPlots({ ...results(scaling(1.9)), memory: undefined, modes: [] } as BenchResults), [], 'nothing measured, no image');
});

test('the generated page links each plot next to its table and writes the images beside it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'svrt-bench-plots-'));
  try {
    const page = join(dir, 'performance.md');
    updatePerformanceDoc(page, results(scaling(1.9), configScale()));
    const md = readFileSync(page, 'utf8');
    for (const f of ['bench-memory.svg', 'bench-scaling.svg', 'bench-config-scale.svg', 'bench-reload-pause.svg']) {
      assert.ok(existsSync(join(dir, 'img', f)), f);
      assert.ok(md.includes(`](img/${f})`), `linked: ${f}`);
    }
    assert.ok(md.indexOf('### Per-core scaling') < md.indexOf('img/bench-scaling.svg'), 'the plot follows its table');
    assert.match(md, /\| new UDP sessions, created\/s \| 50000\.0 \| 95000\.0 \| ×1\.90 \|/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('scaling: the goal compares 2 workers with 1, and a run that could not measure it is not comparable, named', () => {
  const goal = (r: BenchResults) => goals(r).find((g) => g.goal.startsWith('r1 alone: 2 data-path workers'))!;
  assert.is(goal(results(scaling(1.9))).status, 'pass');
  assert.is(goal(results(scaling(1.3))).status, 'FAIL');
  assert.match(goal(results(scaling(1.3))).measured, /new UDP sessions ×1\.30/);
  const oneWorker = results(scaling(1.9, { reportedWorkers: 1 }));
  assert.equal(oneWorker.notComparable.map((p) => `${p.mode} ${p.measurement}`), ['svrouter scaling']);
  assert.match(oneWorker.notComparable[0]!.reason, /reported 1 data-path worker\(s\), not 2/);
  assert.is(goal(oneWorker).status, NOT_COMPARABLE);
  const overloaded = results(scaling(1.9, { sessionsUdp: sessions(95_000, 20_000) }));
  assert.match(overloaded.notComparable[0]!.reason, /20000 of 475000 new UDP sessions failed/);
  const missing = results({ ...scaling(1.9), runs: [scalingRun(1, 1, 1)], errors: ['2 worker(s), round 1, start: node.running not seen'] });
  assert.ok(missing.notComparable.some((p) => /TCP, 8 streams with 2 worker\(s\) was not measured/.test(p.reason)));
  assert.is(goal(missing).status, NOT_COMPARABLE);
});

test('scaling: equal terms: the cores left to r1 with 1 worker bound what a second worker can add, in the printed table', () => {
  const full = { r1: 0.5, machine: 2, leftForR1: 0.5 };
  const room = (left: number) => ({ r1: 0.5, machine: 2.5 - left, leftForR1: left });
  const s = scaling(1.3);
  s.runs = [
    scalingRun(1, 1, 1, { tcp: { gbps: 2, cores: full } }), scalingRun(1, 2, 1, { tcp: { gbps: 2, cores: room(1.5) } }),
    scalingRun(1, 3, 1, { tcp: { gbps: 2, cores: room(1.1) } }), scalingRun(2, 1, 1.3),
  ];
  const tcp = SCALING_FIGURES[0]!;
  assert.equal(scalingRoom(s, tcp), { used: 0.5, left: 1.1, room: 2.2 }); // medians of the 1-worker rounds
  assert.equal(scalingRoom(s, SCALING_FIGURES[1]!), {}, 'not measured (older results): no bound');
  const md = scaleSections(results(s), []).join('\n');
  assert.match(md, /\| TCP, 8 streams, Gbps \| 2\.0 \| 2\.6 \| ×1\.30 \| 0\.50 of 1\.10 \(×2\.20\) \|/);
  assert.match(md, /\| UDP 1400 B, 8 flows, kpps delivered \| 100\.0 \| 130\.0 \| ×1\.30 \| – \|/);
});

test('config at scale: a reload pause over 50 ms fails; a feed that was not steady before the reload is not comparable', () => {
  const goal = (r: BenchResults) => goals(r).find((g) => g.goal.startsWith('reload of the largest config'))!;
  assert.is(goal(results(scaling(1.9), configScale(4, 30))).status, 'pass');
  assert.is(goal(results(scaling(1.9), configScale(4, 900))).status, 'FAIL');
  const busy = results(scaling(1.9), configScale(80, 900));
  assert.equal(busy.notComparable.map((p) => `${p.mode} ${p.measurement}`), ['config-scale reload']);
  assert.is(goal(busy).status, NOT_COMPARABLE);
});

test('run.js --render of a run whose scaling case is not comparable exits 3 and names the case', () => {
  const dir = mkdtempSync(join(tmpdir(), 'svrt-bench-scale-'));
  try {
    const file = join(dir, 'results.json');
    writeFileSync(file, JSON.stringify(results(scaling(1.9, { reportedWorkers: 1 }))));
    const r = spawnSync(process.execPath, [RUN_JS, '--render', file, '--no-docs'], { encoding: 'utf8', timeout: 30_000 });
    assert.is(r.status, 3, r.stderr);
    assert.match(r.stdout, /NOT COMPARABLE/);
    assert.match(r.stdout, /svrouter scaling: 2 worker\(s\), round 1: r1 reported 1 data-path worker\(s\), not 2/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the generated config at scale is valid and compiles: N services × T tenants, each service routed', () => {
  const config = parseConfig(scaleConfigYaml(50, 12, 4), 'scale');
  assert.is(config.authority.services.length, 50);
  assert.is(config.authority.tenants.length, 12);
  assert.is(config.authority.services[7]!.accessPolicy.length, 4);
  const tables = compileRouter(config, 'r1', 1);
  assert.is(tables.services.length, 50);
  const changed = parseConfig(scaleConfigYaml(50, 12, 4, true), 'scale');
  assert.is(changed.authority.services[1]!.addresses.length, 2, 'the reload changes one service');
});

test.run();
