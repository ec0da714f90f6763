/**
 * The router's control part, one class for every data path: it compiles the router's view of the config,
 * drives a data path through the `DataPathHost` interface (in this thread, or in worker threads) and runs
 * the control around it: handshake episodes, peer actors, path control (BFD, link tests, STEP, ranking),
 * session migration per resilient service, the plugins' control parts, and one RxJS stream of typed events
 * (control/events.ts: sessions, paths, peers, config, plugins).
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
import { resolve } from 'node:path';
import { setImmediate as turn } from 'node:timers/promises';
import { Subject, type Observable } from 'rxjs';
import type { DpEvent } from '../dataplane/events.js';
import { COUNTER_NAMES, type CounterName, type RouterCounters, type StepCounterName } from '../dataplane/counter-names.js';
import { ServicePaths } from '../dataplane/path-choice.js';
import { resiliencyCode } from '../model/service-arrays.js';
import { listServices, listTenants, type SessionCursor, type SessionSummary, type TenantView } from '../dataplane/views.js';
import { ConfigError, SvrError, isSvrError } from '../errors.js';
import { compileRouter, compileRouterInTurns, routerConfig, type LoadedConfig, type PreparedTables } from '../model/compile.js';
import type { SessionResiliency, SvrConfig } from '../model/config.js';
import type { ForwardingTables } from '../model/tables.js';
import { Rib, type LearnedRoute } from '../model/rib.js';
import type { ConfigInput } from '../model/config-input.js';
import { loadConfig, resolveConfig } from '../model/validate.js';
import { PathControl, type Liveness } from '../paths/control.js';
import { PathKeyControl, type KeyControlOptions, type SecurityView } from '../paths/key-control.js';
import type { PathMessage } from '../paths/messages.js';
import type { PathStateChange, PathSupervisorOptions } from '../paths/supervisor.js';
import type { PathQuality } from '../paths/quality.js';
import { PluginHost, chainStages, type PluginSpec, type PluginView } from '../plugins/host.js';
import type { EgressRate } from '../plugins/api.js';

export type { EgressRate };
import type { StepOptions, StepRepositoryClient } from '../step/options.js';
import type { Store } from '../store/store.js';
import type { DataPathHost, ServiceChains, ThreadLoad } from './data-path-host.js';
import { EpisodeSupervisor, type EpisodeOptions } from './episodes.js';
import { refuseKeyIdReuse } from './key-versions.js';
import { explainFirstPacket, type ExplainQuery, type Explanation } from './explain.js';
import { MigrationActors } from './migration.js';
import type { MigrationRecord } from '../machines/migration.js';
import { fanOutEvents, fanOutFacts, type EventSinks, type ObserveAlarm } from './event-fanout.js';
import { isPerSession, SessionFactListeners, type SessionFactListener } from './session-facts.js';
import type { SessionRecords } from '../dataplane/session-records.js';
import { EventStream } from './event-stream.js';
import type { PathEventReason, RouterEvent } from './events.js';
import { InThreadHost, type InThreadHostOptions, type RouterIo } from './in-thread-host.js';
import { KeptConditions, peerConditions, peerSummaries, type PeerCondition, type PeerSummary } from './peer-views.js';
import { PeerActors } from './peers.js';
import type {
  ApplyConfigFileOptions, ApplyConfigOptions, LoadPluginsOptions, PluginProblem, Router as PublicRouter, RouterStatus, ServiceSummary, SessionRow,
} from './router-api.js';

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

const ZERO_COUNTERS = Object.fromEntries(COUNTER_NAMES.map((n) => [n, 0])) as Record<CounterName, number>;

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
  private readonly pluginHost: PluginHost;
  private readonly pathControl: PathControl;
  private readonly keyControl: PathKeyControl;
  private readonly episodes: EpisodeSupervisor;
  private readonly peerActors: PeerActors;
  private readonly clock: () => number;
  /** plugin stages disabled since plugins were last applied (each worker reports its own) */
  private readonly disabledStages = new Set<string>();
  /** per path name: the last quality announced (path.quality-changed only on a change) */
  private readonly announcedQuality = new Map<string, string>();
  private readonly migrations: MigrationActors;
  /** per service: the ranking's refusal and resiliency, and the order the data path follows */
  private readonly routing = new Map<string, { refused: boolean; resiliency: SessionResiliency; order: readonly number[] }>();
  /** what peerConditions() returned last (its objects again while unchanged) */
  private readonly keptConditions = new KeptConditions();
  /** control's own counters (next to the data path's) */
  private readonly controlCounters = new Map<CounterName, number>([['handshakes-failed', 0], ['service-moves', 0], ['paths-suppressed', 0],
    ['nat-peer-address-changes', 0], ['nat-rebinds', 0], ['nat-rebinds-damped', 0], ['nat-address-malformed', 0],
    ['firewall-probes-answered', 0], ['firewall-probe-acks', 0], ['firewall-probe-malformed', 0], ['udp-transform-activations', 0], ['firewall-verdicts-sent', 0], ['firewall-verdicts-received', 0]]);
  /** the rankings as the data path has them (what `explain` reads) */
  private readonly published = new ServicePaths();
  /** usable or not, by path name: control's truth, republished to the data path after a config change */
  private readonly usable = new Map<string, boolean>();
  private running = false;
  private stopped = false;
  private alarmTimer: NodeJS.Timeout | null = null;
  /** session-table-full is raised (at 90 % of the limit; cleared at 80 %) */
  private tableFull = false;
  private generation = 1;
  private config: SvrConfig;
  private tablesNow: ForwardingTables;
  /** the RIB of the running config: static routes and the learned ones (setLearnedRoutes), updated route by route */
  private rib: Rib;

  constructor(config: ConfigInput, host: H, opts: RouterOptions) {
    this.name = opts.name;
    this.host = host;
    this.log = opts.log ?? (() => {});
    this.alarm = opts.observeAlarm ?? logAlarms(this.log);
    this.liveness = opts.liveness ?? 'bfd';
    this.clock = opts.clock ?? Date.now;
    this.peerActors = new PeerActors((peer, reachable) => this.emit({ type: reachable ? 'peer.reachable' : 'peer.unreachable', atMs: this.clock(), peer }));
    this.config = resolveConfig(config);
    if (this.config.authority.step?.mode === 'conductor' && opts.step !== undefined && opts.step !== false && opts.stepRepository === undefined) {
      const message = 'STEP through the conductor needs a router managed by a conductor (svr node start --conductor URL --asset-id ID); use mode flood without one';
      throw new ConfigError('SVR_ERR_CONFIG_INVALID', `authority.step.mode: ${message}`, { source: '<config object>', problems: [{ path: 'authority.step.mode', message }] });
    }
    this.rib = new Rib(routerConfig(this.config, opts.name));
    this.tablesNow = compileRouter(this.config, opts.name, this.generation, this.rib);
    host.open({
      routerName: opts.name, tables: this.tablesNow, config: this.config, pathsUp: this.liveness === 'static',
      onEvents: (events, worker) => this.onDataPathEvents(events, worker),
      onRecords: (events, sessions, worker) => this.onDataPathRecords(events, sessions, worker), log: this.log, alarm: (n, src, o) => this.alarm(n, src, o),
      sessionsWanted: () => this.subject.sessionsWanted,
    });
    this.published.reset(this.tablesNow);
    // every path starts down; static liveness brings each up at start() (path.up)
    for (const p of this.tablesNow.paths) this.usable.set(p.name, false);
    const pluginDeps = { routerName: opts.name, store: opts.store ?? null, counters: () => this.counters(), log: this.log, egressShaping: opts.egressShaping === true };
    const plugins = host.plugins;
    this.pluginHost = 'here' in plugins ? new PluginHost({ ...pluginDeps, parts: 'all', dataplane: plugins.here }) : new PluginHost({ ...pluginDeps, parts: 'control' });
    const tables = (): ForwardingTables => this.tablesNow;
    this.pathControl = new PathControl({
      get tables() { return tables(); },
      pathMessages$: this.pathMessages$,
      sendPathMessage: (p, b) => host.sendPathMessage(p, b),
      batchPathMessages: (fn) => host.batchPathMessages(fn),
      isPathUp: (p) => host.isPathUp(p),
      pathTraffic: (p) => host.pathTraffic(p),
      keepSteadyPathMessages: (f) => host.keepSteadyPathMessages?.(f) ?? false,
      pathChanged: (s: PathStateChange) => this.applyPathState(s.pathName, s.usable, s.upSinceMs, s.reason === 'start' ? 'set' : s.reason),
      pathQuality: (name: string, q: PathQuality) => this.announceQuality(name, q),
      rank: (service, r) => this.publishRouting(service, r),
      setPathPeer: (p, a, port) => host.setPathPeer(p, a, port),
      resignalPath: (p) => host.resignalPath(p),
      setPathMtu: (p, m) => host.setPathMtu(p, m),
      countNat: (n) => this.count(n),
      setPathTransform: (p, on) => host.setPathTransform(p, on),
      sendPathProbe: (p, f, b) => host.sendPathProbe(p, f, b),
      countDetector: (n) => this.count(n),
    }, { liveness: this.liveness, bfd: opts.bfd, step: opts.step ?? false, ...(opts.stepRepository === undefined ? {} : { stepRepository: opts.stepRepository }), log: this.log });
    const running = (): SvrConfig => this.config;
    this.keyControl = new PathKeyControl({
      get tables() { return tables(); },
      get runningConfig() { return running(); },
      routerName: opts.name,
      pathMessages$: this.pathMessages$,
      sendPathMessage: (p, b) => host.sendPathMessage(p, b),
      setPathKeys: (p, k, activeAt, overlapMs) => host.setPathKeys(p, k, activeAt, overlapMs),
      dropPathKeys: (p) => host.dropPathKeys(p),
      pathKeys: (p) => host.pathKeys(p),
      peerAuthenticated: (m) => this.pathControl.nat.authenticated(m),
    }, { ...opts.keyExchange, log: this.log, alarm: (n, src, o) => this.alarm(n, src, o) });
    this.migrations = new MigrationActors({
      publish: (service, order) => this.setServiceRouting(service, order),
      record: (r) => this.recordMigration(r),
      now: () => performance.now(),
    });
    this.episodes = new EpisodeSupervisor({
      probe: (row, gen) => host.probe(row, gen),
      teardown: (row, gen) => host.removeRow(row, gen, 'handshake-failed'),
      outcome: (sessionId, outcome, tries, move) => {
        if (outcome === 'confirmed' && this.subject.sessionsWanted) this.emit({ type: 'session.confirmed', atMs: this.clock(), sessionId: sessionId(), probes: tries });
        if (outcome === 'failed') this.count('handshakes-failed'); // the teardown reports session.removed (handshake-failed)
        if (move !== undefined && outcome !== 'gone') this.migrations.moveOutcome(move.service, move.path, outcome === 'confirmed');
      },
    }, opts.handshake);
  }

  /** The forwarding tables of the running config generation. */
  get tables(): ForwardingTables {
    return this.tablesNow;
  }

  get runningConfig(): SvrConfig {
    return this.config;
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
    if (this.liveness === 'static') for (const p of this.tablesNow.paths) this.applyPathState(p.name, true, undefined, 'set');
    this.peerActors.sync(this.tablesNow, (p) => this.host.isPathUp(p));
    this.migrations.sync(this.tablesNow);
    const started = this.host.start();
    const control = (): void => {
      this.keyControl.start(); // handshake paths get keys first: BFD is signed with them
      this.pathControl.start();
      this.alarmTimer = setInterval(() => this.watchTable(), 1000);
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

  /** Stops control and the data path (also one that was built but never started: its ports, its threads). */
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

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.running = false;
    if (this.alarmTimer) clearInterval(this.alarmTimer);
    this.pathControl.stop();
    this.keyControl.stop();
    this.pluginHost.close();
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
    const source = opts.source ?? '<config object>';
    try {
      const next = resolveConfig(config, source);
      refuseKeyIdReuse(this.config, next, source, false);
      opts.check?.(next);
      this.applyValid(next, source);
    } catch (e) {
      this.refused(source, e);
      throw e;
    }
  }

  /**
   * Reads, validates and applies a config file (YAML or JSON), as `applyConfig`; resolves with the running config.
   * The tables are compiled in slices, a turn of the event loop after each, and swapped in the next turn, so that
   * with the data path in this thread batches go on meanwhile (docs/performance.md "Config at scale").
   */
  async applyConfigFile(path: string, opts: ApplyConfigFileOptions = {}): Promise<SvrConfig> {
    try {
      const { config: next, prepared }: LoadedConfig = await (opts.load ?? (async (p: string) => ({ config: await loadConfig(p) })))(path, this.name);
      refuseKeyIdReuse(this.config, next, path, true);
      opts.check?.(next);
      const generation = this.generation;
      const rib = this.nextRib(next, true);
      const compiled = { rib, tables: await compileRouterInTurns(next, this.name, generation + 1, rib, prepared, turn), slices: prepared?.config };
      await turn();
      // a RIB or config change in between made these tables stale: applyValid compiles again
      this.applyValid(next, path, true, undefined, this.generation === generation ? compiled : undefined);
      return next;
    } catch (e) {
      this.refused(path, e);
      throw e;
    }
  }

  /**
   * The RIB's learned routes are now `routes` (routing/: FRR through FPM): the RIB updates the prefixes that
   * changed (model/rib.ts), the tables of the running config are made around it and swapped between
   * batches. New sessions of services with `use-learned-routes` follow the RIB (no route: refused, reason
   * no-route); existing ones whose route is gone end (dataplane/route-follow.ts). Returns the prefixes changed.
   */
  setLearnedRoutes(routes: readonly LearnedRoute[]): number {
    const changed = this.rib.replace(routes);
    if (changed > 0) this.applyValid(this.config, 'rib', false);
    return changed;
  }

  /** Some learned routes changed (new or changed by prefix, and prefixes withdrawn): as setLearnedRoutes, for just those. */
  updateLearnedRoutes(set: readonly LearnedRoute[], removed: readonly string[]): number {
    const changed = this.rib.update(set, removed);
    if (changed > 0) this.applyValid(this.config, 'rib', false, { set, removed });
    return changed;
  }

  /** The next generation's RIB and tables for `next` (`prepared`: its biggest tables, built in another thread). */
  private compile(next: SvrConfig, configChanged: boolean, prepared?: PreparedTables): { rib: Rib; tables: ForwardingTables } {
    const rib = this.nextRib(next, configChanged);
    return { rib, tables: compileRouter(next, this.name, this.generation + 1, rib, prepared) };
  }

  /** A new config gets a new RIB (its static routes, interfaces), learned routes carried over. */
  private nextRib(next: SvrConfig, configChanged: boolean): Rib {
    return configChanged ? new Rib(routerConfig(next, this.name), this.rib.learnedRoutes()) : this.rib;
  }

  /**
   * `ribChange`: only the RIB changed, by these routes (the data path applies just them); `compiled`: this.compile(next)
   * of this generation, with the config thread's slices of `next` (for data-path workers) when it made them
   */
  private applyValid(next: SvrConfig, source: string, configChanged = true, ribChange?: { set: readonly LearnedRoute[]; removed: readonly string[] }, compiled?: { rib: Rib; tables: ForwardingTables; slices?: PreparedTables['config'] }): void {
    const { rib, tables } = compiled ?? this.compile(next, configChanged);
    this.keyControl.plan(tables, next, source); // throws when a handshake path could not get keys (no private key, ...)
    if (ribChange !== undefined) this.host.updateRib(tables, ribChange.set, ribChange.removed);
    else this.host.setTables(tables, next, compiled?.slices); // throws before anything changes when the data path cannot take it
    this.published.reset(tables);
    this.generation++;
    this.config = next;
    this.rib = rib;
    const old = this.tablesNow;
    this.tablesNow = tables;
    // path ids may differ in the new tables: control's verdicts (by name) are republished by id
    const added = tables.paths.filter((p) => !this.usable.has(p.name)).map((p) => p.name);
    for (const p of tables.paths) {
      if (!this.usable.has(p.name)) this.usable.set(p.name, false);
      this.host.setPathUp(p.id, this.usable.get(p.name)!);
    }
    for (const p of old.paths) {
      if (tables.paths.some((q) => q.name === p.name)) continue;
      if (this.usable.get(p.name)) this.emit({ type: 'path.down', atMs: this.clock(), path: p.name, peer: old.peers[p.peer]?.name ?? '', reason: 'removed' });
      this.usable.delete(p.name);
      this.announcedQuality.delete(p.name);
    }
    this.keyControl.refresh();
    if (this.running) {
      if (this.liveness === 'static') for (const name of added) this.applyPathState(name, true, undefined, 'set');
      this.peerActors.sync(tables, (p) => this.host.isPathUp(p));
      this.migrations.sync(tables);
      this.pathControl.refresh();
    }
    if (!configChanged) return;
    this.pluginHost.configApplied(this.generation);
    this.emit({ type: 'config.applied', atMs: this.clock(), generation: this.generation, source });
  }

  /**
   * A config this router took and its host then refused (its plugins fail closed: node/fail-closed.ts): `previous`
   * applies again and config.refused says why `refusedSource` does not run.
   */
  revertConfig(previous: SvrConfig, refusedSource: string, reason: unknown): void {
    this.applyConfig(previous, { source: `the previous config (${refusedSource} was refused)` });
    this.refused(refusedSource, reason);
  }

  private refused(source: string, e: unknown): void {
    const problems = e instanceof ConfigError ? e.data.problems : [];
    this.emit({
      type: 'config.refused', atMs: this.clock(), source, code: isSvrError(e) ? e.code : 'SVR_ERR_CONFIG_INVALID',
      message: e instanceof Error ? e.message : String(e), problems,
    });
  }

  /**
   * Loads, keeps or unloads plugins to match `specs`, with the service chains of tenants and services
   * (full stage names): control parts here, data-path parts in the data path. Failures are returned (and
   * logged) per plugin; the router keeps forwarding. A failure marked `failClosed` (a security plugin that
   * did not load, or a chain naming a stage no plugin provides: its field path) means the router must not
   * run with this set: the node refuses it (docs/security.md "Fail closed").
   */
  async applyPlugins(specs: readonly PluginSpec[], chains: ServiceChains = {}): Promise<PluginProblem[]> {
    const t = this.tablesNow;
    const local = await this.pluginHost.apply(specs, {
      tenants: t.tenants.map((name) => chains.tenants?.[name] ?? []),
      services: t.services.map((svc) => chains.services?.[svc.name] ?? []),
    });
    const failures = [...local.failures];
    const plugins = this.host.plugins;
    if (!('here' in plugins)) {
      const seen = new Set(failures.map((f) => `${f.at}|${f.message}`));
      for (const f of (await plugins.apply(specs, chains)).failures) {
        if (seen.has(`${f.at}|${f.message}`)) continue;
        seen.add(`${f.at}|${f.message}`);
        failures.push(f);
      }
    }
    const stages = this.pluginStages();
    for (const key of this.disabledStages) {
      // loaded again: a failed or disabled stage runs anew (its alarm source is "<plugin> <stage>")
      const [plugin, stage] = key.split('\n') as [string, string];
      for (const name of ['security-function-failed', 'plugin-disabled']) this.alarm(name, `${plugin} ${stage}`, { active: false });
    }
    this.disabledStages.clear();
    failures.push(...this.missingChainStages(chains, new Set(stages.map((s) => s.name))));
    for (const p of local.loaded) {
      const mine = stages.filter((s) => s.name.startsWith(`${p.name}/`)).map((s) => s.name);
      this.log('plugin.loaded', { plugin: p.name, version: p.version, stages: mine.join(',') });
      this.emit({ type: 'plugin.loaded', atMs: this.clock(), plugin: p.name, version: p.version, stages: mine });
    }
    for (const f of failures) this.emit({ type: 'plugin.failed', atMs: this.clock(), at: f.at, message: f.message });
    return failures;
  }

  /** Chain entries naming a stage that is not loaded, by field path of the running config. */
  private missingChainStages(chains: ServiceChains, known: ReadonlySet<string>): PluginProblem[] {
    const a = this.config.authority;
    const out: PluginProblem[] = [];
    const check = (kind: 'tenants' | 'services', names: readonly string[]): void => {
      for (const [name, list] of Object.entries(chains[kind] ?? {})) {
        const i = names.indexOf(name);
        list.forEach((stage, j) => {
          if (known.has(stage)) return;
          const at = i < 0 ? `${kind}.${name}.service-chain[${j}]` : `authority.${kind}[${i}].service-chain[${j}]`;
          const loaded = [...known].join(', ') || 'none';
          out.push({ at, message: `${at}: names stage "${stage}", which no loaded plugin provides (loaded stages: ${loaded}); its sessions are not forwarded`, failClosed: true });
        });
      }
    };
    check('tenants', a.tenants.map((x) => x.name));
    check('services', a.services.map((x) => x.name));
    return out;
  }

  /**
   * The plugins of the running config (the authority's, then this router's) with the service chains of its
   * tenants and services; relative specifiers from `baseDir` (default the working directory).
   */
  loadPlugins(opts: LoadPluginsOptions = {}): Promise<PluginProblem[]> {
    const baseDir = resolve(opts.baseDir ?? '.');
    const a = this.config.authority;
    const ri = a.routers.findIndex((r) => r.name === this.name);
    const specs = [
      ...a.plugins.map((p, i) => ({ ...p, baseDir, at: `authority.plugins[${i}]` })),
      ...(a.routers[ri]?.plugins ?? []).map((p, i) => ({ ...p, baseDir, at: `authority.routers[${ri}].plugins[${i}]` })),
    ];
    // a stage of a built-in plugin that only other routers load runs there, not here (the lab's external
    // function on r1 is no stage of r2's); any other stage no loaded plugin provides fails closed
    const builtin = (use: string) => /^svrouter\/plugins\/([a-z-]+)$/.exec(use)?.[1];
    const mine = new Set(specs.map((p) => builtin(p.use)).filter((x) => x !== undefined).map((x) => `builtin.${x}`));
    const elsewhere = new Set(a.routers.flatMap((r) => r.plugins ?? []).map((p) => builtin(p.use)).filter((x) => x !== undefined)
      .map((x) => `builtin.${x}`).filter((n) => !mine.has(n)));
    const here = (chain: readonly string[]) => chain.filter((stage) => !elsewhere.has(stage.split('/')[0]!));
    return this.applyPlugins(specs, {
      tenants: Object.fromEntries(a.tenants.map((t) => [t.name, here(t.serviceChain)])),
      services: Object.fromEntries(a.services.map((s) => [s.name, here(s.serviceChain)])),
    });
  }

  /** Marks a peer path usable or not, as BFD does (tests and operators can too); rankings follow at once. */
  setPathUp(pathName: string, up: boolean): void {
    this.applyPathState(pathName, up, undefined, 'set');
    if (this.running) this.pathControl.publish();
  }

  /**
   * A path's verdict, everywhere: the data path, peers, migration episodes (up since `upSinceMs`, default
   * now), plugins; path.up / path.down when it changed.
   */
  private applyPathState(pathName: string, up: boolean, upSinceMs: number | undefined, reason: PathEventReason): void {
    const path = this.tablesNow.paths.find((p) => p.name === pathName);
    if (path === undefined) throw new SvrError('SVR_ERR_ROUTER_STATE', `no peer path named ${pathName}`);
    const was = this.usable.get(pathName) ?? false;
    const peer = this.tablesNow.peers[path.peer]!.name;
    this.usable.set(pathName, up);
    this.host.setPathUp(path.id, up);
    this.peerActors.pathChanged(peer, pathName, up);
    this.migrations.pathChanged(path.id, up, upSinceMs);
    this.pluginHost.pathChanged({ path: pathName, up });
    if (was !== up) this.emit({ type: up ? 'path.up' : 'path.down', atMs: this.clock(), path: pathName, peer, reason });
  }

  /** path.quality-changed after a link test, when the smoothed figures (to 0.01) moved. */
  private announceQuality(pathName: string, q: PathQuality): void {
    const path = this.tablesNow.paths.find((p) => p.name === pathName);
    if (path === undefined) return;
    const r = (x: number): number => Math.round(x * 100) / 100;
    const figures = { latencyMs: r(q.latencyMs), jitterMs: r(q.jitterMs), lossPercent: r(q.lossPercent), mos: r(q.mos) };
    const key = JSON.stringify(figures);
    if (this.announcedQuality.get(pathName) === key) return;
    this.announcedQuality.set(pathName, key);
    this.emit({ type: 'path.quality-changed', atMs: this.clock(), path: pathName, peer: this.tablesNow.peers[path.peer]!.name, ...figures });
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
    const ready = () => this.tablesNow.peers.every((p) => p.paths.some((id) => this.host.isPathUp(id)));
    while (!ready()) {
      if (Date.now() > end) throw new SvrError('SVR_ERR_ROUTER_STATE', `router ${this.name}: no usable path to every peer after ${timeoutMs} ms (is BFD running on the peers?)`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  // ---- views ----

  /** Every counter (dataplane/counter-names.ts; zeros included): the data path's (all workers summed), control's own and the plugins'. */
  counters(): RouterCounters {
    const out: Record<string, number> = { ...ZERO_COUNTERS, ...this.host.counters(), ...Object.fromEntries(this.controlCounters), ...this.stepCounters() };
    for (const [k, v] of Object.entries(this.pluginHost.counters())) out[k] = (out[k] ?? 0) + v; // a plugin may count a name in both parts
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
  async sessionPage(q: { limit: number; after?: SessionCursor; tenant?: string; service?: string }): Promise<{ sessions: (SessionSummary & { worker?: number })[]; next?: SessionCursor }> {
    const t = this.tablesNow;
    const tenant = q.tenant === undefined ? undefined : t.tenantId(q.tenant);
    const service = q.service === undefined ? undefined : t.serviceId(q.service);
    if (tenant === -1 || service === -1) return { sessions: [] };
    const rows = await this.host.sessionPage({
      limit: q.limit, ...(q.after !== undefined ? { after: q.after } : {}), ...(tenant !== undefined ? { tenant } : {}), ...(service !== undefined ? { service } : {}),
    });
    const sessions = rows.map((r) => (r.worker === undefined ? r.summary : { ...r.summary, worker: r.worker }));
    const last = rows[rows.length - 1];
    return last !== undefined && rows.length === q.limit ? { sessions, next: { createdMs: last.createdMs, row: last.row } } : { sessions };
  }

  /** Per peer: reachability and its paths with liveness, BFD state, quality and sessions. */
  peers(): PeerSummary[] {
    const tally = this.host.tally();
    const keys = new Map(this.keyControl.view().paths.map((k) => [k.path, { ...(k.tx ? { ageMs: k.tx.ageMs } : {}), ...(k.rekeys !== undefined ? { rekeys: k.rekeys } : {}) }]));
    return peerSummaries({
      tables: this.tablesNow, quality: this.pathControl.pathSummaries(), liveness: this.liveness,
      reachable: (peer) => this.peerActors.isReachable(peer), isPathUp: (p) => this.host.isPathUp(p), sessionsOnPath: (p) => tally.perPath[p] ?? 0,
      keys: (name) => keys.get(name) ?? {},
      nat: (name) => this.pathControl.natView(name),
      mtu: (name) => this.pathControl.mtuView(name),
      transform: (name) => this.pathControl.transformView(name),
    });
  }

  /** What the node's alarms observe every second (peer-views.ts peerConditions): `peers()` without quality, keys,
   *  sessions or addresses; a path's or peer's object (and the list) is the last call's while it did not change. */
  peerConditions(): PeerCondition[] {
    return peerConditions({
      tables: this.tablesNow, liveness: this.liveness,
      reachable: (peer) => this.peerActors.isReachable(peer), isPathUp: (p) => this.host.isPathUp(p),
      bfdState: (name) => this.pathControl.supervisor?.bfdState(name),
      peerStandby: (name) => this.pathControl.supervisor?.peerStandby(name) ?? false,
      nat: (name) => this.pathControl.natView(name),
      mtu: (name) => this.pathControl.mtuView(name),
      transform: (name) => this.pathControl.transformView(name),
    }, this.keptConditions);
  }

  /** Per service: reachability, configured routes, ranked paths and (learned from STEP) routes. */
  services(): ServiceSummary[] {
    const routing = new Map(this.pathControl.services().map((r) => [r.service, r]));
    const tally = this.host.tally();
    return listServices(this.tablesNow, (p) => this.host.isPathUp(p), (id) => tally.perService[id] ?? 0).map((v) => {
      const r = routing.get(v.name);
      return { ...v, paths: r?.paths ?? [], refused: r?.refused ?? false, resiliency: r?.resiliency ?? 'none', ...(r?.learned ? { learned: r.learned } : {}) };
    });
  }

  tenants(): TenantView[] {
    const tally = this.host.tally();
    return listTenants(this.tablesNow, (id) => tally.perTenant[id] ?? 0);
  }

  /** The DSCP queues the loaded plugins asked the node's egress shaper for (plugin API shapeEgress). */
  egressRates(): EgressRate[] {
    return this.pluginHost.egressRates();
  }

  /** Loaded plugins with their data-path stages and counters. */
  plugins(): PluginView[] {
    return this.pluginHost.list(this.pluginStages());
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
    return explainFirstPacket(q, {
      tables: this.tablesNow, config: this.config, servicePaths: this.published, isPathUp: (p) => this.host.isPathUp(p),
      pathSummaries: this.pathControl.pathSummaries(), stages: this.pluginStages(), plugins: this.plugins().filter((p) => p.state === 'loaded').map((p) => p.name),
    });
  }

  status(): RouterStatus {
    const n = this.host.sessionCount();
    return { sessionsActive: n.active, sessionsLimit: n.limit, handshakesInFlight: this.episodes.inFlight, workers: this.host.workers, sessionsPerWorker: n.perWorker };
  }

  // ---- internals ----

  private pluginStages(): { name: string; disabled: boolean }[] {
    const plugins = this.host.plugins;
    return 'here' in plugins ? chainStages(plugins.here) : plugins.stages();
  }

  /** A service's ranking from path control: through its migration episode when it has one, else as it is. */
  private publishRouting(service: string, r: { paths: readonly number[]; refused: boolean; resiliency: SessionResiliency }): void {
    const before = this.routing.get(service);
    this.routing.set(service, { refused: r.refused, resiliency: r.resiliency, order: before?.order ?? r.paths });
    if (!this.migrations.ranked(service, r.paths)) this.setServiceRouting(service, r.paths);
    else if (before !== undefined && (before.refused !== r.refused || before.resiliency !== r.resiliency)) this.setServiceRouting(service, before.order);
  }

  /** The order a service's sessions follow, to the data path (with the ranking's refusal and resiliency). */
  private setServiceRouting(service: string, order: readonly number[]): void {
    const id = this.tablesNow.serviceId(service);
    const r = this.routing.get(service);
    if (id < 0 || r === undefined) return;
    r.order = order;
    this.host.setServiceRouting(id, order, r.refused, resiliencyCode(r.resiliency));
    this.published.set(id, order, r.refused, resiliencyCode(r.resiliency));
  }

  private recordMigration(r: MigrationRecord): void {
    const name = (p: number): string => this.tablesNow.paths[p]?.name ?? '-';
    if (r.kind === 'moved') {
      this.count('service-moves');
      this.log('migration.moved', { service: r.service, from: name(r.from), to: name(r.to), reason: r.reason });
    } else if (r.kind === 'suppressed') {
      this.count('paths-suppressed');
      this.log('migration.path-suppressed', { service: r.service, path: name(r.path) });
    } else if (r.kind !== 'confirmed' && r.kind !== 'unconfirmed') {
      this.log(`migration.${r.kind === 'reused' ? 'path-reused' : r.kind === 'failed' ? 'move-failed' : 'no-path'}`, { service: r.service, path: name(r.path) });
    }
  }

  private count(name: CounterName): void {
    this.controlCounters.set(name, (this.controlCounters.get(name) ?? 0) + 1);
  }

  /** Alarm session-table-full: raised at 90 % of the session limit, cleared at 80 % (ssr-reference §1.11). */
  private watchTable(): void {
    const t = this.host.sessionCount();
    if (t.limit <= 0) return;
    const pct = (100 * t.active) / t.limit;
    const full = this.tableFull ? pct > 80 : pct >= 90;
    if (full === this.tableFull) return;
    this.tableFull = full;
    this.alarm('session-table-full', 'sessions', { active: full, value: pct, detail: `${t.active} of ${t.limit} sessions` });
  }

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
    const tables = (): ForwardingTables => this.tablesNow;
    return this.sinksMade ??= {
      get tables() { return tables(); }, events: this.subject, sessions: this.sessionFacts, pathMessages: this.pathSubject,
      plugins: this.pluginHost, log: this.log, alarm: this.alarm, now: this.clock,
      disabled: (plugin, stage) => {
        const key = `${plugin}\n${stage}`;
        if (this.disabledStages.has(key)) return false;
        this.disabledStages.add(key);
        return true;
      },
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

/** Without an alarm registry: a log line when an alarm condition becomes active or clears. */
function logAlarms(log: NonNullable<RouterOptions['log']>): ObserveAlarm {
  const active = new Set<string>();
  return (name, source, o) => {
    const id = `${name}:${source}`;
    const on = o.active ?? false;
    if (on === active.has(id)) return;
    if (on) active.add(id);
    else active.delete(id);
    log(on ? 'alarm.raised' : 'alarm.cleared', { alarm: name, source, ...(o.detail ? { detail: o.detail } : {}) });
  };
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
