/** CPU seconds and minor page faults of the calling thread (/proc/thread-self/stat: utime + stime at 100 ticks
 *  a second, minflt). */
import { readFileSync } from 'node:fs';

function threadStat(): string[] {
  const stat = readFileSync('/proc/thread-self/stat', 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

export function threadCpu(): number {
  const f = threadStat();
  return (Number(f[11]) + Number(f[12])) / 100;
}

export function threadFaults(): number {
  return Number(threadStat()[7]);
}
