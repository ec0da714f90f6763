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

/** The two hex digits of each byte, as character codes (0-9a-f) */
const HEX_CODES = new Uint8Array(512);
for (let b = 0; b < 256; b++) {
  const h = b.toString(16).padStart(2, '0');
  HEX_CODES[2 * b] = h.charCodeAt(0);
  HEX_CODES[2 * b + 1] = h.charCodeAt(1);
}
/** Where byte k of a UUID's 16 goes in its 8-4-4-4-12 text */
const UUID_POS = [0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34];
/** the text's 36 character codes ('-' at 8, 13, 18, 23), rewritten per call */
const uuidCodes: number[] = new Array<number>(36).fill(0x2d);

/**
 * 8-4-4-4-12 lowercase form of a UUID held as 4 words: its 36 character codes written into one array and
 * made one flat string (String.fromCharCode): 100-160 ns a call where concatenating twelve 4-digit pieces
 * (a rope, flattened on first use) took 160-580 ns, side by side at load 21 (two per session and router).
 * Number#toString(16) went
 * through a double-to-radix conversion (fmod) and cost 9 % of r1's main thread at 20k new sessions/s.
 */
export function uuidString(words: Uint32Array, at: number): string {
  for (let k = 0; k < 16; k++) {
    const v = (words[at + (k >> 2)]! >>> (24 - 8 * (k & 3))) & 0xff;
    const p = UUID_POS[k]!;
    uuidCodes[p] = HEX_CODES[2 * v]!;
    uuidCodes[p + 1] = HEX_CODES[2 * v + 1]!;
  }
  return String.fromCharCode.apply(null, uuidCodes);
}
