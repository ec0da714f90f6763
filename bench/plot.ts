/**
 * A small SVG line plot for the benchmark's curves (docs/img/*.svg, next to their tables in
 * docs/performance.md): axes with round ticks, one line with point markers per series, axis labels, a title
 * and a legend. No dependency; the same input always gives the same bytes (the images are committed).
 */

export interface Series {
  name: string;
  /** [x, y] points; drawn in order of x */
  points: readonly (readonly [number, number])[];
}

export interface PlotSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  /** a dashed horizontal line, e.g. a target */
  target?: { y: number; label: string };
  /** x axis ticks at exactly these values (e.g. worker counts) instead of round numbers */
  xTicks?: readonly number[];
}

const W = 640;
const H = 360;
const M = { left: 72, right: 20, top: 40, bottom: 52 };
/** a series with more points than this is drawn without a marker per point */
const MAX_MARKERS = 40;
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const px = (v: number): string => String(Math.round(v * 10) / 10);

/** Round tick values (steps of 1, 2 or 5 × 10^k) covering [lo, hi], about `n` of them. */
export function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) hi = lo + (lo === 0 ? 1 : Math.abs(lo));
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
  if (out[out.length - 1]! < hi) out.push(+(out[out.length - 1]! + step).toPrecision(12));
  return out;
}

/** 1200 -> "1.2k", 3500000 -> "3.5M", 0.25 -> "0.25", 500 -> "500". */
export function tickLabel(v: number): string {
  const a = Math.abs(v);
  const trim = (x: number): string => String(+x.toPrecision(3));
  if (a >= 1e9) return `${trim(v / 1e9)}G`;
  if (a >= 1e6) return `${trim(v / 1e6)}M`;
  if (a >= 1e3) return `${trim(v / 1e3)}k`;
  return trim(v);
}

/** The plot as an SVG document. Throws when no series has a finite point (nothing to draw is a bug upstream). */
export function renderPlot(spec: PlotSpec): string {
  const series = spec.series.map((s) => ({ name: s.name, points: s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).slice().sort((a, b) => a[0] - b[0]) }))
    .filter((s) => s.points.length > 0);
  if (series.length === 0) throw new Error(`plot "${spec.title}": no finite points to draw`);
  const xs = series.flatMap((s) => s.points.map((p) => p[0])).concat(spec.xTicks ?? []);
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).concat(spec.target !== undefined ? [spec.target.y] : []);
  const xTicks = spec.xTicks !== undefined && spec.xTicks.length > 1 ? [...spec.xTicks] : niceTicks(Math.min(...xs), Math.max(...xs));
  const yTicks = niceTicks(Math.min(0, ...ys), Math.max(...ys) * 1.05);
  const [x0, x1] = [xTicks[0]!, xTicks[xTicks.length - 1]!];
  const [y0, y1] = [yTicks[0]!, yTicks[yTicks.length - 1]!];
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (x: number): number => M.left + (x1 === x0 ? pw / 2 : ((x - x0) / (x1 - x0)) * pw);
  const sy = (y: number): number => M.top + ph - ((y - y0) / (y1 - y0)) * ph;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<title>${esc(spec.title)}</title>`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(spec.title)}</text>`,
  ];
  for (const t of yTicks) {
    out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${px(sy(t))}" y2="${px(sy(t))}" stroke="#e5e5e5"/>`,
      `<text x="${M.left - 6}" y="${px(sy(t) + 4)}" text-anchor="end">${esc(tickLabel(t))}</text>`);
  }
  for (const t of xTicks) {
    out.push(`<line x1="${px(sx(t))}" x2="${px(sx(t))}" y1="${M.top + ph}" y2="${M.top + ph + 5}" stroke="#333333"/>`,
      `<text x="${px(sx(t))}" y="${M.top + ph + 18}" text-anchor="middle">${esc(tickLabel(t))}</text>`);
  }
  out.push(`<line class="axis" x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + ph}" stroke="#333333"/>`,
    `<line class="axis" x1="${M.left}" x2="${M.left + pw}" y1="${M.top + ph}" y2="${M.top + ph}" stroke="#333333"/>`,
    `<text x="${M.left + pw / 2}" y="${H - 10}" text-anchor="middle">${esc(spec.xLabel)}</text>`,
    `<text transform="translate(16 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(spec.yLabel)}</text>`);
  if (spec.target !== undefined) {
    const y = px(sy(spec.target.y));
    out.push(`<line class="target" x1="${M.left}" x2="${M.left + pw}" y1="${y}" y2="${y}" stroke="#555555" stroke-dasharray="6 4"/>`,
      `<text x="${M.left + 6}" y="${px(sy(spec.target.y) - 5)}" fill="#555555">${esc(spec.target.label)}</text>`);
  }
  const color = (i: number): string => COLORS[i % COLORS.length]!;
  series.forEach((s, i) => {
    const pts = s.points.map(([x, y]) => `${px(sx(x))},${px(sy(y))}`);
    out.push(`<polyline class="series" data-name="${esc(s.name)}" fill="none" stroke="${color(i)}" stroke-width="2" points="${pts.join(' ')}"/>`);
    if (pts.length > MAX_MARKERS) return; // a dense series is a line without markers
    for (const p of pts) {
      const [cx, cy] = p.split(',');
      out.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${color(i)}"/>`);
    }
  });
  // the legend on top, on a white box, top left
  const legendWidth = 46 + 7 * Math.max(...series.map((s) => s.name.length));
  out.push(`<rect x="${M.left + 4}" y="${M.top}" width="${legendWidth}" height="${series.length * 16 + 2}" fill="#ffffff" fill-opacity="0.85"/>`);
  series.forEach((s, i) => {
    const ly = M.top + 8 + i * 16;
    out.push(`<line x1="${M.left + 10}" x2="${M.left + 30}" y1="${ly}" y2="${ly}" stroke="${color(i)}" stroke-width="2"/>`,
      `<text x="${M.left + 36}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>', '');
  return out.join('\n');
}
