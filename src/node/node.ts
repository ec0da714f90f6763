/**
 * `svr node start`: one router on this host, in the foreground.
 * 1. load and validate the config (a bad file: every bad field by path, nothing started);
 * 2. open a TUN device per interface of this router and route into them (host-setup.ts);
 * 3. build the router over those ports, load its plugins into it (before it takes a packet: a node with a
 *    firewall never forwards without it; a security plugin that does not load, or a chain naming a missing
 *    stage, stops the start: docs/security.md "Fail closed"), and start it; with `workers` > 1 the data path
 *    runs in that many worker threads, each with its own queue of every device (multi-queue), and the
 *    devices are configured once every worker has opened its queues;
 * 4. session records (node/records.ts): the router's session events become records for the IPFIX
 *    collectors and the session history in the node's store;
 * 5. alarms, events and metrics (visibility.ts); serve the control socket; when the router has a
 *    `management` block, the management API (REST, OpenAPI, /metrics: management-api.ts); register in the
 *    run dir, log "running";
 * stop(): close the API, the control socket, the router and the devices (routes vanish with them), the
 * records (queued records sent, pending history written), unregister.
 * reload(): re-read the config; a bad file (or an unreadable token or TLS file) is refused and the running
 * config stays; so is one whose plugins cannot run (fail closed: the previous config and plugins are applied
 * again); the router's config events say which; telemetry and the management API follow.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { ConfigError, SvrError } from '../errors.js';
import type { Interface, Router as RouterConfig, SvrConfig } from '../model/config.js';
import { loadConfig, redactSecrets } from '../model/validate.js';
import { configToDocument } from '../model/serialize.js';
import { createRouter, Router, type ObserveAlarm } from '../control/router.js';
import type { SessionFact } from '../control/session-facts.js';
import type { FiveTuple, RouterEvent } from '../control/events.js';
import { SHOW_WHAT, type ControlRequest, type SessionsShown } from './control-protocol.js';
import { listenControl } from './control-server.js';
import type { JsonLineServer } from '../util/json-lines.js';
import { EgressShaper } from './egress-shaper.js';
import { clearStaleTables, type RingAttach, WanPacketRx, wanPacketRxEnabled, wanRxRingEnabled } from './wan-packet-rx.js';
import { RawSendGates } from '../io/tun/raw-send-gates.js';
import { configureInterface, openInterfaces, tunOptions, type OpenedInterface } from './host-setup.js';
import { BUSY_POLL_DEFAULT_US, busyPollStats, checkBusyPollUs, setBusyPoll } from '../io/tun/busy-poll.js';
import { rxRingMaxLen } from '../io/tun/tun-device.js';
import { WorkerHost } from '../workers/worker-host.js';
import { prepareConfigInThread } from './config-thread.js';
import { Store } from '../store/store.js';
import type { StepRepositoryClient } from '../step/options.js';
import { StateRecorder } from './recorder.js';
import { NodeLog, type LogFormat } from './log.js';
import { defaultSocket, register, runDir, unregister } from './registry.js';
import { explainRecorded, type SessionExplanation } from './explain-session.js';
import { startRecords, type NodeRecords } from './records.js';
import type { HistoryPage, HistoryQuery } from '../telemetry/history/query.js';
import type { SessionRecord } from '../telemetry/record.js';
import { observationDomainOf } from '../model/read-telemetry.js';
import { fibView, ribView } from '../routing/views.js';
import type { NodeRouting } from '../routing/node-routing.js';
import { startRouting } from './node-routing.js';
import { Gate } from '../api/http/app.js';
import type { NodeStats } from '../api/schemas.js';
import { ManagementApi, prepareManagement, type PreparedManagement } from './management-api.js';
import type { NodeAlarms } from './alarms.js';
import { startVisibility, type NodeVisibility } from './visibility.js';
import { haNodeOf, onThisNode, pairRouterOptions, releaseStaleAddresses, startHa, type NodeHa } from './ha.js';
import { interfaceChanges, refuseRestartOnly, stepMode } from './restart-fields.js';
import { refuseFailClosed } from './fail-closed.js';
import { HaSessions } from './ha-sessions.js';

export interface NodeOptions {
  configPath: string;
  /** the config itself (a managed node's, from its conductor); `configPath` then only names it in logs */
  config?: SvrConfig;
  /** a state store the caller opened and closes (a managed node keeps one across restarts) */
  store?: Store;
  /** set when a conductor manages this node: `reload` is refused (the conductor pushes configs) */
  conductor?: string;
  name: string;
  socket?: string;
  runDir?: string;
  /** LevelDB state directory; default $SVR_DATA_DIR/<name> or /var/lib/svrouter/<name> */
  dataDir?: string;
  logFormat?: LogFormat;
  write?: (line: string) => void;
  /** data-path worker threads; 1 (default) runs the data path on the main thread */
  workers?: number;
  /** busy-poll window of the data-path threads' TUN queues, µs (0: off); default BUSY_POLL_DEFAULT_US */
  busyPollUs?: number;
  /** the svrouter version the API and metrics report; default "unknown" */
  version?: string;
  /** the conductor's STEP repository (a managed node whose config says `step: { mode: conductor }`) */
  stepRepository?: StepRepositoryClient;
  /** this node's name in the router's `redundancy` pair (required for a pair, refused without one); it
   *  names the node's registry entry, socket and data dir instead of the router's name */
  haNode?: string;
}

