/**
 * The figures as tables (rows of cells): the measurements per mode, the terms each mode ran on, svrouter's
 * ratios to the other modes of the same run, and the goals with pass/fail. Only this run's figures appear:
 * figures from other machines stay in ../shared/docs/performance-anchors.md. A measurement the run marked
 * not comparable (comparable.ts) keeps its figure, flagged, and gives no ratio and no goal verdict.
 */
import { BUSY_POLL_DEFAULT_US } from '../src/io/tun/busy-poll.js';
import { spoiled } from './comparable.js';
import { MEMORY_GOAL_BYTES } from './memory.js';
import type { BenchResults, ModeResult, RttResult, TcpResult } from './results.js';
import { median, type Spread } from './stats.js';
import type { SearchResult } from './udp-search.js';
import { cost } from './visibility.js';
import { formatInterval, formatSpread, ratioInterval, ratioVerdict, spreadVerdict } from './round-check.js';
import { overhead } from './wan.js';
import { sustainedGoals } from './sustained-report.js';
import { fullTableGoals } from './full-table-report.js';
import { hubGoals } from './hub-report.js';
import { configScaleGoals, scalingGoals } from './scale-report.js';

export type Table = string[][];

/** The flag on a figure that is not comparable, and the cell of a ratio or goal that cannot be given. */
export const NOT_COMPARABLE = 'not comparable';
const FLAG = ' (n/c)';

interface Metric {
  label: string;
  /** comparability key of the measurement (comparable.ts) */
  key: string;
  higherIsBetter: boolean;
  value(m: ModeResult): number | undefined;
  cell(m: ModeResult): string;
  /** the figure of each round when the mode ran it in interleaved rounds (ModeResult.rounds), else undefined */
  rounds?(m: ModeResult): readonly number[] | undefined;
}

/** A spread's runs when they are the mode's interleaved rounds (one run per round). */
const perRound = (m: ModeResult, s: Spread | null | undefined): readonly number[] | undefined =>
  (m.rounds ?? 1) > 1 && s !== null && s !== undefined && s.runs.length === m.rounds ? s.runs : undefined;

const fmtSpread = (s: Spread | undefined, digits: number): string =>
  s === undefined || !Number.isFinite(s.median) ? '–' : s.runs.length > 1 ? `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})` : s.median.toFixed(digits);

/** kpps (min–max); `!` when even the last confirmation lost >= 1 % */
const udpCell = (u: SearchResult | undefined): string => (u === undefined ? '–'
  : `${u.kpps.toFixed(1)}${u.confirmations.length > 1 ? ` (${u.kppsMin.toFixed(1)}–${u.kppsMax.toFixed(1)})` : ''}${u.passed === false ? ` ! ${median(u.lossPct).toFixed(1)} % loss` : ''}`);

const passUs = (m: ModeResult): number | undefined => {
  const h = m.rtt?.hops;
  return h === undefined ? undefined : (h.r1FwdUs + h.r2FwdUs + h.r2RevUs + h.r1RevUs) / 4;
};

/** Which session measurement of a mode: udp, tcp, udpR1Alone. */
type SessionKind = keyof NonNullable<ModeResult['sessions']>;

const perSecond = (m: ModeResult, p: SessionKind): number | undefined => {
  const s = m.sessions?.[p];
  if (s === undefined) return undefined;
  return s.createdR1PerSecond ?? s.client.okPerSecond;
};

const sessionCell = (m: ModeResult, p: SessionKind): string => {
  const s = m.sessions?.[p];
  if (s === undefined) return '–';
  const ok = `${Math.round(s.client.okPerSecond)} answered/s${s.client.client === 'c' ? ', C client' : ''}`;
  if (s.createdR1PerSecond !== undefined) return `${Math.round(s.createdR1PerSecond)} created/s (${ok})`;
  return `${ok} (${m.id === 'kernel' ? 'client ceiling' : 'new 5-tuples forwarded, no session state'})`;
};

const rttCell = (r: RttResult | undefined): string => fmtSpread(r?.p50Us, 1) + (r === undefined ? '' : r.pinger === 'c' ? ', C' : ', Node');

