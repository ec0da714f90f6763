/** GET /api/v1/services[/:name]: reachability, routes, ranked paths and what STEP learned, per service. */
import { Type } from '@sinclair/typebox';
import type { ApiApp } from '../http/app.js';
import type { TypeBoxProvider } from '../http/typebox.js';
import type { NodeApiContext } from '../context.js';
import { NameParams, Ref, errors } from '../schemas.js';
import { notFound } from './not-found.js';

export function registerServiceRoutes(app: ApiApp, ctx: NodeApiContext): void {
  const api = app.withTypeProvider<TypeBoxProvider>();
  api.get('/api/v1/services', {
    schema: { tags: ['services'], summary: 'Services: reachability, routes, paths best first', response: { 200: Type.Array(Ref('Service')), ...errors(401) } },
  }, async () => ctx.router.services());
  api.get('/api/v1/services/:name', {
    schema: { tags: ['services'], summary: 'One service', params: NameParams, response: { 200: Ref('Service'), ...errors(400, 401, 404) } },
  }, async (req) => {
    const all = ctx.router.services();
    return all.find((s) => s.name === req.params.name) ?? notFound('service', req.params.name, all.map((s) => s.name));
  });
}
