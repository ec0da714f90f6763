/**
 * A fixed ring of event records the data path fills without allocating (a session hook refusing a
 * session, a limit starting to trigger) and the control side drains on a timer to write log lines.
 * One record: a kind, INTS small integers (meaning chosen by the plugin), the address family, two
 * addresses and a time. When the ring is full new events are counted in `lost`, never blocking.
 *
 * Waking: when a record lands in an empty ring, `onWake` runs (the control side sets it to start a
 * timer if none is pending): at most one timer per drain period, none while nothing happens, none
 * after the plugin's control signal aborted.
 */
export const RING_INTS = 6;

export class EventRing {
  readonly kind: Uint8Array;
  readonly ints: Int32Array;
  readonly family: Uint8Array;
  /** 32 bytes per record: address A (16) then address B (16); IPv4 in the first 4 of each */
  readonly addrs: Uint8Array;
  readonly time: Float64Array;
  lost = 0;
  onWake: (() => void) | null = null;
  private head = 0;
  private tail = 0;

  constructor(readonly capacity = 256) {
    this.kind = new Uint8Array(capacity);
    this.ints = new Int32Array(capacity * RING_INTS);
    this.family = new Uint8Array(capacity);
    this.addrs = new Uint8Array(capacity * 32);
    this.time = new Float64Array(capacity);
  }

  get size(): number {
    return this.tail - this.head;
  }

  /** The record to fill, or -1 when full (counted). Fill it, then `commit()`. */
  claim(): number {
    if (this.tail - this.head >= this.capacity) {
      this.lost++;
      return -1;
    }
    return this.tail % this.capacity;
  }

  /** Copies the two addresses of record `i` (4 or 16 bytes each). */
  setAddresses(i: number, family: 4 | 6, a: Uint8Array, b: Uint8Array): void {
    const n = family === 6 ? 16 : 4;
    const o = i * 32;
    this.family[i] = family;
    for (let k = 0; k < n; k++) {
      this.addrs[o + k] = a[k]!;
      this.addrs[o + 16 + k] = b[k]!;
    }
  }

  commit(): void {
    const wasEmpty = this.tail === this.head;
    this.tail++;
    if (wasEmpty && this.onWake !== null) this.onWake();
  }

  /** Calls `fn(record)` for every record in order and empties the ring (control side). */
  drain(fn: (i: number) => void): number {
    let n = 0;
    while (this.head < this.tail) {
      fn(this.head % this.capacity);
      this.head++;
      n++;
    }
    return n;
  }
}

/**
 * Drains `ring` `periodMs` after it wakes, until `signal` aborts (the plugin is unloaded or its router
 * stops). `drain` returns true when it wants another look later (e.g. to notice a limit stopping).
 */
export function drainOnWake(ring: EventRing, periodMs: number, signal: AbortSignal, drain: () => boolean): void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  const run = (): void => {
    timer = null;
    if (!signal.aborted && drain()) schedule();
  };
  const schedule = (): void => {
    if (timer !== null || signal.aborted) return;
    timer = setTimeout(run, periodMs);
    timer.unref();
  };
  ring.onWake = schedule;
  signal.addEventListener('abort', () => {
    ring.onWake = null;
    if (timer !== null) clearTimeout(timer);
    timer = null;
  }, { once: true });
}

/** Lines per second for log output, with a count of what it held back (control side). */
export class LogLimiter {
  private tokens: number;
  private last = -1;
  suppressed = 0;

  constructor(private readonly perSecond: number) {
    this.tokens = perSecond;
  }

  allow(nowMs: number): boolean {
    if (this.last >= 0) this.tokens = Math.min(this.perSecond, this.tokens + ((nowMs - this.last) * this.perSecond) / 1000);
    this.last = nowMs;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    this.suppressed++;
    return false;
  }
}
