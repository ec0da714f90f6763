/**
 * The TCP ends of bench/session-cost.ts (--tcp): a short TCP session as the sustained case's C client and
 * server make it (bench/c/session-load.c), without a TCP stack, answered by the flags of what arrives:
 *   client SYN -> server SYN|ACK -> client ACK -> server 1 byte (PSH|ACK), then FIN|ACK
 *   -> client ACK, then RST (the client's SO_LINGER 0 close)
 * seven segments through both routers per session. IPv4, 20-byte TCP headers, no options, valid checksums (the
 * routers check a SYN's, FIN's or RST's).
 */
import { writeU16, writeU32 } from '../src/packet/checksum.js';
import { PacketInfo, parsePacket, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../src/packet/ip.js';
import { fillIpv4HeaderChecksum, fillL4Checksum } from '../src/packet/rewrite.js';
import { sessionTuple } from './session-cost-client.js';

/** IPv4 + TCP header, no options */
export const TCP_SEGMENT = 40;

const pi = new PacketInfo();
/** The IPv4 header's and the TCP checksum of the segment at `at`, `len` bytes. */
function fillChecksums(b: Uint8Array, at: number, len: number): void {
  fillIpv4HeaderChecksum(b, at);
  parsePacket(b, at, len, pi);
  fillL4Checksum(b, pi);
}

/** Writes the n-th session's SYN at `at` (40 bytes): its own source address and port, sequence number n. */
export function writeSessionSyn(batch: Uint8Array, at: number, src: Uint8Array, dst: Uint8Array, n: number, dstPort: number): void {
  const s = sessionTuple(n, dstPort);
  batch.fill(0, at, at + TCP_SEGMENT);
  batch[at] = 0x45;
  writeU16(batch, at + 2, TCP_SEGMENT);
  writeU16(batch, at + 6, 0x4000); // DF
  batch[at + 8] = 64;
  batch[at + 9] = 6;
  batch.set(src, at + 12);
  batch[at + 15] = s.srcLastByte;
  batch.set(dst, at + 16);
  writeU16(batch, at + 20, s.srcPort);
  writeU16(batch, at + 22, s.dstPort);
  writeU32(batch, at + 24, n >>> 0);
  batch[at + 32] = 5 << 4;
  batch[at + 33] = TCP_SYN;
  writeU16(batch, at + 34, 65535);
  fillChecksums(batch, at, TCP_SEGMENT);
}

/**
 * Writes at `at` the answer to the segment at `off` of `d` (addresses and ports swapped, TTL 64): `flags`,
 * `payload` bytes of data (0 or 1), sequence = what it acknowledged + `seqAdd`, acknowledgement = its sequence +
 * its length (SYN and FIN count one). Returns the answer's length.
 */
export function writeTcpAnswer(out: Uint8Array, at: number, d: Uint8Array, off: number, len: number, flags: number, payload: number, seqAdd: number): number {
  const ihl = (d[off]! & 15) * 4, l4 = off + ihl;
  const inFlags = d[l4 + 13]!;
  const inData = len - ihl - (d[l4 + 12]! >> 4) * 4;
  const inSeq = ((d[l4 + 4]! << 24) | (d[l4 + 5]! << 16) | (d[l4 + 6]! << 8) | d[l4 + 7]!) >>> 0;
  const inAck = ((d[l4 + 8]! << 24) | (d[l4 + 9]! << 16) | (d[l4 + 10]! << 8) | d[l4 + 11]!) >>> 0;
  const n = TCP_SEGMENT + payload;
  out.fill(0, at, at + n);
  out[at] = 0x45;
  writeU16(out, at + 2, n);
  writeU16(out, at + 6, 0x4000);
  out[at + 8] = 64;
  out[at + 9] = 6;
  out.set(d.subarray(off + 16, off + 20), at + 12);
  out.set(d.subarray(off + 12, off + 16), at + 16);
  out.set(d.subarray(l4 + 2, l4 + 4), at + 20);
  out.set(d.subarray(l4, l4 + 2), at + 22);
  writeU32(out, at + 24, (inAck + seqAdd) >>> 0);
  const segLen = inData + ((inFlags & (TCP_SYN | TCP_FIN)) !== 0 ? 1 : 0);
  writeU32(out, at + 28, (flags & TCP_ACK) !== 0 ? (inSeq + segLen) >>> 0 : 0);
  out[at + 32] = 5 << 4;
  out[at + 33] = flags;
  writeU16(out, at + 34, 65535);
  if (payload > 0) out[at + 40] = 0x78; // "x"
  fillChecksums(out, at, n);
  return n;
}

/** A batch the ends write their answers into (reused: the wires copy what they transmit). */
export class AnswerBatch {
  readonly data = new Uint8Array(256 * 4 * (TCP_SEGMENT + 1));
  readonly offsets = new Uint32Array(1024);
  readonly lengths = new Uint32Array(1024);
  count = 0;
  private at = 0;
  reset(): void { this.count = 0; this.at = 0; }
  add(d: Uint8Array, off: number, len: number, flags: number, payload: number, seqAdd: number): void {
    const n = writeTcpAnswer(this.data, this.at, d, off, len, flags, payload, seqAdd);
    this.offsets[this.count] = this.at;
    this.lengths[this.count++] = n;
    this.at += n;
  }
}

/**
 * The server's answers to a segment: SYN -> SYN|ACK (the server's sequence starts at 0); the handshake's ACK
 * (it acknowledges 1: the SYN) -> 1 byte, then FIN; the client's ACK of the FIN (3) and its RST: none.
 */
export function serverAnswers(a: AnswerBatch, d: Uint8Array, off: number, len: number): void {
  const l4 = off + (d[off]! & 15) * 4;
  const flags = d[l4 + 13]!;
  if ((flags & TCP_RST) !== 0) return;
  if ((flags & TCP_SYN) !== 0) a.add(d, off, len, TCP_SYN | TCP_ACK, 0, 0);
  else if (d[l4 + 11] === 1 && d[l4 + 10] === 0 && d[l4 + 9] === 0 && d[l4 + 8] === 0) {
    a.add(d, off, len, TCP_PSH | TCP_ACK, 1, 0);
    a.add(d, off, len, TCP_FIN | TCP_ACK, 0, 1);
  }
}

/** The client's answers: SYN|ACK -> ACK; FIN -> ACK, then RST (the session answered: returns 1). */
export function clientAnswers(a: AnswerBatch, d: Uint8Array, off: number, len: number): number {
  const ihl = (d[off]! & 15) * 4;
  const flags = d[off + ihl + 13]!;
  if ((flags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK)) {
    a.add(d, off, len, TCP_ACK, 0, 0);
    return 0;
  }
  if ((flags & TCP_FIN) === 0) return 0;
  a.add(d, off, len, TCP_ACK, 0, 0);
  a.add(d, off, len, TCP_RST, 0, 0);
  return 1;
}
