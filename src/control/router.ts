/**
 * The router's control part, one class for every data path: it compiles the router's view of the config,
 * drives a data path through the `DataPathHost` interface (in this thread, or in worker threads) and runs
 * the control around it: handshake episodes, peer actors, path control (BFD, link tests, STEP, ranking),
 * session migration per resilient service, the plugins' control parts, and one RxJS stream of typed events
 * (control/events.ts: sessions, paths, peers, config, plugins).
 * Its parts: router-config.ts (the running config: apply, revert, learned routes), router-paths.ts (path verdicts,
 * service routing), router-plugins.ts, router-views.ts (peers, services, sessions, explain), router-counters.ts.
 *
 * `createRouter(config, io, opts)` builds one over in-memory or TUN packet ports in this thread; the node
 * builds one over a WorkerHost for `--workers N`.
 *
 * @example
 *   const r1 = createRouter(config, { lan0: lanPort, wan0: wanPort }, { name: 'r1' });
 *   r1.events$.subscribe((e) => { if (e.type === 'path.down') console.log(e.path, e.reason); });
 *   await r1.start();
 *   console.log(await r1.sessions());
 */
import { Subject, type Observable } from 'rxjs';
import type { DpEvent } from '../dataplane/events.js';
import type { RouterCounters, StepCounterName } from '../dataplane/counter-names.js';
import type { SessionCursor, SessionSummary, TenantView } from '../dataplane/views.js';
import { SvrError } from '../errors.js';
import type { SvrConfig } from '../model/config.js';
import type { ForwardingTables } from '../model/tables.js';
import type { LearnedRoute } from '../model/rib.js';
import type { ConfigInput } from '../model/config-input.js';
import { resolveConfig } from '../model/validate.js';
import { PathControl, type Liveness } from '../paths/control.js';
import { PathKeyControl, type KeyControlOptions, type SecurityView } from '../paths/key-control.js';
import type { PathMessage } from '../paths/messages.js';
import type { PathStateChange, PathSupervisorOptions } from '../paths/supervisor.js';
import type { PluginSpec, PluginView } from '../plugins/host.js';
import type { EgressRate } from '../plugins/api.js';

export type { EgressRate };
import type { StepOptions, StepRepositoryClient } from '../step/options.js';
import type { Store } from '../store/store.js';
import type { DataPathHost, ServiceChains, ThreadLoad } from './data-path-host.js';
import { EpisodeSupervisor, type EpisodeOptions } from './episodes.js';
import type { ExplainQuery, Explanation } from './explain.js';
import { MigrationActors } from './migration.js';
import { fanOutEvents, fanOutFacts, type EventSinks, type ObserveAlarm } from './event-fanout.js';
import { isPerSession, SessionFactListeners, type SessionFactListener } from './session-facts.js';
import type { SessionRecords } from '../dataplane/session-records.js';
import { EventStream } from './event-stream.js';
import type { RouterEvent } from './events.js';
import { InThreadHost, type InThreadHostOptions, type RouterIo } from './in-thread-host.js';
import { KeptConditions, type PeerCondition, type PeerSummary } from './peer-views.js';
import { PeerActors } from './peers.js';
import type {
  ApplyConfigFileOptions, ApplyConfigOptions, LoadPluginsOptions, PluginProblem, Router as PublicRouter, RouterStatus, ServiceSummary, SessionRow,
} from './router-api.js';
import { RunningConfig, refuseConductorStepWithout } from './router-config.js';
import { ControlCounters, TableFullWatch, ZERO_COUNTERS, logAlarms, recordMigration } from './router-counters.js';
import { PathVerdicts } from './router-paths.js';
import { RouterPlugins } from './router-plugins.js';
import { explainView, peerConditionView, peerView, serviceView, sessionPage, tenantView, type RouterViewSource } from './router-views.js';

