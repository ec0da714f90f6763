/**
 * What the sustained case (sustained.ts) found, as the report and the comparability checks read it: the
 * hold that reached its steady state, and why a protocol has none (then the case is not comparable).
 */
import type { SustainedHold, SustainedResult, SustainedRun } from './sustained.js';

/** The hold that reached its steady state, if any (a second hold runs only when the first did not). */
export function heldRun(run: SustainedRun | undefined): SustainedHold | undefined {
  return run?.holds.find((h) => h.verdict.reasons.length === 0);
}

/** Why the case is not comparable, by measurement key: `sustained` (a step failed), `sustained-udp` or
 * `sustained-tcp` (that protocol held no steady rate); [] when both did. */
export function sustainedProblems(s: SustainedResult | undefined): { key: string; reason: string }[] {
  if (s === undefined) return [];
  const out = s.errors.map((e) => ({ key: 'sustained', reason: `step failed: ${e}` }));
  for (const protocol of ['udp', 'tcp'] as const) {
    const run = s[protocol];
    if (run === undefined || heldRun(run) !== undefined) continue;
    const last = run.holds[run.holds.length - 1];
    out.push({ key: `sustained-${protocol}`, reason: last === undefined
      ? `${protocol.toUpperCase()}: no hold was measured`
      : `${protocol.toUpperCase()}: no steady state at ${run.holds.map((h) => `${h.rate}/s`).join(' nor ')}: ${last.verdict.reasons.join('; ')}` });
  }
  return out;
}
