/**
 * Guaranteed shares of a transmit cap without queues: the core has no egress queues, so the four
 * priority queues are emulated by policing with borrowing (an approximation of an HTB-like scheduler):
 * - each queue q has a bucket refilled at share[q] x cap; a packet that fits its queue's bucket passes;
 * - tokens a queue does not use (its bucket is full) overflow into a shared pool (depth: 20 ms of cap);
 * - a packet whose queue's bucket is empty may borrow from the pool, higher queues first within a batch
 *   (the stage offers borrowing to `high` packets, then `medium`, ...); across batches, first come.
 * Tokens are only created at `cap` in total, so over any window what passes is at most cap x time plus
 * the buckets' depth; each queue gets at least its share while it has packets; idle share goes to
 * whoever asks, by priority. What it cannot do: delay a packet (there is no queue), so excess is
 * dropped where a real scheduler would queue it, and priority does not lower latency. One scheduler per
 * direction (client -> server, server -> client), as if the cap were a full-duplex link.
 */
const MTU = 1500;
const QUEUE_DEPTH_MS = 20;
const POOL_DEPTH_MS = 20;

export class ShareScheduler {
  /** whole bytes per direction d and queue q: tokens[d * 4 + q]; fractions carried in `frac` */
  private readonly tokens = new Int32Array(8);
  private readonly frac = new Float64Array(8);
  private readonly pool = new Int32Array(2);
  private readonly poolFrac = new Float64Array(2);
  private readonly last = new Float64Array(2).fill(-1);
  private readonly perMs = new Float64Array(4);
  private readonly depth = new Int32Array(4);
  private readonly poolDepth: number;

  constructor(capBitsPerSecond: number, sharesPercent: readonly number[]) {
    const capPerMs = capBitsPerSecond / 8000;
    for (let q = 0; q < 4; q++) {
      this.perMs[q] = (capPerMs * sharesPercent[q]!) / 100;
      this.depth[q] = Math.floor(Math.max(2 * MTU, this.perMs[q]! * QUEUE_DEPTH_MS));
    }
    this.poolDepth = Math.floor(Math.max(8 * MTU, capPerMs * POOL_DEPTH_MS));
  }

  /** Brings direction d's buckets to `now` (once per frame), overflowing unused share into the pool. */
  refill(d: number, now: number): void {
    const last = this.last[d]!;
    if (last < 0) {
      for (let q = 0; q < 4; q++) this.tokens[d * 4 + q] = this.depth[q]!;
      this.last[d] = now;
      return;
    }
    if (now <= last) return;
    const dt = now - last;
    let pool = this.pool[d]! + this.poolFrac[d]!;
    for (let q = 0; q < 4; q++) {
      const i = d * 4 + q;
      const t = this.tokens[i]! + this.frac[i]! + dt * this.perMs[q]!;
      if (t > this.depth[q]!) {
        pool += t - this.depth[q]!;
        this.tokens[i] = this.depth[q]!;
        this.frac[i] = 0;
      } else {
        this.tokens[i] = Math.floor(t);
        this.frac[i] = t - Math.floor(t);
      }
    }
    pool = Math.min(pool, this.poolDepth);
    this.pool[d] = Math.floor(pool);
    this.poolFrac[d] = pool - Math.floor(pool);
    this.last[d] = now;
  }

  /** Takes `bytes` from queue q's own share; false when it has too few. */
  takeOwn(d: number, q: number, bytes: number): boolean {
    const i = d * 4 + q;
    if (this.tokens[i]! < bytes) return false;
    this.tokens[i]! -= bytes;
    return true;
  }

  /** Takes `bytes` from the pool of unused shares; false when it has too few. */
  borrow(d: number, bytes: number): boolean {
    if (this.pool[d]! < bytes) return false;
    this.pool[d]! -= bytes;
    return true;
  }
}
