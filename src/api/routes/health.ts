/** GET /api/v1/health: is the node up (no token needed; for load balancers and probes). */
import type { ApiApp } from '../http/app.js';
import type { TypeBoxProvider } from '../http/typebox.js';
import type { NodeApiContext } from '../context.js';
import { Ref } from '../schemas.js';

export function registerHealthRoutes(app: ApiApp, ctx: NodeApiContext): void {
  app.withTypeProvider<TypeBoxProvider>().get('/api/v1/health', {
    config: { access: 'public' },
    schema: { tags: ['node'], summary: 'Whether the node is running', response: { 200: Ref('Health') } },
  }, async () => ({ status: 'ok' as const, router: ctx.node.name, version: ctx.node.version, uptimeMs: Date.now() - ctx.node.startedAt }));
}
