/**
 * Longest-prefix match for IPv4 and IPv6 on typed arrays: a multibit trie of 4-bit strides (16-way nodes),
 * so an IPv4 lookup reads at most 8 nodes and an IPv6 one 32, instead of one node per address bit.
 * Node n at depth d holds the prefixes of lengths 4d+1 .. 4d+4 under its path:
 *   exact[n*32 + (2^k - 2) + (nibble >> (4-k))]   the prefix of length 4d+k (30 positions; root's 30: /0)
 *   slots[n*32 + 2*nibble]                          the child for that nibble (0: none; roots are never children)
 *   slots[n*32 + 2*nibble + 1]                      the longest of the node's prefixes covering that nibble
 * (the node's prefixes expanded over its 16 nibbles, made again from `exact` when one changes). A lookup step
 * reads one child/value pair (8 bytes, one cache line) per nibble; `exact` serves get/matches/changes only.
 * Values are stored plus one (2^31-1, ROUTE_BLACKHOLE, wraps to -2^31), so 0 is "none" and new (zeroed)
 * nodes need no filling: untouched pages stay out of memory. Node 0 is the IPv4 root, node 1 the IPv6 root. Inserting grows the arrays (build time, or a
 * RIB change); lookups only read them and never allocate.
 * Measured cold, 100,000 /24 routes: ~36 CPU-ns per IPv4 lookup, ~7 ns with 10 routes; the binary trie it replaced
 * (a node per bit in 3 arrays) ~280 and ~21 ns (docs/performance.md "The FIB trie, 4-bit strides").
 */
import type { AddressFamily } from '../packet/addr.js';

const NONE = -1;
const V4_ROOT = 0;
const V6_ROOT = 1;
/** Int32 words per node in each array (16 child/value pairs; 30 exact positions and the root's /0) */
const W = 32;
/** exact position of a root's /0 */
const ZERO_LENGTH = 30;

/** A trie's typed arrays and counts: handed to another thread by transfer and wrapped there (PrefixTrie.fromParts). */
export interface PrefixTrieParts {
  readonly slots: Int32Array;
  readonly exact: Int32Array;
  readonly nodes: number;
  readonly size: number;
}

export class PrefixTrie {
  #slots: Int32Array;
  #exact: Int32Array;
  #nodes = 2;
  #size = 0;

  /** `initialNodes`: 16-way nodes to make room for (they grow by doubling); about one per 4 to 16 prefixes. */
  constructor(initialNodes = 16) {
    const n = Math.max(2, initialNodes);
    this.#slots = new Int32Array(n * W);
    this.#exact = new Int32Array(n * W);
  }

  /** A trie over the arrays of `parts` (no copy; inserting may replace them). */
  static fromParts(parts: PrefixTrieParts): PrefixTrie {
    const trie = new PrefixTrie(2);
    trie.#slots = parts.slots;
    trie.#exact = parts.exact;
    trie.#nodes = parts.nodes;
    trie.#size = parts.size;
    return trie;
  }

