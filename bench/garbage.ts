/**
 * Garbage per new session on the SVR path, in process (no TUN, no control plane): r1's data path (ingress)
 * takes first packets of `--sessions` distinct flows (UDP datagrams, or TCP SYNs with --tcp) in batches of
 * 64; what it sends on its WAN is queued and fed to r2's (egress) every 4,096; then every session is removed on
 * both (idle expiry's path, `removeRow`). Each phase's JS heap bytes allocated are summed from V8's GC
 * statistics (`allocatedBytes`: the used heap's growth plus what every GC freed meanwhile), per session.
 * With --sites, a sampling heap profile (objects later collected included) names where, by function.
 * Each data path has the listener a node gives it, handshake episodes included (node-listener.ts; `--listener none|objects|node`).
 * Run: node dist/bench/garbage.js [--sessions 65536] [--tcp] [--sites] [--listener node]
 */
import { Session } from 'node:inspector';
import { GCProfiler } from 'node:v8';
import { fileURLToPath } from 'node:url';
import { Dataplane } from '../src/dataplane/dataplane.js';
import type { PacketPort } from '../src/dataplane/port.js';
import { compileRouter } from '../src/model/compile.js';
import { parseConfig } from '../src/model/validate.js';
import { parseAddress } from '../src/packet/addr.js';
import { writeSessionSyn, TCP_SEGMENT } from './session-cost-tcp.js';
import { svrConfigYaml, TCP_SESSION_PORT } from './svr-config.js';
import { SERVER } from './topology.js';
import { stampFlows, udpSlab } from './udp-slab.js';
import { listenerArg, nodeListener, type ListenerKind } from './node-listener.js';

/** JS heap bytes `fn` allocated: the used heap's growth plus what each GC meanwhile freed. */
export function allocatedBytes(fn: () => void): number {
  const p = new GCProfiler();
  p.start();
  const before = process.memoryUsage().heapUsed;
  fn();
  const after = process.memoryUsage().heapUsed;
  let freed = 0;
  for (const s of p.stop()?.statistics ?? []) freed += s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize;
  return after - before + freed;
}

export interface GarbageResult {
  protocol: 'udp' | 'tcp';
  sessions: number;
  /** sessions each data path created */
  created: { r1: number; r2: number };
  /** JS heap bytes allocated per session each router created: its first packets, and its removals */
  bytesPerSession: { r1Open: number; r2Open: number; r1Remove: number; r2Remove: number };
  /** with --sites: sampled bytes per session by allocating function (file:line), largest first */
  sites?: { site: string; bytesPerSession: number }[];
  listener: ListenerKind;
}

/** sessions r1 opens before r2 takes their first packets */
const CHUNK = 4096;

class SinkPort implements PacketPort {
  constructor(readonly name: string, private readonly onBatch?: PacketPort['transmit']) {}
  start(): void {}
  transmit(data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): void {
    this.onBatch?.(data, offsets, lengths, count);
  }
  close(): void {}
}

/** Packets queued in one slab (r1's WAN output) to be fed to r2 in batches later. */
class Queue {
  data = new Uint8Array(1 << 20);
  offs = new Uint32Array(1 << 14);
  lens = new Uint32Array(1 << 14);
  n = 0;
  at = 0;
  push(d: Uint8Array, o: Uint32Array, l: Uint32Array, count: number): void {
    for (let i = 0; i < count; i++) {
      const len = l[i]!;
      if (this.at + len > this.data.length) this.grow(this.data.length * 2, this.offs.length);
      if (this.n === this.offs.length) this.grow(this.data.length, this.offs.length * 2);
      for (let k = 0, from = o[i]!; k < len; k++) this.data[this.at + k] = d[from + k]!; // no view object: not counted as the routers' garbage
      this.offs[this.n] = this.at;
      this.lens[this.n++] = len;
      this.at += len;
    }
  }
  private grow(bytes: number, slots: number): void {
    const d = new Uint8Array(bytes); d.set(this.data); this.data = d;
    const o = new Uint32Array(slots); o.set(this.offs); this.offs = o;
    const l = new Uint32Array(slots); l.set(this.lens); this.lens = l;
  }
}

type Sampled = { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: Sampled[] };

function post<T>(s: Session, method: string, params?: object): T {
  let out: T | undefined;
  let err: Error | null = null;
  s.post(method, params ?? {}, (e, r) => { err = e; out = r as T; }); // in-process sessions answer synchronously
  if (err !== null) throw err;
  return out as T;
}

