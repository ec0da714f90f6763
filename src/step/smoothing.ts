/**
 * Keeping flapping paths from flooding the network (fact sheet §1.3, STEP):
 * - each path metric is a weighted moving average of the last 3 samples (newest weighs most: 1, 2, 3);
 * - a metric is republished only when it moved by more than its significance threshold since the value
 *   last reported (latency 5 ms, jitter 2 ms, loss 0.1 %, MOS 0.1); usable/unusable always counts;
 * - publications are rate limited by a token bucket (burst 2, one token per 30 s); a periodic full
 *   refresh (180 s) is published regardless.
 */

/** What a path's owner (BFD, link tests) says about it now. */
export interface PathSample {
  usable: boolean;
  latencyMs?: number;
  jitterMs?: number;
  lossPct?: number;
  mos?: number;
}

export type MetricName = 'latencyMs' | 'jitterMs' | 'lossPct' | 'mos';
export const METRICS: readonly MetricName[] = ['latencyMs', 'jitterMs', 'lossPct', 'mos'];

export type SignificanceThresholds = Record<MetricName, number>;

/** Reference thresholds; MOS has none in the fact sheet, 0.1 is our choice. */
export const DEFAULT_THRESHOLDS: SignificanceThresholds = { latencyMs: 5, jitterMs: 2, lossPct: 0.1, mos: 0.1 };

/** Weighted moving average, oldest sample first: weights 1..n, so the newest counts n times. */
export function weightedMovingAverage(samples: readonly number[]): number {
  let sum = 0;
  let weights = 0;
  for (let i = 0; i < samples.length; i++) {
    sum += samples[i]! * (i + 1);
    weights += i + 1;
  }
  return weights === 0 ? 0 : sum / weights;
}

/** Smooths one path's samples. A path that becomes unusable starts over when it comes back. */
export class MetricSmoother {
  private readonly windows: Record<MetricName, number[]> = { latencyMs: [], jitterMs: [], lossPct: [], mos: [] };

  constructor(private readonly sampleSize = 3) {}

  add(sample: PathSample): PathSample {
    if (!sample.usable) {
      this.reset();
      return { usable: false };
    }
    const out: PathSample = { usable: true };
    for (const m of METRICS) {
      const v = sample[m];
      const w = this.windows[m];
      if (v === undefined || !Number.isFinite(v)) {
        w.length = 0;
        continue;
      }
      w.push(v);
      if (w.length > this.sampleSize) w.shift();
      out[m] = round3(weightedMovingAverage(w));
    }
    return out;
  }

  reset(): void {
    for (const m of METRICS) this.windows[m].length = 0;
  }
}

/**
 * Whether `next` differs enough from what was last reported to publish it: usable changed, a metric
 * appeared or disappeared, or moved by more than its threshold.
 */
export function isSignificant(reported: PathSample | undefined, next: PathSample, t: SignificanceThresholds = DEFAULT_THRESHOLDS): boolean {
  if (reported === undefined || reported.usable !== next.usable) return true;
  for (const m of METRICS) {
    const a = reported[m];
    const b = next[m];
    if (a === undefined && b === undefined) continue;
    if (a === undefined || b === undefined) return true;
    if (Math.abs(a - b) > t[m]) return true;
  }
  return false;
}

/**
 * Token bucket: `burst` tokens, one more every `refillMs`, never more than `burst`. Kept as a GCRA
 * "theoretical arrival time" so it is exact in integer milliseconds.
 */
export class TokenBucket {
  /** when the bucket would be empty again if nothing more were taken */
  private tat: number;
  private readonly tolerance: number;

  constructor(burst: number, private readonly refillMs: number, nowMs: number) {
    this.tat = nowMs;
    this.tolerance = (burst - 1) * refillMs;
  }

  /** Takes a token if there is one. */
  take(nowMs: number): boolean {
    const t = Math.max(this.tat, nowMs);
    if (t - nowMs > this.tolerance) return false;
    this.tat = t + this.refillMs;
    return true;
  }

  /** Milliseconds until a token is available (0 = now). */
  waitMs(nowMs: number): number {
    return Math.max(0, Math.max(this.tat, nowMs) - nowMs - this.tolerance);
  }
}

function round3(v: number): number {
  return Math.round(v * 1000) / 1000;
}