export type { ApplyConfigFileOptions, ApplyConfigOptions, ObserveAlarm, PathMessage, PeerSummary, RouterEvent, RouterIo, RouterStatus, SecurityView, ServiceSummary };

export interface RouterOptions {
  /** which router of the authority this is */
  name: string;
  /** handshake retries (see machines/session-episode) */
  handshake?: EpisodeOptions;
  /** the state database (plugins get sublevels of it); without one, plugin stores live in memory */
  store?: Store;
  /** one line per event that matters (plugins, config, paths); default: silent */
  log?: (event: string, fields: Record<string, string | number | boolean>) => void;
  /** alarm conditions (AlarmWatch.observe of telemetry/alarms): a security function that failed, a worker
   *  restarted, a path without keys; default: an `alarm` log line when one becomes active or clears */
  observeAlarm?: ObserveAlarm;
  /** path liveness: 'bfd' (default: RFC 5880 BFD + link tests on every peer path; paths are unusable
   *  until BFD is up) or 'static' (every path usable; for tests and peers that do not run BFD) */
  liveness?: Liveness;
  /** BFD supervisor tuning */
  bfd?: PathSupervisorOptions;
  /** run STEP (service and topology exchange) with these options; default off */
  step?: StepOptions | false;
  /** the key exchange of `key-exchange: handshake` paths: the router's private key (default: read from its
   *  identity.private-key-file), timings and limits (tests shorten them) */
  keyExchange?: Omit<KeyControlOptions, 'log'>;
  /** the conductor's STEP repository (needed when the config says `step: { mode: conductor }`) */
  stepRepository?: StepRepositoryClient;
  /** milliseconds since the epoch for event times; default Date.now (tests pass a simulated clock) */
  clock?: () => number;
  /** the node shapes egress in the kernel (node/egress-shaper.ts): plugins' shapeEgress is honoured */
  egressShaping?: boolean;
}

/** `createRouter` options: the router's, and those of its in-thread data path (the public ones: router-api.ts). */
export type CreateRouterOptions = RouterOptions & InThreadHostOptions;

export class Router<H extends DataPathHost = DataPathHost> implements PublicRouter {
  readonly name: string;
  /** the data path this router drives (InThreadHost: `.dataplane` for white-box tests and benchmarks) */
  readonly host: H;
  private readonly subject = new EventStream<RouterEvent>(isPerSession);
  /** everything that happens to the router's sessions, paths, peers, config and plugins (control/events.ts) */
  readonly events$: Observable<RouterEvent> = this.subject.observable;
  /** events$ less session.created, confirmed, removed and counters: a subscriber here makes no object per session
   *  (read created and removed with onSessionFacts) */
  readonly eventsWithoutSessions$: Observable<RouterEvent> = this.subject.without;
  private readonly sessionFacts = new SessionFactListeners();
  private readonly pathSubject = new Subject<PathMessage>();
  /** messages from peers on the path control channel (HMAC already verified): BFD, link tests, STEP */
  readonly pathMessages$: Observable<PathMessage> = this.pathSubject.asObservable();
  private readonly log: NonNullable<RouterOptions['log']>;
  private readonly alarm: ObserveAlarm;
  private readonly liveness: Liveness;
  private readonly configControl: RunningConfig;
  private readonly paths: PathVerdicts;
  private readonly pluginParts: RouterPlugins;
  private readonly pathControl: PathControl;
  private readonly keyControl: PathKeyControl;
  private readonly episodes: EpisodeSupervisor;
  private readonly peerActors: PeerActors;
  private readonly clock: () => number;
  private readonly migrations: MigrationActors;
  /** what peerConditions() returned last (its objects again while unchanged) */
  private readonly keptConditions = new KeptConditions();
  private readonly controlCounters = new ControlCounters();
  private readonly tableWatch: TableFullWatch;
  /** what the views read (router-views.ts) */
  private readonly viewSource: RouterViewSource;
  private running = false;
  private stopped = false;
  private alarmTimer: NodeJS.Timeout | null = null;

