/**
 * What a router tells about itself on `router.events$`: one discriminated union (`type`) of everything that
 * happens to its sessions, paths, peers, config and plugins. The same stream feeds the node's log, session
 * records and history (telemetry) and alarms, so there is one source. Every event has `atMs`: the router's
 * clock (ms since the epoch by default; `createRouter({ clock })` for a simulated one).
 *
 * Session events come from the data path (once per session or per batch, never per packet); path, peer,
 * config and plugin events from control. docs/embedding.md has the table with an example of each.
 */
import type { CloseReason, DenyReason, FiveTuple, MigrationReason, SessionRole } from '../dataplane/events.js';
import type { ConfigProblem } from '../model/problems.js';
import type { PathChangeReason } from '../paths/supervisor.js';

export type { CloseReason, DenyReason, FiveTuple, MigrationReason, PathChangeReason, SessionRole };

/** A router interface: its name and its index in the router's interface list (IPFIX ingressInterface/egressInterface). */
export interface InterfaceRef {
  name: string;
  index: number;
}

/** Packets or bytes: [forward (client -> server), reverse (server -> client)]. */
export type PerDirection = [number, number];

/** A session opened (ingress: its first packet arrived; egress: its first SVR packet; local: delivered here). */
export interface SessionCreatedEvent {
  type: 'session.created';
  atMs: number;
  sessionId: string;
  role: SessionRole;
  tenant: string;
  service: string;
  /** '' until a classifier names it (see `session.removed` for the final name) */
  application: string;
  /** the client's 5-tuple as it sent the first packet (protocol: the IP protocol number) */
  forward: FiveTuple;
  /** the forward direction's SVR 5-tuple between the waypoints (ICMP travels as UDP); absent for local sessions */
  waypoint?: FiveTuple;
  /** the forward 5-tuple after this router's NAT toward the server (its reply 5-tuple is this reversed) */
  nat?: FiveTuple;
  ingressInterface: InterfaceRef;
  egressInterface: InterfaceRef;
  /** the peer path and the peer router on its other end; absent for local sessions */
  path?: string;
  peer?: string;
}

/** The metadata handshake of a new or moved session completed (reverse metadata seen; ingress only). */
export interface SessionConfirmedEvent {
  type: 'session.confirmed';
  atMs: number;
  sessionId: string;
  /** health-check probes it took (0: the first reply confirmed it) */
  probes: number;
}

/** A session moved to another peer path (session resiliency). */
export interface SessionMigratedEvent {
  type: 'session.migrated';
  atMs: number;
  sessionId: string;
  service: string;
  from: string;
  to: string;
  reason: MigrationReason;
  /** the forward SVR 5-tuple on the new path */
  waypoint: FiveTuple;
}

/** A first packet opened no session. At most 32 per data-path batch are reported; `suppressed` counts the rest. */
export interface SessionDeniedEvent {
  type: 'session.denied';
  atMs: number;
  reason: DenyReason;
  forward: FiveTuple;
  /** the tenant and service it was classified into, as far as it got */
  tenant?: string;
  service?: string;
  ingressInterface: InterfaceRef;
  /** on the last denial of a batch: denied first packets of that batch that were not reported */
  suppressed?: number;
}

/** A session ended; its final figures. */
export interface SessionRemovedEvent {
  type: 'session.removed';
  atMs: number;
  sessionId: string;
  reason: CloseReason;
  role: SessionRole;
  tenant: string;
  service: string;
  application: string;
  /** the last peer path; absent for local sessions */
  path?: string;
  /** from its first to its last packet */
  ageMs: number;
  packets: PerDirection;
  bytes: PerDirection;
}

/** Totals of live sessions older than the report interval (`sessionCountersMs`, default 60 s), about once per interval each. */
export interface SessionCountersEvent {
  type: 'session.counters';
  atMs: number;
  sessions: { sessionId: string; packets: PerDirection; bytes: PerDirection }[];
}

/** Why a path changed: BFD's reasons (machines/bfd.ts, machines/path.ts); `set`: router.setPathUp (or static liveness at start); `removed`: a config change removed it. */
export type PathEventReason = Exclude<PathChangeReason, 'start'> | 'set' | 'removed';

