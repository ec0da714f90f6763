/**
 * StepAgent: runs STEP for one router (docs/step.md).
 *
 *   poll (every pollIntervalMs, or refresh()) -> smoothed path metrics + services -> significant change?
 *     -> recompute routes now; publish at once when a path became usable/unusable, else when the token
 *        bucket allows (burst 2, one per minIntervalMs)
 *   every refreshIntervalMs -> publish anyway (a new version, so distant routers keep it alive)
 *   peer message -> chunk reassembly -> decode -> newer version? store, ack, flood to the other peers
 *     (split horizon), recompute -> routes$ emits when the route table changed
 *
 * With a repository (`deps.repository`, the conductor's): the document goes to the repository instead of
 * the peers, the agent subscribes there to the services it does not deliver, and the documents the
 * repository sends replace flooding; the path channel carries no STEP.
 *
 * Its sources are narrow functions (`StepDeps`) so it runs against a Router (`stepDepsFromRouter`) or a
 * test double; time and timers are injected.
 */
import { BehaviorSubject, Subscription, type Observable } from 'rxjs';
import { AckTracker } from './acks.js';
import {
  MAX_DOCUMENT_BYTES, decodeDocumentBody, encodeAck, encodeDocument, encodedDocumentBytes, encodeRequest, isStepMessage, originHash, parseMessage,
  type DocumentChunk, type StepDropReason,
} from './codec.js';
import { computeRoutes, type RouteCandidate, type ServiceRoute } from './compute.js';
import { nextVersion, stampDocument, type RouterDocument } from './document.js';
import { LocalView } from './local.js';
import { defaultTimers, resolveOptions, type ResolvedStepOptions, type StepDeps, type StepOptions, type StepRepositoryClient, type StepTimers } from './options.js';
import { Reassembler } from './reassembly.js';
import { DocumentRepository } from './repository.js';
import { TokenBucket } from './smoothing.js';

export type { LocalPeer as StepPeer } from './local.js';
export type { PathSample as StepPathStatus } from './smoothing.js';
export type { RouteCandidate } from './compute.js';
export type { StepDeps, StepOptions, StepRepositoryClient, StepTimers } from './options.js';
export { stepDepsFromRouter, type RouterStepSources } from './router-deps.js';

/** One row of `svr show services`. */
export interface StepServiceView {
  service: string;
  reachable: boolean;
  /** delivered by this router itself */
  local: boolean;
  /** routers that deliver it */
  deliveredBy: string[];
  /** next hops, best first */
  routes: RouteCandidate[];
}

export type StepRoutes = ReadonlyMap<string, readonly RouteCandidate[]>;

/** The "peer" documents from a repository came from (split horizon does not apply: nothing is flooded). */
const REPOSITORY_PEER = 'repository';

export class StepAgent {
  private readonly opts: ResolvedStepOptions;
  private readonly timers: StepTimers;
  private readonly self: string;
  private readonly local: LocalView;
  private readonly repo: DocumentRepository;
  private readonly reassembler: Reassembler;
  private readonly acks: AckTracker;
  private readonly counts = new Map<string, number>();
  private readonly routeSubject = new BehaviorSubject<StepRoutes>(new Map());
  /** the route table on every change (a new Map each time; the current one on subscribe) */
  readonly routes$: Observable<StepRoutes> = this.routeSubject.asObservable();
  private bucket: TokenBucket | null = null;
  private published: RouterDocument | null = null;
  private ownDatagrams: Uint8Array[] | null = null;
  private dirty = false;
  /** the last publication was too large and deps.tooLarge was told */
  private tooLargeSaid = false;
  private table = new Map<string, ServiceRoute>();
  private routeKey = '';
  private usable = new Set<string>();
  /** the LocalView.usablePeers() array `usable` was made from */
  private usableFrom: readonly string[] | null = null;
  private lastAnswered = new Map<string, number>();
  private sub: Subscription | null = null;
  private pollTimer: unknown = null;
  private refreshTimer: unknown = null;
  private deferTimer: unknown = null;
  private stopped = false;
  /** repository mode: the services last subscribed to */
  private subscribed: string | null = null;

