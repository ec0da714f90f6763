/**
 * State shared by the stages of one data path: the current forwarding tables, the session table,
 * counters, path liveness, scratch buffers and the events queued for control in this batch.
 * Tables are swapped only between batches (`setTables`).
 */
import { SessionRecords } from './session-records.js';
import { NativeForward } from './native-forward.js';
import { NativeReceive } from './native-receive.js';
import { LinkEchoReplies } from './link-echo.js';
import type { ControlFastPath } from './control-fast-path.js';
import { monotonicMs } from './clock.js';
import type { ForwardingTables } from '../model/tables.js';
import { MetadataWriter } from '../packet/svr-metadata.js';
import { Batch } from './batch.js';
import { ChainTable } from './chain.js';
import { SessionHooks } from './session-hooks.js';
import { PathCrypto } from './path-crypto.js';
import { ReplayMarks, type ReplayFloor } from './replay-marks.js';

/** State a worker thread shares with the worker host (SharedArrayBuffers that outlive the thread). */
export interface DataplaneShared {
  counters?: SharedArrayBuffer;
  pathUp?: SharedArrayBuffer;
  pathRx?: SharedArrayBuffer;
  /** replay windows' tops (replay-marks.ts), and the floors the thread this one replaces left */
  replay?: { marks: SharedArrayBuffer; floors: ReplayFloor[] };
  /** the ring this data path writes its session facts into for the records thread (fact-ring.ts) */
  facts?: SharedArrayBuffer;
}
import { ApplicationNames } from './applications.js';
import { Counters } from './counters.js';
import { DeniedLog } from './denied.js';
import { FactRing } from './fact-ring.js';
import { FactWriter } from './fact-writer.js';
import { PluginChannels } from './plugin-channels.js';
import type { DpEvent } from './events.js';
import { loadAddress } from './flow-key.js';
import { RandomPool } from './random-pool.js';
import { SessionTable, sessionLimit } from './session-table.js';
import { WaypointPorts } from './waypoint-ports.js';
import { ServicePaths } from './path-choice.js';
import { ServiceFunctions } from './service-functions.js';
import { WanKeys } from './wan-keys.js';
import { FecPolicies, FecReceiver, FecSender } from './fec.js';
import { Reassembly } from './reassembly.js';
import type { Ownership } from './ownership.js';
import { formatAddress } from '../packet/addr.js';
import { CONTROL_PORT } from './stages/wan-verify.js';

export class DataplaneContext {
  tables!: ForwardingTables;
  readonly sessions = new SessionTable();
  readonly counters: Counters;
  readonly writer = new MetadataWriter(2048);
  readonly waypoints = new WaypointPorts();
  readonly random = new RandomPool();
  /** ranked paths, refusals and resiliency per service (published by control) */
  readonly servicePaths = new ServicePaths();
  /** plugin stages and the chain of every (tenant, service) */
  readonly chains = new ChainTable();
  /** external network functions chain stages divert packets to (service-functions.ts) */
  readonly functions = new ServiceFunctions();
  /** application names by id (0 = unknown), interned as classifiers name them */
  readonly applications = new ApplicationNames();
  /** plugins' session-open/close hooks */
  readonly hooks: SessionHooks;
  /** key slots and replay windows per path, payload ciphers per security policy */
  readonly crypto = new PathCrypto();
  /** marked steady flows svr-out hands to native/fwd.c (native-forward.ts; SVR_NATIVE_FORWARD=0: off) */
  readonly nativeForward = new NativeForward();
  /** marked steady flows svr-in hands to native/fwd-in.c (native-receive.ts; SVR_NATIVE_IN=0: off) */
  readonly nativeReceive = new NativeReceive();
  /** set when this is one of several data-path workers */
  ownership: Ownership | null = null;
  /** waypoint 5-tuple allocation for ingress sessions (new and migrated) */
  readonly wanKeys: WanKeys;
  events: DpEvent[] = [];
  /** session.created / removed / reverseSeen of this batch, typed (session-records.ts) */
  readonly records = new SessionRecords();
  /** session facts for the records thread (a ring shared with it), when one is given */
  readonly facts: FactWriter | null;
  /** denied first packets of this batch (session.denied, flushed with the batch's events) */
  readonly denied = new DeniedLog();
  /** plugins' record channels to their control parts (flushed with the batch's events) */
  readonly channels = new PluginChannels();
  /** duplicates for a second path (packet-duplication), transmitted after each batch */
  readonly dup = new Batch();
  /** IPv4 and IPv6 packets being reassembled from fragments (decode); its pool sized by setTables */
  readonly reassembly = new Reassembly();
  /** FEC per service, the groups this data path sends and receives, and the packets it rebuilt (run after each batch) */
  readonly fec = new FecPolicies();
  readonly fecTx: FecSender;
  readonly fecRx: FecReceiver;
  readonly recovered = new Batch();
  /** per path id: 1 = usable (written by control: BFD later; all paths start up) */
  pathUp: Uint8Array = new Uint8Array(0);
  /** per path id: data packets from the peer whose HMAC verified (control reads them as liveness: paths/supervisor.ts) */
  pathRx: Float64Array = new Float64Array(0);
  /** per path id: local and remote waypoint as 4 words each */
  pathLocalWords = new Uint32Array(0);
  pathRemoteWords = new Uint32Array(0);
  /** per path id: the peer's control-channel port (1280; a NAT peer's translated port once learned) */
  pathControlPort = new Uint16Array(0);
  /** per path id: the path MTU (bytes of an outer packet): the wan interface's `mtu` until discovery says less */
  pathMtu = new Uint16Array(0);
  /** per path id: 1 = new TCP sessions on it are carried as UDP (UDP transform; paths/firewall-detector.ts) */
  pathTransform = new Uint8Array(0);
  /** paths whose TCP is transformed, by name (kept across config changes) */
  private readonly transformed = new Set<string>();
  /** discovered path MTUs by path name (kept across config changes) */
  private readonly discoveredMtu = new Map<string, number>();
  /** per interface: its paths to peers behind NAT (their address is learned: wan-verify) */
  natPaths: number[][] = [];
  /** (row, generation) pairs of sessions the peer opened on our control binding (we are behind NAT): their
   *  reverse probe goes out right after the batch (svr-accept, dataplane.ts); a few per second at most */
  natOpen: number[] = [];
  /** link-test echo requests of this batch, answered right after it (link-echo.ts, wan-verify) */
  readonly linkEchoes = new LinkEchoReplies();
  /** steady BFD packets and link-test replies kept for control's ticks (control-fast-path.ts); null: all go to control */
  controlFast: ControlFastPath | null = null;
  /** (path, outer protocol, local port, peer port) of WAN packets of flows we hold no session of: each gets an
   *  "enable-metadata" answer right after the batch (session-lookup, dataplane.ts; rate-limited there) */
  enableMeta: number[] = [];
  /** learned addresses of NAT peers by path name (kept across config changes): docs/wan.md */
  private readonly learned = new Map<string, { address: Uint8Array; port: number }>();
  /** per interface: waypoint as 4 words (WAN) */
  ifWaypointWords = new Uint32Array(0);
  /** per path id: local and remote waypoint as text, for the facts of new and moved sessions */
  pathText: { local: string; remote: string }[] = [];

