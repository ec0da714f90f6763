/**
 * The node's alarms and events (docs/visibility.md "Alarms and events"): the router's state observed once a
 * second, and at once when the router reports a path, peer or plugin change (`onRouterEvent`), into the
 * telemetry alarm machines (AlarmWatch -> AlarmRegistry); and the router's config events.
 *
 * 1. every peer path: `peer-path-down` while it is not usable; every peer: `peer-unreachable` while none of
 *    its paths is. A path (peer) is watched once it has been up, or once the node has run `graceMs`
 *    (BFD needs a few seconds to bring paths up: they are starting, not down). A path to a pair's standby
 *    node (Up, `standby`) is not down; a pair's node watches no path of its partner's own interfaces (never
 *    up on this node; docs/high-availability.md "Per-node WAN interfaces");
 *    Every peer path also: `path-mtu-unresolvable` while its MTU discovery finds nothing that gets through,
 *    `nat-rebind-damped` while its NAT rebinds so often that re-signals wait, `udp-transform-active` while
 *    its firewall detector finds a middlebox that drops TCP (its TCP sessions go as UDP; docs/wan.md);
 * 2. the session table: `session-table-full` at >= 90 % of the sessions the router holds at most (its
 *    `session-capacity`, or `management.session-capacity` when set), cleared at <= 80 %;
 * 3. every plugin: `plugin-disabled` while it failed to load or an error disabled one of its stages;
 * 4. the router's config.applied and config.refused are events (and `configApplied` for the config the
 *    node started with);
 * 5. `ipfixCollector(name, status)`: `ipfix-collector-unreachable` while an exporter says its collector is
 *    down (the records wiring passes each exporter's onStatus here);
 * 6. `routerAlarm`: the conditions the router itself reports (its observeAlarm: a security function that
 *    failed closed, a data-path worker replaced, a path whose key exchange fails; docs/security.md);
 * 7. `haSplitBrain`: a node of a router pair that lost its sync link while its partner is alive (node/ha.ts);
 *    `haLinkDown`: a device of the pair's shared addresses is down on this node (node/ha.ts's link watch);
 *    `haStandby`: while a pair's node does not forward, its paths raise no `peer-path-down`/`peer-unreachable`;
 * 8. `recordsThread(node, running)`: `records-thread-restarted` from a crash of the session records thread
 *    until it runs again (telemetry/records-thread.ts starts it again).
 */
import type { RouterEvent } from '../control/events.js';
import type { PathCondition } from '../control/peer-views.js';
import type { Router } from '../control/router.js';
import { AlarmRegistry } from '../telemetry/alarms/registry.js';
import { AlarmWatch } from '../telemetry/alarms/watch.js';

export interface NodeAlarmsOptions {
  /** sessions that count as 100 % of the table */
  sessionCapacity: () => number;
  /** ms between observations; default 1000 */
  everyMs?: number;
  /** ms after start before a path that never came up counts as down; default 10000 */
  graceMs?: number;
  /** events kept in the log; default 10000 */
  maxEvents?: number;
  /** this node of a router pair (its partner's own paths are not watched) */
  haNode?: string;
}

/** Alarms the router raises itself (the node observes the others here). */
const ROUTER_ALARMS: ReadonlySet<string> = new Set(['security-function-failed', 'worker-restarted', 'key-exchange-failing']);

const bfdText = (state: string): string => `BFD ${state}`;
const mtuText = (mtu: number): string => `MTU ${mtu} assumed`;

/** `make(k)` once per k: the same string each time (no new string per path and second). */
function memo<K>(cache: Map<K, string>, k: K, make: (k: K) => string): string {
  let t = cache.get(k);
  if (t === undefined) cache.set(k, (t = make(k)));
  return t;
}

/** What the periodic observation saw of a path (the UDP transform's view is the same object until it changes). */
type PathMemo = Pick<PathCondition, 'up' | 'bfd' | 'standby' | 'mtu' | 'mtuState' | 'udpTransform'> & { nat?: { suppressed: boolean; addressChanges: number; damped: number } };

const memoOf = (p: PathCondition): PathMemo => ({
  up: p.up, bfd: p.bfd, standby: p.standby === true, mtu: p.mtu, mtuState: p.mtuState, udpTransform: p.udpTransform,
  ...(p.nat === undefined ? {} : { nat: { suppressed: p.nat.suppressed === true, addressChanges: p.nat.addressChanges, damped: p.nat.damped ?? 0 } }),
});