export class RunningNode {
  private stopping: Promise<void> | null = null;
  /** FRR and the RIB's learned routes, when the router has `routing` */
  routing: NodeRouting | undefined;
  /** starts the routing of a router config (set by startNode); a reload that changes `routing` restarts it */
  startRouting: ((me: RouterConfig | undefined) => Promise<NodeRouting | undefined>) | undefined;
  /** this node's part of a router pair (node/ha.ts), when the router has `redundancy` */
  ha: NodeHa | undefined;
  /** the name this node registers under: the router's, or its pair node's */
  registryName: string;
  private markDone: () => void = () => {};
  readonly startedAt = Date.now();
  /** resolves once the node has stopped (signal, control request or error) */
  readonly done = new Promise<void>((resolve) => {
    this.markDone = resolve;
  });

  constructor(
    readonly name: string,
    readonly router: Router,
    readonly socket: string,
    private readonly dir: string,
    private readonly opened: OpenedInterface[],
    private control: JsonLineServer | null,
    private readonly log: NodeLog,
    private readonly configPath: string,
    private readonly store: Store,
    private readonly recorder: StateRecorder,
    private readonly records: NodeRecords,
    readonly visibility: NodeVisibility,
    private readonly ownsStore = true,
    private readonly conductor?: string,
    private readonly shaper?: EgressShaper,
    private readonly wanRx?: WanPacketRx,
  ) {
    this.registryName = name;
  }

  /** the management API (absent until attached; idle without a `management` block) */
  private api: ManagementApi | null = null;

  attachControl(control: JsonLineServer): void {
    this.control = control;
  }

  attachApi(api: ManagementApi): void {
    this.api = api;
  }

  /** Answers one control request. */
  async handle(req: ControlRequest): Promise<unknown> {
    switch (req.method) {
      case 'ping': return { name: this.name, pid: process.pid };
      case 'stop':
        setImmediate(() => void this.stop('control request'));
        return { stopping: true };
      case 'reload': return this.reload('control socket');
      case 'switchover': return this.haOrRefuse().switchover();
      case 'show': return req.what === 'sessions' && req.limit !== undefined ? this.sessionsShown(req.limit) : this.show(req.what, req.since, req.vrf);
      case 'history': return this.sessionHistory(req.query);
      case 'session': return (await this.sessionRecord(req.sessionId)) ?? null;
      case 'explain': return 'sessionId' in req ? this.explainSession(req.sessionId) : this.router.explain(req.query);
      case 'plugin-store': return this.store.pluginEntries(req.plugin, { ...(req.prefix !== undefined ? { prefix: req.prefix } : {}), ...(req.limit !== undefined ? { limit: req.limit } : {}) });
      default: throw new SvrError('SVR_ERR_CONTROL_REQUEST', `unknown method ${(req as { method: string }).method}`);
    }
  }

