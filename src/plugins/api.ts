/**
 * The plugin contract. A plugin is an ES module whose default export is a `RouterPlugin`: a name, the
 * range of this plugin API it supports, its dependencies, validated options, a control part (main thread:
 * hooks, a LevelDB sublevel, counters, a logger) and a data-path part (stages placed in service chains).
 * The router's own network functions (firewall, NAT, QoS, ...) are plugins too.
 *
 * @example
 *   export default definePlugin({
 *     name: 'acme.session-tagger', version: '1.0.0', api: '^1',
 *     dataplane(ctx) { ctx.addStage({ name: 'tag', run(b, f, rt) { for (let k = 0; k < f.n; k++) rt.next[f.slot[k]!] = PASS; } }); },
 *   });
 */
import type { CloseReason } from '../dataplane/events.js';
import type { PluginRecordWriter } from '../dataplane/plugin-channels.js';
import type { PacketBatch, PluginStage, SessionCloseHook, SessionInstalledHook, SessionOpenHook } from '../dataplane/plugin-contract.js';
import type { KeyValueStore } from '../store/store.js';

/**
 * The version of this contract. Plugins declare the range they support in `api` (e.g. '^1').
 * 1.1: external functions. 1.2: record channels (ctx.channel / hooks.onRecords), counter() on the control
 * context, refuse(reply) answering a refused session with a TCP reset or ICMP unreachable. 1.3: shapeEgress on
 * the control context (the node's kernel egress shaper, docs/shaping.md). 1.4: onSessionInstalled (rows the node
 * installs from its HA partner when it takes over, docs/high-availability.md).
 */
export const PLUGIN_API_VERSION = '1.4.0';

/** A DSCP the node's egress shaper gives its own queue on every WAN interface (API 1.3): released at `rate`. */
export interface EgressRate {
  /** 0-63: packets carrying it (marked by the plugin's data-path part) go to this queue */
  dscp: number;
  /** bits/s */
  rate: number;
  /** the queue's bound in bytes; beyond it packets are dropped at the tail and counted */
  queueBytes: number;
}

/**
 * An external network function (API 1.1): a Linux namespace or box the router sends a session's packets
 * through and takes them back from, over two `kind: function` interfaces (the same one twice is allowed).
 */
export interface ServiceFunction {
  /** full name (`<plugin>/<stage>`) of the stage that diverts to it: returned packets resume after it */
  readonly stage: string;
  /** interface names: where diverted packets leave, and where the function sends them back */
  readonly out: string;
  readonly in: string;
  /** counter ids (from `counter()`) for packets back from the function and for those matching no session */
  readonly returned?: number;
  readonly noSession?: number;
}

/** What a plugin's data-path part may see and do (every data path, synchronous). */
export interface PluginDataplaneContext {
  /** outcomes and flags, so a plugin needs no runtime import of svrouter */
  readonly PASS: 0;
  readonly DROP: 1;
  /** bit of batch.flags[slot] set for server -> client packets */
  readonly PF_REVERSE: number;
  addStage(stage: PluginStage): void;
  /** synchronous hook when a session is about to be installed: refuse it or choose NAT */
  onSessionOpen(fn: SessionOpenHook): void;
  /** synchronous hook when a session is removed */
  onSessionClose(fn: SessionCloseHook): void;
  /**
   * Synchronous hook when a session is installed without opening here (API 1.4): the HA partner's rows when
   * this node takes over (their open hooks ran on the partner). Take what the row holds of your shared state
   * (a NAT plugin: its source port); the close hook runs for it as for any session.
   */
  onSessionInstalled(fn: SessionInstalledHook): void;
  /** the router's names by id (tenants, services, interfaces); a new object after each config change (ids may move) */
  tables(): PluginTables;
  /** session row access for stages */
  readonly sessions: PluginSessionAccess;
  /**
   * A counter of this plugin, shown as `plugin.<plugin>.<name>`, for session hooks and control-side events
   * (stages count through their declared `counters`). Resolve the id once at load.
   */
  counter(name: string): number;
  /** adds n (default 1; negative for a gauge, e.g. ports in use) to a counter from `counter()`; no allocation */
  count(id: number, n?: number): void;
  /**
   * A channel to this plugin's control part (API 1.2; at load): fill the writer's `ints` (and addresses),
   * then `send()`; the control part gets each record in `hooks.onRecords(name, fn)`, also when the data path
   * runs in worker threads. No allocation per record; at most `capacity` records per batch (default 1024),
   * more are counted as lost (`plugin.<plugin>.records-lost`).
   */
  channel(name: string, opts?: { ints?: number; capacity?: number }): PluginRecordWriter;
  /** registers an external network function (load time; API 1.1); returns its id for `divert` */
  addFunction(f: ServiceFunction): number;
  /**
   * Hot (API 1.1): sends the packet in `slot` out of function `fn`'s out interface instead of along its
   * chain; the stage still sets PASS for it. When the function sends it back, the chain resumes after
   * the function's stage. false (nothing changed): the function's interfaces are not configured as
   * `kind: function`, or another session holds the packet's return key; drop or pass it yourself.
   */
  divert(b: PacketBatch, slot: number, fn: number): boolean;
}

/**
 * The router's names by id, as plugins see them: tenants by id, services and interfaces with their ids.
 * Resolve the names in your options to ids once per `generation` (a config change renumbers them).
 */
