/**
 * Loads plugins and keeps them running. The router's control part runs each plugin's `control()` (main
 * thread: hooks, store, log) and, when its data path runs in the same thread, its `dataplane()` (stages,
 * session hooks) too: both parts of one load then share the options object, and may share state through
 * it (the built-in dos, firewall and lb plugins do). A data path in a worker thread has a host of its own
 * that runs only the data-path parts.
 * apply(specs): import each module (specifier relative to the config file), check its shape, its `api`
 * range against PLUGIN_API_VERSION and its `dependsOn`, validate its options, run this host's part; a
 * data-path host then orders all stages (runsBefore/runsAfter) and hands them to its data path with the
 * configured chains (a chain naming a stage no plugin provides drops its sessions' packets: the router
 * refuses such a config). A plugin that fails any step is reported with its name and skipped; a security
 * function's failure is marked `failClosed` (the router then refuses to run with it). Plugins missing
 * from a new config are unloaded (hooks dropped, stages gone).
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isSvrError, SvrError } from '../errors.js';
import { orderStages, type ChainStageEntry } from '../dataplane/chain.js';
import type { Dataplane } from '../dataplane/dataplane.js';
import type { Store } from '../store/store.js';
import { PF_REVERSE, type Batch } from '../dataplane/batch.js';
import { ROLE_INGRESS, SF_NEEDS_META } from '../dataplane/session-table.js';
import { sessionId } from '../dataplane/session-ops.js';
import {
  DROP, PASS, PLUGIN_API_VERSION, PluginOptionsError, type PluginControlContext, type PluginDataplaneContext, type PluginHooks,
  type EgressRate, type PluginRecord, type PluginStage, type PluginStore, type RouterPlugin, type SessionCloseHook, type SessionInfo, type SessionInstalledHook, type SessionOpenHook,
} from './api.js';
import type { HookEntry } from '../dataplane/session-hooks.js';
import { Counters } from '../dataplane/counters.js';
import type { CloseReason, DpEvent } from '../dataplane/events.js';
import { PluginChannel } from '../dataplane/plugin-channels.js';
import { formatAddress } from '../packet/addr.js';
import { satisfies } from './semver.js';

export interface PluginSpec {
  /** module specifier: a package name, `svrouter/plugins/<builtin>`, or a path relative to `baseDir` */
  use: string;
  with?: unknown;
  /** directory relative specifiers resolve from (the config file's) */
  baseDir: string;
  /** where this spec was written, for messages: e.g. `routers[0].plugins[1]` */
  at: string;
  /** the config's `fail-open`: true lets traffic go on when the plugin fails; false makes any plugin fail closed */
  failOpen?: boolean;
}

export interface PluginView {
  name: string;
  version: string;
  specifier: string;
  state: 'loaded' | 'failed';
  error?: string;
  stages: { name: string; disabled: boolean }[];
  counters: Record<string, number>;
}

interface Listeners {
  created: ((s: SessionInfo) => void)[];
  closed: ((s: { id: string; reason: CloseReason }) => void)[];
  path: ((p: { path: string; up: boolean }) => void)[];
  config: ((generation: number) => void)[];
  /** by channel name */
  records: Map<string, ((r: PluginRecord) => void)[]>;
}

const noListeners = (): Listeners => ({ created: [], closed: [], path: [], config: [], records: new Map() });

interface Loaded {
  spec: PluginSpec;
  plugin: RouterPlugin<unknown> | null;
  /** the module's definition once imported (kept when a later step of the load fails) */
  definition?: RouterPlugin<unknown>;
  key: string;
  error?: string;
  stages: ChainStageEntry[];
  hooks: PluginHookSet;
  listeners: Listeners;
  /** aborts the control part's signal when the plugin is unloaded */
  life: AbortController;
  /** what its control part asked the node's egress shaper for (shapeEgress) */
  egress?: readonly EgressRate[];
}

export interface PluginHookSet {
  open: HookEntry<SessionOpenHook>[];
  close: HookEntry<SessionCloseHook>[];
  /** its hooks for rows installed from the HA partner (API 1.4) */
  installed?: HookEntry<SessionInstalledHook>[];
  /** ids of the service functions the plugin registered */
  functions?: number[];
  /** its record channels to the control part */
  channels?: PluginChannel[];
}

