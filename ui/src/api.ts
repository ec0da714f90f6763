/**
 * Talking to the API on this page's own origin: the conductor's (/api/v1, JWT from POST /login) or a
 * single node's (/api/v1, a bearer token from its config). Every call carries the token; a 401 logs out
 * (back to the login page); a failed connection or a 502/503/504 marks the API down (the banner) until a
 * call gets through again. Nothing is cached beyond the page's session.
 */
export type Backend = 'conductor' | 'node';

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly data?: unknown) {
    super(message);
  }
}

interface Session {
  backend: Backend;
  token: string;
  user: string;
  role: string;
  /** epoch ms; the token is dropped then (the server refuses it anyway) */
  expiresAt: number;
}

const KEY = 'svr.session';

type Listener = () => void;
const listeners = new Set<Listener>();
const notify = () => listeners.forEach((l) => l());

/** Calls `l` whenever the session or the API's reachability changes; returns the unsubscribe function. */
export function onChange(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

let session: Session | null = load();
let down: string | null = null;
let loggedOutWhy: string | null = null;

function load(): Session | null {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as Session | null;
    return s !== null && typeof s.token === 'string' && s.expiresAt > Date.now() ? s : null;
  } catch {
    return null;
  }
}

export const currentSession = (): Session | null => session;
/** why the API is unreachable now, or null */
export const apiDown = (): string | null => down;
/** why the last session ended (expired, refused), for the login page */
export const logoutReason = (): string | null => loggedOutWhy;

export function logout(why: string | null): void {
  session = null;
  loggedOutWhy = why;
  sessionStorage.removeItem(KEY);
  notify();
}

let expiryTimer: number | undefined;
function watchExpiry(): void {
  window.clearTimeout(expiryTimer);
  const s = session;
  if (s === null) return;
  // setTimeout takes at most 2^31-1 ms; a token lives 12 h
  expiryTimer = window.setTimeout(() => {
    if (session === s) logout('Your session expired: log in again.');
  }, Math.min(2 ** 31 - 1, Math.max(0, s.expiresAt - Date.now())));
}
watchExpiry();

function setDown(why: string | null): void {
  if (why === down) return;
  down = why;
  notify();
}

/** One API call; JSON in and out. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (session !== null) headers['authorization'] = `Bearer ${session.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    setDown(`no connection (${e instanceof Error ? e.message : String(e)})`);
    throw new ApiError(0, 'SVR_UI_OFFLINE', 'the API does not answer');
  }
  if (res.status === 502 || res.status === 503 || res.status === 504) {
    const text = await res.text();
    const standby = text.includes('SVR_ERR_CONDUCTOR_STANDBY');
    setDown(standby ? 'this conductor is a standby (the leader serves the fabric)' : `HTTP ${res.status}`);
    throw new ApiError(res.status, standby ? 'SVR_ERR_CONDUCTOR_STANDBY' : 'SVR_UI_OFFLINE', text);
  }
  setDown(null);
  const text = await res.text();
  const json = text === '' ? null : (JSON.parse(text) as unknown);
  if (!res.ok) {
    const e = (json ?? {}) as { code?: string; message?: string; data?: unknown };
    if (res.status === 401 && session !== null && path !== '/api/v1/login') logout('Your session expired or was refused: log in again.');
    throw new ApiError(res.status, e.code ?? `HTTP_${res.status}`, e.message ?? `HTTP ${res.status}`, e.data);
  }
  return json as T;
}

/** Which API serves this page: the conductor answers /api/v1/status, a node /api/v1/health. */
export async function detectBackend(): Promise<Backend> {
  try {
    const s = await api<{ role?: string; router?: string }>('GET', '/api/v1/status');
    if (s.role === 'leader' || s.role === 'standby') return 'conductor';
  } catch (e) {
    if (e instanceof ApiError && e.status === 0) throw e;
  }
  return 'node';
}

/** Logs in at the conductor (user and password) or a node (its bearer token, checked with one read). */
export async function login(backend: Backend, user: string, secret: string): Promise<void> {
  if (backend === 'conductor') {
    const r = await api<{ token: string; role: string; expiresAt: string }>('POST', '/api/v1/login', { user, password: secret });
    session = { backend, token: r.token, user, role: r.role, expiresAt: Date.parse(r.expiresAt) };
  } else {
    session = { backend, token: secret, user: 'token', role: 'read-only', expiresAt: Date.now() + 12 * 3600_000 };
    try {
      await api('GET', '/api/v1/alarms');
    } catch (e) {
      session = null;
      throw e;
    }
  }
  loggedOutWhy = null;
  sessionStorage.setItem(KEY, JSON.stringify(session));
  watchExpiry();
  notify();
}

/** `?a=1&b=x` from the defined, non-empty values. */
export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}
