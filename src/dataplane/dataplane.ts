/**
 * One router's data path: a stage graph over batches, the session table and the ports.
 *
 * Flow of a batch: port rx -> copy into the batch slab (headroom in front) -> graph
 *   decode -> [wan-verify] -> session-lookup -> first-packet | svr-accept -> svr-out | svr-in | forward-local -> tx
 *   (a transit session, transit.ts: svr-in on one leg -> service-chain -> svr-out on the other)
 *   (a chain stage may divert a packet to an external function: tx; it comes back through function-return)
 * -> one transmit per output interface -> the batch's events handed to control in one call.
 * Per interface: packets and bytes in and out (`interface.<name>.rx-packets`, ...; a handed-over packet is
 * counted once, by the worker that read it): one add per batch and interface, the bytes summed over the
 * batch's lengths (~0.7 ns/pkt each way alone, Node 20, 2026-12; not measurable in bench/dataplane.ts).
 * Control talks to the data path only between batches (setTables, setPathUp, probe, removeRow, sweep).
 */
import { monotonicMs } from './clock.js';
import { DrainWatch, v8Heap } from './heap-release.js';
import { timeSlot } from '../crypto/hmac.js';
import { INTERFACE_COUNTER_KINDS } from './counter-names.js';
import type { ForwardingTables } from '../model/tables.js';
import type { PacketPort } from './port.js';
import { SteadyPassArming } from './steady-pass.js';
import { PROTO_TCP, PROTO_UDP, PacketInfo, TCP_ACK } from '../packet/ip.js';
import { fillL4Checksum, setIpLength } from '../packet/rewrite.js';
import { writeU16, writeU32 } from '../packet/checksum.js';
import { Batch, HEADROOM, MAX_BATCH, PF_HANDED, PF_REASSEMBLED, SLOT } from './batch.js';
import { lanFragments, writeFirstFragment, writeFragmentSlot } from './fragment-out.js';
import { Ownership, type OwnershipOptions } from './ownership.js';
import { HandoffStage, SteerStage } from './stages/steer.js';
import { FecInStage } from './stages/fec-in.js';
import { DataplaneContext, type DataplaneShared } from './context.js';
import { COUNTER_WORDS, type CloseReason, type DpEvent } from './events.js';
import { factEvents, type SessionRecords } from './session-records.js';
import { StageGraph } from './graph.js';
import type { ChainStageEntry } from './chain.js';
import { PluginStageAdapter } from './stages/plugin-stage.js';
import { ServiceChainStage } from './stages/service-chain.js';
import { wordsToBytes, writeControlMetadata, writeForwardMetadata, writeReverseMetadata } from './metadata-build.js';
import { Control } from '../packet/svr-metadata.js';
import { sealMetadata } from './metadata-crypto.js';
import { signPacket, signPacketLater } from './sign.js';
import { TagBatch } from './batch-tags.js';
import { isHandshakeMessage } from '../crypto/handshake.js';
import type { PathKeyMaterial } from './path-keys.js';
import { expiryReason, removeSession, sessionId, sessionOuterProtocol } from './session-ops.js';
import { msSince, ROLE_EGRESS, ROLE_INGRESS, SF_NEEDS_META, SF_REV_SIGNAL, SF_SEND_UUID, SF_TRANSFORMED } from './session-table.js';
import type { Stage } from './stage.js';
import { DecodeStage } from './stages/decode.js';
import { FirstPacketStage } from './stages/first-packet.js';
import { ForwardLocalStage } from './stages/forward-local.js';
import { FunctionReturnStage } from './stages/function-return.js';
import { SessionLookupStage } from './stages/session-lookup.js';
import { SvrAcceptStage } from './stages/svr-accept.js';
import { SvrInStage } from './stages/svr-in.js';
import { SvrOutStage } from './stages/svr-out.js';
import { CONTROL_PORT, PROBE_PORT, WanVerifyStage } from './stages/wan-verify.js';
import { LINK_TEST_LENGTH } from '../packet/path-message.js';
import { RouteCheck } from './route-follow.js';

/** Per-interface counters, in INTERFACE_COUNTER_KINDS order per interface (`interface.<name>.<counter>`). */
const IF_COUNTERS = INTERFACE_COUNTER_KINDS.length;
const IF_RX = 0;
const IF_TX = 2;

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

/** How often the NAT keep-alive looks for idle sessions (ms). */
const KEEPALIVE_SCAN_MS = 1000;

/** A session the peer opened toward us behind NAT is probed every scan until followed, while it saw a packet this recently (ms). */
const OPENING_PROBES_MS = 5000;

/** Default period of session.counters reports (the shortest interim record interval, 60 s). */
export const SESSION_COUNTERS_MS = 60_000;

/** Old id -> new id by name (-1: gone); null when every name kept its id (no lookups: ~4-10 ms for 10,000 services). */
function idMap<T>(from: readonly T[], to: readonly T[], name: (x: T) => string, find: (name: string) => number): Int32Array | null {
  let same = from.length === to.length;
  for (let i = 0; same && i < from.length; i++) same = name(from[i]!) === name(to[i]!);
  if (same) return null;
  const map = Int32Array.from(from, (x) => find(name(x)));
  return map.every((id, i) => id === i) ? null : map;
}

