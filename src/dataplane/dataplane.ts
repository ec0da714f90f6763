/**
 * One router's data path: a stage graph over batches, the session table and the ports.
 *
 * Flow of a batch: port rx -> copy into the batch slab (headroom in front) -> graph
 *   decode -> [wan-verify] -> session-lookup -> first-packet | svr-accept -> svr-out | svr-in | forward-local -> tx
 *   (a transit session, transit.ts: svr-in on one leg -> service-chain -> svr-out on the other)
 *   (a chain stage may divert a packet to an external function: tx; it comes back through function-return)
 * -> one transmit per output interface (dataplane-tx.ts) -> the batch's events handed to control in one call.
 * Control talks to the data path only between batches (setTables, setPathUp, probe, removeRow, sweep); the packets
 * it has the data path send are built in originate.ts, those of sessions without a packet in session-probes.ts.
 */
import { monotonicMs } from './clock.js';
import { DrainWatch, v8Heap } from './heap-release.js';
import { timeSlot } from '../crypto/hmac.js';
import type { ForwardingTables } from '../model/tables.js';
import type { PacketPort } from './port.js';
import { SteadyPassArming } from './steady-pass.js';
import { Batch, PF_HANDED, PF_REASSEMBLED, SLOT } from './batch.js';
import { Ownership, type OwnershipOptions } from './ownership.js';
import { HandoffStage, SteerStage } from './stages/steer.js';
import { FecInStage } from './stages/fec-in.js';
import { DataplaneContext, type DataplaneShared } from './context.js';
import type { CloseReason, DpEvent } from './events.js';
import { factEvents, type SessionRecords } from './session-records.js';
import { StageGraph } from './graph.js';
import type { ChainStageEntry } from './chain.js';
import { PluginStageAdapter } from './stages/plugin-stage.js';
import { ServiceChainStage } from './stages/service-chain.js';
import type { PathKeyMaterial } from './path-keys.js';
import { expiryReason, removeSession } from './session-ops.js';
import type { Stage } from './stage.js';
import { DecodeStage } from './stages/decode.js';
import { FirstPacketStage } from './stages/first-packet.js';
import { ForwardLocalStage } from './stages/forward-local.js';
import { FunctionReturnStage } from './stages/function-return.js';
import { SessionLookupStage } from './stages/session-lookup.js';
import { SvrAcceptStage } from './stages/svr-accept.js';
import { SvrInStage } from './stages/svr-in.js';
import { SvrOutStage } from './stages/svr-out.js';
import { WanVerifyStage } from './stages/wan-verify.js';
import { RouteCheck } from './route-follow.js';
import { CountersReport, SESSION_COUNTERS_MS } from './counters-report.js';
import { IF_COUNTERS, IF_RX, Transmitter } from './dataplane-tx.js';
import { Originator } from './originate.js';
import { SessionProbes } from './session-probes.js';
import { endGoneSessions, idMaps, renumberSessions } from './table-swap.js';

export interface DataplaneOptions {
  tables: ForwardingTables;
  /** port per interface index (null: the interface has no port, its packets are counted and dropped) */
  ports: readonly (PacketPort | null)[];
  /** milliseconds, never stepping (dataplane/clock.ts); default monotonicMs (tests simulate it) */
  clock?: () => number;
  /** the wall clock of time-based HMAC slots; default Date.now, or `clock` when only that is given */
  wallClock?: () => number;
  /** one of several data-path workers: its index, the count, the shared steering table and the hand-off sink */
  ownership?: OwnershipOptions;
  /** counters, path liveness and replay marks in SharedArrayBuffers (workers) */
  shared?: DataplaneShared;
  /** receives the events of each batch (and of sweeps/commands) as objects, the session records built into them */
  onEvents?: (events: DpEvent[]) => void;
  /** instead of onEvents: the objects of the other events and the session records to read in place during the
   *  call (session-records.ts; no object per session fact) */
  onRecords?: (events: DpEvent[], sessions: SessionRecords) => void;
  /** how often each live session's packet/byte totals are reported (session.counters), ms; default 60 000, 0: never */
  sessionCountersMs?: number;
  /** whether anyone takes session.counters events (default: always): while not, the totals go to the records
   *  thread's fact ring only, and no copy of them is made for an event */
  countersWanted?: () => boolean;
  /** first sender id of this node's replay blocks (sender = base + worker index); a router pair's second
   *  node signs with its own senders, so the peer keeps a replay window per node (docs/high-availability.md) */
  replaySenderBase?: number;
  /** rows per slice of the route check after a swap (route-follow.ts); default ROUTE_CHECK_ROWS */
  routeCheckRows?: number;
}

