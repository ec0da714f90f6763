/**
 * The router's path verdicts and service routing (part of control/router.ts): which peer paths are usable (control's
 * truth, by path name), path.up / path.down / path.quality-changed, and per service the order the data path follows
 * (path control's ranking, through the service's migration episode when it has one).
 */
import { ServicePaths } from '../dataplane/path-choice.js';
import { resiliencyCode } from '../model/service-arrays.js';
import type { SessionResiliency } from '../model/config.js';
import type { ForwardingTables } from '../model/tables.js';
import type { PathQuality } from '../paths/quality.js';
import { SvrError } from '../errors.js';
import type { DataPathHost } from './data-path-host.js';
import type { PathEventReason, RouterEvent } from './events.js';

export interface PathVerdictDeps {
  /** the running config's tables */
  readonly tables: ForwardingTables;
  readonly host: Pick<DataPathHost, 'setPathUp' | 'setServiceRouting'>;
  /** a path's verdict to the peers, migration episodes (up since `upSinceMs`) and plugins */
  changed(peer: string, path: { id: number; name: string }, up: boolean, upSinceMs: number | undefined): void;
  /** the service's migration episode takes this ranking (false: none, the ranking is the order) */
  ranked(service: string, paths: readonly number[]): boolean;
  emit(e: RouterEvent): void;
  clock(): number;
}

export class PathVerdicts {
  /** the rankings as the data path has them (what `explain` reads) */
  readonly published = new ServicePaths();
  /** usable or not, by path name: control's truth, republished to the data path after a config change */
  private readonly usable = new Map<string, boolean>();
  /** per path name: the last quality announced (path.quality-changed only on a change) */
  private readonly announcedQuality = new Map<string, string>();
  /** per service: the ranking's refusal and resiliency, and the order the data path follows */
  private readonly routing = new Map<string, { refused: boolean; resiliency: SessionResiliency; order: readonly number[] }>();

  constructor(private readonly deps: PathVerdictDeps) {
    this.published.reset(deps.tables);
    // every path starts down; static liveness brings each up at start() (path.up)
    for (const p of deps.tables.paths) this.usable.set(p.name, false);
  }

  /**
   * A path's verdict, everywhere: the data path, peers, migration episodes (up since `upSinceMs`, default
   * now), plugins; path.up / path.down when it changed.
   */
  apply(pathName: string, up: boolean, upSinceMs: number | undefined, reason: PathEventReason): void {
    const t = this.deps.tables;
    const path = t.paths.find((p) => p.name === pathName);
    if (path === undefined) throw new SvrError('SVR_ERR_ROUTER_STATE', `no peer path named ${pathName}`);
    const was = this.usable.get(pathName) ?? false;
    const peer = t.peers[path.peer]!.name;
    this.usable.set(pathName, up);
    this.deps.host.setPathUp(path.id, up);
    this.deps.changed(peer, path, up, upSinceMs);
    if (was !== up) this.deps.emit({ type: up ? 'path.up' : 'path.down', atMs: this.deps.clock(), path: pathName, peer, reason });
  }

  /**
   * New tables (the running config's from now): control's verdicts (by name) republished by id, as path ids may
   * differ; a removed path that was usable goes down (reason removed). Returns the names of the paths added.
   */
  tablesChanged(old: ForwardingTables, tables: ForwardingTables): string[] {
    this.published.reset(tables);
    const added = tables.paths.filter((p) => !this.usable.has(p.name)).map((p) => p.name);
    for (const p of tables.paths) {
      if (!this.usable.has(p.name)) this.usable.set(p.name, false);
      this.deps.host.setPathUp(p.id, this.usable.get(p.name)!);
    }
    for (const p of old.paths) {
      if (tables.paths.some((q) => q.name === p.name)) continue;
      if (this.usable.get(p.name)) this.deps.emit({ type: 'path.down', atMs: this.deps.clock(), path: p.name, peer: old.peers[p.peer]?.name ?? '', reason: 'removed' });
      this.usable.delete(p.name);
      this.announcedQuality.delete(p.name);
    }
    return added;
  }

  /** path.quality-changed after a link test, when the smoothed figures (to 0.01) moved. */
  announceQuality(pathName: string, q: PathQuality): void {
    const t = this.deps.tables;
    const path = t.paths.find((p) => p.name === pathName);
    if (path === undefined) return;
    const r = (x: number): number => Math.round(x * 100) / 100;
    const figures = { latencyMs: r(q.latencyMs), jitterMs: r(q.jitterMs), lossPercent: r(q.lossPercent), mos: r(q.mos) };
    const key = JSON.stringify(figures);
    if (this.announcedQuality.get(pathName) === key) return;
    this.announcedQuality.set(pathName, key);
    this.deps.emit({ type: 'path.quality-changed', atMs: this.deps.clock(), path: pathName, peer: t.peers[path.peer]!.name, ...figures });
  }

  /** A service's ranking from path control: through its migration episode when it has one, else as it is. */
  publishRouting(service: string, r: { paths: readonly number[]; refused: boolean; resiliency: SessionResiliency }): void {
    const before = this.routing.get(service);
    this.routing.set(service, { refused: r.refused, resiliency: r.resiliency, order: before?.order ?? r.paths });
    if (!this.deps.ranked(service, r.paths)) this.setServiceRouting(service, r.paths);
    else if (before !== undefined && (before.refused !== r.refused || before.resiliency !== r.resiliency)) this.setServiceRouting(service, before.order);
  }

  /** The order a service's sessions follow, to the data path (with the ranking's refusal and resiliency). */
  setServiceRouting(service: string, order: readonly number[]): void {
    const id = this.deps.tables.serviceId(service);
    const r = this.routing.get(service);
    if (id < 0 || r === undefined) return;
    r.order = order;
    this.deps.host.setServiceRouting(id, order, r.refused, resiliencyCode(r.resiliency));
    this.published.set(id, order, r.refused, resiliencyCode(r.resiliency));
  }
}
