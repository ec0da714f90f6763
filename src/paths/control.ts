/**
 * Path control of a router (its control part, main thread): liveness, quality, ranking, learned routes.
 * 1. liveness 'bfd': a PathSupervisor runs RFC 5880 BFD and link tests on every peer path over the path
 *    channel (UDP 1280) and marks paths usable / unusable (hold-down after a flap) for the data path;
 *    liveness 'static': every path is usable (tests, embedding without peers that speak BFD);
 * 2. STEP (optional) exchanges router documents and learns which peers deliver which services;
 * 3. ranking: for every service, the candidate paths (its configured peer routes' paths, or the paths to
 *    the peers STEP learned when it has no configured route) are ranked by its service-policy (vectors,
 *    SLA filter, best-path criteria) and handed to the router (`rank`), which publishes it to the data
 *    path (through the service's migration episode when it has session resiliency). This runs on every
 *    path or route change and every second for quality drift — never per packet.
 */
import type { Observable, Subscription } from 'rxjs';
import type { PathMessage } from './messages.js';
import { PathSupervisor, type PathSummary, type PathSupervisorOptions } from './supervisor.js';
import { StepAgent, type StepServiceView } from '../step/agent.js';
import { rankPaths } from './select.js';
import type { StepOptions, StepRepositoryClient } from '../step/options.js';
import type { PathSample } from '../step/smoothing.js';
import { stepDepsFromRouter, type StepRouter } from '../step/router-deps.js';
import type { SessionResiliency } from '../model/config.js';
import type { PathStateChange } from './supervisor.js';
import type { PathQuality } from './quality.js';
import type { ControlFastPath } from '../dataplane/control-fast-path.js';
import { NatTraversal, type NatCounter, type NatView } from './nat-traversal.js';
import { PathMtuDiscovery, type MtuView } from './path-mtu.js';
import { FirewallDetector, type DetectorCounter, type TransformView } from './firewall-detector.js';

/** What path control needs from its router: the path channel, path liveness, and where rankings go. */
export interface PathControlHost extends StepRouter {
  /** verified control-channel messages (with the source of a NAT peer's) */
  readonly pathMessages$: Observable<PathMessage>;
  /** runs `fn`; the path messages it sends leave together (one write per wan device) */
  batchPathMessages(fn: () => void): void;
  /** authenticated data packets received on a path so far (monotonic): counts as BFD liveness while Up */
  pathTraffic(path: number): number;
  /** the data path keeps steady BFD packets and link-test replies in these arrays (PathSupervisorDeps.keepSteady) */
  keepSteadyPathMessages?(fast: ControlFastPath | null): boolean;
  /** BFD's verdict on a path (usable or not, BFD state, why) */
  pathChanged(change: PathStateChange): void;
  /** a link test measured a path (smoothed quality) */
  pathQuality(pathName: string, quality: PathQuality): void;
  /** a service's ranking: usable paths that meet its policy, best first */
  rank(service: string, ranking: { paths: readonly number[]; refused: boolean; resiliency: SessionResiliency }): void;
  /** NAT traversal (nat-traversal.ts): where a peer behind NAT was seen; re-signal a path's sessions; its counters */
  setPathPeer(path: number, address: Uint8Array, controlPort: number): void;
  resignalPath(path: number): void;
  /** path MTU discovery (path-mtu.ts): the MTU found for a path (0: the interface's) */
  setPathMtu(path: number, mtu: number): void;
  countNat(name: NatCounter): void;
  /** UDP transform (firewall-detector.ts): carry the path's new TCP sessions as UDP; a TCP probe; its counters */
  setPathTransform(path: number, on: boolean): void;
  sendPathProbe(path: number, tcpFlags: number, payload: Uint8Array): boolean;
  countDetector(name: DetectorCounter): void;
}

export type Liveness = 'bfd' | 'static';

export interface PathControlOptions {
  liveness: Liveness;
  /** BFD supervisor tuning (tests shorten slow start) */
  bfd?: PathSupervisorOptions;
  /** run STEP with these options (false: off) */
  step?: StepOptions | false;
  /** with STEP: publish to and learn from this repository (the conductor's) instead of flooding */
  stepRepository?: StepRepositoryClient;
  /** how often rankings are recomputed for quality drift, ms (default 1000) */
  rankIntervalMs?: number;
  log?: (event: string, fields: Record<string, string | number | boolean>) => void;
}

