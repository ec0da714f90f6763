/**
 * Which worker owns a packet's session, readable by every worker without locks.
 *
 * Default owner: a hash of the packet's normalized 5-tuple (both directions agree), modulo the worker
 * count; WAN packets to one of our even waypoint ports belong to the worker whose port slice holds that
 * port. Exceptions (a key whose default owner is not the session's worker: the LAN key of a session the
 * kernel's queue choice put elsewhere, the NATed server side of a session) are entries in one
 * SharedArrayBuffer hash table per worker: written only by that worker (its own keys), read by all.
 *   word 0: version (a seqlock: odd while the writer changes the table)
 *   slot i at 1 + i * SLOT_WORDS: [key words used (0: empty)][key words (KW6)]
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
const READ_TRIES = 64;

export interface SteeringShared {
  /** one table per worker: Int32 words, 1 + capacity * SLOT_WORDS each */
  tables: SharedArrayBuffer[];
  /** slots per table (a power of two) */
  capacity: number;
}

/** At most this many slots per worker's table (4 M: 176 MB of address space, touched as used). */
export const MAX_STEERING_SLOTS = 1 << 22;

/** Tables for `workers` workers, each with room for `entries` keys at half load (a power of two, 16 at least). */
export function createSteering(workers: number, entries = 1 << 17): SteeringShared {
  let cap = 16;
  while (cap < entries * 2 && cap < MAX_STEERING_SLOTS) cap *= 2;
  return { tables: Array.from({ length: workers }, () => new SharedArrayBuffer((1 + cap * SLOT_WORDS) * 4)), capacity: cap };
}

/** Empties worker `index`'s table (the worker host, after that worker's thread ended: nobody writes it). */
export function clearSteering(shared: SteeringShared, index: number): void {
  new Int32Array(shared.tables[index]!).fill(0);
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
  private readonly mask: number;
  /** entries stored now (the writer's count) */
  size = 0;

  constructor(table: SharedArrayBuffer, capacity: number) {
    this.w = new Int32Array(table);
    this.mask = capacity - 1;
  }

  /** Slot of key k (kw words), or -1. No version check: the writer's own view, or inside `has`. */
  private find(k: Uint32Array, kw: number): number {
    const w = this.w;
    let s = hashWords(k, 0, kw) & this.mask;
    for (let probes = 0; probes <= this.mask; probes++) {
      const base = 1 + s * SLOT_WORDS;
      const used = w[base]!;
      if (used === 0) return -1;
      if (used === kw) {
        let i = 0;
        while (i < kw && w[base + 1 + i]! >>> 0 === k[i]) i++;
        if (i === kw) return s;
      }
      s = (s + 1) & this.mask;
    }
    return -1;
  }

  /** True when key k (kw words) is recorded here (any thread). */
  has(k: Uint32Array, kw: number): boolean {
    const w = this.w;
    for (let tries = 0; tries < READ_TRIES; tries++) {
      const v = Atomics.load(w, 0);
      if ((v & 1) !== 0) continue;
      const found = this.find(k, kw) >= 0;
      if (Atomics.load(w, 0) === v) return found;
    }
    return false;
  }

  /** Records key k (the writer); false when the table is full (nothing changed). Recording a key twice is a no-op. */
  insert(k: Uint32Array, kw: number): boolean {
    if (this.find(k, kw) >= 0) return true;
    if (this.size >= this.mask) return false; // keep one slot empty: every probe ends
    const w = this.w;
    let s = hashWords(k, 0, kw) & this.mask;
    while (w[1 + s * SLOT_WORDS] !== 0) s = (s + 1) & this.mask;
    const base = 1 + s * SLOT_WORDS;
    Atomics.add(w, 0, 1); // odd: readers probe again
    for (let i = 0; i < KW6; i++) w[base + 1 + i] = i < kw ? k[i]! | 0 : 0;
    w[base] = kw;
    Atomics.add(w, 0, 1);
    this.size++;
    return true;
  }

  /** Removes key k (the writer): backward shift, so no deleted slot is left behind. */
  remove(k: Uint32Array, kw: number): void {
    let hole = this.find(k, kw);
    if (hole < 0) return;
    const w = this.w;
    Atomics.add(w, 0, 1);
    for (let j = (hole + 1) & this.mask; ; j = (j + 1) & this.mask) {
      const at = 1 + j * SLOT_WORDS;
      const used = w[at]!;
      if (used === 0) break;
      const home = hashWords(w, at + 1, used) & this.mask;
      // the key at j may move to the hole unless its home lies cyclically in (hole, j]
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      w.copyWithin(1 + hole * SLOT_WORDS, at, at + SLOT_WORDS);
      hole = j;
    }
    w[1 + hole * SLOT_WORDS] = 0;
    Atomics.add(w, 0, 1);
    this.size--;
  }
}

/** Default owner of a normalized flow key: a hash of its words without the interface word. */
export function defaultOwner(k: Uint32Array, kw: number, workers: number): number {
  if (workers <= 1) return 0;
  return hashWords(k, 0, kw - 1) % workers; // the last word holds protocol << 16 | ifIndex: keep the protocol only
}
