/**
 * Timers on a grid for the many small timers of a router's paths (link-test echoes and their loss
 * deadlines, paths/link-test.ts): each due time is rounded up to `grainMs`; the callbacks due at one grid
 * point run in one tick inside `batch`, so the echoes of many paths leave in one write per wan device
 * instead of one each. One underlying timer, armed at the earliest grid point; `runDue` lets another
 * timer on the same grid (the BFD schedule's tick) run the due points in its own batch.
 *
 * A callback runs at most `grainMs` late, never early. Callbacks of one grid point run in the order they
 * were set; a timer set from a callback for a point already due runs in the next tick (a grain later).
 *
 * No Map operation per timer and no pass over the pending points per tick (a hub has ~2,000 timers a second
 * and ~1,000 points pending, its link-test rounds 10 s ahead): a handle is its point and its place there, the
 * points with callbacks are a min-heap, and a point once run never gets callbacks again (so no handle can
 * name a later timer).
 */
import type { Timers } from './link-test.js';

/** a grid point holds at most this many callbacks; a handle is `point * POINT_SLOTS + place` */
const POINT_SLOTS = 2 ** 21;

export class GridTimers implements Timers {
  readonly #base: Timers;
  readonly #grainMs: number;
  readonly #batch: (fn: () => void) => void;
  /** grid point -> its callbacks in the order set (null: cleared) */
  readonly #due = new Map<number, ((() => void) | null)[]>();
  /** the points in `#due`, a binary min-heap */
  readonly #points: number[] = [];
  /** the last point run (or dropped by `stop`): callbacks set later go after it */
  #ranThrough = -Infinity;
  #handle: unknown = null;
  #armedPoint = Infinity;
  readonly #ready: number[] = [];
  readonly #onTick = (): void => this.#tick();
  readonly #runReady = (): void => this.#run();

  constructor(base: Timers, grainMs: number, batch: (fn: () => void) => void) {
    this.#base = base;
    this.#grainMs = grainMs;
    this.#batch = batch;
  }

  readonly now = (): number => this.#base.now();

  readonly setTimeout = (fn: () => void, ms: number): unknown => {
    let point = Math.max(Math.ceil((this.#base.now() + Math.max(0, ms)) / this.#grainMs), this.#ranThrough + 1);
    let fns = this.#due.get(point);
    while (fns !== undefined && fns.length === POINT_SLOTS) fns = this.#due.get(++point);
    if (fns === undefined) {
      this.#due.set(point, (fns = []));
      this.#push(point);
    }
    fns.push(fn);
    this.#arm(point);
    return point * POINT_SLOTS + fns.length - 1;
  };

  readonly clearTimeout = (handle: unknown): void => {
    if (typeof handle !== 'number') return;
    const point = Math.floor(handle / POINT_SLOTS);
    // a point already run has no callbacks (and never gets new ones): nothing to clear
    const fns = this.#due.get(point);
    if (fns !== undefined) fns[handle - point * POINT_SLOTS] = null;
  };

  /** Drops every timer (the owner stopped). */
  stop(): void {
    if (this.#handle !== null) this.#base.clearTimeout(this.#handle);
    this.#handle = null;
    this.#armedPoint = Infinity;
    for (const point of this.#points) this.#ranThrough = Math.max(this.#ranThrough, point);
    this.#points.length = 0;
    this.#due.clear();
  }

  /**
   * Runs now, inside the caller's batch, the callbacks of every point that has come, and arms the timer for
   * the next point; true when a point had come.
   */
  runDue(): boolean {
    const points = this.#points;
    if (points.length === 0 || points[0]! * this.#grainMs > this.#base.now()) return false;
    this.#run();
    this.#rearm();
    return true;
  }

  #arm(point: number): void {
    if (point >= this.#armedPoint || point === Infinity) return;
    if (this.#handle !== null) this.#base.clearTimeout(this.#handle);
    this.#armedPoint = point;
    this.#handle = this.#base.setTimeout(this.#onTick, Math.max(0, point * this.#grainMs - this.#base.now()));
  }

  /** The timer at the first point (after a run that did not come from it). */
  #rearm(): void {
    const next = this.#points.length === 0 ? Infinity : this.#points[0]!;
    if (next === this.#armedPoint) return;
    if (this.#handle !== null) this.#base.clearTimeout(this.#handle);
    this.#handle = null;
    this.#armedPoint = Infinity;
    this.#arm(next);
  }

  #tick(): void {
    this.#handle = null;
    this.#armedPoint = Infinity;
    const points = this.#points;
    if (points.length > 0 && points[0]! * this.#grainMs <= this.#base.now()) this.#batch(this.#runReady);
    this.#rearm();
  }

  /** The points that have come, in order; a callback clearing one of their timers still finds its point. */
  #run(): void {
    const now = this.#base.now();
    const points = this.#points;
    const ready = this.#ready;
    ready.length = 0;
    while (points.length > 0 && points[0]! * this.#grainMs <= now) ready.push(this.#pop());
    if (ready.length === 0) return;
    this.#ranThrough = Math.max(this.#ranThrough, ready[ready.length - 1]!);
    try {
      for (const point of ready) {
        // callbacks set meanwhile go to a later point: this one's length is final
        const fns = this.#due.get(point)!;
        for (let k = 0; k < fns.length; k++) {
          const fn = fns[k];
          if (fn === null || fn === undefined) continue;
          fns[k] = null;
          fn();
        }
      }
    } finally {
      for (const point of ready) this.#due.delete(point);
    }
  }

  #push(point: number): void {
    const h = this.#points;
    let i = h.length;
    h.push(point);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]! <= point) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = point;
  }

  #pop(): number {
    const h = this.#points;
    const top = h[0]!;
    const last = h.pop()!;
    const n = h.length;
    if (n === 0) return top;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && h[c + 1]! < h[c]!) c++;
      if (h[c]! >= last) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
    return top;
  }
}