/** A peer path became usable (BFD up and its hold-down over) or unusable. */
export interface PathUpEvent {
  type: 'path.up';
  atMs: number;
  path: string;
  peer: string;
  reason: PathEventReason;
}

export interface PathDownEvent {
  type: 'path.down';
  atMs: number;
  path: string;
  peer: string;
  reason: PathEventReason;
}

/** A link test changed a path's smoothed quality (one event per link-test round at most). */
export interface PathQualityEvent {
  type: 'path.quality-changed';
  atMs: number;
  path: string;
  peer: string;
  latencyMs: number;
  jitterMs: number;
  lossPercent: number;
  mos: number;
}

/** A peer router became reachable (a path to it is usable) or unreachable (none is). */
export interface PeerReachableEvent {
  type: 'peer.reachable';
  atMs: number;
  peer: string;
}

export interface PeerUnreachableEvent {
  type: 'peer.unreachable';
  atMs: number;
  peer: string;
}

/** A config generation is running. */
export interface ConfigAppliedEvent {
  type: 'config.applied';
  atMs: number;
  generation: number;
  /** the file or `<config object>` */
  source: string;
}

/** A config was refused; the running one stays. */
export interface ConfigRefusedEvent {
  type: 'config.refused';
  atMs: number;
  source: string;
  /** the error's code (SVR_ERR_CONFIG_INVALID, SVR_ERR_CONFIG_PARSE, ...) and message */
  code: string;
  message: string;
  /** every bad field, for SVR_ERR_CONFIG_INVALID */
  problems: ConfigProblem[];
}

export interface PluginLoadedEvent {
  type: 'plugin.loaded';
  atMs: number;
  plugin: string;
  version: string;
  /** its data-path stages (full names) */
  stages: string[];
}

/** A plugin could not be loaded (import, API range, dependency, options); the others keep running. */
export interface PluginFailedEvent {
  type: 'plugin.failed';
  atMs: number;
  /** where the config names it, e.g. `authority.plugins[0]` */
  at: string;
  message: string;
}

/** A plugin stage or hook threw or broke the contract and was disabled (packets go on without it), or,
 *  for a security function (`failClosed`), failed: its traffic is dropped from now on (docs/security.md). */
export interface PluginDisabledEvent {
  type: 'plugin.disabled';
  atMs: number;
  plugin: string;
  /** the stage's full name (`<plugin>/<stage>`), or `session-open` / `session-close` for a hook */
  stage: string;
  message: string;
  /** true: failed closed (its traffic is dropped); false: skipped (its traffic goes on without it) */
  failClosed: boolean;
}

export type SessionEvent = SessionCreatedEvent | SessionConfirmedEvent | SessionMigratedEvent | SessionDeniedEvent | SessionRemovedEvent | SessionCountersEvent;
export type PathEvent = PathUpEvent | PathDownEvent | PathQualityEvent;
export type PeerEvent = PeerReachableEvent | PeerUnreachableEvent;
export type ConfigEvent = ConfigAppliedEvent | ConfigRefusedEvent;
export type PluginEvent = PluginLoadedEvent | PluginFailedEvent | PluginDisabledEvent;

/** Everything on `router.events$`; narrow on `type`. */
export type RouterEvent = SessionEvent | PathEvent | PeerEvent | ConfigEvent | PluginEvent;

/** Every event type, in the order docs/embedding.md lists them. */
export const ROUTER_EVENT_TYPES = [
  'session.created', 'session.confirmed', 'session.migrated', 'session.denied', 'session.removed', 'session.counters',
  'path.up', 'path.down', 'path.quality-changed', 'peer.reachable', 'peer.unreachable',
  'config.applied', 'config.refused', 'plugin.loaded', 'plugin.failed', 'plugin.disabled',
] as const satisfies readonly RouterEvent['type'][];

/** The event of one type: `EventOf<'path.down'>`. */
export type EventOf<T extends RouterEvent['type']> = Extract<RouterEvent, { type: T }>;
