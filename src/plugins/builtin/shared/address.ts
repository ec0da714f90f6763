/** Address helpers for hooks (hashing, no allocation) and control (text). */
import { formatAddress } from '../../../packet/addr.js';

/** FNV-1a over the address bytes (4 for IPv4, 16 for IPv6), masked to `mask` (a power of two minus one). */
export function addressBucket(a: Uint8Array, family: 4 | 6, mask: number): number {
  let h = 0x811c9dc5;
  const n = family === 6 ? 16 : 4;
  for (let i = 0; i < n; i++) h = Math.imul(h ^ a[i]!, 0x01000193);
  h ^= h >>> 15;
  return (h >>> 0) & mask;
}

export function addressText(a: Uint8Array, off: number, family: 4 | 6): string {
  return formatAddress(a, off, family);
}
