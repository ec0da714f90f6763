/** GET /api/v1/tenants[/:name]: tenants with their interfaces and sessions. */
import { Type } from '@sinclair/typebox';
import type { ApiApp } from '../http/app.js';
import type { TypeBoxProvider } from '../http/typebox.js';
import type { NodeApiContext } from '../context.js';
import { NameParams, Ref, errors } from '../schemas.js';
import { notFound } from './not-found.js';

export function registerTenantRoutes(app: ApiApp, ctx: NodeApiContext): void {
  const api = app.withTypeProvider<TypeBoxProvider>();
  api.get('/api/v1/tenants', {
    schema: { tags: ['tenants'], summary: 'Tenants', response: { 200: Type.Array(Ref('Tenant')), ...errors(401) } },
  }, async () => ctx.router.tenants());
  api.get('/api/v1/tenants/:name', {
    schema: { tags: ['tenants'], summary: 'One tenant', params: NameParams, response: { 200: Ref('Tenant'), ...errors(400, 401, 404) } },
  }, async (req) => {
    const all = ctx.router.tenants();
    return all.find((t) => t.name === req.params.name) ?? notFound('tenant', req.params.name, all.map((t) => t.name));
  });
}