function sameCondition(m: PathMemo, p: PathCondition): boolean {
  if (m.up !== p.up || m.bfd !== p.bfd || m.standby !== (p.standby === true) || m.mtu !== p.mtu || m.mtuState !== p.mtuState || m.udpTransform !== p.udpTransform) return false;
  if (m.nat === undefined || p.nat === undefined) return m.nat === p.nat;
  return m.nat.suppressed === (p.nat.suppressed === true) && m.nat.addressChanges === p.nat.addressChanges && m.nat.damped === (p.nat.damped ?? 0);
}

/** The name of the session table as an alarm source. */
const TABLE = 'session table';

export class NodeAlarms {
  readonly registry: AlarmRegistry;
  private readonly watch: AlarmWatch;
  private readonly timer: NodeJS.Timeout;
  private readonly startedAt = Date.now();
  /** paths and peers seen usable at least once */
  private readonly seenUp = new Set<string>();
  /** the conditions watched in the last observation (one that vanished from the config is cleared); plugins apart */
  private watched = new Set<string>();
  private watchedPlugins = new Set<string>();
  /** per path and peer, what the last periodic observation saw, while the tables, the grace and standby stay: an
   *  unchanged one is not observed again (a hub's 2,000 paths: ~9 ms of its main thread a second before) */
  private readonly pathMemos = new Map<string, PathMemo>();
  private readonly peerMemos = new Map<string, boolean>();
  private memoGeneration = -1;
  private memoLate = false;
  private memoStandby = false;
  /** paths whose conditions the last periodic observation looked at (the others had not changed) */
  changedPaths = 0;
  /** peers whose reachability changed, observed with the path event that follows (onRouterEvent) */
  private readonly peersPending = new Set<string>();
  private readonly graceMs: number;
  /** condition keys by alarm name and source (`key`); the paths' detail texts by BFD state and by MTU */
  private readonly keys = new Map<string, Map<string, string>>();
  private readonly bfdTexts = new Map<string, string>();
  private readonly mtuTexts = new Map<number, string>();
  /** a router pair's standby or fenced node: its paths are down by design (devices down, nothing sent) */
  private standby = false;

  constructor(private readonly router: Router, private readonly o: NodeAlarmsOptions) {
    this.registry = new AlarmRegistry({ maxEvents: o.maxEvents ?? 10_000 });
    this.watch = new AlarmWatch(this.registry);
    this.graceMs = o.graceMs ?? 10_000;
    this.timer = setInterval(() => this.observe(), o.everyMs ?? 1000).unref();
  }

  /** One observation of everything (also called by tests). */
  observe(): void {
    const late = Date.now() - this.startedAt >= this.graceMs;
    const generation = this.router.tables.generation;
    // with the same tables, grace and standby the watched keys stay (a key is added once its path was up or the
    // grace is over, and neither goes back): only paths and peers whose conditions changed are observed again
    const full = generation !== this.memoGeneration || late !== this.memoLate || this.standby !== this.memoStandby;
    if (full) {
      this.pathMemos.clear();
      this.peerMemos.clear();
      this.memoGeneration = generation;
      this.memoLate = late;
      this.memoStandby = this.standby;
    }
    const now = full ? new Set<string>() : this.watched;
    let changed = 0;
    for (const peer of this.router.peerConditions()) {
      for (const p of peer.paths) {
        const memo = this.pathMemos.get(p.name);
        if (memo !== undefined && sameCondition(memo, p)) continue;
        if (memo !== undefined && !full && ((memo.udpTransform === undefined) !== (p.udpTransform === undefined) || (memo.nat === undefined) !== (p.nat === undefined))) {
          this.memoGeneration = -1; // a condition came or went: the whole observation clears what left
          this.observe();
          return;
        }
        changed++;
        this.pathMemos.set(p.name, memoOf(p));
        this.observePath(now, p, late);
      }
      if (this.peerMemos.get(peer.name) === peer.reachable) continue;
      this.peerMemos.set(peer.name, peer.reachable);
      this.condition(now, 'peer-unreachable', peer.name, peer.reachable, late, `${peer.paths.length} path${peer.paths.length === 1 ? '' : 's'} down`);
    }
    this.changedPaths = changed;
    const plugins = new Set<string>();
    for (const p of this.router.plugins()) {
      const disabled = p.stages.filter((s) => s.disabled).map((s) => s.name);
      const why = p.state === 'failed' ? `it failed to load: ${p.error ?? 'unknown error'}` : `an error disabled ${disabled.join(', ')}`;
      plugins.add(p.name);
      this.watch.observe('plugin-disabled', p.name, { active: p.state === 'failed' || disabled.length > 0, detail: why });
    }
    for (const name of this.watchedPlugins) if (!plugins.has(name)) this.cleared('plugin-disabled', name);
    this.watchedPlugins = plugins;
    if (full) {
      for (const key of this.watched) {
        const i = key.indexOf(':');
        if (!now.has(key)) this.cleared(key.slice(0, i), key.slice(i + 1));
      }
      this.watched = now;
    }
    const capacity = this.o.sessionCapacity();
    this.watch.observe('session-table-full', TABLE, { value: (100 * this.router.status().sessionsActive) / capacity, detail: `capacity ${capacity}` });
  }