  /** One page of the session history (SVR_ERR_HISTORY_QUERY names a bad parameter; SVR_ERR_HISTORY_STORE: kept off). */
  sessionHistory(q: HistoryQuery): Promise<HistoryPage> {
    return this.records.sessions.query(q);
  }

  /** The latest record of a session in the history, if it has one. */
  sessionRecord(sessionId: string): Promise<SessionRecord | undefined> {
    return this.records.sessions.get(sessionId);
  }

  /** The oldest `limit` sessions (a page: summaries of those only) and the count of active ones. */
  private async sessionsShown(limit: number): Promise<SessionsShown> {
    if (!Number.isInteger(limit) || limit < 1) throw new SvrError('SVR_ERR_CONTROL_REQUEST', `show sessions: limit must be a positive integer, got ${JSON.stringify(limit)}`);
    const page = await this.router.sessionPage({ limit });
    return { sessions: page.sessions, active: this.router.sessionsActive() };
  }

  private async show(what: string, since: number | undefined, vrf?: string): Promise<unknown> {
    const r = this.router;
    switch (what) {
      case 'sessions': return await r.sessions();
      case 'peers': return r.peers();
      case 'security': return r.security();
      case 'services': return r.services();
      case 'tenants': return r.tenants();
      case 'plugins': return r.plugins();
      case 'config': return this.configDocument();
      case 'stats': return this.stats();
      case 'alarms': return this.visibility.alarms.registry.active();
      case 'events': return this.visibility.alarms.registry.events(since !== undefined ? { since } : {});
      case 'rib': return ribView(r.tables, vrf);
      case 'fib': return fibView(r.tables, r.runningConfig, (p) => r.isPathUp(p), vrf);
      case 'ha': return this.haOrRefuse().status();
      case 'bgp':
        if (this.routing === undefined) throw new SvrError('SVR_ERR_CONTROL_REQUEST', `${this.name} has no routing (add \`routing\` with \`bgp\` to its router config)`);
        return this.routing.bgp();
      default: throw new SvrError('SVR_ERR_CONTROL_REQUEST', `cannot show "${what}"; try ${SHOW_WHAT.join(', ')}`);
    }
  }

  private haOrRefuse(): NodeHa {
    if (this.ha === undefined) throw new SvrError('SVR_ERR_CONTROL_REQUEST', `${this.name} is one node, not a router pair (add \`redundancy\` to its router and start each node with --ha-node)`);
    return this.ha;
  }

  /** The running config in its file form, secrets redacted (`svr show config`). */
  configDocument(): Record<string, unknown> {
    return configToDocument(redactSecrets(this.router.runningConfig));
  }

  /** Counters and the node's facts (`svr show stats`). */
  stats(): NodeStats {
    const r = this.router;
    const s = r.status();
    return {
      ...r.counters(),
      ...this.records.stats(),
      'store-write-errors': this.recorder.writeErrors,
      'sessions-active': s.sessionsActive,
      'sessions-limit': s.sessionsLimit,
      'handshakes-in-flight': s.handshakesInFlight,
      node: { name: this.name, pid: process.pid, uptimeMs: Date.now() - this.startedAt, socket: this.socket, workers: s.workers },
      ...(s.workers > 1 ? { 'sessions-per-worker': s.sessionsPerWorker } : {}),
      interfaces: this.opened.map((o) => ({ interface: o.iface.name, device: o.iface.device, ...o.port.stats, ...(o.port.lastError ? { lastError: o.port.lastError } : {}) })),
      ...(this.opened.length > 0 ? { busyPoll: busyPollStats() } : {}),
      ...(this.shaper !== undefined && this.shaper.stats().length > 0 ? { shaping: this.shaper.stats() } : {}),
    };
  }

  private async explainSession(sessionId: string): Promise<SessionExplanation> {
    const found = await explainRecorded(this.records.sessions, this.router, sessionId);
    if (found === undefined) throw new SvrError('SVR_ERR_EXPLAIN_QUERY', `sessionId: no record of session ${sessionId} in the history of ${this.name} (svr inspect sessions lists them)`, { parameter: 'sessionId' });
    return found;
  }