/** What the control part of a plugin gets from its router. */
export interface PluginControlDeps {
  routerName: string;
  store: Store | null;
  counters(): Record<string, number>;
  log(event: string, fields: Record<string, string | number | boolean>): void;
  /** true when the node shapes egress in the kernel (shapeEgress is honoured); false for embedded routers */
  egressShaping?: boolean;
}

/**
 * A host of both parts (the router's, its data path in this thread), of the control parts only (the
 * router's, its data path in worker threads) or of the data-path parts only (inside a worker).
 */
export type PluginHostDeps =
  | (PluginControlDeps & { parts: 'all'; dataplane: Dataplane })
  | (PluginControlDeps & { parts: 'control' })
  | { parts: 'dataplane'; routerName: string; dataplane: Dataplane };

/** A plugin that could not be loaded, or a chain stage that is missing. `failClosed`: a security function
 *  (or a chain naming a missing stage): the router must not run with it (docs/security.md "Fail closed"). */
export interface PluginFailure {
  at: string;
  /** the exact field when finer than `at`: a refused option, `<at>.with.<option path>` */
  path?: string;
  message: string;
  failClosed?: boolean;
}

/** What `apply` did: failures by config path, and the plugins it loaded now (kept ones are not listed). */
export interface PluginApplyResult {
  failures: PluginFailure[];
  loaded: { name: string; version: string }[];
}

export type PluginChains = { tenants: readonly (readonly string[])[]; services: readonly (readonly string[])[] };

const memoryStores = new Map<string, Map<string, unknown>>();

/** A plugin's options refused (PluginOptionsError, or any error with a string `path`: plugins need not import svrouter). */
function optionsError(e: unknown, at: string, plugin: string): SvrError {
  const path = e instanceof PluginOptionsError ? e.path : (e as { path?: unknown }).path;
  const where = typeof path === 'string' && path !== '' ? `${at}.with.${path}` : `${at}.with`;
  return new SvrError('SVR_ERR_PLUGIN_OPTIONS', `${where}: ${e instanceof Error ? e.message : String(e)} (plugin ${plugin})`, { path: where });
}

/** A store for plugins when the router runs without a database (embedding): in memory, same interface. */
function memoryStore(name: string): PluginStore {
  const m = memoryStores.get(name) ?? new Map<string, unknown>();
  memoryStores.set(name, m);
  return {
    put: async (k, v) => void m.set(k, v),
    get: async (k) => m.get(k),
    del: async (k) => void m.delete(k),
    entries: (o = {}) => ({
      async *[Symbol.asyncIterator]() {
        const keys = [...m.keys()].sort().filter((k) => (o.gte === undefined || k >= o.gte) && (o.lt === undefined || k < o.lt));
        for (const k of keys.slice(0, o.limit ?? keys.length)) yield [k, m.get(k)] as [string, unknown];
      },
    }),
  };
}

export class PluginHost {
  private loaded: Loaded[] = [];
  /** counters of the plugins' control parts */
  private readonly controlCounters = new Counters();

  constructor(private readonly deps: PluginHostDeps) {}

  private log(event: string, fields: Record<string, string | number | boolean>): void {
    if (this.deps.parts !== 'dataplane') this.deps.log(event, fields); // a worker's host is silent: control reports once
  }

