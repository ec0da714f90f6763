/**
 * How the CLI talks to a conductor: a session file written by `svr conductor login` (conductor URLs,
 * the authority CA, a token), and requests that follow the leader: a standby's 503 names the leader,
 * an unreachable conductor is skipped for the next one.
 * Session file: $SVR_CONDUCTOR_SESSION, default ~/.svrouter/conductor-session.json (mode 0600).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { SvrError, isSvrError } from '../errors.js';
import { ConductorApiError, httpsJson } from '../conductor/agent/https.js';

export interface Session {
  conductors: string[];
  ca: string;
  user: string;
  token: string;
  expiresAt: string;
}

export function sessionPath(): string {
  return process.env['SVR_CONDUCTOR_SESSION'] ?? join(homedir(), '.svrouter', 'conductor-session.json');
}

export function saveSession(s: Session): string {
  const path = sessionPath();
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, JSON.stringify(s, null, 2), { mode: 0o600 });
  return path;
}

export function loadSession(): Session {
  const path = sessionPath();
  let s: Session;
  try {
    s = JSON.parse(readFileSync(path, 'utf8')) as Session;
  } catch {
    throw new SvrError('SVR_ERR_CONDUCTOR_AUTH', `not logged in to a conductor (no session in ${path}): run svr conductor login --conductor https://HOST:4443 --ca CA.pem --user admin`);
  }
  if (Date.parse(s.expiresAt) < Date.now()) throw new SvrError('SVR_ERR_CONDUCTOR_AUTH', `the conductor session of ${s.user} expired at ${s.expiresAt}: run svr conductor login again`);
  return s;
}

/** How long a request waits for a leader when every conductor is down or stands by (a failover takes ~3 s). */
export const LEADER_WAIT_MS = 15_000;

/**
 * One request to whichever conductor leads (trying each URL; a standby's answer names the leader). When
 * no conductor leads (all unreachable or standing by, as during a failover), tries again every 0.5 s
 * for up to `waitMs`.
 */
export async function conductorRequest<T>(conductors: readonly string[], ca: string, method: string, path: string, body?: unknown, token?: string, waitMs = LEADER_WAIT_MS): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const r = await oneRound<T>(conductors, ca, method, path, body, token);
    if ('value' in r) return r.value;
    if (!r.noLeader || Date.now() >= deadline) throw r.error;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Every URL once (and any leader a standby names); `noLeader`: every failure was an unreachable conductor or a standby. */
async function oneRound<T>(conductors: readonly string[], ca: string, method: string, path: string, body: unknown, token: string | undefined): Promise<{ value: T } | { error: unknown; noLeader: boolean }> {
  const tried: string[] = [];
  const queue = [...conductors];
  let last: unknown;
  while (queue.length > 0) {
    const url = queue.shift()!;
    if (tried.includes(url)) continue;
    tried.push(url);
    try {
      return { value: await httpsJson<T>(`${url.replace(/\/$/, '')}${path}`, method, body, { ca, token }) };
    } catch (e) {
      last = e;
      if (e instanceof ConductorApiError && e.code === 'SVR_ERR_CONDUCTOR_STANDBY') {
        const leader = (e.data as { leader?: string | null } | undefined)?.leader;
        if (typeof leader === 'string' && leader !== '') queue.unshift(leader);
        continue;
      }
      if (isSvrError(e, 'SVR_ERR_CONDUCTOR_CONNECT')) continue;
      return { error: e, noLeader: false };
    }
  }
  return { error: last instanceof Error ? last : new SvrError('SVR_ERR_CONDUCTOR_CONNECT', `no conductor answered (${tried.join(', ')})`), noLeader: true };
}

/** A request with the saved session. */
export function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const s = loadSession();
  return conductorRequest<T>(s.conductors, s.ca, method, path, body, s.token);
}
