/**
 * Flow keys: (interface, normalized 5-tuple). Normalizing puts the lower (address, port) endpoint
 * first, so both directions of a flow build the same key; `swapped` tells which direction this was.
 * IPv4 keys are 4 words, IPv6 keys 10 words; each family has its own FlowTable.
 */

export const KW4 = 4;
export const KW6 = 10;

/** Scratch endpoint words (v4 uses word 0). */
const a = new Uint32Array(4);
const b = new Uint32Array(4);

/** Big-endian word at buf[off] straight into out[at]: no 32-bit value returned across a call (see loadAddress). */
function wordInto(buf: Uint8Array, off: number, out: Uint32Array, at: number): void {
  out[at] = (buf[off]! << 24) | (buf[off + 1]! << 16) | (buf[off + 2]! << 8) | buf[off + 3]!;
}

/**
 * Reads an address into 4 words (IPv4: word 0, others 0). Each word goes into `out` where it is read, never
 * returned: a word of 2^30 or more returned by a function V8 did not inline is boxed (a 16-byte HeapNumber per
 * address; readU32 here made external-function's divert allocate per packet once its optimized code had not
 * inlined it, 11 of 15 runs of its compliance check after the file's lab tests).
 */
export function loadAddress(buf: Uint8Array, off: number, family: 4 | 6, out: Uint32Array, outOff: number): void {
  wordInto(buf, off, out, outOff);
  if (family === 4) {
    out[outOff + 1] = 0;
    out[outOff + 2] = 0;
    out[outOff + 3] = 0;
  } else {
    wordInto(buf, off + 4, out, outOff + 1);
    wordInto(buf, off + 8, out, outOff + 2);
    wordInto(buf, off + 12, out, outOff + 3);
  }
}

/** -1 / 0 / 1 comparing (a, pa) with (b, pb). */
function compare(words: number, pa: number, pb: number): number {
  for (let i = 0; i < words; i++) {
    if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  }
  return pa < pb ? -1 : pa > pb ? 1 : 0;
}

/**
 * Writes the key of (src, dst, srcPort, dstPort, protocol, ifIndex) into `key` (KW4 or KW6 words) from
 * source/destination address words; returns 1 when the endpoints were swapped, else 0.
 */
export function writeKey(
  key: Uint32Array, family: 4 | 6,
  src: Uint32Array, srcOff: number, dst: Uint32Array, dstOff: number,
  srcPort: number, dstPort: number, protocol: number, ifIndex: number,
): number {
  const words = family === 4 ? 1 : 4;
  for (let i = 0; i < words; i++) {
    a[i] = src[srcOff + i]!;
    b[i] = dst[dstOff + i]!;
  }
  const swapped = compare(words, srcPort, dstPort) > 0 ? 1 : 0;
  const lo = swapped ? b : a;
  const hi = swapped ? a : b;
  for (let i = 0; i < words; i++) {
    key[i] = lo[i]!;
    key[words + i] = hi[i]!;
  }
  const pLo = swapped ? dstPort : srcPort;
  const pHi = swapped ? srcPort : dstPort;
  key[2 * words] = ((pLo << 16) | pHi) >>> 0;
  key[2 * words + 1] = ((protocol << 16) | (ifIndex & 0xffff)) >>> 0;
  return swapped;
}

const srcW = new Uint32Array(4);
const dstW = new Uint32Array(4);

/** writeKey from addresses in packet bytes. */
export function writeKeyFromBytes(
  key: Uint32Array, family: 4 | 6, buf: Uint8Array, srcOff: number, dstOff: number,
  srcPort: number, dstPort: number, protocol: number, ifIndex: number,
): number {
  loadAddress(buf, srcOff, family, srcW, 0);
  loadAddress(buf, dstOff, family, dstW, 0);
  return writeKey(key, family, srcW, 0, dstW, 0, srcPort, dstPort, protocol, ifIndex);
}