  /** A path observed by an event: the next periodic observation looks at it again (no BFD state is ''). */
  private stale(path: string): void {
    const m = this.pathMemos.get(path);
    if (m !== undefined) m.bfd = '';
  }

  /** An alarm whose source left the config: cleared with its own message first; the machine then clears nothing
   *  more but is ready for a comeback. */
  private cleared(name: string, source: string): void {
    this.registry.clear(`${name}:${source}`, `${source} is no longer in the config`);
    this.watch.observe(name, source, { active: false });
  }

  /** A path's conditions observed (the periodic observation, for a path whose conditions changed). */
  private observePath(now: Set<string>, p: PathCondition, late: boolean): void {
    if (this.partners(p.name)) return;
    this.condition(now, 'peer-path-down', p.name, p.up || p.standby === true, late, p.standby === true ? 'standby' : memo(this.bfdTexts, p.bfd, bfdText));
    now.add(this.key('path-mtu-unresolvable', p.name));
    this.watch.observe('path-mtu-unresolvable', p.name, { active: p.mtuState === 'unresolvable', detail: memo(this.mtuTexts, p.mtu, mtuText) });
    if (p.udpTransform?.mode === 'auto-detect') {
      now.add(`udp-transform-active:${p.name}`);
      this.watch.observe('udp-transform-active', p.name, { active: p.udpTransform.active, detail: `dropped: ${[...p.udpTransform.reasons, ...(p.udpTransform.peerReasons ?? []).map((r) => `peer: ${r}`)].join('; ')}` });
    }
    if (p.nat !== undefined) {
      now.add(`nat-rebind-damped:${p.name}`);
      this.watch.observe('nat-rebind-damped', p.name, { active: p.nat.suppressed === true, detail: `${p.nat.addressChanges} address changes, ${p.nat.damped ?? 0} damped` });
    }
  }

  /** An alarm condition the router reports (RouterOptions.observeAlarm); the node's own ones are observed here. */
  routerAlarm(name: string, source: string, o: { active?: boolean; value?: number; detail?: string }): void {
    if (ROUTER_ALARMS.has(name)) this.watch.observe(name, source, o);
  }

  /** A router pair's node in split brain (sync link lost, partner alive: ha/pair-node.ts), or out of it. */
  haSplitBrain(node: string, active: boolean, detail: string): void {
    this.watch.observe('ha-split-brain', node, { active, detail });
  }

  /** A shared link (`node/device`) of a router pair's node went down (active) or came back. */
  haLinkDown(source: string, active: boolean, detail: string): void {
    this.watch.observe('ha-link-down', source, { active, detail });
  }

  /** A router pair's node stopped (`true`) or started (`false`) forwarding: while it does not, its paths and peers
   *  are down by design and raise no `peer-path-down` / `peer-unreachable` (those raised are cleared, saying why). */
  haStandby(on: boolean): void {
    if (this.standby === on) return;
    this.standby = on;
    this.observe();
  }

  /** The session records thread ended (running false) or runs again after it was started again. */
  recordsThread(node: string, running: boolean, detail = ''): void {
    this.watch.observe('records-thread-restarted', node, { active: !running, detail });
  }

