/**
 * A router whose data path runs in N worker threads (one per core by default) while control stays on
 * this thread: handshake episodes, peer actors, BFD/STEP/path ranking, plugins' control parts, the API.
 *
 * Shared state: path liveness (one SharedArrayBuffer, written here, read by every worker), counters (one
 * buffer per worker, summed here) and the steering table (written by the owning worker, read by all).
 * Facts come from workers as one message per batch of events; commands go to the worker that owns the
 * session (rows are tagged with their worker: id = worker << 24 | row).
 */
import { Worker, MessageChannel, type MessagePort } from 'node:worker_threads';
import { Subject, type Observable } from 'rxjs';
import { createActor, type Actor } from 'xstate';
import { EpisodeSupervisor, type EpisodeOptions } from '../control/episodes.js';
import { PathControl, type Liveness } from '../paths/control.js';
import type { PathSupervisorOptions } from '../paths/supervisor.js';
import type { DpEvent } from '../dataplane/events.js';
import { listServices, listTenants, type ServiceView, type SessionSummary, type TenantView } from '../dataplane/views.js';
import { resiliencyCode } from '../dataplane/path-choice.js';
import { SvrError } from '../errors.js';
import { peerMachine } from '../machines/peer.js';
import { compileRouter } from '../model/compile.js';
import type { SessionResiliency, SvrConfig } from '../model/config.js';
import { configToDocument } from '../model/serialize.js';
import type { ForwardingTables } from '../model/tables.js';
import { validateConfig } from '../model/validate.js';
import { PluginHost, type PluginSpec, type PluginView } from '../plugins/host.js';
import type { PathMessage, SessionEvent } from '../control/router.js';
import { fanOutEvents } from '../control/event-fanout.js';
import { peerSummaries, type PeerSummary } from '../control/peer-views.js';
import type { StepOptions } from '../step/options.js';
import type { Store } from '../store/store.js';
import type { FromWorker, ToWorker, WorkerIo } from './protocol.js';
import { createSteering } from '../dataplane/steering.js';

const MAX_PATHS = 4096;
const MAX_COUNTERS = 1024;
const ROW_BITS = 24;

export interface WorkerRouterOptions {
  name: string;
  workers: number;
  io: WorkerIo;
  liveness?: Liveness;
  bfd?: PathSupervisorOptions;
  step?: StepOptions | false;
  handshake?: EpisodeOptions;
  store?: Store;
  log?: (event: string, fields: Record<string, string | number | boolean>) => void;
}

interface WorkerState {
  worker: Worker;
  names: string[];
  counters: Float64Array;
  pathRx: Float64Array;
  stats: { active: number; perPath: number[]; perService: number[]; perTenant: number[] };
}

export class WorkerRouter {
  readonly name: string;
  private tablesNow: ForwardingTables;
  private config: SvrConfig;
  private generation = 1;
  private readonly workers: WorkerState[] = [];
  private readonly pathUpView: Uint8Array;
  private readonly subject = new Subject<SessionEvent>();
  readonly events$: Observable<SessionEvent> = this.subject.asObservable();
  private readonly pathSubject = new Subject<PathMessage>();
  readonly pathMessages$: Observable<PathMessage> = this.pathSubject.asObservable();
  private readonly episodes: EpisodeSupervisor;
  readonly pathControl: PathControl;
  readonly plugins: PluginHost;
  private pluginStages: { name: string; disabled: boolean }[] = [];
  private readonly peerActors = new Map<string, Actor<typeof peerMachine>>();
  private readonly peerReachable = new Map<string, boolean>();
  private readonly log: NonNullable<WorkerRouterOptions['log']>;
  private readonly liveness: Liveness;
  private nextId = 1;
  private readonly pending = new Map<number, { left: number; results: unknown[]; resolve: (r: unknown[]) => void }>();
  private readonly channels = new Map<string, MessagePort>();
  private running = false;

