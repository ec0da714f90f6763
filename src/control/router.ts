/**
 * The embeddable router: `createRouter(config, io, { name })` compiles the router's view of the config,
 * builds its data path over the given packet ports, and runs the control around it: handshake episodes,
 * peer actors, the idle sweep, and an RxJS stream of session events.
 *
 * @example
 *   const r1 = createRouter(config, { lan0: lanPort, wan0: wanPort }, { name: 'r1' });
 *   r1.events$.subscribe((e) => console.log(e.type, e.sessionId));
 *   r1.start();
 */
import { Subject, type Observable } from 'rxjs';
import { createActor, type Actor } from 'xstate';
import { EpisodeSupervisor, type EpisodeOptions } from './episodes.js';
import { Dataplane } from '../dataplane/dataplane.js';
import type { DpEvent, SessionRole } from '../dataplane/events.js';
import { resiliencyCode } from '../dataplane/path-choice.js';
import { countBy, listServices, listSessions, listTenants, type ServiceView, type SessionSummary, type TenantView } from '../dataplane/views.js';
import { SvrError } from '../errors.js';
import type { PacketPort } from '../dataplane/port.js';
import { fanOutEvents } from './event-fanout.js';
import { peerSummaries, type PeerSummary } from './peer-views.js';
import { PluginHost, type PluginSpec, type PluginView } from '../plugins/host.js';
import { PathControl, type Liveness } from '../paths/control.js';
import type { PathSupervisorOptions } from '../paths/supervisor.js';
import type { StepOptions } from '../step/options.js';
import type { Store } from '../store/store.js';
import { peerMachine } from '../machines/peer.js';
import { compileRouter } from '../model/compile.js';
import { validateConfig } from '../model/validate.js';
import type { SessionResiliency, SvrConfig } from '../model/config.js';
import type { ForwardingTables } from '../model/tables.js';
import type { PathMessage } from '../paths/messages.js';

/** Packet ports by interface name (every interface of the router needs one). */
export type RouterIo = Readonly<Record<string, PacketPort>>;

export interface RouterOptions {
  /** which router of the authority this is */
  name: string;
  /** milliseconds; default Date.now (tests pass a simulated clock) */
  clock?: () => number;
  /** idle sweep period, default 250 ms (0 = no timer: call `sweep()` yourself) */
  sweepIntervalMs?: number;
  /** handshake retries (see machines/session-episode) */
  handshake?: EpisodeOptions;
  /** the state database (plugins get sublevels of it); without one, plugin stores live in memory */
  store?: Store;
  /** one line per event that matters (plugins, config, paths); default: silent */
  log?: (event: string, fields: Record<string, string | number | boolean>) => void;
  /** path liveness: 'bfd' (default: RFC 5880 BFD + link tests on every peer path; paths are unusable
   *  until BFD is up) or 'static' (every path usable; for tests and peers that do not run BFD) */
  liveness?: Liveness;
  /** BFD supervisor tuning */
  bfd?: PathSupervisorOptions;
  /** run STEP (service and topology exchange) with these options; default off */
  step?: StepOptions | false;
}

export type SessionEvent =
  | { type: 'created'; sessionId: string; role: SessionRole; service: string; tenant: string }
  | { type: 'confirmed'; sessionId: string; tries: number }
  | { type: 'failed'; sessionId: string; tries: number }
  | { type: 'removed'; sessionId: string; reason: string; tenant: string; service: string; ageMs: number; packets: [number, number]; bytes: [number, number] }
  | { type: 'migrated'; sessionId: string; from: string; to: string };

export type { PathMessage, PeerSummary };

export class Router {
  readonly name: string;
  readonly dataplane: Dataplane;
  private readonly subject = new Subject<SessionEvent>();
  /** session events: created, confirmed (reverse metadata seen), failed (handshake gave up), removed */
  readonly events$: Observable<SessionEvent> = this.subject.asObservable();
  private readonly pathSubject = new Subject<PathMessage>();
  /** messages from peers on the path control channel (HMAC already verified) */
  readonly pathMessages$: Observable<PathMessage> = this.pathSubject.asObservable();
  private readonly episodes: EpisodeSupervisor;
  /** plugins loaded next to this router (svr show plugins) */
  readonly plugins: PluginHost;
  private readonly log: NonNullable<RouterOptions['log']>;
  /** BFD, link tests, STEP and per-service path ranking */
  readonly pathControl: PathControl;
  private readonly liveness: Liveness;
  private readonly clock: () => number;
  private readonly sweepIntervalMs: number;
  private sweepTimer: NodeJS.Timeout | null = null;
  private peerActors = new Map<string, Actor<typeof peerMachine>>();
  private peerReachable = new Map<string, boolean>();
  private running = false;
  private generation = 1;
  private config: SvrConfig;

