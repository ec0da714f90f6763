/**
 * svrouter: Session Smart Routing (Secure Vector Routing) for Node.js. The embedding API (docs/embedding.md):
 * build routers over packet ports, configure them in code or from files, watch their typed events, read
 * their sessions and counters; simulated hosts and an in-memory two-router lab for tests. Plugin authors:
 * 'svrouter/plugins' (docs/plugins.md). Everything exported here is in the API report (api/svrouter.api.md).
 */
import { createRouter as createRouterOver } from './control/router.js';
import type { CreateRouterOptions, Router } from './control/router-api.js';
import type { RouterIo } from './control/in-thread-host.js';
import type { ConfigInput } from './model/config-input.js';
import { createMemoryLab as createLab } from './sim/memory-lab.js';
import type { MemoryLink } from './io/memory/link.js';
import type { MemorySegment } from './io/memory/segment.js';
import type { SimHost } from './sim/host.js';

// ---- the router ----
export type {
  ApplyConfigFileOptions, ApplyConfigOptions, BfdOptions, CreateRouterOptions, HandshakeOptions, Liveness, LoadPluginsOptions, MetricName, PluginProblem, PluginView, RouteCandidate,
  Router, RouterStatus, ServiceSummary, SessionRow, SignificanceThresholds, StepOptions, StepServiceView,
} from './control/router-api.js';
export type { RouterIo } from './control/in-thread-host.js';
export type { PeerSummary, TransformView } from './control/peer-views.js';
export type { ServiceView, SessionSummary, TenantView, TupleSummary } from './dataplane/views.js';


/**
 * Builds router `opts.name` of an authority config over one packet port per interface of that router, its
 * data path in this thread. Not started yet: subscribe to `events$`, then `await router.start()`.
 * Throws ConfigError (every problem, with object paths) for a bad config.
 */
export const createRouter: (config: ConfigInput, io: RouterIo, opts: CreateRouterOptions) => Router = createRouterOver;

// ---- events ----
export type * from './control/events.js';
export { ROUTER_EVENT_TYPES } from './control/events.js';

// ---- counters ----
export { COUNTERS, COUNTER_NAMES, INTERFACE_COUNTER_KINDS, type CounterArea, type CounterDoc, type CounterName, type InterfaceCounterName, type StepCounterName, type PluginCounterName, type RouterCounters } from './dataplane/counter-names.js';

// ---- config ----
export type * from './model/config-input.js';
/** The validated config's types (every default filled; what loadConfig returns): `Config.Service`, `Config.Router`, ... */
export type * as Config from './model/config.js';
export type { SvrConfig } from './model/config.js';
export type { LoadedConfig, PreparedTables, SlicedValue } from './model/compile.js';
export type { AccessTableParts } from './model/access-table.js';
export type { ServiceFibParts } from './model/service-fib.js';
export type { PrefixTrieParts } from './model/prefix-trie.js';
export { loadConfig, parseConfig, redactSecrets, resolveConfig, validateConfig, type ParseOptions } from './model/validate.js';

// ---- errors ----
export { ConfigError, ErrorCodes, SvrError, isSvrError, type ConfigErrorCode, type ConfigErrorData, type ConfigProblem, type ErrorCode } from './errors.js';

// ---- packet ports, simulated hosts, the memory lab ----
export type { BatchHandler, PacketPort, PortStats } from './dataplane/port.js';
export { MemoryLink, type LinkDirection, type LinkFilter, type LinkObserver, type MemoryPort } from './io/memory/link.js';
export { MemorySegment, type SegmentPort } from './io/memory/segment.js';
export { PcapWriter, readCapture, type CaptureRecord, type PcapWriterOptions } from './io/pcap.js';
export * from './sim/index.js';

/** The in-memory two-router lab (`createMemoryLab`). */
export interface MemoryLab {
  r1: Router;
  r2: Router;
  /** the first WAN link (wans[0]) */
  wan: MemoryLink;
  /** one link per path: r1.wan<i> <-> r2.wan<i> */
  wans: MemoryLink[];
  clientLan: MemorySegment;
  serverLan: MemorySegment;
  clients: SimHost[];
  servers: SimHost[];
  /** closes the hosts, stops both routers, closes the links */
  close(): Promise<void>;
}

/** `createMemoryLab` options. */
export interface MemoryLabOptions {
  /** the authority config: both routers need interfaces `lan0` and `wan0` (`wan1`... with `paths`) */
  config: ConfigInput;
  /** router names, default r1 and r2 */
  ingress?: string;
  egress?: string;
  /** client and server host addresses (SimHosts on the two LANs) */
  clients: string[];
  servers: string[];
  /** WAN links between the routers, default 1 */
  paths?: number;
  /** createRouter options for both routers; liveness defaults to 'static' here (pass 'bfd' to run BFD) */
  router?: Omit<CreateRouterOptions, 'name'>;
}

/**
 * Two routers (r1, r2), their LANs and simulated hosts in this process over memory links (one WAN link per
 * path): the embeddable counterpart of `svr lab`, for tests and examples. The routers are started.
 */
export const createMemoryLab: (options: MemoryLabOptions) => MemoryLab = createLab;

// ---- SVR metadata ----
export { decodeMetadata, type DecodedMetadata, type DecodedTlv } from './packet/svr-metadata-decode.js';
