/**
 * Path quality: latency, jitter, loss, MOS and up/down per path over time. From the conductor: its
 * retained history (every report for the last hour, one-minute means up to 24 h), refreshed every 2 s
 * while the range ends now. From a node: the samples this page collected since it opened (a node keeps
 * no history of its paths).
 */
import { useMemo } from 'preact/hooks';
import uPlot from 'uplot';
import { api, query, type Backend } from '../api.js';
import { useLive } from '../live.js';
import { setParams, type Route } from '../route.js';
import { loadFabric } from '../fabric-data.js';
import { Chart, type ChartSeries } from '../components/chart.js';
import { Failed, Field, Loading } from '../components/common.js';
import type { PathColumn, PathKey, PathListEntry, SeriesReply } from '../types.js';

const RANGES = [
  { key: '10m', label: 'last 10 minutes', ms: 10 * 60_000 },
  { key: '1h', label: 'last hour', ms: 3600_000 },
  { key: '6h', label: 'last 6 hours', ms: 6 * 3600_000 },
  { key: '24h', label: 'last 24 hours', ms: 24 * 3600_000 },
] as const;

const METRICS: { column: PathColumn; title: string; unit: string; digits: number }[] = [
  { column: 'latencyMs', title: 'Latency (one way)', unit: 'ms', digits: 1 },
  { column: 'jitterMs', title: 'Jitter', unit: 'ms', digits: 2 },
  { column: 'lossPercent', title: 'Loss', unit: '%', digits: 2 },
  { column: 'mos', title: 'MOS', unit: '', digits: 2 },
  { column: 'up', title: 'Up (share of reports)', unit: '', digits: 2 },
];

const keyOf = (p: PathKey) => `${p.router}/${p.peer}/${p.path}`;

/** Samples a node page collected: path key -> rows [t, up, latency, jitter, loss, mos]. */
const collected = new Map<string, { key: PathKey; rows: number[][] }>();

async function nodeSeries(): Promise<{ paths: PathKey[]; series: Map<string, SeriesReply<PathColumn>> }> {
  const [r] = await loadFabric('node');
  const now = Date.now();
  for (const peer of r!.peers) {
    for (const p of peer.paths) {
      const key = { router: r!.name, peer: peer.name, path: p.name };
      const entry = collected.get(keyOf(key)) ?? { key, rows: [] };
      entry.rows.push([now, p.up ? 1 : 0, p.latencyMs ?? NaN, p.jitterMs ?? NaN, p.lossPercent ?? NaN, p.mos ?? NaN]);
      if (entry.rows.length > 1800) entry.rows.shift();
      collected.set(keyOf(key), entry);
    }
  }
  const series = new Map<string, SeriesReply<PathColumn>>();
  for (const [k, e] of collected) {
    const col = (i: number) => e.rows.map((row) => (Number.isNaN(row[i]!) ? null : row[i]!));
    series.set(k, { resolution: 'fine', t: e.rows.map((row) => row[0]!), values: { up: col(1), latencyMs: col(2), jitterMs: col(3), lossPercent: col(4), mos: col(5) } });
  }
  return { paths: [...collected.values()].map((e) => e.key), series };
}

async function conductorSeries(selected: PathKey[], from: number): Promise<Map<string, SeriesReply<PathColumn>>> {
  const replies = await Promise.all(selected.map((p) => api<SeriesReply<PathColumn>>('GET', `/api/v1/history/path${query({ router: p.router, peer: p.peer, path: p.path, from })}`).catch(() => undefined)));
  return new Map(selected.flatMap((p, i) => (replies[i] === undefined ? [] : [[keyOf(p), replies[i]!]])));
}