  constructor(config: SvrConfig, private readonly opts: WorkerRouterOptions) {
    if (!Number.isInteger(opts.workers) || opts.workers < 1 || opts.workers > 64) {
      throw new SvrError('SVR_ERR_ROUTER_STATE', `workers must be 1-64, got ${opts.workers}`);
    }
    this.name = opts.name;
    this.log = opts.log ?? (() => {});
    this.liveness = opts.liveness ?? 'bfd';
    this.config = validateConfig(config);
    this.tablesNow = compileRouter(this.config, opts.name, this.generation);
    const pathUp = new SharedArrayBuffer(MAX_PATHS);
    this.pathUpView = new Uint8Array(pathUp);
    this.pathUpView.fill(this.liveness === 'static' ? 1 : 0);
    const steering = createSteering();
    const doc = configToDocument(this.config);
    for (let index = 0; index < opts.workers; index++) {
      const counters = new SharedArrayBuffer(MAX_COUNTERS * 8);
      const pathRx = new SharedArrayBuffer(MAX_PATHS * 8);
      const worker = new Worker(new URL('./worker-main.js', import.meta.url), {
        workerData: { index, count: opts.workers, routerName: opts.name, config: doc, generation: this.generation, steering, pathUp, pathRx, counters, io: opts.io },
      });
      const state: WorkerState = { worker, names: [], counters: new Float64Array(counters), pathRx: new Float64Array(pathRx), stats: { active: 0, perPath: [], perService: [], perTenant: [] } };
      worker.on('message', (m: FromWorker) => this.onWorker(state, m));
      worker.on('error', (e) => this.log('worker.error', { worker: index, error: e.message }));
      this.workers.push(state);
    }
    // hand-off mesh: one channel per pair of workers
    for (let i = 0; i < opts.workers; i++) {
      for (let j = i + 1; j < opts.workers; j++) {
        const ch = new MessageChannel();
        this.post(i, { t: 'peers', ports: [{ index: j, port: ch.port1 }] }, [ch.port1]);
        this.post(j, { t: 'peers', ports: [{ index: i, port: ch.port2 }] }, [ch.port2]);
      }
    }
    if (opts.io.kind === 'channel') {
      this.workers.forEach((_, w) => {
        const ports = this.tablesNow.interfaces.map((iface) => {
          const ch = new MessageChannel();
          this.channels.set(`${w}/${iface.name}`, ch.port1);
          return { interface: iface.name, port: ch.port2 };
        });
        this.post(w, { t: 'channels', ports }, ports.map((p) => p.port));
      });
    }
    this.plugins = new PluginHost({
      parts: 'control', routerName: opts.name, dataplane: null as never, store: opts.store ?? null,
      counters: () => this.counters(), log: (e, f) => this.log(e, f),
    });
    this.pathControl = new PathControl(this, { liveness: this.liveness, bfd: opts.bfd, step: opts.step ?? false, log: (e, f) => this.log(e, f) });
    this.episodes = new EpisodeSupervisor({
      probe: (row, gen) => this.post(row >>> ROW_BITS, { t: 'probe', row: row & ((1 << ROW_BITS) - 1), gen }),
      teardown: (row, gen) => this.post(row >>> ROW_BITS, { t: 'remove', row: row & ((1 << ROW_BITS) - 1), gen, reason: 'teardown' }),
      outcome: (sessionId, outcome, tries) => {
        if (outcome === 'confirmed') this.subject.next({ type: 'confirmed', sessionId, tries });
        if (outcome === 'failed') this.subject.next({ type: 'failed', sessionId, tries });
      },
    }, opts.handshake);
  }

  get tables(): ForwardingTables {
    return this.tablesNow;
  }

  get runningConfig(): SvrConfig {
    return this.config;
  }

  get workerCount(): number {
    return this.workers.length;
  }

  /** Test/synthetic traffic: the main-thread end of worker `w`'s channel for `iface` (io kind 'channel'). */
  channel(w: number, iface: string): MessagePort {
    const p = this.channels.get(`${w}/${iface}`);
    if (p === undefined) throw new SvrError('SVR_ERR_ROUTER_STATE', `no channel for worker ${w} interface ${iface} (io kind is ${this.opts.io.kind})`);
    return p;
  }

