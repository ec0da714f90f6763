/**
 * The public face of a router (`import { createRouter, type Router } from 'svrouter'`): what an embedder
 * may call, and nothing of its internals (data-path host, forwarding tables, the path control channel).
 * The class in router.ts implements it; docs/embedding.md is the guide.
 */
import type { Observable } from 'rxjs';
import type { RouterCounters } from '../dataplane/counter-names.js';
import type { ServiceView, SessionSummary, TenantView } from '../dataplane/views.js';
import type { LoadedConfig } from '../model/compile.js';
import type { SvrConfig } from '../model/config.js';
import type { ConfigInput } from '../model/config-input.js';
import type { Liveness } from '../paths/control.js';
import type { PathSupervisorOptions } from '../paths/supervisor.js';
import type { PluginView } from '../plugins/host.js';
import type { StepServiceView } from '../step/agent.js';
import type { StepOptions } from '../step/options.js';
import type { EpisodeOptions } from './episodes.js';
import type { RouterEvent } from './events.js';
import type { PeerSummary } from './peer-views.js';

export type { Liveness, PathSupervisorOptions as BfdOptions, EpisodeOptions as HandshakeOptions, StepOptions, StepServiceView };
export type { RouteCandidate } from '../step/agent.js';
export type { MetricName, SignificanceThresholds } from '../step/smoothing.js';
export type { PluginView } from '../plugins/host.js';

/** `createRouter` options. */
export interface CreateRouterOptions {
  /** which router of the authority this is */
  name: string;
  /** path liveness: 'bfd' (default: RFC 5880 BFD and link tests on every peer path; a path is unusable until
   *  BFD is up) or 'static' (every path usable from start(); for tests and peers that do not run BFD) */
  liveness?: Liveness;
  /** milliseconds since the epoch, for the data path (timeouts, HMAC time slots) and event times; default: the data path's
   *  own clock that never steps for timeouts, the wall clock for HMAC slots and event times (docs/high-availability.md) */
  clock?: () => number;
  /** idle sweep period, ms; default 250 (0: no timer, call `router.sweep()` yourself) */
  sweepIntervalMs?: number;
  /** how often each live session's totals are reported (`session.counters`), ms; default 60 000 (0: never) */
  sessionCountersMs?: number;
  /** one line per event that matters (plugins, config, paths); default silent */
  log?: (event: string, fields: Record<string, string | number | boolean>) => void;
  /** handshake probes: tries and first delay (defaults 4 and 200 ms) */
  handshake?: EpisodeOptions;
  /** BFD tuning (slow-start interval, link-test spacing) */
  bfd?: PathSupervisorOptions;
  /** run STEP (service and topology exchange between routers) with these options; default off */
  step?: StepOptions | false;
}

/** `applyConfig` options. */
export interface ApplyConfigOptions {
  /** names the config in events and messages (default `<config object>`) */
  source?: string;
  /** a last check of the validated config before it applies: throw (an SvrError) to refuse it */
  check?(next: SvrConfig): void;
}

/** `applyConfigFile` options. */
export interface ApplyConfigFileOptions extends Omit<ApplyConfigOptions, 'source'> {
  /** reads and validates the file for router `router` (default loadConfig, in this thread; a node reads it in a
   *  worker thread so that forwarding does not stop while a big config is parsed, and has the router's biggest
   *  tables built there: node/config-thread.ts) */
  load?(path: string, router: string): Promise<LoadedConfig>;
}

/** A plugin that could not be loaded, or a chain naming a stage no plugin provides. */
export interface PluginProblem {
  /** where the config names it: `authority.plugins[0]`, `authority.routers[1].plugins[0]`, `authority.tenants[0].service-chain[1]` */
  at: string;
  /** the exact field when finer than `at`: a refused plugin option, `<at>.with.<option path>` */
  path?: string;
  message: string;
  /** a security function that did not load, or a chain naming a missing stage: the router must not run with it
   *  (a node refuses to start or reload; docs/security.md "Fail closed") */
  failClosed?: boolean;
}

/** `loadPlugins` options. */
export interface LoadPluginsOptions {
  /** the folder relative `use:` paths resolve from (the config file's); default the working directory */
  baseDir?: string;
}

/** One row of `services()`: reachability, routes, the ranked paths and (from STEP) learned routes. */
export type ServiceSummary = ServiceView & { paths: string[]; refused: boolean; resiliency: string; learned?: StepServiceView };

/** `status()`: sessions, handshakes and the data-path threads. */
export interface RouterStatus {
  sessionsActive: number;
  /** sessions the data path holds at most (session-capacity, or sized from memory) */
  sessionsLimit: number;
  handshakesInFlight: number;
  /** data-path threads (1: in this thread) */
  workers: number;
  /** active sessions per worker (with worker threads: from their last report, at most 1 s old) */
  sessionsPerWorker: number[];
}

/** A session of `sessions()`; `worker` when the data path runs in several threads. */
export type SessionRow = SessionSummary & { worker?: number };

export interface Router {
  /** which router of the authority this is */
  readonly name: string;
  /** everything that happens to its sessions, paths, peers, config and plugins; narrow on `type` */
  readonly events$: Observable<RouterEvent>;
  /** the config of the running generation, every default filled */
  readonly runningConfig: SvrConfig;
  /** starts control and the data path; the in-thread data path takes packets when this resolves */
  start(): Promise<void>;
  /** stops everything; the remaining sessions end (`session.removed`, reason `shutdown`) and events$ completes */
  stop(): Promise<void>;
  /** validates and applies a config between batches; throws ConfigError (every problem) and keeps the running one */
  applyConfig(config: ConfigInput, opts?: ApplyConfigOptions): void;
  /** reads, validates and applies a YAML or JSON file, as `applyConfig`; resolves with the running config */
  applyConfigFile(path: string, opts?: ApplyConfigFileOptions): Promise<SvrConfig>;
  /**
   * Loads (or reloads) the plugins the running config names (`authority.plugins` and this router's
   * `plugins`) with the service chains of its tenants and services; a changed plugin file is loaded anew.
   * Problems are returned per plugin (and reported as `plugin.failed`); the router keeps forwarding.
   */
  loadPlugins(opts?: LoadPluginsOptions): Promise<PluginProblem[]>;
  /** marks a peer path usable or not, as BFD would (`path.up` / `path.down`, reason `set`) */
  setPathUp(pathName: string, up: boolean): void;
  /** resolves once every peer has a usable path; rejects after `timeoutMs` (default 10 s) */
  whenPathsUp(timeoutMs?: number): Promise<void>;
  /** expires idle sessions now (the data path also does so on a timer, unless sweepIntervalMs is 0) */
  sweep(): void;
  /** every counter (docs/embedding.md has the table), plugins' counters included */
  counters(): RouterCounters;
  /** every session, oldest first */
  sessions(): Promise<SessionRow[]>;
  /** per peer: reachability and its paths with liveness, BFD state, quality and sessions */
  peers(): PeerSummary[];
  /** per service: reachability, routes, ranked paths */
  services(): ServiceSummary[];
  tenants(): TenantView[];
  /** loaded plugins with their stages and counters */
  plugins(): PluginView[];
  status(): RouterStatus;
}