export interface PathView {
  name: string;
  up: boolean;
  bfd: string;
  vector: string;
  latencyMs?: number;
  jitterMs?: number;
  lossPct?: number;
  mos?: number;
  uptimeMs: number;
  flaps: number;
  holdDownMs: number;
  localWaypoint: string;
  remoteWaypoint: string;
}

export interface ServiceRouting {
  service: string;
  /** ranked path names, best first */
  paths: string[];
  refused: boolean;
  resiliency: string;
  /** from STEP when the service has no configured route */
  learned?: StepServiceView;
}

export class PathControl {
  readonly supervisor: PathSupervisor | null;
  readonly step: StepAgent | null;
  readonly nat: NatTraversal;
  readonly mtu: PathMtuDiscovery;
  readonly firewall: FirewallDetector;
  private subs: Subscription[] = [];
  private timer: NodeJS.Timeout | null = null;
  private published = '';
  private routing: ServiceRouting[] = [];
  /** per path id: the status last handed to STEP (pathStatus) and the smoothed quality it was made from */
  private readonly statusOf: (PathSample | undefined)[] = [];
  private readonly statusQuality: (PathQuality | undefined)[] = [];

  constructor(private readonly router: PathControlHost, private readonly opts: PathControlOptions) {
    this.supervisor = opts.liveness === 'bfd'
      ? new PathSupervisor({
        tables: () => router.tables,
        send: (p, b) => router.sendPathMessage(p, b),
        messages$: router.pathMessages$,
        batch: (fn) => router.batchPathMessages(fn),
        traffic: (p: number) => router.pathTraffic(p),
        keepSteady: (f) => router.keepSteadyPathMessages?.(f) ?? false,
        qualityChanged: (name, q) => router.pathQuality(name, q),
      }, opts.bfd)
      : null;
    this.nat = new NatTraversal({
      tables: () => router.tables,
      messages$: router.pathMessages$,
      send: (p, b) => router.sendPathMessage(p, b),
      setPathPeer: (p, a, port) => router.setPathPeer(p, a, port),
      resignal: (p) => router.resignalPath(p),
      now: () => performance.now(),
      log: (e, f) => (opts.log ?? (() => {}))(e, f),
      count: (n) => router.countNat(n),
    });
    this.mtu = new PathMtuDiscovery({
      tables: () => router.tables,
      messages$: router.pathMessages$,
      send: (p, b) => router.sendPathMessage(p, b),
      isPathUp: (p) => router.isPathUp(p),
      setPathMtu: (p, m) => router.setPathMtu(p, m),
      now: () => performance.now(),
      log: (e, f) => (opts.log ?? (() => {}))(e, f),
    });
    this.firewall = new FirewallDetector({
      tables: () => router.tables,
      messages$: router.pathMessages$,
      send: (p, b) => router.sendPathMessage(p, b),
      batch: (fn) => router.batchPathMessages(fn),
      sendProbe: (p, f, b) => router.sendPathProbe(p, f, b),
      // with static liveness nothing says a path is up: no probes (as path MTU discovery); always-transform still applies
      isPathUp: (p) => this.supervisor !== null && router.isPathUp(p),
      setPathTransform: (p, on) => router.setPathTransform(p, on),
      log: (e, f) => (opts.log ?? (() => {}))(e, f),
      count: (n) => router.countDetector(n),
    });
    this.step = opts.step === false || opts.step === undefined
      ? null
      : new StepAgent(stepDepsFromRouter(router, {
        pathStatus: (id) => this.pathStatus(id),
        ...(opts.stepRepository === undefined ? {} : { repository: opts.stepRepository }),
        tooLarge: (bytes, limit) => (opts.log ?? (() => {}))('step.document-too-large', {
          code: 'SVR_ERR_STEP_DOCUMENT_TOO_LARGE', bytes, limit, peers: router.tables.peers.length,
          fix: 'authority.step.mode: conductor (docs/step.md); the peers learn nothing of this router by STEP until then',
        }),
      }), opts.step);
  }

