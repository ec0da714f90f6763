/**
 * Turns a TCP segment that matched no session into the RST that answers it, in place (RFC 9293 §3.10.7.1):
 * if the segment has ACK, RST with seq = its ack; else RST|ACK with ack = seq + segment length.
 * The answer goes back out of the interface the segment came in on.
 */
import { readU32, writeU16, writeU32 } from '../packet/checksum.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type PacketInfo } from '../packet/ip.js';
import { fillL4Checksum, setIpLength, swapAddressesAndPorts } from '../packet/rewrite.js';
import type { Batch } from './batch.js';

export function makeTcpReset(b: Batch, slot: number, pi: PacketInfo): void {
  const d = b.data;
  const flags = pi.tcpFlags;
  const seq = readU32(d, pi.l4 + 4);
  const ack = readU32(d, pi.l4 + 8);
  const segLen = pi.end - pi.payload + ((flags & TCP_SYN) !== 0 ? 1 : 0) + ((flags & TCP_FIN) !== 0 ? 1 : 0);
  swapAddressesAndPorts(d, pi);
  if ((flags & TCP_ACK) !== 0) {
    writeU32(d, pi.l4 + 4, ack);
    writeU32(d, pi.l4 + 8, 0);
    d[pi.l4 + 13] = TCP_RST;
  } else {
    writeU32(d, pi.l4 + 4, 0);
    writeU32(d, pi.l4 + 8, (seq + segLen) >>> 0);
    d[pi.l4 + 13] = TCP_RST | TCP_ACK;
  }
  d[pi.l4 + 12] = 5 << 4; // no options
  writeU16(d, pi.l4 + 14, 0); // window
  writeU16(d, pi.l4 + 18, 0); // urgent pointer
  pi.payload = pi.l4 + 20;
  if (pi.family === 4) d[pi.l3 + 8] = 64;
  else d[pi.l3 + 7] = 64;
  setIpLength(d, pi, pi.l4 + 20);
  b.len[slot] = pi.end - pi.l3;
  fillL4Checksum(d, pi);
}
