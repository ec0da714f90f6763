/**
 * `svr explain` over REST. GET /api/v1/explain?source=&destination=&protocol=&port=&interface=: what the
 * router would do now with the first packet of that flow, and why (control/explain.ts, the data path's own
 * lookups). GET /api/v1/explain/session/{id}: a recorded session, then and now (needs the session history).
 */
import { SvrError, isSvrError } from '../../errors.js';
import type { ExplainQuery } from '../../control/explain.js';
import type { ApiApp } from '../http/app.js';
import type { TypeBoxProvider } from '../http/typebox.js';
import type { NodeApiContext } from '../context.js';
import { ExplainQueryParams, Ref, SessionIdParams, errors } from '../schemas.js';

/** The explain question's parameter names as this route's query parameters. */
const PARAMETER: Readonly<Record<string, string>> = { src: 'source', dst: 'destination', srcPort: 'sourcePort' };

export function registerExplainRoutes(app: ApiApp, ctx: NodeApiContext): void {
  const api = app.withTypeProvider<TypeBoxProvider>();
  api.get('/api/v1/explain', {
    schema: {
      tags: ['explain'], summary: 'What the router would do now with the first packet of a flow, and why',
      querystring: ExplainQueryParams, response: { 200: Ref('Explanation'), ...errors(400, 401) },
    },
  }, async (req) => {
    const p = req.query;
    const q: ExplainQuery = {
      src: p.source, dst: p.destination, protocol: p.protocol ?? 'tcp',
      ...(p.port !== undefined ? { port: p.port } : {}), ...(p.sourcePort !== undefined ? { srcPort: p.sourcePort } : {}),
      ...(p.interface !== undefined ? { interface: p.interface } : {}),
    };
    try {
      return ctx.router.explain(q);
    } catch (e) {
      if (!isSvrError(e) || e.code !== 'SVR_ERR_EXPLAIN_QUERY') throw e;
      const given = (e.data as { parameter?: string } | undefined)?.parameter ?? '(whole)';
      const parameter = PARAMETER[given] ?? given;
      throw new SvrError('SVR_ERR_API_REQUEST', `query parameter "${parameter}": ${e.message.replace(/^[^:]+: /, '')}`, { parameter, in: 'querystring' });
    }
  });
  api.get('/api/v1/explain/session/:id', {
    schema: {
      tags: ['explain'], summary: 'Why a recorded session went where it went, and what the router would do now',
      params: SessionIdParams, response: { 200: Ref('SessionExplanation'), ...errors(400, 401, 404, 503) },
    },
  }, async (req) => {
    const found = await ctx.history.explain(req.params.id);
    if (found === undefined) throw new SvrError('SVR_ERR_API_NOT_FOUND', `no record of session ${req.params.id} in the history of ${ctx.node.name} (GET /api/v1/sessions/history lists them)`, { session: req.params.id });
    return found;
  });
}
