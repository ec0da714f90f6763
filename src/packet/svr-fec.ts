/**
 * FEC on the wire between routers (docs/wan.md "FEC"): a systematic erasure code over groups of a
 * session's data packets (GF(2^8), coefficient 2^(j*i) for data packet i in parity row j; row 0 is XOR).
 *
 * A data packet of an FEC session carries a 4-byte tag at the very end of its UDP payload, after the HMAC
 * trailer: group number (low 24 bits, u24) | index in the group (u8). The receiver strips it first.
 * Its "vector" is [L4 payload length (u16) | fecFingerprint (u32) | L4 payload (tag excluded)], zero-padded.
 *
 * A parity packet goes on the session's waypoint 5-tuple right after its group, signed like metadata (the
 * HMAC trailer follows when the path signs). It starts with the metadata cookie, so it is never taken for
 * data, and a version nibble of 15 (metadata is version 1), so it is never taken for metadata:
 *
 *  0  cookie 4c48dbc6ddf6670c (8 bytes)
 *  8  0xf0 | FEC version 1 | data packets in the group (u8) | parity packets in the group (u8)
 * 12  group number (u32)
 * 16  this parity's row (u8) | 0 | vector length (u16: the group's longest vector)
 * 20  0 0 0 0
 * 24  parity row: sum over the group's vectors v_i of 2^(row*i) * v_i
 */
import { readU16, readU32, writeU16, writeU32 } from './checksum.js';
import { COOKIE } from './svr-metadata.js';

export const FEC_HEADER_LENGTH = 24;
export const FEC_MARKER = 0xf0;
export const FEC_VERSION = 1;
/** the data packet's tag */
export const FEC_TAG_LENGTH = 4;
/** a vector's length and fingerprint in front of the payload */
export const FEC_VECTOR_HEADER = 6;

/** True when buf[off, off+len) starts like a parity packet (cookie, marker, version). */
export function isFecParity(buf: Uint8Array, off: number, len: number): boolean {
  if (len < FEC_HEADER_LENGTH) return false;
  for (let i = 0; i < 8; i++) if (buf[off + i] !== COOKIE[i]) return false;
  return buf[off + 8] === FEC_MARKER && buf[off + 9] === FEC_VERSION;
}

export function writeFecHeader(buf: Uint8Array, off: number, count: number, parities: number, group: number, row: number, vectorLength: number): void {
  buf.set(COOKIE, off);
  buf[off + 8] = FEC_MARKER;
  buf[off + 9] = FEC_VERSION;
  buf[off + 10] = count;
  buf[off + 11] = parities;
  writeU32(buf, off + 12, group);
  buf[off + 16] = row;
  buf[off + 17] = 0;
  writeU16(buf, off + 18, vectorLength);
  writeU32(buf, off + 20, 0);
}

export const fecCount = (buf: Uint8Array, off: number): number => buf[off + 10]!;
export const fecParities = (buf: Uint8Array, off: number): number => buf[off + 11]!;
export const fecGroup = (buf: Uint8Array, off: number): number => readU32(buf, off + 12);
export const fecRow = (buf: Uint8Array, off: number): number => buf[off + 16]!;
export const fecVectorLength = (buf: Uint8Array, off: number): number => readU16(buf, off + 18);

/** Writes a data packet's tag at `at`. */
export function writeFecTag(buf: Uint8Array, at: number, group: number, index: number): void {
  writeU32(buf, at, ((group & 0xffffff) << 8 | index) >>> 0);
}

export const fecTagGroup = (buf: Uint8Array, at: number): number => readU32(buf, at) >>> 8;
export const fecTagIndex = (buf: Uint8Array, at: number): number => buf[at + 3]!;

/** FNV-1a over a payload's length and first 64 bytes: tells a rebuilt packet from a wrong one. */
export function fecFingerprint(buf: Uint8Array, off: number, len: number): number {
  let h = Math.imul(0x811c9dc5 ^ len, 0x01000193);
  const n = len < 64 ? len : 64;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ buf[off + i]!, 0x01000193);
  return h >>> 0;
}
