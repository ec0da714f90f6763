/**
 * Drops the second copy of a packet that travelled on both paths of a duplicated session. A packet's
 * fingerprint (IPv4 id, L4 checksum and length, the first 32 payload bytes) is remembered per session for
 * 1 to 2 s: two sets that rotate every WINDOW_MS, so the slower path may lag the faster one by a second
 * whatever the packet rate. A sender's own retransmission is not mistaken for a copy: it has a new IPv4 id
 * (and, for TCP, usually a new ack or timestamp, hence a new checksum).
 * Cost: two Set lookups and one insert per packet of a duplicated session; memory grows with rate x window
 * only for duplicated sessions (each set is capped).
 */
import { readU16 } from '../packet/checksum.js';
import { PROTO_TCP, PROTO_UDP, type PacketInfo } from '../packet/ip.js';

const WINDOW_MS = 1000;
const MAX_PER_SET = 1 << 16;

class Seen {
  gen = 0;
  current = new Set<number>();
  previous = new Set<number>();
  rotatedAt = 0;
}

export class Deduplicator {
  private readonly sessions = new Map<number, Seen>();

  /** True when the same packet was seen on session (row, gen) within the window; records it otherwise. */
  seen(row: number, gen: number, d: Uint8Array, pi: PacketInfo, now: number): boolean {
    let st = this.sessions.get(row);
    if (st === undefined || st.gen !== gen) {
      if (this.sessions.size > 4096) this.sessions.clear(); // bounded (a row reused by a new session starts afresh by gen): a clear only costs missed duplicates
      st = new Seen();
      st.gen = gen;
      st.rotatedAt = now;
      this.sessions.set(row, st);
    }
    if (now - st.rotatedAt >= WINDOW_MS || st.current.size >= MAX_PER_SET) {
      const old = st.previous;
      old.clear();
      st.previous = st.current;
      st.current = old;
      st.rotatedAt = now;
    }
    const h = fingerprint(d, pi);
    if (st.current.has(h) || st.previous.has(h)) return true;
    st.current.add(h);
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
