/**
 * This router's own facts, sampled: peers and paths (from config), path status (smoothed, reported only on
 * significant change) and the services it delivers. `poll` says whether the document content changed.
 */
import type { DocumentContent, PathReport, PeerReport, ServiceReport } from './document.js';
import { compareNames } from './repository.js';
import { DEFAULT_THRESHOLDS, isSignificant, MetricSmoother, type PathSample, type SignificanceThresholds } from './smoothing.js';

export interface LocalPath {
  id: number;
  name: string;
  vector: string;
}

export interface LocalPeer {
  id: number;
  name: string;
  paths: LocalPath[];
}

interface PathState {
  id: number;
  peer: string;
  vector: string;
  smoother: MetricSmoother;
  /** last significant (reported) value */
  reported: PathSample;
  /** the status object last sampled, and how many polls in a row gave that same object */
  sample: PathSample | null;
  repeats: number;
}

export class LocalView {
  private paths = new Map<string, PathState>();
  private peerOrder: { name: string; paths: string[] }[] = [];
  /** the paths of each peer, and each path by id: a hub floods to 1,000 peers, so a send must not scan every path */
  private byPeer = new Map<string, { name: string; state: PathState }[]>();
  private byId = new Map<number, PathState>();
  private services: ServiceReport[] = [];
  /** the peers array the shape was last taken from */
  private shapeOf: readonly LocalPeer[] | null = null;
  /** usablePeers() until a reported usability or the shape changes */
  private usable: readonly string[] | null = null;

  constructor(
    private readonly router: string,
    private readonly authority: string,
    private readonly thresholds: SignificanceThresholds = DEFAULT_THRESHOLDS,
    private readonly sampleSize = 3,
  ) {}

  /**
   * Samples every path once and reads the services. `changed`: the content changed significantly;
   * `topology`: a path became usable or unusable, or the peers and paths themselves changed (what SSR
   * advertises at once; metric and service changes wait for the rate limit).
   */
  poll(peers: readonly LocalPeer[], services: readonly ServiceReport[], status: (pathId: number) => PathSample): { changed: boolean; topology: boolean } {
    let topology = this.updateShape(peers);
    let changed = topology;
    for (const state of this.paths.values()) {
      const sample = status(state.id);
      // The same status object `sampleSize` polls in a row filled every window with its values: adding it again
      // gives the same smoothed values, which were reported or not significant (pathStatus keeps the object while
      // nothing changed; a hub's 2,000 paths sit here most seconds).
      if (sample === state.sample) {
        if (state.repeats >= this.sampleSize) continue;
        state.repeats++;
      } else {
        state.sample = sample;
        state.repeats = 1;
      }
      const smoothed = state.smoother.add(sample);
      if (!isSignificant(state.reported, smoothed, this.thresholds)) continue;
      if (state.reported.usable !== smoothed.usable) {
        topology = true;
        this.usable = null;
      }
      state.reported = smoothed;
      changed = true;
    }
    const next = [...services].map((s) => ({ name: s.name, reachable: s.reachable })).sort((a, b) => compareNames(a.name, b.name));
    if (JSON.stringify(next) !== JSON.stringify(this.services)) {
      this.services = next;
      changed = true;
    }
    return { changed, topology };
  }

  content(): DocumentContent {
    const peers: PeerReport[] = this.peerOrder.map((p) => ({
      peer: p.name,
      paths: p.paths.map((name) => pathReport(name, this.paths.get(name)!)),
    }));
    return { router: this.router, authority: this.authority, services: this.services.map((s) => ({ ...s })), peers };
  }

  /** Peers with at least one usable path: the same array until a path's reported usability or the peers change (a
   *  hub's agent asks every second; 1,000 peers were 1,000 path searches and a set a second). */
  usablePeers(): readonly string[] {
    this.usable ??= this.peerOrder.filter((p) => this.sendPath(p.name) !== null).map((p) => p.name);
    return this.usable;
  }

  /** The path to send to a peer on: usable, lowest latency (unmeasured last), then name; null if none. */
  sendPath(peer: string): number | null {
    let best: { id: number; name: string; latency: number } | null = null;
    for (const { name, state: s } of this.byPeer.get(peer) ?? []) {
      if (!s.reported.usable) continue;
      const latency = s.reported.latencyMs ?? Number.POSITIVE_INFINITY;
      if (best === null || latency < best.latency || (latency === best.latency && compareNames(name, best.name) < 0)) {
        best = { id: s.id, name, latency };
      }
    }
    return best?.id ?? null;
  }

  /** The peer a path id belongs to (as last polled), or null. */
  peerOfPath(pathId: number): string | null {
    return this.byId.get(pathId)?.peer ?? null;
  }

  /** Adopts a new set of peers and paths (config change); paths keep their state by name. The same array as last
   *  time is the same shape (the router's deps hand out one array per tables: 1,000 peers are not compared each poll). */
  private updateShape(peers: readonly LocalPeer[]): boolean {
    if (peers === this.shapeOf) return false;
    this.shapeOf = peers;
    const order = peers.map((p) => ({ name: p.name, paths: p.paths.map((x) => x.name) }));
    let changed = JSON.stringify(order) !== JSON.stringify(this.peerOrder);
    const next = new Map<string, PathState>();
    for (const peer of peers) {
      for (const path of peer.paths) {
        const old = this.paths.get(path.name);
        if (old !== undefined && old.vector !== path.vector) changed = true;
        next.set(path.name, old === undefined
          ? { id: path.id, peer: peer.name, vector: path.vector, smoother: new MetricSmoother(this.sampleSize), reported: { usable: false }, sample: null, repeats: 0 }
          : { ...old, id: path.id, peer: peer.name, vector: path.vector });
      }
    }
    this.paths = next;
    this.peerOrder = order;
    this.usable = null;
    this.byPeer = new Map(order.map((p) => [p.name, p.paths.map((name) => ({ name, state: next.get(name)! }))]));
    this.byId = new Map([...next.values()].map((st) => [st.id, st]));
    return changed;
  }
}

function pathReport(name: string, s: PathState): PathReport {
  const r: PathReport = { name, vector: s.vector, usable: s.reported.usable };
  if (s.reported.latencyMs !== undefined) r.latencyMs = s.reported.latencyMs;
  if (s.reported.jitterMs !== undefined) r.jitterMs = s.reported.jitterMs;
  if (s.reported.lossPct !== undefined) r.lossPct = s.reported.lossPct;
  if (s.reported.mos !== undefined) r.mos = s.reported.mos;
  return r;
}
