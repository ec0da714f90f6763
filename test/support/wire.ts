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

/** Starts recording; `trailer` = HMAC bytes at the end of each payload (16 for sha256-128 every packet). */
export function recordWire(link: MemoryLink, trailer = 16): WirePacket[] {
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