  constructor(private readonly deps: StepDeps, options: StepOptions = {}) {
    this.opts = resolveOptions(options);
    this.timers = deps.timers ?? defaultTimers;
    this.self = deps.routerName;
    this.local = new LocalView(deps.routerName, deps.authority, this.opts.thresholds, this.opts.sampleSize);
    this.repo = new DocumentRepository(this.opts.maxAgeMs);
    this.reassembler = new Reassembler((r) => this.drop(r), { timeoutMs: this.opts.reassemblyTimeoutMs });
    this.acks = new AckTracker(this.opts.ackTimeoutMs, this.opts.maxRetransmits);
  }

  /**
   * Polls, publishes the first document, asks every usable peer for theirs (or, with a repository,
   * subscribes to what it needs there), starts the timers.
   */
  start(): void {
    if (this.sub !== null || this.stopped) return;
    this.bucket = new TokenBucket(this.opts.burst, this.opts.minIntervalMs, this.deps.now());
    const repo = this.deps.repository;
    this.sub = repo === undefined
      ? this.deps.messages$.subscribe((m) => this.receive(m.path, m.payload))
      : new Subscription(repo.listen((doc) => this.fromRepository(doc), (router) => this.forgottenByRepository(router)));
    this.refresh();
    this.pollTimer = this.timers.setTimeout(() => this.tick(), this.opts.pollIntervalMs);
    this.refreshTimer = this.timers.setTimeout(() => this.periodicRefresh(), this.opts.refreshIntervalMs);
  }

  /** Stops for good: timers, subscription; routes$ completes. */
  stop(): void {
    if (this.sub === null) return;
    this.stopped = true;
    this.sub.unsubscribe();
    this.sub = null;
    for (const t of [this.pollTimer, this.refreshTimer, this.deferTimer]) if (t !== null) this.timers.clearTimeout(t);
    this.pollTimer = this.refreshTimer = this.deferTimer = null;
    this.reassembler.clear();
    this.acks.clear();
    this.routeSubject.complete();
  }

  /**
   * Samples the local sources now; recomputes on significant change and publishes: at once when a path
   * became usable or unusable (or the peers changed), else when the rate limit allows.
   */
  refresh(): void {
    if (this.sub === null) return;
    const { changed, topology } = this.local.poll(this.deps.peers(), this.deps.localServices(), (id) => this.deps.pathStatus(id));
    // the same array as last time: no peer became usable (LocalView keeps it until a usability changes)
    const usable = this.local.usablePeers();
    let fresh: readonly string[] = [];
    if (usable !== this.usableFrom) {
      const nowUsable = new Set(usable);
      fresh = usable.filter((p) => !this.usable.has(p));
      this.usable = nowUsable;
      this.usableFrom = usable;
    }
    if (changed) {
      this.dirty = true;
      this.recompute();
      if (topology) this.publishTopology();
      else this.publishIfAllowed();
    }
    if (this.deps.repository !== undefined) this.subscribeToNeeds(this.deps.repository);
    else for (const peer of fresh) this.greet(peer);
  }

  /** Repository mode: subscribe to the services this router does not deliver (again when they change). */
  private subscribeToNeeds(repo: StepRepositoryClient): void {
    const wanted = this.local.content().services.filter((x) => !x.reachable).map((x) => x.name);
    const key = wanted.join('\n');
    if (key === this.subscribed) return;
    this.subscribed = key;
    this.count('subscriptions');
    repo.subscribe(wanted);
  }

  /** Repository mode: a document the repository sent (one this router needs, newer than the last). */
  private fromRepository(doc: RouterDocument): void {
    this.count('rx-documents');
    if (doc.authority !== this.deps.authority) return this.drop('foreign-authority');
    if (doc.router === this.self) return this.count('rx-own');
    const result = this.repo.offer(doc, REPOSITORY_PEER, this.deps.now());
    this.count(`rx-${result}`);
    if (result === 'new') this.recompute();
  }

  /** Repository mode: the repository forgot a router (its document expired there). */
  private forgottenByRepository(router: string): void {
    if (!this.repo.forget(router)) return;
    this.count('forgotten');
    this.recompute();
  }

  /** A path came up or went down: published now; it takes a token when there is one (metrics wait then). */
  private publishTopology(): void {
    this.bucket?.take(this.deps.now());
    this.count('published-topology');
    this.publish();
  }

  /** Next hops per service, best first. */
  routes(): Map<string, RouteCandidate[]> {
    return new Map([...this.table].map(([s, r]) => [s, r.candidates.map(copyCandidate)]));
  }

