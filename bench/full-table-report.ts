/**
 * The full-table case in the report: goal rows (issue 19: TCP throughput, RTT and the first packet with full
 * tables within 10 % of the empty ones) and its section of docs/performance.md. Each fill is set against the
 * mean of the empty tables measured around it (the last before it, the first after it: full-table.ts runs
 * rounds of empty, 100 k, 1 M and ends empty); a goal takes the median of the rounds' ratios and says
 * "not settled" when the rounds straddle it (round-check.ts spreadVerdict).
 */
import type { FullTableResult, TableFill } from './full-table.js';
import type { Goal } from './report.js';
import type { ModeResult } from './results.js';
import { formatSpread, spreadVerdict } from './round-check.js';

const n = (x: number): string => Math.round(x).toLocaleString('en-US');

type Value = (f: TableFill) => number | undefined;
const finite = (x: number | undefined): x is number => x !== undefined && Number.isFinite(x);

/** Per fill size, in order: each fill's figure over the mean of the empty tables just before and just after it. */
export function fillRatios(t: FullTableResult, value: Value): Map<number, number[]> {
  const out = new Map<number, number[]>();
  const empties = t.fills.map((f, i) => [i, f.target === 0 ? value(f) : undefined] as const).filter((e): e is readonly [number, number] => finite(e[1]));
  t.fills.forEach((f, i) => {
    const x = value(f);
    if (f.target === 0 || !finite(x)) return;
    const around = [empties.filter(([k]) => k < i).at(-1), empties.find(([k]) => k > i)].filter((e) => e !== undefined).map((e) => e[1]);
    if (around.length === 0) return;
    const list = out.get(f.target) ?? [];
    list.push(x / (around.reduce((a, b) => a + b, 0) / around.length));
    out.set(f.target, list);
  });
  return out;
}

/** `0.98 (0.91–1.04)` for rounds, `0.98` for one */
const ratioCell = (rs: readonly number[], digits: number): string => (rs.length > 1 ? formatSpread(rs, digits) : (rs[0] ?? NaN).toFixed(digits));

const gbps: Value = (f) => f.tcp?.gbps.median;
const rttP50: Value = (f) => f.rtt?.p50Us.median;

/** The worst of the fills' verdicts: a FAIL, else not settled, else pass. */
function worst(vs: readonly ('pass' | 'FAIL' | 'not settled' | undefined)[]): Goal['status'] {
  return vs.includes('FAIL') ? 'FAIL' : vs.includes('not settled') ? 'not settled' : 'pass';
}