  constructor(config: ConfigInput, host: H, opts: RouterOptions) {
    this.name = opts.name;
    this.host = host;
    this.log = opts.log ?? (() => {});
    this.alarm = opts.observeAlarm ?? logAlarms(this.log);
    this.tableWatch = new TableFullWatch(this.alarm);
    this.liveness = opts.liveness ?? 'bfd';
    const clock = this.clock = opts.clock ?? Date.now;
    const emit = (e: RouterEvent): void => this.emit(e);
    this.peerActors = new PeerActors((peer, reachable) => this.emit({ type: reachable ? 'peer.reachable' : 'peer.unreachable', atMs: this.clock(), peer }));
    const resolved = resolveConfig(config);
    refuseConductorStepWithout(resolved, opts.step !== undefined && opts.step !== false, opts.stepRepository !== undefined);
    this.configControl = new RunningConfig(resolved, {
      routerName: opts.name, host, keyControl: () => this.keyControl, emit, clock,
      pathsChanged: (old, tables) => this.paths.tablesChanged(old, tables),
      follow: (tables, added) => this.followTables(tables, added),
      applied: (generation) => this.pluginParts.host.configApplied(generation),
    });
    const tables = (): ForwardingTables => this.configControl.tables;
    const runningConfig = (): SvrConfig => this.configControl.config;
    host.open({
      routerName: opts.name, tables: tables(), config: runningConfig(), pathsUp: this.liveness === 'static',
      onEvents: (events, worker) => this.onDataPathEvents(events, worker),
      onRecords: (events, sessions, worker) => this.onDataPathRecords(events, sessions, worker), log: this.log, alarm: (n, src, o) => this.alarm(n, src, o),
      sessionsWanted: () => this.subject.sessionsWanted,
    });
    this.paths = new PathVerdicts({
      get tables() { return tables(); }, host, emit, clock,
      changed: (peer, path, up, upSinceMs) => {
        this.peerActors.pathChanged(peer, path.name, up);
        this.migrations.pathChanged(path.id, up, upSinceMs);
        this.pluginParts.host.pathChanged({ path: path.name, up });
      },
      ranked: (service, paths) => this.migrations.ranked(service, paths),
    });
    this.pluginParts = new RouterPlugins({
      routerName: opts.name, host, store: opts.store ?? null, egressShaping: opts.egressShaping === true,
      get config() { return runningConfig(); }, get tables() { return tables(); },
      counters: () => this.counters(), log: this.log, alarm: this.alarm, emit, clock,
    });
    this.pathControl = new PathControl({
      get tables() { return tables(); },
      pathMessages$: this.pathMessages$,
      sendPathMessage: (p, b) => host.sendPathMessage(p, b),
      batchPathMessages: (fn) => host.batchPathMessages(fn),
      isPathUp: (p) => host.isPathUp(p),
      pathTraffic: (p) => host.pathTraffic(p),
      keepSteadyPathMessages: (f) => host.keepSteadyPathMessages?.(f) ?? false,
      pathChanged: (s: PathStateChange) => this.paths.apply(s.pathName, s.usable, s.upSinceMs, s.reason === 'start' ? 'set' : s.reason),
      pathQuality: (name, q) => this.paths.announceQuality(name, q),
      rank: (service, r) => this.paths.publishRouting(service, r),
      setPathPeer: (p, a, port) => host.setPathPeer(p, a, port),
      resignalPath: (p) => host.resignalPath(p),
      setPathMtu: (p, m) => host.setPathMtu(p, m),
      countNat: (n) => this.controlCounters.count(n),
      setPathTransform: (p, on) => host.setPathTransform(p, on),
      sendPathProbe: (p, f, b) => host.sendPathProbe(p, f, b),
      countDetector: (n) => this.controlCounters.count(n),
    }, { liveness: this.liveness, bfd: opts.bfd, step: opts.step ?? false, ...(opts.stepRepository === undefined ? {} : { stepRepository: opts.stepRepository }), log: this.log });
    this.keyControl = new PathKeyControl({
      get tables() { return tables(); },
      get runningConfig() { return runningConfig(); },
      routerName: opts.name,
      pathMessages$: this.pathMessages$,
      sendPathMessage: (p, b) => host.sendPathMessage(p, b),
      setPathKeys: (p, k, activeAt, overlapMs) => host.setPathKeys(p, k, activeAt, overlapMs),
      dropPathKeys: (p) => host.dropPathKeys(p),
      pathKeys: (p) => host.pathKeys(p),
      peerAuthenticated: (m) => this.pathControl.nat.authenticated(m),
    }, { ...opts.keyExchange, log: this.log, alarm: (n, src, o) => this.alarm(n, src, o) });
    this.migrations = new MigrationActors({
      publish: (service, order) => this.paths.setServiceRouting(service, order),
      record: (r) => recordMigration(r, this.controlCounters, this.log, (p) => tables().paths[p]?.name ?? '-'),
      now: () => performance.now(),
    });
    this.episodes = new EpisodeSupervisor({
      probe: (row, gen) => host.probe(row, gen),
      teardown: (row, gen) => host.removeRow(row, gen, 'handshake-failed'),
      outcome: (sessionId, outcome, tries, move) => {
        if (outcome === 'confirmed' && this.subject.sessionsWanted) this.emit({ type: 'session.confirmed', atMs: this.clock(), sessionId: sessionId(), probes: tries });
        if (outcome === 'failed') this.controlCounters.count('handshakes-failed'); // the teardown reports session.removed (handshake-failed)
        if (move !== undefined && outcome !== 'gone') this.migrations.moveOutcome(move.service, move.path, outcome === 'confirmed');
      },
    }, opts.handshake);
    const parts = { host, liveness: this.liveness, pathControl: this.pathControl, keyControl: this.keyControl, peerActors: this.peerActors, published: this.paths.published, plugins: this.pluginParts };
    this.viewSource = { ...parts, get tables() { return tables(); }, get config() { return runningConfig(); } };
  }

