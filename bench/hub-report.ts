/** The hub case (hub.ts) in the goals table and in docs/performance.md. */
import { CPU_TARGET_PCT, DETECTION_TIME_MS, type HubResult } from './hub.js';
import { NOT_COMPARABLE, type Goal } from './report.js';

const ms = (x: number): string => `${Math.round(x)} ms`;
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Where the spokes' kernel receive ran: not in the hub's CPU unless in its writes (hub.ts threadSpokeRx). */
function spokeRx(h: HubResult): string {
  const pct = h.cpu?.spokeRxPct;
  if (h.spokeRxThreaded !== true) return "the spokes' socket delivery inside the hub's TUN writes (SVR_BENCH_HUB_NAPI=0)";
  return `the spokes' receive in a kernel thread of its own${pct === undefined ? '' : ` (${pct.toFixed(1)} % of a core, not counted)`}`;
}

/** Issue 19 item 3: control CPU, detection time against one peer, a failure of many paths at once. */
export function hubGoals(h: HubResult | undefined, notComparable: boolean): Goal[] {
  const cpuGoal = `hub with 1,000 spokes (2,000 paths): control CPU ≤ ${CPU_TARGET_PCT} % of a core at default timers`;
  const detGoal = 'hub with 1,000 spokes: failure detection time unchanged against 1 peer (medians within 10 %)';
  const failGoal = `hub: path 1 of 100 spokes failing at once, all declared down within one detection time (${ms(DETECTION_TIME_MS)})`;
  const status = (ok: boolean): Goal['status'] => (notComparable ? NOT_COMPARABLE : ok ? 'pass' : 'FAIL');
  const none = (goal: string): Goal => ({ goal, measured: '–', status: notComparable ? NOT_COMPARABLE : 'n/a', note: 'not measured' });
  if (h === undefined) return [none(cpuGoal), none(detGoal), none(failGoal)];
  const out: Goal[] = [];
  const c = h.cpu;
  if (c === undefined) out.push(none(cpuGoal));
  else {
    out.push({
      goal: cpuGoal, measured: `${c.pctOfCore.toFixed(1)} % (user ${c.userPct.toFixed(1)}, sys ${c.sysPct.toFixed(1)}; main thread ${c.mainThreadPct.toFixed(1)})`,
      status: status(c.pctOfCore <= CPU_TARGET_PCT),
      note: `the whole node process over ${c.windowS.toFixed(0)} s from /proc, ${h.hubFlags.join(' ')}; spokes ${h.spokeStep === 'publish' ? 'publish STEP documents (flooded by the hub)' : 'acknowledge STEP, publish none'}; load average ${c.loadAvg.join(' ')}; ${spokeRx(h)}; RSS per peer ${h.rss === undefined ? '?' : `${(h.rss.perPeerBytes / 1024).toFixed(0)} kB`}`,
    });
  }
  const one = h.onePeerDetectionMs;
  const f = h.failure;
  if (one === undefined || one.length === 0 || f === undefined || !Number.isFinite(f.detectionMs.median)) out.push(none(detGoal));
  else {
    const m1 = median(one);
    out.push({
      goal: detGoal, measured: `median ${ms(f.detectionMs.median)} (max ${ms(f.detectionMs.max)}) against ${ms(m1)} with 1 peer`,
      status: status(Math.abs(f.detectionMs.median - m1) <= 0.1 * m1),
      note: `a path's last BFD packet from the simulator -> the hub's path.unusable (detection-time-expired); 1 peer: ${one.map(ms).join(', ')}`,
    });
  }
  if (f === undefined) out.push(none(failGoal));
  else {
    out.push({
      goal: failGoal, measured: `${f.declaredDown} of ${f.silenced} down, the last ${ms(f.allDownAfterMs)} after the silence`,
      status: status(f.declaredDown === f.silenced && f.allDownAfterMs <= DETECTION_TIME_MS),
      note: `${f.collateralDowns} other paths went down meanwhile; no sessions on the hub (nothing to move)`,
    });
  }
  return out;
}

/** The hub section of docs/performance.md. */
export function hubSection(h: HubResult): string[] {
  const mb = (b: number): string => `${(b / 1e6).toFixed(1)} MB`;
  const rows: [string, string][] = [
    ['spokes / paths', `${h.spokes} / ${h.paths}`],
    ['all paths usable on the hub after', h.allUpAfterMs === undefined ? '–' : `${(h.allUpAfterMs / 1000).toFixed(1)} s`],
    ['hub CPU (% of a core)', h.cpu === undefined ? '–' : `${h.cpu.pctOfCore.toFixed(1)} (user ${h.cpu.userPct.toFixed(1)}, sys ${h.cpu.sysPct.toFixed(1)}; main thread ${h.cpu.mainThreadPct.toFixed(1)}) over ${h.cpu.windowS.toFixed(0)} s, load ${h.cpu.loadAvg.join(' ')}; ${spokeRx(h)}`],
    ['simulator counter events per second', h.messagesPerSecond === undefined ? '–' : String(Math.round(h.messagesPerSecond))],
    ['path downs while CPU was measured', h.downsDuringCpu === undefined ? '–' : String(h.downsDuringCpu)],
    ['hub RSS: 1 spoke / all / per peer', h.rss === undefined ? '–' : `${mb(h.rss.oneSpokeBytes)} / ${mb(h.rss.hubBytes)} / ${(h.rss.perPeerBytes / 1024).toFixed(1)} kB`],
    ['detection time, 1 peer', h.onePeerDetectionMs?.map(ms).join(', ') ?? '–'],
    ['detection time, 100 of 1,000 spokes at once (min / median / max)', h.failure === undefined ? '–' : `${ms(h.failure.detectionMs.min)} / ${ms(h.failure.detectionMs.median)} / ${ms(h.failure.detectionMs.max)}`],
    ['100 paths silenced: declared down, last after', h.failure === undefined ? '–' : `${h.failure.declaredDown} of ${h.failure.silenced}, ${ms(h.failure.allDownAfterMs)} after the silence; ${h.failure.collateralDowns} other paths down`],
  ];
  return [
    `### A hub with ${h.spokes.toLocaleString('en-US')} spokes (${h.paths.toLocaleString('en-US')} paths)`, '',
    `One \`svr node\` (${h.hubFlags.join(' ')}) in its own namespace; its spokes are one simulator process (bench/spokes.ts) with a UDP socket per spoke waypoint, speaking BFD, link tests, MTU answers and STEP (${h.spokeStep === 'publish' ? 'publishing documents' : 'acknowledging the hub\'s documents, publishing none'}) with the paths' HMAC, at default timers (bench/hub.ts). Load average at the start ${h.loadAvgAtStart.join(' ')}.`, '',
    '| | |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`),
    ...(h.problems.length > 0 ? ['', ...h.problems.map((p) => `- not comparable: ${p}`)] : []),
    ...(h.errors.length > 0 ? ['', ...h.errors.map((e) => `- error: ${e}`)] : []),
  ];
}