  /** Per service: reachable, local, who delivers it, next hops (for `svr show services`). */
  view(): StepServiceView[] {
    return [...this.table.values()].map((r) => ({
      service: r.service, reachable: r.reachable, local: r.local, deliveredBy: [...r.deliveredBy], routes: r.candidates.map(copyCandidate),
    }));
  }

  /** The merged view: our last published document and every learned one. */
  documents(): RouterDocument[] {
    return [...(this.published ? [this.published] : []), ...this.repo.documents()];
  }

  /** Counters: published, refreshes, tx/rx, acks, retransmits, drop-<reason>, ... */
  counters(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
  }

  private tick(): void {
    this.pollTimer = this.timers.setTimeout(() => this.tick(), this.opts.pollIntervalMs);
    this.refresh();
    const now = this.deps.now();
    this.reassembler.expire(now);
    const gone = this.repo.expire(now);
    if (gone.length > 0) {
      this.count('expired', gone.length);
      for (const r of gone) this.acks.forgetOrigin(r);
      this.recompute();
    }
    const { resend, gaveUp } = this.acks.due(now);
    if (gaveUp > 0) this.count('ack-gave-up', gaveUp);
    for (const r of resend) this.resend(r.peer, r.origin, r.version);
  }

  private periodicRefresh(): void {
    this.refreshTimer = this.timers.setTimeout(() => this.periodicRefresh(), this.opts.refreshIntervalMs);
    this.count('refreshes');
    this.publish();
  }

  private publishIfAllowed(): void {
    if (!this.dirty || this.bucket === null) return;
    const now = this.deps.now();
    if (this.bucket.take(now)) {
      this.publish();
      return;
    }
    if (this.deferTimer !== null) return;
    this.count('publish-deferred');
    this.deferTimer = this.timers.setTimeout(() => {
      this.deferTimer = null;
      this.publishIfAllowed();
    }, Math.max(1, this.bucket.waitMs(now)));
  }

  /** A new version of our document (above `floor` too), sent to every usable peer. */
  private publish(floor: number | null = null): void {
    const now = this.deps.now();
    const previous = this.published?.version ?? null;
    const version = nextVersion(floor === null ? previous : Math.max(previous ?? floor, floor), now);
    const doc = stampDocument(this.local.content(), version, now);
    if (this.deps.repository !== undefined) {
      this.published = doc;
      this.dirty = false;
      this.count('published');
      this.deps.repository.publish(doc);
      return;
    }
    const datagrams = encodeDocument(doc);
    if (datagrams === null) {
      this.count('tx-too-large');
      if (!this.tooLargeSaid) this.deps.tooLarge?.(encodedDocumentBytes(doc), MAX_DOCUMENT_BYTES);
      this.tooLargeSaid = true;
      return;
    }
    this.tooLargeSaid = false;
    this.published = doc;
    this.ownDatagrams = datagrams;
    this.dirty = false;
    this.count('published');
    for (const peer of this.local.usablePeers()) this.sendDocument(peer, this.self, version, datagrams);
  }

  /** A peer became usable: ask for its documents and give it ours. */
  private greet(peer: string): void {
    const path = this.local.sendPath(peer);
    if (path === null) return;
    this.transmit(path, encodeRequest());
    this.count('tx-requests');
    this.sendEverything(peer);
  }

  /** Every document we have, except those already on their way to this peer (awaiting its ack). */
  private sendEverything(peer: string): void {
    const own = this.published;
    if (own && this.ownDatagrams && !this.acks.waiting(peer, this.self, own.version)) {
      this.sendDocument(peer, this.self, own.version, this.ownDatagrams);
    }
    // the peer's own document too: if it restarted with a lower version, it outranks the old one
    for (const s of this.repo.all()) {
      if (this.acks.waiting(peer, s.doc.router, s.doc.version)) continue;
      const datagrams = this.repo.datagrams(s.doc.router);
      if (datagrams) this.sendDocument(peer, s.doc.router, s.doc.version, datagrams);
    }
  }

  private sendDocument(peer: string, origin: string, version: number, datagrams: Uint8Array[]): void {
    const path = this.local.sendPath(peer);
    if (path === null) return;
    this.acks.sent(peer, origin, version, this.deps.now()); // first: a synchronous transport may ack at once
    for (const d of datagrams) this.transmit(path, d);
    this.count('tx-documents');
  }

