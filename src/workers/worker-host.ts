/**
 * The data path in N worker threads (one per core by default), for a router whose control stays on this
 * thread (control/router.ts). Each worker runs one Dataplane with its own sessions, its queue of every TUN
 * device (or message channels in tests) and the data-path parts of plugins.
 *
 * Shared state: path liveness (one SharedArrayBuffer, written here, read by every worker), counters (one
 * buffer per worker, summed here) and the steering table (written by the owning worker, read by all).
 * Facts come from workers as one message per batch of events; commands go to the worker that owns the
 * session (rows are tagged with their worker: id = worker << 24 | row).
 *
 * @example
 *   const router = new Router(config, new WorkerHost({ workers: 4, io: { kind: 'tun', devices } }), { name: 'r1' });
 *   await router.start();
 */
import { Worker, MessageChannel, type MessagePort } from 'node:worker_threads';
import type { DataPathHost, DataPathInit, ServiceChains, StageView, ThreadLoad } from '../control/data-path-host.js';
import type { DpEvent, CloseReason } from '../dataplane/events.js';
import { createSteering } from '../dataplane/steering.js';
import type { SessionPageQuery, SessionPageRow, SessionSummary, SessionTally } from '../dataplane/views.js';
import { SvrError } from '../errors.js';
import type { SvrConfig } from '../model/config.js';
import { configToDocument } from '../model/serialize.js';
import type { ForwardingTables } from '../model/tables.js';
import type { PluginSpec } from '../plugins/host.js';
import type { FromWorker, ToWorker, WorkerIo } from './protocol.js';

const MAX_PATHS = 4096;
const MAX_COUNTERS = 1024;
const ROW_BITS = 24;
const ROW_MASK = (1 << ROW_BITS) - 1;

export interface WorkerHostOptions {
  /** worker threads, 1-64 */
  workers: number;
  io: WorkerIo;
  /** how often each live session's totals are reported (session.counters), ms; default 60 000, 0: never */
  sessionCountersMs?: number;
}

interface WorkerState {
  worker: Worker;
  names: string[];
  counters: Float64Array;
  pathRx: Float64Array;
  stats: SessionTally;
}

