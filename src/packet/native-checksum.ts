/**
 * The addon's checksumSum (native/checksum.c), when the addon is built; null otherwise (the JS sum in
 * checksum.ts then does all the work). Loaded once, synchronously, at first import.
 */
import { tryLoadAddon } from '../native/addon.js';

export type NativeChecksumSum = (data: Uint8Array, offset: number, length: number) => number;

function load(): NativeChecksumSum | null {
  if (process.env['SVR_NATIVE_CHECKSUM'] === '0') return null; // to measure or test the JS path alone
  const mod = tryLoadAddon();
  // an addon that is missing or does not load: the JS sum is correct, only slower
  return !(mod instanceof Error) && typeof mod['checksumSum'] === 'function' ? (mod['checksumSum'] as NativeChecksumSum) : null;
}

export const nativeChecksumSum: NativeChecksumSum | null = load();
