/**
 * A time-series chart (uPlot on a canvas): x = time, one line per series. Created once, fed new data on
 * every update, resized with its container. Under the chart, each series' colour, name and newest value
 * as text (the legend; readable without the canvas, and what the browser tests read).
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface ChartSeries {
  label: string;
  /** a stable key for tests and the legend */
  key: string;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];

export function Chart({ title, unit, series, data, digits = 1, testid }: { title: string; unit: string; series: ChartSeries[]; data: uPlot.AlignedData; digits?: number; testid: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = series.map((s) => s.key).join('|');
  useEffect(() => {
    const el = box.current!;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: 180,
      legend: { show: false },
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), max <= 0 ? 1 : max * 1.1] } },
      axes: [{}, { label: unit, size: 60 }],
      series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: false, value: (_u: uPlot, v: number | null) => (v == null ? '–' : v.toFixed(digits)) }))],
    };
    const p = new uPlot(opts, data, el);
    plot.current = p;
    const ro = new ResizeObserver(() => p.setSize({ width: Math.max(200, el.clientWidth), height: 180 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      p.destroy();
      plot.current = null;
    };
  }, [shape, unit]);
  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);
  const last = series.map((s, i) => {
    const ys = data[i + 1] as (number | null | undefined)[] | undefined;
    let v: number | null = null;
    for (let k = (ys?.length ?? 0) - 1; k >= 0 && v === null; k--) v = ys![k] ?? null;
    return { s, v };
  });
  return (
    <figure class="chart" data-testid={testid}>
      <figcaption>{title}</figcaption>
      <div ref={box} class="plot" />
      <p class="latest">
        {last.map(({ s, v }, i) => (
          <span data-series={s.key} data-value={v ?? ''}>
            <i class="swatch" style={{ background: COLORS[i % COLORS.length] }} />{s.label}: <strong>{v === null ? '–' : `${v.toFixed(digits)}${unit === '' ? '' : ` ${unit}`}`}</strong>
          </span>
        ))}
      </p>
    </figure>
  );
}
