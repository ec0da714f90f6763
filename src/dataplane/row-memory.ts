/**
 * Memory for the session table's row columns (native/row-memory.c): `reserve(bytes)` maps an ArrayBuffer
 * whose pages become resident only when first written, so a table reserved for its session limit costs
 * the rows it has used and never copies rows to grow; `release(buffer, byteOffset, byteLength)` gives the
 * whole pages inside a range back (they read as zeros after). Null without the addon (or with
 * SVR_NATIVE_ROWS=0, to measure or test the other way): the table then grows by doubling and keeps its pages.
 */
import { tryLoadAddon } from '../native/addon.js';

export interface RowMemory {
  /** huge: backed by 2 MiB pages where the kernel can (transparent huge pages, MADV_HUGEPAGE) */
  reserve(bytes: number, huge?: boolean): ArrayBuffer;
  release(buffer: ArrayBufferLike, byteOffset: number, byteLength: number): number;
}

type Resident = (buffer: ArrayBufferLike) => number;

/** The buffers reserve() mapped (residentBytes asks the kernel about them). */
const reserved = new WeakSet<ArrayBufferLike>();
let resident: Resident | null = null;

function load(): RowMemory | null {
  if (process.env['SVR_NATIVE_ROWS'] === '0') return null;
  const mod = tryLoadAddon();
  if (mod instanceof Error || typeof mod['reserveMemory'] !== 'function' || typeof mod['releaseMemory'] !== 'function' || typeof mod['residentMemory'] !== 'function') return null;
  const reserve = mod['reserveMemory'] as (bytes: number, huge: boolean) => ArrayBuffer;
  resident = mod['residentMemory'] as Resident;
  return {
    reserve: (bytes, huge = false) => {
      const b = reserve(bytes, huge);
      reserved.add(b);
      return b;
    },
    release: mod['releaseMemory'] as RowMemory['release'],
  };
}

export const rowMemory: RowMemory | null = load();

/** Bytes of `v` in memory: its resident pages when reserved, else its length (memory benchmark; not per packet). */
export function residentBytes(v: ArrayBufferView): number {
  return resident !== null && reserved.has(v.buffer) ? Math.min(v.byteLength, resident(v.buffer)) : v.byteLength;
}
