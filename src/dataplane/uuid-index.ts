/**
 * Session id -> row, storing only the row (4 bytes a slot): a probe compares the id with the row's own
 * uuid column instead of a copy of the key, which saved 33 bytes per session against a FlowTable
 * (docs/performance.md, memory). Open addressing, linear probing, backward-shift deletion, doubling when
 * 3/4 full. The column is read through `ids()` because the session table replaces it when it grows.
 */
import { fmix32 } from './hash.js';

export class UuidIndex {
  /** the id being looked up (4 big-endian words); write it, then call get() */
  readonly key = new Uint32Array(4);
  private rows: Int32Array;
  private mask: number;
  size = 0;

  constructor(private readonly ids: () => Uint32Array, initialCapacity = 4096) {
    let cap = 16;
    while (cap < initialCapacity) cap *= 2;
    this.rows = new Int32Array(cap).fill(-1);
    this.mask = cap - 1;
  }

  get bytes(): number {
    return this.rows.byteLength;
  }

  private static hash(a: number, b: number, c: number, d: number): number {
    return fmix32(Math.imul(a ^ Math.imul(b ^ Math.imul(c ^ fmix32(d), 0x85ebca6b), 0xc2b2ae35), 0x27d4eb2f));
  }

  private homeOfRow(row: number, ids: Uint32Array): number {
    const o = row * 4;
    return UuidIndex.hash(ids[o]!, ids[o + 1]!, ids[o + 2]!, ids[o + 3]!) & this.mask;
  }

  /** Row whose id is `key`, or -1. */
  get(): number {
    const ids = this.ids();
    const k = this.key;
    let s = UuidIndex.hash(k[0]!, k[1]!, k[2]!, k[3]!) & this.mask;
    for (;;) {
      const r = this.rows[s]!;
      if (r === -1) return -1;
      const o = r * 4;
      if (ids[o] === k[0] && ids[o + 1] === k[1] && ids[o + 2] === k[2] && ids[o + 3] === k[3]) return r;
      s = (s + 1) & this.mask;
    }
  }

  /** Indexes `row` by its id in the column (an older row with the same id is replaced). */
  add(row: number): void {
    if ((this.size + 1) * 4 > (this.mask + 1) * 3) this.grow();
    const ids = this.ids();
    const o = row * 4;
    let s = this.homeOfRow(row, ids);
    for (;;) {
      const r = this.rows[s]!;
      if (r === -1) break;
      const p = r * 4;
      if (r === row || (ids[p] === ids[o] && ids[p + 1] === ids[o + 1] && ids[p + 2] === ids[o + 2] && ids[p + 3] === ids[o + 3])) {
        this.rows[s] = row;
        return;
      }
      s = (s + 1) & this.mask;
    }
    this.rows[s] = row;
    this.size++;
  }

  /** Removes `row` (call before its id column changes). */
  remove(row: number): void {
    const ids = this.ids();
    let s = this.homeOfRow(row, ids);
    for (;;) {
      const r = this.rows[s]!;
      if (r === -1) return;
      if (r === row) break;
      s = (s + 1) & this.mask;
    }
    let hole = s;
    let j = s;
    for (;;) {
      j = (j + 1) & this.mask;
      const r = this.rows[j]!;
      if (r === -1) break;
      const home = this.homeOfRow(r, ids);
      // move j into the hole when its home is not in (hole, j] (cyclically)
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!inRange) {
        this.rows[hole] = r;
        hole = j;
      }
    }
    this.rows[hole] = -1;
    this.size--;
  }

  private grow(): void {
    const old = this.rows;
    this.rows = new Int32Array(old.length * 2).fill(-1);
    this.mask = old.length * 2 - 1;
    this.size = 0;
    for (const r of old) if (r !== -1) this.add(r);
  }
}