export const METRICS: Metric[] = [
  { label: 'TCP 1 stream, Gbps', key: 'tcp', higherIsBetter: true, value: (m) => m.tcp?.gbps.median, cell: (m) => fmtSpread(m.tcp?.gbps, 3), rounds: (m) => perRound(m, m.tcp?.gbps) },
  { label: 'router CPU s per Gbit (TCP)', key: 'tcp', higherIsBetter: false, value: (m) => m.tcp?.cpuSecondsPerGbit?.median, rounds: (m) => perRound(m, m.tcp?.cpuSecondsPerGbit),
    cell: (m) => (m.tcp === undefined ? '–' : m.tcp.cpuSecondsPerGbit === null ? 'n/a (softirq)' : fmtSpread(m.tcp.cpuSecondsPerGbit, 2)) },
  { label: 'TCP segment size at the client (ss -ti mss), B', key: 'tcp', higherIsBetter: true, value: (m) => m.tcp?.mss, cell: (m) => (m.tcp?.mss === undefined ? '–' : String(m.tcp.mss)) },
  { label: 'UDP 1400 B, kpps < 1 % loss', key: 'udpLarge', higherIsBetter: true, value: (m) => m.udpLarge?.kpps,
    cell: (m) => udpCell(m.udpLarge) + (m.udpLarge !== undefined && m.udpLargeLen !== 1400 ? ` @${m.udpLargeLen} B` : '') },
  { label: 'UDP 64 B, kpps < 1 % loss', key: 'udp64', higherIsBetter: true, value: (m) => m.udp64?.kpps, cell: (m) => udpCell(m.udp64) },
  { label: 'RTT p50, µs (64 B UDP ping; svrouter --busy-poll 0)', key: 'rtt', higherIsBetter: false, value: (m) => m.rtt?.p50Us.median, cell: (m) => rttCell(m.rtt), rounds: (m) => perRound(m, m.rtt?.p50Us) },
  { label: 'RTT p99, µs', key: 'rtt', higherIsBetter: false, value: (m) => m.rtt?.p99Us.median, cell: (m) => fmtSpread(m.rtt?.p99Us, 1), rounds: (m) => perRound(m, m.rtt?.p99Us) },
  { label: 'RTT p50, µs, CPUs kept awake (SCHED_IDLE spinner per vCPU)', key: 'rttAwake', higherIsBetter: false, value: (m) => m.rttAwake?.p50Us.median, cell: (m) => rttCell(m.rttAwake) },
  { label: `RTT p50, µs, svrouter busy polling (--busy-poll ${BUSY_POLL_DEFAULT_US})`, key: 'rttBusyPoll', higherIsBetter: false, value: (m) => m.rttBusyPoll?.p50Us.median, cell: (m) => rttCell(m.rttBusyPoll) },
  { label: 'one router pass, µs (mean of 4 medians)', key: 'hops', higherIsBetter: false, value: (m) => passUs(m),
    cell: (m) => { const h = m.rtt?.hops; return h === undefined ? '–' : `${passUs(m)!.toFixed(1)} (${[h.r1FwdUs, h.r2FwdUs, h.r2RevUs, h.r1RevUs].map((x) => x.toFixed(0)).join('/')})`; } },
  { label: 'new UDP sessions/s (svrouter: the SVR path r1 -> r2)', key: 'sessions-udp', higherIsBetter: true, value: (m) => perSecond(m, 'udp'), cell: (m) => sessionCell(m, 'udp') },
  { label: 'new UDP sessions/s, r1 alone (local next hop)', key: 'r1alone', higherIsBetter: true, value: (m) => perSecond(m, 'udpR1Alone'), cell: (m) => sessionCell(m, 'udpR1Alone') },
  { label: 'new TCP sessions/s', key: 'sessions-tcp', higherIsBetter: true, value: (m) => perSecond(m, 'tcp'), cell: (m) => sessionCell(m, 'tcp') },
  { label: 'key exchanges/s on one core (whole handshake, both routers; the responder alone)', key: 'handshakes', higherIsBetter: true, value: (m) => m.handshakes?.wholePerSecond,
    cell: (m) => (m.handshakes === undefined ? '–' : `${Math.round(m.handshakes.wholePerSecond)} whole, ${Math.round(m.handshakes.responderPerSecond)} responder`) },
];

const byId = (r: BenchResults, id: string) => r.modes.find((m) => m.id === id && m.status === 'ok');

export function figuresTable(r: BenchResults): Table {
  const modes = r.modes;
  const head = ['', ...modes.map((m) => m.label + (m.status !== 'ok' ? ` (${m.status})` : ''))];
  return [head, ...METRICS.map((x) => [x.label, ...modes.map((m) => {
    if (m.status !== 'ok') return '–';
    const c = x.cell(m);
    return c !== '–' && spoiled(r.notComparable, m.id, x.key) ? c + FLAG : c;
  })])];
}

/** Per mode: the terms it ran on (terms.ts), read from the kernel after setup. */
export function termsTable(r: BenchResults): Table {
  const modes = r.modes.filter((m) => m.terms !== undefined);
  const rows: [string, (m: ModeResult) => string][] = [
    ['forwarder', (m) => m.terms!.build],
    ['WAN (r1-r2 veth) MTU', (m) => String(m.wanMtu ?? '?')],
    ["r1's devices", (m) => m.terms!.devices],
    ['offloads', (m) => m.terms!.offloads],
    ['UDP socket buffers', (m) => m.terms!.socketBuffers],
    ['polling', (m) => m.terms!.polling],
    ['TCP MSS on the WAN (SYN / SYN-ACK)', (m) => (m.wire?.tcp === undefined ? '–' : `${m.wire.tcp.synMss} / ${m.wire.tcp.synAckMss} (largest packet ${m.wire.tcp.largestPacket} B)`)],
  ];
  return [['', ...modes.map((m) => m.label)], ...rows.map(([label, f]) => [label, ...modes.map(f)])];
}

