/**
 * IPv4 source address -> peer path, per interface, for wan-verify: what `tables.pathFrom` answered, in an
 * open-addressing table (linear probing) of typed arrays. A hub's frames mix many peers, so wan-verify's memo of
 * the last source misses for nearly every packet, and each miss walked the remote-address trie: 32 steps, mostly
 * cache misses with 2,000 paths (wan-verify's `checkTags` was 5.6 % of a 1,000-spoke hub's main thread, ~2 µs per
 * packet; docs/performance.md "Hub scale", hub8). Only found paths are kept; new tables clear it (wan-verify), and
 * so does half a table full, so a spray of sources costs a trie walk each, as before, and no memory.
 * SVR_WAN_SOURCE_CACHE=0 turns it off (to compare).
 */
const BITS = 13;
const SIZE = 1 << BITS;
/** `get`: not known here (walk the trie) */
export const SOURCE_UNKNOWN = -2;

export class SourcePaths {
  readonly on = process.env['SVR_WAN_SOURCE_CACHE'] !== '0';
  readonly #addr = new Uint32Array(SIZE);
  /** interface + 1 of entry i; 0: empty */
  readonly #ifx = new Int32Array(SIZE);
  readonly #path = new Int32Array(SIZE);
  #used = 0;

  /** The path of source address `a` (IPv4, big-endian word) on interface ifx, or SOURCE_UNKNOWN. */
  get(ifx: number, a: number): number {
    const tag = ifx + 1;
    for (let i = hash(ifx, a); ; i = (i + 1) & (SIZE - 1)) {
      const t = this.#ifx[i]!;
      if (t === 0) return SOURCE_UNKNOWN;
      if (t === tag && this.#addr[i] === a) return this.#path[i]!;
    }
  }

  /** Remembers `path` for source `a` on ifx (after `get` said SOURCE_UNKNOWN). */
  put(ifx: number, a: number, path: number): void {
    if (this.#used >= SIZE / 2) this.clear();
    let i = hash(ifx, a);
    while (this.#ifx[i] !== 0) i = (i + 1) & (SIZE - 1);
    this.#ifx[i] = ifx + 1;
    this.#addr[i] = a;
    this.#path[i] = path;
    this.#used++;
  }

  clear(): void {
    if (this.#used === 0) return;
    this.#ifx.fill(0);
    this.#used = 0;
  }
}

function hash(ifx: number, a: number): number {
  return Math.imul(a ^ Math.imul(ifx + 1, 0x9e3779b1), 0x85ebca6b) >>> (32 - BITS);
}
