/**
 * Path quality from link-test rounds (pure): latency, jitter, loss and MOS, per round and smoothed.
 *
 * One round = N echo requests; each either came back (an RTT sample) or was lost.
 *   latency = mean RTT / 2                     one-way estimate, as SSR displays it
 *   jitter  = mean |RTT(i) - RTT(i-1)| / 2     over consecutive answered requests in send order: the
 *             RFC 3550 §6.4.1 idea (difference of transit times of consecutive packets), averaged over
 *             the round instead of RFC 3550's 1/16 running filter, and halved like the latency
 *   loss    = lost / sent x 100 %
 *   MOS     = simplified ITU-T G.107 E-model, see `meanOpinionScore`
 * Smoothed = weighted moving average of the last 3 rounds, weights 1, 2, 3 (newest heaviest), as SSR's
 * STEP path metrics (ssr-reference §1.3, moving-average-sample-size 3); MOS recomputed from it.
 */

export interface PathQuality {
  /** one-way estimate, ms */
  readonly latencyMs: number;
  readonly jitterMs: number;
  /** 0-100 */
  readonly lossPercent: number;
  /** 1.0-4.5 */
  readonly mos: number;
}

export interface LinkTestRound extends PathQuality {
  readonly sent: number;
  readonly received: number;
  /** when the round ended, ms */
  readonly atMs: number;
}

/**
 * Mean opinion score from one-way latency, jitter and loss with the simplified E-model:
 *
 *   d      = latency + 2 x jitter + 10 ms         (jitter buffer of twice the jitter, 10 ms codec delay)
 *   Id     = 0.024 d + 0.11 (d - 177.3) H(d - 177.3)          delay impairment, the G.107 curve as fitted
 *            by Cole & Rosenbluth, "Voice over IP performance monitoring", ACM CCR 31(2), 2001
 *   Ie,eff = Ie + (95 - Ie) x Ppl / (Ppl + Bpl)                 G.107 effective equipment impairment, with
 *            G.711 values Ie = 0, Bpl = 25.1 (G.113 Appendix I, random loss with concealment)
 *   R      = 93.2 - Id - Ie,eff                                 93.2: R of G.107's default parameters
 *   MOS    = 1 + 0.035 R + 7e-6 R (R - 60)(100 - R), 1 below R = 0, 4.5 above R = 100   (G.107 Annex B)
 */
export function meanOpinionScore(latencyMs: number, jitterMs: number, lossPercent: number): number {
  const d = latencyMs + 2 * jitterMs + 10;
  const id = 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0);
  const ieEff = (95 * lossPercent) / (lossPercent + 25.1);
  const r = 93.2 - id - ieEff;
  if (r <= 0) return 1;
  if (r >= 100) return 4.5;
  return 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r);
}

/**
 * The quality of one round from its RTTs in send order (undefined = lost). A round with no answer at all
 * has 100 % loss and keeps `previous` latency and jitter (0 without one), since it measured none.
 */
export function roundQuality(rtts: readonly (number | undefined)[], atMs: number, previous?: PathQuality): LinkTestRound {
  const samples = rtts.filter((r): r is number => r !== undefined);
  const sent = rtts.length;
  const lossPercent = sent === 0 ? 0 : ((sent - samples.length) / sent) * 100;
  let latencyMs = previous?.latencyMs ?? 0;
  let jitterMs = previous?.jitterMs ?? 0;
  if (samples.length > 0) {
    latencyMs = mean(samples) / 2;
    jitterMs = samples.length < 2 ? 0 : mean(samples.slice(1).map((r, i) => Math.abs(r - samples[i]!))) / 2;
  }
  return { sent, received: samples.length, atMs, latencyMs, jitterMs, lossPercent, mos: meanOpinionScore(latencyMs, jitterMs, lossPercent) };
}

/** Keeps the latest round and a weighted moving average over the last `window` rounds (computed once per round:
 *  a link tester reads it for every request's loss timeout). */
export class QualityHistory {
  #rounds: LinkTestRound[] = [];
  #smoothed: PathQuality | undefined;

  constructor(private readonly window = 3) {}

  add(round: LinkTestRound): void {
    this.#rounds.push(round);
    if (this.#rounds.length > this.window) this.#rounds.shift();
    this.#smoothed = this.#average();
  }

  get latest(): LinkTestRound | undefined {
    return this.#rounds.at(-1);
  }

  /** Weights 1..n, oldest to newest; undefined before the first round. */
  get smoothed(): PathQuality | undefined {
    return this.#smoothed;
  }

  #average(): PathQuality | undefined {
    const n = this.#rounds.length;
    if (n === 0) return undefined;
    const total = (n * (n + 1)) / 2;
    const avg = (pick: (q: LinkTestRound) => number) => this.#rounds.reduce((sum, q, i) => sum + pick(q) * (i + 1), 0) / total;
    const latencyMs = avg((q) => q.latencyMs);
    const jitterMs = avg((q) => q.jitterMs);
    const lossPercent = avg((q) => q.lossPercent);
    return { latencyMs, jitterMs, lossPercent, mos: meanOpinionScore(latencyMs, jitterMs, lossPercent) };
  }
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}