const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? '–' : `${(a / b).toFixed(2)}×`;

/** `a`'s figure over `b`'s, round by round when both ran it in the same interleaved rounds (run.ts), else undefined. */
export function roundRatios(mine: Metric, theirs: Metric, a: ModeResult, b: ModeResult): number[] | undefined {
  const x = mine.rounds?.(a);
  const y = theirs.rounds?.(b);
  if (x === undefined || y === undefined || x.length !== y.length) return undefined;
  return x.map((v, k) => v / y[k]!);
}

/** The ratio of a over b: the median of the rounds' ratios (min–max) when there are rounds, else of the medians. */
function ratioCell(mine: Metric, theirs: Metric, a: ModeResult, b: ModeResult): string {
  const rs = roundRatios(mine, theirs, a, b);
  return rs === undefined ? ratio(mine.value(a), theirs.value(b)) : `${formatSpread(rs, 2)}×`;
}

interface RatioRow {
  label: string;
  /** svrouter's measurement, and the one of the mode it is divided by */
  mine: Metric;
  theirs: Metric;
}

const metric = (key: string, label: string): Metric => METRICS.find((m) => m.key === key && m.label.startsWith(label))!;
const RATIO_ROWS: RatioRow[] = [
  { label: 'TCP 1 stream', mine: metric('tcp', 'TCP 1 stream'), theirs: metric('tcp', 'TCP 1 stream') },
  { label: 'UDP 1400 B kpps', mine: metric('udpLarge', 'UDP 1400'), theirs: metric('udpLarge', 'UDP 1400') },
  { label: 'UDP 64 B kpps', mine: metric('udp64', 'UDP 64'), theirs: metric('udp64', 'UDP 64') },
  { label: 'RTT p50 (no busy polling)', mine: metric('rtt', 'RTT p50'), theirs: metric('rtt', 'RTT p50') },
  { label: 'RTT p99 (no busy polling)', mine: metric('rtt', 'RTT p99'), theirs: metric('rtt', 'RTT p99') },
  { label: 'RTT p50 busy polling ÷ their RTT p50 with CPUs kept awake', mine: metric('rttBusyPoll', 'RTT p50'), theirs: metric('rttAwake', 'RTT p50') },
];

/** The modes svrouter is compared with, in this order, when they ran. */
const OTHERS = ['kernel', 'wireguard-go', 'wireguard-go-2022', 'openvpn', 'openvpn-tuned'] as const;

/** svrouter ÷ other for each svrouter variant, against the other modes of this run only. */
export function ratiosTable(r: BenchResults): Table {
  const svr = r.modes.filter((m) => m.id.startsWith('svrouter') && m.status === 'ok');
  const others = OTHERS.map((id) => byId(r, id)).filter((m): m is ModeResult => m !== undefined);
  const rows: Table = [['svrouter ÷', ...others.map((o) => o.label)]];
  for (const s of svr) {
    for (const row of RATIO_ROWS) {
      if (row.mine.value(s) === undefined && !spoiled(r.notComparable, s.id, row.mine.key)) continue; // not measured by this variant (mode-run.ts MEASURED_ELSEWHERE)
      rows.push([`${s.label}: ${row.label}`, ...others.map((o) => {
        if (spoiled(r.notComparable, s.id, row.mine.key) || spoiled(r.notComparable, o.id, row.theirs.key)) return NOT_COMPARABLE;
        return ratioCell(row.mine, row.theirs, s, o);
      })]);
    }
  }
  return rows;
}

export interface Goal {
  goal: string;
  measured: string;
  status: 'pass' | 'FAIL' | 'n/a' | 'not settled' | typeof NOT_COMPARABLE;
  note: string;
}

