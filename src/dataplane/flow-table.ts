/**
 * Open-addressing hash table from fixed-width flow keys (KW u32 words) to a flow value (< 2^26), in one
 * Uint32Array of slots: linear probing, backward-shift deletion (no tombstones), doubling when 3/4 full.
 * A slot holds only the value, which of its row's keys it is (`which`) and 3 bits of the key's hash; the
 * key words stay where the row keeps them (FlowKeys, the session table's key columns): a probe whose hash
 * bits match compares the key there (like uuid-index.ts). 4 bytes a slot instead of 4 * (KW + 1): at
 * 2 keys a session and a 3/8-3/4 full table, 11-21 bytes a session instead of 53-107 (IPv4).
 * Store a key where FlowKeys finds it before set(), and remove it from there only after delete().
 * Empty slots are 0, so the pages of a new table stay untouched (not resident) until used.
 * The caller writes the key into `key` (a scratch Uint32Array of KW words) and calls get/set/delete.
 */

/** Where the keys of the values in a table are: `keyArray` returns the array holding key `which` of the
 *  value's row and sets `keyOffset` to its first word. */
export interface FlowKeys {
  keyOffset: number;
  keyArray(value: number, which: number): Uint32Array;
}

const VALUE_MASK = (1 << 26) - 1;
const WHICH_SHIFT = 26;
const WHICH_MASK = 7;
const TAG_SHIFT = 29;

/** Hash bits kept in a slot, from the top byte (the slot index uses the low bits): 1..7, never 0, so a
 *  used slot is never 0. */
const tagOf = (h: number): number => 1 + (((h >>> 24) * 7) >>> 8);

export class FlowTable {
  readonly key: Uint32Array;
  private slots: Uint32Array;
  private mask: number;
  size = 0;

  constructor(readonly kw: number, private readonly keys: FlowKeys, initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity) cap *= 2;
    this.key = new Uint32Array(kw);
    this.slots = new Uint32Array(cap);
    this.mask = cap - 1;
  }

  get capacity(): number {
    return this.mask + 1;
  }

  /** Bytes held by the table's arrays. */
  get bytes(): number {
    return this.slots.byteLength;
  }

  private hash(k: Uint32Array, ko: number): number {
    let h = 0x9e3779b9;
    for (let i = 0; i < this.kw; i++) {
      h = Math.imul(h ^ k[ko + i]!, 0x85ebca6b);
      h ^= h >>> 13;
    }
    h = Math.imul(h ^ (h >>> 16), 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 0;
  }

  /** The hash of the key slot content `s` stands for (read where the row keeps it). */
  private hashOfSlot(s: number): number {
    const a = this.keys.keyArray(s & VALUE_MASK, (s >>> WHICH_SHIFT) & WHICH_MASK);
    return this.hash(a, this.keys.keyOffset);
  }

  private keyMatches(s: number): boolean {
    const a = this.keys.keyArray(s & VALUE_MASK, (s >>> WHICH_SHIFT) & WHICH_MASK);
    const o = this.keys.keyOffset;
    for (let i = 0; i < this.kw; i++) if (a[o + i] !== this.key[i]) return false;
    return true;
  }

  /** Slot of `key`, or -1 (h: its hash). */
  private find(h: number): number {
    const tag = tagOf(h);
    let i = h & this.mask;
    for (;;) {
      const s = this.slots[i]!;
      if (s === 0) return -1;
      if (s >>> TAG_SHIFT === tag && this.keyMatches(s)) return i;
      i = (i + 1) & this.mask;
    }
  }

  /** Value stored for `key`, or -1. */
  get(): number {
    const i = this.find(this.hash(this.key, 0));
    return i < 0 ? -1 : this.slots[i]! & VALUE_MASK;
  }

  /** Stores `value` (0 <= value < 2^26) for `key` (key `which` of the value's row in FlowKeys), replacing
   *  an existing value. */
  set(value: number, which: number): void {
    if ((this.size + 1) * 4 > this.capacity * 3) this.grow();
    const h = this.hash(this.key, 0);
    const slot = ((tagOf(h) << TAG_SHIFT) | (which << WHICH_SHIFT) | value) >>> 0;
    const found = this.find(h);
    if (found >= 0) {
      this.slots[found] = slot;
      return;
    }
    let i = h & this.mask;
    while (this.slots[i] !== 0) i = (i + 1) & this.mask;
    this.slots[i] = slot;
    this.size++;
  }

  /** Removes `key`; returns its value or -1. Backward-shift keeps probe chains intact. */
  delete(): number {
    const s = this.find(this.hash(this.key, 0));
    if (s < 0) return -1;
    const removed = this.slots[s]! & VALUE_MASK;
    let hole = s;
    let j = s;
    for (;;) {
      j = (j + 1) & this.mask;
      const v = this.slots[j]!;
      if (v === 0) break;
      const home = this.hashOfSlot(v) & this.mask;
      // move j into the hole when its home is not in (hole, j] (cyclically)
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!inRange) {
        this.slots[hole] = v;
        hole = j;
      }
    }
    this.slots[hole] = 0;
    this.size--;
    return removed;
  }

  private grow(): void {
    const old = this.slots;
    const cap = this.capacity * 2;
    this.slots = new Uint32Array(cap);
    this.mask = cap - 1;
    for (let j = 0; j < old.length; j++) {
      const v = old[j]!;
      if (v === 0) continue;
      let i = this.hashOfSlot(v) & this.mask;
      while (this.slots[i] !== 0) i = (i + 1) & this.mask;
      this.slots[i] = v;
    }
  }
}
