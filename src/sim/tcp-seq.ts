/**
 * TCP sequence-number arithmetic (RFC 9293 §3.4: modulo 2^32) and the MSS option (RFC 9293 §3.2).
 * Sequence numbers are kept as unsigned 32-bit integers (`>>> 0`).
 */
import { readU16 } from '../packet/checksum.js';
import { findMssOption } from '../packet/tcp-mss.js';

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

/** The TCP option kind we write. */
const OPT_MSS = 2;

/** The 4-byte MSS option (kind 2, length 4). */
export function mssOption(mss: number): Uint8Array {
  return Uint8Array.of(OPT_MSS, 4, (mss >>> 8) & 0xff, mss & 0xff);
}

/** Reads the MSS option from TCP options buf[off, end); returns `fallback` when absent, malformed or 0. */
export function readMss(buf: Uint8Array, off: number, end: number, fallback: number): number {
  const at = findMssOption(buf, off, end);
  const mss = at < 0 ? 0 : readU16(buf, at);
  return mss > 0 ? mss : fallback;
}
