/**
 * One direction of an emulated link: impairments (delay, jitter, loss, down) and a FIFO of held packets.
 *
 * - Packets are copied into fixed slots of one preallocated slab (no allocation per packet) and released
 *   in arrival order: each packet is due at `arrival + delay + jitter sample`, but never before the packet
 *   ahead of it (`due = max(that, previous due)`). So jitter shows as varying delay and packets never
 *   overtake each other: a link emulator that reorders makes TCP retransmit for reasons that are not the
 *   router's. Under a burst, a late sample holds the packets behind it (as on a real queue), so the mean
 *   delay of back-to-back packets is somewhat above `delay` and their spread below `jitter`.
 * - Because the queue is FIFO it is also time-ordered: one timer per emulator, armed for the earliest
 *   head, releases everything that is due in one batch (see Emulator).
 * - Jitter is uniform in [-jitter, +jitter] (the total delay never below 0); loss is a Bernoulli draw per
 *   packet. Both come from their own deterministic PRNG (seeded per link and direction), so a run with
 *   the same traffic drops the same packets, and changing the jitter does not change which are lost.
 * - A full queue drops new packets (tail drop, counted).
 */

/** xorshift32-based PRNG: deterministic, fast, good enough for loss and jitter draws. */
export class Prng {
  private s: number;
  constructor(seed: number) {
    this.s = (seed >>> 0) || 0x9e3779b9;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    this.s = x;
    return x / 4294967296;
  }
}

export interface Impairment {
  delayMs: number;
  jitterMs: number;
  /** percent, 0-100 */
  lossPct: number;
  /** the link carries nothing */
  down: boolean;
}

export const NO_IMPAIRMENT: Readonly<Impairment> = Object.freeze({ delayMs: 0, jitterMs: 0, lossPct: 0, down: false });

export interface LineStats {
  /** packets that arrived from the sending router */
  rxPackets: number;
  rxBytes: number;
  /** packets written on toward the other router */
  txPackets: number;
  txBytes: number;
  dropLoss: number;
  dropDown: number;
  dropQueueFull: number;
  /** packets the kernel refused when written back (EAGAIN/ENOBUFS) */
  dropWrite: number;
  /** held right now */
  queued: number;
}

export type Release = (data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number) => number;

export class DelayLine {
  impairment: Impairment = { ...NO_IMPAIRMENT };
  readonly stats: LineStats = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, dropLoss: 0, dropDown: 0, dropQueueFull: 0, dropWrite: 0, queued: 0 };
  private readonly slab: Uint8Array;
  private readonly lengths: Uint32Array;
  private readonly due: Float64Array;
  private readonly outOffsets: Uint32Array;
  private readonly outLengths: Uint32Array;
  private head = 0;
  private count = 0;
  private lastDue = 0;
  private readonly lossRng: Prng;
  private readonly jitterRng: Prng;

  /**
   * @param capacity held packets at most (tail drop beyond)
   * @param slotBytes bytes per packet slot (longer packets are dropped as queue-full; the link MTU is below)
   * @param maxBatch packets per release call
   */
  constructor(seed: number, readonly capacity = 8192, readonly slotBytes = 1792, private readonly maxBatch = 256) {
    this.slab = new Uint8Array(capacity * slotBytes);
    this.lengths = new Uint32Array(capacity);
    this.due = new Float64Array(capacity);
    this.outOffsets = new Uint32Array(maxBatch);
    this.outLengths = new Uint32Array(maxBatch);
    this.lossRng = new Prng(seed);
    this.jitterRng = new Prng(Math.imul(seed ^ 0x5bd1e995, 0x27d4eb2d) >>> 0);
  }

  get held(): number {
    return this.count;
  }

  /** Due time of the oldest held packet, or undefined when none is held. */
  headDue(): number | undefined {
    return this.count === 0 ? undefined : this.due[this.head];
  }

  /** Takes one packet that arrived at `now` (ms): dropped, or copied and held until its due time. */
  push(data: Uint8Array, offset: number, length: number, now: number): void {
    const st = this.stats;
    st.rxPackets++;
    st.rxBytes += length;
    const imp = this.impairment;
    if (imp.down) {
      st.dropDown++;
      return;
    }
    if (imp.lossPct > 0 && this.lossRng.next() * 100 < imp.lossPct) {
      st.dropLoss++;
      return;
    }
    if (this.count === this.capacity || length > this.slotBytes) {
      st.dropQueueFull++;
      return;
    }
    let delay = imp.delayMs;
    if (imp.jitterMs > 0) delay += (this.jitterRng.next() * 2 - 1) * imp.jitterMs;
    let due = now + (delay > 0 ? delay : 0);
    if (this.count > 0 && due < this.lastDue) due = this.lastDue;
    const slot = (this.head + this.count) % this.capacity;
    this.slab.set(data.subarray(offset, offset + length), slot * this.slotBytes);
    this.lengths[slot] = length;
    this.due[slot] = due;
    this.lastDue = due;
    this.count++;
    st.queued = this.count;
  }

  /** Hands every packet due by `now` to `release`, in order, in batches. Returns how many left the queue. */
  releaseDue(now: number, release: Release): number {
    let done = 0;
    while (this.count > 0 && this.due[this.head]! <= now) {
      let n = 0;
      let bytes = 0;
      while (n < this.maxBatch && this.count > 0 && this.due[this.head]! <= now) {
        this.outOffsets[n] = this.head * this.slotBytes;
        this.outLengths[n] = this.lengths[this.head]!;
        bytes += this.lengths[this.head]!;
        n++;
        this.head = (this.head + 1) % this.capacity;
        this.count--;
      }
      const written = release(this.slab, this.outOffsets, this.outLengths, n);
      this.stats.txPackets += written;
      this.stats.txBytes += written === n ? bytes : Math.round((bytes * written) / n);
      this.stats.dropWrite += n - written;
      done += n;
    }
    this.stats.queued = this.count;
    return done;
  }

  /** Drops everything held (the link went down: packets in flight are lost too). */
  flush(): void {
    this.stats.dropDown += this.count;
    this.count = 0;
    this.stats.queued = 0;
  }
}