export function goals(r: BenchResults): Goal[] {
  const enc = byId(r, 'svrouter-enc');
  const hmac = byId(r, 'svrouter');
  const ovpn = byId(r, 'openvpn');
  const wg = byId(r, 'wireguard-go');
  const bad = (id: string | undefined, key: string) => id !== undefined && spoiled(r.notComparable, id, key);
  const cmp = (goal: string, a: ModeResult | undefined, b: ModeResult | undefined, m: Metric, factor: number, unit: string, note: string): Goal => {
    const x = a === undefined ? undefined : m.value(a);
    const y = b === undefined ? undefined : m.value(b);
    if (x === undefined || y === undefined) return { goal, measured: '–', status: 'n/a', note: note || 'not measured' };
    const rs = roundRatios(m, m, a!, b!);
    const measured = `${x.toFixed(unit === 'µs' ? 1 : 3)} vs ${y.toFixed(unit === 'µs' ? 1 : 3)} ${unit} (${rs === undefined ? `${(x / y).toFixed(2)}×` : `the median of ${rs.length} interleaved rounds' ratios ${formatSpread(rs, 2)}×`})`;
    if (bad(a!.id, m.key) || bad(b!.id, m.key)) return { goal, measured, status: NOT_COMPARABLE, note };
    // rounds that straddle the factor settle nothing (round-check.ts spreadVerdict)
    if (rs !== undefined) return { goal, measured, status: spreadVerdict(rs, factor, m.higherIsBetter) ?? 'n/a', note };
    const pass = m.higherIsBetter ? x >= factor * y : x <= factor * y;
    return { goal, measured, status: pass ? 'pass' : 'FAIL', note };
  };
  const tuned = byId(r, 'openvpn-tuned');
  const old = byId(r, 'wireguard-go-2022');
  const against = (m: Metric, a: ModeResult | undefined, o: ModeResult | undefined, what: string): string => {
    const x = a === undefined ? undefined : m.value(a);
    const y = o === undefined ? undefined : m.value(o);
    const rs = a === undefined || o === undefined ? undefined : roundRatios(m, m, a, o);
    return x === undefined || y === undefined ? '' : `against ${what}: ${rs === undefined ? (x / y).toFixed(2) : formatSpread(rs, 2)}×`;
  };
  const tcp = metric('tcp', 'TCP 1 stream');
  const cpuPerGbit = metric('tcp', 'router CPU s per Gbit');
  const udpL = metric('udpLarge', 'UDP 1400');
  const rtt = metric('rtt', 'RTT p50');
  const out: Goal[] = [
    cmp('TCP with encryption ≥ 2.5× OpenVPN (issue 19)', enc, ovpn, tcp, 2.5, 'Gbps', against(tcp, enc, tuned, 'OpenVPN with 4 MB buffers')),
    cmp('TCP with encryption ≥ 1.0× the current wireguard-go (issue 19)', enc, wg, tcp, 1, 'Gbps',
      [against(tcp, enc, old, "Debian's 2022 wireguard-go"), against(tcp, byId(r, 'svrouter-enc-udp'), wg, 'the current wireguard-go with TCP carried as UDP (svrouter-enc-udp)')].filter((x) => x !== '').join('; ')),
    cmp('router CPU per Gbit (TCP with encryption) ≤ the current wireguard-go\'s (issue 19)', enc, wg, cpuPerGbit, 1, 'CPU-s/Gbit',
      against(cpuPerGbit, byId(r, 'svrouter-enc-udp'), wg, 'the current wireguard-go with TCP carried as UDP (svrouter-enc-udp)')),
    cmp('UDP 1400 B with encryption ≥ 1.5× the current wireguard-go pps (issue 19)', enc, wg, udpL, 1.5, 'kpps', ''),
    cmp('UDP 1400 B with encryption ≥ 1.3× OpenVPN pps', enc, ovpn, udpL, 1.3, 'kpps', against(udpL, enc, tuned, 'OpenVPN with 4 MB buffers')),
    handshakeGoal(r, enc, byId(r, 'svrouter-enc-hs')),
  ];
  const goal = '≥ 50,000 new sessions/s through the SVR path (r1 -> r2)';
  const rate = hmac?.sessions?.udp?.createdR1PerSecond;
  if (rate === undefined) out.push({ goal, measured: '–', status: 'n/a', note: 'not measured' });
  else {
    const tcpRate = hmac?.sessions?.tcp?.createdR1PerSecond;
    const alone = hmac?.sessions?.udpR1Alone?.createdR1PerSecond;
    const others = ([['kernel forwarding', 'kernel'], ['OpenVPN', 'openvpn'], ['wireguard-go', 'wireguard-go']] as const)
      .map(([label, id]) => [label, byId(r, id)?.sessions?.udp?.client.okPerSecond] as const).filter(([, v]) => v !== undefined).map(([l, v]) => `${l} ${Math.round(v!)}/s`);
    const note = [alone !== undefined ? `r1 alone (local next hop, no second router on the cores): ${Math.round(alone)}/s` : '',
      tcpRate !== undefined ? `TCP on the SVR path: ${Math.round(tcpRate)}/s` : '',
      others.length > 0 ? `the same client's new 5-tuples through ${others.join(', ')}` : ''].filter((x) => x !== '').join('; ');
    out.push({ goal, measured: `${Math.round(rate)}/s UDP, both routers on the 2 vCPUs`, status: bad(hmac!.id, 'sessions-udp') ? NOT_COMPARABLE : rate >= 50_000 ? 'pass' : 'FAIL', note });
  }
  const mem = r.memory;
  const memGoal = `RSS ≤ ${MEMORY_GOAL_BYTES} bytes per established session, at 50 %, 99 % and 25 % table fill (issue 19)`;
  if (mem === undefined) out.push({ goal: memGoal, measured: '–', status: 'n/a', note: 'not measured' });
  else {
    const worst = Math.max(...mem.fills.map((f) => f.rssPerSession));
    out.push({
      goal: memGoal,
      measured: `RSS per session per router ${mem.fills.map((f) => `${f.rssPerSession.toFixed(0)} B at ${(100 * f.fill).toFixed(0)} %`).join(', ')}`,
      status: bad('memory', '*') ? NOT_COMPARABLE : worst <= MEMORY_GOAL_BYTES ? 'pass' : 'FAIL',
      note: `the table's own bytes per session: ${mem.fills.map((f) => `${f.tableBytesPerSession.toFixed(0)} B at ${(100 * f.fill).toFixed(0)} %`).join(', ')} (limit ${mem.capacity.toLocaleString('en-US')} sessions; ${mem.reservedRows === false ? 'rows grow by doubling (no native addon)' : 'rows reserved for the limit, resident once used, given back by segments of 16,384'}; indexes double and halve)`,
    });
  }
  out.push(...visibilityGoals(hmac, bad(hmac?.id, 'visibility')));
  out.push(...wanGoals(hmac, bad(hmac?.id, 'wan')));
  out.push(...sustainedGoals(hmac, (p) => bad(hmac?.id, 'sustained') || bad(hmac?.id, `sustained-${p}`)));
  out.push(...fullTableGoals(hmac, bad(hmac?.id, 'tables')));
  out.push(...haGoals(hmac, bad(hmac?.id, 'ha')));
  out.push(...hubGoals(hmac?.hub, bad(hmac?.id, 'hub')));
  out.push(...scalingGoals(hmac, bad(hmac?.id, 'scaling')));
  out.push(...configScaleGoals(r.configScale, bad('config-scale', 'reload')));
  out.push(cmp('RTT p50 (encrypted, no busy polling) ≤ 0.8× OpenVPN (issue 19)', enc, ovpn, rtt, 0.8, 'µs', [against(rtt, enc, tuned, 'OpenVPN with 4 MB buffers'),
    enc?.rttBusyPoll !== undefined && ovpn?.rttAwake !== undefined ? `with busy polling ${enc.rttBusyPoll.p50Us.median.toFixed(1)} µs against OpenVPN's ${ovpn.rttAwake.p50Us.median.toFixed(1)} µs with CPUs kept awake` : ''].filter((x) => x !== '').join('; ')));
  return out;
}

