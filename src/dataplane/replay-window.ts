/**
 * Anti-replay windows (RFC 6479): per (path, key, sender) counter space, a ring of 64 u32 words (2048
 * bits) behind the highest counter seen. A counter above the top advances the ring (clearing whole words),
 * one more than WINDOW_SIZE below it is too old, anything in between is accepted once: its bit is set.
 * Counters are u64 as (hi, lo) u32 words; a word's ring index is (lo >>> 5) & 63 since 2^32 is a multiple
 * of 64 * 32. Windows live in one pool of typed arrays (no allocation per packet); a key slot holds the
 * window of each sender it has heard from. With marks (replay-marks.ts) each window's top is also kept
 * where the worker host can read it after the thread died; a replacement's window starts at that floor.
 * Cost: 5–13 ns per packet with the block read and the key lookup (bench/replay.ts, docs/security.md "Measured").
 */
import type { ReplayMarks } from './replay-marks.js';

export const WINDOW_WORDS = 64;
/** Counters at most this far below the highest seen are still checked; older ones are rejected. */
export const WINDOW_SIZE = (WINDOW_WORDS - 1) * 32;

export const REPLAY_OK = 0;
/** the counter was seen before */
export const REPLAY_SEEN = 1;
/** the counter is more than WINDOW_SIZE below the highest seen */
export const REPLAY_TOO_OLD = 2;

export class ReplayWindows {
  /** the pool: WINDOW_WORDS bit words, the top (hi, lo) and whether it is fresh, per window; replaced when it grows.
   *  native/fwd-in.c checks and moves the windows of marked flows in these same arrays (native-receive.ts). */
  bits = new Uint32Array(16 * WINDOW_WORDS);
  topHi = new Uint32Array(16);
  topLo = new Uint32Array(16);
  /** 1 until the window's first counter */
  fresh = new Uint8Array(16);
  private used = 0;
  private readonly free: number[] = [];
  #marks: ReplayMarks | null = null;
  /** [0]: bumped when the pool's arrays or marks are replaced (native/tun-pass.c reads it: native-receive.ts) */
  readonly replaced = new Uint32Array(1);

  /** where each window's top is also written (a worker's windows; null in one thread) */
  get marks(): ReplayMarks | null {
    return this.#marks;
  }

  set marks(m: ReplayMarks | null) {
    this.#marks = m;
    this.replaced[0]++;
  }

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

  /**
   * A new window that has seen every counter up to (hi, lo) (a floor a dead worker left): counters at or
   * below it are refused (seen, or too old), any above it accepted once.
   */
  allocFrom(hi: number, lo: number): number {
    const w = this.alloc();
    const base = w * WINDOW_WORDS;
    this.fresh[w] = 0;
    this.topHi[w] = hi;
    this.topLo[w] = lo;
    this.bits.fill(0xffffffff, base, base + WINDOW_WORDS);
    // the top's own word: only the bits up to the top are seen
    const bit = lo & 31;
    this.bits[base + ((lo >>> 5) & (WINDOW_WORDS - 1))] = bit === 31 ? 0xffffffff : ((1 << (bit + 1)) - 1) >>> 0;
    return w;
  }

  release(w: number): void {
    this.marks?.clear(w);
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
    this.replaced[0]++;
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
      this.marks?.top(w, hi, lo);
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
        this.marks?.top(w, hi, lo);
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