  /** The forwarding tables of the running config generation. */
  get tables(): ForwardingTables {
    return this.configControl.tables;
  }

  get runningConfig(): SvrConfig {
    return this.configControl.config;
  }

  /**
   * Starts control (peers, path control) and the data path. Resolves once the data path takes packets;
   * the in-thread data path is started when this returns. Rejects (SVR_ERR_WORKER_START) when a worker
   * thread cannot start; the router is stopped again then.
   */
  start(): Promise<void> {
    if (this.stopped) return Promise.reject(new SvrError('SVR_ERR_ROUTER_STATE', `router ${this.name} was stopped; build a new one`));
    if (this.running) return Promise.resolve();
    this.running = true;
    const tables = this.configControl.tables;
    if (this.liveness === 'static') for (const p of tables.paths) this.paths.apply(p.name, true, undefined, 'set');
    this.peerActors.sync(tables, (p) => this.host.isPathUp(p));
    this.migrations.sync(tables);
    const started = this.host.start();
    const control = (): void => {
      this.keyControl.start(); // handshake paths get keys first: BFD is signed with them
      this.pathControl.start();
      this.alarmTimer = setInterval(() => this.tableWatch.check(this.host.sessionCount()), 1000);
      this.alarmTimer.unref();
    };
    if (started === undefined) {
      control();
      return Promise.resolve();
    }
    return started.then(control, async (e: unknown) => {
      await this.stop();
      throw e;
    });
  }

  /** A router pair's node takes over: its BFD sessions continue the partner's where the peer is Up (paths/supervisor.ts `resume`). */
  resumePaths(): void {
    this.pathControl.supervisor?.resume();
  }

  /** A router pair's node became standby or fenced (its devices down): its paths send nothing until `resumePaths`. */
  quietPaths(): void {
    this.pathControl.supervisor?.quiet();
  }

