/**
 * DSCP marking in place (RFC 2474): IPv4 TOS byte with an incremental header checksum update
 * (RFC 1624), IPv6 traffic class (no header checksum; the L4 checksum does not cover it). The two ECN
 * bits (RFC 3168) are kept.
 */
import { readU16, updateWord, writeU16 } from '../../../packet/checksum.js';
import type { PacketInfo } from '../../../packet/ip.js';

/** Sets the packet's DSCP; returns true when a byte changed. */
export function setDscp(buf: Uint8Array, pi: PacketInfo, dscp: number): boolean {
  const l3 = pi.l3;
  if (pi.family === 4) {
    const tos = buf[l3 + 1]!;
    const next = (dscp << 2) | (tos & 0x03);
    if (next === tos) return false;
    const before = readU16(buf, l3);
    buf[l3 + 1] = next;
    writeU16(buf, l3 + 10, updateWord(readU16(buf, l3 + 10), before, readU16(buf, l3)));
    return true;
  }
  // version (4 bits) | traffic class (8) | flow label (20)
  const tc = ((buf[l3]! & 0x0f) << 4) | (buf[l3 + 1]! >>> 4);
  const next = (dscp << 2) | (tc & 0x03);
  if (next === tc) return false;
  buf[l3] = (buf[l3]! & 0xf0) | (next >>> 4);
  buf[l3 + 1] = ((next & 0x0f) << 4) | (buf[l3 + 1]! & 0x0f);
  return true;
}
