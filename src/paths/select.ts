/**
 * Path ranking for a service-policy (pure; ssr-reference §1.4):
 *
 * 1. eligible: usable paths whose vector is not `never`;
 * 2. with `path-quality-filter`, keep those within max-latency, max-jitter, max-loss and min-mos
 *    (a path with no measurement yet passes);
 * 3. none left: `best-effort` -> only the best eligible path; otherwise the policy refuses;
 * 4. order by `best-path-criteria`:
 *      vector           lowest vector cost, then lowest latency, then path id
 *      average-latency  lowest latency, then vector cost, then path id
 *      mos              highest MOS, then vector cost, then path id
 *    (an unmeasured path sorts after measured ones on latency and MOS).
 *
 * `refused` is true only in case 3 without best-effort. An empty `ordered` with `refused` false means
 * there is no eligible path at all.
 */
import type { CompiledServicePolicy } from '../model/tables.js';
import { VECTOR_NEVER } from '../model/tables.js';
import type { PathQuality } from './quality.js';

export interface PathCandidate {
  readonly id: number;
  readonly vector: string;
  readonly usable: boolean;
  readonly quality?: PathQuality;
}

export interface PathRanking {
  /** path ids, best first */
  readonly ordered: number[];
  readonly refused: boolean;
}

/** What ranking reads from a compiled service-policy. */
export type RankPolicy = Pick<
  CompiledServicePolicy,
  'costOf' | 'pathQualityFilter' | 'maxLatencyMs' | 'maxJitterMs' | 'maxLossPercent' | 'minMos' | 'bestEffort' | 'bestPathCriteria'
>;

/** Whether measured quality is within the policy's SLA limits (unmeasured passes). */
export function meetsSla(policy: RankPolicy, quality: PathQuality | undefined): boolean {
  if (quality === undefined) return true;
  return (
    quality.latencyMs <= policy.maxLatencyMs &&
    quality.jitterMs <= policy.maxJitterMs &&
    quality.lossPercent <= policy.maxLossPercent &&
    (policy.minMos === undefined || quality.mos >= policy.minMos)
  );
}

export function rankPaths(policy: RankPolicy, candidates: readonly PathCandidate[]): PathRanking {
  const eligible = candidates.filter((c) => c.usable && policy.costOf(c.vector) !== VECTOR_NEVER);
  const qualified = policy.pathQualityFilter ? eligible.filter((c) => meetsSla(policy, c.quality)) : eligible;
  const order = comparator(policy);
  if (qualified.length > 0) return { ordered: [...qualified].sort(order).map((c) => c.id), refused: false };
  if (!policy.bestEffort) return { ordered: [], refused: true };
  const best = [...eligible].sort(order)[0];
  return { ordered: best === undefined ? [] : [best.id], refused: false };
}

type Compare = (a: PathCandidate, b: PathCandidate) => number;

const UNMEASURED = Number.POSITIVE_INFINITY;
const latency = (c: PathCandidate): number => c.quality?.latencyMs ?? UNMEASURED;
/** Negated so that ascending order puts the highest MOS first. */
const negMos = (c: PathCandidate): number => (c.quality === undefined ? UNMEASURED : -c.quality.mos);

function comparator(policy: RankPolicy): Compare {
  const cost = (c: PathCandidate): number => policy.costOf(c.vector);
  const keys: Array<(c: PathCandidate) => number> =
    policy.bestPathCriteria === 'average-latency' ? [latency, cost] : policy.bestPathCriteria === 'mos' ? [negMos, cost] : [cost, latency];
  return (a, b) => {
    for (const key of keys) {
      const d = compareNumbers(key(a), key(b));
      if (d !== 0) return d;
    }
    return a.id - b.id;
  };
}

/** Ascending; equal infinities compare equal (a plain subtraction would give NaN). */
function compareNumbers(x: number, y: number): number {
  return x === y ? 0 : x < y ? -1 : 1;
}
