/**
 * The scale cases in the generated part of docs/performance.md and in the goals: per-core scaling of r1 alone
 * (scaling.ts) and the config at scale with a reload under load (config-scale.ts), each table with its plot.
 */
import { RELOAD_PAUSE_TARGET_MS, type ConfigScaleResult } from './config-scale.js';
import { plotLink, type BenchPlot } from './plots.js';
import type { Goal } from './report.js';
import type { BenchResults, ModeResult } from './results.js';
import { SCALING_FIGURES, SCALING_TARGET, scalingRatio, scalingRoom, type CoresUsed, type ScalingResult } from './scaling.js';

const NOT_COMPARABLE = 'not comparable';

const fmt = (x: number | undefined, digits: number): string => (x === undefined ? '–' : x.toFixed(digits));
const cores = (c: CoresUsed | undefined): string => (c === undefined ? '–' : `${c.r1.toFixed(2)} / ${c.machine.toFixed(2)}`);

export function scalingGoals(m: ModeResult | undefined, notComparable: boolean): Goal[] {
  const s = m?.scaling;
  const goal = `r1 alone: 2 data-path workers ≥ ${SCALING_TARGET}× 1 worker (TCP, UDP, new UDP and TCP sessions/s)`;
  if (s === undefined) return [{ goal, measured: '–', status: 'n/a', note: 'not measured' }];
  const rows = SCALING_FIGURES.map((f) => ({ f, r: scalingRatio(s, f.value) }));
  const measured = rows.map(({ f, r }) => `${f.name} ×${fmt(r.ratio, 2)}`).join(', ');
  const pass = rows.every(({ r }) => r.ratio !== undefined && r.ratio >= SCALING_TARGET);
  return [{ goal, measured, status: notComparable ? NOT_COMPARABLE : pass ? 'pass' : 'FAIL', note: 'medians over the rounds; on 2 vCPUs the load generators and the kernel share the cores with r1 (CPU of each side in the scaling table)' }];
}

export function configScaleGoals(cs: ConfigScaleResult | undefined, notComparable: boolean): Goal[] {
  const goal = `reload of the largest config with the session table full: no forwarding pause > ${RELOAD_PAUSE_TARGET_MS} ms`;
  const rl = cs?.reload;
  if (cs === undefined || rl === undefined) return [{ goal, measured: '–', status: 'n/a', note: 'not measured' }];
  const big = cs.sizes[cs.sizes.length - 1]!;
  return [{
    goal, measured: `longest gap ${rl.maxGapMs.toFixed(1)} ms with ${rl.sessions.toLocaleString('en-US')} sessions (${big.services.toLocaleString('en-US')} services × ${big.tenants} tenants)`,
    status: notComparable ? NOT_COMPARABLE : rl.maxGapMs <= RELOAD_PAUSE_TARGET_MS ? 'pass' : 'FAIL',
    note: `in process, as svr node start --workers 1 reloads: read and validate in a worker thread ${rl.loadMs.toFixed(0)} ms, then in the data path's thread compile ${rl.compileMs.toFixed(0)} ms, swap ${rl.swapMs.toFixed(0)} ms, route check ${rl.routeCheckMs.toFixed(0)} ms in slices; longest gap ending in each: ${rl.maxGapByStep.load.toFixed(1)}, ${rl.maxGapByStep.compile.toFixed(1)}, ${rl.maxGapByStep.swap.toFixed(1)} ms`,
  }];
}

function scalingSection(s: ScalingResult, plots: readonly BenchPlot[]): string[] {
  const lines = ['', '### Per-core scaling: r1 alone with 1 and 2 data-path workers', '',
    `${s.date !== undefined ? `Measured ${s.date}, load average ${s.loadAvg?.start.join(' ') ?? '?'} at the start and ${s.loadAvg?.end.join(' ') ?? '?'} at the end (1, 5, 15 min). ` : ''}r1 alone (the service on a local next hop, r2 forwarding in the kernel), restarted with \`--workers 1\` and \`--workers 2\`, rounds interleaved, ${s.seconds} s per figure; TCP with ${s.streams} parallel connections and UDP 1400 B with ${s.streams} parallel flows at full speed (what arrives; one flow stays on one TUN queue, so one worker), new sessions with the session clients. CPU in cores: r1's process / the whole machine (out of the vCPUs; the load generators and the kernel's forwarding are the rest). Equal terms: the cores left to r1 with 1 worker (all cores minus what the rest used) bound what a second worker can add at the same CPU per unit without taking the load generators' CPU.`,
    '', '| figure | 1 worker | 2 workers | 2 ÷ 1 | r1 with 1 worker: cores used of those left to it (at most) |', '|---|---|---|---|---|'];
  for (const f of SCALING_FIGURES) {
    const r = scalingRatio(s, f.value);
    const room = scalingRoom(s, f);
    lines.push(`| ${f.name}, ${f.unit} | ${fmt(r.one, 1)} | ${fmt(r.two, 1)} | ${r.ratio === undefined ? '–' : `×${r.ratio.toFixed(2)}`} | ${room.room === undefined ? '–' : `${room.used!.toFixed(2)} of ${room.left!.toFixed(2)} (×${room.room.toFixed(2)})`} |`);
  }
  lines.push('', '| workers, round | TCP Gbps (cores r1 / machine) | UDP kpps delivered, loss (cores) | new UDP sessions/s, failed (cores) | new TCP sessions/s, failed (cores) | sessions per worker |', '|---|---|---|---|---|---|');
  for (const x of s.runs) {
    const backedOff = (v: typeof x.sessionsUdp): string => (v?.overloaded === undefined ? '' : `, ${v.window} in flight (${v.overloaded.map((o) => `${o.window}: ${o.failed} of ${o.attempted} failed`).join('; ')})`);
    const ses = (v: typeof x.sessionsUdp): string => (v === undefined ? '–' : `${Math.round(v.createdR1PerSecond ?? v.client.okPerSecond)}, ${v.client.failed}${backedOff(v)} (${cores(v.cores)})`);
    lines.push(`| ${x.workers}, ${x.round}${x.reportedWorkers !== undefined && x.reportedWorkers !== x.workers ? ` (ran ${x.reportedWorkers})` : ''} | ${x.tcp === undefined ? '–' : `${x.tcp.gbps.toFixed(3)} (${cores(x.tcp.cores)})`} | `
      + `${x.udp === undefined ? '–' : `${x.udp.kpps.toFixed(1)}, ${x.udp.lossPct.toFixed(0)} % (${cores(x.udp.cores)})`} | ${ses(x.sessionsUdp)} | ${ses(x.sessionsTcp)} | ${x.sessionsPerWorker?.join(' / ') ?? '–'} |`);
  }
  if (s.errors.length > 0) lines.push('', ...s.errors.map((e) => `- error: ${e}`));
  const p = plots.find((x) => x.file === 'bench-scaling.svg');
  if (p !== undefined) lines.push('', plotLink(p));
  return lines;
}

