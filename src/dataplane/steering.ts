/**
 * Which worker owns a packet's session, readable by every worker without locks.
 *
 * Default owner: a hash of the packet's normalized 5-tuple (both directions agree), modulo the worker
 * count; WAN packets to one of our even waypoint ports belong to the worker whose port slice holds that
 * port. The LAN keys of sessions (all of them when a new flow is owned where its first packet landed;
 * with SVR_OWN_WHERE_LANDED=0 those whose default owner is not the session's worker: the NATed server side
 * of a session) are entries in one SharedArrayBuffer hash table per worker: written only by that worker (its own keys), read by all.
 *   word 0: version (a seqlock: odd while the writer changes the table)
 *   word 1: slots in use now (a power of two, `cap`)
 *   the table of `cap` slots: slots [cap, 2 cap), slot i at HEADER + i * SLOT_WORDS: [key words used (0: empty)][key words (KW6)]
 * The table grows with its entries: it starts at INITIAL_SLOTS and doubles once half full, up to the
 * capacity (four slots per session of the worker's share). The writer builds the doubled table in its own,
 * untouched part of the buffer while readers go on with the current one, then publishes it (word 1) under
 * the seqlock. A table of the full capacity from the start is not "touched as used": random keys touch
 * every page of it within a few sessions per page (r1 with 2 workers: 1.3-3.4 page faults per new session
 * on a 176 MB table, and that much resident), so the size follows the entries.
 * Linear probing with backward-shift deletion (no tombstones: a removed key's slot is filled by a later
 * key of its cluster that may move there, else emptied), so any churn keeps probes as short as the load
 * allows. A reader takes the version before and after its probe and probes again when it changed (or was
 * odd); it gives up after READ_TRIES (a writer that died mid-change: the default owner decides until the
 * worker host clears the dead worker's table). A full table refuses an insert: the caller refuses the
 * session (counted).
 */
import { KW6 } from './flow-key.js';
import { fmix32 } from './hash.js';

const SLOT_WORDS = 1 + KW6;
const HEADER = 2;
const READ_TRIES = 64;
/** Slots of a table before it grows (45 KB). */
export const INITIAL_SLOTS = 1024;

export interface SteeringShared {
  /** one table per worker: Int32 words, HEADER + 2 * capacity * SLOT_WORDS each (address space; touched as the table grows) */
  tables: SharedArrayBuffer[];
  /** slots a table grows to at most (a power of two) */
  capacity: number;
}

/** At most this many slots per worker's table (4 M: 176 MB when full; 352 MB of address space with the smaller tables before it). */
export const MAX_STEERING_SLOTS = 1 << 22;

const initialSlots = (capacity: number): number => Math.min(capacity, INITIAL_SLOTS);

/** Tables for `workers` workers, each with room for `entries` keys at half load (a power of two, 16 at least). */
export function createSteering(workers: number, entries = 1 << 17): SteeringShared {
  let cap = 16;
  while (cap < entries * 2 && cap < MAX_STEERING_SLOTS) cap *= 2;
  const tables = Array.from({ length: workers }, () => new SharedArrayBuffer((HEADER + 2 * cap * SLOT_WORDS) * 4));
  for (const t of tables) new Int32Array(t)[1] = initialSlots(cap);
  return { tables, capacity: cap };
}

/** Empties worker `index`'s table (the worker host, after that worker's thread ended: nobody writes it). */
export function clearSteering(shared: SteeringShared, index: number): void {
  const w = new Int32Array(shared.tables[index]!);
  const init = initialSlots(shared.capacity);
  w.fill(0, HEADER + init * SLOT_WORDS, HEADER + 2 * init * SLOT_WORDS);
  Atomics.store(w, 1, init);
  Atomics.store(w, 0, (Atomics.load(w, 0) | 1) + 1); // even, and not the version a reader saw before
}

function hashWords(k: ArrayLike<number>, at: number, kw: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < kw; i++) {
    h = Math.imul(h ^ k[at + i]!, 0x01000193);
    h ^= h >>> 15;
  }
  // final avalanche: without it the high bits of a word (the source port) never reach the low bits that
  // pick the worker
  return fmix32(h);
}

/** One worker's table: `insert`/`remove` by its worker only, `has` by any. */
export class SteeringTable {
  private readonly w: Int32Array;
  private readonly capacity: number;
  /** the writer's view of word 1 (readers load it on every probe) */
  private cap: number;
  /** entries stored now (the writer's count) */
  size = 0;

  constructor(table: SharedArrayBuffer, capacity: number) {
    this.w = new Int32Array(table);
    this.capacity = capacity;
    this.cap = Atomics.load(this.w, 1);
  }

  /** Slots in use now (the writer's view). */
  get slots(): number {
    return this.cap;
  }

