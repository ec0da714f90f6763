/**
 * Gives the heap back after the session table drained (issue 19 item 5). A burst of first packets and
 * removals grows V8's young generation to its largest (two 16 MB semispaces) and, once their garbage has
 * cycled through it, all of it is resident; V8 shrinks it only at a mark-compact that reduces memory, which an
 * idle data path never reaches by itself (a 1 M table drained to 25 %: 32 MB still resident after 30 s idle,
 * 38 B a session). So each sweep reports the active sessions; once one left nothing due (expiry and the
 * indexes' halving done) with them at half the peak since the last release or less, the data path asks V8
 * for a memory-reducing incremental mark-compact (native/heap-release.cc; the young generation went
 * 32 -> 1 MB within 250 ms, 9 ms for the call, no full pause), and the peak starts again from there. While the
 * young generation has not shrunk it follows V8's progress, not the sweeps: it asks again only after a
 * mark-compact finished without shrinking it (V8 ignores the ask while a collection of its own is marking; at load
 * 20 that marking outlasted 8 sweeps' asks, and the bench's young generation stayed at 32 MB).
 * The cost is one incremental collection per drain; the young generation regrows under the next burst.
 */
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import { tryLoadAddon } from '../native/addon.js';

/** A drain smaller than this peak (one segment of rows) is not worth a collection. */
export const RELEASE_MIN_PEAK = 16_384;
/** At most one release per this long (ms): a table oscillating around half its peak costs one a minute. */
export const RELEASE_MIN_INTERVAL_MS = 60_000;
/** Asks for one drain: the first, then one after each mark-compact that finished without shrinking the young
 *  generation (V8 ignores the request while a collection of its own is marking: 1 of 3 runs at load 20 kept 32 MB
 *  after a single request). */
export const RELEASE_ATTEMPTS = 8;
/** The young generation at or below this is at its least (V8 shrinks it to 1 MB semispaces). */
const YOUNG_LEAST = 2 << 20;

/** What DrainWatch asks of V8 (releaseHeap and the young generation's size; tests may count the calls). */
export interface HeapControl {
  youngBytes(): number;
  release(): void;
  /** mark-compacts V8 finished while watched (a count that only grows) */
  majorGcs(): number;
  /** counts mark-compacts from now (`true`) or no longer (`false`): only while a release waits for one */
  watch(on: boolean): void;
}

/** Decides when a drain of the session table is worth giving the heap back (the data path's sweep). */
export class DrainWatch {
  private peak = 0;
  private lastAt = -Infinity;
  private attempts = 0;
  private target = 0;
  /** heap.majorGcs() at the last ask */
  private gcsAtAsk = 0;

  /**
   * After each sweep (`settled`: it left nothing due): releases the heap when the sweep settled, `active`
   * sessions are at most half the peak since the last release (a peak of at least RELEASE_MIN_PEAK) and the
   * last release is RELEASE_MIN_INTERVAL_MS ago; then, while the young generation is above half its size at the
   * release (or its least), again at the first settled sweep after each mark-compact that finished since the last
   * ask, RELEASE_ATTEMPTS in all, for at most RELEASE_MIN_INTERVAL_MS.
   */
  afterSweep(active: number, now: number, settled: boolean, heap: HeapControl): void {
    if (active > this.peak) this.peak = active;
    if (!settled) return;
    if (this.attempts > 0) {
      if (heap.youngBytes() > this.target && now - this.lastAt < RELEASE_MIN_INTERVAL_MS) {
        if (heap.majorGcs() === this.gcsAtAsk) return; // the collection asked for (or V8's own) still runs
        this.ask(heap);
        if (this.attempts === 0) heap.watch(false);
        return;
      }
      this.attempts = 0;
      heap.watch(false);
    }
    if (this.peak < RELEASE_MIN_PEAK || active > this.peak / 2 || now - this.lastAt < RELEASE_MIN_INTERVAL_MS) return;
    this.peak = active;
    this.lastAt = now;
    this.target = Math.max(heap.youngBytes() / 2, YOUNG_LEAST);
    this.attempts = RELEASE_ATTEMPTS;
    heap.watch(true);
    this.ask(heap);
  }

  private ask(heap: HeapControl): void {
    this.attempts--;
    this.gcsAtAsk = heap.majorGcs();
    heap.release();
  }
}

function load(): (() => void) | null {
  if (process.env['SVR_HEAP_RELEASE'] === '0') return null; // to measure the other way
  const mod = tryLoadAddon();
  return mod instanceof Error || typeof mod['releaseHeap'] !== 'function' ? null : (mod['releaseHeap'] as () => void);
}

/** Asks V8 to reduce this thread's heap (an incremental, memory-reducing mark-compact); null without the addon
 *  or with SVR_HEAP_RELEASE=0. */
export const releaseHeap: (() => void) | null = load();

/** Mark-compacts of this thread, counted by a PerformanceObserver while watched (not per scavenge otherwise). */
class MajorGcs {
  count = 0;
  #observer: PerformanceObserver | null = null;

  watch(on: boolean): void {
    if (on && this.#observer === null) {
      this.#observer = new PerformanceObserver((list) => {
        for (const e of list.getEntries() as { detail?: { kind?: number } }[]) {
          if (e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) this.count++;
        }
      });
      this.#observer.observe({ entryTypes: ['gc'] });
    } else if (!on && this.#observer !== null) {
      this.#observer.disconnect();
      this.#observer = null;
    }
  }
}

function v8HeapControl(release: () => void): HeapControl {
  const gcs = new MajorGcs();
  return {
    youngBytes: () => getHeapSpaceStatistics().find((sp) => sp.space_name === 'new_space')?.space_size ?? 0,
    release,
    majorGcs: () => gcs.count,
    watch: (on) => gcs.watch(on),
  };
}

/** This thread's V8 heap for DrainWatch; null without releaseHeap. */
export const v8Heap: HeapControl | null = releaseHeap === null ? null : v8HeapControl(releaseHeap);
