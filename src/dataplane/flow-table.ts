/**
 * Open-addressing hash table from fixed-width keys (KW u32 words) to a value (< 2^26): linear probing,
 * backward-shift deletion. A slot (a u32) holds only the value, which of its row's keys it is (`which`) and
 * 3 bits of the key's hash; the key words stay where the row keeps them (FlowKeys: the session table's key
 * columns, or its session-id column). Beside each slot a byte says how far its entry sits from its home slot
 * (low 5 bits; DIST_FAR: 31 or more) and, in its top 3 bits, up to 2 hash bits above the home's (`hint`): a
 * doubling takes the new home's bit from there, not from the key (a row read, a cache miss each: ~2/3 of
 * `migrate`'s samples in the sessions case, docs/performance.md wave 21, sess13). A probe reads a key from its
 * row only where the hash bits and the distance match (0.39 rows read per missing key at 61 % full with the
 * hash bits alone), and a delete's backward shift and a halving find the following entries' homes without
 * reading their keys (a cache miss each: the shift read ~2 a delete at half full; 1.7 against 1.0 µs of table
 * work per session, bench in docs/performance.md wave 15).
 * 5 bytes a slot instead of 4 * (KW + 1): at 2 keys a session and a 3/8-3/4 full table, 13-27 bytes a
 * session instead of 53-107 (IPv4). The slots and their distance bytes share one buffer in groups of 4 (4 slot
 * words, then a word of their 4 distance bytes: `cell`, `distAt`), so a slot and its distance byte share a cache
 * line (with two arrays an insert's byte pulled in a second line: inserts 5-10 % cheaper in a 2^20-slot steady state;
 * deletes unchanged, bound by the slot's own miss and its page's TLB miss: docs/performance.md wave 22, sus14).
 * Store a key where FlowKeys finds it before set(), and remove it from there only after delete(). Empty
 * slots are 0, so the pages of a new table stay untouched until used.
 * Resizing is incremental: past 3/4 full the table doubles, below 3/16 (and above its first size) it halves;
 * the entries move from the old slots to the new a few per set/delete (MOVE_PER_WRITE) and `migrate(n)`
 * between batches, so no single call rehashes the table (1 M keys took 0.3-4 s in one call). Meanwhile a
 * lookup that misses in the new slots looks in the old, whose deletions leave a tombstone (no shift: the
 * entries not moved yet stay in place).
 * A slot buffer of 64 Ki slots and more is reserved memory (row-memory.ts): the old one's pages are given
 * back as soon as its entries have moved (not left in the allocator's heap, nor waiting for a collection).
 * The caller writes the key into `key` (a scratch Uint32Array of KW words) and calls get/set/delete.
 * A miss is kept (the empty slot that ended its probe, the hash, the key): a set/add of the same key right
 * after places it there without a second probe, and `get(memo)` answers a key kept in memo entry `memo`
 * without a probe. A kept miss holds while no entry was deleted or moved (`shape`) and its empty slot is still
 * empty: an insert fills only empty slots, and the same key's insert would have filled that one.
 */
import { rowMemory } from './row-memory.js';

/** The zeroed buffer of `cap` slots and their distance bytes, 5 bytes a slot; from HUGE_FROM slots on in 2 MiB
 *  pages where the kernel gives them (hashing spreads the entries over every page, so they cost no memory). */
function slotBuffer(cap: number): ArrayBuffer {
  return reserved(cap) ? rowMemory!.reserve(cap * 5, cap >= HUGE_FROM) : new ArrayBuffer(cap * 5);
}

/** Slots from which the buffer asks for huge pages: 2.5 MiB (a 1 M-session table's 4 Mi v4 slots are 20 MiB, 5,120
 *  pages of 4 KiB, more than the TLB holds: a random slot's page missed it). */
const HUGE_FROM = 1 << 19;

/** Slot i's word in a group-of-4 buffer (4 slots, then their 4 distance bytes): (i >>> 2) * 5 + (i & 3). */
const cell = (i: number): number => i + (i >>> 2);
/** Slot i's distance byte in the same buffer. */
const distAt = (i: number): number => (i >>> 2) * 20 + 16 + (i & 3);

