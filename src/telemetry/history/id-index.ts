/**
 * Which blocks of the history hold a session id, without a key per record: one Bloom filter per block
 * (`f/<S>`, written in the block's batch; BITS_PER_ID bits and PROBES probes per id: about 1 % false
 * positives), all of them in memory (some 1.3 bytes per record: 1 GiB of history at ~150 bytes a record is
 * ~9 MB), loaded at open. `svr inspect session <id>` tests the filters newest first and decodes only the
 * blocks that may hold the id; a query asks whether a later record replaced an interim one the same way.
 * Format 5 hashes a UUID's 16 bytes as the block holds them (uuidHashes: four words mixed, at the block's close,
 * with no id text), other ids their text; the blocks before the history's `indexFrom` were hashed by their text
 * (idHashes: 72 multiplies a UUID).
 */
import { uuidBytes } from './keys.js';

export const BITS_PER_ID = 10;
export const PROBES = 7;

/** Two 32-bit hashes of an id (FNV-1a, and FNV-1a of the reversed string), for double hashing: into `out` at `at`. */
export function idHashes(id: string, out: Uint32Array, at: number): void {
  let a = 0x811c9dc5;
  let b = 0x811c9dc5;
  for (let i = 0, j = id.length - 1; i < id.length; i++, j--) {
    a = Math.imul(a ^ id.charCodeAt(i), 0x01000193);
    b = Math.imul(b ^ id.charCodeAt(j), 0x01000193);
  }
  out[at] = a;
  out[at + 1] = b | 1;
}

/** murmur3's finalizer: every bit of `h` moves every bit of the result */
function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Two 32-bit hashes of a UUID's 16 bytes at `at` of `b` (format 5), for double hashing: into `out` at `outAt`. */
export function uuidHashes(b: Uint8Array, at: number, out: Uint32Array, outAt: number): void {
  let x = 0x9747b28c;
  let y = 0x2545f491;
  for (let i = at; i < at + 16; i += 4) {
    const w = (b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!;
    x = Math.imul(x ^ w, 0xcc9e2d51);
    x = (x << 13) | (x >>> 19);
    y = Math.imul(y + w, 0x1b873593) ^ (y >>> 15);
  }
  out[outAt] = fmix(x);
  out[outAt + 1] = fmix(y) | 1;
}

const h = new Uint32Array(2);
const uuid = new Uint8Array(16);

/** An id's hashes as a block of format 5 puts them in its filter (uuidHashes of a UUID, idHashes of another id): into `h`. */
function hashesV5(id: string): void {
  if (uuidBytes(id, uuid, 0)) uuidHashes(uuid, 0, h, 0);
  else idHashes(id, h, 0);
}

/** A block's filter over its rows' ids, hashed by their text (before format 5: a format-2 history's blocks converted). */
export function buildFilter(ids: readonly string[]): Uint8Array {
  const all = new Uint32Array(ids.length * 2);
  for (let i = 0; i < ids.length; i++) idHashes(ids[i]!, all, i * 2);
  return filterOf(all, ids.length);
}

/** A block's filter over `n` ids, their idHashes pairs in `hashes` (the same bytes as buildFilter of the ids). */
export function filterOf(hashes: Uint32Array, n: number): Uint8Array {
  const bits = Math.max(64, n * BITS_PER_ID);
  const out = new Uint8Array(Math.ceil(bits / 8));
  const m = out.length * 8;
  for (let i = 0; i < n; i++) {
    const h0 = hashes[i * 2]!;
    const h1 = hashes[i * 2 + 1]!;
    for (let k = 0; k < PROBES; k++) {
      const bit = ((h0 + Math.imul(k, h1)) >>> 0) % m;
      out[bit >>> 3]! |= 1 << (bit & 7);
    }
  }
  return out;
}

/** False when `id` is surely not in the filter's block; `textHashed`: a block before format 5 (idHashes of the text). */
export function mayHold(filter: Uint8Array, id: string, textHashed = false): boolean {
  if (textHashed) idHashes(id, h, 0);
  else hashesV5(id);
  return probe(filter);
}

/** Whether every bit of the hashes in `h` is set in `filter`. */
function probe(filter: Uint8Array): boolean {
  const m = filter.length * 8;
  for (let k = 0; k < PROBES; k++) {
    const bit = ((h[0]! + Math.imul(k, h[1]!)) >>> 0) % m;
    if ((filter[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
  }
  return true;
}

/** The filters of the history's blocks by batch seq (ascending: batches are written in order); those below `indexFrom` hashed by text. */
export class IdIndex {
  private seqs: number[] = [];
  private readonly filters = new Map<number, Uint8Array>();

  constructor(private indexFrom: number) {}

  /** From `seq` on, filters of format 5 (a history converted). */
  setIndexFrom(seq: number): void {
    this.indexFrom = seq;
  }

  add(seq: number, filter: Uint8Array): void {
    if (this.seqs.length > 0 && seq <= this.seqs[this.seqs.length - 1]!) {
      this.seqs.push(seq);
      this.seqs.sort((x, y) => x - y);
    } else this.seqs.push(seq);
    this.filters.set(seq, filter);
  }

  remove(seq: number): void {
    if (!this.filters.delete(seq)) return;
    const i = this.seqs.indexOf(seq);
    if (i >= 0) this.seqs.splice(i, 1);
  }

  /** Blocks that may hold `id`, newest first, those after `afterSeq` only. */
  *candidates(id: string, afterSeq = -1): Generator<number> {
    const v5 = new Uint32Array(2);
    const text = new Uint32Array(2);
    hashesV5(id);
    v5.set(h);
    if (this.seqs.length > 0 && this.seqs[0]! < this.indexFrom) idHashes(id, text, 0); // blocks of format 4 held
    for (let i = this.seqs.length - 1; i >= 0 && this.seqs[i]! > afterSeq; i--) {
      const seq = this.seqs[i]!;
      h.set(seq >= this.indexFrom ? v5 : text);
      if (probe(this.filters.get(seq)!)) yield seq;
    }
  }

  get blocks(): number {
    return this.seqs.length;
  }
}