/** The measurements the key-exchange goal compares: every throughput and rate both encrypted modes have. */
const HANDSHAKE_METRICS: [string, Metric][] = [
  ['TCP', metric('tcp', 'TCP 1 stream')], ['UDP 1400 B', metric('udpLarge', 'UDP 1400')], ['UDP 64 B', metric('udp64', 'UDP 64')],
  ['new UDP sessions', metric('sessions-udp', 'new UDP sessions')],
];

/**
 * Issue 17: encrypted with the path keys from the key exchange within 10 % of static keys, on every throughput
 * and rate both encrypted modes measured in this run; not comparable when either figure is.
 */
function handshakeGoal(r: BenchResults, stat: ModeResult | undefined, hs: ModeResult | undefined): Goal {
  const goal = 'encrypted with handshake keys within 10 % of static keys (TCP, UDP 1400/64 B, new sessions/s)';
  if (stat === undefined || hs === undefined) return { goal, measured: '–', status: 'n/a', note: 'needs svrouter-enc and svrouter-enc-hs in the same run' };
  const rows = HANDSHAKE_METRICS.map(([name, m]) => ({ name, m, x: m.value(hs), y: m.value(stat) }))
    .filter((x): x is { name: string; m: Metric; x: number; y: number } => x.x !== undefined && x.y !== undefined && x.y > 0);
  if (rows.length === 0) return { goal, measured: '–', status: 'n/a', note: 'not measured' };
  const measured = rows.map((x) => `${x.name} ${(x.x / x.y).toFixed(2)}×`).join(', ');
  const load = `load average at the start of each mode: static ${stat.loadAvgAtStart[0]}, handshake ${hs.loadAvgAtStart[0]}`;
  const spoilt = rows.filter((x) => spoiled(r.notComparable, stat.id, x.m.key) || spoiled(r.notComparable, hs.id, x.m.key));
  if (spoilt.length > 0) return { goal, measured, status: NOT_COMPARABLE, note: `${spoilt.map((x) => x.name).join(', ')} not comparable; ${load}` };
  // a 10 % verdict between two modes measured minutes apart needs a machine without other work
  const busiest = Math.max(stat.loadAvgAtStart[0] ?? 0, hs.loadAvgAtStart[0] ?? 0);
  if (busiest > 2 * r.machine.cores) return { goal, measured, status: NOT_COMPARABLE, note: `the machine was loaded (more than 2 per core): ${load}` };
  const pass = rows.every((x) => x.x >= 0.9 * x.y);
  return { goal, measured, status: pass ? 'pass' : 'FAIL', note: `handshake ÷ static keys, same run; ${load}` };
}

