/**
 * A managed router's answers to the conductor's questions (channel `query`, conductor/channel/protocol.ts):
 * its live sessions, filtered, newest first; one session's live view. Read-only: they only call the
 * router's views.
 */
import { SvrError } from '../errors.js';
import type { RouterQuery, SessionFilter } from '../conductor/channel/protocol.js';
import type { RunningNode } from './node.js';

type SessionSummary = Awaited<ReturnType<RunningNode['router']['sessions']>>[number];

/** Does a session match every field of the filter? `address` is one end's address, or its start. */
export function sessionMatches(s: SessionSummary, f: SessionFilter): boolean {
  if (f.tenant !== undefined && s.tenant !== f.tenant) return false;
  if (f.service !== undefined && s.service !== f.service) return false;
  if (f.application !== undefined && s.application !== f.application) return false;
  if (f.address !== undefined) {
    const ends = [s.original.src, s.original.dst];
    if (!ends.some((a) => a === f.address || (f.address!.endsWith('.') || f.address!.endsWith(':') ? a.startsWith(f.address!) : false))) return false;
  }
  return true;
}

export async function answerQuery(node: RunningNode | undefined, q: RouterQuery): Promise<unknown> {
  if (node === undefined) throw new SvrError('SVR_ERR_CONTROL_REQUEST', 'the router is starting: it runs no config yet');
  switch (q.what) {
    case 'sessions': {
      const all = await node.router.sessions();
      return all.filter((s) => sessionMatches(s, q.filter)).sort((a, b) => a.ageMs - b.ageMs).slice(0, q.limit);
    }
    case 'session': {
      const live = (await node.router.sessions()).find((s) => s.id === q.sessionId) ?? null;
      return { live, record: null };
    }
    case 'history':
      throw new SvrError('SVR_ERR_CONTROL_REQUEST', `router ${node.name} keeps no session history`);
  }
}
