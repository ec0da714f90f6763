/**
 * Arithmetic in GF(2^8) (polynomial x^8 + x^4 + x^3 + x^2 + 1, 0x11d; generator 2) for the FEC erasure code:
 * a full multiplication table (64 KiB: MUL[a << 8 | b]) for the per-byte loops, and the small matrix
 * inversion a rebuild needs. Addition is XOR.
 */
const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= 0x11d;
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255]!;
}

export const GF_MUL = new Uint8Array(65536);
for (let a = 1; a < 256; a++) for (let b = 1; b < 256; b++) GF_MUL[(a << 8) | b] = EXP[LOG[a]! + LOG[b]!]!;

/** 2^e: the coefficient of data packet i in parity row j is gfPow(j * i). */
export function gfPow(e: number): number {
  return EXP[e % 255]!;
}

function gfInverse(a: number): number {
  return EXP[255 - LOG[a]!]!;
}

/**
 * Inverts the n x n matrix m (row-major) in place into `inv`; false when it is singular. Gauss-Jordan;
 * n is at most the FEC parity count (4), so this is a few dozen operations.
 */
export function gfInvert(m: Uint8Array, n: number, inv: Uint8Array): boolean {
  inv.fill(0, 0, n * n);
  for (let i = 0; i < n; i++) inv[i * n + i] = 1;
  for (let c = 0; c < n; c++) {
    let p = c;
    while (p < n && m[p * n + c] === 0) p++;
    if (p === n) return false;
    if (p !== c) {
      for (let k = 0; k < n; k++) {
        let t = m[c * n + k]!; m[c * n + k] = m[p * n + k]!; m[p * n + k] = t;
        t = inv[c * n + k]!; inv[c * n + k] = inv[p * n + k]!; inv[p * n + k] = t;
      }
    }
    const f = gfInverse(m[c * n + c]!) << 8;
    for (let k = 0; k < n; k++) {
      m[c * n + k] = GF_MUL[f | m[c * n + k]!]!;
      inv[c * n + k] = GF_MUL[f | inv[c * n + k]!]!;
    }
    for (let r = 0; r < n; r++) {
      const g = m[r * n + c]!;
      if (r === c || g === 0) continue;
      for (let k = 0; k < n; k++) {
        m[r * n + k] ^= GF_MUL[(g << 8) | m[c * n + k]!]!;
        inv[r * n + k] ^= GF_MUL[(g << 8) | inv[c * n + k]!]!;
      }
    }
  }
  return true;
}
