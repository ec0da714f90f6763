/**
 * Live data for the pages. A view asks for a resource with `useLive(fetch, deps, topics)`: it is fetched
 * at once, and again whenever the live feed says one of its topics changed. At the conductor, the feed is
 * its GraphQL subscriptions (graphql-feed.ts); while the feed pushes, a view with topics polls only every
 * FALLBACK_MS as a safety net. While it does not (no feed, a node's page, the socket lost), views poll every
 * POLL_MS. A failed fetch keeps the last data on screen (the banner says the API is down) and is retried
 * on the next tick, so the page recovers by itself; the feed reconnects and takes over again.
 */
import { useEffect, useRef, useState } from 'preact/hooks';

export const POLL_MS = 2000;
/** the poll of a view with topics while the feed pushes */
export const FALLBACK_MS = 10_000;

/** What changes, as the conductor's subscriptions name it. */
export type Topic = 'routers' | 'paths' | 'alarms' | 'sessions' | 'versions' | 'audit';

export interface LiveFeed {
  /** calls `changed` whenever something of `topics` changed; returns the unsubscribe function */
  subscribe(topics: readonly Topic[], changed: () => void): () => void;
  /** `push`: events arrive; `polling`: they do not (now) */
  readonly state: 'push' | 'polling';
  /** calls `l` when `state` changes; returns the unsubscribe function */
  onState(l: () => void): () => void;
}

/** No pushes: the views poll. */
const pollingOnly: LiveFeed = { subscribe: () => () => undefined, state: 'polling', onState: () => () => undefined };
let feed: LiveFeed = pollingOnly;
const feedListeners = new Set<() => void>();
let offState: () => void = () => undefined;

export function setLiveFeed(f: LiveFeed | null): void {
  offState();
  feed = f ?? pollingOnly;
  const notify = () => feedListeners.forEach((l) => l());
  offState = feed.onState(notify);
  notify();
}

/** `push` while the feed pushes events (the header shows it). */
export function useFeedState(): LiveFeed['state'] {
  const [state, setState] = useState(feed.state);
  useEffect(() => {
    const l = () => setState(feed.state);
    feedListeners.add(l);
    l();
    return () => void feedListeners.delete(l);
  }, []);
  return state;
}

export interface Live<T> {
  data: T | undefined;
  error: Error | undefined;
  /** fetch again now */
  reload: () => void;
}

/**
 * `load` is called again when `deps` change (filters), every `pollMs` (0: never) and on a feed event
 * for `topics`. Answers that arrive out of order are dropped.
 */
export function useLive<T>(load: () => Promise<T>, deps: readonly unknown[], topics: readonly Topic[] = [], pollMs = POLL_MS): Live<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const seq = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const run = useRef(() => undefined as void);
  run.current = () => {
    const mine = ++seq.current;
    loadRef.current().then(
      (d) => {
        if (mine !== seq.current) return;
        setData(d);
        setError(undefined);
      },
      (e: unknown) => {
        if (mine !== seq.current) return;
        setError(e instanceof Error ? e : new Error(String(e)));
      },
    );
  };
  useEffect(() => {
    setData(undefined);
    run.current();
    return () => void seq.current++;
  }, deps);
  const pushed = useFeedState() === 'push' && topics.length > 0;
  const every = pushed && pollMs > 0 ? Math.max(pollMs, FALLBACK_MS) : pollMs;
  useEffect(() => {
    const timer = every > 0 ? window.setInterval(() => run.current(), every) : undefined;
    const off = feed.subscribe(topics, () => run.current());
    return () => {
      window.clearInterval(timer);
      off();
    };
  }, [...deps, every, feed]);
  return { data, error, reload: () => run.current() };
}