/** The visibility case: what session records (IPFIX export and history) cost, and whether the history keeps up. */
function visibilityGoals(m: ModeResult | undefined, notComparable: boolean): Goal[] {
  const v = m?.visibility;
  const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
  const costGoal = (goal: string, off: number | undefined, on: number | undefined, limit: number, unit: string, digits: number, extra: string): Goal => {
    const c = cost(off, on);
    if (c === undefined) return { goal, measured: '–', status: 'n/a', note: 'not measured' };
    const measured = `${on!.toFixed(digits)} ${unit} on, ${off!.toFixed(digits)} off: ${c >= 0 ? `${pct(c)} less` : `${pct(-c)} more`}`;
    return { goal, measured, status: notComparable ? NOT_COMPARABLE : c <= limit ? 'pass' : 'FAIL', note: `back to back on the same config (UDP idle timeout ${v!.idleTimeoutS} s), nfcapd running in both; no management API (/metrics) in either${extra}` };
  };
  const rounds = v?.rounds ?? [];
  // TCP in every round (runs before 2026-12-06: in the first only)
  const tcpRounds = rounds.filter((r) => Number.isFinite(r.tcpRatio));
  const clean = rounds.filter((r) => (r.problems ?? []).length === 0);
  const out = [
    tcpRounds.length > 1
      ? settledGoal(costGoal('session records (IPFIX + history) cost ≤ 5 % of TCP throughput', v?.off.tcp?.gbps.median, v?.on.tcp?.gbps.median, 0.05, 'Gbps', 3,
        `; one run per side and round; on / off per round ${tcpRounds.map((r) => r.tcpRatio!.toFixed(3)).join(', ')}, the median round's figures; the routers' CPU per Gbit on / off per round ${tcpRounds.map((r) => (r.tcpCpuRatio ?? NaN).toFixed(3)).join(', ')}`),
      tcpRounds.map((r) => r.tcpRatio!), 0.95, tcpRounds.map((r) => 1 / (r.tcpCpuRatio ?? NaN)))
      : costGoal('session records (IPFIX + history) cost ≤ 5 % of TCP throughput', v?.off.tcp?.gbps.median, v?.on.tcp?.gbps.median, 0.05, 'Gbps', 3, '; the first round'),
    settledGoal(costGoal('session records (IPFIX + history) cost ≤ 10 % of the new-session rate', v?.off.sessions?.createdR1PerSecond, v?.on.sessions?.createdR1PerSecond, 0.10, 'sessions/s', 0,
      (rounds.length > 1 ? `; on / off per round ${rounds.map((r) => `${r.ratio.toFixed(3)}${(r.problems ?? []).length > 0 ? ' (disturbed)' : ''}`).join(', ')}, the median round's figures` : '') + recordsCpuNote(v)
      + (clean.some((r) => r.witnessNoCollectors !== undefined) ? `; the witness without the collectors' CPU (nfcapd; not in the verdict) ${formatInterval(ratioInterval(clean.map((r) => r.witnessNoCollectors ?? NaN)))}` : '')),
    clean.map((r) => r.ratio), 0.9, clean.map((r) => r.witness ?? NaN), clean.map((r) => r.witnessLow ?? NaN)),
  ];
  const h = v?.history;
  const goal = 'history write rate ≥ the router\'s session rate';
  if (h === undefined) out.push({ goal, measured: '–', status: 'n/a', note: 'not measured' });
  else {
    const keptUp = h.written >= h.created && h.historyDropped === 0 && h.pendingAtEnd === 0;
    out.push({
      goal, measured: `${Math.round(h.writtenPerSecond)} records/s of the history's busy time vs ${Math.round(h.createdPerSecond)} sessions/s created by r1; ${h.written} of ${h.created} written, ${h.pendingAtEnd} pending, ${h.historyDropped} dropped`,
      status: notComparable ? NOT_COMPARABLE : keptUp && h.writtenPerSecond >= h.createdPerSecond ? 'pass' : 'FAIL',
      note: `the records arrived over ${h.writeSpanSeconds.toFixed(1)} s as the sessions idled out; IPFIX exported ${h.ipfixExported}, dropped ${h.ipfixDropped}${h.collectorFlows !== undefined ? `, over all rounds both routers exported ${h.exportedAllRounds ?? '–'} and nfcapd counted ${h.collectorFlows} flows` : ''}`,
    });
  }
  return out;
}

/** A goal of at most 10 % (floor 0.90) or 5 % (0.95) lower judged on the clean pairs' ratios and their CPU witness
 *  (round-check.ts ratioVerdict): the verdict is the 95 % interval's, not the median round's. */