  /** Loads/keeps/unloads plugins to match `specs`; a data-path host then installs stages and `chains`. */
  async apply(specs: readonly PluginSpec[], chains: PluginChains = { tenants: [], services: [] }): Promise<PluginApplyResult> {
    const next: Loaded[] = [];
    for (const spec of specs) {
      // the entry file's content is part of the key: a changed plugin file loads anew (moduleUrl)
      const key = `${moduleUrl(spec)}#${JSON.stringify(spec.with ?? null)}`;
      const kept = this.loaded.find((l) => l.key === key && l.plugin !== null);
      next.push(kept ?? { spec, plugin: null, key, stages: [], hooks: { open: [], close: [] }, listeners: noListeners(), life: new AbortController() });
    }
    for (const old of this.loaded) {
      if (next.includes(old)) continue;
      old.life.abort();
      if (old.plugin) this.log('plugin.unloaded', { plugin: old.plugin.name });
    }
    this.loaded = next;
    const failures: PluginFailure[] = [];
    const loaded: { name: string; version: string }[] = [];
    const names = new Set<string>();
    for (const l of next) {
      if (l.plugin !== null) {
        names.add(l.plugin.name);
        continue;
      }
      try {
        await this.load(l, names);
        names.add(l.plugin!.name);
        loaded.push({ name: l.plugin!.name, version: l.plugin!.version });
      } catch (e) {
        l.plugin = null;
        l.life.abort(); // a control part that started timers before the failure stops them
        l.stages = [];
        l.hooks = { open: [], close: [] };
        l.error = e instanceof Error ? e.message : String(e);
        const path = isSvrError(e, 'SVR_ERR_PLUGIN_OPTIONS') ? (e.data as { path: string }).path : undefined;
        failures.push({ at: l.spec.at, ...(path !== undefined ? { path } : {}), message: l.error, ...(failsClosed(l.spec, l.definition) ? { failClosed: true } : {}) });
        this.log('plugin.failed', { at: l.spec.at, use: l.spec.use, error: l.error });
      }
    }
    if (this.deps.parts === 'control') return { failures, loaded };
    const dp = this.deps.dataplane;
    const entries = this.loaded.flatMap((l) => l.stages);
    let ordered: ChainStageEntry[];
    try {
      ordered = orderStages(entries);
    } catch (e) {
      throw new SvrError('SVR_ERR_PLUGIN_CONTRACT', e instanceof Error ? e.message : String(e));
    }
    dp.setPluginStages(ordered, chains.tenants, chains.services);
    dp.ctx.hooks.set(this.loaded.flatMap((l) => l.hooks.open), this.loaded.flatMap((l) => l.hooks.close), this.loaded.flatMap((l) => l.hooks.installed ?? []));
    dp.ctx.channels.list = this.loaded.flatMap((l) => l.hooks.channels ?? []);
    const fns = dp.ctx.functions;
    fns.retain(new Set(this.loaded.flatMap((l) => l.hooks.functions ?? [])));
    fns.resolve(dp.tables, dp.ctx.chains);
    return { failures, loaded };
  }

  private async load(l: Loaded, loadedNames: ReadonlySet<string>): Promise<void> {
    const url = moduleUrl(l.spec);
    let mod: { default?: unknown };
    try {
      mod = (await import(url)) as { default?: unknown };
    } catch (e) {
      throw new SvrError('SVR_ERR_PLUGIN_LOAD', `${l.spec.at}: cannot import "${l.spec.use}" (${url}): ${e instanceof Error ? e.message : String(e)}`);
    }
    const p = mod.default as RouterPlugin<unknown> | undefined;
    if (p === undefined || typeof p !== 'object' || typeof p.name !== 'string' || typeof p.api !== 'string' || typeof p.version !== 'string') {
      throw new SvrError('SVR_ERR_PLUGIN_CONTRACT', `${l.spec.at}: "${l.spec.use}" has no default export { name, version, api, ... } (use definePlugin from svrouter/plugins)`);
    }
    l.definition = p;
    if (!satisfies(PLUGIN_API_VERSION, p.api)) {
      throw new SvrError('SVR_ERR_PLUGIN_API', `${l.spec.at}: plugin ${p.name} supports plugin API ${p.api}, this router provides ${PLUGIN_API_VERSION}`);
    }
    for (const dep of p.dependsOn ?? []) {
      if (!loadedNames.has(dep)) throw new SvrError('SVR_ERR_PLUGIN_DEP', `${l.spec.at}: plugin ${p.name} depends on ${dep}, which is not loaded before it (list it earlier in plugins)`);
    }
    let opts: unknown = l.spec.with;
    if (p.options) {
      try {
        opts = p.options(l.spec.with ?? {});
      } catch (e) {
        throw optionsError(e, l.spec.at, p.name);
      }
    }
    l.plugin = p;
    const stages: ChainStageEntry[] = [];
    const hooks: PluginHookSet = { open: [], close: [] };
    const deps = this.deps;
    if (deps.parts !== 'dataplane' && p.control) {
      try {
        await p.control(this.controlContext(l, p.name, deps), opts);
      } catch (e) {
        // options the control part finds it cannot honour here (builtin.qos: shaping on an embedded router)
        if (e instanceof PluginOptionsError) throw optionsError(e, l.spec.at, p.name);
        throw e;
      }
    }
    if (deps.parts !== 'control' && p.dataplane) p.dataplane(pluginDataplaneContext(deps.dataplane, p.name, stages, hooks, failsClosed(l.spec, p)), opts);
    l.stages = stages;
    l.hooks = hooks;
  }