export function fullTableGoals(m: ModeResult | undefined, notComparable: boolean): Goal[] {
  const t = m?.fullTable;
  const targets = [...new Set(t?.fills.filter((f) => f.target > 0).map((f) => f.target) ?? [])];
  const sizes = targets.length > 0 ? targets.map(n).join(' and ') : '100,000 and 1,000,000';
  const row = (goal: string, value: Value, unit: string, digits: number, higherIsBetter: boolean): Goal => {
    const ratios = t === undefined ? new Map<number, number[]>() : fillRatios(t, value);
    if (ratios.size === 0) return { goal, measured: '–', status: 'n/a', note: 'not measured' };
    const limit = higherIsBetter ? 0.9 : 1.1;
    const verdict = worst([...ratios.values()].map((rs) => spreadVerdict(rs, limit, higherIsBetter)));
    const rounds = Math.max(...[...ratios.values()].map((rs) => rs.length));
    const empties = t!.fills.filter((f) => f.target === 0).map((f) => value(f)?.toFixed(digits) ?? '–').join(', ');
    return {
      goal, measured: [...ratios].map(([target, rs]) => `${ratioCell(rs, 2)}× at ${n(target)}`).join(', ') + ` (${rounds > 1 ? `median of ${rounds} rounds (min–max), each` : 'the fill'} against the empty tables around it)`,
      status: notComparable ? 'not comparable' : verdict,
      note: `per round: ${[...ratios].map(([target, rs]) => `${n(target)} ${rs.map((r) => r.toFixed(2)).join(', ')}`).join('; ')}; the empty tables in order: ${empties} ${unit}${verdict === 'not settled' ? `; not settled: the rounds straddle ${limit}×` : ''}`,
    };
  };
  const out = [
    row(`TCP 1 stream with ${sizes} sessions in the tables within 10 % of the empty table (hmac only)`, gbps, 'Gbps', 3, true),
    row(`RTT p50 with ${sizes} sessions in the tables within 10 % of the empty table (hmac only)`, rttP50, 'µs', 1, false),
  ];
  const fp = t?.firstPacket;
  const fpGoal = 'first packet with 100,000 routes within 10 % of 10 routes (in process, use-learned-routes)';
  if (fp === undefined) out.push({ goal: fpGoal, measured: '–', status: 'n/a', note: 'not measured' });
  else {
    const ratios = fp.processRatios ?? [fp.medianRatio];
    const verdict = spreadVerdict(ratios, 1.1, false);
    out.push({
      goal: fpGoal, measured: `${(fp.fullNs / 1000).toFixed(2)} against ${(fp.smallNs / 1000).toFixed(2)} µs (median batch of each); ${ratios.length > 1 ? `the median of ${ratios.length} processes' medians of ${fp.pairs} interleaved batch pairs ${formatSpread(ratios, 2)}×` : `median of ${fp.pairs} interleaved batch pairs ${fp.medianRatio.toFixed(2)}×`}`,
      status: notComparable ? 'not comparable' : verdict ?? 'n/a',
      note: `bench/routing.ts --first-packet-json: ${n(fp.smallRoutes)} against ${n(fp.fullRoutes)} RIB routes${verdict === 'not settled' ? '; not settled: the processes straddle 1.1×' : ''}`,
    });
  }
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
      const base = (t.fills.find((x) => x.target === 0 && x.round === f.round) ?? t.fills.find((x) => x.target === 0))?.rssBytes[r];
      return f.target > 0 && base !== undefined ? ` (${n((f.rssBytes[r]! - base) / f.target)} B/session)` : '';
    };
    return `| ${f.label} | ${routers.map((r) => `${n(f.active[r]?.[0] ?? NaN)} → ${n(f.active[r]?.[1] ?? NaN)}`).join(' / ')} | ${routers.map((r) => `${(f.rssBytes[r]! / 2 ** 20).toFixed(0)} MiB${perSession(r)}`).join(' / ')} | ${spread} | ${f.rtt === undefined ? '–' : `${f.rtt.p50Us.median.toFixed(1)} / ${f.rtt.p99Us.median.toFixed(1)}`} | ${f.fillSeconds === undefined ? '–' : `${f.fillSeconds.toFixed(0)} s (${n(f.fillPerSecond!)}/s)`} |`;
  });
  const fp = t.firstPacket;
  return ['', `### Full tables: ${m.label}`, '',
    'TCP (iperf3, 1 stream) and RTT (the C ping) with the tables empty, filled with answered UDP sessions on distinct 5-tuples (idle timeout one hour; the C client, 512 in flight), and empty again after a restart of both routers, in rounds (bench/full-table.ts); each fill against the mean of the empty tables around it.', '',
    `| tables | sessions active ${routers.join(' / ')} (before → after measuring) | RSS ${routers.join(' / ')} | TCP Gbps | RTT p50 / p99 µs | fill |`, '|---|---|---|---|---|---|',
    ...rows,
    '', ...([['TCP', gbps], ['RTT p50', rttP50]] as const).map(([what, v]) => `${what} over the empty tables around each fill, median (min–max) of the rounds: ${[...fillRatios(t, v)].map(([target, rs]) => `${n(target)} ${ratioCell(rs, 3)}×`).join(', ') || '–'}.`),
    ...(fp === undefined ? [] : ['', `First packet in process (bench/routing.ts --first-packet-json, use-learned-routes; CPU time): ${(fp.smallNs / 1000).toFixed(2)} µs with ${n(fp.smallRoutes)} routes, ${(fp.fullNs / 1000).toFixed(2)} µs with ${n(fp.fullRoutes)} (median batch of each); median ratio of ${fp.pairs} interleaved batch pairs ${fp.processRatios !== undefined && fp.processRatios.length > 1 ? `in each of ${fp.processRatios.length} processes ${fp.processRatios.map((r) => r.toFixed(3)).join(', ')}: median ${fp.medianRatio.toFixed(2)}×` : `${fp.medianRatio.toFixed(2)}×`}.`]),
    '', ...t.fills.filter((f) => (f.rounds?.length ?? 0) > 0).map((f) => `- fill to ${n(f.target)}${f.round !== undefined ? `, round ${f.round}` : ''}: ${f.rounds!.map((r, i) => `pass ${i + 1} ${n(r.ok)} answered, ${n(r.failed)} failed of ${n(r.attempted)} in ${r.seconds.toFixed(1)} s, then ${Object.entries(r.active).map(([x, a]) => `${x} ${n(a)}`).join(' / ')} active`).join('; ')}${f.drops === undefined ? '' : `; drop counters since the routers started: ${Object.entries(f.drops).map(([x, d]) => `${x} ${Object.entries(d).map(([k, v]) => `${k} ${n(v)}`).join(', ') || 'none'}`).join('; ')}`}`),
    ...t.errors.map((e) => `- error: ${e}`)];
}
