/** Records what crosses a MemoryLink, decoded: outer 5-tuple, TCP flags and SVR metadata. */
import type { MemoryLink } from '../../src/io/memory/link.js';
import { formatAddress } from '../../src/packet/addr.js';
import { PacketInfo, parsePacket } from '../../src/packet/ip.js';
import { hasCookie } from '../../src/packet/svr-metadata.js';
import { decodeMetadata, type DecodedMetadata } from '../../src/packet/svr-metadata-decode.js';

export interface WirePacket {
  dir: 'a->b' | 'b->a';
  src: string;
  dst: string;
  sport: number;
  dport: number;
  protocol: number;
  tcpFlags: number;
  payloadLength: number;
  meta: DecodedMetadata | null;
  bytes: Uint8Array;
}

/** Trailer of a signed packet with sha256-128: the replay block (10) and the HMAC tag (16). */
export const SIGNED_TRAILER = 26;

/** Starts recording; `trailer` = bytes at the end of each payload after the metadata (replay block + HMAC tag). */
export function recordWire(link: MemoryLink, trailer = SIGNED_TRAILER): WirePacket[] {
  const out: WirePacket[] = [];
  link.observe((pkt, dir) => {
    const pi = new PacketInfo();
    if (parsePacket(pkt, 0, pkt.length, pi) !== 0) return;
    const plen = pi.end - pi.payload;
    out.push({
      dir, src: formatAddress(pkt, pi.srcOff, pi.family), dst: formatAddress(pkt, pi.dstOff, pi.family),
      sport: pi.srcPort, dport: pi.dstPort, protocol: pi.protocol, tcpFlags: pi.tcpFlags,
      payloadLength: plen, meta: hasCookie(pkt, pi.payload, plen) ? decodeMetadata(pkt, pi.payload, plen - trailer) : null,
      bytes: pkt,
    });
  });
  return out;
}