  /** pathUp shared with control (SharedArrayBuffer): control publishes liveness, workers read it */
  private sharedPathUp: Uint8Array | null;
  /** pathRx shared with control (workers) */
  private sharedPathRx: Float64Array | null;

  /** data paths of the router (worker threads), for the session limit */
  private workers = 1;
  /** milliseconds (the data path's clock, never stepping: dataplane/clock.ts; tests simulate it) */
  readonly clock: () => number;
  /** the wall clock of this batch, ms: time-based HMAC slots (set by the Dataplane before each batch) */
  wallMs = Date.now();

  constructor(tables: ForwardingTables, shared?: DataplaneShared, clock: () => number = monotonicMs) {
    this.clock = clock;
    if (shared?.replay !== undefined) this.crypto.keys.useMarks(new ReplayMarks(shared.replay.marks), shared.replay.floors);
    this.counters = new Counters(shared?.counters);
    this.sharedPathUp = shared?.pathUp ? new Uint8Array(shared.pathUp) : null;
    this.sharedPathRx = shared?.pathRx ? new Float64Array(shared.pathRx) : null;
    this.facts = shared?.facts !== undefined ? new FactWriter(new FactRing(shared.facts)) : null;
    this.hooks = new SessionHooks(this); // after counters: hooks register theirs
    this.wanKeys = new WanKeys(this);
    this.fecTx = new FecSender(this);
    this.fecRx = new FecReceiver(this);
    this.nativeForward.follow(this.sessions);
    this.nativeReceive.follow(this.nativeForward, this.crypto.keys, this.sessions);
    this.setTables(tables);
  }

  /** This data path is one of `n` (worker threads): its share of the session capacity. */
  setWorkers(n: number): void {
    this.workers = n;
    this.sessions.setLimit(sessionLimit(this.tables.sessionCapacity, n));
  }

