/** This process's memory mappings as /proc/self/smaps lists them (the huge-page tests). */
import { readFileSync } from 'node:fs';

/** Sizes (kB) of this process's mappings, and whether each was advised for huge pages (smaps VmFlags `hg`). */
export function mappings(): { kB: number; huge: boolean }[] {
  const out: { kB: number; huge: boolean }[] = [];
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (range !== null) out.push({ kB: (parseInt(range[2]!, 16) - parseInt(range[1]!, 16)) / 1024, huge: false });
    else if (line.startsWith('VmFlags:') && out.length > 0) out[out.length - 1]!.huge = / hg\b/.test(line);
  }
  return out;
}
