/**
 * A node's routing (docs/routing.md): the FPM listener, FRR's daemons in the node's namespace, the
 * learned-route table that feeds the router's RIB, `redistribute service` and the BGP view.
 *
 * Flow: zebra --FPM--> FpmListener --RouteMessage[]--> LearnedRoutes --(coalesced, 100 ms)-->
 * host.updateLearnedRoutes with the prefixes that changed (the router's RIB updates just those, the tables
 * are made around it; the data path swaps them between batches).
 * Services announced: whenever the set of services reachable through usable peer paths changes
 * (host.announceable, asked on every path event), bgpd's `network` statements follow through vtysh.
 */
import { execFile } from 'node:child_process';
import { SvrError } from '../errors.js';
import type { LearnedRoute } from '../model/rib.js';
import type { Routing } from '../model/config.js';
import { FpmListener, type FpmCounters } from './fpm.js';
import { frrDaemons, frrFiles } from './frr-config.js';
import { FrrSupervisor, type DaemonView } from './frr-supervisor.js';
import { LearnedRoutes, type LearnedCounters } from './learned-routes.js';
import { bgpView, type BgpView } from './bgp-view.js';
import { createActor, type Actor } from 'xstate';
import { bgpNeighborMachine } from '../machines/bgp-neighbor.js';

/** learned-route changes are coalesced for at least this long, and at least twice the last compile time */
const PUBLISH_DELAY_MS = 100;
export const VTYSH = process.env['SVR_VTYSH'] ?? 'vtysh';

export interface RoutingHost {
  /** the RIB's learned routes changed */
  /** some learned routes changed (set: new or changed, removed: prefixes withdrawn); returns how many the RIB changed */
  updateLearnedRoutes(set: readonly LearnedRoute[], removed: readonly string[]): number;
  /** prefixes of the services reachable now through usable peer paths (`redistribute service`) */
  announceable(): string[];
  /** raises an alarm (`process`: an FRR daemon down; `peer`: a BGP neighbour not established); again while active: nothing */
  raise(id: string, category: 'process' | 'peer', source: string, message: string): void;
  clear(id: string, message: string): void;
}

/** How often bgpd is asked for its neighbours' states (alarms); a neighbour may take 6 readings (30 s) to come up at start. */
const NEIGHBOR_POLL_MS = 5000;
const NEIGHBOR_GRACE_READINGS = 6;

export interface RoutingLog {
  (event: string, fields: Record<string, unknown>): void;
}

export interface RoutingStatus {
  fpm: FpmCounters & { connected: boolean; port: number };
  learned: LearnedCounters & { routes: number };
  daemons: DaemonView[];
  announced: string[];
  announceErrors: number;
  /** the node process's memory now (the learned routes, RIB and tables are in it) */
  memory: { rssBytes: number; heapUsedBytes: number };
}

export class NodeRouting {
  readonly #routing: Routing;
  readonly #host: RoutingHost;
  readonly #log: RoutingLog;
  readonly #learned = new LearnedRoutes();
  readonly #fpm: FpmListener;
  readonly #frr: FrrSupervisor;
  readonly #router: string;
  #publishTimer: NodeJS.Timeout | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  /** one bgpNeighborMachine per neighbour, fed by the polls */
  #neighbors: Actor<typeof bgpNeighborMachine>[] = [];
  #lastCompileMs = 0;
  #ageTimer: NodeJS.Timeout | undefined;
  #announced: string[] = [];
  #announcing: Promise<void> = Promise.resolve();
  #announceErrors = 0;
  #stopped = false;

