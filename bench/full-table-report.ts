/**
 * The full-table case in the report: goal rows (issue 19: TCP throughput, RTT and the first packet with full
 * tables within 10 % of the empty ones) and its section of docs/performance.md. The empty figure is the mean
 * of the empty table measured before the fills and after them (the routers restarted).
 */
import type { FullTableResult, TableFill } from './full-table.js';
import type { Goal } from './report.js';
import type { ModeResult } from './results.js';

const n = (x: number): string => Math.round(x).toLocaleString('en-US');

function empty(t: FullTableResult, value: (f: TableFill) => number | undefined): number | undefined {
  const xs = t.fills.filter((f) => f.target === 0).map(value).filter((x): x is number => x !== undefined && Number.isFinite(x));
  return xs.length === 0 ? undefined : xs.reduce((a, b) => a + b, 0) / xs.length;
}

const gbps = (f: TableFill): number | undefined => f.tcp?.gbps.median;
const rttP50 = (f: TableFill): number | undefined => f.rtt?.p50Us.median;

export function fullTableGoals(m: ModeResult | undefined, notComparable: boolean): Goal[] {
  const t = m?.fullTable;
  const full = t?.fills.filter((f) => f.target > 0) ?? [];
  const sizes = full.length > 0 ? full.map((f) => n(f.target)).join(' and ') : '100,000 and 1,000,000';
  const status = (pass: boolean): Goal['status'] => (notComparable ? 'not comparable' : pass ? 'pass' : 'FAIL');
  const row = (goal: string, value: (f: TableFill) => number | undefined, unit: string, digits: number, higherIsBetter: boolean): Goal => {
    const e = t === undefined ? undefined : empty(t, value);
    const xs = full.map((f) => [f, value(f)] as const).filter((x): x is readonly [TableFill, number] => x[1] !== undefined);
    if (e === undefined || xs.length === 0) return { goal, measured: '–', status: 'n/a', note: 'not measured' };
    const ratios = xs.map(([, x]) => x / e);
    const pass = ratios.every((r) => (higherIsBetter ? r >= 0.9 : r <= 1.1));
    const befores = t!.fills.filter((f) => f.target === 0).map((f) => `${f.label.replace('empty, ', '')} ${value(f)?.toFixed(digits) ?? '–'}`).join(', ');
    return {
      goal, measured: `${xs.map(([f, x], i) => `${x.toFixed(digits)} ${unit} at ${n(f.target)} (${ratios[i]!.toFixed(2)}×)`).join(', ')} against ${e.toFixed(digits)} ${unit} empty`,
      status: status(pass), note: `empty table before and after the fills: ${befores} ${unit}`,
    };
  };
  const out = [
    row(`TCP 1 stream with ${sizes} sessions in the tables within 10 % of the empty table (hmac only)`, gbps, 'Gbps', 3, true),
    row(`RTT p50 with ${sizes} sessions in the tables within 10 % of the empty table (hmac only)`, rttP50, 'µs', 1, false),
  ];
  const fp = t?.firstPacket;
  const fpGoal = 'first packet with 100,000 routes within 10 % of 10 routes (in process, use-learned-routes)';
  out.push(fp === undefined ? { goal: fpGoal, measured: '–', status: 'n/a', note: 'not measured' } : {
    goal: fpGoal, measured: `${(fp.fullNs / 1000).toFixed(2)} against ${(fp.smallNs / 1000).toFixed(2)} µs (best of each); median of ${fp.pairs} interleaved pairs ${fp.medianRatio.toFixed(2)}×`,
    status: status(fp.medianRatio <= 1.1), note: `bench/routing.ts --first-packet-json: ${n(fp.smallRoutes)} against ${n(fp.fullRoutes)} RIB routes`,
  });
  return out;
}

/** The section of docs/performance.md (empty when the run has no full-table case). */
export function fullTableSection(modes: readonly ModeResult[]): string[] {
  const m = modes.find((x) => x.fullTable !== undefined);
  if (m === undefined) return [];
  const t = m.fullTable!;
  const routers = Object.keys(t.fills[0]?.active ?? {});
  const rows = t.fills.map((f) => {
    const spread = f.tcp === undefined ? '–' : `${f.tcp.gbps.median.toFixed(3)}${f.tcp.gbps.runs.length > 1 ? ` (${f.tcp.gbps.min.toFixed(3)}–${f.tcp.gbps.max.toFixed(3)})` : ''}`;
    const perSession = (r: string): string => {
      const base = t.fills.find((x) => x.target === 0)?.rssBytes[r];
      return f.target > 0 && base !== undefined ? ` (${n((f.rssBytes[r]! - base) / f.target)} B/session)` : '';
    };
    return `| ${f.label} | ${routers.map((r) => `${n(f.active[r]?.[0] ?? NaN)} → ${n(f.active[r]?.[1] ?? NaN)}`).join(' / ')} | ${routers.map((r) => `${(f.rssBytes[r]! / 2 ** 20).toFixed(0)} MiB${perSession(r)}`).join(' / ')} | ${spread} | ${f.rtt === undefined ? '–' : `${f.rtt.p50Us.median.toFixed(1)} / ${f.rtt.p99Us.median.toFixed(1)}`} | ${f.fillSeconds === undefined ? '–' : `${f.fillSeconds.toFixed(0)} s (${n(f.fillPerSecond!)}/s)`} |`;
  });
  const fp = t.firstPacket;
  return ['', `### Full tables: ${m.label}`, '',
    'TCP (iperf3, 1 stream) and RTT (the C ping) with the tables empty, filled with answered UDP sessions on distinct 5-tuples (idle timeout one hour; the C client, 512 in flight), and empty again after a restart of both routers (bench/full-table.ts).', '',
    `| tables | sessions active ${routers.join(' / ')} (before → after measuring) | RSS ${routers.join(' / ')} | TCP Gbps | RTT p50 / p99 µs | fill |`, '|---|---|---|---|---|---|',
    ...rows,
    ...(fp === undefined ? [] : ['', `First packet in process (bench/routing.ts --first-packet-json, use-learned-routes; CPU time): ${(fp.smallNs / 1000).toFixed(2)} µs with ${n(fp.smallRoutes)} routes, ${(fp.fullNs / 1000).toFixed(2)} µs with ${n(fp.fullRoutes)} (best of each); median ratio of ${fp.pairs} interleaved pairs ${fp.medianRatio.toFixed(2)}×.`]),
    '', ...t.fills.filter((f) => (f.rounds?.length ?? 0) > 0).map((f) => `- fill to ${n(f.target)}: ${f.rounds!.map((r, i) => `round ${i + 1} ${n(r.ok)} answered, ${n(r.failed)} failed of ${n(r.attempted)} in ${r.seconds.toFixed(1)} s, then ${Object.entries(r.active).map(([x, a]) => `${x} ${n(a)}`).join(' / ')} active`).join('; ')}${f.drops === undefined ? '' : `; drop counters since the routers started: ${Object.entries(f.drops).map(([x, d]) => `${x} ${Object.entries(d).map(([k, v]) => `${k} ${n(v)}`).join(', ') || 'none'}`).join('; ')}`}`),
    ...t.errors.map((e) => `- error: ${e}`)];
}
