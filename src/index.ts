/**
 * svrouter: Session Smart Routing (Secure Vector Routing) for Node.js.
 * The embedding API: build routers over packet ports, run them, watch their sessions.
 */
export {
  createRouter, Router, type CreateRouterOptions, type PeerSummary, type RouterIo, type RouterOptions, type RouterStatus, type ServiceSummary,
} from './control/router.js';
export type * from './control/events.js';
export type { InThreadHost } from './control/in-thread-host.js';
export type { DataPathHost } from './control/data-path-host.js';
export { loadConfig, parseConfig } from './model/validate.js';
export { compileRouter } from './model/compile.js';
export type { SvrConfig } from './model/config.js';
export type { ForwardingTables } from './model/tables.js';
export type { SessionSummary, TupleSummary } from './dataplane/views.js';
export type { PacketPort, BatchHandler } from './dataplane/port.js';
export { MemoryLink } from './io/memory/link.js';
export { MemorySegment } from './io/memory/segment.js';
export { SimHost } from './sim/host.js';
export { createMemoryLab, type MemoryLab, type MemoryLabOptions } from './sim/memory-lab.js';
export { decodeMetadata, type DecodedMetadata } from './packet/svr-metadata-decode.js';
export { SvrError, isSvrError, type ErrorCode } from './errors.js';
