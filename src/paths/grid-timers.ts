/**
 * Timers on a grid for the many small timers of a router's paths (link-test echoes and their loss
 * deadlines, paths/link-test.ts): each due time is rounded up to `grainMs`; the callbacks due at one grid
 * point run in one tick inside `batch`, so the echoes of many paths leave in one write per wan device
 * instead of one each. One underlying timer, armed at the earliest grid point.
 *
 * A callback runs at most `grainMs` late, never early. Callbacks of one grid point run in the order they
 * were set; a timer set from a callback for a point already due runs in the next tick (a grain later).
 */
import type { Timers } from './link-test.js';

/** The callbacks of one grid point, in the order set; `live` of them not cleared. */
interface Bucket {
  readonly ids: number[];
  readonly fns: (() => void)[];
  live: number;
}

export class GridTimers implements Timers {
  readonly #base: Timers;
  readonly #grainMs: number;
  readonly #batch: (fn: () => void) => void;
  /** grid index -> its callbacks (arrays: no Map entry per timer; a cleared one is skipped by its id) */
  readonly #due = new Map<number, Bucket>();
  /** timer id -> grid index, while it is set */
  readonly #where = new Map<number, number>();
  #seq = 1;
  #handle: unknown = null;
  #armedIndex = Infinity;
  /** while a tick runs: the last grid index it runs (a timer set meanwhile goes after it) */
  #running = -Infinity;
  readonly #ready: number[] = [];
  readonly #onTick = (): void => this.#tick();

  constructor(base: Timers, grainMs: number, batch: (fn: () => void) => void) {
    this.#base = base;
    this.#grainMs = grainMs;
    this.#batch = batch;
  }

  readonly now = (): number => this.#base.now();

  readonly setTimeout = (fn: () => void, ms: number): unknown => {
    const index = Math.max(Math.ceil((this.#base.now() + Math.max(0, ms)) / this.#grainMs), this.#running + 1);
    const id = this.#seq++;
    let bucket = this.#due.get(index);
    if (bucket === undefined) this.#due.set(index, (bucket = { ids: [], fns: [], live: 0 }));
    bucket.ids.push(id);
    bucket.fns.push(fn);
    bucket.live++;
    this.#where.set(id, index);
    this.#arm(index);
    return id;
  };

  readonly clearTimeout = (handle: unknown): void => {
    const id = handle as number;
    const index = this.#where.get(id);
    if (index === undefined) return;
    this.#where.delete(id);
    const bucket = this.#due.get(index);
    if (bucket === undefined) return;
    // a bucket being run stays until its tick ends; the cleared callback is skipped
    if (--bucket.live === 0 && index > this.#running) this.#due.delete(index);
  };

  /** Drops every timer (the owner stopped). */
  stop(): void {
    if (this.#handle !== null) this.#base.clearTimeout(this.#handle);
    this.#handle = null;
    this.#armedIndex = Infinity;
    this.#due.clear();
    this.#where.clear();
  }

  #arm(index: number): void {
    if (index >= this.#armedIndex || index === Infinity) return;
    if (this.#handle !== null) this.#base.clearTimeout(this.#handle);
    this.#armedIndex = index;
    this.#handle = this.#base.setTimeout(this.#onTick, Math.max(0, index * this.#grainMs - this.#base.now()));
  }

  #tick(): void {
    this.#handle = null;
    this.#armedIndex = Infinity;
    const now = this.#base.now();
    const ready = this.#ready;
    ready.length = 0;
    for (const index of this.#due.keys()) if (index * this.#grainMs <= now) ready.push(index);
    if (ready.length === 0) return this.#arm(this.#first());
    ready.sort((a, b) => a - b);
    this.#running = ready[ready.length - 1]!;
    try {
      this.#batch(this.#runReady);
    } finally {
      for (const index of ready) this.#due.delete(index);
      this.#running = -Infinity;
    }
    this.#arm(this.#first());
  }

  readonly #runReady = (): void => {
    for (const index of this.#ready) {
      const bucket = this.#due.get(index)!;
      // callbacks set meanwhile for a later point go to another bucket: this one's length is final
      for (let k = 0; k < bucket.ids.length; k++) {
        const id = bucket.ids[k]!;
        if (!this.#where.delete(id)) continue;
        bucket.fns[k]!();
      }
    }
  };

  #first(): number {
    let next = Infinity;
    for (const index of this.#due.keys()) next = Math.min(next, index);
    return next;
  }
}
