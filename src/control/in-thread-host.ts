/**
 * The data path in this thread: one Dataplane over the packet ports an embedder passes (in-memory links,
 * TUN devices, pcap), with the plugins' data-path parts, an idle sweep on a timer, and longer read gathering
 * on wan ports while they receive path control only (wan-gather.ts).
 *
 * @example
 *   const host = new InThreadHost({ lan0: lanPort, wan0: wanPort });
 *   const router = new Router(config, host, { name: 'r1' });   // what createRouter(config, io, opts) does
 *   host.dataplane.sessions.active;                            // white-box access for tests and benchmarks
 */
import { Dataplane } from '../dataplane/dataplane.js';
import { monotonicMs } from '../dataplane/clock.js';
import { FactRing } from '../dataplane/fact-ring.js';
import type { ControlFastPath } from '../dataplane/control-fast-path.js';
import type { PacketPort } from '../dataplane/port.js';
import type { CloseReason } from '../dataplane/events.js';
import type { PathKeyMaterial, PathKeyStatus } from '../dataplane/path-keys.js';
import { listSessions, pageSessions, tallySessions, type SessionCount, type SessionPageQuery, type SessionPageRow, type SessionSummary, type SessionTally } from '../dataplane/views.js';
import { collectBuffers, collectChanges, importRows, type ImportResult, type SessionChanges } from '../dataplane/session-rows.js';
import { SvrError } from '../errors.js';
import type { SvrConfig } from '../model/config.js';
import type { ForwardingTables } from '../model/tables.js';
import { performance } from 'node:perf_hooks';
import type { DataPathHost, DataPathInit, ThreadLoad } from './data-path-host.js';
import { WanGather } from './wan-gather.js';

/** Packet ports by interface name (every interface of the router needs one). */
export type RouterIo = Readonly<Record<string, PacketPort>>;

export interface InThreadHostOptions {
  /** milliseconds; default the data path's monotonicMs (tests pass a simulated clock, also for HMAC slots) */
  clock?: () => number;
  /** idle sweep period, default 250 ms (0 = no timer: call `router.sweep()` yourself) */
  sweepIntervalMs?: number;
  /** how often each live session's totals are reported (session.counters), ms; default 60 000, 0: never */
  sessionCountersMs?: number;
  /** first replay-block sender id (DataplaneOptions.replaySenderBase); default 0 */
  replaySenderBase?: number;
  /** wan packets a second from which queues of path control only gather longer (wan-gather.ts); default
   *  CONTROL_ONLY_MIN_PACKETS, a hub's rate */
  controlOnlyMinPackets?: number;
}

export class InThreadHost implements DataPathHost {
  readonly workers = 1;
  private dp: Dataplane | null = null;
  private readonly clock: () => number;
  private readonly wallClock: () => number;
  private readonly sweepIntervalMs: number;
  private readonly sessionCountersMs: number | undefined;
  private readonly replaySenderBase: number;
  private readonly controlOnlyMinPackets: number | undefined;
  private sweepTimer: NodeJS.Timeout | null = null;
  /** once a second: wan queues of path control only gather longer (wan-gather.ts) */
  private gatherTimer: NodeJS.Timeout | null = null;
  /** where session changes are collected: each answer is a view, copied by its caller before the next (ha-sessions.ts) */
  private readonly collected = collectBuffers();

  readonly factRings: readonly SharedArrayBuffer[] = [FactRing.buffer()];

  constructor(private readonly io: RouterIo, opts: InThreadHostOptions = {}) {
    this.clock = opts.clock ?? monotonicMs;
    this.wallClock = opts.clock ?? Date.now;
    this.sweepIntervalMs = opts.sweepIntervalMs ?? 250;
    this.sessionCountersMs = opts.sessionCountersMs;
    this.replaySenderBase = opts.replaySenderBase ?? 0;
    this.controlOnlyMinPackets = opts.controlOnlyMinPackets;
  }

  /** The data path (for tests and benchmarks that look inside; the router needs nothing but this interface). */
  get dataplane(): Dataplane {
    if (this.dp === null) throw new SvrError('SVR_ERR_ROUTER_STATE', 'the in-thread data path is built by the router that uses this host (new Router(config, host, opts))');
    return this.dp;
  }

  open(init: DataPathInit): void {
    if (this.dp !== null) throw new SvrError('SVR_ERR_ROUTER_STATE', `this in-thread host already runs the data path of router ${init.routerName}`);
    const dp = new Dataplane({
      tables: init.tables, ports: this.portsFor(init.tables), clock: this.clock, wallClock: this.wallClock, 
      ...(init.onRecords !== undefined ? { onRecords: (events, s) => init.onRecords!(events, s, 0) } : { onEvents: (events) => init.onEvents(events, 0) }),
      shared: { facts: this.factRings[0]! },
      ...(init.sessionsWanted !== undefined ? { countersWanted: () => init.sessionsWanted!() } : {}),
      ...(this.sessionCountersMs !== undefined ? { sessionCountersMs: this.sessionCountersMs } : {}), replaySenderBase: this.replaySenderBase,
    });
    if (!init.pathsUp) dp.ctx.pathUp.fill(0);
    this.dp = dp;
  }

  /** The router's plugin host runs both parts of each plugin here. */
  get plugins(): { readonly here: Dataplane } {
    return { here: this.dataplane };
  }

  private portsFor(tables: ForwardingTables): (PacketPort | null)[] {
    const missing = tables.interfaces.filter((i) => this.io[i.name] === undefined).map((i) => i.name);
    if (missing.length > 0) {
      throw new SvrError('SVR_ERR_ROUTER_INTERFACE',
        `router ${tables.routerName}: no packet port for interface(s) ${missing.join(', ')}; pass one per interface in the io map`);
    }
    return tables.interfaces.map((i) => this.io[i.name]!);
  }

