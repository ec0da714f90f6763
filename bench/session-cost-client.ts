/**
 * The arithmetic of bench/session-cost.ts, apart so a unit test holds it: which 5-tuple the n-th new session
 * uses, the datagram written for it, and the figures the run prints from what it measured.
 */
import { writeU16 } from '../src/packet/checksum.js';
import { fillIpv4HeaderChecksum } from '../src/packet/rewrite.js';

/** Source addresses x.x.x.128-191, source ports 20000-59999, then the next destination port: distinct for 64 × 40,000 × 1,024 sessions. */
export const SOURCES = 64;
export const SOURCE_PORTS = 40_000;
export const FIRST_SOURCE_PORT = 20_000;
export const DESTINATION_PORTS = 1024;

export interface SessionTuple {
  /** the source address's last byte */
  srcLastByte: number;
  srcPort: number;
  dstPort: number;
}

/** The n-th session's varying fields, from `firstDstPort` (the service's first UDP port). */
export function sessionTuple(n: number, firstDstPort: number): SessionTuple {
  return {
    srcLastByte: 128 + (n % SOURCES),
    srcPort: FIRST_SOURCE_PORT + (Math.floor(n / SOURCES) % SOURCE_PORTS),
    dstPort: firstDstPort + (Math.floor(n / (SOURCES * SOURCE_PORTS)) % DESTINATION_PORTS),
  };
}

/**
 * Writes the n-th session's datagram at `at` in `batch`: the IPv4/UDP template with the session's source
 * address and ports, a fresh IPv4 header checksum (the source changed) and the UDP checksum off (0: none, IPv4).
 */
export function writeSessionDatagram(batch: Uint8Array, at: number, template: Uint8Array, n: number, firstDstPort: number): void {
  const s = sessionTuple(n, firstDstPort);
  batch.set(template, at);
  batch[at + 15] = s.srcLastByte;
  writeU16(batch, at + 20, s.srcPort);
  writeU16(batch, at + 22, s.dstPort);
  writeU16(batch, at + 26, 0);
  fillIpv4HeaderChecksum(batch, at);
}

export interface CostFigures {
  /** process CPU (user + system) over the run, µs */
  cpuUs: number;
  answered: number;
  /** from the first session sent to the last answer, ms */
  busyMs: number;
}

/** CPU µs per answered session (every part in the process: both routers, the client, the echo), answered per busy second, CPU s. */
export function costSummary(f: CostFigures): { usPerSession: number; perSecond: number; cpuS: number } {
  return {
    usPerSession: +(f.cpuUs / Math.max(1, f.answered)).toFixed(2),
    perSecond: Math.round(f.answered / Math.max(1e-3, f.busyMs / 1000)),
    cpuS: +(f.cpuUs / 1e6).toFixed(2),
  };
}