  /** Slot of key k (kw words) in the table of `cap` slots, or -1. No version check: the writer's own view, or inside `has`. */
  private find(k: Uint32Array, kw: number, cap: number): number {
    const w = this.w;
    const mask = cap - 1;
    let s = hashWords(k, 0, kw) & mask;
    for (let probes = 0; probes <= mask; probes++) {
      const base = HEADER + (cap + s) * SLOT_WORDS;
      const used = w[base]!;
      if (used === 0) return -1;
      if (used === kw) {
        let i = 0;
        while (i < kw && w[base + 1 + i]! >>> 0 === k[i]) i++;
        if (i === kw) return s;
      }
      s = (s + 1) & mask;
    }
    return -1;
  }

  /** True when key k (kw words) is recorded here (any thread). */
  has(k: Uint32Array, kw: number): boolean {
    const w = this.w;
    for (let tries = 0; tries < READ_TRIES; tries++) {
      const v = Atomics.load(w, 0);
      if ((v & 1) !== 0) continue;
      const found = this.find(k, kw, Atomics.load(w, 1)) >= 0;
      if (Atomics.load(w, 0) === v) return found;
    }
    return false;
  }

  /** Records key k (the writer); false when the table is full (nothing changed). Recording a key twice is a no-op. */
  insert(k: Uint32Array, kw: number): boolean {
    if (this.find(k, kw, this.cap) >= 0) return true;
    if (this.size >= this.cap >>> 1 && this.cap < this.capacity) this.grow();
    if (this.size >= this.cap - 1) return false; // keep one slot empty: every probe ends
    const w = this.w;
    const s = this.freeSlot(k, kw, this.cap);
    Atomics.add(w, 0, 1); // odd: readers probe again
    this.put(s, k, 0, kw);
    Atomics.add(w, 0, 1);
    this.size++;
    return true;
  }

  /** First word of the empty slot where key k (kw words, at `at` of `k`) goes in the table of `cap` slots. */
  private freeSlot(k: ArrayLike<number>, kw: number, cap: number, at = 0): number {
    const mask = cap - 1;
    let s = hashWords(k, at, kw) & mask;
    while (this.w[HEADER + (cap + s) * SLOT_WORDS] !== 0) s = (s + 1) & mask;
    return HEADER + (cap + s) * SLOT_WORDS;
  }

  /** Writes key words k[at..at+kw) into the slot at word `base`. */
  private put(base: number, k: ArrayLike<number>, at: number, kw: number): void {
    const w = this.w;
    for (let i = 0; i < KW6; i++) w[base + 1 + i] = i < kw ? k[at + i]! | 0 : 0;
    w[base] = kw;
  }

  /** Doubles the table: its keys rehashed into the next part of the buffer (readers use the current one meanwhile), then published. */
  private grow(): void {
    const w = this.w;
    const old = this.cap;
    const next = old * 2;
    w.fill(0, HEADER + next * SLOT_WORDS, HEADER + 2 * next * SLOT_WORDS); // a cleared table's leftovers
    for (let s = 0; s < old; s++) {
      const at = HEADER + (old + s) * SLOT_WORDS;
      const used = w[at]!;
      if (used !== 0) this.put(this.freeSlot(w, used, next, at + 1), w, at + 1, used);
    }
    Atomics.add(w, 0, 1);
    Atomics.store(w, 1, next);
    Atomics.add(w, 0, 1);
    this.cap = next;
  }

  /** Removes key k (the writer): backward shift, so no deleted slot is left behind. */
  remove(k: Uint32Array, kw: number): void {
    const cap = this.cap;
    let hole = this.find(k, kw, cap);
    if (hole < 0) return;
    const w = this.w;
    const mask = cap - 1;
    const slot = (i: number): number => HEADER + (cap + i) * SLOT_WORDS;
    Atomics.add(w, 0, 1);
    for (let j = (hole + 1) & mask; ; j = (j + 1) & mask) {
      const at = slot(j);
      const used = w[at]!;
      if (used === 0) break;
      const home = hashWords(w, at + 1, used) & mask;
      // the key at j may move to the hole unless its home lies cyclically in (hole, j]
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      w.copyWithin(slot(hole), at, at + SLOT_WORDS);
      hole = j;
    }
    w[slot(hole)] = 0;
    Atomics.add(w, 0, 1);
    this.size--;
  }
}

/** Default owner of a normalized flow key: a hash of its words without the interface word. */
export function defaultOwner(k: Uint32Array, kw: number, workers: number): number {
  if (workers <= 1) return 0;
  return hashWords(k, 0, kw - 1) % workers; // the last word holds protocol << 16 | ifIndex: keep the protocol only
}
