/**
 * The data path in N worker threads (one per core by default), for a router whose control stays on this
 * thread (control/router.ts). Each worker runs one Dataplane with its own sessions, its queue of every TUN
 * device (or message channels in tests) and the data-path parts of plugins.
 *
 * Shared state: path liveness (one SharedArrayBuffer, written here, read by every worker), counters (one
 * buffer per worker, summed here) and the steering table (written by the owning worker, read by all).
 * Facts come from workers as one message per batch (its session records read in place: record-wire.ts); commands go to the worker that owns the
 * session (rows are tagged with their worker: id = worker << 24 | row).
 *
 * Supervision (docs/security.md "Worker supervision"): every request to workers has a deadline
 * (requests.ts) and answers with what came, or a coded error. A worker whose thread ends (an uncaught
 * error), or that sends nothing for UNRESPONSIVE_MS (hung: ended here), is replaced: alarm
 * worker-restarted, its counters kept, its steering table cleared, a new thread with the running config,
 * the hand-off mesh rewired, its plugins loaded, service routing and path keys sent again, then it opens
 * its queues (TUN queues of a dead thread closed with it) and takes packets. Its replay windows start at the
 * dead thread's high-water marks (dataplane/replay-marks.ts), so no packet captured before is accepted
 * again. Its sessions are lost (their flows open new ones); its rows' generations start above the old
 * ones, so control's references go stale.
 * Restarts back off (100 ms doubling, at most 5 s, while a worker keeps failing within a minute).
 *
 * @example
 *   const router = new Router(config, new WorkerHost({ workers: 4, io: { kind: 'tun', devices } }), { name: 'r1' });
 *   await router.start();
 */
import { Worker, MessageChannel, type MessagePort } from 'node:worker_threads';
import type { DataPathHost, DataPathInit, ServiceChains, StageView, ThreadLoad } from '../control/data-path-host.js';
import type { CloseReason } from '../dataplane/events.js';
import { FactRing, ringRowsOf } from '../dataplane/fact-ring.js';
import { RX_SLOTS, type PathKeyMaterial, type PathKeyStatus } from '../dataplane/path-keys.js';
import { createReplayMarks, mergeFloors, ReplayMarks, type ReplayFloor } from '../dataplane/replay-marks.js';
import { clearSteering, createSteering, type SteeringShared } from '../dataplane/steering.js';
import { sessionLimit } from '../dataplane/session-table.js';
import type { SessionCount, SessionPageQuery, SessionPageRow, SessionSummary, SessionTally } from '../dataplane/views.js';
import type { ImportResult, SessionChanges } from '../dataplane/session-rows.js';
import { SvrError } from '../errors.js';
import { sliceValue, type SlicedValue } from '../util/sliced-clone.js';
import type { SvrConfig } from '../model/config.js';
import type { ForwardingTables } from '../model/tables.js';
import type { LearnedRoute } from '../model/rib.js';
import type { PluginFailure, PluginSpec } from '../plugins/host.js';
import type { ChannelBatch } from './channel-port.js';
import type { FromWorker, ToWorker, WorkerInit, WorkerIo } from './protocol.js';
import { PathRxTotals } from './path-rx.js';
import { PathUpBoards } from './path-up-boards.js';
import { WorkerRequests } from './requests.js';
import { runnableSince } from './runnable-time.js';
import { RecordReceiver } from './record-wire.js';
import { factEvents } from '../dataplane/session-records.js';

const MAX_PATHS = 4096;
const MAX_COUNTERS = 1024;
/** replay windows marked per worker, at least (more when paths × keys × senders need it) */
const MIN_REPLAY_MARKS = 16_384;
const ROW_BITS = 24;
const ROW_MASK = (1 << ROW_BITS) - 1;

/** Deadlines of requests to workers, ms: `svr show sessions` answers within 2 s, whatever a worker does; a
 *  start and plugin loading count only the time the process could run (runnable-time.ts: not the machine's load). */
export const WORKER_TIMEOUTS = { sessions: 1500, plugins: 15_000, start: 15_000, stop: 5_000 } as const;
/** A running worker that sent nothing for this long is ended and restarted (it reports every second). */
export const UNRESPONSIVE_MS = 5_000;
const RESTART_FIRST_MS = 100;
const RESTART_MAX_MS = 5_000;

