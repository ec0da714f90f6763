/**
 * Messages between the main thread (control) and data-path workers. At most one message per batch or
 * per control event; packets never travel here except in hand-off batches between workers.
 */
import type { PreparedTables } from '../model/compile.js';
import type { SvrConfig } from '../model/config.js';
import type { SlicedValue } from '../util/sliced-clone.js';
import type { LearnedRoute } from '../model/rib.js';
import type { CloseReason } from '../dataplane/events.js';
import type { PathKeyMaterial, PathKeyStatus } from '../dataplane/path-keys.js';
import type { ReplayFloor } from '../dataplane/replay-marks.js';
import type { ImportResult, SessionChanges } from '../dataplane/session-rows.js';
import type { SessionPageQuery, SessionPageRow, SessionSummary, SessionTally } from '../dataplane/views.js';
import type { MessagePort } from 'node:worker_threads';
import type { SteeringShared } from '../dataplane/steering.js';
import type { WireRecords } from './record-wire.js';

/** How a worker gets its packets. */
export type WorkerIo =
  /** a queue of each TUN device (IFF_MULTI_QUEUE); the kernel spreads flows over the queues */
  | { kind: 'tun'; busyPollUs?: number; devices: { interface: string; device: string; options: { offload: boolean; coalesceUdp?: boolean; rawSend?: boolean; rawSendGate?: Int32Array; writeQueuePackets?: number; writeQueueBytes?: number } }[] }
  /** message ports per interface (tests and synthetic loads): {data, offsets, lengths, count} both ways */
  | { kind: 'channel' };

export interface WorkerInit {
  index: number;
  count: number;
  routerName: string;
  /** the validated config (compiled in the worker as it is) */
  config: SvrConfig;
  /** the access table and service FIB of its tables (shared when they are in SharedArrayBuffers: compileRouter wraps them) */
  prepared: PreparedTables;
  generation: number;
  /** the RIB's learned routes (routing/), compiled next to the config */
  learned: LearnedRoute[];
  steering: SteeringShared;
  pathUp: SharedArrayBuffer;
  /** this worker's verified packets per path (Float64Array of MAX_PATHS): BFD liveness under load */
  pathRx: SharedArrayBuffer;
  counters: SharedArrayBuffer;
  /** the ring of this worker's session facts for the records thread (the same across restarts) */
  facts: SharedArrayBuffer;
  /** where the thread marks its replay windows' tops (dataplane/replay-marks.ts), and the floors of the
   *  thread it replaces: its windows start there, so nothing captured before the restart is accepted */
  replayMarks: SharedArrayBuffer;
  replayFloors: ReplayFloor[];
  io: WorkerIo;
  /** session.counters period, ms (undefined: the data path's default) */
  sessionCountersMs: number | undefined;
  /** first replay-block sender id: this worker signs as base + index */
  replaySenderBase: number;
  /** how many threads of this index ended before this one: its rows' generations start at restarts << 24 */
  restarts: number;
  /** answer the `crash` test hook (WorkerHostOptions.testHooks) */
  testHooks: boolean;
}

/** A plugin for the workers' data paths: module specifier already resolved to an import() argument. */
export interface WorkerPluginSpec {
  use: string;
  with?: unknown;
  baseDir: string;
  at: string;
  failOpen?: boolean;
}

/** A board of path verdicts for tables that number paths otherwise than the last (path-up-boards.ts). */
export interface PathUpBoard {
  buffer: SharedArrayBuffer;
  epoch: number;
}

export type ToWorker =
  | { t: 'peers'; ports: { index: number; port: MessagePort }[] }
  | { t: 'channels'; ports: { interface: string; port: MessagePort }[] }
  | { t: 'start'; id: number }
  | { t: 'routing'; service: number; paths: number[]; refused: boolean; resiliency: number }
  | { t: 'probe'; row: number; gen: number }
  | { t: 'remove'; row: number; gen: number; reason: CloseReason }
  /** path control messages to send, in one write per port (Dataplane.holdControl) */
  | { t: 'pathMessages'; messages: { path: number; payload: Uint8Array }[] }
  /** keys from the key exchange (one message per install; applied between batches) */
  | { t: 'pathKeys'; path: number; keys: { tx?: PathKeyMaterial; rx?: PathKeyMaterial }; activeAt: number; overlapMs: number }
  | { t: 'dropPathKeys'; path: number }
  /** a new config, in shared slices the worker rebuilds in turns (util/sliced-clone.ts), then compiles in turns */
  | { t: 'config'; config: SlicedValue; prepared: PreparedTables; generation: number; learned: LearnedRoute[]; pathUp?: PathUpBoard }
  /** the RIB changed (the config did not): the learned routes new or changed, the prefixes withdrawn */
  | { t: 'rib'; generation: number; set: LearnedRoute[]; removed: string[] }
  | { t: 'pathPeer'; path: number; address: Uint8Array | null; controlPort: number }
  | { t: 'resignal'; path: number }
  | { t: 'pathMtu'; path: number; mtu: number }
  | { t: 'pathTransform'; path: number; on: boolean }
  | { t: 'pathProbe'; path: number; tcpFlags: number; payload: Uint8Array }
  | { t: 'plugins'; id: number; specs: WorkerPluginSpec[]; tenants: Record<string, string[]>; services: Record<string, string[]> }
  | { t: 'sessions'; id: number }
  | { t: 'sessionPage'; id: number; query: SessionPageQuery; rowBits: number }
  | { t: 'sessionChanges'; id: number; full: boolean; minAgeMs: number }
  /** packed rows another node of the pair exported, installed between batches */
  | { t: 'importSessions'; id: number; rows: Uint8Array }
  | { t: 'sweep' }
  /** end every session (a pair's node that stops forwarding) */
  | { t: 'removeAll'; reason: CloseReason }
  /** test hook (WorkerInit.testHooks): end the thread with an uncaught error, or stop answering (a busy loop) */
  | { t: 'crash'; how: 'throw' | 'hang' }
  | { t: 'stop'; id: number };

export type FromWorker =
  | { t: 'ready'; id: number; index: number; error?: string }
  /** one batch's events and session records (record-wire.ts) */
  | { t: 'records'; index: number; records: WireRecords }
  | { t: 'counterNames'; index: number; names: string[] }
  /** every second: session tallies and the keys of each path (tables order) */
  | ({ t: 'stats'; index: number; keys: (PathKeyStatus | null)[] } & SessionTally)
  | { t: 'sessions'; id: number; index: number; rows: SessionSummary[] }
  | { t: 'sessionPage'; id: number; index: number; rows: SessionPageRow[] }
  | { t: 'plugins'; id: number; index: number; failures: { at: string; message: string; failClosed?: boolean }[]; stages: { name: string; disabled: boolean }[] }
  | { t: 'sessionChanges'; id: number; index: number; changes: SessionChanges }
  | { t: 'importSessions'; id: number; index: number; result: ImportResult }
  | { t: 'stopped'; id: number; index: number }
  /** the worker swapped to tables that read path verdicts from board `epoch` (path-up-boards.ts) and count each path's packets in `pathRx` by their ids (path-rx.ts) */
  | { t: 'pathUpTaken'; index: number; epoch: number; pathRx: SharedArrayBuffer }
  | { t: 'error'; index: number; message: string };