/** Rows a sweep looks at, at most (~50-100 ns each, ~1-2 µs for one that expires). */
export const SWEEP_BUDGET = 16_384;

export class Dataplane {
  readonly ctx: DataplaneContext;
  graph: StageGraph;
  private readonly batch = new Batch();
  private readonly clock: () => number;
  /** when a drain of the session table gives the heap back (heap-release.ts) */
  private readonly drain = new DrainWatch();
  private readonly wallClock: () => number;
  private readonly onRecords: ((events: DpEvent[], sessions: SessionRecords) => void) | null;
  private readonly tx: Transmitter;
  private readonly out: Originator;
  private readonly probes: SessionProbes;
  private readonly countersReport: CountersReport;
  /** packets native/fwd.c forwarded (native-forward.ts) */
  private readonly cNative: number;
  private readonly cNativeIn: number;
  private readonly cBadPayload: number;
  private readonly cOversize: number;
  private readonly cRxBatches: number;
  private readonly cExpired: number;
  private readonly cNoRoute: number;
  /** the route check after a swap, in slices (route-follow.ts) */
  private readonly routeCheck: RouteCheck;
  /** the ports' steady pass: marked steady flows of a poll-mode TUN batch without JS (steady-pass.ts) */
  private readonly pass: SteadyPassArming;

  constructor(opts: DataplaneOptions) {
    this.clock = opts.clock ?? monotonicMs;
    this.wallClock = opts.wallClock ?? opts.clock ?? Date.now;
    this.ctx = new DataplaneContext(opts.tables, opts.shared, this.clock);
    this.pass = new SteadyPassArming(this.clock === monotonicMs && this.wallClock === Date.now);
    if (opts.ownership !== undefined && opts.ownership.count > 1) {
      const own = new Ownership(opts.ownership);
      this.ctx.ownership = own;
      this.ctx.sessions.ownership = own;
      this.ctx.waypoints.slice = { index: own.index, count: own.count };
      this.ctx.crypto.setWorker(own.index, own.count);
      this.ctx.setWorkers(own.count);
    }
    this.ctx.crypto.keys.sender += opts.replaySenderBase ?? 0;
    const onEvents = opts.onEvents;
    this.onRecords = opts.onRecords ?? (onEvents !== undefined ? (ev, s) => onEvents(factEvents(ev, s)) : null);
    const ctx = this.ctx;
    this.graph = this.buildGraph([]);
    this.tx = new Transmitter(ctx, opts.ports);
    this.out = new Originator(ctx, this.tx, this.clock, this.wallClock);
    this.probes = new SessionProbes(ctx, this.out, this.clock);
    this.countersReport = new CountersReport(ctx, opts.sessionCountersMs ?? SESSION_COUNTERS_MS, opts.countersWanted ?? (() => true));
    const c = ctx.counters;
    this.cNative = c.id('native-forwarded');
    this.cNativeIn = c.id('native-received');
    this.cBadPayload = c.id('drop-bad-payload');
    this.cOversize = c.id('drop-oversize');
    this.cRxBatches = c.id('rx-batches');
    this.cExpired = c.id('sessions-expired');
    this.cNoRoute = c.id('sessions-no-route');
    this.resolveInterfaceCounters(opts.tables);
    c.onGrow = () => this.rearmPasses();
    this.routeCheck = new RouteCheck(ctx, (n) => {
      ctx.counters.add(this.cNoRoute, n);
      this.flushEvents();
    }, opts.routeCheckRows);
  }

  /** Counter ids of each interface's packets and bytes (dataplane-tx.ts); the steady passes take them. */
  private resolveInterfaceCounters(t: ForwardingTables): void {
    this.tx.resolveInterfaceCounters(t);
    this.rearmPasses();
  }

  /** Something the steady passes hold changed: the ports holding one arm again now, the others at their next JS batch. */
  private rearmPasses(): void {
    if (!this.pass.on) return;
    this.pass.invalidate();
    for (let x = 0; x < this.tx.ports.length; x++) if (this.pass.taking(x)) this.armPass(x);
  }