export interface WorkerHostOptions {
  /** worker threads, 1-64 */
  workers: number;
  io: WorkerIo;
  /** how often each live session's totals are reported (session.counters), ms; default 60 000, 0: never */
  sessionCountersMs?: number;
  /** first replay-block sender id (DataplaneOptions.replaySenderBase): worker i signs as base + i; default 0 */
  replaySenderBase?: number;
  /** lets `crash()` end or hang a worker (tests of supervision); default false */
  testHooks?: boolean;
}

interface WorkerState {
  index: number;
  worker: Worker;
  /** threads of this index before this one */
  restarts: number;
  /** starting: loading plugins and opening queues; ended: its thread is gone */
  state: 'starting' | 'running' | 'ended';
  names: string[];
  counters: Float64Array;
  /** its replay windows' tops, and the floors it was started with */
  replayMarks: ReplayMarks;
  replayFloors: ReplayFloor[];
  stats: SessionTally;
  /** the keys of each path, from its last report */
  keys: (PathKeyStatus | null)[];
  /** when it last sent anything (the watchdog) */
  heardAt: number;
  /** it reached running (its keys were all installed) */
  ran: boolean;
  /** takes its batches' records (the names of its tables) */
  records: RecordReceiver;
}

type PluginsRequest = Omit<Extract<ToWorker, { t: 'plugins' }>, 'id'>;
type PluginsReply = Extract<FromWorker, { t: 'plugins' }>;
type KeyInstall = Extract<ToWorker, { t: 'pathKeys' }>;

/** Key installs per path a replacement worker gets again (the current, next and previous keys). */
const KEY_INSTALLS_KEPT = 4;

export class WorkerHost implements DataPathHost {
  readonly workers: number;
  readonly factRings: readonly SharedArrayBuffer[];
  private readonly io: WorkerIo;
  private readonly sessionCountersMs: number | undefined;
  private readonly replaySenderBase: number;
  private readonly testHooks: boolean;
  private readonly threads: WorkerState[] = [];
  private readonly requests = new WorkerRequests();
  private readonly pathUps = new PathUpBoards(MAX_PATHS);
  private steering: SteeringShared | null = null;
  private tables: ForwardingTables | null = null;
  private routerName = '';
  /** what a replacement worker starts with: the running config, routing, keys and plugins */
  private config: SvrConfig | null = null;
  private readonly routing = new Map<number, ToWorker>();
  private readonly keyInstalls = new Map<number, KeyInstall[]>();
  private plugins_: PluginsRequest | null = null;
  /** counters and verified packets per path of threads that ended (totals never go back) */
  private readonly retired: Record<string, number> = {};
  private readonly pathRx = new PathRxTotals();
  private readonly restartTimes: number[][] = [];
  /** per worker, its `restarts` when the last session collection reported it (collectSessionChanges `lost`) */
  private readonly restartsReported: number[] = [];
  private stages: StageView[] = [];
  /** path messages sent inside batchPathMessages, posted together at its end */
  private heldPathMessages: { path: number; payload: Uint8Array }[] | null = null;
  /** the main-thread end of each worker's channel per interface (io 'channel'): stable across restarts */
  private readonly channels = new Map<string, MessagePort>();
  /** the host's end of those channels, and the port of the worker thread behind each now */
  private readonly relays = new Map<string, { outer: MessagePort; inner: MessagePort | null }>();
  private started = false;
  private stopping = false;
  private watchdog: NodeJS.Timeout | null = null;
  private onEvents: DataPathInit['onEvents'] = () => {};
  private onRecords: DataPathInit['onRecords'];
  private log: DataPathInit['log'] = () => {};
  private alarm: DataPathInit['alarm'] = () => {};

  constructor(opts: WorkerHostOptions) {
    if (!Number.isInteger(opts.workers) || opts.workers < 1 || opts.workers > 64) {
      throw new SvrError('SVR_ERR_ROUTER_STATE', `workers must be 1-64, got ${opts.workers}`);
    }
    this.workers = opts.workers;
    this.factRings = Array.from({ length: opts.workers }, () => FactRing.buffer(ringRowsOf(opts.workers)));
    this.io = opts.io;
    this.sessionCountersMs = opts.sessionCountersMs;
    this.replaySenderBase = opts.replaySenderBase ?? 0;
    this.testHooks = opts.testHooks ?? false;
  }