  constructor(router: string, routing: Routing, dir: string, host: RoutingHost, log: RoutingLog) {
    this.#router = router;
    this.#routing = routing;
    this.#host = host;
    this.#log = log;
    this.#fpm = new FpmListener({
      port: routing.fpmPort,
      onRoutes: (routes) => {
        if (this.#learned.apply(routes)) this.#schedulePublish();
      },
      onConnect: () => {
        log('routing.fpm-connected', { port: routing.fpmPort });
        this.#stale();
      },
      onDisconnect: (why) => {
        log('routing.fpm-disconnected', { reason: why, staleHoldS: routing.staleHold });
        this.#stale();
      },
      onMalformed: (why) => log('routing.fpm-malformed', { reason: why }),
    });
    this.#frr = new FrrSupervisor({
      dir,
      daemons: frrDaemons(routing),
      files: { ...frrFiles(router, routing, dir, []) },
      onExit: (daemon, why, restart) => {
        log('routing.frr-exited', { daemon, reason: why, restart });
        host.raise(`frr-daemon-down:${daemon}`, 'process', daemon, `FRR's ${daemon} ${why}; restarting it`);
      },
      onRestart: (daemon, restarts) => {
        log('routing.frr-restarted', { daemon, restarts });
        host.clear(`frr-daemon-down:${daemon}`, `FRR's ${daemon} restarted (${restarts} restart${restarts === 1 ? '' : 's'})`);
      },
    });
  }

  /** the routing block this runs */
  get config(): Routing {
    return this.#routing;
  }

  async start(): Promise<void> {
    try {
      await this.#fpm.listen();
    } catch (e) {
      throw new SvrError('SVR_ERR_ROUTING_FPM', `cannot listen for FPM on 127.0.0.1:${this.#routing.fpmPort}: ${e instanceof Error ? e.message : String(e)} (set routing.fpm-port to a free port)`);
    }
    await this.#frr.start();
    this.#log('routing.started', { daemons: frrDaemons(this.#routing).join(','), dir: this.#frr.dir, fpmPort: this.#fpm.port });
    this.servicesChanged();
    const neighbors = this.#routing.bgp?.neighbors ?? [];
    const report = bgpNeighborMachine.provide({
      actions: {
        report: (_, p) => {
          const id = `bgp-neighbor-down:${p.address}`;
          this.#log('routing.bgp-neighbor', { neighbor: p.address, up: p.up, state: p.state, ...(p.reason !== undefined ? { reason: p.reason } : {}) });
          if (p.up) this.#host.clear(id, `BGP neighbor ${p.address} (AS ${p.remoteAs}) established`);
          else this.#host.raise(id, 'peer', p.address, `BGP neighbor ${p.address} (AS ${p.remoteAs}) is ${p.state}${p.reason !== undefined ? ` (last reset: ${p.reason})` : ''}`);
        },
      },
    });
    this.#neighbors = neighbors.map((n) => createActor(report, { input: { address: n.address, remoteAs: n.remoteAs, graceReadings: NEIGHBOR_GRACE_READINGS } }).start());
    if (neighbors.length > 0) this.#pollNeighbors();
  }

  /** Reads bgpd's neighbour states every 5 s into their machines (alarms `bgp-neighbor-down:<address>`). */
  #pollNeighbors(): void {
    this.#pollTimer = setTimeout(() => {
      void this.vtysh(['show bgp neighbors json']).then((text) => {
        const states = JSON.parse(text) as Record<string, { bgpState?: string; lastResetDueTo?: string } | undefined>;
        for (const actor of this.#neighbors) {
          const s = states[actor.getSnapshot().context.address];
          actor.send({ type: 'bgp.state', state: s?.bgpState ?? 'absent', ...(s?.lastResetDueTo !== undefined ? { reason: s.lastResetDueTo } : {}) });
        }
      }, () => undefined).finally(() => {
        if (this.#pollTimer !== undefined) this.#pollNeighbors();
      });
    }, NEIGHBOR_POLL_MS);
    this.#pollTimer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#publishTimer);
    clearTimeout(this.#ageTimer);
    clearTimeout(this.#pollTimer);
    this.#pollTimer = undefined;
    for (const a of this.#neighbors) a.stop();
    await this.#announcing;
    await this.#frr.stop();
    await this.#fpm.close();
  }

  status(): RoutingStatus {
    return {
      fpm: { ...this.#fpm.counters, connected: this.#fpm.connected, port: this.#fpm.port },
      learned: { ...this.#learned.counters, routes: this.#learned.size },
      daemons: this.#frr.views(),
      announced: [...this.#announced],
      announceErrors: this.#announceErrors,
      memory: { rssBytes: process.memoryUsage.rss(), heapUsedBytes: process.memoryUsage().heapUsed },
    };
  }

  /** `svr show bgp`: neighbours and routes from bgpd's JSON, with the node's own view of FRR. */
  async bgp(): Promise<BgpView & { routing: RoutingStatus }> {
    const view = this.#routing.bgp === undefined ? { neighbors: [], routes: [] } : await bgpView((cmd) => this.vtysh([cmd]));
    return { ...view, routing: this.status() };
  }

  /** Runs vtysh against this node's daemons; resolves with its stdout. */
  vtysh(commands: readonly string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const args = ['--vty_socket', this.#frr.vtyDir, ...commands.flatMap((c) => ['-c', c])];
      execFile(VTYSH, args, { timeout: 5000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
        if (err !== null) reject(new SvrError('SVR_ERR_ROUTING_FRR', `vtysh ${commands.join(' / ')}: ${stderr.trim() || err.message}`));
        else resolve(stdout);
      });
    });
  }

  /** The services reachable through peer paths may have changed (a path event): announce or withdraw their prefixes. */
  servicesChanged(): void {
    const bgp = this.#routing.bgp;
    if (bgp === undefined || !bgp.redistributeService || this.#stopped) return;
    this.#announcing = this.#announcing.then(async () => {
      const want = [...new Set(this.#host.announceable())].sort();
      const add = want.filter((p) => !this.#announced.includes(p));
      const drop = this.#announced.filter((p) => !want.includes(p));
      if (add.length === 0 && drop.length === 0) return;
      const family = (p: string): string => (p.includes(':') ? 'ipv6' : 'ipv4');
      const cmds = ['configure terminal', `router bgp ${bgp.as}`];
      for (const p of drop) cmds.push(`address-family ${family(p)} unicast`, `no network ${p}`, 'exit-address-family');
      for (const p of add) cmds.push(`address-family ${family(p)} unicast`, `network ${p}`, 'exit-address-family');
      try {
        await this.vtysh(cmds);
        this.#announced = want;
        // a restarted bgpd reads its file: keep it true
        this.#frr.writeFile('bgpd.conf', frrFiles(this.#router, this.#routing, this.#frr.dir, want)['bgpd.conf']);
        this.#log('routing.announced', { announced: want.join(',') || 'none', added: add.join(','), withdrawn: drop.join(',') });
      } catch (e) {
        this.#announceErrors++;
        this.#log('routing.announce-failed', { reason: e instanceof Error ? e.message : String(e), alarm: 'bgp-announce-failed' });
      }
    });
  }

  #schedulePublish(): void {
    if (this.#publishTimer !== undefined) return;
    this.#publishTimer = setTimeout(() => {
      this.#publishTimer = undefined;
      this.#publish();
    }, Math.max(PUBLISH_DELAY_MS, 2 * this.#lastCompileMs));
  }

  #publish(): void {
    const { set, removed } = this.#learned.takeChanges();
    const t0 = performance.now();
    const changed = this.#host.updateLearnedRoutes(set, removed);
    this.#lastCompileMs = performance.now() - t0;
    this.#log('routing.rib-changed', { learned: this.#learned.size, changed, compileMs: Math.round(this.#lastCompileMs) });
  }

  /** zebra connected or went away: routes not (re)sent within the stale hold age out then. */
  #stale(): void {
    this.#learned.newEpoch();
    clearTimeout(this.#ageTimer);
    this.#ageTimer = setTimeout(() => {
      if (this.#learned.ageOut()) this.#publish();
    }, this.#routing.staleHold * 1000);
  }
}
