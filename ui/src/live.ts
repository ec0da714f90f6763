/**
 * Live data for the pages. A view asks for a resource with `useLive(fetch, topics)`: it is fetched at
 * once, again every POLL_MS, and again as soon as the live feed says one of its topics changed. Today
 * the feed is REST polling alone; a push feed (the conductor's GraphQL subscriptions: routerChanged,
 * pathSamples, alarmChanged, sessionCounts, versionCommitted) plugs in through `setLiveFeed` and makes
 * the views update on the event instead of waiting for the next poll. A failed fetch keeps the last
 * data on screen (the banner says the API is down) and is retried on the next tick, so the page
 * recovers by itself.
 */
import { useEffect, useRef, useState } from 'preact/hooks';

export const POLL_MS = 2000;

/** What changes, as the conductor's subscriptions name it. */
export type Topic = 'routers' | 'paths' | 'alarms' | 'sessions' | 'versions' | 'audit';

export interface LiveFeed {
  /** calls `changed` whenever something of `topics` changed; returns the unsubscribe function */
  subscribe(topics: readonly Topic[], changed: () => void): () => void;
}

/** No pushes: the views poll. */
const pollingOnly: LiveFeed = { subscribe: () => () => undefined };
let feed: LiveFeed = pollingOnly;

export function setLiveFeed(f: LiveFeed | null): void {
  feed = f ?? pollingOnly;
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
    const timer = pollMs > 0 ? window.setInterval(() => run.current(), pollMs) : undefined;
    const off = feed.subscribe(topics, () => run.current());
    return () => {
      window.clearInterval(timer);
      off();
      seq.current++;
    };
  }, deps);
  return { data, error, reload: () => run.current() };
}