  open(init: DataPathInit): void {
    if (this.tables !== null) throw new SvrError('SVR_ERR_ROUTER_STATE', `this worker host already runs the data path of router ${init.routerName}`);
    this.tables = init.tables;
    this.routerName = init.routerName;
    this.onEvents = init.onEvents;
    this.onRecords = init.onRecords;
    this.log = init.log;
    this.alarm = init.alarm;
    this.pathUps.open(init.tables, init.pathsUp);
    // room for two keys per session a worker holds (both LAN sides of a session recorded: ownership.ts)
    this.steering = createSteering(this.workers, 2 * sessionLimit(init.tables.sessionCapacity, this.workers));
    this.config = init.config;
    if (this.io.kind === 'channel') {
      for (let w = 0; w < this.workers; w++) {
        for (const iface of init.tables.interfaces) this.openRelay(`${w}/${iface.name}`);
      }
    }
    for (let index = 0; index < this.workers; index++) this.spawn(index, 0);
  }

  /** Test/synthetic traffic: the main-thread end of worker `w`'s channel for `iface` (io kind 'channel'). */
  channel(w: number, iface: string): MessagePort {
    const p = this.channels.get(`${w}/${iface}`);
    if (p === undefined) throw new SvrError('SVR_ERR_ROUTER_STATE', `no channel for worker ${w} interface ${iface} (io kind is ${this.io.kind})`);
    return p;
  }

  /** Test hook (testHooks): worker `w` throws an uncaught error (its thread ends) or stops answering. */
  crash(w: number, how: 'throw' | 'hang'): void {
    if (!this.testHooks) throw new SvrError('SVR_ERR_ROUTER_STATE', 'crash() needs WorkerHostOptions.testHooks');
    this.post(w, { t: 'crash', how });
  }

  /** A stable channel for tests, relayed to whichever thread is worker w now (buffers transferred, not copied). */
  private openRelay(key: string): void {
    const ch = new MessageChannel();
    const relay = { outer: ch.port2, inner: null as MessagePort | null };
    ch.port2.on('message', (b: ChannelBatch) => relay.inner?.postMessage(b, transferOf(b)));
    this.channels.set(key, ch.port1);
    this.relays.set(key, relay);
  }

  /** A thread for worker `index` with the running config, joined to the hand-off mesh and its channels. */
  private spawn(index: number, restarts: number, replayFloors: ReplayFloor[] = []): WorkerState {
    const counters = new SharedArrayBuffer(MAX_COUNTERS * 8);
    const pathRx = new SharedArrayBuffer(MAX_PATHS * 8);
    const replayMarks = createReplayMarks(Math.max(MIN_REPLAY_MARKS, 2 * this.tables!.paths.length * RX_SLOTS * this.workers));
    const data: WorkerInit = {
      index, count: this.workers, routerName: this.routerName, config: this.config!, prepared: this.tables!.prepared, generation: this.tables!.generation, learned: this.tables!.learnedRoutes(), steering: this.steering!,
      pathUp: this.pathUps.newest.buffer, pathRx, counters, facts: this.factRings[index]!, replayMarks, replayFloors, io: this.io, sessionCountersMs: this.sessionCountersMs, replaySenderBase: this.replaySenderBase, restarts, testHooks: this.testHooks,
    };
    const worker = new Worker(new URL('./worker-main.js', import.meta.url), { workerData: data });
    this.pathUps.taken(index, this.pathUps.newest.epoch);
    this.pathRx.use(index, pathRx, this.pathUps.newest);
    const w: WorkerState = {
      index, worker, restarts, state: 'starting', names: [], counters: new Float64Array(counters),
      replayMarks: new ReplayMarks(replayMarks), replayFloors,
      stats: { active: 0, limit: 0, perPath: [], perService: [], perTenant: [] }, keys: [], heardAt: Date.now(), ran: false,
      records: new RecordReceiver(index, ROW_BITS),
    };
    worker.on('message', (m: FromWorker) => {
      w.heardAt = Date.now();
      this.onWorker(w, m);
    });
    worker.on('error', (e) => this.log('worker.error', { worker: index, error: e.message }));
    worker.on('exit', (code) => this.onExit(w, code));
    this.threads[index] = w;
    // hand-off mesh: one channel with each other live worker
    for (const other of this.threads) {
      if (other === undefined || other === w || other.state === 'ended') continue;
      const ch = new MessageChannel();
      this.post(index, { t: 'peers', ports: [{ index: other.index, port: ch.port1 }] }, [ch.port1]);
      this.post(other.index, { t: 'peers', ports: [{ index, port: ch.port2 }] }, [ch.port2]);
    }
    if (this.io.kind === 'channel') {
      const ports = this.tables!.interfaces.map((iface) => {
        const relay = this.relays.get(`${index}/${iface.name}`)!;
        const ch = new MessageChannel();
        relay.inner?.close();
        relay.inner = ch.port1;
        ch.port1.on('message', (b: ChannelBatch) => relay.outer.postMessage(b, transferOf(b)));
        return { interface: iface.name, port: ch.port2 };
      });
      this.post(index, { t: 'channels', ports }, ports.map((p) => p.port));
    }
    return w;
  }