  constructor(config: SvrConfig, private io: RouterIo, opts: RouterOptions) {
    this.name = opts.name;
    this.clock = opts.clock ?? Date.now;
    this.sweepIntervalMs = opts.sweepIntervalMs ?? 250;
    this.log = opts.log ?? (() => {});
    this.liveness = opts.liveness ?? 'bfd';
    config = validateConfig(config);
    this.config = config;
    const tables = compileRouter(config, opts.name, this.generation);
    this.dataplane = new Dataplane({
      tables,
      ports: this.portsFor(tables, io),
      clock: this.clock,
      onEvents: (ev) => this.onDataplaneEvents(ev),
    });
    const dp = this.dataplane;
    this.plugins = new PluginHost({
      routerName: opts.name, dataplane: dp, store: opts.store ?? null,
      counters: () => this.counters(), log: (event, fields) => this.log(event, fields),
    });
    this.pathControl = new PathControl(this, { liveness: this.liveness, bfd: opts.bfd, step: opts.step ?? false, log: (e, f) => this.log(e, f) });
    this.episodes = new EpisodeSupervisor({
      probe: (row, gen) => dp.probe(row, gen),
      teardown: (row, gen) => dp.removeRow(row, gen, 'teardown'),
      outcome: (sessionId, outcome, tries) => {
        if (outcome === 'confirmed') this.subject.next({ type: 'confirmed', sessionId, tries });
        if (outcome === 'failed') {
          dp.counters.add(dp.counters.id('handshakes-failed'));
          this.subject.next({ type: 'failed', sessionId, tries });
        }
      },
    }, opts.handshake);
  }

  private portsFor(tables: ForwardingTables, io: RouterIo): (PacketPort | null)[] {
    const missing = tables.interfaces.filter((i) => io[i.name] === undefined).map((i) => i.name);
    if (missing.length > 0) {
      throw new SvrError('SVR_ERR_ROUTER_INTERFACE',
        `router ${tables.routerName}: no packet port for interface(s) ${missing.join(', ')}; pass one per interface in the io map`);
    }
    return tables.interfaces.map((i) => io[i.name]!);
  }

  get tables(): ForwardingTables {
    return this.dataplane.tables;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    if (this.liveness === 'bfd') this.dataplane.ctx.pathUp.fill(0); // usable once BFD says so
    this.startPeers();
    this.dataplane.tables.interfaces.forEach((iface) => {
      this.io[iface.name]!.start((data, offsets, lengths, count) => this.dataplane.receive(iface.index, data, offsets, lengths, count));
    });
    if (this.sweepIntervalMs > 0) {
      this.sweepTimer = setInterval(() => this.sweep(), this.sweepIntervalMs);
      this.sweepTimer.unref();
    }
    this.pathControl.start();
  }

  private startPeers(): void {
    for (const peer of this.dataplane.tables.peers) {
      const paths = peer.paths.map((p) => this.dataplane.tables.paths[p]!.name);
      const actor = createActor(peerMachine.provide({
        actions: { announce: (_, p) => this.peerReachable.set(p.name, p.reachable) },
      }), { input: { name: peer.name, paths } });
      this.peerActors.set(peer.name, actor);
      actor.start();
    }
  }

  /** Expires idle sessions now (also runs on a timer unless sweepIntervalMs is 0). */
  sweep(): void {
    this.dataplane.sweep();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.pathControl.stop();
    this.plugins.close();
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    this.episodes.stop();
    for (const a of this.peerActors.values()) a.stop();
    this.peerActors.clear();
    for (const port of Object.values(this.io)) port.close();
    this.subject.complete();
    this.pathSubject.complete();
  }

  /**
   * Publishes how a service's sessions use peer paths: `paths` best first (path ids), `refused` when
   * no path meets the policy and best-effort is off, and the session-resiliency mode. Sessions follow
   * lazily, on their next packet.
   */
  setServiceRouting(service: string, routing: { paths: readonly number[]; refused?: boolean; resiliency?: SessionResiliency }): void {
    const id = this.dataplane.tables.serviceId(service);
    if (id < 0) throw new SvrError('SVR_ERR_ROUTER_STATE', `no service named ${service}`);
    this.dataplane.ctx.servicePaths.set(id, routing.paths, routing.refused ?? false, resiliencyCode(routing.resiliency ?? 'none'));
  }

  /**
   * Loads, keeps or unloads plugins to match `specs`, with the service chains of tenants and services
   * (full stage names). Failures are returned (and logged) per plugin; the router keeps forwarding.
   */
  async applyPlugins(specs: readonly PluginSpec[], chains: { tenants?: Record<string, readonly string[]>; services?: Record<string, readonly string[]> } = {}): Promise<{ at: string; message: string }[]> {
    const t = this.dataplane.tables;
    return this.plugins.apply(specs, {
      tenants: t.tenants.map((name) => chains.tenants?.[name] ?? []),
      services: t.services.map((svc) => chains.services?.[svc.name] ?? []),
    });
  }

