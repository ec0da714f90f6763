/**
 * DNS responses (RFC 1035 §4.1) -> (address, name) pairs for the learned table: the question name (what
 * the client asked, so a CNAME chain still maps to it) for every A record of the answer section. Names
 * may be compressed (pointers, at most 16 jumps); every read is bounded by the message; never throws.
 */
import { hostName } from './names.js';

const MAX_JUMPS = 16;

export interface DnsLearner {
  learn(address: number, name: string, ttlSeconds: number): void;
}

/** Learns from the response in d[off, end); returns the number of A records learned. */
export function learnFromResponse(d: Uint8Array, off: number, end: number, scratch: Uint8Array, into: DnsLearner): number {
  if (end - off < 12) return 0;
  const flags = u16(d, off + 2);
  if ((flags & 0x8000) === 0 || (flags & 0x7800) !== 0 || (flags & 0x000f) !== 0) return 0; // response, QUERY, NOERROR
  if (u16(d, off + 4) !== 1) return 0; // one question
  const answers = u16(d, off + 6);
  const nameLen = readName(d, off, end, off + 12, scratch);
  if (nameLen <= 0) return 0;
  let p = skipName(d, end, off + 12);
  if (p < 0 || p + 4 > end) return 0;
  p += 4; // qtype, qclass
  let name: string | null = null;
  let learned = 0;
  for (let i = 0; i < answers; i++) {
    p = skipName(d, end, p);
    if (p < 0 || p + 10 > end) break;
    const type = u16(d, p);
    const klass = u16(d, p + 2);
    const ttl = ((d[p + 4]! << 24) | (d[p + 5]! << 16) | (d[p + 6]! << 8) | d[p + 7]!) >>> 0;
    const rdlen = u16(d, p + 8);
    const rdata = p + 10;
    if (rdata + rdlen > end) break;
    if (type === 1 && klass === 1 && rdlen === 4) {
      name ??= hostName(scratch, 0, nameLen);
      if (name === null) return 0;
      into.learn(((d[rdata]! << 24) | (d[rdata + 1]! << 16) | (d[rdata + 2]! << 8) | d[rdata + 3]!) >>> 0, name, ttl);
      learned++;
    }
    p = rdata + rdlen;
  }
  return learned;
}

/** Offset just past the name at p (a pointer ends it), or -1. */
function skipName(d: Uint8Array, end: number, p: number): number {
  for (let labels = 0; labels < 128 && p < end; labels++) {
    const len = d[p]!;
    if (len === 0) return p + 1;
    if ((len & 0xc0) === 0xc0) return p + 2 <= end ? p + 2 : -1;
    if ((len & 0xc0) !== 0) return -1;
    p += 1 + len;
  }
  return -1;
}

/** Writes the dotted name at p (following pointers within [msg, end)) into out; its length, or -1. */
function readName(d: Uint8Array, msg: number, end: number, p: number, out: Uint8Array): number {
  let n = 0;
  for (let jumps = 0, labels = 0; labels < 128 && p < end; labels++) {
    const len = d[p]!;
    if (len === 0) return n;
    if ((len & 0xc0) === 0xc0) {
      if (p + 2 > end || ++jumps > MAX_JUMPS) return -1;
      p = msg + (((len & 0x3f) << 8) | d[p + 1]!);
      continue;
    }
    if ((len & 0xc0) !== 0 || p + 1 + len > end || n + len + 1 > out.length) return -1;
    if (n > 0) out[n++] = 0x2e;
    out.set(d.subarray(p + 1, p + 1 + len), n);
    n += len;
    p += 1 + len;
  }
  return -1;
}

function u16(d: Uint8Array, p: number): number {
  return (d[p]! << 8) | d[p + 1]!;
}
