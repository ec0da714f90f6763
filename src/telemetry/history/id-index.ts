/**
 * Which blocks of the history hold a session id, without a key per record: one Bloom filter per block
 * (`f/<S>`, written in the block's batch; BITS_PER_ID bits and PROBES probes per id: about 1 % false
 * positives), all of them in memory (some 1.3 bytes per record: 1 GiB of history at ~150 bytes a record is
 * ~9 MB), loaded at open. `svr inspect session <id>` tests the filters newest first and decodes only the
 * blocks that may hold the id; a query asks whether a later record replaced an interim one the same way.
 */

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

const h = new Uint32Array(2);

/** A block's filter over its rows' ids. */
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

/** False when `id` is surely not in the filter's block. */
export function mayHold(filter: Uint8Array, id: string): boolean {
  idHashes(id, h, 0);
  const m = filter.length * 8;
  for (let k = 0; k < PROBES; k++) {
    const bit = ((h[0]! + Math.imul(k, h[1]!)) >>> 0) % m;
    if ((filter[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
  }
  return true;
}

/** The filters of the history's blocks by batch seq (ascending: batches are written in order). */
export class IdIndex {
  private seqs: number[] = [];
  private readonly filters = new Map<number, Uint8Array>();

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
    for (let i = this.seqs.length - 1; i >= 0 && this.seqs[i]! > afterSeq; i--) {
      const seq = this.seqs[i]!;
      if (mayHold(this.filters.get(seq)!, id)) yield seq;
    }
  }

  get blocks(): number {
    return this.seqs.length;
  }
}