const reserved = (cap: number): boolean => rowMemory !== null && cap >= 1 << 16;

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
/** an old slot whose entry was deleted while the table resizes (no key has which 7) */
const TOMB = 0xffffffff;
/** a slot's distance from its entry's home when it is this far or more (then read from its key); the distance
 *  byte's low bits */
const DIST_FAR = 31;
/** the distance byte's top 3 bits: the hint, the hash bits above the home slot's that are known, as
 *  (1 << known) | bits (known 0..2, the lowest first); 0 or 1: none */
const HINT_SHIFT = 5;
const HINT_FULL = 4;
/** old slots moved per set or delete while resizing: done long before the next resize is due */
const MOVE_PER_WRITE = 8;

/** Misses kept for get(memo): a caller's own numbering (a batch slot), taken modulo this */
const MISS_MEMOS = 256;

/** Hash bits kept in a slot, from the top byte (the slot index uses the low bits): 1..7, never 0, so a
 *  used slot is never 0. */
const tagOf = (h: number): number => 1 + (((h >>> 24) * 7) >>> 8);

/** The hash of the kw-word key at k[ko]: its home slot is the low bits. */
export function flowHash(k: Uint32Array, ko: number, kw: number): number {
  let h = 0x9e3779b9;
  for (let i = 0; i < kw; i++) {
    h = Math.imul(h ^ k[ko + i]!, 0x85ebca6b);
    h ^= h >>> 13;
  }
  h = Math.imul(h ^ (h >>> 16), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class FlowTable {
  readonly key: Uint32Array;
  /** The fields a resize writes start as an empty table that the constructor resizes, so that each is written
   *  twice before any code is optimized: V8 takes a field written once for a constant, and its first change
   *  (the first resize) dropped the optimized code that relied on it (docs/performance.md wave 20, deopt). */
  /** the slot words (slot i at cell(i)) */
  private slots: Uint32Array = new Uint32Array(0);
  /** the same buffer's bytes: at distAt(i) how far slot i's entry is from its home slot (DIST_FAR: at least that
   *  far) and its hint, unset when empty */
  private dist: Uint8Array = new Uint8Array(0);
  private mask = -1;
  /** log2 of the capacity: the first hash bit above the home slot's */
  private bits = 0;
  /** the slots being moved from while resizing (empty otherwise), their distances (the same buffer), mask, and how
   *  many are moved */
  private old: Uint32Array = new Uint32Array(0);
  private oldDist: Uint8Array = new Uint8Array(0);
  private oldMask = 0;
  private moved = -1;
  private readonly minCapacity: number;
  size = 0;
  /** [0]: sets and deletes so far: a lookup remembered at one count still holds while it has not moved (a word
   *  native/tun-pass.c reads: native-receive.ts) */
  readonly changeWord = new Uint32Array(1);
  get changes(): number {
    return this.changeWord[0]!;
  }
  /** deletes and resizes so far: a kept miss holds while this has not moved */
  private shape = 0;
  /** the last miss (get): its empty slot (-1: none), hash, shape and key */
  private missSlot = -1;
  private missHash = 0;
  private missShape = 0;
  private readonly missKey: Uint32Array;
  /** misses kept by get(memo), MISS_MEMOS entries: slot (-1: none), hash, shape, key */
  private memoSlot: Int32Array | null = null;
  private memoHash: Uint32Array | null = null;
  private memoShape: Uint32Array | null = null;
  private memoKey: Uint32Array | null = null;

  constructor(readonly kw: number, private readonly keys: FlowKeys, initialCapacity = 1024) {
    let cap = 16;
    while (cap < initialCapacity) cap *= 2;
    this.minCapacity = cap;
    this.key = new Uint32Array(kw);
    this.missKey = new Uint32Array(kw);
    this.startResize(cap); // from the empty table: nothing to move
  }

  get capacity(): number {
    return this.mask + 1;
  }

  /** Bytes held by the table's arrays. */
  get bytes(): number {
    return this.slots.byteLength + this.old.byteLength; // dist and oldDist view the same buffers
  }

  /** true while entries move to a resized table */
  get resizing(): boolean {
    return this.old.length > 0;
  }

  private hash(k: Uint32Array, ko: number): number {
    return flowHash(k, ko, this.kw);
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

  /** Slot of `key` in `slots` (distances `dist`, mask `mask`), or ~e (negative) where e is the empty slot that
   *  ended the probe (h: its hash). A slot's key is read only when its hash bits match and it sits as far from
   *  its home as this slot from the key's (fewer of the tag's false matches: 1 in 7 of the slots probed read a
   *  row's key otherwise). */
  private find(slots: Uint32Array, dist: Uint8Array, mask: number, h: number): number {
    const tag = tagOf(h);
    let i = h & mask;
    for (let d = 0; ; d++) {
      const s = slots[cell(i)]!;
      if (s === 0) return ~i;
      if (s !== TOMB && s >>> TAG_SHIFT === tag && (dist[distAt(i)]! & DIST_FAR) === Math.min(d, DIST_FAR) && this.keyMatches(s)) return i;
      i = (i + 1) & mask;
    }
  }

  /** Value stored for `key`, or -1. `memo` (>= 0): the miss is kept in memo entry memo % MISS_MEMOS, and a
   *  miss kept there for this key that still holds answers without a probe (the second look of a packet that
   *  missed one stage earlier). */
  get(memo = -1): number {
    if (memo >= 0 && this.memoSlot !== null && this.recall(memo & (MISS_MEMOS - 1))) return -1;
    return this.probe(this.hash(this.key, 0), memo);
  }

  /** get(memo) for a key whose hash (`keyHash`) was taken before, with the others of its batch, and its home
   *  slot loaded (`touch`). */
  getHashed(h: number, memo: number): number {
    if (memo >= 0 && this.memoSlot !== null && this.recall(memo & (MISS_MEMOS - 1))) return -1;
    return this.probe(h, memo);
  }

  /** The hash of `key`, for getHashed and touch. */
  keyHash(): number {
    return this.hash(this.key, 0);
  }

  /** Loads the home slot of hash h and its distance byte (in the next line for 10 of 64 slots): a batch's loads,
   *  issued one after the other with nothing depending on them, run side by side, so its look-ups then find their
   *  lines in cache instead of missing one at a time. Returns the two xored (the caller keeps it somewhere so the
   *  loads are not dropped). */
  touch(h: number): number {
    const i = h & this.mask;
    return this.slots[cell(i)]! ^ this.dist[distAt(i)]!;
  }

  private probe(h: number, memo: number): number {
    const i = this.find(this.slots, this.dist, this.mask, h);
    if (i >= 0) return this.slots[cell(i)]! & VALUE_MASK;
    if (this.old.length === 0) {
      this.keepMiss(~i, h);
      if (memo >= 0) this.memoize(memo & (MISS_MEMOS - 1));
      return -1;
    }
    const j = this.find(this.old, this.oldDist, this.oldMask, h);
    return j < 0 ? -1 : this.old[cell(j)]! & VALUE_MASK;
  }

  private keepMiss(slot: number, h: number): void {
    this.missSlot = slot;
    this.missHash = h;
    this.missShape = this.shape;
    this.missKey.set(this.key);
  }

  /** Whether the last miss still holds for `key`: then it is where the key goes. */
  private missHolds(): boolean {
    if (this.missSlot < 0 || this.missShape !== this.shape || this.slots[cell(this.missSlot)] !== 0) return false;
    for (let w = 0; w < this.kw; w++) if (this.missKey[w] !== this.key[w]) return false;
    return true;
  }

  /** Keeps the last miss in memo entry m. */
  private memoize(m: number): void {
    if (this.memoSlot === null) {
      this.memoSlot = new Int32Array(MISS_MEMOS).fill(-1);
      this.memoHash = new Uint32Array(MISS_MEMOS);
      this.memoShape = new Uint32Array(MISS_MEMOS);
      this.memoKey = new Uint32Array(MISS_MEMOS * this.kw);
    }
    this.memoSlot[m] = this.missSlot;
    this.memoHash![m] = this.missHash;
    this.memoShape![m] = this.missShape;
    this.memoKey!.set(this.key, m * this.kw);
  }

  /** Whether memo entry m kept a miss of `key` that still holds (then it is the last miss again). */
  private recall(m: number): boolean {
    const slot = this.memoSlot![m]!;
    if (slot < 0 || this.memoShape![m] !== this.shape || this.old.length > 0 || this.slots[cell(slot)] !== 0) return false;
    const at = m * this.kw;
    for (let w = 0; w < this.kw; w++) if (this.memoKey![at + w] !== this.key[w]) return false;
    this.keepMiss(slot, this.memoHash![m]!);
    return true;
  }

  /** Stores `value` (0 <= value < 2^26) for `key` (key `which` of the value's row in FlowKeys), replacing
   *  an existing value. */
  set(value: number, which: number): void {
    this.put(value, which, true);
  }

  /** Stores `value` for `key` when the key is absent, in one probe (get then set took two): -1, or the value
   *  the key has (then it keeps it). */
  add(value: number, which: number): number {
    return this.put(value, which, false);
  }

  private put(value: number, which: number, replace: boolean): number {
    this.changeWord[0]++;
    if (this.old.length > 0) this.migrate(MOVE_PER_WRITE);
    if ((this.size + 1) * 4 > this.capacity * 3) { // (while halving only after many inserts: the rest moves first)
      if (this.old.length > 0) this.migrate(this.old.length);
      this.startResize(this.capacity * 2);
    }
    if (this.missHolds()) { // the key's probe just missed: its empty slot is where it goes
      const h = this.missHash;
      const i = this.missSlot;
      this.missSlot = -1;
      this.slots[cell(i)] = ((tagOf(h) << TAG_SHIFT) | (which << WHICH_SHIFT) | value) >>> 0;
      this.dist[distAt(i)] = (this.hintOf(h) << HINT_SHIFT) | Math.min(DIST_FAR, (i - (h & this.mask)) & this.mask);
      this.size++;
      return -1;
    }
    const h = this.hash(this.key, 0);
    const slot = ((tagOf(h) << TAG_SHIFT) | (which << WHICH_SHIFT) | value) >>> 0;
    const found = this.find(this.slots, this.dist, this.mask, h);
    if (found >= 0) {
      const had = this.slots[cell(found)]! & VALUE_MASK;
      if (replace) this.slots[cell(found)] = slot;
      return had;
    }
    if (this.old.length > 0) { // not moved yet: it moves now
      const j = this.find(this.old, this.oldDist, this.oldMask, h);
      if (j >= 0) {
        if (!replace) return this.old[cell(j)]! & VALUE_MASK;
        this.old[cell(j)] = TOMB;
        this.size--;
      }
    }
    this.place(slot, h & this.mask, this.hintOf(h));
    this.size++;
    return -1;
  }

  /** The hint of hash h in the current slots: its 2 bits above the home slot's. */
  private hintOf(h: number): number {
    return HINT_FULL | ((h >>> this.bits) & 3);
  }

  /** Puts `slot` in the first empty slot from `home`, with its hint. */
  private place(slot: number, home: number, hint: number): void {
    let i = home;
    while (this.slots[cell(i)] !== 0) i = (i + 1) & this.mask;
    this.slots[cell(i)] = slot;
    this.dist[distAt(i)] = (hint << HINT_SHIFT) | Math.min(DIST_FAR, (i - home) & this.mask);
  }

  /** Removes `key`; returns its value or -1. */
  delete(): number {
    return this.deleteIf(0, 0);
  }

  /** Removes `key` when its value v has (v & mask) === value, in one probe (a get then a delete took two):
   *  returns v, or -1 when the key is absent or its value does not match (then kept). */
  deleteIf(value: number, mask: number): number {
    this.changeWord[0]++;
    const h = this.hash(this.key, 0);
    const s = this.find(this.slots, this.dist, this.mask, h);
    let removed = -1;
    if (s >= 0) {
      removed = this.slots[cell(s)]! & VALUE_MASK;
      if ((removed & mask) !== value) return -1;
      this.shiftBack(s);
    } else if (this.old.length > 0) {
      const j = this.find(this.old, this.oldDist, this.oldMask, h);
      if (j < 0) return -1;
      removed = this.old[cell(j)]! & VALUE_MASK;
      if ((removed & mask) !== value) return -1;
      this.old[cell(j)] = TOMB;
    } else return -1;
    this.shape++; // an empty slot may open inside a kept miss's probe
    this.size--;
    if (this.old.length > 0) this.migrate(MOVE_PER_WRITE);
    else if (this.capacity > this.minCapacity && this.size * 16 < this.capacity * 3) this.startResize(this.capacity / 2);
    return removed;
  }

  /** Empties slot s of the new slots, moving back the entries after it whose home is not after it (their
   *  homes from the distance bytes: no key read unless DIST_FAR). */
  private shiftBack(s: number): void {
    const mask = this.mask;
    let hole = s;
    let j = s;
    for (;;) {
      j = (j + 1) & mask;
      const v = this.slots[cell(j)]!;
      if (v === 0) break;
      const m = this.dist[distAt(j)]!;
      const d = m & DIST_FAR;
      const home = d === DIST_FAR ? this.hashOfSlot(v) & mask : (j - d) & mask;
      // move j into the hole when its home is not in (hole, j] (cyclically)
      const inRange = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!inRange) {
        this.slots[cell(hole)] = v;
        this.dist[distAt(hole)] = (m & ~DIST_FAR) | Math.min(DIST_FAR, (hole - home) & mask);
        hole = j;
      }
    }
    this.slots[cell(hole)] = 0;
  }

  private startResize(cap: number): void {
    this.shape++;
    this.old = this.slots;
    this.oldDist = this.dist;
    this.oldMask = this.mask;
    this.moved = 0;
    const b = slotBuffer(cap);
    this.slots = new Uint32Array(b);
    this.dist = new Uint8Array(b);
    this.mask = cap - 1;
    this.bits = 31 - Math.clz32(cap);
  }

  /** Moves up to `budget` old slots to the new ones (call between batches); true while some are left. */
  migrate(budget: number): boolean {
    const old = this.old;
    if (old.length === 0) return false;
    // halving: the new home is the old one's low bits, its top bit joins the hint; doubling: the hint's lowest
    // bit is the new home's top one (no key read unless DIST_FAR or the hint is used up)
    const halving = this.mask < this.oldMask;
    const topBit = 1 << (this.bits - (halving ? 0 : 1));
    const oldCap = this.oldMask + 1;
    const end = Math.min(oldCap, this.moved + budget);
    for (let j = this.moved; j < end; j++) {
      const v = old[cell(j)]!;
      if (v === 0 || v === TOMB) continue;
      const m = this.oldDist[distAt(j)]!;
      const d = m & DIST_FAR;
      const hint = m >>> HINT_SHIFT;
      if (d === DIST_FAR || (!halving && hint < 2)) {
        const h = this.hashOfSlot(v);
        this.place(v, h & this.mask, this.hintOf(h));
      } else {
        const home = (j - d) & this.oldMask;
        if (halving) {
          const up = ((hint < 2 ? 1 : hint) << 1) | (home & topBit ? 1 : 0); // one bit more known, the lowest (at most 2 kept)
          this.place(v, home & this.mask, up >= 8 ? HINT_FULL | (up & 3) : up);
        } else this.place(v, home | (hint & 1 ? topBit : 0), hint >>> 1);
      }
      old[cell(j)] = TOMB; // found in the new slots from now on (a later delete there must not leave this copy)
    }
    this.moved = end;
    if (end < oldCap) return true;
    if (reserved(oldCap)) rowMemory!.release(old.buffer, 0, old.byteLength);
    this.old = new Uint32Array(0);
    this.oldDist = new Uint8Array(0);
    return false;
  }
}