  /**
   * Re-reads the config file (`by`: who asked, for the log). What only a restart applies must stay the same
   * (restart-fields.ts: the router, its interfaces, the STEP mode, its redundancy), and the management block's
   * token and TLS files must be readable; the rest applies live, the management API included. The router reports config.applied or config.refused (a file that cannot be
   * read or parsed too).
   */
  async reload(by = 'signal'): Promise<{ applied: boolean }> {
    let api: PreparedManagement | undefined;
    try {
      if (this.conductor !== undefined) throw new SvrError('SVR_ERR_CONTROL_REQUEST', `${this.name} is managed by the conductor ${this.conductor}: change its config there (svr config ...)`);
      const previous = this.router.runningConfig;
      // read, validated and its biggest tables built in a worker thread: a big config takes seconds that forwarding would stop for
      const next = await this.router.applyConfigFile(this.configPath, { load: prepareConfigInThread, check: (c) => { api = this.check(c); } });
      await this.applied(next, api, previous, this.configPath);
    } catch (e) {
      this.log.info('config.refused', { file: this.configPath, by, reason: e instanceof Error ? e.message : String(e) });
      throw e;
    }
    this.log.info('config.applied', { file: this.configPath, by });
    return { applied: true };
  }

  /** True when `next` keeps this router's interfaces (name, kind, device, mtu, waypoint): it can apply live. */
  sameInterfaces(next: SvrConfig): boolean {
    return next.authority.routers.some((r) => r.name === this.name) && interfaceChanges(this.router.runningConfig, next, this.name).length === 0;
  }

  /**
   * Applies a validated config live (refused as a whole when bad, or when the interfaces changed). When its
   * plugins cannot run (a security plugin that does not load, a chain naming a missing stage), the previous
   * config and plugins are applied again and the refusal is thrown.
   */
  async apply(next: SvrConfig): Promise<void> {
    const previous = this.router.runningConfig;
    let api: PreparedManagement | undefined;
    const source = `the conductor's version`;
    this.router.applyConfig(next, { source, check: (c) => { api = this.check(c); } });
    await this.applied(next, api, previous, source);
  }

  /** True when `next` keeps the way STEP documents travel (authority.step.mode): it can apply live. */
  sameStepMode(next: SvrConfig): boolean {
    return stepMode(next) === stepMode(this.router.runningConfig);
  }

  /**
   * What the node checks before the router takes a config: what only a restart applies (restart-fields.ts: the
   * router, its interfaces, the STEP mode, its redundancy; refused with each field's path), and the management
   * block's files must be readable.
   */
  private check(next: SvrConfig): PreparedManagement | undefined {
    refuseRestartOnly(this.router.runningConfig, next, this.name, this.configPath);
    return prepareApi(next, this.name, this.configPath);
  }

  /**
   * What follows a config the router took: its plugins, telemetry, the config in the state store (written
   * before the reload is acknowledged, so a node killed right after still has it: the chaos suite checks
   * that), the management API. When the plugins cannot run (a security plugin that does not load, a chain naming a
   * missing stage: fail closed), the previous config and plugins are applied again, the router reports config.refused
   * for `source` and the refusal is thrown.
   */
  private async applied(next: SvrConfig, api: PreparedManagement | undefined, previous: SvrConfig, source: string): Promise<void> {
    const log = (e: string, f: Record<string, string | number | boolean>) => this.log.info(e, f);
    try {
      await loadPlugins(this.router, this.configPath, this.name, log);
    } catch (e) {
      this.router.revertConfig(previous, source, e);
      await loadPlugins(this.router, this.configPath, this.name, log).catch(() => {}); // it ran before
      throw e;
    }
    await this.records.sessions.reconfigure(next.authority.telemetry, observationDomainOf(next.authority.routers, this.name));
    await this.recorder.recordConfig(configToDocument(redactSecrets(next)));
    await this.reroute(next);
    await this.reshape(next);
    try {
      await this.api?.apply(api);
    } catch (e) {
      // the router runs the new config; the API keeps its old listener
      const reason = e instanceof Error ? e.message : String(e);
      this.log.info('api.refused', { reason });
      this.visibility.alarms.registry.event({ category: 'config', severity: 'major', source: 'management', message: `the management API kept its old listener: ${reason}` });
    }
  }