export interface PluginTables {
  readonly generation: number;
  readonly routerName: string;
  /** id -> dotted tenant name */
  readonly tenants: readonly string[];
  readonly services: readonly { readonly id: number; readonly name: string }[];
  readonly interfaces: readonly { readonly index: number; readonly name: string; readonly kind: 'lan' | 'wan' | 'function' }[];
}

export interface PluginSessionAccess {
  tenant(row: number): number;
  service(row: number): number;
  protocol(row: number): number;
  /** adds a stage (full name) to a live session's chain: dynamic service chaining. Applies from the
   *  session's next packet (the packet in hand already took its chain). */
  addToChain(row: number, stage: string): boolean;
  /**
   * Names the session's application (TLS SNI, HTTP Host, ...). At the ingress router the session
   * re-signals its metadata so the egress router learns it too (TLV 35). Interns new names: call it once
   * per session, not per packet.
   */
  setApplication(row: number, name: string): void;
  application(row: number): string;
  /** a small per-session tag a plugin may set (one u32 shared by all plugins; e.g. an application id) */
  setTag(row: number, value: number): void;
  tag(row: number): number;
}

export interface SessionInfo {
  id: string;
  role: 'ingress' | 'egress' | 'local';
  tenant: string;
  service: string;
}

/** One record from the data-path part (`ctx.channel(name).send()`), as the control part receives it. */
export interface PluginRecord {
  /** the data path's clock when the batch that sent it ended, ms */
  atMs: number;
  /** the record's integers */
  ints: Int32Array;
  /** its addresses as text, when the writer set a family */
  addressA?: string;
  addressB?: string;
}

/** Control-side hooks (main thread). A hook that throws is logged (`plugin.hook-error`), never fatal. */
export interface PluginHooks {
  onSessionCreated(fn: (s: SessionInfo) => void): void;
  onSessionClosed(fn: (s: { id: string; reason: CloseReason }) => void): void;
  onPathChanged(fn: (p: { path: string; up: boolean }) => void): void;
  onConfigApplied(fn: (generation: number) => void): void;
  /** records of the data-path part's channel `name`, in order per data-path thread (API 1.2) */
  onRecords(name: string, fn: (r: PluginRecord) => void): void;
}

/** A plugin's own key-value store: a LevelDB sublevel named after the plugin (JSON values). */
export type PluginStore = KeyValueStore;

export interface PluginLogger {
  info(event: string, fields?: Record<string, string | number | boolean>): void;
}

/** What a plugin's control part may see and do (main thread, once per load). */
export interface PluginControlContext {
  readonly routerName: string;
  readonly hooks: PluginHooks;
  readonly store: PluginStore;
  readonly log: PluginLogger;
  /** the router's counters (read) */
  counters(): Record<string, number>;
  /** a counter of this plugin's control part, shown as `plugin.<plugin>.<name>` (API 1.2); resolve the id once */
  counter(name: string): number;
  /** adds n (default 1; negative for a gauge) to a counter from `counter()` */
  count(id: number, n?: number): void;
  /** aborted when the plugin is unloaded (config change) or its host closes: stop timers and sockets */
  readonly signal: AbortSignal;
  /**
   * Queues of their own, each released at its rate, for packets carrying these DSCPs, on every WAN interface
   * of the node (API 1.3; replaces this plugin's earlier call). Returns false when the router has no kernel
   * shaper (an embedded router over memory ports): then nothing shapes them and the plugin must limit itself.
   */
  shapeEgress(rates: readonly EgressRate[]): boolean;
}

export interface RouterPlugin<O = unknown> {
  /** unique, `org.name` */
  readonly name: string;
  /** the plugin's own version */
  readonly version: string;
  /** semver range of PLUGIN_API_VERSION this plugin supports, e.g. '^1' */
  readonly api: string;
  /** plugins that must be loaded first */
  readonly dependsOn?: readonly string[];
  /**
   * A security function (a firewall, DoS limits, NAT): it fails closed. When one of its stages or its
   * session-open hook throws, its traffic is dropped (counted `drop-function-failed`, reported) instead of
   * going on without it, and a router whose config loads it refuses to run when it fails to load. The
   * config's `fail-open: true` on the plugin turns this off (docs/security.md "Fail closed").
   */
  readonly security?: boolean;
  /** validates raw options; throw `new PluginOptionsError(path, message)` on a bad field */
  options?(raw: unknown): O;
  control?(ctx: PluginControlContext, opts: O): void | Promise<void>;
  dataplane?(ctx: PluginDataplaneContext, opts: O): void;
}

/** Identity helper that types a plugin definition. */
export function definePlugin<O>(p: RouterPlugin<O>): RouterPlugin<O> {
  return p;
}

/** Thrown by a plugin's `options()` for a bad field; the loader prefixes the plugin's config path. */
export class PluginOptionsError extends Error {
  constructor(readonly path: string, message: string) {
    super(message);
    this.name = 'PluginOptionsError';
  }
}

export { PF_REVERSE } from '../dataplane/batch.js';
export { DROP, PASS } from '../dataplane/plugin-contract.js';
export type {
  InstalledSession, OpeningSession, PacketBatch, PacketFrame, PluginStage, PluginStageRuntime, RefuseReply, SessionCloseHook,
  SessionInstalledHook, SessionOpenHook,
} from '../dataplane/plugin-contract.js';
export type { PacketInfo } from '../packet/ip.js';
export type { CloseReason, PluginRecordWriter };
export type { KeyValueStore };
