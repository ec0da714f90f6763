/**
 * The conductor's STEP repository (ssr-reference §1.3; docs/step.md "Through the conductor"): routers
 * whose config says `step: { mode: conductor }` publish their own router document here instead of
 * flooding it, and subscribe to the services they need routes for.
 *
 * 1. publish: the document must be the publishing router's own (its name, this authority) and well
 *    formed (validateDocument); a newer version replaces the stored one.
 * 2. After each change every subscriber is sent the documents it needs (neededRouters: the deliverers of
 *    its services and the routers on the shortest paths to them) that are newer than what it has, and
 *    nothing else: no copy per peer, no flooding, no acks (the channel is TCP).
 * 3. A document not refreshed for `maxAgeMs` expires; subscribers that had it are told to forget it.
 * The repository lives in the leading conductor's memory: after a failover every router publishes and
 * subscribes again on its new channel.
 */
import { validateDocument, type RouterDocument } from '../step/document.js';
import { neededRouters } from '../step/subscription.js';
import type { ConductorMessage } from './channel/protocol.js';

export interface StepSubscriber {
  send(m: ConductorMessage): void;
}

interface Subscription {
  services: Set<string>;
  out: StepSubscriber;
  /** router -> version sent */
  sent: Map<string, number>;
}

/** Default expiry: three STEP refresh periods (180 s each), as a router's own repository. */
export const STEP_MAX_AGE_MS = 3 * 180_000;

export class StepRepository {
  readonly #docs = new Map<string, { doc: RouterDocument; at: number }>();
  readonly #subs = new Map<string, Subscription>();
  readonly #counts = new Map<string, number>();

  constructor(private readonly authority: () => string, private readonly log: (event: string, fields: Record<string, string | number | boolean>) => void, private readonly maxAgeMs = STEP_MAX_AGE_MS, private readonly now: () => number = Date.now) {}

  /** A router's own document; false (counted, logged) when it is not its own or malformed. */
  publish(router: string, value: unknown): boolean {
    const checked = validateDocument(value);
    if (!checked.ok || checked.doc.router !== router || checked.doc.authority !== this.authority()) {
      const why = !checked.ok ? checked.problem : checked.doc.router !== router ? `a document of ${checked.doc.router}` : `authority ${checked.doc.authority}`;
      this.#count('refused');
      this.log('step.refused', { router, reason: why });
      return false;
    }
    const have = this.#docs.get(router);
    if (have !== undefined && have.doc.version >= checked.doc.version) {
      this.#count('older');
      return true;
    }
    this.#docs.set(router, { doc: checked.doc, at: this.now() });
    this.#count('published');
    this.#fanout();
    return true;
  }

  /** The services `router` needs routes for (replaces its subscription); it is sent what it needs at once. */
  subscribe(router: string, services: readonly string[], out: StepSubscriber): void {
    const old = this.#subs.get(router);
    this.#subs.set(router, { services: new Set(services.filter((s) => typeof s === 'string')), out, sent: old?.out === out ? old.sent : new Map() });
    this.#count('subscriptions');
    this.#fanout();
  }

  /** The router's channel closed: no more sends to it (its document stays until it expires). */
  unsubscribe(router: string, out: StepSubscriber): void {
    if (this.#subs.get(router)?.out === out) this.#subs.delete(router);
  }

  /** Drops documents older than maxAgeMs; subscribers that had one are told to forget it. */
  expire(): string[] {
    const now = this.now();
    const gone = [...this.#docs].filter(([, e]) => now - e.at >= this.maxAgeMs).map(([r]) => r);
    for (const r of gone) {
      this.#docs.delete(r);
      for (const s of this.#subs.values()) {
        if (s.sent.delete(r)) s.out.send({ type: 'step.forget', router: r });
      }
    }
    if (gone.length > 0) this.#count('expired', gone.length);
    return gone;
  }

  /** The stored documents, by router name. */
  documents(): RouterDocument[] {
    return [...this.#docs.values()].map((e) => e.doc).sort((a, b) => (a.router < b.router ? -1 : 1));
  }

  /** Per router: the services it subscribed to and the routers whose documents it was sent. */
  subscriptions(): Array<{ router: string; services: string[]; documents: string[] }> {
    return [...this.#subs].map(([router, s]) => ({ router, services: [...s.services].sort(), documents: [...s.sent.keys()].sort() }));
  }

  counters(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }

  #fanout(): void {
    const docs = this.documents();
    for (const [router, s] of this.#subs) {
      for (const r of neededRouters(router, s.services, docs)) {
        if (r === router) continue;
        const e = this.#docs.get(r);
        if (e === undefined || s.sent.get(r) === e.doc.version) continue;
        s.sent.set(r, e.doc.version);
        s.out.send({ type: 'step.document', doc: e.doc });
        this.#count('sent');
      }
    }
  }

  #count(name: string, n = 1): void {
    this.#counts.set(name, (this.#counts.get(name) ?? 0) + n);
  }
}
