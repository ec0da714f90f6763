/**
 * Where a router's round trip goes, per thread (docs/performance.md "Accounting a round trip"): CPU (schedstat, the
 * scheduler's clock) and sleeps (voluntary context switches: each ends in a wake-up) of every thread of the router
 * processes, grouped by role: `main` (the event loop: control and the in-thread data path), the node's named threads
 * (svr-tun-read, svr-tun-write, the records thread), `v8` (the other threads of Node, all named `node`: V8's GC and
 * compiler tasks, libuv's pool) and `other` (another program's other threads, e.g. wireguard-go's Go threads).
 */
import { readFileSync } from 'node:fs';
import { threadCpu, threadGroups } from './cpu.js';

/** CPU ns and sleeps of one group of threads. */
export interface ThreadUse {
  ns: number;
  sleeps: number;
}

/** Every thread of `pid` by group (see above); empty when the process is gone. */
export function threadUse(pid: number): Map<string, ThreadUse> {
  const out = new Map<string, ThreadUse>();
  for (const [tid, { name }] of threadCpu(pid)) addUse(out, pid, tid, tid === pid ? 'main' : name.startsWith('svr-') ? name : name === 'node' ? 'v8' : 'other');
  return out;
}

/** Adds thread `tid`'s CPU ns (schedstat) and sleeps (voluntary switches) to `group` of `out`; nothing when it ended. */
function addUse(out: Map<string, ThreadUse>, pid: number, tid: number, group: string): void {
  try {
    const dir = `/proc/${pid}/task/${tid}`;
    const ns = Number(readFileSync(`${dir}/schedstat`, 'utf8').split(' ')[0]);
    const sleeps = Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(readFileSync(`${dir}/status`, 'utf8'))?.[1] ?? 0);
    const g = out.get(group) ?? { ns: 0, sleeps: 0 };
    g.ns += ns;
    g.sleeps += sleeps;
    out.set(group, g);
  } catch {
    // the thread ended
  }
}

/**
 * Every thread of `pid` by the visibility case's groups (cpu.ts ThreadGroup: main, records, tun, v8 as V8's platform
 * threads, other as libuv's pool running LevelDB's calls and LevelDB's own threads) on the scheduler's clock, with
 * their sleeps; empty when the process is gone. `seen` keeps the groups of threads seen before (a group is fixed by
 * the order of thread ids, so a thread keeps its group when others end).
 */
export function threadGroupUse(pid: number, seen: Map<number, string> = new Map()): Map<string, ThreadUse> {
  const threads = threadCpu(pid);
  for (const [tid, g] of threadGroups(pid, threads)) if (!seen.has(tid)) seen.set(tid, g);
  const out = new Map<string, ThreadUse>();
  for (const tid of threads.keys()) addUse(out, pid, tid, seen.get(tid)!);
  return out;
}

/** What the processes' threads used between two snapshots (one per process, in order), per group, divided by `n`. */
export function threadUsePer(before: readonly Map<string, ThreadUse>[], after: readonly Map<string, ThreadUse>[], n: number): Record<string, { cpuUs: number; sleeps: number }> {
  const sum = new Map<string, { cpuUs: number; sleeps: number }>();
  after.forEach((a, k) => {
    for (const [group, u] of a) {
      const b = before[k]?.get(group) ?? { ns: 0, sleeps: 0 };
      const s = sum.get(group) ?? { cpuUs: 0, sleeps: 0 };
      s.cpuUs += (u.ns - b.ns) / 1000 / n;
      s.sleeps += (u.sleeps - b.sleeps) / n;
      sum.set(group, s);
    }
  });
  return Object.fromEntries([...sum].sort((x, y) => y[1].cpuUs - x[1].cpuUs));
}

/** "main 113.0 µs 3.9 sleeps, v8 9.1 µs 0.03 sleeps, ..." (groups under 0.5 µs left out). */
export function formatThreadUse(t: Record<string, { cpuUs: number; sleeps: number }>): string {
  return Object.entries(t).filter(([, u]) => u.cpuUs >= 0.5).map(([g, u]) => `${g} ${u.cpuUs.toFixed(1)} µs ${u.sleeps.toFixed(2)} sleeps`).join(', ');
}
