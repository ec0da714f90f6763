/**
 * GET /api/v1/sessions: the live session table a page at a time (oldest first), optionally one tenant's or
 * service's. Pages are made by the data path (at most `limit` summaries per thread) through the API's gate.
 */
import { SvrError } from '../../errors.js';
import type { ApiApp } from '../http/app.js';
import type { TypeBoxProvider } from '../http/typebox.js';
import type { NodeApiContext } from '../context.js';
import { PAGE_LIMIT_DEFAULT, Ref, SessionsQuery, errors } from '../schemas.js';

export function registerSessionRoutes(app: ApiApp, ctx: NodeApiContext): void {
  app.withTypeProvider<TypeBoxProvider>().get('/api/v1/sessions', {
    schema: {
      tags: ['sessions'], summary: 'Live sessions, oldest first, a page at a time',
      querystring: SessionsQuery, response: { 200: Ref('SessionPage'), ...errors(400, 401, 503) },
    },
  }, async (req) => {
    const q = req.query;
    const t = ctx.router.tables;
    if (q.tenant !== undefined && t.tenantId(q.tenant) < 0) throw unknown('tenant', q.tenant, t.tenants);
    if (q.service !== undefined && t.serviceId(q.service) < 0) throw unknown('service', q.service, t.services.map((s) => s.name));
    const [created, row] = q.cursor === undefined ? [] : q.cursor.split('_').map(Number);
    const page = await ctx.dataPath.run('GET /api/v1/sessions', () => ctx.router.sessionPage({
      limit: q.limit ?? PAGE_LIMIT_DEFAULT,
      ...(created !== undefined && row !== undefined ? { after: { createdMs: created, row } } : {}),
      ...(q.tenant !== undefined ? { tenant: q.tenant } : {}),
      ...(q.service !== undefined ? { service: q.service } : {}),
    }));
    return { items: page.sessions, ...(page.next !== undefined ? { next: `${page.next.createdMs}_${page.next.row}` } : {}) };
  });
}

function unknown(parameter: string, value: string, known: readonly string[]): SvrError {
  return new SvrError('SVR_ERR_API_REQUEST', `query parameter "${parameter}": no ${parameter} named "${value}" (${parameter === 'tenant' ? 'tenants' : 'services'}: ${known.join(', ') || 'none'})`,
    { parameter, in: 'querystring' });
}