  private controlContext(l: Loaded, name: string, deps: PluginControlDeps): PluginControlContext {
    const hooks: PluginHooks = {
      onSessionCreated: (fn) => void l.listeners.created.push(fn),
      onSessionClosed: (fn) => void l.listeners.closed.push(fn),
      onPathChanged: (fn) => void l.listeners.path.push(fn),
      onConfigApplied: (fn) => void l.listeners.config.push(fn),
      onRecords: (channel, fn) => void l.listeners.records.set(channel, [...(l.listeners.records.get(channel) ?? []), fn]),
    };
    return {
      routerName: deps.routerName,
      hooks,
      store: deps.store?.pluginStore(name) ?? memoryStore(`${deps.routerName}/${name}`),
      log: { info: (event, fields = {}) => deps.log(`plugin.${name}.${event}`, fields) },
      counters: () => deps.counters(),
      counter: (counter) => this.controlCounters.id(`plugin.${name}.${counter}`),
      count: (id, n = 1) => this.controlCounters.add(id, n),
      signal: l.life.signal,
      shapeEgress: (rates) => {
        if (deps.egressShaping !== true) return false;
        l.egress = rates.map((r) => ({ dscp: r.dscp, rate: r.rate, queueBytes: r.queueBytes }));
        return true;
      },
    };
  }

  /** The DSCP queues the loaded plugins asked for, one per DSCP (the first plugin to ask keeps it). */
  egressRates(): EgressRate[] {
    const out = new Map<number, EgressRate>();
    for (const l of this.loaded) {
      if (l.plugin === null) continue;
      for (const r of l.egress ?? []) if (!out.has(r.dscp)) out.set(r.dscp, r);
    }
    return [...out.values()];
  }

  /** Session and path facts for the plugins' hooks; a throwing hook is logged, never fatal. */
  /** Whether any plugin listens to session creations / closures (the caller then skips building the fact). */
  get listensToSessions(): boolean {
    for (const l of this.loaded) if (l.listeners.created.length > 0 || l.listeners.closed.length > 0) return true;
    return false;
  }

  sessionCreated(s: SessionInfo): void {
    this.each((l) => l.listeners.created, (fn) => fn(s));
  }

  sessionClosed(s: { id: string; reason: CloseReason }): void {
    this.each((l) => l.listeners.closed, (fn) => fn(s));
  }

  pathChanged(p: { path: string; up: boolean }): void {
    this.each((l) => l.listeners.path, (fn) => fn(p));
  }

  configApplied(generation: number): void {
    this.each((l) => l.listeners.config, (fn) => fn(generation));
  }

  /** A batch of records from a plugin's data-path part (one data-path thread), to its control part's listeners. */
  records(e: Extract<DpEvent, { kind: 'plugin.records' }>): void {
    const l = this.loaded.find((x) => x.plugin?.name === e.plugin);
    const fns = l?.listeners.records.get(e.channel);
    if (l === undefined || fns === undefined || fns.length === 0) return;
    for (let i = 0; i < e.count; i++) {
      const family = e.families[i]!;
      const r: PluginRecord = { atMs: e.atMs, ints: e.ints.slice(i * e.width, (i + 1) * e.width) };
      if (family === 4 || family === 6) {
        r.addressA = formatAddress(e.addresses, i * 32, family);
        r.addressB = formatAddress(e.addresses, i * 32 + 16, family);
      }
      for (const fn of fns) {
        try {
          fn(r);
        } catch (err) {
          this.log('plugin.hook-error', { plugin: e.plugin, error: err instanceof Error ? err.message : String(err) });
        }
      }
    }
  }