  private post(w: number, m: ToWorker, transfer: (ArrayBuffer | MessagePort)[] = []): void {
    const t = this.threads[w];
    if (t !== undefined && t.state !== 'ended') t.worker.postMessage(m, transfer as never);
  }

  private broadcast(m: ToWorker): void {
    for (let w = 0; w < this.threads.length; w++) this.post(w, m);
  }

  /** Workers that take requests now (a replacement being started gets the running state itself). */
  private runningWorkers(): number[] {
    return this.threads.filter((w) => w.state === 'running').map((w) => w.index);
  }

  private onWorker(w: WorkerState, m: FromWorker): void {
    switch (m.t) {
      case 'records': {
        const { events, records } = w.records.receive(m.records);
        if (this.onRecords !== undefined) this.onRecords(events, records, m.index);
        else this.onEvents(factEvents(events, records), m.index);
        break;
      }
      case 'counterNames': w.names = m.names; break;
      case 'stats': w.stats = m; w.keys = m.keys; break;
      case 'sessions': this.requests.answer(m.id, m.index, m.rows.map((r) => ({ ...r, worker: m.index }))); break;
      case 'sessionPage': this.requests.answer(m.id, m.index, m.rows.map((r) => ({ ...r, worker: m.index }))); break;
      case 'sessionChanges': this.requests.answer(m.id, m.index, m.changes); break;
      case 'importSessions': this.requests.answer(m.id, m.index, m.result); break;
      case 'plugins': this.requests.answer(m.id, m.index, m); break;
      case 'stopped': this.requests.answer(m.id, m.index, m); break;
      case 'ready': this.requests.answer(m.id, m.index, m); break;
      case 'error': this.log('worker.error', { worker: m.index, error: m.message }); break;
      case 'pathUpTaken': {
        const numbering = this.pathUps.at(m.epoch);
        if (numbering !== undefined && w.state !== 'ended') this.pathRx.use(m.index, m.pathRx, numbering);
        this.pathUps.taken(m.index, m.epoch);
        break;
      }
    }
  }

  /** A thread ended: keep its totals; unless the host is stopping, replace it. */
  private onExit(w: WorkerState, code: number): void {
    if (this.threads[w.index] !== w || w.state === 'ended') return;
    w.state = 'ended';
    this.requests.lose(w.index);
    this.pathUps.ended(w.index);
    w.names.forEach((n, i) => { this.retired[n] = (this.retired[n] ?? 0) + w.counters[i]!; });
    this.pathRx.ended(w.index);
    if (this.stopping || !this.started) return;
    this.log('worker.exited', { worker: w.index, code });
    this.alarm('worker-restarted', `worker ${w.index}`, { active: true, detail: `its thread ended (exit code ${code})` });
    const now = Date.now();
    const recent = (this.restartTimes[w.index] ?? []).filter((t) => now - t < 60_000);
    recent.push(now);
    this.restartTimes[w.index] = recent;
    const delay = Math.min(RESTART_FIRST_MS * 2 ** (recent.length - 1), RESTART_MAX_MS);
    setTimeout(() => void this.replace(w.index, w.restarts + 1), delay).unref();
  }

