/**
 * Time this process could have run since a start: wall time less the longest any of its threads waited on a run
 * queue for a CPU (Linux schedstat, /proc/self/task/<tid>/schedstat: run_delay). A deadline counted on it bounds
 * what the process did, not how loaded the machine is: a worker thread starting up at load 30 on 2 vCPUs waits
 * for a CPU most of the time (measured at load 11: 75 ms running, 130-280 ms waiting, of a 400 ms start), while
 * a worker that hangs (blocked, or spinning with the CPU to itself) reaches the deadline as before. Where
 * schedstat cannot be read, wall time.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** ns each thread of this process has waited for a CPU, by tid */
function threadWaits(): Map<string, number> {
  const waits = new Map<string, number>();
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      try {
        waits.set(tid, Number(readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[1]));
      } catch {
        // the thread ended meanwhile
      }
    }
  } catch {
    // no /proc: wall time only
  }
  return waits;
}

/** A function giving the ms this process could have run since it was called (see above). */
export function runnableSince(): () => number {
  const t0 = performance.now();
  const w0 = threadWaits();
  return () => {
    let waited = 0;
    for (const [tid, w] of threadWaits()) {
      const d = w - (w0.get(tid) ?? 0);
      if (Number.isFinite(d) && d > waited) waited = d;
    }
    return Math.max(0, performance.now() - t0 - waited / 1e6);
  };
}
