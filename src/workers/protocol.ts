/**
 * Messages between the main thread (control) and data-path workers. At most one message per batch or
 * per control event; packets never travel here except in hand-off batches between workers.
 */
import type { DpEvent, CloseReason } from '../dataplane/events.js';
import type { SessionPageQuery, SessionPageRow, SessionSummary, SessionTally } from '../dataplane/views.js';
import type { MessagePort } from 'node:worker_threads';
import type { SteeringShared } from '../dataplane/steering.js';

/** How a worker gets its packets. */
export type WorkerIo =
  /** a queue of each TUN device (IFF_MULTI_QUEUE); the kernel spreads flows over the queues */
  | { kind: 'tun'; busyPollUs?: number; devices: { interface: string; device: string; options: { offload: boolean; writeQueuePackets?: number; writeQueueBytes?: number } }[] }
  /** message ports per interface (tests and synthetic loads): {data, offsets, lengths, count} both ways */
  | { kind: 'channel' };

export interface WorkerInit {
  index: number;
  count: number;
  routerName: string;
  /** the config document (configToDocument), validated again in the worker */
  config: unknown;
  generation: number;
  steering: SteeringShared;
  pathUp: SharedArrayBuffer;
  /** this worker's verified packets per path (Float64Array of MAX_PATHS): BFD liveness under load */
  pathRx: SharedArrayBuffer;
  counters: SharedArrayBuffer;
  io: WorkerIo;
  /** session.counters period, ms (undefined: the data path's default) */
  sessionCountersMs: number | undefined;
}

/** A plugin for the workers' data paths: module specifier already resolved to an import() argument. */
export interface WorkerPluginSpec {
  use: string;
  with?: unknown;
  baseDir: string;
  at: string;
}

export type ToWorker =
  | { t: 'peers'; ports: { index: number; port: MessagePort }[] }
  | { t: 'channels'; ports: { interface: string; port: MessagePort }[] }
  | { t: 'start' }
  | { t: 'routing'; service: number; paths: number[]; refused: boolean; resiliency: number }
  | { t: 'probe'; row: number; gen: number }
  | { t: 'remove'; row: number; gen: number; reason: CloseReason }
  | { t: 'pathMessage'; path: number; payload: Uint8Array }
  | { t: 'pathPeer'; path: number; address: Uint8Array | null; controlPort: number }
  | { t: 'resignal'; path: number }
  | { t: 'pathMtu'; path: number; mtu: number }
  | { t: 'config'; config: unknown; generation: number }
  | { t: 'plugins'; id: number; specs: WorkerPluginSpec[]; tenants: Record<string, string[]>; services: Record<string, string[]> }
  | { t: 'sessions'; id: number }
  | { t: 'sessionPage'; id: number; query: SessionPageQuery; rowBits: number }
  | { t: 'sweep' }
  | { t: 'stop'; id: number };

export type FromWorker =
  | { t: 'ready'; index: number; error?: string }
  | { t: 'events'; index: number; events: DpEvent[] }
  | { t: 'counterNames'; index: number; names: string[] }
  | ({ t: 'stats'; index: number } & SessionTally)
  | { t: 'sessions'; id: number; index: number; rows: SessionSummary[] }
  | { t: 'sessionPage'; id: number; index: number; rows: SessionPageRow[] }
  | { t: 'plugins'; id: number; index: number; failures: { at: string; message: string }[]; stages: { name: string; disabled: boolean }[] }
  | { t: 'stopped'; id: number; index: number }
  | { t: 'error'; index: number; message: string };
