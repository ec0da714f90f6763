/**
 * The data path a router's control part drives, behind one interface with two implementations:
 * `InThreadHost` (control/in-thread-host.ts: one Dataplane in this thread, over the packet ports an
 * embedder passes) and `WorkerHost` (workers/worker-host.ts: one Dataplane per worker thread, TUN queues,
 * steering, path liveness and counters in SharedArrayBuffers).
 *
 * Control talks to the data path only between batches: tables, path liveness, service routing, session
 * commands, plugins' data-path parts. Facts come back as one call per batch. Sessions are named by a
 * row number that is unique within the host (the worker host puts the worker in the top bits).
 */
import type { SessionRecords } from '../dataplane/session-records.js';
import type { Dataplane } from '../dataplane/dataplane.js';
import type { ControlFastPath } from '../dataplane/control-fast-path.js';
import type { DpEvent, CloseReason } from '../dataplane/events.js';
import type { PathKeyMaterial, PathKeyStatus } from '../dataplane/path-keys.js';
import type { ImportResult, SessionChanges } from '../dataplane/session-rows.js';
import type { SessionCount, SessionPageQuery, SessionPageRow, SessionSummary, SessionTally } from '../dataplane/views.js';
import type { SvrConfig } from '../model/config.js';
import type { LearnedRoute } from '../model/rib.js';
import type { PreparedTables } from '../model/compile.js';
import type { ForwardingTables } from '../model/tables.js';

import type { PluginFailure, PluginSpec } from '../plugins/host.js';

export type { ImportResult, SessionChanges };
/** packed session rows (dataplane/session-rows.ts), for the pair's sync above control */
export { PACKED_HEAD, PACKED_KIND, packedHead } from '../dataplane/session-rows.js';

/** A data-path plugin stage: its full name and whether an error disabled it. */
export interface StageView {
  name: string;
  disabled: boolean;
}

/** A thread's event-loop time since it started (Node's eventLoopUtilization): busy share = activeMs / (activeMs + idleMs). */
export interface ThreadLoad {
  activeMs: number;
  idleMs: number;
}

/** Service chains by tenant and service name (full stage names). */
export interface ServiceChains {
  tenants?: Record<string, readonly string[]>;
  services?: Record<string, readonly string[]>;
}

/**
 * Where the plugins' data-path parts run. `here`: the data path runs in this thread and the router's
 * plugin host loads both parts of each plugin into it together (one load, so its two parts may share
 * state). Otherwise the host loads the data-path parts into each of its data paths itself.
 */
export type DataPathPlugins =
  | { readonly here: Dataplane }
  | {
    /** loads the plugins' data-path parts with the service chains */
    apply(specs: readonly PluginSpec[], chains: ServiceChains): Promise<{ failures: PluginFailure[]; stages: StageView[] }>;
    stages(): StageView[];
  };

/** What the router gives its data path when it is built. */
export interface DataPathInit {
  routerName: string;
  tables: ForwardingTables;
  config: SvrConfig;
  /** every path usable at first (static liveness) or none until control says so (BFD) */
  pathsUp: boolean;
  /** facts of one batch (or sweep, or command); `worker` is the data-path thread they come from */
  onEvents(events: readonly DpEvent[], worker: number): void;
  /** a host whose data path runs in this thread may give the session facts as records read in place instead
   *  (dataplane/session-records.ts); worker threads' arrive through onEvents */
  onRecords?(events: readonly DpEvent[], sessions: SessionRecords, worker: number): void;
  /** whether a subscriber takes the per-session events (session.counters among them); a data path in this
   *  thread builds no session.counters event while not */
  sessionsWanted?(): boolean;
  /** one line per event that matters (a worker thread's error) */
  log(event: string, fields: Record<string, string | number | boolean>): void;
  /** an alarm condition of the data path became active or cleared (worker-restarted) */
  alarm(name: string, source: string, o: { active: boolean; detail?: string }): void;
}