  start(): void {
    const dp = this.dataplane;
    for (const iface of dp.tables.interfaces) {
      this.io[iface.name]!.start((data, offsets, lengths, count, room) => dp.receive(iface.index, data, offsets, lengths, count, room));
    }
    if (this.sweepIntervalMs > 0) {
      const sweep = (): void => {
        if (dp.sweep() && this.sweepTimer !== null) setImmediate(sweep); // more due: again after the next batches
      };
      this.sweepTimer = setInterval(sweep, this.sweepIntervalMs);
      this.sweepTimer.unref();
    }
    const gather = new WanGather(dp, this.io, undefined, this.controlOnlyMinPackets);
    this.gatherTimer = setInterval(() => gather.tick(), 1000);
    this.gatherTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    if (this.gatherTimer) clearInterval(this.gatherTimer);
    this.gatherTimer = null;
    this.dp?.removeAll('shutdown');
    for (const port of Object.values(this.io)) port.close();
  }

  setTables(tables: ForwardingTables, _config: SvrConfig): void {
    const ports = this.portsFor(tables); // throws before anything changes
    this.dataplane.setTables(tables);
    this.dataplane.setPorts(ports);
  }

  updateRib(tables: ForwardingTables): void {
    this.dataplane.setTables(tables); // the same interfaces: the ports stay
  }

  setPathUp(path: number, up: boolean): void {
    this.dataplane.setPathUp(path, up);
  }

  isPathUp(path: number): boolean {
    return this.dataplane.ctx.pathUp[path] === 1;
  }

  pathTraffic(path: number): number {
    return this.dataplane.ctx.pathRx[path] ?? 0;
  }

  setServiceRouting(service: number, paths: readonly number[], refused: boolean, resiliency: number): void {
    this.dataplane.ctx.servicePaths.set(service, paths, refused, resiliency);
  }

  probe(row: number, gen: number): void {
    this.dataplane.probe(row, gen);
  }

  removeRow(row: number, gen: number, reason: CloseReason): void {
    this.dataplane.removeRow(row, gen, reason);
  }

  setPathPeer(path: number, address: Uint8Array | null, controlPort: number): void {
    this.dataplane.setPathPeer(path, address, controlPort);
  }

  resignalPath(path: number): void {
    this.dataplane.resignalPath(path);
  }

  setPathMtu(path: number, mtu: number): void {
    this.dataplane.setPathMtu(path, mtu);
  }

  sendPathMessage(path: number, payload: Uint8Array): boolean {
    return this.dataplane.sendPathMessage(path, payload);
  }

  /** SVR_STEADY_PATH_MESSAGES=0: every control message goes to control as an event (to measure or compare) */
  keepSteadyPathMessages(fast: ControlFastPath | null): boolean {
    if (process.env['SVR_STEADY_PATH_MESSAGES'] === '0') return false;
    this.dataplane.ctx.controlFast = fast;
    return true;
  }

  batchPathMessages(fn: () => void): void {
    this.dataplane.holdControl(fn);
  }

  setPathTransform(path: number, on: boolean): void {
    this.dataplane.setPathTransform(path, on);
  }

  sendPathProbe(path: number, tcpFlags: number, payload: Uint8Array): boolean {
    return this.dataplane.sendPathProbe(path, tcpFlags, payload);
  }

  setPathKeys(path: number, keys: { tx?: PathKeyMaterial; rx?: PathKeyMaterial }, activeAt: number, overlapMs: number): void {
    this.dataplane.setPathKeys(path, keys, activeAt, overlapMs);
  }

  dropPathKeys(path: number): void {
    this.dataplane.dropPathKeys(path);
  }

  pathKeys(path: number): PathKeyStatus[] {
    const s = this.dataplane.ctx.crypto.keys.status(path);
    return s === null ? [] : [s];
  }

  sweep(): void {
    this.dataplane.sweepAll();
  }

  counters(): Record<string, number> {
    return this.dataplane.counters.snapshot();
  }

  async sessions(): Promise<SessionSummary[]> {
    return listSessions(this.dataplane.ctx, this.clock());
  }

  async collectSessionChanges(full: boolean, minAgeMs = 0): Promise<SessionChanges> {
    return collectChanges(this.dataplane.ctx.sessions, this.clock(), full, undefined, 0, minAgeMs, this.collected);
  }

  async importSessions(rows: Uint8Array): Promise<ImportResult> {
    this.dataplane.ctx.crypto.keys.raiseCounters(this.clock());
    const ctx = this.dataplane.ctx;
    return importRows(ctx.sessions, rows, this.clock(), undefined, (r) => ctx.hooks.runInstalled(r));
  }

  removeAllSessions(reason: CloseReason): void {
    this.dataplane.removeAll(reason);
  }

  async sessionPage(q: SessionPageQuery): Promise<SessionPageRow[]> {
    return pageSessions(this.dataplane.ctx, this.clock(), q);
  }

  /** The data path runs on this thread (with control and everything else the process does). */
  threadLoad(): ThreadLoad[] {
    const u = performance.eventLoopUtilization();
    return [{ activeMs: u.active, idleMs: u.idle }];
  }

  /** The counts the table keeps (views.ts tallySessions): no walk, exact at the call. */
  tally(): SessionTally & { perWorker: number[] } {
    const t = tallySessions(this.dataplane.ctx);
    return { ...t, perWorker: [t.active] };
  }

  sessionCount(): SessionCount {
    const t = this.dataplane.ctx.sessions;
    return { active: t.active, limit: t.limit, perWorker: [t.active] };
  }
}
