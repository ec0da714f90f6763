/**
 * TCP sequence-number arithmetic (RFC 9293 §3.4: modulo 2^32) and the MSS option (RFC 9293 §3.2).
 * Sequence numbers are kept as unsigned 32-bit integers (`>>> 0`).
 */

/** a + n modulo 2^32. */
export function seqAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}

/** Signed distance b - a, valid while |b - a| < 2^31. */
export function seqDiff(b: number, a: number): number {
  return (b - a) | 0;
}

export function seqLt(a: number, b: number): boolean {
  return seqDiff(b, a) > 0;
}

export function seqLe(a: number, b: number): boolean {
  return seqDiff(b, a) >= 0;
}

/** TCP option kinds we read or write. */
const OPT_END = 0;
const OPT_NOP = 1;
const OPT_MSS = 2;

/** The 4-byte MSS option (kind 2, length 4). */
export function mssOption(mss: number): Uint8Array {
  return Uint8Array.of(OPT_MSS, 4, (mss >>> 8) & 0xff, mss & 0xff);
}

/**
 * Reads the MSS option from TCP options buf[off, end); returns `fallback` when absent or malformed.
 * Walks every option by its length and stops at END or at a length that does not fit.
 */
export function readMss(buf: Uint8Array, off: number, end: number, fallback: number): number {
  let p = off;
  while (p < end) {
    const kind = buf[p]!;
    if (kind === OPT_END) break;
    if (kind === OPT_NOP) {
      p++;
      continue;
    }
    if (p + 1 >= end) break;
    const len = buf[p + 1]!;
    if (len < 2 || p + len > end) break;
    if (kind === OPT_MSS && len === 4) {
      const mss = (buf[p + 2]! << 8) | buf[p + 3]!;
      return mss > 0 ? mss : fallback;
    }
    p += len;
  }
  return fallback;
}
