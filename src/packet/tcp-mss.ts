/**
 * The TCP MSS option (RFC 9293 §3.2 kind 2, length 4; sent only in segments with SYN) of a parsed packet:
 * find it, and lower it in place with an incremental checksum update (RFC 1624 eq. 3). What the value counts
 * (RFC 6691 §2): the MTU minus the fixed IP and TCP headers, not their options.
 * A SYN without the option is left alone: the host then assumes 536 (IPv4) or 1220 (IPv6) (RFC 9293 §3.7.1).
 */
import { readU16, swap16, updateWord, writeU16 } from './checksum.js';
import { PROTO_TCP, TCP_SYN, type PacketInfo } from './ip.js';

const OPT_END = 0;
const OPT_NOP = 1;
const OPT_MSS = 2;

/** RFC 9293 §3.7.1: the MSS a host assumes when the SYN carries none. */
export const DEFAULT_MSS_IPV4 = 536;
export const DEFAULT_MSS_IPV6 = 1220;

/** clampTcpMss results */
export const MSS_NOT_SYN = 0;
export const MSS_UNCHANGED = 1;
export const MSS_LOWERED = 2;
/** a SYN without a (well-formed) MSS option */
export const MSS_ABSENT = 3;

/**
 * Offset of the 2-byte MSS value in the TCP options buf[from, end), or -1: no option (an MSS option whose
 * length is not 4 is skipped), or options that stop parsing (END, a length that does not fit).
 */
export function findMssOption(buf: Uint8Array, from: number, end: number): number {
  let i = from;
  while (i < end) {
    const kind = buf[i]!;
    if (kind === OPT_END) return -1;
    if (kind === OPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return -1;
    const len = buf[i + 1]!;
    if (len < 2 || i + len > end) return -1;
    if (kind === OPT_MSS && len === 4) return i + 2;
    i += len;
  }
  return -1;
}

/** The MSS option of a SYN or SYN-ACK, or -1 when it has none (or is not a SYN). */
export function readTcpMss(buf: Uint8Array, pi: PacketInfo): number {
  if (pi.protocol !== PROTO_TCP || pi.fragment === 2 || (pi.tcpFlags & TCP_SYN) === 0) return -1;
  const at = findMssOption(buf, pi.l4 + 20, pi.payload);
  return at < 0 ? -1 : readU16(buf, at);
}

/**
 * Lowers the MSS option of a SYN or SYN-ACK to `max` when it is larger; the TCP checksum is updated
 * incrementally, so it stays as valid (or as invalid) as it was. An option at an odd offset from the TCP
 * header straddles two checksum words: its bytes count swapped (RFC 1071 §2(B), byte order independence).
 */
export function clampTcpMss(buf: Uint8Array, pi: PacketInfo, max: number): number {
  if (pi.protocol !== PROTO_TCP || pi.fragment === 2 || (pi.tcpFlags & TCP_SYN) === 0) return MSS_NOT_SYN;
  const at = findMssOption(buf, pi.l4 + 20, pi.payload);
  if (at < 0) return MSS_ABSENT;
  const old = readU16(buf, at);
  if (old <= max) return MSS_UNCHANGED;
  const csOff = pi.l4 + 16;
  const odd = ((at - pi.l4) & 1) === 1;
  const cs = readU16(buf, csOff);
  writeU16(buf, csOff, odd ? updateWord(cs, swap16(old), swap16(max)) : updateWord(cs, old, max));
  writeU16(buf, at, max);
  return MSS_LOWERED;
}
