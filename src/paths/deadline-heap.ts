/**
 * A binary min-heap of slots keyed by a deadline per slot (typed arrays, no allocation once grown): the BFD
 * schedule's next transmissions (bfd-schedule.ts). `fix(slot)` after the slot's key changed; O(log n) each.
 * The keys live in the caller's array (`key()` returns it: it may be replaced when it grows).
 */
export class DeadlineHeap {
  #heap = new Int32Array(0);
  /** heap index of each slot, -1 when not in the heap */
  #pos = new Int32Array(0);
  #size = 0;
  readonly #key: () => Float64Array;

  constructor(key: () => Float64Array) {
    this.#key = key;
  }

  /** Room for slots [0, n). */
  grow(n: number): void {
    if (n <= this.#pos.length) return;
    const heap = new Int32Array(n);
    heap.set(this.#heap);
    const pos = new Int32Array(n).fill(-1);
    pos.set(this.#pos);
    this.#heap = heap;
    this.#pos = pos;
  }

  /** The slot with the earliest deadline, or -1. */
  top(): number {
    return this.#size === 0 ? -1 : this.#heap[0]!;
  }

  /** The earliest deadline (Infinity when empty). */
  earliest(): number {
    return this.#size === 0 ? Infinity : this.#key()[this.#heap[0]!]!;
  }

  has(slot: number): boolean {
    return this.#pos[slot]! >= 0;
  }

  insert(slot: number): void {
    if (this.#pos[slot]! >= 0) return this.fix(slot);
    const i = this.#size++;
    this.#heap[i] = slot;
    this.#pos[slot] = i;
    this.#up(i);
  }

  delete(slot: number): void {
    const i = this.#pos[slot]!;
    if (i < 0) return;
    this.#pos[slot] = -1;
    const last = this.#heap[--this.#size]!;
    if (i === this.#size) return;
    this.#heap[i] = last;
    this.#pos[last] = i;
    this.fix(last);
  }

  /** The slot's deadline changed (either way). */
  fix(slot: number): void {
    const i = this.#pos[slot]!;
    if (i < 0) return;
    if (this.#up(i) === i) this.#down(i);
  }

  #up(i: number): number {
    const h = this.#heap;
    const key = this.#key();
    const s = h[i]!;
    const k = key[s]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent]!;
      if (!(key[p]! > k)) break;
      h[i] = p;
      this.#pos[p] = i;
      i = parent;
    }
    h[i] = s;
    this.#pos[s] = i;
    return i;
  }

  #down(i: number): void {
    const h = this.#heap;
    const key = this.#key();
    const n = this.#size;
    const s = h[i]!;
    const k = key[s]!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && key[h[c + 1]!]! < key[h[c]!]!) c++;
      const child = h[c]!;
      if (!(key[child]! < k)) break;
      h[i] = child;
      this.#pos[child] = i;
      i = c;
    }
    h[i] = s;
    this.#pos[s] = i;
  }
}
