/**
 * BFD and link tests of many paths in one process, on virtual time (issue 19 item 3): two PathSupervisors
 * back to back (a hub's and its spokes'), `--paths` paths at the default timers (BFD 1000/500 ms x 3, link
 * tests of 10 echoes every 10 s), run for `--seconds` of virtual time as fast as the CPU allows. It reports
 * the CPU time per virtual second (both sides; each side's share is about half) and the messages each way.
 * No I/O and no HMAC: the control plane's own cost per path, which the load of a shared machine scales
 * but does not distort (a ratio of two builds measured one after the other in one run holds).
 *
 *   node --expose-gc dist/bench/bfd-paths.js [--paths 2000] [--seconds 60] [--src DIR]
 *     --src: another build's dist/src (e.g. a snapshot of main) to compare with; default this build's
 *     --expose-gc: also the heap both sides hold per path after the warm-up
 */
import { fileURLToPath } from 'node:url';
import { Subject } from 'rxjs';
import type { ForwardingTables } from '../src/model/tables.js';
import type { PathStateChange, PathSupervisor, PathSupervisorDeps, PathSupervisorOptions } from '../src/paths/supervisor.js';
import { prng } from '../src/util/prng.js';

interface Timer { at: number; seq: number; fn: () => void; cancelled: boolean }

/** Virtual time with a binary heap of timers: setTimeout and each firing cost O(log n), as real timers do. */
class HeapTime {
  #now = 0;
  #seq = 0;
  readonly #heap: Timer[] = [];
  readonly now = (): number => this.#now;
  readonly setTimeout = (fn: () => void, ms: number): unknown => {
    const t: Timer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn, cancelled: false };
    this.#push(t);
    return t;
  };
  readonly clearTimeout = (h: unknown): void => {
    if (h !== null && h !== undefined) (h as Timer).cancelled = true;
  };

  runUntil(end: number): void {
    for (;;) {
      const t = this.#heap[0];
      if (t === undefined || t.at > end) break;
      this.#pop();
      if (t.cancelled) continue;
      this.#now = t.at;
      t.fn();
    }
    this.#now = end;
  }

  #less(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  #push(t: Timer): void {
    const h = this.#heap;
    h.push(t);
    for (let i = h.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (!this.#less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  #pop(): void {
    const h = this.#heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.#less(h[l]!, h[m]!)) m = l;
      if (r < h.length && this.#less(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

export interface BfdPathsResult {
  paths: number;
  virtualSeconds: number;
  /** CPU (user + system) of the process per virtual second, both sides, ms */
  cpuMsPerSecond: number;
  /** messages per virtual second, both directions */
  messagesPerSecond: number;
  /** CPU per message, µs */
  cpuUsPerMessage: number;
  /** paths usable on each side at the end */
  usable: [number, number];
  /** BFD packets received in the window and how many took the fast path (`bfd-rx-steady`; 0 in a build without one) */
  bfdRx: number;
  bfdRxSteady: number;
  /** heap held per path after warm-up, both sides' supervisors (with --expose-gc; else undefined) */
  heapBytesPerPath?: number;
}

type SupervisorClass = new (deps: PathSupervisorDeps, opts?: PathSupervisorOptions) => PathSupervisor;

export async function measureBfdPaths(paths: number, seconds: number, src?: string): Promise<BfdPathsResult> {
  const mod = (await import(src === undefined ? '../src/paths/supervisor.js' : `${src}/paths/supervisor.js`)) as { PathSupervisor: SupervisorClass };
  const vt = new HeapTime();
  const bfd = { desiredTxMs: 1000, requiredMinRxMs: 500, multiplier: 3, holdDownMs: 5000, linkTestIntervalMs: 10_000, linkTestLength: 10 };
  const tables = { generation: 1, paths: Array.from({ length: paths }, (_, id) => ({ id, name: `path-${id}`, vector: 'v', bfd })) } as unknown as ForwardingTables;
  const inbox = [new Subject<{ path: number; payload: Uint8Array; atMs: number }>(), new Subject<{ path: number; payload: Uint8Array; atMs: number }>()];
  let messages = 0;
  const usable = [new Set<number>(), new Set<number>()];
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const heap0 = process.memoryUsage().heapUsed;
  const side = (me: 0 | 1): PathSupervisor => {
    const s = new mod.PathSupervisor({
      tables: () => tables,
      // a 0.2 ms link; the payload copied as a wire would
      send: (path, payload) => {
        messages++;
        const copy = payload.slice();
        vt.setTimeout(() => inbox[1 - me]!.next({ path, payload: copy, atMs: vt.now() }), 0.2);
        return true;
      },
      messages$: inbox[me]!,
      now: vt.now, setTimeout: vt.setTimeout, clearTimeout: vt.clearTimeout,
    }, { random: prng(me + 1) });
    s.state$.subscribe((c: PathStateChange) => (c.usable ? usable[me]!.add(c.path) : usable[me]!.delete(c.path)));
    s.start();
    return s;
  };
  const sides = [side(0), side(1)];
  vt.runUntil(30_000); // up (1 s slow start), past the hold-down, link tests running
  gc?.();
  const heapBytesPerPath = gc === undefined ? undefined : (process.memoryUsage().heapUsed - heap0) / paths;
  const m0 = messages;
  const counter = (name: string): number => sides.reduce((a, s) => a + (s.counters()[name] ?? 0), 0);
  const rx0 = counter('bfd-rx');
  const steady0 = counter('bfd-rx-steady');
  const c0 = process.cpuUsage();
  vt.runUntil(30_000 + seconds * 1000);
  const c = process.cpuUsage(c0);
  const n = messages - m0;
  const bfdRx = counter('bfd-rx') - rx0;
  const bfdRxSteady = counter('bfd-rx-steady') - steady0;
  for (const s of sides) s.stop();
  const cpuMs = (c.user + c.system) / 1000;
  return {
    paths, virtualSeconds: seconds, cpuMsPerSecond: cpuMs / seconds, messagesPerSecond: n / seconds, cpuUsPerMessage: (cpuMs * 1000) / n,
    usable: [usable[0]!.size, usable[1]!.size], bfdRx, bfdRxSteady, ...(heapBytesPerPath === undefined ? {} : { heapBytesPerPath }),
  };
}

async function main(): Promise<void> {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(name);
    return i < 0 ? undefined : process.argv[i + 1];
  };
  const r = await measureBfdPaths(Number(arg('--paths') ?? 2000), Number(arg('--seconds') ?? 60), arg('--src'));
  console.log(JSON.stringify(r));
  if (r.usable[0] !== r.paths || r.usable[1] !== r.paths) {
    console.error(`not comparable: only ${r.usable.join(' and ')} of ${r.paths} paths usable at the end`);
    process.exitCode = 3;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