  /** A router pair's node: standby or not, told to the peers in its BFD packets (paths/supervisor.ts `setPairStandby`). */
  setPairStandby(standby: boolean): void {
    this.pathControl.supervisor?.setPairStandby(standby);
  }

  /** Stops control and the data path (also one that was built but never started: its ports, its threads). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.running = false;
    if (this.alarmTimer) clearInterval(this.alarmTimer);
    this.pathControl.stop();
    this.keyControl.stop();
    this.pluginParts.host.close();
    this.episodes.stop();
    this.peerActors.stop();
    this.migrations.stop();
    await this.host.stop(); // the remaining sessions end (session.removed, reason shutdown)
    this.subject.complete();
    this.pathSubject.complete();
  }

  /** Expires idle sessions now (the data path also does so on a timer, unless sweepIntervalMs is 0). */
  sweep(): void {
    this.host.sweep();
  }

  /**
   * Validates and applies a new configuration between batches. On any problem it throws (SvrError with
   * every bad field) and the running configuration stays; either way an event says so (config.applied or
   * config.refused).
   */
  applyConfig(config: ConfigInput, opts: ApplyConfigOptions = {}): void {
    this.configControl.apply(config, opts);
  }

  /**
   * Reads, validates and applies a config file (YAML or JSON), as `applyConfig`; resolves with the running config.
   * The tables are compiled in slices, a turn of the event loop after each, and swapped in the next turn, so that
   * with the data path in this thread batches go on meanwhile (docs/performance.md "Config at scale").
   */
  applyConfigFile(path: string, opts: ApplyConfigFileOptions = {}): Promise<SvrConfig> {
    return this.configControl.applyFile(path, opts);
  }

  /**
   * The RIB's learned routes are now `routes` (routing/: FRR through FPM): the RIB updates the prefixes that
   * changed (model/rib.ts), the tables of the running config are made around it and swapped between
   * batches. New sessions of services with `use-learned-routes` follow the RIB (no route: refused, reason
   * no-route); existing ones whose route is gone end (dataplane/route-follow.ts). Returns the prefixes changed.
   */
  setLearnedRoutes(routes: readonly LearnedRoute[]): number {
    return this.configControl.setLearnedRoutes(routes);
  }

  /** Some learned routes changed (new or changed by prefix, and prefixes withdrawn): as setLearnedRoutes, for just those. */
  updateLearnedRoutes(set: readonly LearnedRoute[], removed: readonly string[]): number {
    return this.configControl.updateLearnedRoutes(set, removed);
  }

  /**
   * A config this router took and its host then refused (its plugins fail closed: node/fail-closed.ts): `previous`
   * applies again and config.refused says why `refusedSource` does not run.
   */
  revertConfig(previous: SvrConfig, refusedSource: string, reason: unknown): void {
    this.configControl.revert(previous, refusedSource, reason);
  }

  /** New tables while running: peers, migrations and path control follow (static liveness: the added paths are up). */
  private followTables(tables: ForwardingTables, added: readonly string[]): void {
    if (!this.running) return;
    if (this.liveness === 'static') for (const name of added) this.paths.apply(name, true, undefined, 'set');
    this.peerActors.sync(tables, (p) => this.host.isPathUp(p));
    this.migrations.sync(tables);
    this.pathControl.refresh();
  }

  /**
   * Loads, keeps or unloads plugins to match `specs`, with the service chains of tenants and services
   * (full stage names): control parts here, data-path parts in the data path. Failures are returned (and
   * logged) per plugin; the router keeps forwarding. A failure marked `failClosed` (a security plugin that
   * did not load, or a chain naming a stage no plugin provides: its field path) means the router must not
   * run with this set: the node refuses it (docs/security.md "Fail closed").
   */
  applyPlugins(specs: readonly PluginSpec[], chains: ServiceChains = {}): Promise<PluginProblem[]> {
    return this.pluginParts.apply(specs, chains);
  }

