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

/** 8-4-4-4-12 lowercase form of a UUID held as 4 words. */
export function uuidString(words: Uint32Array, at: number): string {
  const h = (w: number) => words[at + w]!.toString(16).padStart(8, '0');
  const s = h(0) + h(1) + h(2) + h(3);
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}
