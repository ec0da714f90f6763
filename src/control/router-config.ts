/**
 * The router's running config (part of control/router.ts): its generation, RIB and forwarding tables, and how a new
 * one is applied between batches (validate, compile, plan the path keys, swap the data path's tables, republish
 * control's path verdicts) or refused and reverted, with config.applied / config.refused.
 */
import { setImmediate as turn } from 'node:timers/promises';
import { ConfigError, isSvrError } from '../errors.js';
import { compileRouter, compileRouterInTurns, routerConfig, type LoadedConfig, type PreparedTables } from '../model/compile.js';
import type { SvrConfig } from '../model/config.js';
import type { ConfigInput } from '../model/config-input.js';
import { Rib, type LearnedRoute } from '../model/rib.js';
import type { ForwardingTables } from '../model/tables.js';
import { loadConfig, resolveConfig } from '../model/validate.js';
import type { PathKeyControl } from '../paths/key-control.js';
import type { DataPathHost } from './data-path-host.js';
import type { RouterEvent } from './events.js';
import { refuseKeyIdReuse } from './key-versions.js';
import type { ApplyConfigFileOptions, ApplyConfigOptions } from './router-api.js';

export interface RunningConfigDeps {
  routerName: string;
  host: DataPathHost;
  keyControl(): PathKeyControl;
  /** the new tables' paths: control's verdicts republished by id, removed ones down; the names of the paths added */
  pathsChanged(old: ForwardingTables, tables: ForwardingTables): string[];
  /** after new tables, while the router runs: peers, migrations and path control follow them */
  follow(tables: ForwardingTables, added: readonly string[]): void;
  /** a new config runs (plugins are told) */
  applied(generation: number): void;
  emit(e: RouterEvent): void;
  clock(): number;
}

type Compiled = { rib: Rib; tables: ForwardingTables; slices?: PreparedTables['config'] };

export class RunningConfig {
  private generation = 1;
  private configNow: SvrConfig;
  private tablesNow: ForwardingTables;
  /** the RIB of the running config: static routes and the learned ones (setLearnedRoutes), updated route by route */
  private rib: Rib;

  /** `config` resolved (resolveConfig), its first tables compiled */
  constructor(config: SvrConfig, private readonly deps: RunningConfigDeps) {
    this.configNow = config;
    this.rib = new Rib(routerConfig(config, deps.routerName));
    this.tablesNow = compileRouter(config, deps.routerName, this.generation, this.rib);
  }

  get tables(): ForwardingTables {
    return this.tablesNow;
  }

  get config(): SvrConfig {
    return this.configNow;
  }

  /** Router.applyConfig (router-api.ts). */
  apply(config: ConfigInput, opts: ApplyConfigOptions = {}): void {
    const source = opts.source ?? '<config object>';
    try {
      const next = resolveConfig(config, source);
      refuseKeyIdReuse(this.configNow, next, source, false);
      opts.check?.(next);
      this.applyValid(next, source);
    } catch (e) {
      this.refused(source, e);
      throw e;
    }
  }

  /** Router.applyConfigFile (router-api.ts): the tables compiled in slices, a turn of the event loop after each. */
  async applyFile(path: string, opts: ApplyConfigFileOptions = {}): Promise<SvrConfig> {
    const name = this.deps.routerName;
    try {
      const { config: next, prepared }: LoadedConfig = await (opts.load ?? (async (p: string) => ({ config: await loadConfig(p) })))(path, name);
      refuseKeyIdReuse(this.configNow, next, path, true);
      opts.check?.(next);
      const generation = this.generation;
      const rib = this.nextRib(next, true);
      const compiled = { rib, tables: await compileRouterInTurns(next, name, generation + 1, rib, prepared, turn), slices: prepared?.config };
      await turn();
      // a RIB or config change in between made these tables stale: applyValid compiles again
      this.applyValid(next, path, true, undefined, this.generation === generation ? compiled : undefined);
      return next;
    } catch (e) {
      this.refused(path, e);
      throw e;
    }
  }