  /** The steady pass of the port of `ifIndex`: svr-out's marks, or svr-in's on a WAN interface svr-in's native path
   *  takes (receiveIn; SVR_TUN_PASS_IN=0: none there). */
  private armPass(ifIndex: number): void {
    const ctx = this.ctx;
    const nf = ctx.nativeForward;
    const wan = ctx.nativeReceive.on && ctx.tables.interfaces[ifIndex]?.kind === 'wan';
    const table = wan ? (this.pass.onIn ? ctx.nativeReceive.handle : null) : nf.on ? nf.handle : null;
    const tx = this.tx;
    this.pass.arm(ifIndex, tx.ports, table, ctx.counters.values, {
      rxBatches: this.cRxBatches, rx: tx.cRx, native: wan ? this.cNativeIn : this.cNative, tx: tx.cTx, noPort: tx.cNoPort,
      badPayload: this.cBadPayload, ifIds: tx.ifCounters, stride: IF_COUNTERS,
    });
  }

  get counters() {
    return this.ctx.counters;
  }

  get sessions() {
    return this.ctx.sessions;
  }

  get tables(): ForwardingTables {
    return this.ctx.tables;
  }

  setPorts(ports: readonly (PacketPort | null)[]): void {
    this.ctx.nativeForward.clear(); // marks follow control changes (native-forward.ts)
    this.tx.ports = ports;
    this.rearmPasses();
  }

  /**
   * Swaps the forwarding tables between batches. Live sessions keep going, renumbered by name; one that cannot
   * (its service or path gone, its interfaces moved) is removed, reason 'config' (table-swap.ts); one delivered
   * along the RIB whose route is gone, reason 'no-route' (route-follow.ts: in slices, the first one here).
   * The per-service arrays come built with the tables (model/service-arrays.ts): this swap only assigns them.
   * `pathUp`: control's board of path verdicts in the new tables' numbering (a worker's reload that renumbers
   * paths: workers/path-up-boards.ts), with `pathRx`, a fresh buffer to count each path's packets in by the new
   * ids (workers/path-rx.ts).
   */
  setTables(t: ForwardingTables, pathUp?: SharedArrayBuffer, pathRx?: SharedArrayBuffer): void {
    this.ctx.nativeForward.clear(); // marks follow control changes (native-forward.ts)
    const maps = idMaps(this.ctx.tables, t);
    endGoneSessions(this.ctx, maps, this.clock());
    this.flushEvents(); // the removals name the old tables' services (session-records.ts)
    this.ctx.setTables(t, pathUp, pathRx);
    this.resolveInterfaceCounters(t);
    renumberSessions(this.ctx.sessions, maps);
    this.routeCheck.start(); // sessions follow their route
  }

  /** Rows the route check of the last swap has still to visit (route-follow.ts RouteCheck; 0: done). */
  get routeCheckPending(): number {
    return this.routeCheck.pending;
  }

  /**
   * Keys from the key exchange for a path (between batches): `rx` accepted at once, `tx` sent with from
   * `activeAt`, the rx keys before kept `overlapMs` after that (docs/security.md "Key slots").
   */
  setPathKeys(path: number, keys: { tx?: PathKeyMaterial; rx?: PathKeyMaterial }, activeAt: number, overlapMs: number): void {
    this.ctx.nativeForward.clear(); // marks follow control changes (native-forward.ts)
    this.ctx.crypto.keys.install(path, keys, this.clock(), activeAt, overlapMs);
  }

  /** Drops every key of a path (they expired): it sends and accepts nothing until new keys come. */
  dropPathKeys(path: number): void {
    this.ctx.nativeForward.clear(); // marks follow control changes (native-forward.ts)
    this.ctx.crypto.keys.dropKeys(path);
  }

  setPathUp(path: number, up: boolean): void {
    this.ctx.nativeForward.clear(); // marks follow control changes (native-forward.ts)
    if (path >= 0 && path < this.ctx.pathUp.length) this.ctx.pathUp[path] = up ? 1 : 0;
  }