/** Entries of one session.counters report at most (a sweep at 1 M rows reports about 4,200). */
const COUNTERS_CHUNK = 4096;

/** Rows a sweep looks at, at most (~50-100 ns each, ~1-2 µs for one that expires). */
export const SWEEP_BUDGET = 16_384;

export class Dataplane {
  readonly ctx: DataplaneContext;
  graph: StageGraph;
  private readonly batch = new Batch();
  private readonly control = new Batch();
  /** holdControl depth; while > 0, originated packets wait in `control` and go out in one transmit per port */
  private controlHeld = 0;
  /** the held packets' tags, signed in one call at the flush (batch-tags.ts: one call for a hub tick's many keys);
   *  their L4 checksums wait for it (controlUnsummed) */
  private readonly controlTags = new TagBatch();
  private readonly controlUnsummed = new Uint8Array(MAX_BATCH);
  private ports: readonly (PacketPort | null)[];
  private readonly clock: () => number;
  /** when a drain of the session table gives the heap back (heap-release.ts) */
  private readonly drain = new DrainWatch();
  private readonly wallClock: () => number;
  private readonly onRecords: ((events: DpEvent[], sessions: SessionRecords) => void) | null;
  private txOff = new Uint32Array(MAX_BATCH);
  private txLen = new Uint32Array(MAX_BATCH);
  private readonly cTx: number;
  private readonly cRx: number;
  /** packets native/fwd.c forwarded (native-forward.ts) */
  private readonly cNative: number;
  private readonly cNativeIn: number;
  private readonly cBadPayload: number;
  private readonly cNoPort: number;
  private readonly cOversize: number;
  private readonly cRxBatches: number;
  private readonly cExpired: number;
  private readonly cNoRoute: number;
  private readonly cProbes: number;
  private readonly cPathMessages: number;
  private readonly cPathProbes: number;
  private readonly cTransformedLater: number;
  private readonly cResignalled: number;
  private readonly cKeepalives: number;
  private readonly cLanFragmented: number;
  private readonly cLanFragments: number;
  private readonly cNoRoom: number;
  /** IP id of the next datagram fragmented for a LAN (IPv4 takes the low 16 bits) */
  private lanId = Math.floor(Math.random() * 0x100000000);
  private readonly cReverseProbes: number;
  private readonly cEnableMetaSent: number;
  private keepaliveAt = -Infinity;
  private readonly addr = new Uint8Array(16);
  /** the link-test reply being sent (answerLinkEchoes) */
  private readonly echoReply = new Uint8Array(LINK_TEST_LENGTH);
  private readonly allSlots = Uint16Array.from({ length: MAX_BATCH }, (_, i) => i);
  private readonly pi = new PacketInfo();
  /** counter ids per interface index: rx-packets, rx-bytes, tx-packets, tx-bytes (IF_COUNTERS apart) */
  private ifCounters = new Int32Array(0);
  /** session.counters: period, cursor over the rows, and when the cursor last moved */
  private readonly countersMs: number;
  private countersCursor = 0;
  private countersAt = -1;
  /** rows the counters cursor is due to visit and has not (the fraction of a row carried to the next sweep) */
  private countersDue = 0;
  /** the entries of a report being built, reused: a new array of every visited row's size per sweep (270 kB at 1 M
   *  rows), its copy for the event beside it, brought V8 full collections every 12 s at 1 M sessions older than
   *  the period (docs/performance.md wave 24, tab6) */
  private countersData = new Float64Array(COUNTERS_CHUNK * COUNTER_WORDS);
  private readonly countersWanted: () => boolean;
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
    this.ports = opts.ports;
    const onEvents = opts.onEvents;
    this.onRecords = opts.onRecords ?? (onEvents !== undefined ? (ev, s) => onEvents(factEvents(ev, s)) : null);
    this.countersMs = opts.sessionCountersMs ?? SESSION_COUNTERS_MS;
    this.countersWanted = opts.countersWanted ?? (() => true);
    const ctx = this.ctx;
    this.graph = this.buildGraph([]);
    const c = ctx.counters;
    this.cTx = c.id('tx-packets');
    this.cRx = c.id('rx-packets');
    this.cNative = c.id('native-forwarded');
    this.cNativeIn = c.id('native-received');
    this.cBadPayload = c.id('drop-bad-payload');
    this.cNoPort = c.id('drop-no-port');
    this.cOversize = c.id('drop-oversize');
    this.cRxBatches = c.id('rx-batches');
    this.cExpired = c.id('sessions-expired');
    this.cNoRoute = c.id('sessions-no-route');
    this.cProbes = c.id('health-checks-sent');
    this.cPathMessages = c.id('path-messages-sent');
    this.cPathProbes = c.id('firewall-probes-sent');
    this.cTransformedLater = c.id('tcp-sessions-moved-to-udp');
    this.cResignalled = c.id('sessions-resignalled-nat');
    this.cKeepalives = c.id('nat-keepalives-sent');
    this.cLanFragmented = c.id('lan-packets-fragmented');
    this.cLanFragments = c.id('lan-fragments-sent');
    this.cNoRoom = c.id('drop-too-big');
    this.cReverseProbes = c.id('nat-reverse-probes-sent');
    this.cEnableMetaSent = c.id('enable-metadata-sent');
    this.resolveInterfaceCounters(opts.tables);
    c.onGrow = () => this.rearmPasses();
    this.routeCheck = new RouteCheck(ctx, (n) => {
      ctx.counters.add(this.cNoRoute, n);
      this.flushEvents();
    }, opts.routeCheckRows);
  }

  /** Counter ids of each interface's packets and bytes (by name, so a reload keeps their values). */
  private resolveInterfaceCounters(t: ForwardingTables): void {
    const c = this.ctx.counters;
    const ids = new Int32Array(t.interfaces.length * IF_COUNTERS);
    t.interfaces.forEach((i, x) => INTERFACE_COUNTER_KINDS.forEach((n, k) => { ids[x * IF_COUNTERS + k] = c.id(`interface.${i.name}.${n}`); }));
    this.ifCounters = ids;
    this.rearmPasses();
  }

  /** Something the steady passes hold changed: the ports holding one arm again now, the others at their next JS batch. */
  private rearmPasses(): void {
    if (!this.pass.on) return;
    this.pass.invalidate();
    for (let x = 0; x < this.ports.length; x++) if (this.pass.taking(x)) this.armPass(x);
  }

  /** The steady pass of the port of `ifIndex`: svr-out's marks, or svr-in's on a WAN interface svr-in's native path
   *  takes (receiveIn; SVR_TUN_PASS_IN=0: none there). */
  private armPass(ifIndex: number): void {
    const ctx = this.ctx;
    const nf = ctx.nativeForward;
    const wan = ctx.nativeReceive.on && ctx.tables.interfaces[ifIndex]?.kind === 'wan';
    const table = wan ? (this.pass.onIn ? ctx.nativeReceive.handle : null) : nf.on ? nf.handle : null;
    this.pass.arm(ifIndex, this.ports, table, ctx.counters.values, {
      rxBatches: this.cRxBatches, rx: this.cRx, native: wan ? this.cNativeIn : this.cNative, tx: this.cTx, noPort: this.cNoPort,
      badPayload: this.cBadPayload, ifIds: this.ifCounters, stride: IF_COUNTERS,
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
    this.ports = ports;
    this.rearmPasses();
  }

  /**
   * Swaps the forwarding tables between batches. Live sessions keep going: their tenant, service, path
   * ids are mapped to the new tables by name; a session whose service or path no longer exists, or whose
   * interfaces moved (flow keys hold interface indexes), is removed (reason 'config'); one delivered along
   * the RIB whose route is gone, reason 'no-route' (route-follow.ts: in slices, the first one here). Walks
   * over the table here: one more to remove when some name is gone or an interface moved, one more to
   * renumber when some id changed (a config that only changes services' addresses or rules needs neither).
   * The per-service arrays come built with the tables (model/service-arrays.ts): this swap only assigns them.
   * `pathUp`: control's board of path verdicts in the new tables' numbering (a worker's reload that renumbers
   * paths: workers/path-up-boards.ts), with `pathRx`, a fresh buffer to count each path's packets in by the new
   * ids (workers/path-rx.ts).
   */
  setTables(t: ForwardingTables, pathUp?: SharedArrayBuffer, pathRx?: SharedArrayBuffer): void {
    this.ctx.nativeForward.clear(); // marks follow control changes (native-forward.ts)
    const old = this.ctx.tables;
    const s = this.ctx.sessions;
    const tenantMap = idMap(old.tenants, t.tenants, (n) => n, (n) => t.tenantId(n));
    const serviceMap = idMap(old.services, t.services, (x) => x.name, (n) => t.serviceId(n));
    const ifMap = idMap(old.interfaces, t.interfaces, (x) => x.name, (n) => t.interfaceIndex(n));
    const pathMap = idMap(old.paths, t.paths, (x) => x.name, (n) => t.paths.findIndex((q) => q.name === n));
    const now = this.clock();
    // sessions that cannot go on end first, while their names are still those of the old tables
    if (serviceMap?.includes(-1) === true || ifMap !== null || pathMap?.includes(-1) === true) {
      const to = (map: Int32Array | null, id: number): number => (map === null ? id : map[id] ?? -1);
      for (let r = 0; r < s.capacity; r++) {
        if (!s.isActive(r)) continue;
        const path = s.path[r]!;
        if (to(serviceMap, s.service[r]!) < 0 || to(ifMap, s.inIf[r]!) !== s.inIf[r] || to(ifMap, s.outIf[r]!) !== s.outIf[r] || (path >= 0 && to(pathMap, path) < 0)) removeSession(this.ctx, r, 'config', now);
      }
    }
    this.flushEvents(); // the removals name the old tables' services (session-records.ts)
    this.ctx.setTables(t, pathUp, pathRx);
    this.resolveInterfaceCounters(t);
    if (serviceMap !== null || tenantMap !== null || pathMap !== null) {
      for (let r = 0; r < s.capacity; r++) {
        if (!s.isActive(r)) continue;
        // the counts per id follow each row (session-counts.ts)
        if (serviceMap !== null || tenantMap !== null) {
          s.setClass(r, tenantMap === null ? s.tenant[r]! : tenantMap[s.tenant[r]!] ?? -1, serviceMap === null ? s.service[r]! : serviceMap[s.service[r]!] ?? -1);
        }
        if (pathMap !== null && s.path[r]! >= 0) s.setPath(r, pathMap[s.path[r]!]!);
      }
    }
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
      this.countInterface(ifIndex, IF_RX, n, l, n);
      this.transmitNative(data, done, nf.natOff, nf.natLen, nf.natIf, this.cNative);
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
      this.countInterface(ifIndex, IF_RX, n, l, n);
      ctx.counters.add(this.cRx, dropped);
      ctx.counters.add(this.cBadPayload, dropped); // as svr-in counts a payload that does not decrypt
      this.transmitNative(data, done, ni.natOff, ni.natLen, ni.natIf, this.cNativeIn);
      if (ni.rest > 0) this.process(ifIndex, data, ni.restOff, ni.restLen, ni.rest, 0, true);
    }
  }

  /** Sends the packets native/fwd.c or fwd-in.c finished (one port call per run of the same egress) and counts them
   *  (rx-packets and `counter`). */
  private transmitNative(data: Uint8Array, done: number, off: Uint32Array, len: Uint32Array, outIf: Uint32Array, counter: number): void {
    const c = this.ctx.counters;
    c.add(this.cRx, done);
    c.add(counter, done);
    for (let k = 0; k < done;) {
      const ifx = outIf[k]!;
      let j = k;
      while (j < done && outIf[j] === ifx) {
        this.txOff[j - k] = off[j]!;
        this.txLen[j - k] = len[j]!;
        j++;
      }
      const port = this.ports[ifx];
      if (port) {
        port.transmit(data, this.txOff, this.txLen, j - k);
        c.add(this.cTx, j - k);
        this.countInterface(ifx, IF_TX, j - k, this.txLen, j - k);
      } else {
        c.add(this.cNoPort, j - k);
      }
      k = j;
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
    this.controlHeld++;
    try {
      this.processHeld(ifIndex, data, offsets, lengths, count, flags, counted);
    } finally {
      if (--this.controlHeld === 0) this.flushControl();
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
      if (flags === 0 && !counted && taken > 0) this.countInterface(ifIndex, IF_RX, taken, b.len, b.count);
      if (flags !== 0) for (let s = 0; s < b.count; s++) b.flags[s] = flags;
      i += n;
      this.ctx.wallMs = this.wallClock();
      this.runBatch(b);
      const rec = this.ctx.recovered;
      if (rec.count > 0) this.runBatch(rec); // packets FEC rebuilt in this batch (fec.ts): checked and forwarded like received ones
      rec.reset();
      if (this.ctx.linkEchoes.count > 0) this.answerLinkEchoes();
      if (this.ctx.natOpen.length > 0) this.openNatBindings();
      if (this.ctx.enableMeta.length > 0) this.askForMetadata();
      this.flushEvents();
    }
  }

  /** Runs a batch through the graph and transmits what it forwards, then the dup batch (copies, FEC parity). */
  private runBatch(b: Batch): void {
    this.graph.run(b, this.clock());
    this.transmit(b, this.graph.tx.slot, this.graph.tx.n);
    this.transmitDup();
  }

  private transmitDup(): void {
    const dup = this.ctx.dup;
    if (dup.count === 0) return;
    this.transmit(dup, this.allSlots, dup.count);
    dup.reset();
  }

  /** Groups `count` slots of the batch by interface: one port call per interface; `control`: PacketPort.transmit. */
  private transmit(b: Batch, slots: Uint16Array, count: number, control = false): void {
    const c = this.ctx.counters;
    if (count === 0) return;
    if (b !== this.ctx.dup) this.fragmentForLans(b, slots, count);
    const nIf = this.ports.length;
    for (let ifx = 0; ifx < nIf; ifx++) {
      let n = 0;
      for (let k = 0; k < count; k++) {
        const s = slots[k]!;
        if (b.ifIndex[s] !== ifx) continue;
        this.txOff[n] = b.off[s]!;
        this.txLen[n] = b.len[s]!;
        n++;
      }
      if (n === 0) continue;
      const port = this.ports[ifx];
      if (port) {
        port.transmit(b.data, this.txOff, this.txLen, n, control);
        c.add(this.cTx, n);
        this.countInterface(ifx, IF_TX, n, this.txLen, n);
      } else {
        c.add(this.cNoPort, n);
      }
    }
  }

  /**
   * A datagram this router reassembled that is longer than the mtu of the LAN interface it leaves on goes as
   * fragments of that size (fragment-out.ts lanFragments): fragment 0 with the batch, the others in the dup
   * batch right after it. Its source sent it as fragments, so its destination reassembles them; a host's
   * kernel behind the LAN would refuse an IPv6 packet longer than the link (RFC 8200 §5).
   */
  private fragmentForLans(b: Batch, slots: Uint16Array, count: number): void {
    const ifs = this.ctx.tables.interfaces;
    const dup = this.ctx.dup;
    const c = this.ctx.counters;
    for (let k = 0; k < count; k++) {
      const s = slots[k]!;
      if ((b.flags[s]! & PF_REASSEMBLED) === 0) continue;
      const iface = ifs[b.ifIndex[s]!];
      if (iface === undefined || iface.kind === 'wan') continue;
      const n = lanFragments(b, s, iface.mtu);
      if (n <= 1) continue;
      if (dup.count + n - 1 > MAX_BATCH) {
        c.add(this.cNoRoom);
        b.ifIndex[s] = -1; // not sent
        continue;
      }
      for (let j = 1; j < n; j++) writeFragmentSlot(b, s, iface.mtu, j, this.lanId, dup);
      writeFirstFragment(b, s, iface.mtu, this.lanId);
      this.lanId = (this.lanId + 1) >>> 0;
      c.add(this.cLanFragmented);
      c.add(this.cLanFragments, n);
    }
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
   * (session-table.ts); and reports the totals of live sessions for interim records (reportCounters).
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
    this.reportCounters(now);
    this.natKeepalive(now);
    if (ctx.fec.any) {
      ctx.fecTx.flushDue(now); // FEC groups of streams that paused: their parity goes now
      this.transmitDup();
    }
    this.flushEvents();
    if (v8Heap !== null) this.drain.afterSweep(ctx.sessions.active, now, !more, v8Heap); // heap-release.ts
    return more;
  }

  /** Sweeps until no due row is left (control's `router.sweep()`, tests). */
  sweepAll(): void {
    while (this.sweep()) { /* the next budget */ }
  }

  /**
   * NAT keep-alive (docs/wan.md): at most once a second, every session on an `outbound-only` path that has
   * been idle for its path's `nat-keep-alive` sends a probe (an ingress session a health-check probe, one
   * the peer opened a reverse probe), so that the NAT in front of us keeps its binding; the peer's answer
   * comes back through it. A session the peer opened that the peer has not followed yet probes every time
   * while the peer sent on it within OPENING_PROBES_MS. Neither keeps a session from
   * expiring (session-lookup), so an idle session still ends at its timeout.
   */
  private natKeepalive(now: number): void {
    const ctx = this.ctx;
    if (now - this.keepaliveAt < KEEPALIVE_SCAN_MS || !ctx.tables.paths.some((p) => p.outboundOnly)) return;
    this.keepaliveAt = now;
    const t = ctx.sessions;
    const paths = ctx.tables.paths;
    for (let r = 0; r < t.capacity; r++) {
      if (!t.isActive(r)) continue;
      const role = t.role[r];
      const p = paths[t.path[r]!];
      if (p === undefined || !p.outboundOnly || (role !== ROLE_INGRESS && role !== ROLE_EGRESS)) continue;
      // a session the peer opened, until the peer follows it (its next packet without metadata) and while the
      // peer still sends (an idle one had its probe): probe again
      const idle = msSince(now, t.lastSeen[r]!);
      const opening = role === ROLE_EGRESS && (t.flags[r]! & SF_SEND_UUID) !== 0 && idle < OPENING_PROBES_MS;
      if (!opening && idle < p.natKeepAliveMs) continue;
      const sent = role === ROLE_INGRESS ? this.probe(r, t.gen[r]!) : this.reverseProbe(r, t.gen[r]!);
      if (sent && !opening) ctx.counters.add(this.cKeepalives);
    }
  }

  /**
   * Packet-based session recovery: "enable-metadata" on the waypoint 5-tuple of each packet session-lookup
   * found no session for (metadata with only the control message, signed; the peer's ingress re-signals).
   */
  private askForMetadata(): void {
    const ctx = this.ctx;
    const q = ctx.enableMeta;
    const now = this.clock();
    for (let i = 0; i + 3 < q.length; i += 4) {
      const p = q[i]!;
      const n = sealMetadata(ctx, p, writeControlMetadata(ctx, p, Control.EnableMetadata), now);
      if (n >= 0 && this.originate(p, q[i + 1]!, q[i + 2]!, q[i + 3]!, ctx.writer.buf, n, true)) ctx.counters.add(this.cEnableMetaSent);
    }
    q.length = 0;
  }

  /** The reverse probes of the sessions svr-accept opened from packets that rode our control binding. */
  private openNatBindings(): void {
    const q = this.ctx.natOpen;
    for (let i = 0; i + 1 < q.length; i += 2) this.reverseProbe(q[i]!, q[i + 1]!);
    q.length = 0;
  }

  /**
   * Behind NAT, for a session the peer opened (an egress session): an empty packet on the session's waypoint
   * 5-tuple carrying reverse metadata with its id and the control code "state exists". Through our NAT it
   * opens (or, after a rebinding, renews) the session's binding; the peer follows it there (svr-accept
   * rejoinIngress) and consumes it (svr-in).
   */
  reverseProbe(row: number, gen: number): boolean {
    const ctx = this.ctx;
    const t = ctx.sessions;
    if (!t.isActive(row) || t.gen[row] !== gen || t.role[row] !== ROLE_EGRESS) return false;
    const mlen = sealMetadata(ctx, t.path[row]!, writeReverseMetadata(ctx, row, Control.StateExists), this.clock());
    if (mlen < 0) return false;
    const sent = this.originate(t.path[row]!, sessionOuterProtocol(t, row), t.wpLocalPort[row]!, t.wpPeerPort[row]!, ctx.writer.buf, mlen, true);
    if (sent) ctx.counters.add(this.cReverseProbes);
    return sent;
  }

  /**
   * session.counters: a second cursor walks the table once per period, so every live session older than
   * the period has its totals reported about once per period; one fact per sweep, its entries bounded by
   * the rows visited (capacity x elapsed / period).
   */
  private reportCounters(now: number): void {
    const t = this.ctx.sessions;
    if (this.countersMs <= 0 || this.countersAt < 0) {
      this.countersAt = now;
      return;
    }
    // rows used so far (the table's capacity grows with them): the fraction left over counts next time, so a
    // small table is still walked once per period, not once per sweep
    this.countersDue = Math.min(t.capacity, this.countersDue + (t.capacity * (now - this.countersAt)) / this.countersMs);
    this.countersAt = now;
    const visit = Math.floor(this.countersDue);
    if (visit <= 0) return;
    this.countersDue -= visit;
    const data = this.countersData;
    let n = 0;
    for (let i = 0; i < visit; i++) {
      const r = this.countersCursor;
      this.countersCursor = r + 1 >= t.capacity ? 0 : r + 1;
      if (!t.isActive(r) || now - t.created[r]! < this.countersMs) continue;
      const at = n * COUNTER_WORDS;
      for (let w = 0; w < 4; w++) data[at + w] = t.uuid[r * 4 + w]!;
      data[at + 4] = t.pktsFwd[r]!;
      data[at + 5] = t.pktsRev[r]!;
      data[at + 6] = t.bytesFwd[r]!;
      data[at + 7] = t.bytesRev[r]!;
      if (++n === COUNTERS_CHUNK) {
        this.countersReport(n, now);
        n = 0;
      }
    }
    if (n > 0) this.countersReport(n, now);
  }

  /** The first n entries of countersData to the fact ring, and as an event when one is wanted (its own copy). */
  private countersReport(n: number, now: number): void {
    const data = this.countersData;
    this.ctx.facts?.counters(this.ctx, data, n, now);
    if (this.countersWanted()) this.ctx.events.push({ kind: 'session.counters', atMs: now, count: n, data: data.slice(0, n * COUNTER_WORDS) });
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

  /**
   * Sends a health-check probe for an ingress session still waiting for reverse metadata: an empty packet
   * on the session's waypoint 5-tuple carrying forward metadata + TLV 46 = 1 (fact sheet §8). The egress
   * creates the session if it lost the first packets and answers with reverse metadata.
   */
  probe(row: number, gen: number): boolean {
    const ctx = this.ctx;
    const t = ctx.sessions;
    if (!t.isActive(row) || t.gen[row] !== gen || t.role[row] !== ROLE_INGRESS) return false;
    const mlen = sealMetadata(ctx, t.path[row]!, writeForwardMetadata(ctx, row, true), this.clock());
    if (mlen < 0) return false;
    const proto = sessionOuterProtocol(t, row);
    const p = t.path[row]!;
    // a session riding a NAT peer's control binding (natRelay) probes there too
    const relay = t.natRelay[row] === 1;
    const sent = this.originate(p, proto, relay ? CONTROL_PORT : t.wpLocalPort[row]!, relay ? ctx.pathControlPort[p]! : t.wpPeerPort[row]!, ctx.writer.buf, mlen, true);
    if (sent) ctx.counters.add(this.cProbes);
    return sent;
  }

  /**
   * Sends a message on the path control channel: UDP waypoint:1280 -> peer waypoint:1280, signed with
   * the path's HMAC unless its policy is `disabled`. Used by BFD, link tests and STEP (control rate).
   * Key-exchange messages travel unsigned, and only on a path whose keys they make (they authenticate
   * themselves, and a peer that restarted has no keys to check a trailer with: docs/security.md).
   */
  sendPathMessage(path: number, payload: Uint8Array): boolean {
    const handshake = isHandshakeMessage(payload, 0, payload.length);
    if (handshake && this.ctx.tables.paths[path]?.keyExchange !== 'handshake') return false;
    if (!this.ctx.peerKnown(path)) return false; // a peer behind NAT: nowhere to send until it was heard from
    const sent = this.originate(path, PROTO_UDP, CONTROL_PORT, this.ctx.pathControlPort[path]!, payload, payload.length, !handshake);
    if (sent) this.ctx.counters.add(this.cPathMessages);
    return sent;
  }

  /** The link-test replies wan-verify queued for this batch (link-echo.ts): one path message each, held with the batch's others. */
  private answerLinkEchoes(): void {
    const q = this.ctx.linkEchoes;
    const reply = this.echoReply;
    for (let k = 0; k < q.count; k++) {
      const at = k * LINK_TEST_LENGTH;
      for (let i = 0; i < LINK_TEST_LENGTH; i++) reply[i] = q.bytes[at + i]!;
      this.sendPathMessage(q.path[k]!, reply);
    }
    q.count = 0;
  }

  /**
   * Where a peer behind NAT was last seen (learned by control from its authenticated packets: docs/wan.md),
   * or null for its configured waypoint. Between batches; kept across config changes.
   */
  setPathPeer(path: number, address: Uint8Array | null, controlPort: number): void {
    this.ctx.nativeForward.clear(); // marks follow control changes (native-forward.ts)
    this.ctx.setPathPeer(path, address, controlPort);
  }

  /**
   * UDP transform (docs/wan.md): TCP sessions on the path are carried as UDP from now on, or not. Between
   * batches. Turned on, the path's ingress TCP sessions still carried as TCP move to UDP too (a firewall
   * that drops TCP would end them): new UDP waypoint ports, forward metadata again at once as a probe and on
   * their next packets (the peer finds each by its id: svr-accept rejoin). One walk, once per verdict
   * change. Sessions already transformed stay so when it is turned off. Returns the sessions moved.
   */
  setPathTransform(path: number, on: boolean): number {
    this.ctx.nativeForward.clear(); // marks follow control changes (native-forward.ts)
    const ctx = this.ctx;
    const was = ctx.pathTransform[path] === 1;
    ctx.setPathTransform(path, on);
    if (!on || was) return 0;
    const t = ctx.sessions;
    let n = 0;
    for (let r = 0; r < t.capacity; r++) {
      if (!t.isActive(r) || t.role[r] !== ROLE_INGRESS || t.path[r] !== path || t.protocol[r] !== PROTO_TCP || (t.flags[r]! & SF_TRANSFORMED) !== 0) continue;
      if (!ctx.wanKeys.assignPrimary(r, path, PROTO_UDP)) continue; // no free UDP waypoint port: it stays TCP
      t.flags[r] = t.flags[r]! | SF_TRANSFORMED | SF_NEEDS_META;
      ctx.events.push({ kind: 'session.resignalled', row: r, gen: t.gen[r]!, sessionId: sessionId(t, r) });
      this.probe(r, t.gen[r]!);
      n++;
    }
    ctx.counters.add(this.cTransformedLater, n);
    this.flushEvents();
    return n;
  }

  /**
   * Sends a firewall-detector probe (paths/firewall-detector.ts): a TCP segment with `tcpFlags` from the local
   * waypoint's PROBE_PORT to the peer's, signed like a control message; the peer's wan-verify hands its payload
   * to control. Whether it arrives tells whether a middlebox on the path passes such TCP.
   */
  sendPathProbe(path: number, tcpFlags: number, payload: Uint8Array): boolean {
    if (!this.ctx.peerKnown(path)) return false;
    const sent = this.originate(path, PROTO_TCP, PROBE_PORT, PROBE_PORT, payload, payload.length, true, tcpFlags);
    if (sent) this.ctx.counters.add(this.cPathProbes);
    return sent;
  }

  /** The MTU path MTU discovery found for a path (0: the wan interface's `mtu` again). Between batches. */
  setPathMtu(path: number, mtu: number): void {
    this.ctx.nativeForward.clear(); // marks follow control changes (native-forward.ts)
    this.ctx.setPathMtu(path, mtu);
  }

  /**
   * The NAT in front of this router rebound (the peer saw our packets come from a new address or port):
   * every ingress session on `path` sends its forward metadata again, at once as a health-check probe
   * (so that a flow that only receives is re-keyed too) and on its next packets until reverse metadata
   * confirms it; its handshake episode retries the probe (session.resignalled). Every session the peer
   * opened sends a reverse probe and reverse metadata with its id until the peer's next packet without
   * metadata (the keep-alive scan repeats the probe once a second meanwhile). The peer finds each
   * session by its id on the new waypoint 5-tuple (svr-accept rejoin). One walk over the table, at most
   * once per NAT change. Returns the sessions re-signalled.
   */
  resignalPath(path: number): number {
    this.ctx.nativeForward.clear(); // marks follow control changes (native-forward.ts)
    const ctx = this.ctx;
    const t = ctx.sessions;
    let n = 0;
    for (let r = 0; r < t.capacity; r++) {
      if (!t.isActive(r) || t.path[r] !== path) continue;
      if (t.role[r] === ROLE_EGRESS) {
        // a session the peer opened: reverse metadata with its id until the peer follows (svr-in clears it)
        t.flags[r] = t.flags[r]! | SF_REV_SIGNAL | SF_SEND_UUID;
        this.reverseProbe(r, t.gen[r]!);
        n++;
        continue;
      }
      if (t.role[r] !== ROLE_INGRESS) continue;
      t.flags[r] = t.flags[r]! | SF_NEEDS_META;
      ctx.events.push({ kind: 'session.resignalled', row: r, gen: t.gen[r]!, sessionId: sessionId(t, r) });
      this.probe(r, t.gen[r]!);
      n++;
    }
    ctx.counters.add(this.cResignalled, n);
    this.flushEvents();
    return n;
  }

  /**
   * Runs `fn` with the packets the data path originates (path messages, probes, keepalives) held: they are
   * built at once (signed, counted as sent) and written when the outermost hold ends, one transmit per port
   * (one TUN write of many packets instead of one each; 256 at most, then a write). Control's timer ticks use
   * it for the BFD packets of many paths (paths/bfd-schedule.ts), the data path for its answers to a batch.
   */
  holdControl(fn: () => void): void {
    this.controlHeld++;
    try {
      fn();
    } finally {
      if (--this.controlHeld === 0) this.flushControl();
    }
  }

  private flushControl(): void {
    const c = this.control;
    if (c.count === 0) return;
    if (this.controlTags.count > 0) {
      this.controlTags.sign(c.data);
      const u = this.controlUnsummed;
      for (let k = 0; k < c.count; k++) if (u[k] === 1) {
        u[k] = 0;
        fillL4Checksum(c.data, c.info[k]!);
      }
    }
    this.transmit(c, this.allSlots, c.count, true);
    c.reset();
  }

  /** Builds one packet from scratch on `path` (waypoint to waypoint) and transmits it (or holds it: holdControl). */
  private originate(p: number, proto: number, srcPort: number, dstPort: number, body: Uint8Array, bodyLen: number, sign: boolean, tcpFlags = TCP_ACK): boolean {
    const ctx = this.ctx;
    const path = ctx.tables.paths[p];
    const port = path === undefined ? null : this.ports[path.localInterface];
    if (path === undefined || !port) return false;
    const c = this.control;
    if (c.count === MAX_BATCH) this.flushControl();
    const d = c.data;
    const held = this.controlHeld > 0;
    const at = (held ? c.count * SLOT : 0) + HEADROOM;
    const fam = path.family;
    const alen = fam === 6 ? 16 : 4;
    const l3 = fam === 6 ? 40 : 20;
    const l4len = proto === PROTO_TCP ? 20 : 8;
    d.fill(0, at, at + l3 + l4len);
    if (fam === 4) {
      d[at] = 0x45;
      writeU16(d, at + 6, 0x4000);
      d[at + 8] = 64;
      d[at + 9] = proto;
    } else {
      writeU32(d, at, 0x60000000);
      d[at + 6] = proto;
      d[at + 7] = 64;
    }
    const srcOff = at + (fam === 6 ? 8 : 12);
    const dstOff = srcOff + alen;
    // addresses and body copied byte by byte: no subarray object per packet (a hub originates ~6,000 a second)
    wordsToBytes(ctx.pathLocalWords, p * 4, fam, this.addr);
    for (let i = 0; i < alen; i++) d[srcOff + i] = this.addr[i]!;
    wordsToBytes(ctx.pathRemoteWords, p * 4, fam, this.addr);
    for (let i = 0; i < alen; i++) d[dstOff + i] = this.addr[i]!;
    const l4 = at + l3;
    writeU16(d, l4, srcPort);
    writeU16(d, l4 + 2, dstPort);
    if (proto === PROTO_TCP) {
      d[l4 + 12] = 5 << 4;
      d[l4 + 13] = tcpFlags;
    }
    const payload = l4 + l4len;
    if (bodyLen === body.length) d.set(body, payload);
    else for (let i = 0; i < bodyLen; i++) d[payload + i] = body[i]!;
    let end = payload + bodyLen;
    // held: the tag at the flush, with the other held packets' (one call for many paths' keys)
    const later = held && sign && path.hmac.mode !== 'disabled' && ctx.crypto.batchTags;
    if (sign && path.hmac.mode !== 'disabled') {
      ctx.wallMs = this.wallClock();
      end = later ? signPacketLater(ctx, d, payload, end, p, this.clock(), this.controlTags, c.count) : signPacket(ctx, d, payload, end, p, this.clock());
      if (end < 0) return false; // no key on the path yet
    }
    const pi = held ? c.info[c.count]! : this.pi;
    pi.family = fam;
    pi.l3 = at;
    pi.l4 = l4;
    pi.payload = payload;
    pi.srcOff = srcOff;
    pi.dstOff = dstOff;
    pi.protocol = proto;
    pi.fragment = 0;
    setIpLength(d, pi, end); // and the IPv4 header checksum
    if (later) this.controlUnsummed[c.count] = 1;
    else fillL4Checksum(d, pi);
    if (held) {
      const k = c.count++;
      c.off[k] = at;
      c.len[k] = end - at;
      c.ifIndex[k] = path.localInterface;
      return true;
    }
    this.txOff[0] = at;
    this.txLen[0] = end - at;
    port.transmit(d, this.txOff, this.txLen, 1, true);
    ctx.counters.add(this.cTx);
    this.countInterface(path.localInterface, IF_TX, 1, this.txLen, 1);
    return true;
  }

  /** Adds `packets` and the sum of `lens[0..n)` to an interface's rx or tx counters. */
  private countInterface(ifIndex: number, dir: number, packets: number, lens: Uint16Array | Uint32Array, n: number): void {
    const at = ifIndex * IF_COUNTERS + dir;
    if (at + 1 >= this.ifCounters.length) return;
    let bytes = 0;
    for (let k = 0; k < n; k++) bytes += lens[k]!;
    const c = this.ctx.counters;
    c.add(this.ifCounters[at]!, packets);
    c.add(this.ifCounters[at + 1]!, bytes);
  }

  /** The stage names in graph order (for `svr show stats` and docs). */
  get stageNames(): string[] {
    return this.graph.stageNames;
  }

  /** Slot size (bytes per packet buffer incl. headroom), for I/O sizing. */
  static readonly slotSize = SLOT;
}