export function PathsPage({ route, backend }: { route: Route; backend: Backend }) {
  const router = route.params.get('router') ?? '';
  const peer = route.params.get('peer') ?? '';
  const path = route.params.get('path') ?? '';
  const rangeKey = route.params.get('range') ?? '10m';
  const range = RANGES.find((r) => r.key === rangeKey) ?? RANGES[0];
  const set = (p: Record<string, string>) => setParams(['paths'], { router, peer, path, range: rangeKey === '10m' ? undefined : rangeKey, ...p });

  const list = useLive(() => (backend === 'conductor' ? api<PathListEntry[]>('GET', '/api/v1/history/paths') : Promise.resolve([] as PathListEntry[])), [backend], ['paths'], 10_000);
  const all: PathKey[] = backend === 'conductor' ? (list.data ?? []) : [...collected.values()].map((e) => e.key);
  const selected = all.filter((p) => (router === '' || p.router === router) && (peer === '' || p.peer === peer) && (path === '' || p.path === path));
  const selectedKeys = selected.map(keyOf).join(',');

  const data = useLive(async () => {
    if (backend === 'node') return (await nodeSeries()).series;
    return conductorSeries(selected, Date.now() - range.ms);
  }, [backend, selectedKeys, range.ms], ['paths']);

  const charts = useMemo(() => {
    const series = data.data;
    if (series === undefined) return undefined;
    const shown = (backend === 'node' ? [...collected.values()].map((e) => e.key).filter((p) => selected.length === 0 || selected.some((s) => keyOf(s) === keyOf(p))) : selected).filter((p) => series.has(keyOf(p)));
    const labels: ChartSeries[] = shown.map((p) => ({ key: keyOf(p), label: `${p.router}→${p.peer} ${p.path}` }));
    const resolution = shown.some((p) => series.get(keyOf(p))!.resolution === 'minute') ? 'one-minute means' : 'every report';
    const per = METRICS.map((m) => {
      const tables = shown.map((p) => {
        const s = series.get(keyOf(p))!;
        return [s.t.map((t) => t / 1000), s.values[m.column]] as unknown as uPlot.AlignedData;
      });
      return { m, data: tables.length === 0 ? ([[]] as unknown as uPlot.AlignedData) : uPlot.join(tables) };
    });
    return { labels, per, resolution };
  }, [data.data]);

  const routers = [...new Set(all.map((p) => p.router))].sort();
  return (
    <>
      <h1>Path quality</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="which paths">
        <Field label="Router">
          <select value={router} onChange={(e) => set({ router: e.currentTarget.value, peer: '', path: '' })}>
            <option value="">all</option>
            {routers.map((r) => <option value={r}>{r}</option>)}
          </select>
        </Field>
        <Field label="Path">
          <select value={path === '' ? '' : `${peer}\0${path}`} onChange={(e) => {
            const [pe = '', pa = ''] = e.currentTarget.value.split('\0');
            set({ peer: pe, path: pa });
          }}>
            <option value="">all</option>
            {all.filter((p) => router === '' || p.router === router).map((p) => <option value={`${p.peer}\0${p.path}`}>{router === '' ? `${p.router}→` : '→'}{p.peer} {p.path}</option>)}
          </select>
        </Field>
        {backend === 'conductor' && (
          <Field label="Range">
            <select value={range.key} onChange={(e) => set({ range: e.currentTarget.value })}>
              {RANGES.map((r) => <option value={r.key}>{r.label}</option>)}
            </select>
          </Field>
        )}
      </form>
      {backend === 'node' && <p class="muted">This node keeps no history of its paths: the charts show what this page saw since it opened (a sample every 2 s).</p>}
      <Failed error={data.error ?? list.error} />
      {charts === undefined ? <Loading what="path quality" /> : charts.labels.length === 0 ? <p class="muted">No path samples yet.</p> : (
        <>
          <p class="muted">{charts.labels.length} path{charts.labels.length === 1 ? '' : 's'}; {charts.resolution}; live (refreshed every 2 s).</p>
          <div class="charts">
            {charts.per.map(({ m, data: d }) => <Chart title={m.title} unit={m.unit} digits={m.digits} series={charts.labels} data={d} testid={`chart-${m.column}`} />)}
          </div>
        </>
      )}
    </>
  );
}