  /** Core stages, service-chain and the plugin stages (already ordered), as one graph. */
  private buildGraph(plugins: readonly ChainStageEntry[]): StageGraph {
    const ctx = this.ctx;
    const stages: Stage[] = [
      new DecodeStage(ctx), new SteerStage(ctx), new HandoffStage(ctx), new FecInStage(ctx), new WanVerifyStage(ctx), new SessionLookupStage(ctx), new FirstPacketStage(ctx),
      new SvrAcceptStage(ctx), new SvrInStage(ctx), new ForwardLocalStage(ctx), new FunctionReturnStage(ctx),
      new ServiceChainStage(ctx, plugins.map((e) => e.fullName)),
      ...plugins.map((e, bit) => new PluginStageAdapter(e.fullName, e.plugin, e.stage, bit, ctx, e.failClosed === true)),
      new SvrOutStage(ctx),
    ];
    return new StageGraph(stages, ctx.counters);
  }

  /**
   * Installs plugin stages (ordered by orderStages) and the chains of every tenant and service (full stage
   * names per tenant id / service id). Between batches; live sessions keep their chain bits, re-based on
   * stage names so a reload does not send them through the wrong stage.
   */
  setPluginStages(ordered: ChainStageEntry[], tenantChains: readonly (readonly string[])[], serviceChains: readonly (readonly string[])[]): void {
    this.ctx.nativeForward.clear(); // marks follow control changes (native-forward.ts)
    const chains = this.ctx.chains;
    const oldNames = chains.stages.map((e) => e.fullName);
    chains.setStages(ordered);
    chains.compile(tenantChains, serviceChains);
    this.ctx.functions.resolve(this.ctx.tables, chains);
    this.graph = this.buildGraph(ordered);
    const remap = oldNames.map((n) => chains.bit(n));
    const t = this.ctx.sessions;
    for (let r = 0; r < t.capacity; r++) {
      const old = t.chain[r]!;
      if (!t.isActive(r) || old === 0) continue;
      let m = 0;
      for (let b = 0; b < remap.length; b++) if ((old & (1 << b)) !== 0 && remap[b]! >= 0) m |= 1 << remap[b]!;
      t.chain[r] = m >>> 0;
    }
  }

  /**
   * Processes packets received on interface `ifIndex`, in batches of at most MAX_BATCH. `room`: the bytes each
   * packet may use from its offset (its slot), which lets marked steady flows be finished in place (native-forward.ts,
   * native-receive.ts).
   */
  receive(ifIndex: number, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, room = 0): void {
    this.ctx.counters.add(this.cRxBatches, 1);
    if (this.pass.due(ifIndex)) this.armPass(ifIndex);
    if (room !== 0 && this.ctx.nativeReceive.on && this.ctx.tables.interfaces[ifIndex]?.kind === 'wan') {
      this.receiveIn(ifIndex, data, offsets, lengths, count);
      return;
    }
    const nf = this.ctx.nativeForward;
    if (!nf.active || room === 0) {
      this.process(ifIndex, data, offsets, lengths, count, 0);
      return;
    }
    for (let i = 0; i < count; i += nf.batch) {
      const n = Math.min(nf.batch, count - i);
      const o = i === 0 ? offsets : offsets.subarray(i), l = i === 0 ? lengths : lengths.subarray(i);
      const done = nf.forward(data, o, l, n, room, ifIndex, this.clock(), timeSlot(true, this.wallClock()));
      if (done === 0) {
        this.process(ifIndex, data, o, l, n, 0);
        continue;
      }
      this.tx.countInterface(ifIndex, IF_RX, n, l, n);
      this.tx.transmitNative(data, done, nf.natOff, nf.natLen, nf.natIf, this.cNative);
      if (done < n) this.process(ifIndex, data, nf.restOff, nf.restLen, n - done, 0, true);
    }
  }

  /** A batch from a WAN interface (its packets may be written in place): marked steady flows through native/fwd-in.c
   *  first (native-receive.ts), the rest, in their order, through the stages. */
  private receiveIn(ifIndex: number, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number): void {
    const ctx = this.ctx;
    const ni = ctx.nativeReceive;
    for (let i = 0; i < count; i += ni.batch) {
      const n = Math.min(ni.batch, count - i);
      const o = i === 0 ? offsets : offsets.subarray(i), l = i === 0 ? lengths : lengths.subarray(i);
      // per chunk: the stages may have cleared marks or replaced the columns since the last one
      const ran = ni.prepare(ctx.sessions, ctx.pathRx, ctx.crypto.keys.windows);
      const done = ran ? ni.receive(data, o, l, n, ifIndex, this.clock(), timeSlot(true, this.wallClock())) : 0;
      const dropped = ran ? ni.dropped : 0;
      if (done === 0 && dropped === 0) {
        this.process(ifIndex, data, o, l, n, 0);
        continue;
      }
      this.tx.countInterface(ifIndex, IF_RX, n, l, n);
      ctx.counters.add(this.tx.cRx, dropped);
      ctx.counters.add(this.cBadPayload, dropped); // as svr-in counts a payload that does not decrypt
      this.tx.transmitNative(data, done, ni.natOff, ni.natLen, ni.natIf, this.cNativeIn);
      if (ni.rest > 0) this.process(ifIndex, data, ni.restOff, ni.restLen, ni.rest, 0, true);
    }
  }

