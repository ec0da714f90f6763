/**
 * The conductor's GraphQL subscriptions as the pages' live feed (live.ts `LiveFeed`): one WebSocket to
 * /api/v1/graphql on this page's origin, protocol graphql-transport-ws, the login's JWT in the
 * connection_init payload (browsers cannot set headers on a WebSocket). Flow:
 *   open -> connection_init -> connection_ack: one `subscribe` per topic, state `push`, every view reloads
 *   (what changed while the feed was away) -> `next` of a topic: its views reload, at most once per
 *   COALESCE_MS (each router sends a path sample per path every 2 s) -> socket closed or refused: state
 *   `polling` (the views poll again, which also drives the API-down banner), a new socket RETRY_MS later.
 * Only the event's arrival matters: the views fetch what they show from REST, as they do when polling.
 */
import type { LiveFeed, Topic } from './live.js';

/** The subscription of each topic; the fields asked are the smallest the schema allows. */
const SUBSCRIPTIONS: Record<Topic, string> = {
  routers: 'subscription { routerChanged { name } }',
  paths: 'subscription { pathSamples { router } }',
  alarms: 'subscription { alarmChanged { change } }',
  sessions: 'subscription { sessionCounts { router } }',
  versions: 'subscription { versionCommitted { version } }',
  audit: 'subscription { auditAppended { seq } }',
};
const TOPICS = Object.keys(SUBSCRIPTIONS) as Topic[];

export const COALESCE_MS = 250;
export const RETRY_MS = 2000;

export type FeedState = 'push' | 'polling';

type Message = { type: string; id?: string; payload?: unknown };

export class GraphqlFeed implements LiveFeed {
  #state: FeedState = 'polling';
  #socket: WebSocket | undefined;
  #retry: number | undefined;
  #closed = false;
  readonly #views = new Set<{ topics: readonly Topic[]; changed: () => void }>();
  readonly #stateListeners = new Set<() => void>();
  readonly #dirty = new Set<Topic>();
  #flush: number | undefined;

  /** `token`: the bearer token of the login */
  constructor(private readonly token: string) {
    this.#connect();
  }

  get state(): FeedState {
    return this.#state;
  }

  subscribe(topics: readonly Topic[], changed: () => void): () => void {
    const view = { topics, changed };
    this.#views.add(view);
    return () => this.#views.delete(view);
  }

  onState(l: () => void): () => void {
    this.#stateListeners.add(l);
    return () => this.#stateListeners.delete(l);
  }

  close(): void {
    this.#closed = true;
    window.clearTimeout(this.#retry);
    window.clearTimeout(this.#flush);
    this.#socket?.close(1000);
    this.#setState('polling');
  }

  #connect(): void {
    if (this.#closed) return;
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/graphql`;
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, 'graphql-transport-ws');
    } catch {
      this.#lost();
      return;
    }
    this.#socket = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${this.token}` } }));
    ws.onmessage = (e) => this.#message(ws, JSON.parse(String(e.data)) as Message);
    ws.onclose = () => {
      if (this.#socket === ws) this.#lost();
    };
  }

  #message(ws: WebSocket, m: Message): void {
    switch (m.type) {
      case 'connection_ack':
        for (const t of TOPICS) ws.send(JSON.stringify({ id: t, type: 'subscribe', payload: { query: SUBSCRIPTIONS[t] } }));
        this.#setState('push');
        for (const v of [...this.#views]) v.changed();
        return;
      case 'ping':
        ws.send(JSON.stringify({ type: 'pong' }));
        return;
      case 'next':
        if (TOPICS.includes(m.id as Topic)) this.#changed(m.id as Topic);
        return;
      case 'error':
      case 'complete':
        // a subscription the conductor ended: without it this feed would miss changes
        ws.close(4000);
        return;
    }
  }

  #changed(topic: Topic): void {
    this.#dirty.add(topic);
    if (this.#flush !== undefined) return;
    this.#flush = window.setTimeout(() => {
      this.#flush = undefined;
      const dirty = [...this.#dirty];
      this.#dirty.clear();
      for (const v of [...this.#views]) if (v.topics.some((t) => dirty.includes(t))) v.changed();
    }, COALESCE_MS);
  }

  #lost(): void {
    this.#socket = undefined;
    this.#setState('polling');
    if (this.#closed) return;
    window.clearTimeout(this.#retry);
    this.#retry = window.setTimeout(() => this.#connect(), RETRY_MS);
  }

  #setState(s: FeedState): void {
    if (s === this.#state) return;
    this.#state = s;
    for (const l of [...this.#stateListeners]) l();
  }
}