  /** Plugins may have asked for other shaped DSCPs, interfaces for other shares: the shaper is rebuilt. */
  private async reshape(next: SvrConfig): Promise<void> {
    const me = next.authority.routers.find((r) => r.name === this.name);
    if (this.shaper === undefined || me === undefined) return;
    try {
      await this.shaper.apply(me.interfaces, this.router.egressRates());
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      this.log.info('shaping.refused', { reason });
      this.visibility.alarms.registry.event({ category: 'config', severity: 'major', source: 'shaping', message: `egress shaping was not rebuilt: ${reason}` });
    }
  }

  /** A changed `routing` block: FRR is stopped and started again with it (learned routes are learned again). */
  private async reroute(next: SvrConfig): Promise<void> {
    const me = next.authority.routers.find((r) => r.name === this.name);
    if (this.startRouting === undefined || isDeepStrictEqual(me?.routing, this.routing?.config)) return;
    await this.routing?.stop();
    this.routing = undefined;
    this.router.setLearnedRoutes([]);
    try {
      this.routing = await this.startRouting(me);
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      this.log.info('routing.refused', { reason });
      this.visibility.alarms.registry.event({ category: 'config', severity: 'major', source: 'routing', message: `routing did not start with the new config: ${reason}` });
    }
  }

  stop(reason: string): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info('node.stopping', { reason });
      await this.ha?.stop(); // first: the partner takes over while this node winds down (and the shared addresses go)
      await this.api?.close();
      this.visibility.stop();
      await this.control?.close();
      this.control = null;
      await this.routing?.stop(); // FRR's daemons go first: zebra takes its kernel routes with it
      await this.wanRx?.stop(); // before the TUNs close: the WAN receive goes back to the kernel's forwarding
      await this.router.stop(); // closes the TUN ports: devices and their routes vanish
      await this.shaper?.stop(); // the IFB devices of the shaped interfaces
      await this.records.close();
      await this.recorder.close();
      if (this.ownsStore) await this.store.close();
      unregister(this.dir, this.registryName, process.pid);
      this.log.info('node.stopped', {});
      this.markDone();
    })();
    return this.stopping;
  }
}