  /** The arrays and counts as they are now (shared, not copied). */
  get parts(): PrefixTrieParts {
    return { slots: this.#slots, exact: this.#exact, nodes: this.#nodes, size: this.#size };
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
    const node = this.#nodeOf(bytes, length, true);
    const at = node * W + exactPosition(bytes, length);
    const previous = stored(this.#exact[at]!);
    if (previous === NONE) this.#size++;
    this.#exact[at] = value + 1;
    this.#expand(node);
    return previous;
  }

  /**
   * Forget exactly this prefix (a withdrawn route); returns the value it had, or -1. Its nodes stay (reused
   * when the prefix comes back): the trie's size is bounded by the prefixes ever inserted, not the live ones.
   */
  remove(bytes: Uint8Array, length: number): number {
    const node = this.#nodeOf(bytes, length, false);
    if (node < 0) return NONE;
    const at = node * W + exactPosition(bytes, length);
    const previous = stored(this.#exact[at]!);
    if (previous === NONE) return NONE;
    this.#size--;
    this.#exact[at] = 0;
    this.#expand(node);
    return previous;
  }

  /** The value stored for exactly this prefix, or -1. */
  get(bytes: Uint8Array, length: number): number {
    const node = this.#nodeOf(bytes, length, false);
    return node < 0 ? NONE : stored(this.#exact[node * W + exactPosition(bytes, length)]!);
  }

  /** Value of the longest prefix containing the address at buf[off], or -1. Allocation-free. */
  lookup(buf: Uint8Array, off: number, family: AddressFamily): number {
    const slots = this.#slots;
    let node = family === 4 ? V4_ROOT : V6_ROOT;
    let best = this.#exact[node * W + ZERO_LENGTH]!;
    const end = off + (family === 4 ? 4 : 16);
    for (let i = off; i < end; i++) {
      const b = buf[i]!;
      let at = node * W + ((b >> 4) << 1);
      let v = slots[at + 1]!;
      if (v !== 0) best = v;
      node = slots[at]!;
      if (node === 0) break;
      at = node * W + ((b & 15) << 1);
      v = slots[at + 1]!;
      if (v !== 0) best = v;
      node = slots[at]!;
      if (node === 0) break;
    }
    return stored(best);
  }

  /**
   * Write the values of every prefix containing the address at buf[off] into `out`, longest first,
   * and return how many were written. If `out` is too small the shortest matches are dropped; an
   * array of 33 (IPv4) or 129 (IPv6) entries always suffices. Allocation-free.
   */
  matches(buf: Uint8Array, off: number, family: AddressFamily, out: Int32Array): number {
    const slots = this.#slots;
    const exact = this.#exact;
    const cap = out.length;
    if (cap === 0) return 0;
    const depths = family === 4 ? 8 : 32;
    let node = family === 4 ? V4_ROOT : V6_ROOT;
    let n = 0;
    let v = exact[node * W + ZERO_LENGTH]!;
    if (v !== 0) out[n++] = stored(v);
    for (let d = 0; d < depths; d++) {
      const nibble = (buf[off + (d >> 1)]! >> ((d & 1) === 0 ? 4 : 0)) & 15;
      for (let k = 1; k <= 4; k++) {
        v = exact[node * W + (1 << k) - 2 + (nibble >> (4 - k))]!;
        if (v === 0) continue;
        if (n === cap) {
          out.copyWithin(0, 1); // full: drop the shortest match
          n--;
        }
        out[n++] = stored(v);
      }
      node = slots[node * W + 2 * nibble]!;
      if (node === 0) break;
    }
    for (let i = 0, j = n - 1; i < j; i++, j--) {
      const t = out[i]!;
      out[i] = out[j]!;
      out[j] = t;
    }
    return n;
  }

  /** The node holding prefixes of `length` on the path of `bytes` (made when `make`), or -1. */
  #nodeOf(bytes: Uint8Array, length: number, make: boolean): number {
    let node = familyOfBytes(bytes) === 4 ? V4_ROOT : V6_ROOT;
    const depth = (length - 1) >> 2; // -1 for /0: the root
    for (let d = 0; d < depth; d++) {
      const at = node * W + 2 * nibbleAt(bytes, d);
      let next = this.#slots[at]!;
      if (next === 0) {
        if (!make) return NONE;
        next = this.#newNode();
        this.#slots[at] = next; // #newNode may have replaced the arrays: write through the current one
      }
      node = next;
    }
    return node;
  }

  /** Writes node n's expanded values: per nibble, its longest prefix (exact positions of lengths 4, 3, 2, 1). */
  #expand(n: number): void {
    const exact = this.#exact;
    const base = n * W;
    for (let nibble = 0; nibble < 16; nibble++) {
      let v = 0;
      for (let k = 4; k >= 1 && v === 0; k--) v = exact[base + (1 << k) - 2 + (nibble >> (4 - k))]!;
      this.#slots[base + 2 * nibble + 1] = v;
    }
  }

  #newNode(): number {
    if (this.#nodes * W === this.#slots.length) {
      const capacity = this.#slots.length * 2;
      this.#slots = grow(this.#slots, capacity);
      this.#exact = grow(this.#exact, capacity);
    }
    return this.#nodes++;
  }
}

function familyOfBytes(bytes: Uint8Array): AddressFamily {
  if (bytes.length === 4) return 4;
  if (bytes.length === 16) return 6;
  throw new RangeError(`an address has 4 or 16 bytes, got ${bytes.length}`);
}

/** The 4-bit nibble at depth d of an address (d 0: the high nibble of its first byte). */
function nibbleAt(bytes: Uint8Array, d: number): number {
  return (bytes[d >> 1]! >> ((d & 1) === 0 ? 4 : 0)) & 15;
}

/** A prefix's position in its node's `exact` words (bits after `length` ignored); ZERO_LENGTH for /0. */
function exactPosition(bytes: Uint8Array, length: number): number {
  if (length === 0) return ZERO_LENGTH;
  const d = (length - 1) >> 2;
  const k = length - 4 * d;
  return (1 << k) - 2 + (nibbleAt(bytes, d) >> (4 - k));
}

/** A stored word's value: -1 for 0 (none); `| 0` undoes the wrap of 2^31-1. */
function stored(word: number): number {
  return (word - 1) | 0;
}

function grow(a: Int32Array, capacity: number): Int32Array {
  const b = new Int32Array(capacity);
  b.set(a);
  return b;
}
