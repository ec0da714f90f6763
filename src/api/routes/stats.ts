/** GET /api/v1/stats: every counter by name, and the node's facts (as `svr show stats`). */
import type { ApiApp } from '../http/app.js';
import type { TypeBoxProvider } from '../http/typebox.js';
import type { NodeApiContext } from '../context.js';
import { Ref, errors } from '../schemas.js';

export function registerStatsRoutes(app: ApiApp, ctx: NodeApiContext): void {
  app.withTypeProvider<TypeBoxProvider>().get('/api/v1/stats', {
    schema: { tags: ['stats'], summary: 'Counters (data path and control), interfaces, workers', response: { 200: Ref('Stats'), ...errors(401) } },
  }, async () => ctx.stats());
}