  isPathUp(path: number): boolean {
    return this.dataplane.ctx.pathUp[path] === 1;
  }

  /** Sends `payload` to the peer on the path's control channel (UDP 1280 between the waypoints). */
  /** Verified data packets received on a path so far (BFD liveness under load). */
  pathTraffic(path: number): number {
    return this.dataplane.ctx.pathRx[path] ?? 0;
  }

  sendPathMessage(path: number, payload: Uint8Array): boolean {
    return this.dataplane.sendPathMessage(path, payload);
  }

  /** Marks a peer path up or down (BFD will drive this; tests and operators can too). */
  setPathUp(pathName: string, up: boolean): void {
    const path = this.dataplane.tables.paths.find((p) => p.name === pathName);
    if (path === undefined) throw new SvrError('SVR_ERR_ROUTER_STATE', `no peer path named ${pathName}`);
    this.dataplane.setPathUp(path.id, up);
    this.plugins.pathChanged({ path: pathName, up });
    const peer = this.dataplane.tables.peers[path.peer]!;
    this.peerActors.get(peer.name)?.send({ type: up ? 'path.up' : 'path.down', path: pathName });
  }

  /**
   * Validates and applies a new configuration between batches. On any problem it throws (SvrError with
   * every bad field) and the running configuration stays.
   */
  applyConfig(config: SvrConfig): void {
    config = validateConfig(config);
    const tables = compileRouter(config, this.name, this.generation + 1);
    const ports = this.portsFor(tables, this.io);
    this.generation++;
    this.config = config;
    this.dataplane.setTables(tables);
    this.dataplane.setPorts(ports);
    if (this.running) this.pathControl.refresh();
    this.plugins.configApplied(this.generation);
  }

  get runningConfig(): SvrConfig {
    return this.config;
  }

  counters(): Record<string, number> {
    return this.dataplane.counters.snapshot();
  }

  sessions(): SessionSummary[] {
    return listSessions(this.dataplane.ctx, this.clock());
  }

  /** Per service: reachability, configured routes, ranked paths and (learned from STEP) routes. */
  services(): (ServiceView & { paths: string[]; refused: boolean; resiliency: string; learned?: unknown })[] {
    const routing = new Map(this.pathControl.services().map((r) => [r.service, r]));
    const ctx = this.dataplane.ctx;
    return listServices(ctx.tables, (p) => this.isPathUp(p), countBy(ctx, ctx.sessions.service)).map((v) => {
      const r = routing.get(v.name);
      return { ...v, paths: r?.paths ?? [], refused: r?.refused ?? false, resiliency: r?.resiliency ?? 'none', ...(r?.learned ? { learned: r.learned } : {}) };
    });
  }

  tenants(): TenantView[] {
    const ctx = this.dataplane.ctx;
    return listTenants(ctx.tables, countBy(ctx, ctx.sessions.tenant));
  }

  peers(): PeerSummary[] {
    return peerSummaries({
      tables: this.dataplane.tables, quality: this.pathControl.pathSummaries(), liveness: this.liveness,
      reachable: (peer) => this.peerReachable.get(peer), isPathUp: (p) => this.isPathUp(p), sessionsOnPath: (p) => this.sessionsOnPath(p),
    });
  }

  private sessionsOnPath(p: number): number {
    const t = this.dataplane.sessions;
    let n = 0;
    for (let r = 0; r < t.capacity; r++) if (t.isActive(r) && t.path[r] === p) n++;
    return n;
  }

  /** Resolves once every peer has a usable path (BFD up), or rejects after `timeoutMs`. */
  async whenPathsUp(timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    const ready = () => this.dataplane.tables.peers.every((p) => p.paths.some((id) => this.dataplane.ctx.pathUp[id] === 1));
    while (!ready()) {
      if (Date.now() > end) throw new SvrError('SVR_ERR_ROUTER_STATE', `router ${this.name}: no usable path to every peer after ${timeoutMs} ms (is BFD running on the peers?)`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Active sessions in the table. */
  get activeSessions(): number {
    return this.dataplane.sessions.active;
  }

  /** Loaded plugins with their stages. */
  pluginList(): PluginView[] {
    return this.plugins.list();
  }

  /** Handshakes in flight (episode actors alive). */
  get handshakesInFlight(): number {
    return this.episodes.inFlight;
  }

  private onDataplaneEvents(events: DpEvent[]): void {
    this.episodes.handle(events);
    fanOutEvents(events, { tables: this.dataplane.tables, sessions: this.subject, pathMessages: this.pathSubject, plugins: this.plugins, log: this.log });
  }
}

/** Builds a router for `opts.name` from an authority config over the given ports (not started yet). */
export function createRouter(config: SvrConfig, io: RouterIo, opts: RouterOptions): Router {
  return new Router(config, io, opts);
}