  /** Processes packets another worker handed over (they belong to sessions this worker owns); `flags`: PF_REASSEMBLED or 0. */
  receiveHandoff(ifIndex: number, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, flags = 0): void {
    this.process(ifIndex, data, offsets, lengths, count, PF_HANDED | (flags & PF_REASSEMBLED));
  }

  /** `counted`: the interface's rx counters have these packets already (receive). */
  private process(ifIndex: number, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, flags: number, counted = false): void {
    // control's answers to this input (BFD Finals, link-test replies, STEP acks) leave in one write per port
    // (holdControl's steps, without a closure per frame)
    this.out.hold();
    try {
      this.processHeld(ifIndex, data, offsets, lengths, count, flags, counted);
    } finally {
      this.out.release();
    }
  }

  private processHeld(ifIndex: number, data: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, flags: number, counted: boolean): void {
    const b = this.batch;
    let i = 0;
    while (i < count) {
      b.reset();
      const n = Math.min(this.ctx.fec.batchFill, count - i); // with FEC, room for the parity packets (fec.ts)
      const taken = b.fill(ifIndex, data, offsets, lengths, i, n);
      if (taken < n) this.ctx.counters.add(this.cOversize, n - taken);
      if (flags === 0 && !counted && taken > 0) this.tx.countInterface(ifIndex, IF_RX, taken, b.len, b.count);
      if (flags !== 0) for (let s = 0; s < b.count; s++) b.flags[s] = flags;
      i += n;
      this.ctx.wallMs = this.wallClock();
      this.runBatch(b);
      const rec = this.ctx.recovered;
      if (rec.count > 0) this.runBatch(rec); // packets FEC rebuilt in this batch (fec.ts): checked and forwarded like received ones
      rec.reset();
      if (this.ctx.linkEchoes.count > 0) this.out.answerLinkEchoes();
      if (this.ctx.natOpen.length > 0) this.probes.openNatBindings();
      if (this.ctx.enableMeta.length > 0) this.probes.askForMetadata();
      this.flushEvents();
    }
  }

  /** Runs a batch through the graph and transmits what it forwards, then the dup batch (copies, FEC parity). */
  private runBatch(b: Batch): void {
    this.graph.run(b, this.clock());
    this.tx.transmit(b, this.graph.tx.slot, this.graph.tx.n);
    this.tx.transmitDup();
  }

  private flushEvents(): void {
    const ctx = this.ctx;
    if (!ctx.denied.empty) {
      const d = ctx.denied;
      ctx.facts?.denied(ctx, d.words, d.count, d.suppressed, this.clock());
      ctx.events.push({ kind: 'session.denied', atMs: this.clock(), ...d.take() });
    }
    ctx.facts?.publish(); // the batch's fact rows, with its facts for control
    if (ctx.channels.list.length > 0) ctx.channels.flush(ctx.events, this.clock());
    const ev = ctx.events;
    const s = ctx.records;
    if (ev.length === 0 && s.count === 0) return;
    if (ev.length > 0) ctx.events = [];
    s.deliver(ctx.tables, ctx.applications, ctx.pathText);
    try {
      this.onRecords?.(ev, s);
    } finally {
      s.clear();
    }
  }

  /**
   * Expires idle sessions: the rows of the expiry wheel's slots due by now, at most `budget` of them
   * (session-table.ts); and reports the totals of live sessions for interim records (counters-report.ts).
   * Returns true when due rows are left: the caller sweeps again soon (between batches), so expiry keeps
   * up with any rate of new sessions. After a sweep that left nothing due, a drained table gives the heap
   * back (heap-release.ts).
   */
  sweep(budget = SWEEP_BUDGET): boolean {
    const now = this.clock();
    const ctx = this.ctx;
    const more = ctx.sessions.sweep(now, budget, (r) => {
      ctx.counters.add(this.cExpired);
      removeSession(ctx, r, expiryReason(ctx, r), now);
    });
    this.countersReport.report(now);
    this.probes.natKeepalive(now);
    if (ctx.fec.any) {
      ctx.fecTx.flushDue(now); // FEC groups of streams that paused: their parity goes now
      this.tx.transmitDup();
    }
    this.flushEvents();
    if (v8Heap !== null) this.drain.afterSweep(ctx.sessions.active, now, !more, v8Heap); // heap-release.ts
    return more;
  }

