/**
 * Which worker owns a packet's session, readable by every worker without locks.
 *
 * Default owner: a hash of the packet's normalized 5-tuple (both directions agree), modulo the worker
 * count; WAN packets to one of our even waypoint ports belong to the worker whose port slice holds that
 * port. Exceptions (a key whose default owner is not the session's worker: the WAN key of an egress
 * session, the NATed server side of a session) are entries in a SharedArrayBuffer hash table, written
 * only by the owning worker and read by all:
 *   slot = [state:i32][owner:i32][key words (KW6)]   state 0 empty, 1 writing, 2 full, 3 deleted
 * Writers claim a slot with Atomics.compareExchange and publish with Atomics.store (release); readers
 * load the state (acquire) before the key and re-check it after (a seqlock without a sequence number,
 * since a full slot's key never changes until it is deleted).
 */
import { KW6 } from './flow-key.js';
import { fmix32 } from './hash.js';

const EMPTY = 0, WRITING = 1, FULL = 2, DELETED = 3;
const SLOT_WORDS = 2 + KW6;

export interface SteeringShared {
  /** Int32 words: capacity * SLOT_WORDS */
  table: SharedArrayBuffer;
  capacity: number;
}

export function createSteering(capacity = 1 << 18): SteeringShared {
  let cap = 16;
  while (cap < capacity) cap *= 2;
  return { table: new SharedArrayBuffer(cap * SLOT_WORDS * 4), capacity: cap };
}

function hashWords(k: Uint32Array, kw: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < kw; i++) {
    h = Math.imul(h ^ k[i]!, 0x01000193);
    h ^= h >>> 15;
  }
  // final avalanche: without it the high bits of a word (the source port) never reach the low bits that
  // pick the worker
  return fmix32(h);
}

export class SteeringTable {
  private readonly w: Int32Array;
  private readonly mask: number;

  constructor(shared: SteeringShared) {
    this.w = new Int32Array(shared.table);
    this.mask = shared.capacity - 1;
  }

  private same(base: number, k: Uint32Array, kw: number): boolean {
    const w = this.w;
    for (let i = 0; i < kw; i++) if (w[base + 2 + i]! >>> 0 !== k[i]) return false;
    for (let i = kw; i < KW6; i++) if (w[base + 2 + i] !== 0) return false;
    return true;
  }

  /** Owner recorded for key k (kw words), or -1. */
  lookup(k: Uint32Array, kw: number): number {
    const w = this.w;
    let s = hashWords(k, kw) & this.mask;
    for (let probes = 0; probes <= this.mask; probes++) {
      const base = s * SLOT_WORDS;
      const st = Atomics.load(w, base);
      if (st === EMPTY) return -1;
      if (st === FULL && this.same(base, k, kw)) {
        const owner = w[base + 1]!;
        if (Atomics.load(w, base) === FULL) return owner;
      }
      s = (s + 1) & this.mask;
    }
    return -1;
  }

  /** Records `owner` for key k; false when the table is full. An existing entry for k is updated in place
   *  (the probe goes on past deleted slots so a key is never recorded twice). */
  insert(k: Uint32Array, kw: number, owner: number): boolean {
    const w = this.w;
    let s = hashWords(k, kw) & this.mask;
    let free = -1;
    for (let probes = 0; probes <= this.mask; probes++) {
      const base = s * SLOT_WORDS;
      const st = Atomics.load(w, base);
      if (st === FULL && this.same(base, k, kw)) {
        Atomics.store(w, base + 1, owner);
        return true;
      }
      if (st === DELETED && free < 0) free = base;
      if (st === EMPTY) {
        if (free < 0) free = base;
        break;
      }
      s = (s + 1) & this.mask;
    }
    if (free < 0) return false;
    const st = Atomics.load(w, free);
    // one writer per key (its owner); another owner's writer may take this slot first: probe again
    if ((st !== EMPTY && st !== DELETED) || Atomics.compareExchange(w, free, st, WRITING) !== st) return this.insert(k, kw, owner);
    w[free + 1] = owner;
    for (let i = 0; i < KW6; i++) w[free + 2 + i] = i < kw ? k[i]! | 0 : 0;
    Atomics.store(w, free, FULL);
    return true;
  }

  /** Removes key k if it is recorded for `owner` (only the owner deletes its entries). */
  remove(k: Uint32Array, kw: number, owner: number): void {
    const w = this.w;
    let s = hashWords(k, kw) & this.mask;
    for (let probes = 0; probes <= this.mask; probes++) {
      const base = s * SLOT_WORDS;
      const st = Atomics.load(w, base);
      if (st === EMPTY) return;
      if (st === FULL && this.same(base, k, kw) && w[base + 1] === owner) {
        Atomics.store(w, base, DELETED);
        return;
      }
      s = (s + 1) & this.mask;
    }
  }
}

/** Default owner of a normalized flow key: a hash of its words without the interface word. */
export function defaultOwner(k: Uint32Array, kw: number, workers: number): number {
  if (workers <= 1) return 0;
  return hashWords(k, kw - 1) % workers; // the last word holds protocol << 16 | ifIndex: keep the protocol only
}