  /** A new thread for worker `index`: plugins first (fail closed), then routing and keys, then its queues. */
  private async replace(index: number, restarts: number): Promise<void> {
    if (this.stopping) return;
    clearSteering(this.steering!, index);
    const w = this.spawn(index, restarts, this.replayFloorsOf(this.threads[index]));
    try {
      if (this.plugins_ !== null) {
        const req = this.plugins_;
        const a = await this.requests.ask<PluginsReply>([index], WORKER_TIMEOUTS.plugins, (id) => this.post(index, { ...req, id }), runnableSince());
        const reply = a.answers.get(index);
        if (reply === undefined) throw new Error(`loading plugins did not finish within ${WORKER_TIMEOUTS.plugins} ms`);
        const closed = reply.failures.filter((f) => f.failClosed);
        if (closed.length > 0) throw new Error(`plugins fail closed: ${closed.map((f) => `${f.at}: ${f.message}`).join('; ')}`);
      }
      for (const m of this.routing.values()) this.post(index, m);
      for (const list of this.keyInstalls.values()) for (const m of list) this.post(index, m);
      const a = await this.requests.ask<Extract<FromWorker, { t: 'ready' }>>([index], WORKER_TIMEOUTS.start, (id) => this.post(index, { t: 'start', id }), runnableSince());
      const ready = a.answers.get(index);
      if (ready === undefined) throw new Error(`it did not start within ${WORKER_TIMEOUTS.start} ms`);
      if (ready.error !== undefined) throw new Error(ready.error);
      if (this.stopping || w.state === 'ended') return;
      w.state = 'running';
      w.ran = true;
      w.heardAt = Date.now();
      this.log('worker.restarted', { worker: index, restarts, replayFloors: w.replayFloors.length });
      this.alarm('worker-restarted', `worker ${index}`, { active: false });
    } catch (e) {
      this.log('worker.restart-failed', { worker: index, error: e instanceof Error ? e.message : String(e) });
      void w.worker.terminate(); // its exit replaces it again, later
    }
  }

  /**
   * Where the replay windows of a dead thread's replacement start: the tops it marked, and, when it died
   * before it ran (its keys perhaps not all installed yet), the floors it was given as well.
   */
  private replayFloorsOf(dead: WorkerState | undefined): ReplayFloor[] {
    if (dead === undefined) return [];
    const marked = dead.replayMarks.floors();
    return dead.ran ? marked : mergeFloors(dead.replayFloors, marked);
  }

  /** Ends running workers that stopped answering (their exit replaces them). */
  private watch(): void {
    const now = Date.now();
    for (const w of this.threads) {
      if (w.state !== 'running' || now - w.heardAt < UNRESPONSIVE_MS) continue;
      this.log('worker.unresponsive', { worker: w.index, silentMs: now - w.heardAt });
      w.heardAt = now;
      void w.worker.terminate();
    }
  }