function settledGoal(g: Goal, ratios: readonly number[], floor: number, witness: readonly number[] = [], witnessLow: readonly number[] = witness): Goal {
  if (g.status !== 'pass' && g.status !== 'FAIL') return g;
  const v = ratioVerdict(ratios, floor, witness, witnessLow);
  const note = `${g.note}; the clean pairs' ratio ${formatInterval(v.rate)}${v.witness === undefined ? '' : `, the rate their CPU per unit alone gives (the witness) ${v.witnessLow === undefined ? '' : `${formatInterval(v.witnessLow)} to `}${formatInterval(v.witness)}`}`
    + `${v.by === 'witness' ? '; decided by the witness (the rates straddle the floor)' : ''}`;
  return { ...g, measured: `${g.measured}; pairs ${formatInterval(v.rate)}`, status: v.verdict, note };
}

/** What records cost the routers' threads during the median round's session test (visibility.ts RunCpu), µs per session: on − off. */
function recordsCpuNote(v: ModeResult['visibility']): string {
  const [off, on] = [v?.off.cpu?.during, v?.on.cpu?.during];
  if (off === undefined || on === undefined) return '';
  const d = (k: string): string => `${((on[k] ?? NaN) - (off[k] ?? NaN)).toFixed(1)}`;
  const r = (x: string): string => `${x} main ${d(`${x} main`)}, records thread ${d(`${x} records`)}, V8 helpers ${d(`${x} v8`)}, libuv/LevelDB/other ${d(`${x} other`)}, TUN ${d(`${x} tun`)}`;
  return `; CPU per session on − off during the test (µs): ${r('r1')}; ${r('r2')}; nfcapd ${d('nfcapd')} (the collectors, not the routers); the machine ${d('machine')}`;
}

/** Where the pair's session test spent CPU against one node's (ha.ts HaCpu), in µs per session created. */
function cpuNote(h: NonNullable<ModeResult['ha']>): string {
  const per = (seconds: number | undefined, run: typeof h.single): string => {
    const n = run.sessions?.createdR1;
    return seconds === undefined || n === undefined || !(n > 0) ? '–' : `${((seconds * 1e6) / n).toFixed(1)} µs`;
  };
  const [one, pair] = [h.single.cpu, h.pair.cpu];
  if (one === undefined || pair === undefined) return '';
  return `; CPU per session created, from the test's start until the standby held every session: r1 main thread ${per(one.r1Main, h.single)} one node, ${per(pair.r1Main, h.pair)} pair; r1's other threads ${per(one.r1Other, h.single)}, ${per(pair.r1Other, h.pair)}; r2 ${per(one.r2, h.single)}, ${per(pair.r2, h.pair)}; standby ${per(pair.standby, h.pair)}`
    + (h.rounds !== undefined && h.rounds.length > 1 ? `; pair / one node per round: ${h.rounds.map((r) => r.ratio.toFixed(3)).join(', ')}` : '')
    + (h.rounds !== undefined && h.rounds.some((r) => r.tcpRatio !== undefined) ? `; TCP pair / one node per round: ${h.rounds.map((r) => r.tcpRatio?.toFixed(3) ?? '–').join(', ')}` : '');
}

/** The HA case (ha.ts): what a pair costs against one node, its sync lag, its failover time. */
function haGoals(m: ModeResult | undefined, notComparable: boolean): Goal[] {
  const h = m?.ha;
  const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
  const costGoal = (goal: string, one: number | undefined, pair: number | undefined, unit: string, digits: number): Goal => {
    const c = cost(one, pair);
    if (c === undefined) return { goal, measured: '–', status: 'n/a', note: 'not measured' };
    const measured = `${pair!.toFixed(digits)} ${unit} pair, ${one!.toFixed(digits)} one node: ${c >= 0 ? `${pct(c)} less` : `${pct(-c)} more`}`;
    return { goal, measured, status: notComparable ? NOT_COMPARABLE : c <= 0.10 ? 'pass' : 'FAIL', note: 'alternating rounds of one node and the pair, the round of the median ratio; the standby r1b runs in its own namespace on the same 2 vCPUs' };
  };
  const clean = (h?.rounds ?? []).filter((r) => (r.problems ?? []).length === 0);
  const out = [
    costGoal('HA pair (session sync to a standby) costs ≤ 10 % of TCP throughput', h?.single.tcp?.gbps.median, h?.pair.tcp?.gbps.median, 'Gbps', 3),
    settledGoal(costGoal('HA pair costs ≤ 10 % of the new-session rate', h?.single.sessions?.createdR1PerSecond, h?.pair.sessions?.createdR1PerSecond, 'sessions/s', 0),
      clean.map((r) => r.ratio), 0.9, clean.map((r) => r.witness ?? NaN), clean.map((r) => r.witnessLow ?? NaN)),
  ];
  const s = h?.sync;
  const lagGoal = 'HA sync lag under the session rate ≤ 1 s (a change to the standby\'s acknowledgement)';
  if (s === undefined) out.push({ goal: lagGoal, measured: '–', status: 'n/a', note: 'not measured' });
  else {
    out.push({
      goal: lagGoal, measured: `max ${s.changeLagMaxMs.toFixed(0)} ms at ${Math.round(h!.pair.sessions?.createdR1PerSecond ?? 0)} sessions/s`,
      status: notComparable ? NOT_COMPARABLE : s.changeLagMaxMs <= 1000 ? 'pass' : 'FAIL',
      note: `change lag p50 <= ${s.changeLagP50Ms ?? '–'} ms, p99 <= ${s.changeLagP99Ms ?? '–'} ms; ack lag max ${s.ackLagMaxMs.toFixed(0)} ms; ${s.upserts} rows and ${s.deletes} removals in ${s.collections} collections; ${s.replicaRows} rows on the standby for ${s.activeSessions} sessions${cpuNote(h!)}`,
    });
  }
  const f = h?.failover;
  const foGoal = `HA failover to the first forwarded packet of an existing session, p99 < 1 s (${f?.runs.length ?? 20} runs)`;
  if (f === undefined) out.push({ goal: foGoal, measured: '–', status: 'n/a', note: 'not measured' });
  else {
    out.push({
      goal: foGoal, measured: `p50 ${f.p50Ms.toFixed(0)} ms, p99 ${f.p99Ms.toFixed(0)} ms`, status: notComparable ? NOT_COMPARABLE : f.p99Ms < 1000 ? 'pass' : 'FAIL',
      note: `in process (no TUN; bringing devices up adds 20-90 ms, e2e/ha-pair), dead time ${f.deadMs} ms, ${f.sessions} sessions installed per run`,
    });
  }
  return out;
}