  /** Sweeps until no due row is left (control's `router.sweep()`, tests). */
  sweepAll(): void {
    while (this.sweep()) { /* the next budget */ }
  }

  /** A reverse probe of an egress session behind NAT (session-probes.ts). */
  reverseProbe(row: number, gen: number): boolean {
    return this.probes.reverseProbe(row, gen);
  }

  /** Removes a session on control's request (row + generation guard against reuse). */
  removeRow(row: number, gen: number, reason: CloseReason): boolean {
    this.ctx.nativeForward.clear(); // marks follow control changes (native-forward.ts)
    const t = this.ctx.sessions;
    if (!t.isActive(row) || t.gen[row] !== gen) return false;
    removeSession(this.ctx, row, reason, this.clock());
    this.flushEvents();
    return true;
  }

  /** Removes every session (reason `shutdown` when the router stops); their facts go out in one delivery. */
  removeAll(reason: CloseReason): void {
    this.ctx.nativeForward.clear(); // marks follow control changes (native-forward.ts)
    const t = this.ctx.sessions;
    const now = this.clock();
    for (let r = 0; r < t.capacity; r++) if (t.isActive(r)) removeSession(this.ctx, r, reason, now);
    this.flushEvents();
  }

  /** A health-check probe of an ingress session still waiting for reverse metadata (session-probes.ts). */
  probe(row: number, gen: number): boolean {
    return this.probes.probe(row, gen);
  }

  /** A message on the path control channel: BFD, link tests, STEP, key exchange (originate.ts). */
  sendPathMessage(path: number, payload: Uint8Array): boolean {
    return this.out.sendPathMessage(path, payload);
  }

  /**
   * Where a peer behind NAT was last seen (learned by control from its authenticated packets: docs/wan.md),
   * or null for its configured waypoint. Between batches; kept across config changes.
   */
  setPathPeer(path: number, address: Uint8Array | null, controlPort: number): void {
    this.ctx.nativeForward.clear(); // marks follow control changes (native-forward.ts)
    this.ctx.setPathPeer(path, address, controlPort);
  }

  /** UDP transform on `path` on or off (docs/wan.md); turned on, its ingress TCP sessions move to UDP
   *  (session-probes.ts). Between batches. Returns the sessions moved. */
  setPathTransform(path: number, on: boolean): number {
    this.ctx.nativeForward.clear(); // marks follow control changes (native-forward.ts)
    const n = this.probes.setPathTransform(path, on);
    this.flushEvents();
    return n;
  }

  /** A firewall-detector probe (paths/firewall-detector.ts; originate.ts). */
  sendPathProbe(path: number, tcpFlags: number, payload: Uint8Array): boolean {
    return this.out.sendPathProbe(path, tcpFlags, payload);
  }

  /** The MTU path MTU discovery found for a path (0: the wan interface's `mtu` again). Between batches. */
  setPathMtu(path: number, mtu: number): void {
    this.ctx.nativeForward.clear(); // marks follow control changes (native-forward.ts)
    this.ctx.setPathMtu(path, mtu);
  }

  /** The NAT in front of this router rebound: every session on `path` signals again (session-probes.ts). Returns
   *  the sessions re-signalled. */
  resignalPath(path: number): number {
    this.ctx.nativeForward.clear(); // marks follow control changes (native-forward.ts)
    const n = this.probes.resignalPath(path);
    this.flushEvents();
    return n;
  }

  /** Runs `fn` with the packets the data path originates held: written when the outermost hold ends, one transmit
   *  per port (originate.ts). */
  holdControl(fn: () => void): void {
    this.out.holdControl(fn);
  }

  /** The stage names in graph order (for `svr show stats` and docs). */
  get stageNames(): string[] {
    return this.graph.stageNames;
  }

  /** Slot size (bytes per packet buffer incl. headroom), for I/O sizing. */
  static readonly slotSize = SLOT;
}