  start(): void {
    const log = this.opts.log ?? (() => {});
    this.nat.start();
    if (this.supervisor) this.mtu.start(); // probes go on usable paths: BFD says which
    this.firewall.start(); // answers peers' probes; probes its own usable paths (udp-transform auto-detect)
    if (this.supervisor) {
      this.subs.push(this.supervisor.state$.subscribe((s) => {
        this.router.pathChanged(s);
        if (s.reason !== 'start') log(s.usable ? 'path.usable' : 'path.unusable', { path: s.pathName, bfd: s.bfdState, reason: s.reason });
        this.publish();
      }));
      this.supervisor.start();
    }
    if (this.step) {
      this.subs.push(this.step.routes$.subscribe(() => this.publish()));
      this.step.start();
    }
    this.publish();
    this.timer = setInterval(() => this.publish(), this.opts.rankIntervalMs ?? 1000);
    this.timer.unref();
  }

  /** After a config change: paths may have changed; rank again. */
  refresh(): void {
    this.supervisor?.refresh();
    this.step?.refresh();
    this.published = '';
    this.publish();
  }

  stop(): void {
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.nat.stop();
    this.mtu.stop();
    this.firewall.stop();
    this.supervisor?.stop();
    this.step?.stop();
  }

  /** A path's status for STEP: the same object while its usability and smoothed quality stay (STEP's poll skips a
   *  path whose status it has seen unchanged long enough: step/local.ts). */
  private pathStatus(id: number): PathSample {
    const up = this.router.isPathUp(id);
    const q = this.supervisor?.smoothedQuality(id);
    const last = this.statusOf[id];
    if (last !== undefined && last.usable === up && this.statusQuality[id] === q) return last;
    const status = q === undefined ? { usable: up } : { usable: up, latencyMs: q.latencyMs, jitterMs: q.jitterMs, lossPct: q.lossPercent, mos: q.mos };
    this.statusOf[id] = status;
    this.statusQuality[id] = q;
    return status;
  }

  /** Ranks every service's candidate paths by its policy and hands the rankings to the router. */
  publish(): void {
    const t = this.router.tables;
    const learned = this.step?.routes();
    const routing: ServiceRouting[] = [];
    for (const svc of t.services) {
      const configured = svc.routes.filter((r) => r.kind === 'peer').flatMap((r) => (r.kind === 'peer' ? t.peers[r.peer]!.paths : []));
      const fromStep = svc.routes.length === 0 ? learned?.get(svc.name) ?? [] : [];
      const candidates = configured.length > 0 ? configured : fromStep.flatMap((c) => t.peers[t.peerId(c.peer)]?.paths ?? []);
      const ranked = rankPaths(svc.policy, candidates.map((id) => {
        const q = this.supervisor?.smoothedQuality(id);
        return { id, vector: t.paths[id]!.vector, usable: this.router.isPathUp(id), ...(q ? { quality: q } : {}) };
      }));
      routing.push({ service: svc.name, paths: ranked.ordered.map((id) => t.paths[id]!.name), refused: ranked.refused, resiliency: svc.policy.sessionResiliency });
      this.router.rank(svc.name, { paths: ranked.ordered, refused: ranked.refused, resiliency: svc.policy.sessionResiliency });
    }
    const key = JSON.stringify(routing);
    if (key !== this.published) {
      this.published = key;
      this.routing = routing;
    }
  }

  /** Per service: ranked paths, refusal, resiliency and (for services without a configured route) STEP's view. */
  services(): ServiceRouting[] {
    const views = new Map((this.step?.view() ?? []).map((v) => [v.service, v]));
    return this.routing.map((r) => (views.has(r.service) ? { ...r, learned: views.get(r.service)! } : r));
  }

  /** A path's MTU discovery (undefined before its first poll). */
  mtuView(pathName: string): MtuView | undefined {
    return this.mtu.view(pathName);
  }

  /** A path's UDP transform (undefined before its first poll, and with static liveness). */
  transformView(pathName: string): TransformView | undefined {
    return this.firewall.view(pathName);
  }

  /** A path's NAT traversal (undefined unless one end of it is behind NAT and was heard from). */
  natView(pathName: string): NatView | undefined {
    return this.nat.view(pathName);
  }

  /** Per path: BFD state, usability, measured quality (undefined with static liveness). */
  pathSummaries(): Map<string, PathSummary> {
    return new Map((this.supervisor?.summary() ?? []).map((s) => [s.name, s]));
  }
}