  private post(w: number, m: ToWorker, transfer: (ArrayBuffer | MessagePort)[] = []): void {
    this.workers[w]?.worker.postMessage(m, transfer as never);
  }

  private broadcast(m: ToWorker): void {
    for (let w = 0; w < this.workers.length; w++) this.post(w, m);
  }

  /** Sends `make(id)` to every worker and resolves with their answers. */
  private ask(make: (id: number) => ToWorker): Promise<unknown[]> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, { left: this.workers.length, results: [], resolve });
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
      case 'events': this.onEvents(m.index, m.events); break;
      case 'counterNames': w.names = m.names; break;
      case 'stats': w.stats = m; break;
      case 'sessions': this.answer(m.id, m.rows.map((r) => ({ ...r, worker: m.index }))); break;
      case 'plugins': this.answer(m.id, m); break;
      case 'stopped': this.answer(m.id, m); break;
      case 'ready': this.answer(0, m); break;
      case 'error': this.log('worker.error', { worker: m.index, error: m.message }); break;
    }
  }

  private onEvents(index: number, events: DpEvent[]): void {
    const tagged = events.map((e) => ('row' in e ? { ...e, row: (index << ROW_BITS) | e.row } : e));
    this.episodes.handle(tagged);
    fanOutEvents(tagged, { tables: this.tablesNow, sessions: this.subject, pathMessages: this.pathSubject, plugins: this.plugins, log: this.log }, { worker: index });
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const ready = new Promise<unknown[]>((resolve) => this.pending.set(0, { left: this.workers.length, results: [], resolve }));
    this.broadcast({ t: 'start' });
    const failed = (await ready as Extract<FromWorker, { t: 'ready' }>[]).filter((r) => r.error !== undefined);
    if (failed.length > 0) {
      await this.stop();
      throw new SvrError('SVR_ERR_WORKER_START', failed.map((r) => `worker ${r.index}: ${r.error}`).join('; '));
    }
    for (const peer of this.tablesNow.peers) {
      const paths = peer.paths.map((p) => this.tablesNow.paths[p]!.name);
      const actor = createActor(peerMachine.provide({ actions: { announce: (_, p) => this.peerReachable.set(p.name, p.reachable) } }), { input: { name: peer.name, paths } });
      this.peerActors.set(peer.name, actor);
      actor.start();
    }
    this.pathControl.start();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.pathControl.stop();
    this.plugins.close();
    this.episodes.stop();
    for (const a of this.peerActors.values()) a.stop();
    await this.ask((id) => ({ t: 'stop', id }));
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
    for (const p of this.channels.values()) p.close();
    this.subject.complete();
    this.pathSubject.complete();
  }

  // ---- PathControlHost ----
  isPathUp(path: number): boolean {
    return this.pathUpView[path] === 1;
  }

  setPathUp(pathName: string, up: boolean): void {
    const path = this.tablesNow.paths.find((p) => p.name === pathName);
    if (path === undefined) throw new SvrError('SVR_ERR_ROUTER_STATE', `no peer path named ${pathName}`);
    Atomics.store(this.pathUpView, path.id, up ? 1 : 0);
    this.peerActors.get(this.tablesNow.peers[path.peer]!.name)?.send({ type: up ? 'path.up' : 'path.down', path: pathName });
    this.plugins.pathChanged({ path: pathName, up });
  }

  setServiceRouting(service: string, routing: { paths: readonly number[]; refused?: boolean; resiliency?: SessionResiliency }): void {
    const id = this.tablesNow.serviceId(service);
    if (id < 0) throw new SvrError('SVR_ERR_ROUTER_STATE', `no service named ${service}`);
    this.broadcast({ t: 'routing', service: id, paths: [...routing.paths], refused: routing.refused ?? false, resiliency: resiliencyCode(routing.resiliency ?? 'none') });
  }

  /** Verified data packets received on a path so far, all workers together (BFD liveness under load). */
  pathTraffic(path: number): number {
    return this.workers.reduce((n, w) => n + (w.pathRx[path] ?? 0), 0);
  }

  sendPathMessage(path: number, payload: Uint8Array): boolean {
    if (path < 0 || path >= this.tablesNow.paths.length) return false;
    this.post(0, { t: 'pathMessage', path, payload });
    return true;
  }

  // ---- config and plugins ----
  applyConfig(config: SvrConfig): void {
    const next = validateConfig(config);
    const tables = compileRouter(next, this.name, this.generation + 1);
    this.generation++;
    this.config = next;
    this.tablesNow = tables;
    this.broadcast({ t: 'config', config: configToDocument(next), generation: this.generation });
    if (this.running) this.pathControl.refresh();
    this.plugins.configApplied(this.generation);
  }

  async applyPlugins(specs: readonly PluginSpec[], chains: { tenants?: Record<string, readonly string[]>; services?: Record<string, readonly string[]> } = {}): Promise<{ at: string; message: string }[]> {
    const failures = await this.plugins.apply(specs, { tenants: [], services: [] });
    const replies = (await this.ask((id) => ({
      t: 'plugins', id, specs: specs.map((s) => ({ ...s })),
      tenants: Object.fromEntries(Object.entries(chains.tenants ?? {}).map(([k, v]) => [k, [...v]])),
      services: Object.fromEntries(Object.entries(chains.services ?? {}).map(([k, v]) => [k, [...v]])),
    }))) as Extract<FromWorker, { t: 'plugins' }>[];
    this.pluginStages = replies[0]?.stages ?? [];
    const seen = new Set(failures.map((f) => `${f.at}|${f.message}`));
    for (const r of replies) for (const f of r.failures) if (!seen.has(`${f.at}|${f.message}`)) { seen.add(`${f.at}|${f.message}`); failures.push(f); }
    return failures;
  }

  pluginList(): PluginView[] {
    return this.plugins.list().map((p) => ({ ...p, stages: this.pluginStages.filter((s) => s.name.startsWith(`${p.name}/`)) }));
  }

  // ---- views ----
  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const w of this.workers) w.names.forEach((n, i) => { out[n] = (out[n] ?? 0) + w.counters[i]!; });
    return out;
  }

  /** Per worker: active sessions (from the last stats report, at most a second old). */
  workerSessions(): number[] {
    return this.workers.map((w) => w.stats.active);
  }

  /** Handshakes in flight (episode actors alive). */
  get handshakesInFlight(): number {
    return this.episodes.inFlight;
  }

  get activeSessions(): number {
    return this.workers.reduce((n, w) => n + w.stats.active, 0);
  }

  async sessions(): Promise<(SessionSummary & { worker: number })[]> {
    const all = (await this.ask((id) => ({ t: 'sessions', id }))) as (SessionSummary & { worker: number })[][];
    return all.flat().sort((a, b) => b.ageMs - a.ageMs);
  }

  private sum(pick: (w: WorkerState) => number[], i: number): number {
    return this.workers.reduce((n, w) => n + (pick(w)[i] ?? 0), 0);
  }

  peers(): PeerSummary[] {
    return peerSummaries({
      tables: this.tablesNow, quality: this.pathControl.pathSummaries(), liveness: this.liveness,
      reachable: (peer) => this.peerReachable.get(peer), isPathUp: (p) => this.isPathUp(p), sessionsOnPath: (p) => this.sum((w) => w.stats.perPath, p),
    });
  }

  services(): (ServiceView & { paths: string[]; refused: boolean; resiliency: string; learned?: unknown })[] {
    const routing = new Map(this.pathControl.services().map((r) => [r.service, r]));
    return listServices(this.tablesNow, (p) => this.isPathUp(p), (id) => this.sum((w) => w.stats.perService, id)).map((v) => {
      const r = routing.get(v.name);
      return { ...v, paths: r?.paths ?? [], refused: r?.refused ?? false, resiliency: r?.resiliency ?? 'none', ...(r?.learned ? { learned: r.learned } : {}) };
    });
  }

  tenants(): TenantView[] {
    return listTenants(this.tablesNow, (id) => this.sum((w) => w.stats.perTenant, id));
  }
}