  /** The counters of the plugins' control parts (`plugin.<name>.<counter>`). */
  counters(): Record<string, number> {
    return this.controlCounters.snapshot();
  }

  private each<F>(pick: (l: Loaded) => F[], call: (fn: F) => void): void {
    for (const l of this.loaded) {
      for (const fn of pick(l)) {
        try {
          call(fn);
        } catch (e) {
          this.log('plugin.hook-error', { plugin: l.plugin?.name ?? l.spec.use, error: e instanceof Error ? e.message : String(e) });
        }
      }
    }
  }

  /** Stops every plugin's control part (aborts its signal): for router.stop(). */
  close(): void {
    for (const l of this.loaded) l.life.abort();
  }

  /** The plugins of the control part, with `stages` of the data path (full name, disabled after an error). */
  list(stages: readonly { name: string; disabled: boolean }[]): PluginView[] {
    const counters = this.deps.parts !== 'dataplane' ? this.deps.counters() : {};
    return this.loaded.map((l) => {
      const name = l.plugin?.name ?? l.spec.use;
      const prefix = `plugin.${name}.`;
      return {
        name,
        version: l.plugin?.version ?? '?',
        specifier: l.spec.use,
        state: l.plugin ? 'loaded' as const : 'failed' as const,
        ...(l.error ? { error: l.error } : {}),
        stages: stages.filter((s) => s.name.startsWith(`${name}/`)),
        counters: Object.fromEntries(Object.entries(counters).filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v])),
      };
    });
  }
}

/** The stages of a data path's chains: full name and whether an error disabled it. */
export function chainStages(dp: Dataplane): { name: string; disabled: boolean }[] {
  const chains = dp.ctx.chains;
  return chains.stages.map((e, bit) => ({ name: e.fullName, disabled: (chains.disabled & (1 << bit)) !== 0 }));
}

/**
 * The import() argument of a plugin: its resolved module URL with a version of its content (`?v=<sha-256
 * prefix>` for a file), so that a changed entry file is imported anew on the next apply (`svr node reload`)
 * while an unchanged one keeps its module instance. Only the entry file counts: a change in a file it imports
 * needs the entry file changed too (or a restart). Old module instances stay in memory (ES modules cannot be
 * unloaded).
 */
function moduleUrl(spec: PluginSpec): string {
  const url = resolveSpecifier(spec);
  if (!url.startsWith('file:')) return url;
  try {
    return `${url}?v=${createHash('sha256').update(readFileSync(new URL(url))).digest('hex').slice(0, 16)}`;
  } catch {
    return url; // import() reports the missing file
  }
}

/**
 * Module specifier -> import() argument. Paths resolve from the config's directory; a directory with a
 * package.json is a plugin package (its `exports['.']` or `main` is the entry). Bare names resolve from
 * the config's directory first (a plugin installed next to the config), else from svrouter itself
 * (`svrouter/plugins/<builtin>`).
 */
