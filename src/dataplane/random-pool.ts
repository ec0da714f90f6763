/**
 * Random bytes for session UUIDs without a syscall or allocation per session: one 64 KiB fill from
 * node:crypto serves 4096 UUIDs.
 */
import { randomFillSync } from 'node:crypto';

export class RandomPool {
  private readonly pool = new Uint8Array(65536);
  private pos = this.pool.length;

  /** Writes an RFC 4122 version-4 UUID as 4 big-endian words into out[at, at+4). */
  uuidWords(out: Uint32Array, at: number): void {
    if (this.pos + 16 > this.pool.length) {
      randomFillSync(this.pool);
      this.pos = 0;
    }
    const p = this.pool;
    const o = this.pos;
    this.pos += 16;
    p[o + 6] = (p[o + 6]! & 0x0f) | 0x40; // version 4
    p[o + 8] = (p[o + 8]! & 0x3f) | 0x80; // RFC 4122 variant
    for (let w = 0; w < 4; w++) {
      const b = o + 4 * w;
      out[at + w] = ((p[b]! << 24) | (p[b + 1]! << 16) | (p[b + 2]! << 8) | p[b + 3]!) >>> 0;
    }
  }
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** Two bytes of w as 4 hex digits (hi: the upper two bytes). */
function hex4(w: number, hi: boolean): string {
  return hi ? HEX[w >>> 24]! + HEX[(w >>> 16) & 0xff]! : HEX[(w >>> 8) & 0xff]! + HEX[w & 0xff]!;
}

/**
 * 8-4-4-4-12 lowercase form of a UUID held as 4 words. A table of byte strings: Number#toString(16) went
 * through a double-to-radix conversion (fmod) and cost 9 % of r1's main thread at 20k new sessions/s.
 */
export function uuidString(words: Uint32Array, at: number): string {
  const a = words[at]!;
  const b = words[at + 1]!;
  const c = words[at + 2]!;
  const d = words[at + 3]!;
  return `${hex4(a, true)}${hex4(a, false)}-${hex4(b, true)}-${hex4(b, false)}-${hex4(c, true)}-${hex4(c, false)}${hex4(d, true)}${hex4(d, false)}`;
}