  /** An IPFIX exporter's collector status (`up`, `down`; `unknown` until it knows). */
  ipfixCollector(collector: string, status: 'up' | 'down' | 'unknown', detail = ''): void {
    if (status !== 'unknown') this.watch.observe('ipfix-collector-unreachable', collector, { active: status === 'down', detail });
  }

  /** A router event: config events are logged; path, peer and plugin changes are observed at once. */
  onRouterEvent(e: RouterEvent): void {
    switch (e.type) {
      case 'config.applied': this.configApplied(e.source, `generation ${e.generation}`); break;
      case 'config.refused': this.registry.event({ category: 'config', severity: 'major', source: e.source, message: `config refused, the running config stays: ${e.message}` }); break;
      // one path or peer changed: observe that one alone (a whole observation per event is O(paths) each, and a hub
      // whose 2,000 paths come up at once would spend minutes on them; the periodic observation sees the rest)
      case 'path.up': case 'path.down':
        this.stale(e.path);
        if (!this.partners(e.path)) this.observeOne('peer-path-down', e.path, e.type === 'path.up' || e.reason === 'peer-standby', e.reason === 'peer-standby' ? 'standby' : `BFD ${e.reason}`);
        this.peersPending.delete(e.peer);
        this.observePeer(e.peer);
        break;
      case 'peer.reachable': case 'peer.unreachable':
        // the router reports the peer just before the path that changed it (control/router.ts applyPathState):
        // the peer is observed with that path, after it (the path's alarm first, as in a whole observation); a
        // peer event without a path event in the same turn is observed a microtask later
        this.peerMemos.delete(e.peer);
        if (this.peersPending.has(e.peer)) break;
        this.peersPending.add(e.peer);
        queueMicrotask(() => {
          if (this.peersPending.delete(e.peer)) this.observePeer(e.peer);
        });
        break;
      case 'plugin.failed': case 'plugin.disabled':
        this.observe();
        break;
      default: break;
    }
  }

  /** A config is running (`detail`: which generation, or that it is the one the node started with). */
  configApplied(source: string, detail: string): void {
    this.registry.event({ category: 'config', severity: 'info', source, message: `config applied (${detail})` });
  }

  stop(): void {
    clearInterval(this.timer);
    this.watch.stop();
  }

  /**
   * `name:source`, the same string each time (a hub's 2,000 paths are observed every second: no new key string
   * to build and hash per path and second). Kept while the node runs, like `seenUp`.
   */
  private key(name: string, source: string): string {
    let bySource = this.keys.get(name);
    if (bySource === undefined) this.keys.set(name, (bySource = new Map()));
    let k = bySource.get(source);
    if (k === undefined) bySource.set(source, (k = `${name}:${source}`));
    return k;
  }

  /** The path is one of the pair partner's own (never up on this node). */
  private partners(pathName: string): boolean {
    if (this.o.haNode === undefined) return false;
    const node = this.router.tables.paths.find((p) => p.name === pathName)?.localNode;
    return node !== undefined && node !== this.o.haNode;
  }

  /** A peer's reachability observed at once: reachable while one of its paths is usable. */
  private observePeer(name: string): void {
    const paths = this.router.tables.peers.find((p) => p.name === name)?.paths ?? [];
    const down = paths.filter((id) => !this.router.isPathUp(id)).length;
    this.observeOne('peer-unreachable', name, down < paths.length, `${down} path${down === 1 ? '' : 's'} down`);
  }

  /** One condition observed at once (a router event), between the periodic observations. */
  private observeOne(name: 'peer-path-down' | 'peer-unreachable', source: string, ok: boolean, detail: string): void {
    this.condition(this.watched, name, source, ok, Date.now() - this.startedAt >= this.graceMs, detail);
  }

  /** A condition alarm that is active while `ok` is false, once its source was up or the grace is over. */
  private condition(watched: Set<string>, name: 'peer-path-down' | 'peer-unreachable', source: string, ok: boolean, late: boolean, detail: string): void {
    const key = this.key(name, source);
    if (this.standby) {
      watched.add(key);
      this.registry.clear(key, `${source}: this node is its pair's standby (devices down, paths down by design)`);
      this.watch.observe(name, source, { active: false });
      return;
    }
    if (ok) this.seenUp.add(key);
    if (!ok && !late && !this.seenUp.has(key)) return;
    watched.add(key);
    this.watch.observe(name, source, { active: !ok, detail });
  }
}
