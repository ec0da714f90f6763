/**
 * Gives the heap back after the session table drained (issue 19 item 5). A burst of first packets and
 * removals grows V8's young generation to its largest (two 16 MB semispaces) and, once their garbage has
 * cycled through it, all of it is resident; V8 shrinks it only at a mark-compact that reduces memory, which an
 * idle data path never reaches by itself (a 1 M table drained to 25 %: 32 MB still resident after 30 s idle,
 * 38 B a session). So each sweep reports the active sessions; once one left nothing due (expiry and the
 * indexes' halving done) with them at half the peak since the last release or less, the data path asks V8
 * for a memory-reducing incremental mark-compact (native/heap-release.cc; the young generation went
 * 32 -> 1 MB within 250 ms, 9 ms for the call, no full pause), asks again on the next sweeps while V8 has not
 * shrunk it (a collection of V8's own was marking), and the peak starts again from there.
 * The cost is one incremental collection per drain; the young generation regrows under the next burst.
 */
import { getHeapSpaceStatistics } from 'node:v8';
import { tryLoadAddon } from '../native/addon.js';

/** A drain smaller than this peak (one segment of rows) is not worth a collection. */
export const RELEASE_MIN_PEAK = 16_384;
/** At most one release per this long (ms): a table oscillating around half its peak costs one a minute. */
export const RELEASE_MIN_INTERVAL_MS = 60_000;
/** Sweeps that ask again while the young generation has not shrunk (V8 ignores the request while a
 *  collection of its own is marking: 1 of 3 runs at load 20 kept 32 MB after a single request). */
export const RELEASE_ATTEMPTS = 8;
/** The young generation at or below this is at its least (V8 shrinks it to 1 MB semispaces). */
const YOUNG_LEAST = 2 << 20;

/** What DrainWatch asks of V8 (releaseHeap and the young generation's size; tests may count the calls). */
export interface HeapControl {
  youngBytes(): number;
  release(): void;
}

/** Decides when a drain of the session table is worth giving the heap back (the data path's sweep). */
export class DrainWatch {
  private peak = 0;
  private lastAt = -Infinity;
  private attempts = 0;
  private target = 0;

  /**
   * After each sweep (`settled`: it left nothing due): releases the heap when the sweep settled, `active`
   * sessions are at most half the peak since the last release (a peak of at least RELEASE_MIN_PEAK) and the
   * last release is RELEASE_MIN_INTERVAL_MS ago; then, on the next settled sweeps, again until the young
   * generation is half its size at the release (or at its least), RELEASE_ATTEMPTS in all.
   */
  afterSweep(active: number, now: number, settled: boolean, heap: HeapControl): void {
    if (active > this.peak) this.peak = active;
    if (!settled) return;
    if (this.attempts > 0) {
      if (heap.youngBytes() > this.target) {
        this.attempts--;
        heap.release();
        return;
      }
      this.attempts = 0;
    }
    if (this.peak < RELEASE_MIN_PEAK || active > this.peak / 2 || now - this.lastAt < RELEASE_MIN_INTERVAL_MS) return;
    this.peak = active;
    this.lastAt = now;
    this.target = Math.max(heap.youngBytes() / 2, YOUNG_LEAST);
    this.attempts = RELEASE_ATTEMPTS - 1;
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

/** This thread's V8 heap for DrainWatch; null without releaseHeap. */
export const v8Heap: HeapControl | null = releaseHeap === null ? null : {
  youngBytes: () => getHeapSpaceStatistics().find((sp) => sp.space_name === 'new_space')?.space_size ?? 0,
  release: releaseHeap,
};