  async start(): Promise<void> {
    const all = this.threads.map((w) => w.index);
    const a = await this.requests.ask<Extract<FromWorker, { t: 'ready' }>>(all, WORKER_TIMEOUTS.start, (id) => this.broadcast({ t: 'start', id }), runnableSince());
    const failed = [
      ...[...a.answers.values()].filter((r) => r.error !== undefined).map((r) => `worker ${r.index}: ${r.error}`),
      ...a.lost.map((w) => `worker ${w}: its thread ended`),
      ...a.missing.map((w) => `worker ${w}: no answer within ${WORKER_TIMEOUTS.start} ms`),
    ];
    if (failed.length > 0) throw new SvrError('SVR_ERR_WORKER_START', failed.join('; '));
    for (const w of this.threads) {
      w.state = 'running';
      w.ran = true;
    }
    this.started = true;
    this.watchdog = setInterval(() => this.watch(), 1000);
    this.watchdog.unref();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.watchdog) clearInterval(this.watchdog);
    const live = this.threads.filter((w) => w.state !== 'ended').map((w) => w.index);
    const a = await this.requests.ask(live, WORKER_TIMEOUTS.stop, (id) => this.broadcast({ t: 'stop', id }));
    if (a.missing.length > 0) this.log('worker.stop-timeout', { workers: a.missing.join(','), error: `SVR_ERR_WORKER_TIMEOUT: no answer within ${WORKER_TIMEOUTS.stop} ms; ended` });
    await Promise.all(this.threads.map((w) => w.worker.terminate()));
    for (const p of this.channels.values()) p.close();
    for (const r of this.relays.values()) {
      r.outer.close();
      r.inner?.close();
    }
  }

  setTables(tables: ForwardingTables, config: SvrConfig, slices?: SlicedValue): void {
    this.tables = tables;
    this.config = config;
    const prepared = tables.prepared;
    // the config thread's slices (a reload of a file) are shared as they are; a config from elsewhere is sliced here
    const sliced = slices ?? sliceValue(config, 100, true).sliced;
    const pathUp = this.pathUps.renumber(tables); // a worker reads verdicts by the ids of the tables it runs
    this.broadcast({ t: 'config', config: sliced, prepared, generation: tables.generation, learned: tables.learnedRoutes(), ...(pathUp !== undefined ? { pathUp } : {}) });
  }

  updateRib(tables: ForwardingTables, set: readonly LearnedRoute[], removed: readonly string[]): void {
    this.tables = tables;
    this.broadcast({ t: 'rib', generation: tables.generation, set: [...set], removed: [...removed] });
  }

  setPathUp(path: number, up: boolean): void {
    this.pathUps.set(path, up);
  }

  isPathUp(path: number): boolean {
    return this.pathUps.isUp(path);
  }

  pathTraffic(path: number): number {
    return this.pathRx.total(path, this.pathUps.newest);
  }

  setServiceRouting(service: number, paths: readonly number[], refused: boolean, resiliency: number): void {
    const m: ToWorker = { t: 'routing', service, paths: [...paths], refused, resiliency };
    this.routing.set(service, m);
    this.broadcast(m);
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

  setPathTransform(path: number, on: boolean): void {
    this.broadcast({ t: 'pathTransform', path, on });
  }

  sendPathProbe(path: number, tcpFlags: number, payload: Uint8Array): boolean {
    if (this.tables === null || path < 0 || path >= this.tables.paths.length) return false;
    const w = this.threads.find((t) => t.state === 'running') ?? this.threads[0]!;
    this.post(w.index, { t: 'pathProbe', path, tcpFlags, payload });
    return true;
  }

  sendPathMessage(path: number, payload: Uint8Array): boolean {
    if (this.tables === null || path < 0 || path >= this.tables.paths.length) return false;
    if (this.heldPathMessages !== null) this.heldPathMessages.push({ path, payload: payload.slice() }); // the sender may reuse its buffer
    else this.post(this.pathMessageWorker(), { t: 'pathMessages', messages: [{ path, payload }] });
    return true;
  }

  batchPathMessages(fn: () => void): void {
    if (this.heldPathMessages !== null) return fn();
    const held: { path: number; payload: Uint8Array }[] = [];
    this.heldPathMessages = held;
    try {
      fn();
    } finally {
      this.heldPathMessages = null;
      if (held.length > 0) this.post(this.pathMessageWorker(), { t: 'pathMessages', messages: held });
    }
  }

  private pathMessageWorker(): number {
    return (this.threads.find((t) => t.state === 'running') ?? this.threads[0]!).index;
  }

  setPathKeys(path: number, keys: { tx?: PathKeyMaterial; rx?: PathKeyMaterial }, activeAt: number, overlapMs: number): void {
    const m: KeyInstall = { t: 'pathKeys', path, keys, activeAt, overlapMs };
    const list = this.keyInstalls.get(path) ?? [];
    list.push(m);
    this.keyInstalls.set(path, list.slice(-KEY_INSTALLS_KEPT));
    this.broadcast(m);
  }

  dropPathKeys(path: number): void {
    this.keyInstalls.delete(path);
    this.broadcast({ t: 'dropPathKeys', path });
  }

  pathKeys(path: number): PathKeyStatus[] {
    return this.threads.map((w) => w.keys[path]).filter((k): k is PathKeyStatus => k !== null && k !== undefined);
  }

  sweep(): void {
    this.broadcast({ t: 'sweep' });
  }

  removeAllSessions(reason: CloseReason): void {
    this.broadcast({ t: 'removeAll', reason });
  }

  /** Each worker loads the plugins' data-path parts (a plugin's control part runs in the router's thread). */
  readonly plugins = {
    apply: (specs: readonly PluginSpec[], chains: ServiceChains) => this.applyPlugins(specs, chains),
    stages: (): StageView[] => this.stages,
  };

  private async applyPlugins(specs: readonly PluginSpec[], chains: ServiceChains): Promise<{ failures: PluginFailure[]; stages: StageView[] }> {
    const req: PluginsRequest = {
      t: 'plugins', specs: specs.map((s) => ({ ...s })),
      tenants: Object.fromEntries(Object.entries(chains.tenants ?? {}).map(([k, v]) => [k, [...v]])),
      services: Object.fromEntries(Object.entries(chains.services ?? {}).map(([k, v]) => [k, [...v]])),
    };
    this.plugins_ = req; // a replacement worker loads these before it takes packets
    const asked = this.threads.filter((w) => w.state !== 'ended').map((w) => w.index);
    const a = await this.requests.ask<PluginsReply>(asked, WORKER_TIMEOUTS.plugins, (id) => { for (const w of asked) this.post(w, { ...req, id }); }, runnableSince());
    const replies = [...a.answers.values()];
    this.stages = replies[0]?.stages ?? this.stages;
    const failures: PluginFailure[] = [];
    const seen = new Set<string>();
    for (const r of replies) {
      for (const f of r.failures) {
        if (seen.has(`${f.at}|${f.message}`)) continue;
        seen.add(`${f.at}|${f.message}`);
        failures.push(f);
      }
    }
    for (const w of a.missing) {
      // not sure it holds its security functions: fail closed
      failures.push({ at: `worker ${w}`, message: `SVR_ERR_WORKER_TIMEOUT: worker ${w} did not finish loading plugins within ${WORKER_TIMEOUTS.plugins} ms`, failClosed: true });
    }
    return { failures, stages: this.stages };
  }

  counters(): Record<string, number> {
    const out: Record<string, number> = { ...this.retired };
    for (const w of this.threads) {
      if (w.state !== 'ended') w.names.forEach((n, i) => { out[n] = (out[n] ?? 0) + w.counters[i]!; });
    }
    return out;
  }

  /**
   * Every session of every running worker. A worker whose thread ended has none (it is being replaced);
   * one that does not answer within WORKER_TIMEOUTS.sessions is an SVR_ERR_WORKER_TIMEOUT naming it.
   */
  async sessions(): Promise<(SessionSummary & { worker: number })[]> {
    const asked = this.runningWorkers();
    const a = await this.requests.ask<(SessionSummary & { worker: number })[]>(asked, WORKER_TIMEOUTS.sessions, (id) => { for (const w of asked) this.post(w, { t: 'sessions', id }); });
    if (a.missing.length > 0) {
      throw this.sessionsTimeout(a.missing);
    }
    return [...a.answers.values()].flat().sort((x, y) => y.ageMs - x.ageMs);
  }

  private sessionsTimeout(missing: readonly number[]): SvrError {
    return new SvrError('SVR_ERR_WORKER_TIMEOUT', `worker ${missing.join(', ')} of router ${this.routerName} did not list its sessions within ${WORKER_TIMEOUTS.sessions} ms (busy or hung: a worker silent for ${UNRESPONSIVE_MS / 1000} s is restarted); try again`);
  }

  /** Every running worker's changed rows and tombstones (dataplane/session-rows.ts collectChanges), merged;
   *  SVR_ERR_WORKER_TIMEOUT when one does not answer. */
  async collectSessionChanges(full: boolean, minAgeMs = 0): Promise<SessionChanges> {
    const asked = this.runningWorkers();
    const threads = asked.map((w) => this.threads[w]);
    const a = await this.requests.ask<SessionChanges>(asked, WORKER_TIMEOUTS.sessions, (id) => { for (const w of asked) this.post(w, { t: 'sessionChanges', id, full, minAgeMs }); });
    if (a.missing.length > 0) throw this.sessionsTimeout(a.missing);
    const lost = this.lostSources();
    // a worker replaced since it answered: its rows are lost sessions (the partner drops them with `lost`)
    const answers = asked.filter((w, i) => this.threads[w] === threads[i] && threads[i]!.state !== 'ended').map((w) => a.answers.get(w)).filter((c) => c !== undefined);
    const concat = (parts: Uint8Array[]): Uint8Array => {
      if (parts.length === 1) return parts[0]!;
      const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      parts.reduce((o, p) => { out.set(p, o); return o + p.length; }, 0);
      return out;
    };
    return {
      rows: concat(answers.map((c) => c.rows)), rowCount: answers.reduce((n, c) => n + c.rowCount, 0), removed: concat(answers.map((c) => c.removed)),
      oldestMs: Math.max(0, ...answers.map((c) => c.oldestMs)), left: answers.reduce((n, c) => n + c.left, 0),
      leftOldestMs: Math.max(0, ...answers.map((c) => c.leftOldestMs)), lost,
    };
  }

  /** Workers replaced since the last call (each thread's `restarts` against the one last reported). */
  private lostSources(): number[] {
    const lost: number[] = [];
    this.threads.forEach((w, i) => {
      const gone = w.state === 'ended' ? w.restarts + 1 : w.restarts; // an ended thread: its replacement's count
      if (gone > (this.restartsReported[i] ?? 0)) lost.push(i);
      this.restartsReported[i] = gone;
    });
    return lost;
  }

  /** Offers the packed rows to every worker: each installs those whose local waypoint port is in its slice
   *  (where steering sends their WAN packets), the first worker the local ones. */
  async importSessions(rows: Uint8Array): Promise<ImportResult> {
    const asked = this.runningWorkers();
    const a = await this.requests.ask<ImportResult>(asked, WORKER_TIMEOUTS.sessions, (id) => { for (const w of asked) this.post(w, { t: 'importSessions', id, rows }); });
    if (a.missing.length > 0 || a.lost.length > 0) throw this.sessionsTimeout([...a.missing, ...a.lost]);
    const res: ImportResult = { installed: 0, present: 0, refused: 0 };
    for (const r of a.answers.values()) {
      res.installed += r.installed;
      res.present += r.present;
      res.refused += r.refused;
    }
    return res;
  }

  /** Each worker's first `limit` rows after the cursor, merged in order: at most workers x limit summaries made. */
  async sessionPage(q: SessionPageQuery): Promise<(SessionPageRow & { worker: number })[]> {
    const asked = this.runningWorkers();
    const a = await this.requests.ask<(SessionPageRow & { worker: number })[]>(asked, WORKER_TIMEOUTS.sessions, (id) => {
      for (const w of asked) this.post(w, { t: 'sessionPage', id, query: q, rowBits: ROW_BITS });
    });
    if (a.missing.length > 0) {
      throw this.sessionsTimeout(a.missing);
    }
    return [...a.answers.values()].flat().sort((x, y) => x.createdMs - y.createdMs || x.row - y.row).slice(0, q.limit);
  }

  threadLoad(): ThreadLoad[] {
    return this.threads.map((w) => {
      if (w.state === 'ended') return { activeMs: 0, idleMs: 0 }; // being replaced
      const u = w.worker.performance.eventLoopUtilization();
      return { activeMs: u.active, idleMs: u.idle };
    });
  }

  sessionCount(): SessionCount {
    const perWorker = this.threads.map((w) => (w.state === 'ended' ? 0 : w.stats.active));
    return { active: perWorker.reduce((a, b) => a + b, 0), perWorker, limit: this.threads.reduce((n, w) => n + (w.state === 'ended' ? 0 : w.stats.limit), 0) };
  }

  tally(): SessionTally & { perWorker: number[] } {
    const live = this.threads.filter((w) => w.state !== 'ended');
    const sum = (pick: (s: SessionTally) => number[]): number[] => {
      const out: number[] = [];
      for (const w of live) pick(w.stats).forEach((n, i) => { out[i] = (out[i] ?? 0) + n; });
      return out;
    };
    const perWorker = this.threads.map((w) => (w.state === 'ended' ? 0 : w.stats.active));
    return {
      active: perWorker.reduce((a, b) => a + b, 0), perWorker, limit: live.reduce((n, w) => n + w.stats.limit, 0),
      perPath: sum((s) => s.perPath), perService: sum((s) => s.perService), perTenant: sum((s) => s.perTenant),
    };
  }
}

/** The buffers of a channel batch, handed over with it. */
function transferOf(b: ChannelBatch): ArrayBuffer[] {
  return [b.data.buffer as ArrayBuffer, b.offsets.buffer as ArrayBuffer, b.lengths.buffer as ArrayBuffer];
}
