/**
 * Longest-prefix match for IPv4 and IPv6 on typed arrays: a binary trie, one node per bit, with
 * child indices in two Int32Arrays and a value (>= 0, or -1 for none) per node. Node 0 is the IPv4
 * root and node 1 the IPv6 root; a child index of 0 means "no child" (roots are never children).
 * Inserting grows the arrays (build time, or a RIB change); lookups only read them and never allocate.
 * Cost: one array read per address bit walked (at most 32 or 128).
 */
import type { AddressFamily } from '../packet/addr.js';

const NONE = -1;
const V4_ROOT = 0;
const V6_ROOT = 1;

/** A trie's typed arrays and counts: handed to another thread by transfer and wrapped there (PrefixTrie.fromParts). */
export interface PrefixTrieParts {
  readonly zero: Int32Array;
  readonly one: Int32Array;
  readonly value: Int32Array;
  readonly nodes: number;
  readonly size: number;
}

export class PrefixTrie {
  #zero: Int32Array;
  #one: Int32Array;
  #value: Int32Array;
  #nodes = 2;
  #size = 0;

  constructor(initialNodes = 64) {
    const n = Math.max(2, initialNodes);
    this.#zero = new Int32Array(n);
    this.#one = new Int32Array(n);
    this.#value = new Int32Array(n).fill(NONE);
  }

  /** A trie over the arrays of `parts` (no copy; inserting may replace them). */
  static fromParts(parts: PrefixTrieParts): PrefixTrie {
    const trie = new PrefixTrie(2);
    trie.#zero = parts.zero;
    trie.#one = parts.one;
    trie.#value = parts.value;
    trie.#nodes = parts.nodes;
    trie.#size = parts.size;
    return trie;
  }

  /** The arrays and counts as they are now (shared, not copied). */
  get parts(): PrefixTrieParts {
    return { zero: this.#zero, one: this.#one, value: this.#value, nodes: this.#nodes, size: this.#size };
  }

  /** Number of prefixes stored. */
  get size(): number {
    return this.#size;
  }

  /**
   * Store `value` (an integer >= 0) for the prefix bytes/length; the family follows bytes.length
   * (4 or 16). Bits after `length` are ignored. Returns the value it replaced, or -1.
   */
  insert(bytes: Uint8Array, length: number, value: number): number {
    const family = familyOfBytes(bytes);
    if (!Number.isInteger(length) || length < 0 || length > bytes.length * 8) {
      throw new RangeError(`prefix length ${length} is out of range for IPv${family}`);
    }
    if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) {
      throw new RangeError(`trie values are integers 0..2^31-1, got ${value}`);
    }
    let node = family === 4 ? V4_ROOT : V6_ROOT;
    for (let bit = 0; bit < length; bit++) {
      const children = bitAt(bytes, 0, bit) ? this.#one : this.#zero;
      let next = children[node]!;
      if (next === 0) {
        next = this.#newNode();
        // #newNode may have replaced the arrays: write through the current ones.
        (bitAt(bytes, 0, bit) ? this.#one : this.#zero)[node] = next;
      }
      node = next;
    }
    const previous = this.#value[node]!;
    if (previous === NONE) this.#size++;
    this.#value[node] = value;
    return previous;
  }

  /**
   * Forget exactly this prefix (a withdrawn route); returns the value it had, or -1. Its nodes stay (reused
   * when the prefix comes back): the trie's size is bounded by the prefixes ever inserted, not the live ones.
   */
  remove(bytes: Uint8Array, length: number): number {
    let node = familyOfBytes(bytes) === 4 ? V4_ROOT : V6_ROOT;
    for (let bit = 0; bit < length; bit++) {
      node = bitAt(bytes, 0, bit) ? this.#one[node]! : this.#zero[node]!;
      if (node === 0) return NONE;
    }
    const previous = this.#value[node]!;
    if (previous !== NONE) this.#size--;
    this.#value[node] = NONE;
    return previous;
  }

  /** The value stored for exactly this prefix, or -1. */
  get(bytes: Uint8Array, length: number): number {
    let node = familyOfBytes(bytes) === 4 ? V4_ROOT : V6_ROOT;
    for (let bit = 0; bit < length; bit++) {
      node = bitAt(bytes, 0, bit) ? this.#one[node]! : this.#zero[node]!;
      if (node === 0) return NONE;
    }
    return this.#value[node]!;
  }

  /** Value of the longest prefix containing the address at buf[off], or -1. Allocation-free. */
  lookup(buf: Uint8Array, off: number, family: AddressFamily): number {
    const zero = this.#zero;
    const one = this.#one;
    const value = this.#value;
    const bits = family === 4 ? 32 : 128;
    let node = family === 4 ? V4_ROOT : V6_ROOT;
    let best = value[node]!;
    for (let bit = 0; bit < bits; bit++) {
      node = (buf[off + (bit >> 3)]! >> (7 - (bit & 7))) & 1 ? one[node]! : zero[node]!;
      if (node === 0) break;
      const v = value[node]!;
      if (v !== NONE) best = v;
    }
    return best;
  }

  /**
   * Write the values of every prefix containing the address at buf[off] into `out`, longest first,
   * and return how many were written. If `out` is too small the shortest matches are dropped; an
   * array of 33 (IPv4) or 129 (IPv6) entries always suffices. Allocation-free.
   */
  matches(buf: Uint8Array, off: number, family: AddressFamily, out: Int32Array): number {
    const zero = this.#zero;
    const one = this.#one;
    const value = this.#value;
    const cap = out.length;
    if (cap === 0) return 0;
    const bits = family === 4 ? 32 : 128;
    let node = family === 4 ? V4_ROOT : V6_ROOT;
    let n = 0;
    for (let bit = 0; ; bit++) {
      const v = value[node]!;
      if (v !== NONE) {
        if (n === cap) {
          out.copyWithin(0, 1); // full: drop the shortest match
          n--;
        }
        out[n++] = v;
      }
      if (bit === bits) break;
      node = (buf[off + (bit >> 3)]! >> (7 - (bit & 7))) & 1 ? one[node]! : zero[node]!;
      if (node === 0) break;
    }
    for (let i = 0, j = n - 1; i < j; i++, j--) {
      const t = out[i]!;
      out[i] = out[j]!;
      out[j] = t;
    }
    return n;
  }

  #newNode(): number {
    if (this.#nodes === this.#value.length) {
      const capacity = this.#value.length * 2;
      this.#zero = grow(this.#zero, capacity, 0);
      this.#one = grow(this.#one, capacity, 0);
      this.#value = grow(this.#value, capacity, NONE);
    }
    return this.#nodes++;
  }
}

function familyOfBytes(bytes: Uint8Array): AddressFamily {
  if (bytes.length === 4) return 4;
  if (bytes.length === 16) return 6;
  throw new RangeError(`an address has 4 or 16 bytes, got ${bytes.length}`);
}

function bitAt(buf: Uint8Array, off: number, bit: number): number {
  return (buf[off + (bit >> 3)]! >> (7 - (bit & 7))) & 1;
}

function grow(a: Int32Array, capacity: number, fill: number): Int32Array {
  const b = new Int32Array(capacity);
  b.set(a);
  if (fill !== 0) b.fill(fill, a.length);
  return b;
}