export async function startNode(o: NodeOptions): Promise<RunningNode> {
  const log = new NodeLog(o.name, o.logFormat, o.write);
  const config = o.config ?? await loadConfig(o.configPath);
  if (config.authority.step?.mode === 'conductor' && o.stepRepository === undefined) {
    const message = 'STEP through the conductor needs a node managed by a conductor (svr node start --conductor URL --asset-id ID); use mode flood without one';
    throw new ConfigError('SVR_ERR_CONFIG_INVALID', `${o.configPath}: authority.step.mode: ${message}`, { source: o.configPath, problems: [{ path: 'authority.step.mode', message }] });
  }
  const me = config.authority.routers.find((r) => r.name === o.name);
  if (me === undefined) {
    const names = config.authority.routers.map((r) => r.name).join(', ');
    throw new SvrError('SVR_ERR_CONFIG_ROUTER', `${o.configPath}: no router named "${o.name}" (routers: ${names}); pass --name`);
  }
  const haNode = haNodeOf(me, o.haNode);
  if (haNode !== undefined) await releaseStaleAddresses(me, haNode, (e, f) => log.info(e, f)); // before anything answers for them here
  const registryName = haNode ?? o.name;
  const api = prepareApi(config, o.name, o.configPath); // unreadable token or TLS files: nothing started
  const busyPollUs = checkBusyPollUs(o.busyPollUs ?? BUSY_POLL_DEFAULT_US, `busyPollUs ${String(o.busyPollUs)}`);
  const dir = runDir(o.runDir);
  const socket = o.socket ?? defaultSocket(dir, registryName);
  const dataDir = o.dataDir ?? join(process.env['SVR_DATA_DIR'] ?? '/var/lib/svrouter', registryName);
  mkdirSync(dataDir, { recursive: true });
  const store = o.store ?? await Store.open(dataDir);
  const closeStore = async () => {
    if (o.store === undefined) await store.close();
  };
  const logInfo = (event: string, fields: Record<string, string | number | boolean>) => log.info(event, fields);
  // the router's own alarms (security functions, workers, key exchange) go to the node's registry once it is
  // there; before (plugins loading at start), to the log
  let alarms: NodeAlarms | undefined;
  const observeAlarm: ObserveAlarm = (name, source, a) => {
    if (alarms !== undefined) alarms.routerAlarm(name, source, a);
    else if (a.active === true) logInfo('alarm.raised', { alarm: name, source, ...(a.detail ? { detail: a.detail } : {}) });
  };
  const workers = o.workers ?? 1;
  const pairOptions = haNode === undefined ? {} : pairRouterOptions(me, haNode);
  let opened: OpenedInterface[] = [];
  /** a data-path worker thread that ends while the node runs: the node stops, exit status 1 (set once the node exists) */
  let router: Router;
  const gates = new RawSendGates(); // the WAN devices' raw sends, off while the shaper shapes them
  if (workers > 1) {
    try {
      router = await startRouterOverWorkers(config, o.configPath, me.interfaces, o.name, workers, busyPollUs, store, logInfo, observeAlarm, o.stepRepository, pairOptions, haNode, gates);
    } catch (e) {
      await closeStore();
      throw e;
    }
  } else {
    try {
      setBusyPoll(busyPollUs);
      opened = await openInterfaces(me.interfaces, logInfo, (i) => onThisNode(i, haNode), gates);
    } catch (e) {
      await closeStore();
      throw e;
    }
    try {
      router = createRouter(config, Object.fromEntries(opened.map((x) => [x.iface.name, x.port])), {
        name: o.name, liveness: 'bfd', step: {}, store, log: logInfo, observeAlarm, egressShaping: true, ...(o.stepRepository === undefined ? {} : { stepRepository: o.stepRepository }),
        ...pairOptions,
      });
    } catch (e) {
      for (const x of opened) x.port.close();
      await closeStore();
      throw e;
    }
  }
  const version = o.version ?? 'unknown';
  const visibility = startVisibility(router, {
    ...(haNode === undefined ? {} : { haNode }),
    name: o.name, version, ports: () => opened.map((x) => ({ interface: x.iface.name, txDrops: x.port.stats.txDrops })),
  });
  alarms = visibility.alarms;
  let records: NodeRecords;
  try {
    records = await startRecords(router, store, config, o.name, logInfo, {
      collector: (c, status, detail) => visibility.alarms.ipfixCollector(c, status, detail),
      thread: (running, detail) => visibility.alarms.recordsThread(o.name, running, detail),
    });
  } catch (e) {
    visibility.stop();
    await router.stop();
    await closeStore();
    throw e;
  }
  visibility.metrics.setRecordsSource(() => records.sessions.counters());
  router.eventsWithoutSessions$.subscribe((e) => logEvent(log, e));
  router.onSessionFacts((f) => logSessionFact(log, f));
  if (workers <= 1) {
    try {
      await loadPlugins(router, o.configPath, o.name, logInfo); // before the first packet
    } catch (e) {
      await router.stop(); // never started: this closes the ports
      await records.close();
      await closeStore();
      throw e;
    }
    await router.start();
  }
  const shaper = new EgressShaper(logInfo, gates);
  try {
    await shaper.apply(me.interfaces, router.egressRates()); // the devices are up, the plugins said what to shape
  } catch (e) {
    await shaper.stop();
    visibility.stop();
    await router.stop();
    await records.close();
    await closeStore();
    throw e;
  }
  visibility.metrics.setShapingSource(() => shaper.stats());
  // the WAN receive off the ingress: the readers' packet rings (one queue per device: no data-path workers, no router pair), else `fwd`
  const noRing = workers > 1 ? 'data-path workers' : haNode !== undefined ? 'a router pair' : undefined;
  const ring: RingAttach | string | undefined = !wanRxRingEnabled() ? undefined : noRing ?? {
    get maxLen() { return rxRingMaxLen(); }, // once a ring opened: the addon is there
    open: (i, ix) => {
      const port = opened.find((x) => x.iface.device === i.device)?.port;
      return port === undefined ? 'no queue' : port.device.takeFromRing(ix, i.waypoint ?? '');
    },
  };
  const mine = me.interfaces.filter((i) => onThisNode(i, haNode));
  const on = wanPacketRxEnabled() || ring !== undefined;
  if (!on) await clearStaleTables(mine.filter((i) => i.kind === 'wan')); // a killed node's drop rules would keep the packets from the TUN
  const wanRx = on ? await WanPacketRx.start(mine, logInfo, undefined, ring, wanPacketRxEnabled()) : undefined;
  const recorder = new StateRecorder(store, router, { log: logInfo });
  await recorder.recordConfig(configToDocument(redactSecrets(config)));
  visibility.alarms.configApplied(o.configPath, 'at start');
  const node = new RunningNode(o.name, router, socket, dir, opened, null, log, o.configPath, store, recorder, records, visibility, o.store === undefined, o.conductor, shaper, wanRx);
  node.registryName = registryName;
  if (haNode !== undefined) {
    try {
      const ha = node.ha = await startHa(me, haNode, logInfo, () => alarms, new HaSessions(router.host, logInfo), { resume: () => router.resumePaths(), quiet: () => router.quietPaths(), setStandby: (s) => router.setPairStandby(s) });
      visibility.metrics.setHaSource(() => {
        const s = ha.status();
        return {
          node: s.node, role: s.role, lagMs: s.lag.lastMs, pending: s.lag.pending, changeLagMs: s.lag.changeMs, dirtyRows: s.sessions.dirtyLeft,
          dirtyOldestMs: s.sessions.dirtyLeftOldestMs, sessionRecords: { upsert: s.sessions.upserts, delete: s.sessions.deletes, purge: s.sessions.purges }, dropped: s.counters.dropped,
        };
      });
    } catch (e) {
      await node.stop('the sync link did not start');
      throw new SvrError('SVR_ERR_HA_SYNC', `${haNode}: cannot open the sync link on its sync-address (redundancy.nodes, is the address on an interface of this host?): ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  try {
    node.startRouting = (r) => startRouting(router, r, `${dataDir}-frr`, log, visibility.alarms.registry);
    node.routing = await node.startRouting(me);
  } catch (e) {
    await node.stop('routing did not start');
    throw e;
  }
  try {
    node.attachControl(await listenControl(socket, (req) => node.handle(req)));
  } catch (e) {
    await node.stop('control socket failed');
    throw new SvrError('SVR_ERR_CONTROL_CONNECT', `cannot serve the control socket ${socket}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const management = new ManagementApi({
    router, node: { name: o.name, version, startedAt: node.startedAt }, stats: () => node.stats(), config: () => node.configDocument(),
    reload: (by) => node.reload(by), alarms: visibility.alarms.registry,
    history: { query: (q) => records.sessions.query(q), get: (id) => records.sessions.get(id), explain: (id) => explainRecorded(records.sessions, router, id) }, metrics: visibility.metrics, dataPath: new Gate(2, 5_000),
    routing: {
      rib: (vrf) => ribView(router.tables, vrf),
      fib: (vrf) => fibView(router.tables, router.runningConfig, (p) => router.isPathUp(p), vrf),
      bgp: async () => node.routing?.bgp(),
    },
  }, logInfo);
  node.attachApi(management);
  try {
    await management.apply(api);
  } catch (e) {
    await node.stop('management API failed');
    throw e;
  }
  register(dir, { name: registryName, pid: process.pid, socket, config: o.configPath, startedAt: new Date().toISOString() });
  for (const p of router.peers()) {
    log.info('peer', { peer: p.name, paths: p.paths.map((x) => x.name).join(','), reachable: p.reachable });
  }
  log.info('node.state', { dataDir });
  log.info('node.running', { socket, interfaces: me.interfaces.map((x) => `${x.name}=${x.device}`).join(','), services: router.services().length, workers });
  return node;
}

/** The log line of a router event: session events rate-limited, peers and config once each (paths and plugins log their own lines). */
const tuple = (t: FiveTuple): string => `${t.src}:${t.srcPort}->${t.dst}:${t.dstPort}/${t.protocol}`;

/** session.created / removed lines, their fields read only when the rate limit lets a line through. */
export function logSessionFact(log: NodeLog, f: SessionFact): void {
  if (!log.sessionLine()) return;
  if (f.kind === 'session.created') log.info(f.kind, { id: f.sessionId, role: f.role, tenant: f.tenant, service: f.service, flow: tuple(f.forward), path: f.path });
  else log.info(f.kind, { id: f.sessionId, reason: f.reason });
}

function logEvent(log: NodeLog, e: RouterEvent): void {
  // a session line's fields are built only when the rate limit lets it through
  switch (e.type) {
    case 'session.migrated': if (log.sessionLine()) log.info(e.type, { id: e.sessionId, from: e.from, to: e.to, reason: e.reason }); break;
    case 'session.denied': if (log.sessionLine()) log.info(e.type, { reason: e.reason, flow: tuple(e.forward), interface: e.ingressInterface.name, suppressed: e.suppressed }); break;
    case 'peer.reachable': case 'peer.unreachable': log.info(e.type, { peer: e.peer }); break;
    default: break;
  }
}

/** Starts the worker threads (each opens its queue of every device), then configures the devices. */
async function startRouterOverWorkers(
  config: SvrConfig, configPath: string, interfaces: readonly Interface[], name: string, workers: number, busyPollUs: number, store: Store,
  log: (e: string, f: Record<string, string | number | boolean>) => void, observeAlarm: ObserveAlarm, stepRepository: StepRepositoryClient | undefined,
  pair: Partial<ReturnType<typeof pairRouterOptions>>, haNode: string | undefined, gates: RawSendGates,
): Promise<Router> {
  const host = new WorkerHost({
    workers, io: { kind: 'tun', busyPollUs, devices: interfaces.map((i) => ({ interface: i.name, device: i.device, options: tunOptions(i, gates) })) },
    ...(pair.replaySenderBase === undefined ? {} : { replaySenderBase: pair.replaySenderBase }),
  });
  const router = new Router(config, host, {
    name, liveness: 'bfd', step: {}, store, log, observeAlarm, egressShaping: true, ...(stepRepository === undefined ? {} : { stepRepository }), ...(pair.bfd === undefined ? {} : { bfd: pair.bfd }),
  });
  try {
    await loadPlugins(router, configPath, name, log); // into every worker, before the first packet
  } catch (e) {
    await router.stop();
    throw e;
  }
  await router.start();
  try {
    for (const iface of interfaces) {
      if (!onThisNode(iface, haNode)) {
        log('interface.partner', { interface: iface.name, device: iface.device, node: iface.node ?? '' });
        continue;
      }
      await configureInterface(iface);
      log('interface.up', { interface: iface.name, device: iface.device, mtu: iface.mtu, queues: workers });
    }
  } catch (e) {
    await router.stop();
    throw e;
  }
  return router;
}

/** The management block of router `name` with its files read (undefined without a block). */
function prepareApi(config: SvrConfig, name: string, configPath: string): PreparedManagement | undefined {
  const i = config.authority.routers.findIndex((r) => r.name === name);
  return prepareManagement(config.authority.routers[i]?.management, `authority.routers[${i}].management`, dirname(resolve(configPath)));
}

/**
 * Loads the plugins the config names (relative specifiers from the config's folder). Failures are logged
 * per plugin; the node keeps running, unless one fails closed (a security plugin that did not load, a chain
 * naming a missing stage): then this throws SVR_ERR_PLUGIN_FAIL_CLOSED with each of them by field path.
 */
async function loadPlugins(router: Router, configPath: string, name: string, log: (e: string, f: Record<string, string | number | boolean>) => void): Promise<void> {
  const failures = await router.loadPlugins({ baseDir: dirname(resolve(configPath)) });
  for (const f of failures) log('plugin.problem', { at: f.at, error: f.message, ...(f.failClosed ? { failClosed: true } : {}) });
  refuseFailClosed(failures, name, configPath);
}
