/**
 * The router's plugins (part of control/router.ts): their control parts here (plugins/host.ts), their data-path parts
 * in the data path (in this thread, or in each worker), the stages of the service chains, and the stages the data
 * path disabled since plugins were last applied (each worker reports its own).
 */
import { resolve } from 'node:path';
import type { SvrConfig } from '../model/config.js';
import type { ForwardingTables } from '../model/tables.js';
import { PluginHost, chainStages, type PluginSpec, type PluginView } from '../plugins/host.js';
import type { Store } from '../store/store.js';
import type { DataPathHost, ServiceChains } from './data-path-host.js';
import type { ObserveAlarm } from './event-fanout.js';
import type { RouterEvent } from './events.js';
import type { LoadPluginsOptions, PluginProblem } from './router-api.js';

export interface RouterPluginDeps {
  routerName: string;
  host: DataPathHost;
  store: Store | null;
  egressShaping: boolean;
  /** the running config and its tables */
  readonly config: SvrConfig;
  readonly tables: ForwardingTables;
  counters(): Readonly<Record<string, number>>;
  log(event: string, fields: Record<string, string | number | boolean>): void;
  alarm: ObserveAlarm;
  emit(e: RouterEvent): void;
  clock(): number;
}

export class RouterPlugins {
  /** the plugins' control parts (and, with the data path in this thread, their data-path parts) */
  readonly host: PluginHost;
  /** plugin stages disabled since plugins were last applied (each worker reports its own) */
  private readonly disabledStages = new Set<string>();

  constructor(private readonly deps: RouterPluginDeps) {
    const pluginDeps = { routerName: deps.routerName, store: deps.store, counters: () => deps.counters(), log: deps.log, egressShaping: deps.egressShaping };
    const plugins = deps.host.plugins;
    this.host = 'here' in plugins ? new PluginHost({ ...pluginDeps, parts: 'all', dataplane: plugins.here }) : new PluginHost({ ...pluginDeps, parts: 'control' });
  }

  /** Router.applyPlugins (router-api.ts). */
  async apply(specs: readonly PluginSpec[], chains: ServiceChains = {}): Promise<PluginProblem[]> {
    const t = this.deps.tables;
    const local = await this.host.apply(specs, {
      tenants: t.tenants.map((name) => chains.tenants?.[name] ?? []),
      services: t.services.map((svc) => chains.services?.[svc.name] ?? []),
    });
    const failures = [...local.failures];
    const plugins = this.deps.host.plugins;
    if (!('here' in plugins)) {
      const seen = new Set(failures.map((f) => `${f.at}|${f.message}`));
      for (const f of (await plugins.apply(specs, chains)).failures) {
        if (seen.has(`${f.at}|${f.message}`)) continue;
        seen.add(`${f.at}|${f.message}`);
        failures.push(f);
      }
    }
    const stages = this.stages();
    for (const key of this.disabledStages) {
      // loaded again: a failed or disabled stage runs anew (its alarm source is "<plugin> <stage>")
      const [plugin, stage] = key.split('\n') as [string, string];
      for (const name of ['security-function-failed', 'plugin-disabled']) this.deps.alarm(name, `${plugin} ${stage}`, { active: false });
    }
    this.disabledStages.clear();
    failures.push(...this.missingChainStages(chains, new Set(stages.map((s) => s.name))));
    for (const p of local.loaded) {
      const mine = stages.filter((s) => s.name.startsWith(`${p.name}/`)).map((s) => s.name);
      this.deps.log('plugin.loaded', { plugin: p.name, version: p.version, stages: mine.join(',') });
      this.deps.emit({ type: 'plugin.loaded', atMs: this.deps.clock(), plugin: p.name, version: p.version, stages: mine });
    }
    for (const f of failures) this.deps.emit({ type: 'plugin.failed', atMs: this.deps.clock(), at: f.at, message: f.message });
    return failures;
  }

  /** Chain entries naming a stage that is not loaded, by field path of the running config. */
  private missingChainStages(chains: ServiceChains, known: ReadonlySet<string>): PluginProblem[] {
    const a = this.deps.config.authority;
    const out: PluginProblem[] = [];
    const check = (kind: 'tenants' | 'services', names: readonly string[]): void => {
      for (const [name, list] of Object.entries(chains[kind] ?? {})) {
        const i = names.indexOf(name);
        list.forEach((stage, j) => {
          if (known.has(stage)) return;
          const at = i < 0 ? `${kind}.${name}.service-chain[${j}]` : `authority.${kind}[${i}].service-chain[${j}]`;
          const loaded = [...known].join(', ') || 'none';
          out.push({ at, message: `${at}: names stage "${stage}", which no loaded plugin provides (loaded stages: ${loaded}); its sessions are not forwarded`, failClosed: true });
        });
      }
    };
    check('tenants', a.tenants.map((x) => x.name));
    check('services', a.services.map((x) => x.name));
    return out;
  }

  /** Router.loadPlugins (router-api.ts): the running config's plugins and service chains. */
  load(opts: LoadPluginsOptions = {}): Promise<PluginProblem[]> {
    const baseDir = resolve(opts.baseDir ?? '.');
    const a = this.deps.config.authority;
    const ri = a.routers.findIndex((r) => r.name === this.deps.routerName);
    const specs = [
      ...a.plugins.map((p, i) => ({ ...p, baseDir, at: `authority.plugins[${i}]` })),
      ...(a.routers[ri]?.plugins ?? []).map((p, i) => ({ ...p, baseDir, at: `authority.routers[${ri}].plugins[${i}]` })),
    ];
    // a stage of a built-in plugin that only other routers load runs there, not here (the lab's external
    // function on r1 is no stage of r2's); any other stage no loaded plugin provides fails closed
    const builtin = (use: string) => /^svrouter\/plugins\/([a-z-]+)$/.exec(use)?.[1];
    const mine = new Set(specs.map((p) => builtin(p.use)).filter((x) => x !== undefined).map((x) => `builtin.${x}`));
    const elsewhere = new Set(a.routers.flatMap((r) => r.plugins ?? []).map((p) => builtin(p.use)).filter((x) => x !== undefined)
      .map((x) => `builtin.${x}`).filter((n) => !mine.has(n)));
    const here = (chain: readonly string[]) => chain.filter((stage) => !elsewhere.has(stage.split('/')[0]!));
    return this.apply(specs, {
      tenants: Object.fromEntries(a.tenants.map((t) => [t.name, here(t.serviceChain)])),
      services: Object.fromEntries(a.services.map((s) => [s.name, here(s.serviceChain)])),
    });
  }

  /** The data path's chain stages (every worker's), disabled or not. */
  stages(): { name: string; disabled: boolean }[] {
    const plugins = this.deps.host.plugins;
    return 'here' in plugins ? chainStages(plugins.here) : plugins.stages();
  }

  /** Loaded plugins with their data-path stages and counters. */
  list(): PluginView[] {
    return this.host.list(this.stages());
  }

  /** The data path disabled a stage: true the first time since plugins were last applied (its alarm is raised then). */
  disabled(plugin: string, stage: string): boolean {
    const key = `${plugin}\n${stage}`;
    if (this.disabledStages.has(key)) return false;
    this.disabledStages.add(key);
    return true;
  }
}
