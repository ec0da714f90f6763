/**
 * Byte token buckets for policing (single rate, no colours: a packet that does not fit is dropped).
 * Bucket b holds `tokens[b]` whole bytes and refills at `perMs[b]` bytes per millisecond up to
 * `depth[b]`; `configure` sets it up and it starts full at its first use.
 * Per packet everything is small-integer work (`fits`, `take`): the refill, with its fractions of a byte,
 * runs once per bucket per frame (the batch time is fixed within a frame), so even unoptimized code
 * allocates nothing per packet. `fits` and `take` are separate so a packet can be checked against
 * several buckets and charged only when all of them have room.
 */
import { withRow } from '../shared/rows.js';

/** Largest bucket depth in bytes (tokens are int32). */
export const MAX_DEPTH = 1_000_000_000;

export class Policer {
  private tokens: Int32Array;
  private depth: Int32Array;
  /** the frame each bucket was last refilled in (-1: never) */
  private frame: Int32Array;
  private frac: Float64Array;
  private perMs: Float64Array;
  private last: Float64Array;

  constructor(n: number) {
    this.tokens = new Int32Array(n);
    this.depth = new Int32Array(n);
    this.frame = new Int32Array(n);
    this.frac = new Float64Array(n);
    this.perMs = new Float64Array(n);
    this.last = new Float64Array(n);
  }

  /** Room for buckets 0..n-1 (new ones unconfigured). */
  grow(n: number): void {
    if (n <= this.tokens.length) return;
    this.tokens = withRow(this.tokens, n - 1);
    this.depth = withRow(this.depth, n - 1);
    this.frame = withRow(this.frame, n - 1);
    this.frac = withRow(this.frac, n - 1);
    this.perMs = withRow(this.perMs, n - 1);
    this.last = withRow(this.last, n - 1);
  }

  /** Sets bucket b's rate (bits/s) and depth (bytes); it fills at its first use. */
  configure(b: number, bitsPerSecond: number, burstBytes: number): void {
    this.perMs[b] = bitsPerSecond / 8000;
    this.depth[b] = Math.min(Math.floor(burstBytes), MAX_DEPTH);
    this.last[b] = -1;
    this.frame[b] = -1;
  }

  /** True when `bytes` fit bucket b, refilled to `now` (once per `frame`). */
  fits(b: number, bytes: number, now: number, frame: number): boolean {
    if (this.frame[b] !== frame) {
      this.frame[b] = frame;
      this.refill(b, now);
    }
    return this.tokens[b]! >= bytes;
  }

  take(b: number, bytes: number): void {
    this.tokens[b]! -= bytes;
  }

  private refill(b: number, now: number): void {
    const last = this.last[b]!;
    if (last < 0) {
      this.tokens[b] = this.depth[b]!;
      this.frac[b] = 0;
      this.last[b] = now;
      return;
    }
    if (now <= last) return;
    const t = this.tokens[b]! + this.frac[b]! + (now - last) * this.perMs[b]!;
    if (t >= this.depth[b]!) {
      this.tokens[b] = this.depth[b]!;
      this.frac[b] = 0;
    } else {
      const whole = Math.floor(t);
      this.tokens[b] = whole;
      this.frac[b] = t - whole;
    }
    this.last[b] = now;
  }
}
