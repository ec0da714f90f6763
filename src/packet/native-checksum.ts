/**
 * The addon's checksumSum (native/checksum.c), when the addon is built; null otherwise (the JS sum in
 * checksum.ts then does all the work). Loaded once, synchronously, at first import.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { NATIVE_ADDON_RELATIVE_PATH, findPackageRoot } from '../io/tun/native.js';

export type NativeChecksumSum = (data: Uint8Array, offset: number, length: number) => number;

function load(): NativeChecksumSum | null {
  if (process.env['SVR_NATIVE_CHECKSUM'] === '0') return null; // to measure or test the JS path alone
  try {
    const file = join(findPackageRoot(), NATIVE_ADDON_RELATIVE_PATH);
    if (!existsSync(file)) return null;
    const mod = createRequire(import.meta.url)(file) as { checksumSum?: NativeChecksumSum };
    return typeof mod.checksumSum === 'function' ? mod.checksumSum : null;
  } catch {
    return null; // an addon that does not load: the JS sum is correct, only slower
  }
}

export const nativeChecksumSum: NativeChecksumSum | null = load();