  /**
   * `pathUp`, `pathRx`: a new shared board and packet counts for these tables' path ids (only with shared ones
   * already; control folds the old counts in by name). Unshared counts follow each path by name.
   */
  setTables(t: ForwardingTables, pathUp?: SharedArrayBuffer, pathRx?: SharedArrayBuffer): void {
    if (pathUp !== undefined && this.sharedPathUp !== null) this.sharedPathUp = new Uint8Array(pathUp);
    if (pathRx !== undefined && this.sharedPathRx !== null) this.sharedPathRx = new Float64Array(pathRx);
    const oldUp = this.pathUp;
    const oldRx = this.pathRx;
    this.sessions.setLimit(sessionLimit(t.sessionCapacity, this.workers));
    if (t.reassemblyMemory !== this.reassembly.poolBytes) this.reassembly.configure(t.reassemblyMemory);
    const oldNames = this.tables?.paths.map((p) => p.name) ?? [];
    this.tables = t;
    this.servicePaths.reset(t);
    this.fec.reset(t.serviceArrays);
    this.functions.resolve(t, this.chains);
    this.crypto.update(t, this.clock());
    this.pathUp = this.sharedPathUp !== null ? this.sharedPathUp.subarray(0, t.paths.length) : new Uint8Array(t.paths.length);
    this.pathRx = this.sharedPathRx !== null ? this.sharedPathRx.subarray(0, t.paths.length) : new Float64Array(t.paths.length);
    this.nativeForward.paths(this.pathUp);
    this.pathLocalWords = new Uint32Array(t.paths.length * 4);
    this.pathRemoteWords = new Uint32Array(t.paths.length * 4);
    for (const p of t.paths) {
      const before = oldNames.indexOf(p.name);
      // a shared pathUp is control's alone (it sets it first, and republishes after a config change)
      if (this.sharedPathUp === null) this.pathUp[p.id] = before >= 0 ? oldUp[before]! : 1;
      if (this.sharedPathRx === null && before >= 0) this.pathRx[p.id] = oldRx[before]!; // BFD reads a change as traffic
      loadAddress(p.localWaypoint, 0, p.family, this.pathLocalWords, p.id * 4);
      loadAddress(p.remoteWaypoint, 0, p.family, this.pathRemoteWords, p.id * 4);
    }
    this.pathControlPort = new Uint16Array(t.paths.length).fill(CONTROL_PORT);
    this.pathMtu = new Uint16Array(t.paths.length);
    for (const p of t.paths) {
      const mtu = t.interfaces[p.localInterface]!.mtu;
      this.pathMtu[p.id] = Math.min(mtu, this.discoveredMtu.get(p.name) ?? mtu);
    }
    this.pathTransform = new Uint8Array(t.paths.length);
    for (const p of t.paths) this.pathTransform[p.id] = this.transformed.has(p.name) ? 1 : 0;
    this.natPaths = t.interfaces.map((i) => t.paths.filter((p) => p.peerBehindNat && p.localInterface === i.index).map((p) => p.id));
    for (const [name, l] of [...this.learned]) {
      const p = t.paths.find((q) => q.name === name);
      if (p === undefined || !p.peerBehindNat) this.learned.delete(name);
      else this.applyPeer(p.id, l.address, l.port);
    }
    this.pathText = t.paths.map((p) => ({ local: formatAddress(p.localWaypoint, 0, p.family), remote: this.remoteText(p.id) }));
    this.ifWaypointWords = new Uint32Array(t.interfaces.length * 4);
    for (const i of t.interfaces) {
      if (i.waypointFamily !== 0) loadAddress(i.waypoint, 0, i.waypointFamily, this.ifWaypointWords, i.index * 4);
    }
  }

  /**
   * The address and control port where a peer behind NAT was last seen (control learned them from its
   * authenticated packets), or null: back to the configured waypoint. Between batches.
   */
  setPathPeer(path: number, address: Uint8Array | null, port: number): void {
    const p = this.tables.paths[path];
    if (p === undefined || !p.peerBehindNat) return;
    if (address === null) {
      this.learned.delete(p.name);
      loadAddress(p.remoteWaypoint, 0, p.family, this.pathRemoteWords, path * 4);
      this.pathControlPort[path] = CONTROL_PORT;
    } else {
      this.learned.set(p.name, { address: address.slice(), port });
      this.applyPeer(path, address, port);
    }
    this.pathText[path] = { local: formatAddress(p.localWaypoint, 0, p.family), remote: this.remoteText(path) };
  }

  /** The path MTU discovery found (between batches); 0: forget it (the interface's `mtu` again). */
  setPathMtu(path: number, mtu: number): void {
    const p = this.tables.paths[path];
    if (p === undefined) return;
    const ifMtu = this.tables.interfaces[p.localInterface]!.mtu;
    if (mtu <= 0) this.discoveredMtu.delete(p.name);
    else this.discoveredMtu.set(p.name, mtu);
    this.pathMtu[path] = mtu <= 0 ? ifMtu : Math.min(ifMtu, mtu);
  }

  /** Whether new TCP sessions on a path are carried as UDP (control's firewall detector decides; between batches). */
  setPathTransform(path: number, on: boolean): void {
    const p = this.tables.paths[path];
    if (p === undefined) return;
    if (on) this.transformed.add(p.name);
    else this.transformed.delete(p.name);
    this.pathTransform[path] = on ? 1 : 0;
  }

  /** Whether the peer of a NAT path has been seen yet (before that, nothing is sent to it). */
  peerKnown(path: number): boolean {
    const p = this.tables.paths[path];
    return p !== undefined && (!p.peerBehindNat || this.learned.has(p.name));
  }

  private applyPeer(path: number, address: Uint8Array, port: number): void {
    loadAddress(address, 0, this.tables.paths[path]!.family, this.pathRemoteWords, path * 4);
    this.pathControlPort[path] = port;
  }

  private remoteText(path: number): string {
    const p = this.tables.paths[path]!;
    const l = this.learned.get(p.name);
    return l === undefined ? formatAddress(p.remoteWaypoint, 0, p.family) : formatAddress(l.address, 0, p.family);
  }
}