function sitesOf(root: Sampled, per: number): GarbageResult['sites'] {
  const by = new Map<string, number>();
  const name = (f: Sampled['callFrame']): string => `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/dist\//, '')}:${f.lineNumber + 1}`;
  // a builtin (no script) is named with its caller: `subarray <- accept stages/svr-accept.js:183`
  const walk = (n: Sampled, parent: string): void => {
    const here = name(n.callFrame);
    if (n.selfSize > 0) {
      const k = n.callFrame.url === '' ? `${n.callFrame.functionName} <- ${parent}` : here;
      by.set(k, (by.get(k) ?? 0) + n.selfSize);
    }
    for (const c of n.children) walk(c, here);
  };
  walk(root, '');
  return [...by].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([site, b]) => ({ site, bytesPerSession: +(b / per).toFixed(1) }));
}

export function measureGarbage(sessions: number, tcp: boolean, sites: boolean, listener: ListenerKind = 'node'): GarbageResult {
  const config = parseConfig(svrConfigYaml({ encrypt: false }), 'bench');
  const t1 = compileRouter(config, 'r1', 1);
  const t2 = compileRouter(config, 'r2', 1);
  const wan = new Queue();
  const r2 = new Dataplane({ tables: t2, ports: t2.interfaces.map((i) => new SinkPort(`r2.${i.name}`)), ...nodeListener(t2, listener, true) });
  const r1 = new Dataplane({ tables: t1, ports: t1.interfaces.map((i) => new SinkPort(`r1.${i.name}`, i.name === 'wan0' ? (d, o, l, n) => wan.push(d, o, l, n) : undefined)), ...nodeListener(t1, listener, true) });
  const r1Lan = t1.interfaceIndex('lan0'), r2Wan = t2.interfaceIndex('wan0');
  r1.sessions.setLimit(Math.max(4096, 2 ** Math.ceil(Math.log2(sessions * 2))));
  r2.sessions.setLimit(r1.sessions.limit);
  const batch = 64;
  const udp = udpSlab(batch);
  const syn = { slab: new Uint8Array(batch * TCP_SEGMENT), offs: Uint32Array.from({ length: batch }, (_, k) => k * TCP_SEGMENT), lens: new Uint32Array(batch).fill(TCP_SEGMENT) };
  const src = parseAddress('198.18.1.128')!.bytes, dst = parseAddress(SERVER)!.bytes;
  const open = (first: number, count: number): void => {
    for (let at = first; at < first + count; at += batch) {
      const m = Math.min(batch, first + count - at);
      if (tcp) {
        for (let k = 0; k < m; k++) writeSessionSyn(syn.slab, k * TCP_SEGMENT, src, dst, at + k, TCP_SESSION_PORT);
        r1.receive(r1Lan, syn.slab, syn.offs, syn.lens, m);
      } else {
        stampFlows(udp.stamp, at, m);
        r1.receive(r1Lan, udp.slab, udp.offs, udp.lens, m);
      }
    }
  };
  const feedR2 = (): void => {
    for (let i = 0; i < wan.n; i += batch) r2.receive(r2Wan, wan.data, wan.offs.subarray(i), wan.lens.subarray(i), Math.min(batch, wan.n - i));
    wan.n = 0;
    wan.at = 0;
  };
  const removeAll = (dp: Dataplane): void => {
    const t = dp.sessions;
    for (let r = 0; r < t.capacity; r++) if (t.isActive(r)) dp.removeRow(r, t.gen[r]!, 'idle');
  };
  // warm up (code compiled, columns made, indexes sized) on sessions outside the measured ones
  const warm = Math.min(8192, sessions);
  open(sessions, warm);
  feedR2();
  removeAll(r1);
  removeAll(r2);

  const inspector = sites ? new Session() : null;
  if (inspector !== null) {
    inspector.connect();
    post(inspector, 'HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  }
  // r2 takes r1's packets a chunk at a time: signed packets older than the HMAC's time window would be dropped
  let r1Open = 0, r2Open = 0;
  for (let at = 0; at < sessions; at += CHUNK) {
    r1Open += allocatedBytes(() => open(at, Math.min(CHUNK, sessions - at)));
    r2Open += allocatedBytes(feedR2);
  }
  const created = { r1: r1.sessions.active, r2: r2.sessions.active };
  const r1Remove = allocatedBytes(() => removeAll(r1));
  const r2Remove = allocatedBytes(() => removeAll(r2));
  const res: GarbageResult = {
    protocol: tcp ? 'tcp' : 'udp', sessions, created, listener,
    bytesPerSession: { r1Open: r1Open / created.r1, r2Open: r2Open / created.r2, r1Remove: r1Remove / created.r1, r2Remove: r2Remove / created.r2 },
  };
  if (inspector !== null) {
    const { profile } = post<{ profile: { head: Sampled } }>(inspector, 'HeapProfiler.stopSampling');
    inspector.disconnect();
    res.sites = sitesOf(profile.head, sessions);
  }
  return res;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const i = process.argv.indexOf('--sessions');
  const n = i >= 0 ? Number(process.argv[i + 1]) : 65_536;
  process.stdout.write(JSON.stringify(measureGarbage(n, process.argv.includes('--tcp'), process.argv.includes('--sites'), listenerArg(process.argv))) + '\n');
}