/** The WAN case (wan.ts): TCP through a narrow path against the full MTU, and UDP through 5 % loss with FEC. */
export function wanGoals(m: ModeResult | undefined, notComparable: boolean): Goal[] {
  const w = m?.wan;
  const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
  const cpu = (t: TcpResult): string => (t.cpuSecondsPerGbit === null ? '?' : t.cpuSecondsPerGbit.median.toFixed(2));
  const tcpGoal = `TCP through a ${w?.narrowMtu ?? 1400} B path (ICMP dropped) within 10 % of full MTU (hmac only)`;
  const full = w?.tcpFull?.gbps.median;
  const narrow = w?.tcpNarrow?.gbps.median;
  const out: Goal[] = [];
  if (full === undefined || narrow === undefined || !(full > 0)) out.push({ goal: tcpGoal, measured: '–', status: 'n/a', note: 'not measured' });
  else {
    out.push({
      goal: tcpGoal, measured: `${narrow.toFixed(3)} vs ${full.toFixed(3)} Gbps (${(narrow / full).toFixed(2)}×)`,
      status: notComparable ? NOT_COMPARABLE : narrow >= 0.9 * full ? 'pass' : 'FAIL',
      note: `path MTU discovered by r1: ${w!.discoveredMtu ?? '?'}; segment size at the client ${w!.tcpNarrow!.mss ?? '?'} B (full MTU: ${w!.tcpFull!.mss ?? '?'} B); router CPU s per Gbit ${cpu(w!.tcpNarrow!)} (full MTU: ${cpu(w!.tcpFull!)}); back to back on real veths`,
    });
  }
  const l = w?.loss;
  const fecGoal = `UDP with ${l?.pct ?? 5} % random loss and FEC 8/2: delivered loss ≤ 0.5 % (hmac only)`;
  if (l?.fec === undefined) out.push({ goal: fecGoal, measured: '–', status: 'n/a', note: 'not measured' });
  else {
    const p = overhead(l.noFec?.wanTxPackets, l.fec.wanTxPackets);
    const b = overhead(l.noFec?.wanTxBytes, l.fec.wanTxBytes);
    out.push({
      goal: fecGoal, measured: `${l.fec.lossPct.toFixed(2)} % lost with FEC, ${l.noFec === undefined ? '?' : l.noFec.lossPct.toFixed(2)} % without`,
      status: notComparable ? NOT_COMPARABLE : l.fec.lossPct <= 0.5 ? 'pass' : 'FAIL',
      note: `${l.len} B at ${l.pps}/s for ${l.seconds} s, nftables random drop on both ends of r1-r2; overhead on the WAN from r1: ${p === undefined ? '?' : pct(p)} more packets, ${b === undefined ? '?' : pct(b)} more bytes; r2 fec-packets-recovered ${l.fec.fecCounters['r2 fec-packets-recovered'] ?? 0}, fec-groups-unrecoverable ${l.fec.fecCounters['r2 fec-groups-unrecoverable'] ?? 0}`,
    });
  }
  return out;
}

export function goalsTable(r: BenchResults): Table {
  return [['goal', 'measured', 'result', 'note'], ...goals(r).map((g) => [g.goal, g.measured, g.status, g.note])];
}

export function renderText(t: Table): string {
  const widths = t[0]!.map((_, c) => Math.max(...t.map((row) => (row[c] ?? '').length)));
  return t.map((row, i) => {
    const line = row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd();
    return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
  }).join('\n');
}

export function renderMarkdown(t: Table): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const [head, ...rows] = t;
  return [`| ${head!.map(esc).join(' | ')} |`, `|${head!.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}
