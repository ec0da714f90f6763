/**
 * GET /api/v1/events?since=&after=&limit=: the node's event log (alarms raised and cleared, config applied
 * or refused, plugins disabled), oldest first; `next` is the `after` of the following page.
 */
import type { ApiApp } from '../http/app.js';
import type { TypeBoxProvider } from '../http/typebox.js';
import type { NodeApiContext } from '../context.js';
import { EventsQuery, PAGE_LIMIT_DEFAULT, Ref, errors } from '../schemas.js';

export function registerEventRoutes(app: ApiApp, ctx: NodeApiContext): void {
  app.withTypeProvider<TypeBoxProvider>().get('/api/v1/events', {
    schema: { tags: ['events'], summary: 'Events, oldest first, a page at a time', querystring: EventsQuery, response: { 200: Ref('EventPage'), ...errors(400, 401) } },
  }, async (req) => {
    const limit = req.query.limit ?? PAGE_LIMIT_DEFAULT;
    const found = ctx.alarms.events({
      ...(req.query.since !== undefined ? { since: Date.parse(req.query.since) } : {}),
      ...(req.query.after !== undefined ? { afterSeq: req.query.after } : {}),
      limit: limit + 1,
    });
    const items = found.slice(0, limit);
    return { items, ...(found.length > limit ? { next: String(items[items.length - 1]!.seq) } : {}) };
  });
}