  /** Router.setLearnedRoutes: the RIB's learned routes are now `routes`; the prefixes changed. */
  setLearnedRoutes(routes: readonly LearnedRoute[]): number {
    const changed = this.rib.replace(routes);
    if (changed > 0) this.applyValid(this.configNow, 'rib', false);
    return changed;
  }

  /** Router.updateLearnedRoutes: some learned routes changed (set by prefix, and prefixes withdrawn). */
  updateLearnedRoutes(set: readonly LearnedRoute[], removed: readonly string[]): number {
    const changed = this.rib.update(set, removed);
    if (changed > 0) this.applyValid(this.configNow, 'rib', false, { set, removed });
    return changed;
  }

  /** Router.revertConfig: `previous` applies again and config.refused says why `refusedSource` does not run. */
  revert(previous: SvrConfig, refusedSource: string, reason: unknown): void {
    this.apply(previous, { source: `the previous config (${refusedSource} was refused)` });
    this.refused(refusedSource, reason);
  }

  /** The next generation's RIB and tables for `next` (`prepared`: its biggest tables, built in another thread). */
  private compile(next: SvrConfig, configChanged: boolean, prepared?: PreparedTables): { rib: Rib; tables: ForwardingTables } {
    const rib = this.nextRib(next, configChanged);
    return { rib, tables: compileRouter(next, this.deps.routerName, this.generation + 1, rib, prepared) };
  }

  /** A new config gets a new RIB (its static routes, interfaces), learned routes carried over. */
  private nextRib(next: SvrConfig, configChanged: boolean): Rib {
    return configChanged ? new Rib(routerConfig(next, this.deps.routerName), this.rib.learnedRoutes()) : this.rib;
  }

  /**
   * `ribChange`: only the RIB changed, by these routes (the data path applies just them); `compiled`: this.compile(next)
   * of this generation, with the config thread's slices of `next` (for data-path workers) when it made them
   */
  private applyValid(next: SvrConfig, source: string, configChanged = true, ribChange?: { set: readonly LearnedRoute[]; removed: readonly string[] }, compiled?: Compiled): void {
    const { rib, tables } = compiled ?? this.compile(next, configChanged);
    const keyControl = this.deps.keyControl();
    keyControl.plan(tables, next, source); // throws when a handshake path could not get keys (no private key, ...)
    if (ribChange !== undefined) this.deps.host.updateRib(tables, ribChange.set, ribChange.removed);
    else this.deps.host.setTables(tables, next, compiled?.slices); // throws before anything changes when the data path cannot take it
    this.generation++;
    this.configNow = next;
    this.rib = rib;
    const old = this.tablesNow;
    this.tablesNow = tables;
    const added = this.deps.pathsChanged(old, tables);
    keyControl.refresh();
    this.deps.follow(tables, added);
    if (!configChanged) return;
    this.deps.applied(this.generation);
    this.deps.emit({ type: 'config.applied', atMs: this.deps.clock(), generation: this.generation, source });
  }

  private refused(source: string, e: unknown): void {
    const problems = e instanceof ConfigError ? e.data.problems : [];
    this.deps.emit({
      type: 'config.refused', atMs: this.deps.clock(), source, code: isSvrError(e) ? e.code : 'SVR_ERR_CONFIG_INVALID',
      message: e instanceof Error ? e.message : String(e), problems,
    });
  }
}

/** The STEP mode `conductor` needs a STEP repository (a router managed by a conductor). */
export function refuseConductorStepWithout(config: SvrConfig, stepOn: boolean, hasRepository: boolean): void {
  if (config.authority.step?.mode !== 'conductor' || !stepOn || hasRepository) return;
  const message = 'STEP through the conductor needs a router managed by a conductor (svr node start --conductor URL --asset-id ID); use mode flood without one';
  throw new ConfigError('SVR_ERR_CONFIG_INVALID', `authority.step.mode: ${message}`, { source: '<config object>', problems: [{ path: 'authority.step.mode', message }] });
}
