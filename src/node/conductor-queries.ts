/**
 * A managed router's answers to the conductor's questions (channel `query`, conductor/channel/protocol.ts):
 * its live sessions, filtered, newest first; one page of its session history (telemetry/history/query.ts:
 * at most PAGE_MAX records and SCAN_BUDGET records read, so no question holds the node for long); one
 * session's live view and its latest record. Read-only: they only call the router's views.
 */
import { isSvrError, SvrError } from '../errors.js';
import type { RouterQuery, SessionFilter } from '../conductor/channel/protocol.js';
import type { HistoryQuery } from '../telemetry/history/query.js';
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
      const record = await node.sessionRecord(q.sessionId).catch((e: unknown) => {
        if (isSvrError(e, 'SVR_ERR_HISTORY_STORE')) return undefined;
        throw e;
      });
      return { live, record: record ?? null };
    }
    case 'history':
      return node.sessionHistory(historyQueryOf(q.query));
  }
}

const TEXT_FIELDS = ['tenant', 'service', 'application', 'router', 'path', 'closeReason', 'kind', 'source', 'destination', 'cursor', 'order'] as const;
const NUMBER_FIELDS = ['from', 'to', 'port', 'sourcePort', 'limit'] as const;

/**
 * The history query in a channel message (a plain record): known fields of the right type only, so that a
 * conductor of another version gets a coded error naming the field instead of a query that ignores it.
 * The values themselves are checked by the history (checkQuery).
 */
export function historyQueryOf(raw: Record<string, string | number>): HistoryQuery {
  const q: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(raw)) {
    const text = (TEXT_FIELDS as readonly string[]).includes(k);
    if (!text && !(NUMBER_FIELDS as readonly string[]).includes(k)) {
      throw new SvrError('SVR_ERR_HISTORY_QUERY', `history query: ${k}: not a field of the session history query; fields: ${[...TEXT_FIELDS, ...NUMBER_FIELDS].join(', ')}`, { parameter: k });
    }
    if (typeof v !== (text ? 'string' : 'number')) {
      throw new SvrError('SVR_ERR_HISTORY_QUERY', `history query: ${k}: expected a ${text ? 'string' : 'number'}, got ${JSON.stringify(v)}`, { parameter: k });
    }
    q[k] = v;
  }
  return q as HistoryQuery;
}
