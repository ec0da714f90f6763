/** CPU seconds of the calling thread (/proc/thread-self/stat: utime + stime at 100 ticks a second). */
import { readFileSync } from 'node:fs';

export function threadCpu(): number {
  const stat = readFileSync('/proc/thread-self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}
