/**
 * The curves of a run as SVG images (plot.ts), written next to docs/performance.md (docs/img/bench-*.svg) by
 * every full run and by `--render`, and linked from the generated tables. Each plot is made from
 * bench/results.json alone; a curve the run did not measure gives no image.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RELOAD_PAUSE_TARGET_MS, type ConfigSize } from './config-scale.js';
import { MEMORY_GOAL_BYTES, type MemoryFill } from './memory.js';
import { renderPlot, type Series } from './plot.js';
import type { BenchResults } from './results.js';
import { heldRun } from './sustained-check.js';
import { SCALING_FIGURES, SCALING_TARGET, SCALING_WORKERS, scalingRatio } from './scaling.js';

export interface BenchPlot {
  /** file name under docs/img/ */
  file: string;
  title: string;
  svg: string;
}

/** The folder of the images, relative to docs/performance.md. */
export const IMG_DIR = 'img';

/** Markdown that shows a plot, for the generated page. */
export const plotLink = (p: BenchPlot): string => `![${p.title}](${IMG_DIR}/${p.file})`;

export function benchPlots(r: BenchResults): BenchPlot[] {
  const out: BenchPlot[] = [];
  const add = (file: string, spec: Parameters<typeof renderPlot>[0]): void => {
    if (spec.series.some((s) => s.points.length > 0)) out.push({ file, title: spec.title, svg: renderPlot(spec) });
  };
  const mem = r.memory;
  if (mem !== undefined) {
    const pts = (f: (x: MemoryFill) => number): [number, number][] => mem.fills.map((x) => [100 * x.fill, f(x)]);
    add('bench-memory.svg', {
      title: `Memory per session by table fill (limit ${mem.capacity.toLocaleString('en-US')} sessions)`, xLabel: 'table fill, %', yLabel: 'bytes per session',
      series: [{ name: "r1's table bytes per session", points: pts((x) => x.tableBytesPerSession) }, { name: 'RSS per session and router', points: pts((x) => x.rssPerSession) }],
      target: { y: MEMORY_GOAL_BYTES, label: `goal ≤ ${MEMORY_GOAL_BYTES} B` },
    });
  }
  const scaling = r.modes.find((m) => m.scaling !== undefined)?.scaling;
  if (scaling !== undefined) {
    const series: Series[] = SCALING_FIGURES.map((f) => {
      const s = scalingRatio(scaling, f.value);
      return { name: f.name, points: s.ratio === undefined ? [] : [[1, 1], [2, s.ratio]] };
    });
    add('bench-scaling.svg', {
      title: 'r1 alone: 2 data-path workers ÷ 1 worker', xLabel: 'data-path workers (--workers)', yLabel: 'figure ÷ the figure with 1 worker',
      series, xTicks: [...SCALING_WORKERS], target: { y: SCALING_TARGET, label: `target ≥ ${SCALING_TARGET}×` },
    });
  }
  const cs = r.configScale;
  if (cs !== undefined && cs.sizes.length > 0) {
    const pts = (f: (x: ConfigSize) => number): [number, number][] => cs.sizes.map((x) => [x.services, f(x)]);
    add('bench-config-scale.svg', {
      title: `Config size: services × ${cs.sizes[0]!.tenants} tenants`, xLabel: 'services', yLabel: 'ms (one core)',
      series: [{ name: 'read and validate', points: pts((x) => x.parseMs) }, { name: "compile r1's tables", points: pts((x) => x.compileMs) }, { name: 'apply to the data path', points: pts((x) => x.applyMs) }],
    });
  }
  const rl = cs?.reload;
  if (rl !== undefined && rl.gaps.length > 0) {
    add('bench-reload-pause.svg', {
      title: `Reload with ${rl.sessions.toLocaleString('en-US')} sessions: gaps in forwarding`, xLabel: 's since the reload started', yLabel: 'gap between two batches, ms',
      series: [{ name: `largest gap per 10 ms (a batch every ${rl.feedIntervalMs} ms)`, points: rl.gaps }], target: { y: RELOAD_PAUSE_TARGET_MS, label: `target ≤ ${RELOAD_PAUSE_TARGET_MS} ms` },
    });
  }
  const sustained = r.modes.find((m) => m.sustained !== undefined)?.sustained;
  for (const p of ['udp', 'tcp'] as const) {
    const run = sustained?.[p];
    const h = heldRun(run) ?? run?.holds[run.holds.length - 1];
    if (h === undefined) continue;
    const perSecond = (k: 'created' | 'expired'): [number, number][] => h.samples.slice(1).map((x, i) => {
      const prev = h.samples[i]!;
      return [x.t, (x.routers['r1']![k] - prev.routers['r1']![k]) / Math.max(0.001, x.t - prev.t)];
    });
    add(`bench-sustained-${p}.svg`, {
      title: `r1 during ${h.client.seconds.toFixed(0)} s of new ${p.toUpperCase()} sessions at ${h.rate.toLocaleString('en-US')}/s (${h.verdict.reasons.length === 0 ? 'steady' : 'not steady'})`,
      xLabel: 's since the hold started', yLabel: 'sessions; sessions per second',
      series: [{ name: 'sessions active', points: h.samples.map((x) => [x.t, x.routers['r1']!.active]) },
        { name: 'created per second', points: perSecond('created') }, { name: 'expired per second (the sweep)', points: perSecond('expired') }],
    });
  }
  return out;
}

/** Writes the run's plots into `<docsDir>/img/` and returns them. */
export function writePlots(docsDir: string, r: BenchResults): BenchPlot[] {
  const plots = benchPlots(r);
  if (plots.length === 0) return plots;
  mkdirSync(join(docsDir, IMG_DIR), { recursive: true });
  for (const p of plots) writeFileSync(join(docsDir, IMG_DIR, p.file), p.svg);
  return plots;
}
