/**
 * Anti-replay windows (RFC 6479): per (path, key, sender) counter space, a ring of 64 u32 words (2048
 * bits) behind the highest counter seen. A counter above the top advances the ring (clearing whole words),
 * one more than WINDOW_SIZE below it is too old, anything in between is accepted once: its bit is set.
 * Counters are u64 as (hi, lo) u32 words; a word's ring index is (lo >>> 5) & 63 since 2^32 is a multiple
 * of 64 * 32. Windows live in one pool of typed arrays (no allocation per packet); a key slot holds the
 * window of each sender it has heard from.
 * Cost: 5–13 ns per packet with the block read and the key lookup (bench/replay.ts, docs/security.md "Measured").
 */

export const WINDOW_WORDS = 64;
/** Counters at most this far below the highest seen are still checked; older ones are rejected. */
export const WINDOW_SIZE = (WINDOW_WORDS - 1) * 32;

export const REPLAY_OK = 0;
/** the counter was seen before */
export const REPLAY_SEEN = 1;
/** the counter is more than WINDOW_SIZE below the highest seen */
export const REPLAY_TOO_OLD = 2;

export class ReplayWindows {
  private bits = new Uint32Array(16 * WINDOW_WORDS);
  private topHi = new Uint32Array(16);
  private topLo = new Uint32Array(16);
  /** 1 until the window's first counter */
  private fresh = new Uint8Array(16);
  private used = 0;
  private readonly free: number[] = [];

  /** A new, empty window. */
  alloc(): number {
    let w = this.free.pop();
    if (w === undefined) {
      if (this.used === this.topHi.length) this.grow();
      w = this.used++;
    }
    this.fresh[w] = 1;
    return w;
  }

  release(w: number): void {
    this.free.push(w);
  }

  /** Windows in use (tests, `svr show security`). */
  get inUse(): number {
    return this.used - this.free.length;
  }

  private grow(): void {
    const n = this.topHi.length * 2;
    const bits = new Uint32Array(n * WINDOW_WORDS);
    bits.set(this.bits);
    this.bits = bits;
    for (const k of ['topHi', 'topLo'] as const) {
      const a = new Uint32Array(n);
      a.set(this[k]);
      this[k] = a;
    }
    const f = new Uint8Array(n);
    f.set(this.fresh);
    this.fresh = f;
  }

  /** Checks counter (hi, lo) against window w and records it when new: REPLAY_OK, _SEEN or _TOO_OLD. */
  check(w: number, hi: number, lo: number): number {
    const base = w * WINDOW_WORDS;
    const bits = this.bits;
    if (this.fresh[w] === 1) {
      this.fresh[w] = 0;
      bits.fill(0, base, base + WINDOW_WORDS);
      this.topHi[w] = hi;
      this.topLo[w] = lo;
    } else {
      const th = this.topHi[w]!;
      const tl = this.topLo[w]!;
      if (hi > th || (hi === th && lo > tl)) {
        // RFC 6479 §2: slide forward, clearing the words the top moves past
        const from = tl >>> 5;
        const ahead = hi === th ? (lo >>> 5) - from : hi - th > 1 ? WINDOW_WORDS : (lo >>> 5) + 0x8000000 - from;
        if (ahead >= WINDOW_WORDS) bits.fill(0, base, base + WINDOW_WORDS);
        else for (let i = 1; i <= ahead; i++) bits[base + ((from + i) & (WINDOW_WORDS - 1))] = 0;
        this.topHi[w] = hi;
        this.topLo[w] = lo;
      } else {
        const behind = hi === th ? tl - lo : th - hi > 1 ? WINDOW_SIZE : tl + 0x100000000 - lo;
        if (behind >= WINDOW_SIZE) return REPLAY_TOO_OLD;
      }
    }
    const i = base + ((lo >>> 5) & (WINDOW_WORDS - 1));
    const bit = (1 << (lo & 31)) >>> 0;
    if ((bits[i]! & bit) !== 0) return REPLAY_SEEN;
    bits[i] = bits[i]! | bit;
    return REPLAY_OK;
  }
}