function configSection(cs: ConfigScaleResult, plots: readonly BenchPlot[]): string[] {
  const lines = ['', '### Config at scale (in process)', '',
    `\`${cs.command}\`, ${cs.date}, load average ${cs.loadAvg.join(' ')} when it ended. An authority of N services × T tenants (each service open to some tenants, routed r1 -> r2): read and validated (\`parseConfig\`: YAML, shape, references), compiled for r1 (\`compileRouter\`) and applied to a new data path; process growth after each size (gc first).`,
    '', '| services × tenants (tenants per service) | YAML | validate | compile | apply | RSS growth | JS heap growth |', '|---|---|---|---|---|---|---|',
    ...cs.sizes.map((z) => `| ${z.services.toLocaleString('en-US')} × ${z.tenants} (${z.sources}) | ${(z.yamlBytes / 1e6).toFixed(1)} MB | ${z.parseMs.toFixed(0)} ms | ${z.compileMs.toFixed(0)} ms | ${z.applyMs.toFixed(0)} ms | ${z.rssMB.toFixed(0)} MB | ${z.heapMB.toFixed(0)} MB |`)];
  const p = plots.find((x) => x.file === 'bench-config-scale.svg');
  if (p !== undefined) lines.push('', plotLink(p));
  const rl = cs.reload;
  if (rl !== undefined) {
    lines.push('', `**Reload with ${rl.sessions.toLocaleString('en-US')} sessions in r1's table** (filled in ${rl.fillSeconds.toFixed(1)} s): the largest config again with one service changed, as \`svr node reload\` runs it with the data path in the node's main thread (read, validate and build the access table and service FIB in a worker thread, the config rebuilt in slices between batches; then compile the rest in slices, in the next turn swap the tables, then check the sessions' routes in slices), while a timer feeds ${rl.batch} established packets every ${rl.feedIntervalMs} ms: read and validate ${rl.loadMs.toFixed(0)} ms (forwarding goes on), compile ${rl.compileMs.toFixed(0)} ms, swap ${rl.swapMs.toFixed(0)} ms, route check ${rl.routeCheckMs.toFixed(0)} ms. **Longest gap between two batches: ${rl.maxGapMs.toFixed(1)} ms** (target ≤ ${RELOAD_PAUSE_TARGET_MS} ms; ${rl.maxGapBeforeMs.toFixed(1)} ms in the same time before the reload); ${rl.sessionsAfter.toLocaleString('en-US')} sessions after it.`);
    const g = plots.find((x) => x.file === 'bench-reload-pause.svg');
    if (g !== undefined) lines.push('', plotLink(g));
  }
  return lines;
}

/** The generated sections of the scale cases the run measured (none when it measured neither). */
export function scaleSections(r: BenchResults, plots: readonly BenchPlot[]): string[] {
  const s = r.modes.find((m) => m.scaling !== undefined)?.scaling;
  return [...(s !== undefined ? scalingSection(s, plots) : []), ...(r.configScale !== undefined ? configSection(r.configScale, plots) : [])];
}

/** Why the config-scale case is not comparable: the feed was not steady before the reload (the machine was too busy to see a pause of the target's size). */
export function configScaleProblems(cs: ConfigScaleResult): string[] {
  const rl = cs.reload;
  if (rl === undefined) return [];
  const out: string[] = [];
  if (rl.maxGapBeforeMs > RELOAD_PAUSE_TARGET_MS) out.push(`the packet feed was not steady before the reload (a ${rl.maxGapBeforeMs.toFixed(1)} ms gap with no reload running, more than the ${RELOAD_PAUSE_TARGET_MS} ms target): the machine was too busy to measure a pause`);
  if (rl.sessionsAfter < rl.sessions) out.push(`the reload removed ${rl.sessions - rl.sessionsAfter} of ${rl.sessions} sessions although no service they use changed`);
  return out;
}
