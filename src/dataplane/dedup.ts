/**
 * Drops the second copy of a packet that travelled on both paths of a duplicated session. A packet's
 * fingerprint (IPv4 id, L4 checksum and length, the first 32 payload bytes) is remembered per session for
 * WINDOW_MS: long enough for the slower path's copy, shorter than a TCP retransmission timeout, so a
 * sender's own retransmission is never mistaken for a duplicate.
 */
import { readU16 } from '../packet/checksum.js';
import { PROTO_TCP, PROTO_UDP, type PacketInfo } from '../packet/ip.js';

const WINDOW_MS = 150;
const RING = 128;

class Ring {
  gen = 0;
  readonly hash = new Uint32Array(RING);
  readonly at = new Float64Array(RING).fill(-Infinity);
  pos = 0;
}

export class Deduplicator {
  private readonly rings = new Map<number, Ring>();

  /** True when the same packet was seen on session (row, gen) within the window; records it otherwise. */
  seen(row: number, gen: number, d: Uint8Array, pi: PacketInfo, now: number): boolean {
    let ring = this.rings.get(row);
    if (ring === undefined || ring.gen !== gen) {
      if (this.rings.size > 65536) this.rings.clear(); // bounded: a cleared ring only costs one missed duplicate
      ring = new Ring();
      ring.gen = gen;
      this.rings.set(row, ring);
    }
    const h = fingerprint(d, pi);
    for (let i = 0; i < RING; i++) {
      if (ring.hash[i] === h && now - ring.at[i]! <= WINDOW_MS) return true;
    }
    ring.hash[ring.pos] = h;
    ring.at[ring.pos] = now;
    ring.pos = (ring.pos + 1) % RING;
    return false;
  }
}

function fingerprint(d: Uint8Array, pi: PacketInfo): number {
  let h = 0x811c9dc5;
  const mix = (x: number) => {
    h = Math.imul(h ^ x, 0x01000193);
  };
  if (pi.family === 4) mix(readU16(d, pi.l3 + 4));
  const cs = pi.protocol === PROTO_TCP ? pi.l4 + 16 : pi.protocol === PROTO_UDP ? pi.l4 + 6 : pi.l4 + 2;
  mix(readU16(d, cs));
  mix(pi.end - pi.l4);
  const n = Math.min(32, pi.end - pi.payload);
  for (let i = 0; i < n; i++) mix(d[pi.payload + i]!);
  return h >>> 0;
}