export interface DataPathHost {
  /** data-path threads, as `--workers` counts them (1 for the in-thread host) */
  readonly workers: number;
  /** each data-path thread's ring of session facts for the records thread (dataplane/fact-ring.ts); a
   *  thread started again writes the same ring */
  readonly factRings: readonly SharedArrayBuffer[];
  /** builds the data path (called once, by the router's constructor) */
  open(init: DataPathInit): void;
  /** starts taking packets; rejects (SVR_ERR_WORKER_START) when a thread cannot start */
  start(): Promise<void> | void;
  stop(): Promise<void>;
  /**
   * a new config generation; throws, changing nothing, when it cannot run here (an interface without a port).
   * `slices`: the config in shared slices when the config thread made them (data-path workers rebuild it from them)
   */
  setTables(tables: ForwardingTables, config: SvrConfig, slices?: PreparedTables['config']): void;
  /** the RIB changed, the config did not: `tables` are the running config's around the RIB after this change
   *  (`set`: learned routes new or changed, `removed`: keys (`learnedKey`) withdrawn); a worker applies just the change */
  updateRib(tables: ForwardingTables, set: readonly LearnedRoute[], removed: readonly string[]): void;
  setPathUp(path: number, up: boolean): void;
  isPathUp(path: number): boolean;
  /** data packets from the peer whose HMAC verified, per path, so far (BFD liveness under load) */
  pathTraffic(path: number): number;
  /** a service's paths best first, whether new sessions are refused, its resiliency (RES_* code) */
  setServiceRouting(service: number, paths: readonly number[], refused: boolean, resiliency: number): void;
  /** sends a health-check probe for an ingress session waiting for reverse metadata */
  probe(row: number, gen: number): void;
  removeRow(row: number, gen: number, reason: CloseReason): void;
  /** where a peer behind NAT was last seen (its address and control port), or null: its configured waypoint */
  setPathPeer(path: number, address: Uint8Array | null, controlPort: number): void;
  /** the MTU discovery found for a path (0: the wan interface's `mtu`) */
  setPathMtu(path: number, mtu: number): void;
  /** UDP transform (paths/firewall-detector.ts): new TCP sessions on the path are carried as UDP, or not */
  setPathTransform(path: number, on: boolean): void;
  /** a firewall-detector probe: a signed TCP segment waypoint:1283 -> peer waypoint:1283 with these flags */
  sendPathProbe(path: number, tcpFlags: number, payload: Uint8Array): boolean;
  /** the NAT in front of us rebound: every ingress session on the path sends its metadata again (docs/wan.md) */
  resignalPath(path: number): void;
  /** a message on the path control channel (UDP 1280 between the waypoints); `payload` is read before it returns
   *  (senders reuse their buffers) */
  sendPathMessage(path: number, payload: Uint8Array): boolean;
  /** runs `fn`; the path messages it sends leave together (one write per port in-thread, one post to a worker) */
  batchPathMessages(fn: () => void): void;
  /** path control's arrays for steady BFD packets and link-test replies (null: detach); true when the data path
   *  keeps them there (in this thread only: dataplane/control-fast-path.ts) */
  keepSteadyPathMessages?(fast: ControlFastPath | null): boolean;
  /** keys from the key exchange for a path, in every data path between batches: `rx` accepted at once,
   *  `tx` sent with from `activeAt`, older rx keys kept `overlapMs` after that */
  setPathKeys(path: number, keys: { tx?: PathKeyMaterial; rx?: PathKeyMaterial }, activeAt: number, overlapMs: number): void;
  /** drops every key of a path (they expired): it sends and accepts nothing until new keys come */
  dropPathKeys(path: number): void;
  /** a path's keys in each data path (worker host: from their last report, at most 1 s old) */
  pathKeys(path: number): PathKeyStatus[];
  /** expires idle sessions now (each data path also does so on its own timer unless told not to) */
  sweep(): void;
  /** where the plugins' data-path parts run (after open) */
  readonly plugins: DataPathPlugins;
  counters(): Record<string, number>;
  /** every session, oldest first (with its `worker` when there are several) */
  sessions(): Promise<(SessionSummary & { worker?: number })[]>;
  /** the sessions changed since the last call (those changed at least `minAgeMs` ago) as packed rows, and the
   *  ids of those removed (dataplane/session-rows.ts collectChanges), for the standby of a router pair;
   *  `full`: every session (a partner that starts empty); the first call is full and starts the data path's
   *  change marks; `lost`: workers replaced since the last call (their sessions are gone); `rows` and `removed`
   *  are valid until the next call (the in-thread host's are views of its buffers): copy what you keep */
  collectSessionChanges(full: boolean, minAgeMs?: number): Promise<SessionChanges>;
  /** installs packed rows another node exported (the pair's node that takes over), between batches; with
   *  several workers, each row in the worker whose slice holds its local waypoint port; every path's send
   *  counter is raised to the time (above the partner's, docs/security.md "replay block") */
  importSessions(rows: Uint8Array): Promise<ImportResult>;
  /** ends every session (`session.removed` with `reason`): a pair's node that stops forwarding keeps none, its
   *  partner's rows are the ones it installs when it takes over again */
  removeAllSessions(reason: CloseReason): void;
  /** one page of sessions, oldest first (with its `worker` when there are several): at most `limit` summaries made */
  sessionPage(q: SessionPageQuery): Promise<(SessionPageRow & { worker?: number })[]>;
  /** how busy each data-path thread has been since it started (its event loop: ms active and idle) */
  threadLoad(): ThreadLoad[];
  /** sessions in total, per path, service, tenant and worker: the counts each table keeps (session-counts.ts, no walk
   *  over the rows). In-thread host: exact at the call. Worker host: from each worker's last report (at most 1 s old) */
  tally(): SessionTally & { perWorker: number[] };
  /** sessions active, the limit and per worker, without a walk over the table (what the once-a-second watchers read) */
  sessionCount(): SessionCount;
}