export class WorkerHost implements DataPathHost {
  readonly workers: number;
  private readonly io: WorkerIo;
  private readonly sessionCountersMs: number | undefined;
  private readonly threads: WorkerState[] = [];
  private pathUpView: Uint8Array<ArrayBufferLike> = new Uint8Array(0);
  private tables: ForwardingTables | null = null;
  private stages: StageView[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, { left: number; results: unknown[]; resolve: (r: unknown[]) => void }>();
  private readonly channels = new Map<string, MessagePort>();
  private onEvents: DataPathInit['onEvents'] = () => {};
  private log: DataPathInit['log'] = () => {};

  constructor(opts: WorkerHostOptions) {
    if (!Number.isInteger(opts.workers) || opts.workers < 1 || opts.workers > 64) {
      throw new SvrError('SVR_ERR_ROUTER_STATE', `workers must be 1-64, got ${opts.workers}`);
    }
    this.workers = opts.workers;
    this.io = opts.io;
    this.sessionCountersMs = opts.sessionCountersMs;
  }

  open(init: DataPathInit): void {
    if (this.tables !== null) throw new SvrError('SVR_ERR_ROUTER_STATE', `this worker host already runs the data path of router ${init.routerName}`);
    this.tables = init.tables;
    this.onEvents = init.onEvents;
    this.log = init.log;
    const pathUp = new SharedArrayBuffer(MAX_PATHS);
    this.pathUpView = new Uint8Array(pathUp);
    this.pathUpView.fill(init.pathsUp ? 1 : 0);
    const steering = createSteering();
    const doc = configToDocument(init.config);
    for (let index = 0; index < this.workers; index++) {
      const counters = new SharedArrayBuffer(MAX_COUNTERS * 8);
      const pathRx = new SharedArrayBuffer(MAX_PATHS * 8);
      const worker = new Worker(new URL('./worker-main.js', import.meta.url), {
        workerData: { index, count: this.workers, routerName: init.routerName, config: doc, generation: init.tables.generation, steering, pathUp, pathRx, counters, io: this.io, sessionCountersMs: this.sessionCountersMs },
      });
      const state: WorkerState = {
        worker, names: [], counters: new Float64Array(counters), pathRx: new Float64Array(pathRx),
        stats: { active: 0, perPath: [], perService: [], perTenant: [] },
      };
      worker.on('message', (m: FromWorker) => this.onWorker(state, m));
      worker.on('error', (e) => this.log('worker.error', { worker: index, error: e.message }));
      this.threads.push(state);
    }
    // hand-off mesh: one channel per pair of workers
    for (let i = 0; i < this.workers; i++) {
      for (let j = i + 1; j < this.workers; j++) {
        const ch = new MessageChannel();
        this.post(i, { t: 'peers', ports: [{ index: j, port: ch.port1 }] }, [ch.port1]);
        this.post(j, { t: 'peers', ports: [{ index: i, port: ch.port2 }] }, [ch.port2]);
      }
    }
    if (this.io.kind === 'channel') {
      this.threads.forEach((_, w) => {
        const ports = init.tables.interfaces.map((iface) => {
          const ch = new MessageChannel();
          this.channels.set(`${w}/${iface.name}`, ch.port1);
          return { interface: iface.name, port: ch.port2 };
        });
        this.post(w, { t: 'channels', ports }, ports.map((p) => p.port));
      });
    }
  }

  /** Test/synthetic traffic: the main-thread end of worker `w`'s channel for `iface` (io kind 'channel'). */
  channel(w: number, iface: string): MessagePort {
    const p = this.channels.get(`${w}/${iface}`);
    if (p === undefined) throw new SvrError('SVR_ERR_ROUTER_STATE', `no channel for worker ${w} interface ${iface} (io kind is ${this.io.kind})`);
    return p;
  }

  private post(w: number, m: ToWorker, transfer: (ArrayBuffer | MessagePort)[] = []): void {
    this.threads[w]?.worker.postMessage(m, transfer as never);
  }

  private broadcast(m: ToWorker): void {
    for (let w = 0; w < this.threads.length; w++) this.post(w, m);
  }

  /** Sends `make(id)` to every worker and resolves with their answers. */
  private ask(make: (id: number) => ToWorker): Promise<unknown[]> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, { left: this.threads.length, results: [], resolve });
      this.broadcast(make(id));
    });
  }

  private answer(id: number, value: unknown): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    p.results.push(value);
    if (--p.left === 0) {
      this.pending.delete(id);
      p.resolve(p.results);
    }
  }

  private onWorker(w: WorkerState, m: FromWorker): void {
    switch (m.t) {
      case 'events': this.onEvents(m.events.map((e) => tagRow(e, m.index)), m.index); break;
      case 'counterNames': w.names = m.names; break;
      case 'stats': w.stats = m; break;
      case 'sessions': this.answer(m.id, m.rows.map((r) => ({ ...r, worker: m.index }))); break;
      case 'sessionPage': this.answer(m.id, m.rows.map((r) => ({ ...r, worker: m.index }))); break;
      case 'plugins': this.answer(m.id, m); break;
      case 'stopped': this.answer(m.id, m); break;
      case 'ready': this.answer(0, m); break;
      case 'error': this.log('worker.error', { worker: m.index, error: m.message }); break;
    }
  }

  async start(): Promise<void> {
    const ready = new Promise<unknown[]>((resolve) => this.pending.set(0, { left: this.threads.length, results: [], resolve }));
    this.broadcast({ t: 'start' });
    const failed = (await ready as Extract<FromWorker, { t: 'ready' }>[]).filter((r) => r.error !== undefined);
    if (failed.length > 0) throw new SvrError('SVR_ERR_WORKER_START', failed.map((r) => `worker ${r.index}: ${r.error}`).join('; '));
  }

  async stop(): Promise<void> {
    await this.ask((id) => ({ t: 'stop', id }));
    await Promise.all(this.threads.map((w) => w.worker.terminate()));
    for (const p of this.channels.values()) p.close();
  }

  setTables(tables: ForwardingTables, config: SvrConfig): void {
    this.tables = tables;
    this.broadcast({ t: 'config', config: configToDocument(config), generation: tables.generation });
  }

  setPathUp(path: number, up: boolean): void {
    if (path >= 0 && path < MAX_PATHS) Atomics.store(this.pathUpView, path, up ? 1 : 0);
  }

  isPathUp(path: number): boolean {
    return this.pathUpView[path] === 1;
  }

  pathTraffic(path: number): number {
    return this.threads.reduce((n, w) => n + (w.pathRx[path] ?? 0), 0);
  }

  setServiceRouting(service: number, paths: readonly number[], refused: boolean, resiliency: number): void {
    this.broadcast({ t: 'routing', service, paths: [...paths], refused, resiliency });
  }

  probe(row: number, gen: number): void {
    this.post(row >>> ROW_BITS, { t: 'probe', row: row & ROW_MASK, gen });
  }

  removeRow(row: number, gen: number, reason: CloseReason): void {
    this.post(row >>> ROW_BITS, { t: 'remove', row: row & ROW_MASK, gen, reason });
  }

  setPathPeer(path: number, address: Uint8Array | null, controlPort: number): void {
    this.broadcast({ t: 'pathPeer', path, address: address === null ? null : address.slice(), controlPort });
  }

  resignalPath(path: number): void {
    this.broadcast({ t: 'resignal', path });
  }

  setPathMtu(path: number, mtu: number): void {
    this.broadcast({ t: 'pathMtu', path, mtu });
  }

  sendPathMessage(path: number, payload: Uint8Array): boolean {
    if (this.tables === null || path < 0 || path >= this.tables.paths.length) return false;
    this.post(0, { t: 'pathMessage', path, payload });
    return true;
  }

  sweep(): void {
    this.broadcast({ t: 'sweep' });
  }

  /** Each worker loads the plugins' data-path parts (a plugin's control part runs in the router's thread). */
  readonly plugins = {
    apply: (specs: readonly PluginSpec[], chains: ServiceChains) => this.applyPlugins(specs, chains),
    stages: (): StageView[] => this.stages,
  };

  private async applyPlugins(specs: readonly PluginSpec[], chains: ServiceChains): Promise<{ failures: { at: string; message: string }[]; stages: StageView[] }> {
    const replies = (await this.ask((id) => ({
      t: 'plugins', id, specs: specs.map((s) => ({ ...s })),
      tenants: Object.fromEntries(Object.entries(chains.tenants ?? {}).map(([k, v]) => [k, [...v]])),
      services: Object.fromEntries(Object.entries(chains.services ?? {}).map(([k, v]) => [k, [...v]])),
    }))) as Extract<FromWorker, { t: 'plugins' }>[];
    this.stages = replies[0]?.stages ?? [];
    const failures: { at: string; message: string }[] = [];
    const seen = new Set<string>();
    for (const r of replies) {
      for (const f of r.failures) {
        if (seen.has(`${f.at}|${f.message}`)) continue;
        seen.add(`${f.at}|${f.message}`);
        failures.push(f);
      }
    }
    return { failures, stages: this.stages };
  }

  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const w of this.threads) w.names.forEach((n, i) => { out[n] = (out[n] ?? 0) + w.counters[i]!; });
    return out;
  }

  async sessions(): Promise<(SessionSummary & { worker: number })[]> {
    const all = (await this.ask((id) => ({ t: 'sessions', id }))) as (SessionSummary & { worker: number })[][];
    return all.flat().sort((a, b) => b.ageMs - a.ageMs);
  }

  /** Each worker's first `limit` rows after the cursor, merged in order: at most workers x limit summaries made. */
  async sessionPage(q: SessionPageQuery): Promise<(SessionPageRow & { worker: number })[]> {
    const all = (await this.ask((id) => ({ t: 'sessionPage', id, query: q, rowBits: ROW_BITS }))) as (SessionPageRow & { worker: number })[][];
    return all.flat().sort((a, b) => a.createdMs - b.createdMs || a.row - b.row).slice(0, q.limit);
  }

  threadLoad(): ThreadLoad[] {
    return this.threads.map((w) => {
      const u = w.worker.performance.eventLoopUtilization();
      return { activeMs: u.active, idleMs: u.idle };
    });
  }

  tally(): SessionTally & { perWorker: number[] } {
    const sum = (pick: (s: SessionTally) => number[]): number[] => {
      const out: number[] = [];
      for (const w of this.threads) pick(w.stats).forEach((n, i) => { out[i] = (out[i] ?? 0) + n; });
      return out;
    };
    const perWorker = this.threads.map((w) => w.stats.active);
    return {
      active: perWorker.reduce((a, b) => a + b, 0), perWorker,
      perPath: sum((s) => s.perPath), perService: sum((s) => s.perService), perTenant: sum((s) => s.perTenant),
    };
  }
}

/** A worker's row numbers are tagged with the worker in the top bits, so control can address the owner. */
function tagRow(e: DpEvent, worker: number): DpEvent {
  return 'row' in e ? { ...e, row: (worker << ROW_BITS) | e.row } : e;
}