  private resend(peer: string, origin: string, version: number): void {
    const datagrams = origin === this.self
      ? (this.published?.version === version ? this.ownDatagrams : null)
      : (this.repo.get(origin)?.doc.version === version ? this.repo.datagrams(origin) : null);
    if (datagrams === null) return;
    this.count('retransmits');
    this.sendDocument(peer, origin, version, datagrams);
  }

  private transmit(path: number, payload: Uint8Array): void {
    this.count(this.deps.send(path, payload) ? 'tx-datagrams' : 'tx-failed');
  }

  private receive(path: number, payload: Uint8Array): void {
    if (!isStepMessage(payload)) return;
    this.count('rx-datagrams');
    const peer = this.local.peerOfPath(path);
    if (peer === null) return this.drop('unknown-path');
    const m = parseMessage(payload);
    switch (m.kind) {
      case 'drop':
        return this.drop(m.reason);
      case 'ack':
        this.count(this.acks.acked(peer, m.origin, m.version) ? 'rx-acks' : 'rx-acks-unmatched');
        return;
      case 'request':
        return this.answerRequest(peer);
      case 'chunk':
        return this.receiveChunk(peer, path, m);
    }
  }

  private answerRequest(peer: string): void {
    const now = this.deps.now();
    this.count('rx-requests');
    const last = this.lastAnswered.get(peer);
    if (last !== undefined && now - last < this.opts.requestHoldMs) return this.count('requests-held');
    this.lastAnswered.set(peer, now);
    this.sendEverything(peer);
  }

  private receiveChunk(peer: string, path: number, chunk: DocumentChunk): void {
    const r = this.reassembler.add(path, chunk, this.deps.now());
    if (r.kind === 'duplicate') this.count('rx-duplicate-chunks');
    if (r.kind !== 'complete') return;
    const decoded = decodeDocumentBody(r.body);
    if (!decoded.ok) return this.drop(decoded.reason);
    const doc = decoded.doc;
    if (originHash(doc.router) !== r.origin) return this.drop('origin-mismatch');
    if (doc.version !== r.version) return this.drop('bad-version');
    if (doc.authority !== this.deps.authority) return this.drop('foreign-authority');
    this.transmit(path, encodeAck(r.origin, r.version));
    this.count('rx-documents');
    if (doc.router === this.self) return this.ownDocumentCameBack(doc);
    const result = this.repo.offer(doc, peer, this.deps.now());
    if (result === 'older') this.sendNewer(peer, doc.router);
    if (result !== 'new') return this.count(`rx-${result}`);
    this.count('rx-new');
    const datagrams = this.repo.datagrams(doc.router);
    if (datagrams !== null) {
      for (const other of this.local.usablePeers()) {
        if (other === peer || other === doc.router) continue;
        this.sendDocument(other, doc.router, doc.version, datagrams);
        this.count('flooded');
      }
    }
    this.recompute();
  }

  /** The peer sent an older version than ours (it restarted, or missed one): give it ours. */
  private sendNewer(peer: string, origin: string): void {
    const stored = this.repo.get(origin);
    const datagrams = this.repo.datagrams(origin);
    if (stored === undefined || datagrams === null || this.acks.waiting(peer, origin, stored.doc.version)) return;
    this.sendDocument(peer, origin, stored.doc.version, datagrams);
  }

  /** Our own document flooded back. If it is newer than ours (we restarted, the clock went back), outrank it. */
  private ownDocumentCameBack(doc: RouterDocument): void {
    if (this.published !== null && doc.version <= this.published.version) return this.count('rx-own');
    this.count('rx-own-newer');
    this.publish(doc.version);
  }

  private recompute(): void {
    const own = stampDocument(this.local.content(), this.published?.version ?? 0, this.deps.now());
    this.table = computeRoutes(this.self, [own, ...this.repo.documents()]);
    const routes = this.routes();
    const key = JSON.stringify([...routes]);
    if (key === this.routeKey) return;
    this.routeKey = key;
    this.count('route-changes');
    this.routeSubject.next(routes);
  }

  private drop(reason: StepDropReason): void {
    this.count('drops');
    this.count(`drop-${reason}`);
  }

  private count(name: string, n = 1): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + n);
  }
}

function copyCandidate(c: RouteCandidate): RouteCandidate {
  return { peer: c.peer, metric: c.metric, via: [...c.via] };
}
