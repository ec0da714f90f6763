/**
 * The svrouter web UI: one page, served by the conductor (the whole fabric) or by a single node (its own
 * state), talking to the API of the origin it came from. Flow: find out which API this is, log in
 * (conductor: user and password; node: a bearer token), then the pages by hash route. The banner says
 * when the API does not answer; every view keeps polling, so the page recovers by itself. At the
 * conductor, its GraphQL subscriptions push the changes (graphql-feed.ts), and the views poll only as a
 * safety net while they arrive; the header says which.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { apiDown, currentSession, detectBackend, logout, onChange, type Backend } from './api.js';
import { useRoute, type Route } from './route.js';
import { setLiveFeed, useFeedState } from './live.js';
import { GraphqlFeed } from './graphql-feed.js';
import { LoginPage } from './pages/login.js';
import { FabricPage } from './pages/fabric.js';
import { RouterPage } from './pages/router.js';
import { PathsPage } from './pages/paths.js';
import { SessionsPage } from './pages/sessions.js';
import { SessionPage } from './pages/session.js';
import { ConfigPage } from './pages/config.js';
import { AlarmsPage } from './pages/alarms.js';

const PAGES = [
  { part: 'fabric', title: 'Fabric' },
  { part: 'paths', title: 'Path quality' },
  { part: 'sessions', title: 'Sessions' },
  { part: 'config', title: 'Config' },
  { part: 'alarms', title: 'Alarms & events' },
] as const;

/** Re-renders on every session or reachability change. */
function useApiState(): void {
  const [, bump] = useState(0);
  useEffect(() => onChange(() => bump((n) => n + 1)), []);
}

function Banner() {
  const down = apiDown();
  if (down === null) return null;
  return (
    <div class="banner" role="alert" data-testid="api-down">
      <strong>The API does not answer</strong> ({down}). The page keeps trying every 2 s and recovers by itself when it is back.
    </div>
  );
}

/** The conductor's subscriptions while logged in with `token` (none at a node). */
function usePushFeed(backend: Backend | undefined, token: string | undefined): void {
  useEffect(() => {
    if (backend !== 'conductor' || token === undefined) return;
    const feed = new GraphqlFeed(token);
    setLiveFeed(feed);
    return () => {
      setLiveFeed(null);
      feed.close();
    };
  }, [backend, token]);
}

function FeedState() {
  const state = useFeedState();
  return (
    <span class={`feed ${state}`} data-testid="live-feed" data-state={state} title={state === 'push' ? 'changes are pushed (GraphQL subscriptions)' : 'the page polls every 2 s'}>
      {state === 'push' ? 'live' : 'polling'}
    </span>
  );
}

function Page({ route, backend }: { route: Route; backend: Backend }) {
  const [first = 'fabric', second] = route.parts;
  switch (first) {
    case 'routers': return <RouterPage name={second ?? ''} backend={backend} />;
    case 'paths': return <PathsPage route={route} backend={backend} />;
    case 'sessions': return second === undefined ? <SessionsPage route={route} backend={backend} /> : <SessionPage id={second} backend={backend} route={route} />;
    case 'config': return <ConfigPage backend={backend} />;
    case 'alarms': return <AlarmsPage route={route} backend={backend} />;
    default: return <FabricPage backend={backend} />;
  }
}

function App() {
  useApiState();
  const route = useRoute();
  const [backend, setBackend] = useState<Backend | undefined>(currentSession()?.backend);
  useEffect(() => {
    if (backend !== undefined) return;
    let stop = false;
    const probe = () => detectBackend().then((b) => !stop && setBackend(b), () => !stop && window.setTimeout(probe, 2000));
    probe();
    return () => (stop = true);
  }, [backend]);
  const session = currentSession();
  usePushFeed(backend, session?.token);
  if (backend === undefined) {
    return (
      <main class="login">
        <Banner />
        <p>Connecting…</p>
      </main>
    );
  }
  if (session === null) return <LoginPage backend={backend} banner={<Banner />} />;
  const current = route.parts[0] ?? 'fabric';
  const active = current === 'routers' ? 'fabric' : current;
  return (
    <>
      <a class="skip" href="#content" onClick={(e) => { e.preventDefault(); document.getElementById('content')?.focus(); }}>Skip to content</a>
      <header>
        <span class="brand">svrouter <small>{backend === 'conductor' ? 'conductor' : 'node'}</small></span>
        <nav aria-label="pages">
          {PAGES.map((p) => (
            <a href={`#/${p.part}`} aria-current={active === p.part ? 'page' : undefined}>{p.title}</a>
          ))}
        </nav>
        <span class="user">
          <FeedState /> {session.user} ({session.role}) <button type="button" onClick={() => logout(null)}>Log out</button>
        </span>
      </header>
      <Banner />
      <main id="content" tabIndex={-1}>
        <Page route={route} backend={backend} />
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
