/** GET /api/v1/plugins: loaded plugins with their stages and counters. */
import { Type } from '@sinclair/typebox';
import type { ApiApp } from '../http/app.js';
import type { TypeBoxProvider } from '../http/typebox.js';
import type { NodeApiContext } from '../context.js';
import { Ref, errors } from '../schemas.js';

export function registerPluginRoutes(app: ApiApp, ctx: NodeApiContext): void {
  app.withTypeProvider<TypeBoxProvider>().get('/api/v1/plugins', {
    schema: { tags: ['plugins'], summary: 'Plugins: state, stages, counters', response: { 200: Type.Array(Ref('Plugin')), ...errors(401) } },
  }, async () => ctx.router.plugins());
}
