/**
 * The sustained case in the report: its goal rows (issue 19: ≥ 60,000 UDP and ≥ 15,000 TCP new sessions/s
 * held on the SVR path) and its section of docs/performance.md: the search, the hold and its curve (one row
 * per 5 s of the samples: sessions active, created and expired per second, RSS, per router), with the plots of r1's
 * curves (plots.ts) when the page is written.
 */
import type { Goal } from './report.js';
import type { ModeResult } from './results.js';
import { heldRun } from './sustained-check.js';
import { SUSTAINED_TARGETS, type SustainedHold, type SustainedRun } from './sustained.js';

const mib = (b: number): string => (b / 2 ** 20).toFixed(0);
const n = (x: number): string => Math.round(x).toLocaleString('en-US');

/** "r1 52,300 sessions, 10,400 expired/s for 10,500 created/s, RSS 310 -> 312 MiB" */
function steadyLine(h: SustainedHold): string {
  return Object.entries(h.verdict.routers).map(([r, s]) => `${r} ${n(s.activeSecond)} sessions, ${n(s.expiredPerSecond)} expired/s for ${n(s.createdPerSecond)} created/s, RSS ${mib(s.rssFirstBytes)} → ${mib(s.rssSecondBytes)} MiB`).join('; ');
}

/** `spoiled(p)`: whether the run marked protocol p's figure not comparable (comparable.ts) */
export function sustainedGoals(m: ModeResult | undefined, spoiled: (p: 'udp' | 'tcp') => boolean): Goal[] {
  const s = m?.sustained;
  return (['udp', 'tcp'] as const).map((p) => {
    const goal = `≥ ${n(SUSTAINED_TARGETS[p])} new ${p.toUpperCase()} sessions/s held ${s?.holdSeconds ?? 60} s on the SVR path, tables and RSS flat (${p === 'udp' ? `idle timeout ${s?.idleTimeoutS ?? 5} s` : 'RST, 2 s linger'})`;
    const run = s?.[p];
    const notComparable = spoiled(p);
    if (run === undefined || run.holds.length === 0) return { goal, measured: '–', status: 'n/a', note: 'not measured' };
    const h = heldRun(run) ?? run.holds[run.holds.length - 1]!;
    const created = h.verdict.routers['r1']?.createdPerSecond;
    const measured = `${n(h.client.ok / h.client.seconds)}/s answered for ${h.client.seconds.toFixed(0)} s${created !== undefined ? ` (${n(created)}/s created on r1)` : ''}`;
    if (heldRun(run) === undefined) return { goal, measured, status: notComparable ? 'not comparable' : 'FAIL', note: `no steady state: ${h.verdict.reasons.join('; ')}` };
    return { goal, measured, status: notComparable ? 'not comparable' : h.client.ok / h.client.seconds >= SUSTAINED_TARGETS[p] ? 'pass' : 'FAIL', note: `steady: ${steadyLine(h)}` };
  });
}

/** One row per 5 s of a hold's samples. */
function curve(h: SustainedHold): string[] {
  const routers = Object.keys(h.samples[0]?.routers ?? {});
  const head = `| t, s | ${routers.map((r) => `${r} active | ${r} created/s | ${r} expired/s | ${r} RSS, MiB`).join(' | ')} |`;
  const rows: string[] = [head, `|${'---|'.repeat(1 + 4 * routers.length)}`];
  for (let i = 0; i < h.samples.length; i += 5) {
    const s = h.samples[i]!;
    const prev = h.samples[Math.max(0, i - 5)]!;
    const dt = s.t - prev.t;
    const per = (a: number, b: number): string => (dt > 0 ? n((a - b) / dt) : '–');
    rows.push(`| ${s.t.toFixed(0)} | ${routers.map((r) => {
      const x = s.routers[r]!;
      const y = prev.routers[r]!;
      return `${n(x.active)} | ${per(x.created, y.created)} | ${per(x.expired, y.expired)} | ${mib(x.rssBytes)}`;
    }).join(' | ')} |`);
  }
  return rows;
}

function runLines(run: SustainedRun): string[] {
  const trials = run.trials.map((t) => `${t.rate === 0 ? 'ceiling' : `${n(t.rate)}/s`} ${t.rate === 0 ? `${n(t.ok / t.seconds)}/s` : t.passed ? 'pass' : 'fail'} (${n(t.failed)} of ${n(t.attempted)} failed${t.behind > 0 ? `, ${n(t.behind)} behind` : ''})`);
  const out = [`**${run.protocol.toUpperCase()}**: search ${trials.join(', ')}.`, ''];
  for (const h of run.holds) {
    out.push(`Hold at ${n(h.rate)}/s: ${n(h.client.ok)} answered, ${n(h.client.failed)} failed of ${n(h.client.attempted)} in ${h.client.seconds.toFixed(1)} s; router CPU per session ${Object.entries(h.cpuUsPerSession).map(([p, us]) => `${p} ${us.toFixed(1)} µs`).join(', ')}; ${h.verdict.reasons.length === 0
      ? `**steady** from ${h.verdict.window[0].toFixed(0)} s to ${h.verdict.window[1].toFixed(0)} s: ${steadyLine(h)}.`
      : `**not steady**: ${h.verdict.reasons.join('; ')}.`}`, '', ...curve(h), '');
  }
  return out;
}

/** The section of docs/performance.md (empty when the run has no sustained case). */
export function sustainedSection(modes: readonly ModeResult[], plotLinks: readonly string[] = []): string[] {
  const m = modes.find((x) => x.sustained !== undefined);
  if (m === undefined) return [];
  const s = m.sustained!;
  return ['', `### Sustained new sessions: ${m.label}, held ${s.holdSeconds} s`, '',
    `New sessions on the SVR path client → r1 → r2 → server at the highest rate with < 1 % failures (closed-loop ceiling, then paced 5 s trials), then held; UDP idle timeout ${s.idleTimeoutS} s (TCP sessions end with the client's RST and linger 2 s). Each router's sessions active, created and expired and its RSS are sampled every second; steady means: rate held (≥ 97 % sent, < 1 % failed), sessions active flat (±10 % between the halves after ${2 * s.idleTimeoutS} s), expired/s 90-110 % of created/s, RSS within +10 % (bench/sustained.ts).`, '',
    ...plotLinks.flatMap((l) => [l, '']),
    ...(['udp', 'tcp'] as const).flatMap((p) => (s[p] === undefined ? [] : runLines(s[p]))),
    ...s.errors.map((e) => `- error: ${e}`)];
}
