/**
 * GET /api/v1/sessions/history: the session history a page at a time, with the filters and paging of
 * `svr inspect sessions` (time range on end time, tenant, service, application, source and destination
 * prefix and port, router, path, close reason, denied, live, order); GET /api/v1/sessions/history/{id}: one
 * session's latest record (its path changes included). The node's LevelDB history answers; without one
 * (telemetry.history.enabled false) both are 503 SVR_ERR_HISTORY_STORE, saying so.
 */
import { SvrError, isSvrError } from '../../errors.js';
import type { HistoryPage, HistoryQuery } from '../../telemetry/history/query.js';
import type { CloseReason } from '../../telemetry/record.js';
import type { ApiApp } from '../http/app.js';
import type { TypeBoxProvider } from '../http/typebox.js';
import type { NodeApiContext } from '../context.js';
import { HistoryQueryParams, Ref, SessionIdParams, errors } from '../schemas.js';

/** The history query's parameter names as this route's query parameters. */
const PARAMETER: Readonly<Record<string, string>> = { from: 'since', to: 'until', closeReason: 'reason', kind: 'live' };

export function registerHistoryRoutes(app: ApiApp, ctx: NodeApiContext): void {
  const api = app.withTypeProvider<TypeBoxProvider>();
  api.get('/api/v1/sessions/history', {
    schema: {
      tags: ['sessions'], summary: 'Recorded sessions (the session history), newest first, filtered, a page at a time',
      querystring: HistoryQueryParams, response: { 200: Ref('HistoryPage'), ...errors(400, 401, 503) },
    },
  }, async (req) => {
    const q = historyQuery(req.query);
    let page: HistoryPage;
    try {
      page = await ctx.history.query(q);
    } catch (e) {
      return renamed(e);
    }
    return { items: page.records, scanned: page.scanned, ...(page.cursor !== undefined ? { next: page.cursor } : {}) };
  });
  api.get('/api/v1/sessions/history/:id', {
    schema: {
      tags: ['sessions'], summary: "One recorded session's latest record (its paths and path changes)",
      params: SessionIdParams, response: { 200: Ref('SessionRecord'), ...errors(400, 401, 404, 503) },
    },
  }, async (req) => (await ctx.history.get(req.params.id)) ?? noRecord(ctx.node.name, req.params.id));
}

function historyQuery(p: HistoryQueryParams): HistoryQuery {
  if (p.denied === true && p.reason !== undefined && p.reason !== 'denied') {
    throw new SvrError('SVR_ERR_API_REQUEST', `query parameter "reason": denied=true and reason=${p.reason} ask for different close reasons`, { parameter: 'reason', in: 'querystring' });
  }
  const q: HistoryQuery = {};
  if (p.since !== undefined) q.from = Date.parse(p.since);
  if (p.until !== undefined) q.to = Date.parse(p.until);
  for (const k of ['tenant', 'service', 'application', 'source', 'destination', 'router', 'path', 'cursor'] as const) {
    const v = p[k];
    if (v !== undefined) q[k] = v;
  }
  if (p.port !== undefined) q.port = p.port;
  if (p.sourcePort !== undefined) q.sourcePort = p.sourcePort;
  if (p.limit !== undefined) q.limit = p.limit;
  const reason: CloseReason | undefined = p.denied === true ? 'denied' : p.reason;
  if (reason !== undefined) q.closeReason = reason;
  if (p.live === true) q.kind = 'interim';
  if (p.order !== undefined) q.order = p.order;
  return q;
}

/** A bad history query as a 400 naming this route's parameter. */
function renamed(e: unknown): never {
  if (isSvrError(e) && e.code === 'SVR_ERR_HISTORY_QUERY') {
    const given = (e.data as { parameter?: string } | undefined)?.parameter ?? '(whole)';
    const parameter = PARAMETER[given] ?? given;
    throw new SvrError('SVR_ERR_API_REQUEST', `query parameter "${parameter}": ${e.message.replace(/^history query: [^:]+: /, '')}`, { parameter, in: 'querystring' });
  }
  throw e;
}

function noRecord(router: string, id: string): never {
  throw new SvrError('SVR_ERR_API_NOT_FOUND', `no record of session ${id} in the history of ${router} (GET /api/v1/sessions/history lists them)`, { session: id });
}