  /**
   * The plugins of the running config (the authority's, then this router's) with the service chains of its
   * tenants and services; relative specifiers from `baseDir` (default the working directory).
   */
  loadPlugins(opts: LoadPluginsOptions = {}): Promise<PluginProblem[]> {
    return this.pluginParts.load(opts);
  }

  /** Marks a peer path usable or not, as BFD does (tests and operators can too); rankings follow at once. */
  setPathUp(pathName: string, up: boolean): void {
    this.paths.apply(pathName, up, undefined, 'set');
    if (this.running) this.pathControl.publish();
  }

  /** Whether a path (by id in `tables`) is usable now. */
  isPathUp(path: number): boolean {
    return this.host.isPathUp(path);
  }

  /** Sends `payload` to the peer on the path's control channel (UDP 1280 between the waypoints). */
  sendPathMessage(path: number, payload: Uint8Array): boolean {
    return this.host.sendPathMessage(path, payload);
  }

  /** Runs `fn`; the path messages it sends leave together (one TUN write per wan device, not one each). */
  batchPathMessages(fn: () => void): void {
    this.host.batchPathMessages(fn);
  }

  /** Resolves once every peer has a usable path (BFD up), or rejects after `timeoutMs`. */
  async whenPathsUp(timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    const ready = () => this.configControl.tables.peers.every((p) => p.paths.some((id) => this.host.isPathUp(id)));
    while (!ready()) {
      if (Date.now() > end) throw new SvrError('SVR_ERR_ROUTER_STATE', `router ${this.name}: no usable path to every peer after ${timeoutMs} ms (is BFD running on the peers?)`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  // ---- views (router-views.ts) ----

  /** Every counter (dataplane/counter-names.ts; zeros included): the data path's (all workers summed), control's own and the plugins'. */
  counters(): RouterCounters {
    const out: Record<string, number> = { ...ZERO_COUNTERS, ...this.host.counters(), ...this.controlCounters.entries(), ...this.stepCounters() };
    for (const [k, v] of Object.entries(this.pluginParts.host.counters())) out[k] = (out[k] ?? 0) + v; // a plugin may count a name in both parts
    return out as RouterCounters;
  }

  /** STEP's counters (published, tx-datagrams, rx-new, subscriptions, ...) as `step.<name>`; none without STEP. */
  stepCounters(): Record<StepCounterName, number> {
    return Object.fromEntries(Object.entries(this.pathControl.step?.counters() ?? {}).map(([k, v]) => [`step.${k}`, v]));
  }

  /** Every session, oldest first (with its `worker` when the data path runs in several). */
  sessions(): Promise<SessionRow[]> {
    return this.host.sessions();
  }

  /** Sessions active now, over every data-path thread. */
  sessionsActive(): number {
    return this.host.sessionCount().active;
  }

  /**
   * One page of sessions, oldest first (optionally one tenant's or service's, by name; an unknown name has
   * none). `next` continues after the last one when the page is full. A live view: sessions come and go
   * between pages; at most `limit` summaries are made per data-path thread.
   */
  sessionPage(q: { limit: number; after?: SessionCursor; tenant?: string; service?: string }): Promise<{ sessions: (SessionSummary & { worker?: number })[]; next?: SessionCursor }> {
    return sessionPage(this.viewSource, q);
  }

  /** Per peer: reachability and its paths with liveness, BFD state, quality and sessions. */
  peers(): PeerSummary[] {
    return peerView(this.viewSource);
  }

  /** What the node's alarms observe every second (peer-views.ts peerConditions): `peers()` without quality, keys,
   *  sessions or addresses; a path's or peer's object (and the list) is the last call's while it did not change. */
  peerConditions(): PeerCondition[] {
    return peerConditionView(this.viewSource, this.keptConditions);
  }

  /** Per service: reachability, configured routes, ranked paths and (learned from STEP) routes. */
  services(): ServiceSummary[] {
    return serviceView(this.viewSource);
  }

  tenants(): TenantView[] {
    return tenantView(this.viewSource);
  }

  /** The DSCP queues the loaded plugins asked the node's egress shaper for (plugin API shapeEgress). */
  egressRates(): EgressRate[] {
    return this.pluginParts.host.egressRates();
  }

  /** Loaded plugins with their data-path stages and counters. */
  plugins(): PluginView[] {
    return this.pluginParts.list();
  }

  /** Key status per path (key ids, ages, packets under the key, next rekey, last handshake, refused handshakes). */
  security(): SecurityView {
    return this.keyControl.view();
  }

  /** Each data-path thread's ring of session facts, for a records thread (telemetry/records-thread.ts). */
  factRings(): readonly SharedArrayBuffer[] {
    return this.host.factRings;
  }

  /** Event-loop time of each data-path thread (the router's own thread when the data path runs in it). */
  threadLoad(): ThreadLoad[] {
    return this.host.threadLoad();
  }

  /**
   * What the data path would do now with the first packet of this flow, and why (tenant, service and FIB
   * entry, access rule, route, each candidate path, plugin chain): the first-packet stage's own lookups
   * over this router's tables and published rankings. Throws SVR_ERR_EXPLAIN_QUERY naming a bad parameter.
   */
  explain(q: ExplainQuery): Explanation {
    return explainView(this.viewSource, q);
  }

  status(): RouterStatus {
    const n = this.host.sessionCount();
    return { sessionsActive: n.active, sessionsLimit: n.limit, handshakesInFlight: this.episodes.inFlight, workers: this.host.workers, sessionsPerWorker: n.perWorker };
  }

  // ---- events ----

  private emit(e: RouterEvent): void {
    this.subject.next(e);
  }

  /**
   * session.created and session.removed read in place, one reused reader per call (control/session-facts.ts):
   * valid only during the call. Returns the removal.
   */
  onSessionFacts(listener: SessionFactListener): () => void {
    return this.sessionFacts.add(listener);
  }

  /** where the data path's facts go (made once: no object per batch) */
  private sinksMade: EventSinks | null = null;
  private get sinks(): EventSinks {
    const tables = (): ForwardingTables => this.configControl.tables;
    const plugins = this.pluginParts;
    return this.sinksMade ??= {
      get tables() { return tables(); }, events: this.subject, sessions: this.sessionFacts, pathMessages: this.pathSubject,
      plugins: plugins.host, log: this.log, alarm: this.alarm, now: this.clock,
      disabled: (plugin, stage) => plugins.disabled(plugin, stage),
    };
  }

  private onDataPathEvents(events: readonly DpEvent[], worker: number): void {
    this.episodes.handle(events);
    fanOutEvents(events, this.sinks, this.host.workers > 1 ? { worker } : {});
  }

  private onDataPathRecords(events: readonly DpEvent[], sessions: SessionRecords, worker: number): void {
    this.episodes.handleFacts(events, sessions);
    fanOutFacts(events, sessions, this.sinks, this.host.workers > 1 ? { worker } : {});
  }
}

/** Builds a router for `opts.name` from an authority config over the given ports, its data path in this thread (not started yet). */
export function createRouter(config: ConfigInput, io: RouterIo, opts: CreateRouterOptions): Router<InThreadHost> {
  const { sweepIntervalMs, sessionCountersMs, replaySenderBase, ...routerOpts } = opts;
  const clock = opts.clock;
  return new Router(config, new InThreadHost(io, {
    ...(clock ? { clock } : {}), ...(sweepIntervalMs !== undefined ? { sweepIntervalMs } : {}), ...(sessionCountersMs !== undefined ? { sessionCountersMs } : {}),
    ...(replaySenderBase !== undefined ? { replaySenderBase } : {}),
  }), routerOpts);
}
