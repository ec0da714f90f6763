/** CPU time of processes from /proc/<pid>/stat (utime + stime of all threads, or of the main thread, in seconds). */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { RECORDS_THREAD_NAME } from '../src/telemetry/records-thread.js';

let clkTck = 0;

export function ticksPerSecond(): number {
  if (clkTck === 0) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/**
 * A /proc/<pid>/stat (or task stat) line: the thread's name (field 2, between the first '(' and the last ')', which may
 * hold spaces) and the fields after it (`fields[0]` is field 3, state: utime is fields[11], stime fields[12], ppid fields[1],
 * cutime fields[13], cstime fields[14]).
 */
export function procStat(path: string): { name: string; fields: string[] } {
  const stat = readFileSync(path, 'utf8');
  const end = stat.lastIndexOf(')');
  return { name: stat.slice(stat.indexOf('(') + 1, end), fields: stat.slice(end + 2).split(' ') };
}

/** utime + stime of `pid` in seconds (all its threads, or its main thread only), or NaN when it is gone. */
export function cpuSeconds(pid: number, mainThread = false): number {
  try {
    const { fields } = procStat(mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`);
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return NaN;
  }
}

/** cutime + cstime of `pid` in seconds: its children (and theirs) that ended and it waited for, or NaN when it is gone. */
export function childrenCpuSeconds(pid: number): number {
  try {
    const { fields } = procStat(`/proc/${pid}/stat`);
    return (Number(fields[13]) + Number(fields[14])) / ticksPerSecond();
  } catch {
    return NaN;
  }
}

/**
 * CPU time of every thread of `pid` in ns (each /proc/<pid>/task/<tid>/schedstat, the scheduler's own clock: no 10 ms
 * ticks), or NaN when the process is gone. A thread that ended since an earlier call is missing from the sum.
 */
export function processCpuNs(pid: number): number {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return NaN;
  }
  let ns = 0;
  for (const tid of tids) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended
    }
  }
  return ns;
}

/** CPU seconds of each thread of `pid` by thread id, with its name (/proc/<pid>/task/<tid>/comm), and of them in the kernel. */
export function threadCpu(pid: number): Map<number, { name: string; seconds: number; system: number }> {
  const out = new Map<number, { name: string; seconds: number; system: number }>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const { name, fields } = procStat(`/proc/${pid}/task/${tid}/stat`);
      out.set(Number(tid), { name, seconds: (Number(fields[11]) + Number(fields[12])) / ticksPerSecond(), system: Number(fields[12]) / ticksPerSecond() });
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** CPU seconds each thread (`<name>/<tid>`) spent between two threadCpu() snapshots (threads that started in between count whole). */
export function threadCpuDelta(before: Map<number, { name: string; seconds: number }>, after: Map<number, { name: string; seconds: number }>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [tid, t] of after) out.set(`${t.name}/${tid}`, t.seconds - (before.get(tid)?.seconds ?? 0));
  return out;
}

/** The machine's CPU seconds stolen by the hypervisor (/proc/stat's steal: counted in machineBusySeconds, run by no guest thread). */
export function machineStealSeconds(): number {
  return Number(readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/)[8]) / ticksPerSecond();
}

/** The kernel's threads by what they run: softirqs deferred to ksoftirqd, workqueues (kworkers: writeback, ...), the others. */
const KERNEL_GROUPS: readonly [prefix: string, group: string][] = [['ksoftirqd/', 'softirqd'], ['kworker/', 'kworkers']];

/**
 * CPU seconds of the machine's processes outside the routers (utime + stime of all their live threads), by group: each
 * named network namespace's processes (`names`: group → namespace, matched by /proc/<pid>/ns/net against
 * /run/netns/<namespace>), and the kernel's threads (all the machine's, not only the lab's work): `softirqd`,
 * `kworkers`, `kernel` (the others: RCU, memory). A process that ended since an earlier call is missing from the sum.
 */
export function machineGroupSeconds(names: Record<string, string>): Record<string, number> {
  const out: Record<string, number> = { softirqd: 0, kworkers: 0, kernel: 0 };
  const byInode = new Map<string, string>();
  for (const [group, ns] of Object.entries(names)) {
    out[group] = 0;
    try {
      byInode.set(`net:[${statSync(`/run/netns/${ns}`).ino}]`, group);
    } catch {
      // no such namespace (yet)
    }
  }
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const { name, fields } = procStat(`/proc/${p}/stat`);
      // fields[1] is field 4 (ppid): 2 is kthreadd, the kernel's threads' parent
      let group: string | undefined;
      if (p === '2' || fields[1] === '2') {
        group = KERNEL_GROUPS.find(([prefix]) => name.startsWith(prefix))?.[1] ?? 'kernel';
      } else group = byInode.get(readlinkSync(`/proc/${p}/ns/net`));
      if (group !== undefined) out[group]! += (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
    } catch {
      // the process ended
    }
  }
  return out;
}

/** The machine's busy CPU seconds, all cores (/proc/stat: everything but idle and iowait; guest time is in user). */
export function machineBusySeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return f.reduce((a, b, i) => (i === 3 || i === 4 || i >= 8 ? a : a + b), 0) / ticksPerSecond();
}

/**
 * A router's threads as the visibility case accounts them: its main thread (control and the in-thread data
 * path), the records thread and the TUN readers and writers (named by the node: RECORDS_THREAD_NAME,
 * native/tun.c), V8's platform threads (the garbage collector's and the compiler's helpers: the first
 * V8_PLATFORM_THREADS threads node starts after the main one, all named `node`), and the other `node` threads:
 * libuv's pool (which runs LevelDB's reads and writes), LevelDB's compaction thread, node's own.
 */
export type ThreadGroup = 'main' | 'records' | 'tun' | 'v8' | 'other';
export const THREAD_GROUPS: readonly ThreadGroup[] = ['main', 'records', 'tun', 'v8', 'other'];
/** node 20 starts V8's platform first: a delayed-task thread and its worker pool (--v8-pool-size, default 4) */
export const V8_PLATFORM_THREADS = 5;

type Threads = Map<number, { name: string; seconds: number; system?: number }>;

/** The group of each thread of `pid` seen in any of the snapshots. */
export function threadGroups(pid: number, ...snapshots: Threads[]): Map<number, ThreadGroup> {
  const names = new Map<number, string>();
  for (const s of snapshots) for (const [tid, t] of s) names.set(tid, t.name);
  const out = new Map<number, ThreadGroup>();
  let platform = 0;
  for (const tid of [...names.keys()].sort((a, b) => a - b)) {
    const name = names.get(tid)!;
    if (tid === pid) out.set(tid, 'main');
    else if (name === RECORDS_THREAD_NAME) out.set(tid, 'records');
    else if (name.startsWith('svr-tun-')) out.set(tid, 'tun');
    else out.set(tid, platform++ < V8_PLATFORM_THREADS ? 'v8' : 'other');
  }
  return out;
}

/** CPU seconds of `pid`'s threads of `group` (threadGroups), NaN when it is gone. */
export function groupSeconds(pid: number, group: ThreadGroup): number {
  const threads = threadCpu(pid);
  if (threads.size === 0) return NaN;
  let s = 0;
  for (const [tid, g] of threadGroups(pid, threads)) if (g === group) s += threads.get(tid)!.seconds;
  return s;
}

/** CPU seconds of `pid`'s thread groups between two threadCpu() snapshots (threads that started in between count whole; one that ended in between is missing). */
export function groupCpuDelta(pid: number, before: Threads, after: Threads): Record<ThreadGroup, number> {
  const out: Record<ThreadGroup, number> = { main: 0, records: 0, tun: 0, v8: 0, other: 0 };
  const groups = threadGroups(pid, before, after);
  for (const [tid, t] of after) out[groups.get(tid)!] += t.seconds - (before.get(tid)?.seconds ?? 0);
  return out;
}

/**
 * µs of user and of kernel time per unit (`n` units) of `pid`'s threads between two threadCpu() snapshots, by thread
 * name (`main` for the main thread; a TUN reader's and writer's native names; V8's and libuv's threads as `node`).
 */
export function userSystemPer(pid: number, before: Threads, after: Threads, n: number): Record<string, { user: number; system: number }> {
  const out: Record<string, { user: number; system: number }> = {};
  for (const [tid, t] of after) {
    const b = before.get(tid) ?? { seconds: 0, system: 0 };
    const g = (out[tid === pid ? 'main' : t.name] ??= { user: 0, system: 0 });
    const system = (t.system ?? 0) - (b.system ?? 0);
    g.system += (system * 1e6) / n;
    g.user += ((t.seconds - b.seconds - system) * 1e6) / n;
  }
  return out;
}

/** "main 12.1 + 3.0 sys, svr-tun-write 0.4 + 6.2 sys, ..." (µs, groups under 0.5 µs left out). */
export function formatUserSystem(t: Record<string, { user: number; system: number }>): string {
  return Object.entries(t).filter(([, u]) => u.user + u.system >= 0.5).sort((x, y) => y[1].user + y[1].system - x[1].user - x[1].system)
    .map(([g, u]) => `${g} ${u.user.toFixed(1)} + ${u.system.toFixed(1)} sys`).join(', ');
}
