/** GET /metrics: Prometheus' text format (a token unless `management.metrics-auth: none`). */
import type { ApiApp } from '../http/app.js';
import type { NodeApiContext } from '../context.js';
import { Ref } from '../schemas.js';

export function registerMetricsRoutes(app: ApiApp, ctx: NodeApiContext): void {
  app.get('/metrics', {
    config: { access: ctx.metricsAuth === 'none' ? 'public' : 'read-only' },
    schema: {
      tags: ['metrics'], summary: 'Prometheus metrics (text exposition format 0.0.4)',
      response: {
        200: { description: 'the metrics', content: { 'text/plain': { schema: { type: 'string' } } } },
        401: { description: 'no token', content: { 'application/json': { schema: Ref('Error') } } },
        503: { description: 'busy', content: { 'application/json': { schema: Ref('Error') } } },
      },
    },
  }, async (_req, reply) => {
    const text = await ctx.dataPath.run('GET /metrics', () => ctx.metrics.metrics());
    return reply.type(ctx.metrics.contentType).send(text);
  });
}