function resolveSpecifier(spec: PluginSpec): string {
  const u = spec.use;
  if (u.startsWith('./') || u.startsWith('../') || isAbsolute(u)) {
    const path = resolve(spec.baseDir, u);
    return pathToFileURL(isDirectory(path) ? packageEntry(path) : path).href;
  }
  try {
    return pathToFileURL(createRequire(join(spec.baseDir, 'noop.js')).resolve(u)).href;
  } catch {
    return u;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function packageEntry(dir: string): string {
  try {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { main?: string; exports?: unknown };
    const exp = pkg.exports;
    const dot = typeof exp === 'string' ? exp : typeof exp === 'object' && exp !== null ? (exp as Record<string, unknown>)['.'] : undefined;
    const entry = typeof dot === 'string' ? dot : typeof dot === 'object' && dot !== null ? (dot as Record<string, unknown>)['import'] ?? (dot as Record<string, unknown>)['default'] : undefined;
    return join(dir, typeof entry === 'string' ? entry : pkg.main ?? 'index.js');
  } catch {
    return join(dir, 'index.js');
  }
}

/** A plugin fails closed when it is a security function, unless its config says `fail-open` (either way). */
function failsClosed(spec: PluginSpec, p: RouterPlugin<unknown> | undefined): boolean {
  return spec.failOpen === undefined ? p?.security === true : !spec.failOpen;
}

/** The data-path context a plugin's `dataplane()` gets for data path `dp`; stages land in `stages`. */
export function pluginDataplaneContext(dp: Dataplane, plugin: string, stages: ChainStageEntry[], hooks: PluginHookSet = { open: [], close: [] }, failClosed = false): PluginDataplaneContext {
  return {
    PASS,
    DROP,
    PF_REVERSE,
    onSessionOpen: (fn) => void hooks.open.push({ plugin, fn, disabled: false, failClosed }),
    channel: (name, opts = {}) => {
      const ints = opts.ints ?? 4;
      if (typeof name !== 'string' || name === '' || !Number.isInteger(ints) || ints < 0 || ints > 64) {
        throw new SvrError('SVR_ERR_PLUGIN_CONTRACT', `plugin ${plugin}: channel(name, { ints }) needs a name and 0-64 ints, got ${JSON.stringify({ name, ints })}`);
      }
      if ((hooks.channels ?? []).some((c) => c.name === name)) throw new SvrError('SVR_ERR_PLUGIN_CONTRACT', `plugin ${plugin}: channel "${name}" is opened twice`);
      const ch = new PluginChannel(plugin, name, ints, dp.counters, opts.capacity);
      (hooks.channels ??= []).push(ch);
      return ch;
    },
    onSessionClose: (fn) => void hooks.close.push({ plugin, fn, disabled: false }),
    onSessionInstalled: (fn) => void (hooks.installed ??= []).push({ plugin, fn, disabled: false }),
    addStage: (stage: PluginStage) => {
      if (typeof stage?.name !== 'string' || typeof stage.run !== 'function') {
        throw new SvrError('SVR_ERR_PLUGIN_CONTRACT', `plugin ${plugin}: addStage needs { name, run(batch, frame, rt) }`);
      }
      stages.push({ fullName: `${plugin}/${stage.name}`, plugin, stage, failClosed });
    },
    tables: () => dp.tables,
    sessions: {
      tenant: (r) => dp.sessions.tenant[r]!,
      service: (r) => dp.sessions.service[r]!,
      protocol: (r) => dp.sessions.protocol[r]!,
      addToChain: (r, stage) => {
        const bit = dp.ctx.chains.bit(stage);
        if (bit < 0 || !dp.sessions.isActive(r)) return false;
        dp.sessions.chain[r] = (dp.sessions.chain[r]! | (1 << bit)) >>> 0;
        return true;
      },
      setApplication: (r, name) => {
        const t = dp.sessions;
        if (!t.isActive(r)) return;
        const id = dp.ctx.applications.id(name);
        if (t.app[r] === id) return;
        t.app[r] = id;
        if (t.role[r] === ROLE_INGRESS) {
          t.flags[r] = t.flags[r]! | SF_NEEDS_META; // re-signal with TLV 35; an episode confirms it
          dp.ctx.events.push({ kind: 'session.resignalled', row: r, gen: t.gen[r]!, sessionId: sessionId(t, r) });
        }
      },
      application: (r) => dp.ctx.applications.name(dp.sessions.app[r]!),
      setTag: (r, v) => dp.sessions.setTag(r, v),
      tag: (r) => dp.sessions.tagOf(r),
    },
    counter: (name) => dp.counters.id(`plugin.${plugin}.${name}`),
    count: (id, n = 1) => dp.counters.add(id, n),
    addFunction: (f) => {
      if (typeof f?.stage !== 'string' || typeof f.out !== 'string' || typeof f.in !== 'string') {
        throw new SvrError('SVR_ERR_PLUGIN_CONTRACT', `plugin ${plugin}: addFunction needs { stage, out, in }`);
      }
      const fns = dp.ctx.functions;
      const id = fns.add(f);
      (hooks.functions ??= []).push(id);
      fns.resolve(dp.tables, dp.ctx.chains);
      return id;
    },
    divert: (b, slot, fn) => dp.ctx.functions.divert(dp.sessions, b as Batch, slot, fn), // the batch run() was given
  };
}
